//! Every change of a lead's owner, route, status, series or tasks, in one
//! place: a [`Plan`] made from the lead and what happened to it, settled with
//! the pool's state when the lead may change hands, gives the one [`Change`]
//! to write (the lead, its history, the tasks opened and closed, the reps'
//! open-lead counts, and whom to tell).
//!
//! What can happen, and who makes the plan:
//!
//! | what happened | plan | its owner |
//! |---|---|---|
//! | a response, assessed by the router | [`Plan::response`] | decided from the pool |
//! | a call's outcome a rep reports | `Plan::outcome` (`followup`) | kept, or decided from the pool |
//! | a status a person sets | `Plan::status` (`followup`) | kept, or decided from the pool |
//! | a person hands the lead on | [`Plan::reassign`] | the one they name |
//! | its SLA ran out twice | [`Plan::reassign`] + [`Plan::sla_breached`] | the pool's next rep |
//! | nurture found it sales-ready | [`Plan::sales_ready`] | decided from the pool |
//! | a nurture step is due, deferred or the last | [`series`] | unchanged |
//! | its SLA ran out the first time | [`series::escalated`] | unchanged |
//!
//! The rules every hand-off keeps live once, in [`Plan::finish`]:
//! - the new owner gets the lead's first task (or its open tasks, when a
//!   person or the SLA hands it on), and the old owner's open tasks close;
//! - the first-touch clock restarts for the new owner while nobody has
//!   touched the lead (the SLA of its route, in the owner's working time),
//!   and stops when the lead is closed;
//! - a closed lead has no open task;
//! - a rep's open-lead count moves with the lead: +1 to whoever holds it open
//!   after, −1 to whoever held it open before (counted from the lead itself,
//!   whatever the cause);
//! - the lead joins the nurture series its route calls for, or leaves one it
//!   no longer belongs in;
//! - an inside-sales rep who hands a lead up to field sales stays on it as
//!   support;
//! - every open task is for someone on the lead (its owner or its support):
//!   a reporter the lead leaves behind does not keep a next step on it.
//!
//! A new rule of this kind goes in `finish`, and in the property test
//! (`shared/tests/transitions.rs`) that drives random sequences of what can
//! happen through this module and checks every rule on every result.

use super::decision::{Decision, Owner, PoolState, Route, RouteDecision};
use super::ids::{ResponseId, TaskId};
use super::lead::{Event, HistoryEntry, Lead, SlaClock, StatusDetail};
use super::nurture;
use super::outcome::{LeadStatus, Outcome};
use super::playbook::{Playbook, Rep, Role, TaskFor, TaskRule};
use super::routing::{assess, assess_by_rules, Assessment};
use super::task::{Task, TaskKind, TaskStatus};
use chrono::{DateTime, Utc};

pub mod series;
mod tasks;

pub use tasks::{first_touch_task, kit_follow_up_task};

/// A change that cannot be made: said to the caller, nothing changes.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("{message}")]
pub struct Refused {
    /// `invalid_field` (a value is wrong) or `invalid_transition` (not from this status).
    pub code: &'static str,
    pub field: Option<&'static str>,
    pub message: String,
}

pub(crate) fn invalid(field: &'static str, message: impl Into<String>) -> Refused {
    Refused {
        code: "invalid_field",
        field: Some(field),
        message: message.into(),
    }
}

/// Everything one change writes: the lead as it should be (version not yet
/// bumped), its history entries, the tasks created or closed, the changes to
/// reps' open-lead counts, and the new owner to send the package to.
#[derive(Debug, Clone)]
pub struct Change {
    pub lead: Lead,
    pub events: Vec<HistoryEntry>,
    pub tasks: Vec<Task>,
    pub loads: Vec<(String, i64)>,
    pub reasons: Vec<String>,
    /// The lead changed hands to someone who reads mail: they are sent the
    /// package (the router sends it with the response's fulfilment instead).
    pub handed_to: Option<Owner>,
}

/// Who the lead goes to.
#[derive(Debug, Clone)]
pub(crate) enum Assign {
    /// Stays with its owner (on the route the plan says).
    Keep,
    /// Assigned per the playbook: the pool's state decides.
    Pool,
    /// To the owner a person or the SLA named, decided already.
    Fixed(Box<Decision>),
}

