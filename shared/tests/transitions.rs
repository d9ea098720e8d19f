//! The transition module's rules, checked on every result of random
//! sequences of what can happen to a lead: responses, outcomes, status
//! changes, reassignments by people and by the SLA, nurture handing it back,
//! nurture steps and exits, SLA escalations, and time passing. A new rule of `domain/transition` gets its check here.

use chrono::{DateTime, Duration, TimeZone, Utc};
use leadflow::domain::decision::{Owner, PoolState};
use leadflow::domain::followup::{OutcomeReport, StatusReport};
use leadflow::domain::ids::{ResponseId, TaskId};
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::{Event, HistoryEntry};
use leadflow::domain::nurture::exit_reason;
use leadflow::domain::outcome::{LeadStatus, Outcome};
use leadflow::domain::playbook::Rep;
use leadflow::domain::task::Task;
use leadflow::domain::transition::{series, Change, Plan};
use leadflow::{EmailAddress, Lead, Playbook};
use proptest::prelude::*;
use std::collections::BTreeMap;

#[derive(Debug, Clone)]
enum Happening {
    Response {
        timeframe: usize,
        request: usize,
    },
    Outcome {
        outcome: usize,
        by_owner: bool,
    },
    Status {
        status: usize,
    },
    Reassign {
        to: usize,
    },
    SlaBreach {
        to: usize,
    },
    SalesReady,
    /// The nurture tick: the series' due step taken (its email sent or its
    /// call opened), or the lead leaving the series.
    NurtureStep {
        sent: bool,
        leave: bool,
    },
    /// The reminders tick: an untouched lead's breach escalated.
    Escalate,
    Wait {
        hours: i64,
    },
}

fn happening() -> impl Strategy<Value = Happening> {
    prop_oneof![
        3 => (0usize..5, 0usize..6).prop_map(|(timeframe, request)| Happening::Response { timeframe, request }),
        4 => (0usize..Outcome::ALL.len(), any::<bool>()).prop_map(|(outcome, by_owner)| Happening::Outcome { outcome, by_owner }),
        2 => (0usize..LeadStatus::SETTABLE.len()).prop_map(|status| Happening::Status { status }),
        2 => (0usize..64).prop_map(|to| Happening::Reassign { to }),
        1 => (0usize..64).prop_map(|to| Happening::SlaBreach { to }),
        1 => Just(Happening::SalesReady),
        2 => (any::<bool>(), prop::bool::weighted(0.2)).prop_map(|(sent, leave)| Happening::NurtureStep { sent, leave }),
        1 => Just(Happening::Escalate),
        2 => (1i64..200).prop_map(|hours| Happening::Wait { hours }),
    ]
}

const TIMEFRAMES: [&str; 5] = [
    "within_1_month",
    "within_3_months",
    "within_12_months",
    "over_12_months",
    "unknown",
];
const REQUESTS: [&str; 6] = [
    "demo",
    "info",
    "onsite_demo",
    "webinar",
    "trial",
    "callback",
];
const COUNTRIES: [&str; 4] = ["DE", "US", "FR", "BR"];

/// One lead's life: the lead, its history and tasks, and the open-lead
/// counts every change moved (as the store's counters would hold them).
struct Life {
    pb: &'static Playbook,
    lead: Lead,
    history: Vec<HistoryEntry>,
    tasks: BTreeMap<TaskId, Task>,
    loads: BTreeMap<String, i64>,
    turn: u64,
    now: DateTime<Utc>,
    country: &'static str,
}

fn playbook() -> &'static Playbook {
    static PB: std::sync::OnceLock<Playbook> = std::sync::OnceLock::new();
    PB.get_or_init(|| Playbook::default_playbook().unwrap())
}

impl Life {
    fn new(country: usize) -> Life {
        let now = Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap();
        let email = EmailAddress::parse("ada@kunde.example").unwrap();
        Life {
            pb: playbook(),
            lead: Lead::new(leadflow::domain::ids::LeadId::generate(), email, now),
            history: Vec::new(),
            tasks: BTreeMap::new(),
            loads: BTreeMap::new(),
            turn: 0,
            now,
            country: COUNTRIES[country % COUNTRIES.len()],
        }
    }

