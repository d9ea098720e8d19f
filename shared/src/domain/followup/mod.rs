//! The follow-up flows (seed 000): what an outcome a rep reports and a status
//! change mean for a lead — its B.A.N.T. answers, stage, score, route, whether
//! it changes hands, the next task — each with reasons a rep can read.
//!
//! Pure: each report is checked and made into a [`Plan`] of the transition
//! module (`domain/transition`), which applies it like every other change.

use super::bant::{Criterion, KnownAnswer, UNKNOWN};
use super::decision::{Route, RouteDecision};
use super::ids::TaskId;
use super::lead::{Event, FieldChange, FirstTouch, HistoryEntry, Lead, StatusDetail};
use super::outcome::{LeadStatus, Outcome};
use super::playbook::{DueOn, Effect, OutcomeFlow, Playbook, Rep, TaskFor};
use super::routing::assess_by_rules;
use super::task::{due_on, Task, TaskKind};
use super::transition::invalid;
use chrono::{DateTime, Duration, NaiveDate, Utc};
use std::collections::BTreeMap;

pub use super::transition::{Change, Plan, Refused};

/// What a call or meeting found (`POST /leads/{id}/outcomes`).
#[derive(Debug, Clone, PartialEq)]
pub struct OutcomeReport {
    pub outcome: Outcome,
    pub reached: bool,
    pub task_id: Option<TaskId>,
    pub bant: BTreeMap<Criterion, String>,
    pub notes: Option<String>,
    pub follow_up_on: Option<NaiveDate>,
    /// Applied through a signed link from an email.
    pub via_link: bool,
}

impl OutcomeReport {
    pub fn new(outcome: Outcome) -> Self {
        OutcomeReport {
            outcome,
            reached: outcome.reached(),
            task_id: None,
            bant: BTreeMap::new(),
            notes: None,
            follow_up_on: None,
            via_link: false,
        }
    }
}

/// The largest won amount taken (a trillion, in the playbook's currency): a
/// typo of many digits is refused rather than summed into every report.
pub const MAX_AMOUNT: f64 = 1e12;

/// A status change (`POST /leads/{id}/status`).
#[derive(Debug, Clone, PartialEq)]
pub struct StatusReport {
    pub status: LeadStatus,
    pub reason: Option<String>,
    pub amount: Option<f64>,
    pub lost_to: Option<String>,
    pub via_link: bool,
}

impl StatusReport {
    pub fn new(status: LeadStatus) -> Self {
        StatusReport {
            status,
            reason: None,
            amount: None,
            lost_to: None,
            via_link: false,
        }
    }
}

/// A plan for what `reporter` reported, the lead weighed by the playbook's rules.
fn reported<'p>(
    lead: &Lead,
    history: &[HistoryEntry],
    open_tasks: &[Task],
    reporter: &Rep,
    playbook: &'p Playbook,
    now: DateTime<Utc>,
    cause: String,
) -> Plan<'p> {
    Plan::base(
        lead,
        assess_by_rules(lead, history, playbook, now),
        Some(open_tasks),
        reporter.id.clone(),
        Some(reporter),
        playbook,
        now,
        cause,
    )
}

/// Record what a rep learned on the phone: their answers replace any form's,
/// and are kept as theirs (`sales:<id>`), with when.
fn apply_answers(
    lead: &mut Lead,
    answers: &BTreeMap<Criterion, String>,
    reporter: &Rep,
    playbook: &Playbook,
    now: DateTime<Utc>,
) -> Result<Vec<FieldChange>, Refused> {
    let mut changes = Vec::new();
    for (criterion, value) in answers {
        if !playbook.bant.is_allowed(*criterion, value) {
            return Err(invalid(
                "bant",
                format!(
                    "bant.{}: {value:?} is not one of {}",
                    criterion.field(),
                    playbook.bant.allowed_values(*criterion).join(", ")
                ),
            ));
        }
        if value == UNKNOWN {
            continue;
        }
        let old = lead.bant.value(*criterion).to_string();
        let source = format!("sales:{}", reporter.id);
        let same = lead
            .bant
            .0
            .get(criterion)
            .is_some_and(|a| a.value == *value && a.source == source);
        if same {
            continue;
        }
        if old != *value {
            changes.push(FieldChange {
                field: criterion.field().to_string(),
                from: (old != UNKNOWN).then_some(old),
                to: value.clone(),
            });
        }
        lead.bant.0.insert(
            *criterion,
            KnownAnswer {
                value: value.clone(),
                at: now,
                source,
                campaign: None,
            },
        );
    }
    Ok(changes)
}