/// What becomes of the old owner's open tasks when the lead changes hands.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum TasksGo {
    /// Closed: the new owner starts with their own first task.
    Cancel,
    /// Moved to the new owner (a person or the SLA handing it on).
    Follow,
}

/// The history entry that says what was decided.
#[derive(Debug, Clone)]
pub(crate) enum Summary {
    /// The router's decision for a response (the change's last entry).
    Routed(ResponseId),
    /// A decision someone's report or a tick caused.
    Decided,
    /// A person (or the SLA) handed the lead on, with their reason.
    Reassigned(String),
}

/// What happened to a lead, weighed against the playbook, waiting only for
/// the pool's state when the lead may change hands.
#[derive(Debug, Clone)]
pub struct Plan<'p> {
    pub(crate) playbook: &'p Playbook,
    /// Who caused it, as recorded (`router`, `nurture`, a person's id).
    pub(crate) by: String,
    /// The person who reported it, when a person did.
    pub(crate) reporter: Option<Rep>,
    pub(crate) now: DateTime<Utc>,
    pub(crate) lead: Lead,
    /// The lead's open tasks; `None` until read (the router reads them only
    /// when the lead changes hands).
    pub(crate) open_tasks: Option<Vec<Task>>,
    pub(crate) assessment: Assessment<'p>,
    pub(crate) assign: Assign,
    pub(crate) tasks_go: TasksGo,
    /// Starts over with its owner even if the owner stays (back from nurture).
    pub(crate) restart: bool,
    /// Also open inside sales' call after the kit (the router: a kit goes out).
    pub(crate) kit_call: bool,
    /// The route moved up to field sales or a partner.
    pub(crate) handed_off: bool,
    pub(crate) summary: Summary,
    pub(crate) cause: String,
    pub(crate) events: Vec<HistoryEntry>,
    /// Tasks this change closes as done (by whoever reported it).
    pub(crate) done: Vec<TaskId>,
    /// The task the flow leaves, and when it is due.
    pub(crate) task: Option<(TaskRule, DateTime<Utc>)>,
    pub(crate) status: Option<(LeadStatus, StatusDetail)>,
    pub(crate) reasons: Vec<String>,
    /// The outcome reported, if this is an outcome (it may enrol in a series).
    pub(crate) outcome: Option<Outcome>,
    /// Leaves its series, for this reason (before anything else decides).
    pub(crate) exit: Option<String>,
    /// The SLA handed it on: from whom, why, and everyone passed over so far.
    pub(crate) sla: Option<(Owner, String, Vec<String>)>,
}

/// The open-lead count a lead gives a rep: its owner's, while it is open.
fn counted(lead: &Lead) -> Option<&str> {
    match (lead.status.is_closed(), lead.owner()) {
        (false, Some(Owner::Rep { id, .. })) => Some(id),
        _ => None,
    }
}

/// The changes to reps' open-lead counts from `before` to `after`.
pub fn load_changes(before: &Lead, after: &Lead) -> Vec<(String, i64)> {
    let (b, a) = (counted(before), counted(after));
    if b == a {
        return Vec::new();
    }
    a.map(|r| (r.to_string(), 1))
        .into_iter()
        .chain(b.map(|r| (r.to_string(), -1)))
        .collect()
}

impl<'p> Plan<'p> {
    #[allow(clippy::too_many_arguments)]
    pub(crate) fn base(
        lead: &Lead,
        assessment: Assessment<'p>,
        open_tasks: Option<&[Task]>,
        by: String,
        reporter: Option<&Rep>,
        playbook: &'p Playbook,
        now: DateTime<Utc>,
        cause: String,
    ) -> Self {
        Plan {
            playbook,
            by,
            reporter: reporter.cloned(),
            now,
            assessment,
            lead: lead.clone(),
            open_tasks: open_tasks.map(|t| t.iter().filter(|t| t.is_open()).cloned().collect()),
            assign: Assign::Keep,
            tasks_go: TasksGo::Cancel,
            restart: false,
            kit_call: false,
            handed_off: false,
            summary: Summary::Decided,
            cause,
            events: Vec::new(),
            done: Vec::new(),
            task: None,
            status: None,
            reasons: Vec::new(),
            outcome: None,
            exit: None,
            sla: None,
        }
    }