    fn open_tasks(&self) -> Vec<Task> {
        self.tasks
            .values()
            .filter(|t| t.is_open())
            .cloned()
            .collect()
    }

    /// Settle as the use cases do (`app::transition::settle`), the pool's
    /// turn moving on each time one is taken.
    fn settle(&mut self, plan: Plan<'_>) -> Change {
        let state = PoolState {
            cursor: self.turn,
            ..PoolState::default()
        };
        let mut decision = plan.decision(&state);
        if plan.pool().is_some() && decision.cursor.is_some() {
            self.turn += 1;
            decision = plan.decision(&PoolState {
                cursor: self.turn,
                ..PoolState::default()
            });
        }
        let plan = match plan.tasks_unread() && plan.changes_hands(&decision) {
            true => plan.with_tasks(self.open_tasks()),
            false => plan,
        };
        plan.finish(decision)
    }

    fn reporter(&self, by_owner: bool) -> Rep {
        let owner = match self.lead.owner() {
            Some(Owner::Rep { id, .. }) => self.pb.rep(id).cloned(),
            _ => None,
        };
        match (by_owner, owner) {
            (true, Some(rep)) => rep,
            _ => self
                .pb
                .reps
                .iter()
                .find(|r| r.role == leadflow::domain::playbook::Role::Isr)
                .cloned()
                .expect("an inside-sales rep"),
        }
    }

    fn target(&self, i: usize) -> Owner {
        let reps: Vec<Owner> = self
            .pb
            .reps
            .iter()
            .filter(|r| r.role.owns_leads())
            .map(Rep::owner)
            .chain(self.pb.queues.iter().map(|q| self.pb.queue_owner(&q.name)))
            .collect();
        reps[i % reps.len()].clone()
    }

    /// What happened, made into a change (or refused: then nothing changes).
    fn happen(&mut self, what: &Happening) -> Option<Change> {
        let (pb, now) = (self.pb, self.now);
        let plan = match what {
            Happening::Wait { hours } => {
                self.now += Duration::hours(*hours);
                return None;
            }
            Happening::Response { timeframe, request } => {
                let fields: Vec<(String, String)> = [
                    ("email", self.lead.email.as_str()),
                    ("country", self.country),
                    ("timeframe", TIMEFRAMES[*timeframe]),
                    ("request_type", REQUESTS[*request]),
                    ("budget", "defined_fits"),
                ]
                .iter()
                .map(|(k, v)| (k.to_string(), v.to_string()))
                .collect();
                let inquiry = Inquiry::parse(&fields, &pb.bant).ok()?;
                let response_id = ResponseId::generate();
                let rec = self.lead.apply_response(&inquiry, &response_id, now);
                self.history
                    .push(HistoryEntry::new(&self.lead.id, now, Event::Response(rec)));
                Plan::response(&self.lead, &self.history, &response_id, pb, now)
            }
            Happening::Outcome { outcome, by_owner } => {
                self.lead.routing.as_ref()?;
                let outcome = Outcome::ALL[*outcome];
                let mut report = OutcomeReport::new(outcome);
                report.follow_up_on = Some((now + Duration::days(7)).date_naive());
                let reporter = self.reporter(*by_owner);
                let tasks = self.open_tasks();
                Plan::outcome(
                    &self.lead,
                    &self.history,
                    &tasks,
                    &report,
                    &reporter,
                    pb,
                    now,
                )
                .ok()?
            }
            Happening::Status { status } => {
                self.lead.routing.as_ref()?;
                let status = LeadStatus::SETTABLE[*status];
                let mut report = StatusReport::new(status);
                report.reason = Some("a reason".into());
                if status == LeadStatus::Lost {
                    report.lost_to = Some("a rival".into());
                }
                if status == LeadStatus::Won {
                    report.amount = Some(1000.0);
                }
                let reporter = self.reporter(true);
                let tasks = self.open_tasks();
                Plan::status(
                    &self.lead,
                    &self.history,
                    &tasks,
                    &report,
                    &reporter,
                    pb,
                    now,
                )
                .ok()?
            }
            Happening::Reassign { to } => {
                let reporter = self.reporter(true);
                let tasks = self.open_tasks();
                Plan::reassign(
                    &self.lead,
                    &tasks,
                    self.target(*to),
                    "a reason",
                    &reporter,
                    pb,
                    now,
                )
                .ok()?
            }
            Happening::SlaBreach { to } => {
                let from = self.lead.owner()?.key();
                let system = self.reporter(false);
                let tasks = self.open_tasks();
                let mut passed = self
                    .lead
                    .sla
                    .as_ref()
                    .map(|c| c.passed_over.clone())
                    .unwrap_or_default();
                passed.push(from);
                Plan::reassign(
                    &self.lead,
                    &tasks,
                    self.target(*to),
                    "its SLA ran out",
                    &system,
                    pb,
                    now,
                )
                .ok()?
                .sla_breached("its SLA ran out".into(), passed)
            }
            Happening::SalesReady => {
                self.lead.nurture.as_ref()?;
                Plan::sales_ready(&self.lead, &self.history, 100, pb, now)
            }
            Happening::NurtureStep { sent, leave } => {
                let e = self.lead.nurture.as_ref()?;
                if *leave {
                    return Some(series::exit(&self.lead, "unsubscribed".into(), now));
                }
                let steps = &pb.nurture.series(&e.series)?.steps;
                let this = steps.get(e.step)?;
                let sent = *sent && this.call.is_none();
                return Some(series::step_taken(
                    &self.lead,
                    this,
                    steps.get(e.step + 1),
                    sent,
                    pb,
                    now,
                ));
            }
            Happening::Escalate => {
                // As the reminders tick does: only a clock that has run out.
                if self.lead.sla.as_ref()?.check_at > now {
                    return None;
                }
                return series::escalated(&self.lead, pb, now);
            }
        };
        Some(self.settle(plan))
    }