impl<'p> Plan<'p> {
    /// An outcome a rep reports for a call or meeting.
    pub fn outcome(
        lead: &Lead,
        history: &[HistoryEntry],
        open_tasks: &[Task],
        report: &OutcomeReport,
        reporter: &Rep,
        playbook: &'p Playbook,
        now: DateTime<Utc>,
    ) -> Result<Plan<'p>, Refused> {
        let outcome = report.outcome;
        if report.reached != outcome.reached() {
            return Err(invalid(
                "reached",
                if outcome.reached() {
                    format!(
                        "outcome {outcome} means the prospect was reached: reached must be true"
                    )
                } else {
                    "outcome not_reached means reached must be false".to_string()
                },
            ));
        }
        let flow: OutcomeFlow = playbook.follow_up.flow(outcome);
        let needs_date = flow
            .task
            .as_ref()
            .is_some_and(|t| t.on == Some(DueOn::FollowUpOn));
        if needs_date && report.follow_up_on.is_none() {
            return Err(invalid(
                "follow_up_on",
                format!("outcome {outcome} needs follow_up_on: the date the prospect gave"),
            ));
        }
        if let Some(d) = report.follow_up_on {
            if due_on(d) < now - Duration::days(1) {
                return Err(invalid(
                    "follow_up_on",
                    format!("follow_up_on {d} is in the past"),
                ));
            }
        }
        let open: Vec<&Task> = open_tasks.iter().filter(|t| t.is_open()).collect();
        let closes = match &report.task_id {
            Some(id) => match open.iter().find(|t| &t.id == id) {
                Some(t) => Some(t.id.clone()),
                None => {
                    return Err(invalid(
                        "task_id",
                        format!("{id} is not an open task of this lead"),
                    ))
                }
            },
            // The reporter's own call comes first: the earliest due of their open tasks here.
            None => open
                .iter()
                .filter(|t| t.owner.key() == reporter.owner().key())
                .min_by_key(|t| t.due_at)
                .map(|t| t.id.clone()),
        };

        let mut updated = lead.clone();
        let changes = apply_answers(&mut updated, &report.bant, reporter, playbook, now)?;
        let cause = format!(
            "{} reported {} ({})",
            reporter.name,
            outcome,
            outcome.label()
        );
        let mut plan = reported(
            &updated, history, open_tasks, reporter, playbook, now, cause,
        );
        plan.done.extend(closes.clone());
        plan.outcome = Some(outcome);
        plan.events.push(HistoryEntry::new(
            &lead.id,
            now,
            Event::OutcomeRecorded {
                outcome,
                reached: report.reached,
                by: reporter.id.clone(),
                task_id: closes,
                notes: report.notes.clone(),
                follow_up_on: report.follow_up_on,
                changes,
                via_link: report.via_link,
            },
        ));
        if lead.first_touch.is_none() {
            let due_by = lead.routing.as_ref().and_then(|d| d.follow_up_by);
            let touch = FirstTouch {
                at: now,
                by: reporter.id.clone(),
                outcome,
                due_by,
                within_sla: due_by.map(|d| now <= d),
                minutes_to_touch: (now - lead.created_at).num_minutes(),
                pool: lead.routing.as_ref().and_then(|d| d.pool.clone()),
            };
            plan.reasons.push(match (touch.within_sla, due_by) {
                (Some(true), Some(d)) => format!(
                    "first touch by {} within the SLA (due {})",
                    reporter.name,
                    d.format("%Y-%m-%d %H:%M UTC")
                ),
                (Some(false), Some(d)) => format!(
                    "first touch by {}, after the SLA (due {})",
                    reporter.name,
                    d.format("%Y-%m-%d %H:%M UTC")
                ),
                _ => format!("first touch by {}", reporter.name),
            });
            plan.lead.first_touch = Some(touch.clone());
            plan.lead.sla = None;
            plan.events
                .push(HistoryEntry::new(&lead.id, now, Event::FirstTouch(touch)));
        }