    pub(crate) fn current_route(&self) -> Option<Route> {
        self.lead.routing.as_ref().map(|d| d.route)
    }

    /// Route the lead as `route` (a rep's word), assigning it per the playbook.
    pub(crate) fn send_to(&mut self, route: Route, why: String) {
        let decision = RouteDecision {
            route,
            rule: why.clone(),
            reason: format!("{route}: {why} → {}", route.channel()),
        };
        self.assessment = self
            .assessment
            .clone()
            .with_route(&self.lead, self.playbook, decision);
        self.assign = Assign::Pool;
    }

    /// Keep the lead on its current route with its owner.
    pub(crate) fn stay(&mut self) {
        if let Some(current) = self.lead.routing.as_ref() {
            let decision = RouteDecision {
                route: current.route,
                rule: current.rule.clone(),
                reason: format!(
                    "{}: stays on {} ({}) — {}",
                    current.route,
                    current.route,
                    current.route.channel(),
                    self.cause
                ),
            };
            self.assessment =
                self.assessment
                    .clone()
                    .with_route(&self.lead, self.playbook, decision);
        } else {
            // Never routed (only ops can see such a lead): route it now.
            self.assign = Assign::Pool;
        }
    }

    /// A response the router weighs: qualified, scored, routed and assigned
    /// per the playbook. A closed lead that comes back is reopened (a person
    /// who returns is worth another look); a nurtured lead the response
    /// makes sales-ready leaves its series for inside sales at once.
    pub fn response(
        lead: &Lead,
        history: &[HistoryEntry],
        response_id: &ResponseId,
        playbook: &'p Playbook,
        now: DateTime<Utc>,
    ) -> Plan<'p> {
        let mut assessment = assess(lead, history, playbook, now);
        if let Some(why) = nurture::sales_ready_at(
            lead,
            assessment.score().total,
            assessment.qualification().stage,
            playbook,
        ) {
            assessment = assessment.with_route(lead, playbook, sales_ready_route(why));
        }
        let cause = "a new response".to_string();
        let mut plan = Plan::base(
            lead,
            assessment,
            None,
            "router".into(),
            None,
            playbook,
            now,
            cause,
        );
        plan.assign = Assign::Pool;
        plan.kit_call = true;
        plan.summary = Summary::Routed(response_id.clone());
        if matches!(lead.status, LeadStatus::Dead | LeadStatus::Rejected) {
            let why = "a new response reopened it".to_string();
            plan.events.push(HistoryEntry::new(
                &lead.id,
                now,
                Event::StatusChanged {
                    from: lead.status,
                    to: LeadStatus::Open,
                    by: "router".into(),
                    reason: Some(why.clone()),
                    amount: None,
                    lost_to: None,
                    via_link: false,
                },
            ));
            plan.status = Some((
                LeadStatus::Open,
                StatusDetail {
                    at: now,
                    by: "router".into(),
                    reason: Some(why),
                    amount: None,
                    lost_to: None,
                },
            ));
        }
        plan
    }

    /// Nurture found the lead sales-ready (its score reached the playbook's
    /// exit score): out of its series, to inside sales, starting over with
    /// a first task and a first-touch clock.
    pub fn sales_ready(
        lead: &Lead,
        history: &[HistoryEntry],
        total: i64,
        playbook: &'p Playbook,
        now: DateTime<Utc>,
    ) -> Plan<'p> {
        let why = format!(
            "sales-ready: score {total} reached the playbook's exit score {}",
            playbook.nurture.exit_score
        );
        let assessment = assess_by_rules(lead, history, playbook, now).with_route(
            lead,
            playbook,
            sales_ready_route(why.clone()),
        );
        let mut plan = Plan::base(
            lead,
            assessment,
            None,
            "nurture".into(),
            None,
            playbook,
            now,
            why.clone(),
        );
        plan.assign = Assign::Pool;
        plan.restart = true;
        plan.exit = Some(why);
        plan
    }

    /// A person hands the lead to `to`, with the reason. Open tasks follow
    /// the lead to its new owner; an untouched lead's first-touch deadline
    /// is the route's SLA from now, in the new owner's working time.
    pub fn reassign(
        lead: &Lead,
        open_tasks: &[Task],
        to: Owner,
        reason: &str,
        by: &Rep,
        playbook: &'p Playbook,
        now: DateTime<Utc>,
    ) -> Result<Plan<'p>, Refused> {
        if reason.trim().is_empty() {
            return Err(invalid("reason", "a reassignment needs a reason"));
        }
        let previous = lead.owner().cloned();
        if previous.as_ref() == Some(&to) {
            return Err(invalid(
                "owner",
                format!("the lead is already with {}", to.display_name()),
            ));
        }
        let why = format!(
            "reassigned by {} from {} to {}: {reason}",
            by.name,
            previous
                .as_ref()
                .map(Owner::display_name)
                .unwrap_or("nobody"),
            to.display_name()
        );
        let Some(mut decision) = lead.routing.clone() else {
            return Err(Refused {
                code: "invalid_transition",
                field: None,
                message: "the lead has not been routed yet; try again in a moment".into(),
            });
        };
        decision.owner = to.clone();
        decision.pool = match &to {
            Owner::Rep { id, .. } => playbook
                .pools
                .iter()
                .find(|p| p.reps.iter().any(|r| r == id))
                .map(|p| p.name.clone()),
            Owner::Queue { .. } => None,
        };
        decision.decided_at = now;
        match decision.reasons.last_mut() {
            Some(last) => *last = why.clone(),
            None => decision.reasons.push(why.clone()),
        }
        // The new owner's own first-touch window: the deadline moves with the
        // lead (else whoever receives a breached lead is "outside the SLA" and
        // overdue from the moment they get it).
        if lead.first_touch.is_none() && !lead.status.is_closed() {
            if let Some(h) = playbook.slas.get(&decision.route) {
                decision.follow_up_by = Some(playbook.calendar_of(&to).add_hours(now, *h));
            }
        }
        let assessment = assess_by_rules(lead, &[], playbook, now);
        let mut plan = Plan::base(
            lead,
            assessment,
            Some(open_tasks),
            by.id.clone(),
            Some(by),
            playbook,
            now,
            why.clone(),
        );
        plan.assign = Assign::Fixed(Box::new(decision));
        plan.tasks_go = TasksGo::Follow;
        plan.summary = Summary::Reassigned(reason.to_string());
        plan.reasons.push(why);
        Ok(plan)
    }

    /// The reassignment is the SLA's: its first-touch window ran out twice.
    /// `passed_over` (whoever let it run out, the last one included) never
    /// get it back from the SLA.
    pub fn sla_breached(mut self, reason: String, passed_over: Vec<String>) -> Self {
        let from = self.lead.owner().cloned();
        if let Some(from) = from {
            self.sla = Some((from, reason, passed_over));
        }
        self
    }

    /// The open tasks are still to be read (see [`Plan::with_tasks`]).
    pub fn tasks_unread(&self) -> bool {
        self.open_tasks.is_none()
    }

    /// The lead's tasks, read from the store (only the open ones count).
    pub fn with_tasks(mut self, tasks: Vec<Task>) -> Self {
        self.open_tasks = Some(tasks.into_iter().filter(Task::is_open).collect());
        self
    }

    /// Whether `decision` hands the lead to someone else (its tasks matter then).
    pub fn changes_hands(&self, decision: &Decision) -> bool {
        self.lead.owner() != Some(&decision.owner) || self.restart
    }

    /// Where the lead's assignment draws a turn from, if anywhere.
    pub fn pool(&self) -> Option<&'p str> {
        match self.assign {
            Assign::Pool => self.assessment.pool,
            _ => None,
        }
    }

    /// The decision with the pool's `state` (the default when [`pool`](Self::pool) is none).
    pub fn decision(&self, state: &PoolState) -> Decision {
        match (&self.assign, &self.lead.routing) {
            (Assign::Fixed(d), _) => (**d).clone(),
            (Assign::Keep, Some(current)) => self.assessment.clone().keep(
                current,
                self.now,
                format!(
                    "stays with {} ({})",
                    current.owner.display_name(),
                    self.cause
                ),
            ),
            _ => self
                .assessment
                .clone()
                .decide(&self.lead, self.playbook, self.now, state),
        }
    }

    /// Everything to write, given the final decision: every hand-off rule
    /// (see the module's notes) applied here and nowhere else.
    pub fn finish(self, decision: Decision) -> Change {
        let Plan {
            playbook,
            by,
            reporter,
            now,
            mut lead,
            open_tasks,
            assign,
            tasks_go,
            restart,
            kit_call,
            handed_off,
            summary,
            cause,
            mut events,
            done,
            task,
            status,
            mut reasons,
            outcome,
            exit,
            sla,
            ..
        } = self;
        let before = lead.clone();
        let id = lead.id.clone();
        let previous_owner = lead.owner().cloned();
        let owner_changed = previous_owner.as_ref() != Some(&decision.owner);
        let fresh = owner_changed || restart;
        let new_owner = decision.owner.clone();
        if !matches!(assign, Assign::Fixed(_)) {
            reasons.extend(decision.reasons.iter().cloned());
        }

        // Inside sales that hands a lead up to field sales keeps supporting it.
        if owner_changed {
            let isr = |o: &Owner| match o {
                Owner::Rep { id, .. } => playbook.rep(id).is_some_and(|r| r.role == Role::Isr),
                Owner::Queue { .. } => false,
            };
            lead.support = match &previous_owner {
                Some(from @ Owner::Rep { id, .. })
                    if handed_off && isr(from) && !isr(&new_owner) =>
                {
                    Some(id.clone())
                }
                _ => None,
            };
        }
        lead.routing = Some(decision.clone());
        lead.updated_at = now;
        if let Some((status, detail)) = status {
            lead.status = status;
            lead.status_detail = Some(detail);
        }
        let summary_entry = match summary {
            Summary::Routed(response_id) => Some(Event::Routed {
                response_id,
                decision: decision.clone(),
                previous_owner: previous_owner.clone().filter(|_| owner_changed),
            }),
            Summary::Decided => {
                events.push(HistoryEntry::new(
                    &id,
                    now,
                    Event::Decided {
                        by: by.clone(),
                        cause: cause.clone(),
                        decision: decision.clone(),
                        previous_owner: previous_owner.clone().filter(|_| owner_changed),
                    },
                ));
                None
            }
            Summary::Reassigned(reason) => {
                events.push(HistoryEntry::new(
                    &id,
                    now,
                    Event::Reassigned {
                        from: previous_owner.clone(),
                        to: new_owner.clone(),
                        by: by.clone(),
                        reason,
                    },
                ));
                None
            }
        };
        if let Some((from, reason, _)) = &sla {
            events.push(HistoryEntry::new(
                &id,
                now,
                Event::SlaReassigned {
                    from: from.clone(),
                    to: new_owner.clone(),
                    reason: reason.clone(),
                },
            ));
        }

        // The open tasks: done, cancelled (the lead closed, or its old
        // owner's when it changes hands), or moved with the lead.
        let first_touch_due = match lead.first_touch.is_none() && !lead.status.is_closed() {
            true => decision.follow_up_by,
            false => None,
        };
        let mut tasks: Vec<Task> = Vec::new();
        let mut opened: Vec<(Task, Option<String>)> = Vec::new();
        let mut close = |mut t: Task, status: TaskStatus, why: String| {
            t.close(status, &by, why.clone(), now);
            events.push(HistoryEntry::new(
                &id,
                now,
                Event::TaskClosed {
                    task_id: t.id.clone(),
                    kind: t.kind,
                    status,
                    by: by.clone(),
                    reason: why,
                },
            ));
            tasks.push(t);
        };
        let support = lead.support.clone();
        let on_lead = |o: &Owner| {
            o == &new_owner || matches!(o, Owner::Rep { id, .. } if support.as_ref() == Some(id))
        };
        for mut t in open_tasks.unwrap_or_default() {
            // The old owner's tasks go when the lead changes hands, and so do
            // those of anyone the change leaves off the lead (a supporting
            // rep no longer supporting it).
            let theirs = (owner_changed && previous_owner.as_ref().is_none_or(|p| &t.owner == p))
                || !on_lead(&t.owner);
            if done.contains(&t.id) {
                close(t, TaskStatus::Done, format!("done: {cause}"));
            } else if lead.status.is_closed() {
                close(
                    t,
                    TaskStatus::Cancelled,
                    format!("the lead is {}: nothing left to do", lead.status),
                );
            } else if theirs {
                match tasks_go {
                    TasksGo::Cancel => {
                        let verb = match summary_entry {
                            Some(_) => "routed",
                            None => "handed",
                        };
                        close(
                            t,
                            TaskStatus::Cancelled,
                            format!("the lead was {verb} to {}", new_owner.display_name()),
                        )
                    }
                    TasksGo::Follow => {
                        let old = std::mem::replace(&mut t.owner, new_owner.clone());
                        if let (
                            Some(due),
                            TaskKind::PrequalificationCall | TaskKind::InitialDialogue,
                        ) = (first_touch_due, t.kind)
                        {
                            t.due_at = due;
                        }
                        let why = format!("moved from {} with the lead", old.display_name());
                        opened.push((t, Some(why)));
                    }
                }
            }
        }

        // The first-touch clock: the new owner's while nobody has touched
        // the lead; none on a closed lead.
        if lead.status.is_closed() {
            lead.sla = None;
        } else if fresh && lead.first_touch.is_none() {
            lead.sla = first_touch_due.map(SlaClock::new);
        }
        if let (Some(clock), Some((_, _, passed_over))) = (lead.sla.as_mut(), &sla) {
            clock.passed_over = passed_over.clone();
        }

        // Into the series its route calls for, or out of one it left.
        if let Some(reason) = exit {
            if let Some(e) = lead.nurture.take() {
                events.push(HistoryEntry::new(
                    &id,
                    now,
                    Event::NurtureExited {
                        series: e.series,
                        reason,
                    },
                ));
            }
        }
        if let Some(e) = nurture::reconcile(&mut lead, outcome, playbook, now) {
            reasons.push(nurture::describe(&e));
            events.push(HistoryEntry::new(&id, now, e));
        }

        // The new owner's first task (unless their tasks came with the lead),
        // inside sales' call after the kit, and the task the flow leaves.
        if !lead.status.is_closed() {
            if fresh && (tasks_go == TasksGo::Cancel || opened.is_empty()) {
                opened.extend(first_touch_task(&lead, &decision, playbook, now).map(|t| (t, None)));
            }
            if fresh && kit_call {
                opened
                    .extend(kit_follow_up_task(&lead, &decision, playbook, now).map(|t| (t, None)));
            }
            if let (Some((rule, due)), Some(reporter)) = (task, &reporter) {
                // The reporter's own next step, while they stay on the lead
                // (its owner, or inside sales supporting it); a reporter the
                // lead has left behind could not even see it: it is the new
                // owner's to take.
                let stays = reporter.owner() == new_owner
                    || lead.support.as_deref() == Some(reporter.id.as_str());
                let owner = match (rule.for_whom, stays) {
                    (TaskFor::Reporter, true) => reporter.owner(),
                    _ => new_owner.clone(),
                };
                let reason = format!("{} ({})", rule.kind.label(), reporter.name);
                opened.push((Task::new(&id, rule.kind, owner, due, now, reason), None));
            }
        }
        for (t, moved) in opened {
            if moved.is_none() && reporter.is_some() {
                reasons.push(format!(
                    "task {} for {} due {}",
                    t.kind,
                    t.owner.display_name(),
                    t.due_at.format("%Y-%m-%d %H:%M UTC")
                ));
            }
            events.push(HistoryEntry::new(&id, now, Event::task_opened(&t, moved)));
            tasks.push(t);
        }
        if let Some(e) = summary_entry {
            // The router's decision is the change's latest entry.
            events.push(HistoryEntry::new(&id, now, e));
        }
        let loads = load_changes(&before, &lead);
        let handed_to = (fresh && new_owner.email().is_some()).then_some(new_owner);
        Change {
            lead,
            events,
            tasks,
            loads,
            reasons,
            handed_to,
        }
    }
}

/// Back to inside sales: the route a sales-ready nurtured lead takes.
fn sales_ready_route(why: String) -> RouteDecision {
    RouteDecision {
        route: Route::HighPotential,
        rule: why.clone(),
        reason: format!("high_potential: {why} → {}", Route::HighPotential.channel()),
    }
}