    /// Every rule of the transition module, on one change.
    fn check(&mut self, change: Change, what: &Happening) {
        let before = self.lead.clone();
        let lead = &change.lead;
        let ctx = format!("after {what:?}: {:?} → {:?}", before.owner(), lead.owner());
        // The counts move as the lead itself says: +1 to whoever holds it
        // open after, −1 to whoever held it open before, nothing else.
        let mut moved: BTreeMap<String, i64> = BTreeMap::new();
        for (rep, d) in &change.loads {
            *moved.entry(rep.clone()).or_default() += d;
        }
        moved.retain(|_, d| *d != 0);
        let mut expected: BTreeMap<String, i64> = BTreeMap::new();
        for (l, d) in [(lead, 1), (&before, -1)] {
            if let (false, Some(Owner::Rep { id, .. })) = (l.status.is_closed(), l.owner()) {
                *expected.entry(id.clone()).or_default() += d;
            }
        }
        expected.retain(|_, d| *d != 0);
        assert_eq!(moved, expected, "{ctx}: the counts moved otherwise");
        for e in &change.events {
            assert_eq!(e.lead_id, lead.id, "{ctx}");
        }
        // Each task entry names a task written with the change, as it says.
        let written: BTreeMap<_, _> = change.tasks.iter().map(|t| (t.id.clone(), t)).collect();
        for e in &change.events {
            match &e.event {
                Event::TaskOpened { task_id, owner, .. } => {
                    let t = written
                        .get(task_id)
                        .unwrap_or_else(|| panic!("{ctx}: opened but not written"));
                    assert!(t.is_open(), "{ctx}");
                    assert_eq!(&t.owner, owner, "{ctx}");
                }
                Event::TaskClosed { task_id, .. } => {
                    let t = written
                        .get(task_id)
                        .unwrap_or_else(|| panic!("{ctx}: closed but not written"));
                    assert!(!t.is_open(), "{ctx}");
                }
                _ => {}
            }
        }
        let changed_hands = before.owner() != lead.owner();
        // Apply it, as the store's commit does.
        for t in &change.tasks {
            self.tasks.insert(t.id.clone(), t.clone());
        }
        for (rep, d) in &change.loads {
            *self.loads.entry(rep.clone()).or_default() += d;
        }
        self.loads.retain(|_, v| *v != 0);
        self.history.extend(change.events.iter().cloned());
        self.lead = change.lead.clone();
        let lead = &self.lead;
        let open: Vec<&Task> = self.tasks.values().filter(|t| t.is_open()).collect();

        // A closed lead has no open task and no first-touch clock.
        if lead.status.is_closed() {
            assert!(
                open.is_empty(),
                "{ctx}: a closed lead has open tasks {open:?}"
            );
            assert!(lead.sla.is_none(), "{ctx}: a closed lead has an SLA clock");
        }
        // A hand-off leaves none of the old owner's tasks open, and restarts
        // the first-touch clock for the new owner while nobody touched the lead.
        if changed_hands {
            // (An inside-sales rep who handed it up and stays on as support
            // keeps the part the flow gives them.)
            if let Some(old) = before.owner() {
                let supports =
                    matches!(old, Owner::Rep { id, .. } if lead.support.as_ref() == Some(id));
                assert!(
                    supports || open.iter().all(|t| &t.owner != old),
                    "{ctx}: the old owner kept open tasks {open:?}"
                );
            }
            if !lead.status.is_closed() && lead.first_touch.is_none() {
                let due = lead.routing.as_ref().and_then(|d| d.follow_up_by);
                assert_eq!(
                    lead.sla.as_ref().map(|c| c.due),
                    due,
                    "{ctx}: the clock did not restart"
                );
                assert!(
                    lead.sla.as_ref().is_none_or(|c| c.escalated_at.is_none()),
                    "{ctx}: a new owner's clock starts unescalated"
                );
            }
        }
        // Someone who touched the lead stopped its clock for good.
        if lead.first_touch.is_some() {
            assert!(lead.sla.is_none(), "{ctx}: a touched lead has an SLA clock");
        }
        // The counts across the whole life: one, for whoever holds it open.
        let expect: BTreeMap<String, i64> = match (lead.status.is_closed(), lead.owner()) {
            (false, Some(Owner::Rep { id, .. })) => [(id.clone(), 1)].into(),
            _ => BTreeMap::new(),
        };
        assert_eq!(self.loads, expect, "{ctx}: open-lead counts drifted");
        // A series only while the lead belongs in it, and always with a step
        // still to come (a finished series is left, never stuck at its end).
        if let Some(e) = &lead.nurture {
            let steps = self
                .pb
                .nurture
                .series(&e.series)
                .map_or(0, |s| s.steps.len());
            assert!(
                e.step < steps,
                "{ctx}: step {} of a series of {steps}",
                e.step
            );
            assert_eq!(
                exit_reason(lead, self.pb),
                None,
                "{ctx}: nurtured though it should have left"
            );
        }
        // A step taken moves the series on, or out after its last step.
        if let (Happening::NurtureStep { leave: false, .. }, Some(was)) = (what, &before.nurture) {
            let steps = self
                .pb
                .nurture
                .series(&was.series)
                .map_or(0, |s| s.steps.len());
            match &lead.nurture {
                Some(now) => {
                    assert_eq!(now.step, was.step + 1, "{ctx}: the series did not move on")
                }
                None => assert_eq!(was.step + 1, steps, "{ctx}: left the series before its end"),
            }
        }
        // An escalated clock looks again later: the reassignment is next.
        if let Some(c) = &lead.sla {
            assert!(
                c.check_at >= c.due,
                "{ctx}: a clock checked before it is due"
            );
        }
        // Every open task is for someone on the lead: its owner or its support.
        for t in &open {
            let on_it = lead.owner() == Some(&t.owner)
                || matches!(&t.owner, Owner::Rep { id, .. } if lead.support.as_ref() == Some(id));
            assert!(on_it, "{ctx}: a task for someone off the lead: {t:?}");
        }
        // Support is someone beside the owner.
        if let (Some(s), Some(Owner::Rep { id, .. })) = (&lead.support, lead.owner()) {
            assert_ne!(s, id, "{ctx}: the owner supports themself");
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 1024, failure_persistence: None, ..ProptestConfig::default() })]

    #[test]
    fn every_change_keeps_the_rules(
        country in 0usize..4,
        first in (0usize..5, 0usize..6),
        rest in prop::collection::vec(happening(), 1..16),
    ) {
        let mut life = Life::new(country);
        let start = Happening::Response { timeframe: first.0, request: first.1 };
        for what in std::iter::once(&start).chain(rest.iter()) {
            if let Some(change) = life.happen(what) {
                life.check(change, what);
            }
        }
    }
}