        let met = plan.assessment.qualification().met.len();
        let rules_route = plan.assessment.route().route;
        match flow.then {
            Effect::Keep => plan.stay(),
            Effect::Rescore => {
                let current = plan.current_route();
                match flow.hand_off_at {
                    Some(n) if met >= n && current != Some(Route::Hot) => {
                        plan.send_to(
                            Route::Hot,
                            format!(
                                "{met} of 4 B.A.N.T. criteria met after {outcome} (hand-off at {n}), to field sales"
                            ),
                        );
                    }
                    _ if current.is_none_or(|c| rules_route.value() > c.value()) => {
                        // The rules now route it further up the value chain: a hand-off.
                        plan.assign = super::transition::Assign::Pool;
                    }
                    _ => plan.stay(),
                }
            }
            Effect::Dead => {
                plan.send_to(Route::Dead, format!("{outcome}: dead file"));
                plan.status = Some((
                    LeadStatus::Dead,
                    StatusDetail {
                        at: now,
                        by: reporter.id.clone(),
                        reason: Some(outcome.label().to_string()),
                        amount: None,
                        lost_to: None,
                    },
                ));
            }
            Effect::Nurture => {
                let decision = RouteDecision {
                    route: Route::NeedNurturing,
                    rule: format!("{outcome}"),
                    reason: format!(
                        "need_nurturing: {outcome} ({}) → direct-marketing series, with periodic follow-up by its owner",
                        outcome.label()
                    ),
                };
                plan.assessment = plan
                    .assessment
                    .clone()
                    .with_route(&plan.lead, playbook, decision);
                plan.status = Some((
                    LeadStatus::Nurturing,
                    StatusDetail {
                        at: now,
                        by: reporter.id.clone(),
                        reason: Some(outcome.label().to_string()),
                        amount: None,
                        lost_to: None,
                    },
                ));
            }
            Effect::HandOff => plan.send_to(
                Route::Hot,
                format!(
                    "{outcome} ({}): field sales assigned at once",
                    outcome.label()
                ),
            ),
        }
        plan.handed_off = matches!(plan.assign, super::transition::Assign::Pool)
            && matches!(plan.assessment.route().route, Route::Hot | Route::Partner)
            && plan
                .current_route()
                .is_none_or(|c| c.value() < Route::Hot.value());
        if !matches!(flow.then, Effect::Dead | Effect::Nurture)
            && matches!(
                lead.status,
                LeadStatus::Dead | LeadStatus::Nurturing | LeadStatus::Rejected
            )
        {
            plan.status = Some((
                LeadStatus::Open,
                StatusDetail {
                    at: now,
                    by: reporter.id.clone(),
                    reason: Some(format!("reopened: {}", outcome.label())),
                    amount: None,
                    lost_to: None,
                },
            ));
        }
        if let Some(rule) = flow.task {
            // A lead handed on gets its new owner's first task instead of
            // the flow's next call (unless the reporter keeps a part in it).
            let moot =
                plan.handed_off && (rule.unless_handed_off || rule.for_whom == TaskFor::Owner);
            if !moot {
                // Due in the working time of whoever will hold the task.
                let holder = match (rule.for_whom, lead.owner()) {
                    (TaskFor::Owner, Some(owner)) => owner.clone(),
                    _ => reporter.owner(),
                };
                let calendar = playbook.calendar_of(&holder);
                let due = match (rule.on, rule.in_days, report.follow_up_on) {
                    (_, _, Some(date)) => calendar.on(date),
                    (Some(DueOn::FollowUpOn), _, None) => now, // refused above
                    (None, Some(days), None) => calendar.add_days(now, days),
                    (None, None, None) => calendar.add_days(now, 1),
                };
                plan.task = Some((rule, due));
            }
        }
        Ok(plan)
    }

    /// A status change an owner (or their manager, or ops) makes.
    pub fn status(
        lead: &Lead,
        history: &[HistoryEntry],
        open_tasks: &[Task],
        report: &StatusReport,
        reporter: &Rep,
        playbook: &'p Playbook,
        now: DateTime<Utc>,
    ) -> Result<Plan<'p>, Refused> {
        let to = report.status;
        if !LeadStatus::SETTABLE.contains(&to) {
            return Err(invalid(
                "status",
                format!(
                    "status must be one of {}",
                    LeadStatus::SETTABLE.map(LeadStatus::as_str).join(", ")
                ),
            ));
        }
        let nonempty = |v: &Option<String>| v.as_deref().is_some_and(|s| !s.trim().is_empty());
        if to == LeadStatus::Rejected && !nonempty(&report.reason) {
            return Err(invalid("reason", "rejected needs a reason"));
        }
        if to == LeadStatus::Lost {
            if !nonempty(&report.lost_to) {
                return Err(invalid("lost_to", "lost needs lost_to: who it was lost to"));
            }
            if !nonempty(&report.reason) {
                return Err(invalid("reason", "lost needs a reason: why it was lost"));
            }
        }
        if let Some(a) = report.amount {
            if !a.is_finite() || !(0.0..=MAX_AMOUNT).contains(&a) {
                return Err(invalid(
                    "amount",
                    format!("amount must be a number from 0 to {MAX_AMOUNT:.0}"),
                ));
            }
            if to != LeadStatus::Won {
                return Err(invalid("amount", "amount goes with won"));
            }
        }
        // A close is final, and counted once: won or lost again (a second
        // press, a second link) is refused like any other change after it.
        if matches!(lead.status, LeadStatus::Won | LeadStatus::Lost) {
            return Err(Refused {
                code: "invalid_transition",
                field: Some("status"),
                message: match lead.status == to {
                    true => format!("the lead is already {to}; a close is recorded once"),
                    false => format!("the lead is already {}; it cannot become {to}", lead.status),
                },
            });
        }
        let cause = format!("{} set the status to {to}", reporter.name);
        let mut plan = reported(lead, history, open_tasks, reporter, playbook, now, cause);
        let detail = StatusDetail {
            at: now,
            by: reporter.id.clone(),
            reason: report.reason.clone(),
            amount: report.amount,
            lost_to: report.lost_to.clone(),
        };
        plan.events.push(HistoryEntry::new(
            &lead.id,
            now,
            Event::StatusChanged {
                from: lead.status,
                to,
                by: reporter.id.clone(),
                reason: report.reason.clone(),
                amount: report.amount,
                lost_to: report.lost_to.clone(),
                via_link: report.via_link,
            },
        ));
        plan.status = Some((to, detail));
        match to {
            LeadStatus::Rejected => plan.send_to(
                Route::NeedNurturing,
                format!(
                    "rejected by {}: {} — back to marketing",
                    reporter.name,
                    report.reason.as_deref().unwrap_or_default()
                ),
            ),
            _ => plan.stay(),
        }
        // The demo is scheduled: the task to schedule it is done.
        if to == LeadStatus::DemoScheduled {
            plan.done.extend(
                open_tasks
                    .iter()
                    .filter(|t| t.is_open() && t.kind == TaskKind::ScheduleRemoteDemo)
                    .map(|t| t.id.clone()),
            );
        }
        Ok(plan)
    }
}
