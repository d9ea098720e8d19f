//! The reminders tick with in-memory ports and injected time: one reminder per
//! owner per tick, escalations to managers, SLA breaches escalated then
//! reassigned, each once whatever the ticks and overlaps.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, TimeZone, Utc};
use leadflow::domain::lead::Event;
use leadflow::ports::prelude::*;
use leadflow::ports::Clock;
use leadflow::testing::{routed_lead, FixedClock, MemoryMailer, MemoryPublisher, MemoryStore};
use leadflow::{LeadId, Playbook};
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use reminders::Reminders;

type Handler = Reminders<MemoryStore, MemoryMailer, MemoryPublisher, FixedClock>;

/// Tuesday 2026-12-01, 09:00 UTC.
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn handler() -> Handler {
    Reminders {
        store: MemoryStore::new(),
        mailer: MemoryMailer::new(),
        publisher: MemoryPublisher::new(),
        clock: FixedClock::at(t0()),
        playbook: Playbook::default_playbook().unwrap(),
    }
}

async fn lead(h: &Handler, email: &str, country: &str) -> LeadId {
    routed_lead(
        &h.store,
        &h.playbook,
        h.clock.now(),
        &[
            ("email", email),
            ("request_type", "info"),
            ("country", country),
        ],
    )
    .await
}

fn at(t: DateTime<Utc>) -> EventBridgeEvent {
    serde_json::from_value(serde_json::json!({
        "version": "0", "id": "x", "detail-type": "Scheduled Event", "source": "aws.events",
        "account": "123456789012", "time": t.format("%Y-%m-%dT%H:%M:%SZ").to_string(),
        "region": "us-east-1", "resources": ["arn:aws:events:us-east-1:123456789012:rule/r"], "detail": {}
    }))
    .unwrap()
}

fn mails_to(h: &Handler, to: &str) -> Vec<leadflow::ports::OutgoingEmail> {
    h.mailer.sent().into_iter().filter(|m| m.to == to).collect()
}

#[tokio::test]
async fn nothing_due_sends_nothing() {
    let h = handler();
    lead(&h, "a@stadtwerke.example", "DE").await;
    let r = h.handle(at(t0() + Duration::hours(1))).await.unwrap();
    assert_eq!(r, Default::default());
    assert!(h.mailer.sent().is_empty());
}

#[tokio::test]
async fn one_reminder_per_owner_lists_every_task_that_fell_due_and_never_the_same_twice() {
    let h = handler();
    let a = lead(&h, "a@stadtwerke.example", "DE").await;
    let b = lead(&h, "b@stadtwerke.example", "AT").await;
    // Both pre-qualification calls fall due 24 h later.
    let r = h.handle(at(t0() + Duration::hours(25))).await.unwrap();
    assert_eq!((r.reminders, r.tasks_reminded), (1, 2), "{r:?}");
    let lena = mails_to(&h, "lena.fischer@example.com");
    assert_eq!(lena.len(), 1);
    assert!(
        lena[0].text.contains("2 of your tasks are due"),
        "{}",
        lena[0].text
    );
    assert!(lena[0].text.contains(a.as_str()) && lena[0].text.contains(b.as_str()));
    // The same tick again, and an overlapping one: nothing more.
    let (x, y) = tokio::join!(
        h.handle(at(t0() + Duration::hours(25))),
        h.handle(at(t0() + Duration::hours(26)))
    );
    assert_eq!((x.unwrap().reminders, y.unwrap().reminders), (0, 0));
    assert_eq!(mails_to(&h, "lena.fischer@example.com").len(), 1);
    // Two business days after the kit (Thursday 09:00): the follow-up calls, in one more email.
    let r = h
        .handle(at(t0() + Duration::hours(48) + Duration::minutes(5)))
        .await
        .unwrap();
    assert_eq!(r.tasks_reminded, 2, "{r:?}");
    assert_eq!(mails_to(&h, "lena.fischer@example.com").len(), 2);
}

#[tokio::test]
async fn an_untouched_lead_is_escalated_at_its_sla_then_reassigned_and_overdue_tasks_reach_the_manager(
) {
    let h = handler();
    let id = lead(&h, "sla@stadtwerke.example", "DE").await;
    // The need_information SLA is 8 business hours (a working day; the lead
    // came in at 10:00 Berlin): one minute past it, Nina (manager of emea-inside) hears.
    let r = h
        .handle(at(t0() + Duration::hours(24) + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!((r.escalations, r.leads_escalated), (1, 1), "{r:?}");
    let nina = mails_to(&h, "nina.kovac@example.com");
    assert_eq!(nina.len(), 1);
    assert!(
        nina[0]
            .text
            .contains("LEADS NOBODY TOUCHED WITHIN THEIR SLA (1)"),
        "{}",
        nina[0].text
    );
    let history = h.store.history(&id).await.unwrap();
    assert!(history.iter().any(|e| matches!(&e.event, Event::SlaEscalated { told, .. } if told == &vec!["nina.kovac".to_string()])));
    // Ticks in the window: nothing more.
    h.handle(at(t0() + Duration::hours(30))).await.unwrap();
    assert_eq!(mails_to(&h, "nina.kovac@example.com").len(), 1);
    // The reports count the breach once, on the day it was escalated.
    let breach_day = (t0() + Duration::hours(24)).date_naive();
    let counted = h
        .store
        .day_counts(leadflow::domain::stats::Dim::Pool, breach_day, breach_day)
        .await
        .unwrap();
    assert_eq!(counted.len(), 1, "{counted:?}");
    assert_eq!(counted[0].value, "emea-inside");
    assert_eq!(counted[0].metrics["sla_breaches"], 1, "{counted:?}");
    assert_eq!(
        h.store
            .lead(&id)
            .await
            .unwrap()
            .unwrap()
            .owner()
            .unwrap()
            .key(),
        "rep#lena.fischer"
    );

    // A working day (8 business hours) after the escalation, still untouched: reassigned. Lena is the only
    // EMEA inside rep, so it goes to the fallback queue, with its tasks; the
    // pre-qualification call is due in the queue's own first-touch window
    // (not overdue from the moment it arrives).
    let reassigned_at = t0() + Duration::hours(48) + Duration::minutes(2);
    let r = h.handle(at(reassigned_at)).await.unwrap();
    assert_eq!(r.leads_reassigned, 1, "{r:?}");
    assert_eq!(r.tasks_escalated, 0, "{r:?}");
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.owner().unwrap().key(), "queue#unassigned");
    let history = h.store.history(&id).await.unwrap();
    assert!(history
        .iter()
        .any(|e| matches!(&e.event, Event::SlaReassigned { .. })));
    assert_eq!(h.store.load_of("lena.fischer"), 0);
    let tasks = h.store.tasks(&id).await.unwrap();
    assert!(tasks
        .iter()
        .filter(|t| t.is_open())
        .all(|t| t.owner.key() == "queue#unassigned"));
    let call = tasks
        .iter()
        .find(|t| t.is_open() && t.kind == leadflow::domain::task::TaskKind::PrequalificationCall)
        .unwrap();
    assert!(call.due_at > reassigned_at, "{call:?}");
    // The new owner is sent the package (through the fulfillment queue).
    let sent = h.publisher.take();
    assert_eq!(sent.len(), 1);
    assert!(sent[0].body.contains("handoff"));
    // And never again.
    h.handle(at(t0() + Duration::hours(48) + Duration::minutes(3)))
        .await
        .unwrap();
    assert!(h.publisher.take().is_empty());
}

/// One owner whose tasks cannot be read (a throttle, a bad item) is that
/// owner's failure: the other owners are reminded and the escalations go
/// out in the same tick; the next tick reminds the one left.
/// Issue 24, item 5: a hot lead (4 business hours) arriving Friday 17:00 in
/// Berlin is due Monday 13:00 Berlin time: nobody is escalated Friday night
/// or reassigned at the weekend. And it never ping-pongs: the rep who let it
/// run out does not get it back; after the playbook's reassignments it goes
/// to the fallback queue, whose manager hears at once.
#[tokio::test]
async fn a_friday_evening_hot_lead_waits_for_monday_and_never_ping_pongs() {
    let mut h = handler();
    for r in h.playbook.reps.iter_mut().filter(|r| r.id == "nina.kovac") {
        r.manages.push("unassigned".into());
    }
    let friday = Utc.with_ymd_and_hms(2026, 12, 4, 16, 0, 0).unwrap();
    let id = routed_lead(
        &h.store,
        &h.playbook,
        friday,
        &[
            ("email", "hot@stadtwerke.example"),
            ("request_type", "onsite_demo"),
            ("country", "DE"),
        ],
    )
    .await;
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    let first = lead.owner().unwrap().key();
    assert!(
        first == "rep#ana.ruiz" || first == "rep#jonas.weber",
        "{first}"
    );
    let monday_13_berlin = Utc.with_ymd_and_hms(2026, 12, 7, 12, 0, 0).unwrap();
    assert_eq!(lead.sla.as_ref().unwrap().due, monday_13_berlin);
    let d = lead.routing.as_ref().unwrap();
    assert_eq!(d.follow_up_by, Some(monday_13_berlin));
    let why = d.reasons.last().unwrap();
    assert!(
        why.contains("arrived Fri 2026-12-04 17:00") && why.contains("due Mon 2026-12-07 13:00"),
        "{why}"
    );
    // The initial dialogue is due then too.
    let tasks = h.store.tasks(&id).await.unwrap();
    assert!(
        tasks.iter().any(|t| t.due_at == monday_13_berlin),
        "{tasks:?}"
    );

    // Friday 21:00 Berlin, Saturday night, Sunday, Monday 12:59: nothing.
    for t in [
        friday + Duration::hours(4),
        friday + Duration::hours(30),
        friday + Duration::hours(44),
        monday_13_berlin - Duration::minutes(1),
    ] {
        let r = h.handle(at(t)).await.unwrap();
        assert_eq!(
            (r.leads_escalated, r.leads_reassigned),
            (0, 0),
            "{t}: {r:?}"
        );
    }
    assert!(mails_to(&h, "nina.kovac@example.com").is_empty());
    // Monday 13:01 Berlin: escalated.
    let r = h
        .handle(at(monday_13_berlin + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(r.leads_escalated, 1, "{r:?}");
    // Reassigned a working day later (Tuesday 13:01 Berlin), not Monday night.
    let clock = h.store.lead(&id).await.unwrap().unwrap().sla.unwrap();
    assert_eq!(
        clock.check_at,
        Utc.with_ymd_and_hms(2026, 12, 8, 12, 1, 0).unwrap()
    );
    let r = h
        .handle(at(monday_13_berlin + Duration::hours(10)))
        .await
        .unwrap();
    assert_eq!(r.leads_reassigned, 0, "{r:?}");
    let r = h
        .handle(at(clock.check_at + Duration::minutes(1)))
        .await
        .unwrap();
    assert_eq!(r.leads_reassigned, 1, "{r:?}");
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    let second = lead.owner().unwrap().key();
    assert!(second != first && second.starts_with("rep#"), "{second}");
    assert_eq!(lead.sla.as_ref().unwrap().passed_over, vec![first.clone()]);

    // The second rep lets it run out too: escalated, then it does not go back
    // to the first but to the fallback queue (the pool has nobody else).
    let due = lead.sla.as_ref().unwrap().due;
    let r = h.handle(at(due + Duration::minutes(1))).await.unwrap();
    assert_eq!(r.leads_escalated, 1, "{r:?}");
    let check = h
        .store
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .sla
        .unwrap()
        .check_at;
    let told_before = mails_to(&h, "nina.kovac@example.com").len();
    let r = h.handle(at(check + Duration::minutes(1))).await.unwrap();
    assert_eq!(r.leads_reassigned, 1, "{r:?}");
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.owner().unwrap().key(), "queue#unassigned");
    assert_eq!(
        lead.sla.as_ref().unwrap().passed_over,
        vec![first.clone(), second.clone()]
    );
    let nina = mails_to(&h, "nina.kovac@example.com");
    assert_eq!(
        nina.len(),
        told_before + 1,
        "the fallback queue's manager hears"
    );
    assert!(
        nina.last().unwrap().text.contains("after 2 SLA breach(es)"),
        "{}",
        nina.last().unwrap().text
    );
    let moves: Vec<String> = h
        .store
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter_map(|e| match &e.event {
            Event::SlaReassigned { to, .. } => Some(to.key()),
            _ => None,
        })
        .collect();
    assert_eq!(moves, vec![second, "queue#unassigned".to_string()]);
}

/// With a limit of one reassignment, a three-rep pool still sends the lead
/// to the fallback queue at its second breach.
#[tokio::test]
async fn the_playbook_limits_sla_reassignments() {
    let mut h = handler();
    h.playbook.reminders.max_sla_reassignments = 1;
    for p in h
        .playbook
        .pools
        .iter_mut()
        .filter(|p| p.name == "emea-field")
    {
        p.reps.push("grace.lee".into());
    }
    let id = routed_lead(
        &h.store,
        &h.playbook,
        t0(),
        &[
            ("email", "limit@stadtwerke.example"),
            ("request_type", "onsite_demo"),
            ("country", "DE"),
        ],
    )
    .await;
    let mut owners = Vec::new();
    for _ in 0..2 {
        let lead = h.store.lead(&id).await.unwrap().unwrap();
        let due = lead.sla.as_ref().unwrap().due;
        h.handle(at(due + Duration::minutes(1))).await.unwrap();
        let check = h
            .store
            .lead(&id)
            .await
            .unwrap()
            .unwrap()
            .sla
            .unwrap()
            .check_at;
        let r = h.handle(at(check + Duration::minutes(1))).await.unwrap();
        assert_eq!(r.leads_reassigned, 1, "{r:?}");
        owners.push(
            h.store
                .lead(&id)
                .await
                .unwrap()
                .unwrap()
                .owner()
                .unwrap()
                .key(),
        );
    }
    assert!(owners[0].starts_with("rep#"), "{owners:?}");
    assert_eq!(owners[1], "queue#unassigned", "{owners:?}");
}

#[tokio::test]
async fn one_failing_owner_stops_neither_the_others_nor_the_escalations() {
    let h = handler();
    lead(&h, "de@stadtwerke.example", "DE").await;
    lead(&h, "us@stadtwerke.example", "US").await;
    let owners: Vec<String> = h
        .store
        .leads()
        .iter()
        .map(|l| l.owner().unwrap().key())
        .collect();
    assert!(
        owners.contains(&"rep#lena.fischer".to_string()),
        "{owners:?}"
    );
    assert_eq!(owners.len(), 2);
    let other = owners
        .iter()
        .find(|o| *o != "rep#lena.fischer")
        .unwrap()
        .clone();
    h.store.fail_open_tasks_of("rep#lena.fischer", true);
    let r = h
        .handle(at(t0() + Duration::hours(25)))
        .await
        .expect("the tick itself does not fail");
    assert_eq!(r.failed, 1, "{r:?}");
    assert_eq!((r.reminders, r.tasks_reminded), (1, 1), "{r:?}");
    assert!(
        r.leads_escalated >= 1,
        "the SLA breach still escalated: {r:?}"
    );
    assert!(!mails_to(&h, "nina.kovac@example.com").is_empty());
    assert!(mails_to(&h, "lena.fischer@example.com").is_empty());
    assert!(!other.is_empty());
    h.store.fail_open_tasks_of("rep#lena.fischer", false);
    let r = h.handle(at(t0() + Duration::hours(26))).await.unwrap();
    assert_eq!((r.reminders, r.failed), (1, 0), "{r:?}");
    assert_eq!(mails_to(&h, "lena.fischer@example.com").len(), 1);
}

/// An owner with hundreds of stale tasks (reminded and escalated long ago,
/// still open) is still reminded of a new one: the tick reads past them.
#[tokio::test]
async fn a_new_task_is_reminded_behind_600_stale_ones() {
    let h = handler();
    let id = lead(&h, "stale@stadtwerke.example", "DE").await;
    let lena = h.playbook.rep("lena.fischer").unwrap().owner();
    let long_ago = t0() - Duration::days(60);
    let stale: Vec<leadflow::domain::task::Task> = (0..600)
        .map(|i| {
            let mut t = leadflow::domain::task::Task::new(
                &id,
                leadflow::domain::task::TaskKind::KitFollowUp,
                lena.clone(),
                long_ago + Duration::minutes(i),
                long_ago,
                "an old follow-up",
            );
            t.reminded_at = Some(long_ago + Duration::days(1));
            t.escalated_at = Some(long_ago + Duration::days(2));
            t
        })
        .collect();
    h.store
        .commit(leadflow::ports::Commit {
            tasks: stale,
            ..Default::default()
        })
        .await
        .unwrap();
    // Lena's digest, Wednesday 08:00 Berlin: today's call at the top, the
    // 600 old ones counted (the first 49 listed, most recent first), not
    // the 500 oldest alone.
    let morning = Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap();
    let r = h.handle(at(morning)).await.unwrap();
    assert_eq!(r.digests, 1, "{r:?}");
    let digest = mails_to(&h, "lena.fischer@example.com");
    let text = &digest[0].text;
    assert!(text.contains("601 tasks due today or overdue"), "{text}");
    let first = text.lines().find(|l| l.starts_with("- ")).unwrap();
    assert!(first.starts_with("- Pre-qualification call"), "{first}");
    assert!(text.contains("… and 551 more"), "{text}");
    assert_eq!(text.lines().filter(|l| l.starts_with("- ")).count(), 50);
    // The lead's own pre-qualification call falls due a day in.
    let r = h.handle(at(t0() + Duration::hours(25))).await.unwrap();
    assert_eq!(r.tasks_reminded, 1, "{r:?}");
    let mail = mails_to(&h, "lena.fischer@example.com");
    assert_eq!(mail.len(), 2);
}

/// A retried old event (EventBridge retries a failed invocation later, with
/// the same time) holds what it claims from the real time: the fresh tick
/// beside it does not take a claim the retry may still be using, and the
/// escalation goes once, after the lease.
#[tokio::test]
async fn a_retried_old_tick_holds_its_claims_as_long_as_a_fresh_one() {
    let h = handler();
    lead(&h, "retried@stadtwerke.example", "DE").await;
    let due = t0() + Duration::hours(25);
    // The 25 h tick runs ten minutes late; its escalation email's fate is unknown.
    h.clock.advance(Duration::hours(25) + Duration::minutes(10));
    h.mailer
        .fail_next(leadflow::ports::MailError::Unavailable("timed out".into()));
    let r = h.handle(at(due)).await.unwrap();
    assert_eq!(r.failed, 1, "{r:?}");
    // The regular tick a minute later: the claim is still the retry's.
    h.clock.advance(Duration::minutes(1));
    let r = h.handle(at(due + Duration::minutes(11))).await.unwrap();
    assert_eq!(r.escalations, 0, "{r:?}");
    assert!(mails_to(&h, "nina.kovac@example.com").is_empty());
    // After the lease: told, once.
    h.clock.advance(Duration::minutes(9));
    let r = h.handle(at(due + Duration::minutes(20))).await.unwrap();
    assert_eq!(r.escalations, 1, "{r:?}");
    assert_eq!(mails_to(&h, "nina.kovac@example.com").len(), 1);
}

/// A tick that reaches the invocation's deadline stops, and says so; the
/// next tick does what is left.
#[tokio::test]
async fn a_tick_stops_before_its_deadline_and_the_next_one_finishes() {
    let h = handler();
    lead(&h, "late@stadtwerke.example", "DE").await;
    let r = h
        .handle_until(
            at(t0() + Duration::hours(25)),
            Some(std::time::SystemTime::now()),
        )
        .await
        .unwrap();
    assert!(r.stopped_early, "{r:?}");
    assert!(h.mailer.sent().is_empty());
    let r = h.handle(at(t0() + Duration::hours(25))).await.unwrap();
    assert!(!r.stopped_early);
    assert_eq!(r.tasks_reminded, 1, "{r:?}");
}

/// Every manager of a pool is told of a breach, each once: a failed email
/// to one leaves the others told and that one to a later tick.
#[tokio::test]
async fn each_manager_is_told_once_even_when_one_email_fails() {
    let mut h = handler();
    h.playbook.reps.push(leadflow::domain::playbook::Rep {
        id: "mark.meyer".into(),
        name: "Mark Meyer".into(),
        email: "mark.meyer@example.com".into(),
        role: leadflow::domain::playbook::Role::Manager,
        manages: vec!["emea-inside".into()],
        away: false,
        time_zone: None,
        calendar: None,
    });
    let id = lead(&h, "two@stadtwerke.example", "DE").await;
    h.mailer
        .fail_next(leadflow::ports::MailError::Unavailable("throttled".into()));
    let breach = t0() + Duration::hours(24) + Duration::minutes(1);
    let r = h.handle(at(breach)).await.unwrap();
    assert_eq!(r.failed, 1, "{r:?}");
    let told = |who: &str| mails_to(&h, who).len();
    assert_eq!(
        told("nina.kovac@example.com") + told("mark.meyer@example.com"),
        1
    );
    let escalated = |h: &Handler| {
        let h = h.store.clone();
        let id = id.clone();
        async move {
            h.history(&id)
                .await
                .unwrap()
                .into_iter()
                .filter_map(|e| match e.event {
                    Event::SlaEscalated { told, .. } => Some(told),
                    _ => None,
                })
                .collect::<Vec<_>>()
        }
    };
    assert!(
        escalated(&h).await.is_empty(),
        "not recorded until everyone is told"
    );
    // After the claims' lease: the one not told is, and only they.
    let r = h.handle(at(breach + Duration::minutes(5))).await.unwrap();
    assert_eq!((r.failed, r.leads_escalated), (0, 1), "{r:?}");
    assert_eq!(told("nina.kovac@example.com"), 1);
    assert_eq!(told("mark.meyer@example.com"), 1);
    let recorded = escalated(&h).await;
    assert_eq!(recorded.len(), 1, "{recorded:?}");
    assert_eq!(recorded[0].len(), 2, "{recorded:?}");
}

#[tokio::test]
async fn a_lead_touched_in_time_is_never_escalated() {
    let h = handler();
    let id = lead(&h, "touched@stadtwerke.example", "DE").await;
    let mut l = h.store.lead(&id).await.unwrap().unwrap();
    let lena = h.playbook.rep("lena.fischer").unwrap().clone();
    let tasks = h.store.tasks(&id).await.unwrap();
    let history = h.store.history(&id).await.unwrap();
    let report = leadflow::domain::followup::OutcomeReport::new(
        leadflow::domain::outcome::Outcome::NotReached,
    );
    let plan = leadflow::domain::followup::Plan::outcome(
        &l,
        &history,
        &tasks,
        &report,
        &lena,
        &h.playbook,
        t0() + Duration::hours(2),
    )
    .unwrap();
    let decision = plan.decision(&Default::default());
    let change = plan.finish(decision);
    let version = l.version;
    l = change.lead;
    l.version = version + 1;
    h.store
        .commit(leadflow::ports::Commit {
            lead: Some((l, leadflow::ports::Expect::Version(version))),
            events: change.events,
            tasks: change.tasks,
            ..Default::default()
        })
        .await
        .unwrap();
    let r = h.handle(at(t0() + Duration::hours(50))).await.unwrap();
    assert_eq!(r.leads_escalated + r.leads_reassigned, 0, "{r:?}");
    // Her next call, overdue past the grace, reaches her manager: at once,
    // in that tick, and once.
    assert_eq!((r.escalations, r.tasks_escalated), (1, 1), "{r:?}");
    let nina = mails_to(&h, "nina.kovac@example.com");
    assert_eq!(nina.len(), 1);
    assert!(nina[0].text.contains("OVERDUE"), "{}", nina[0].text);
    let r = h.handle(at(t0() + Duration::hours(51))).await.unwrap();
    assert_eq!(r.tasks_escalated, 0, "{r:?}");
    assert_eq!(mails_to(&h, "nina.kovac@example.com").len(), 1);
}

#[tokio::test]
async fn each_person_gets_a_digest_of_the_day_at_their_local_morning_once() {
    let h = handler();
    let id = lead(&h, "digest@stadtwerke.example", "DE").await;
    // Wednesday 08:00 in Berlin (07:00 UTC): Lena's pre-qualification call is due today.
    let morning = Utc.with_ymd_and_hms(2026, 12, 2, 7, 0, 0).unwrap();
    let r = h.handle(at(morning)).await.unwrap();
    assert_eq!(r.digests, 1, "{r:?}");
    let lena = mails_to(&h, "lena.fischer@example.com");
    assert_eq!(lena.len(), 1);
    assert!(
        lena[0].subject.starts_with("Your day"),
        "{}",
        lena[0].subject
    );
    assert!(lena[0].text.contains(id.as_str()));
    // The rest of that hour, and the next tick: no second digest.
    for m in [15, 30, 45] {
        assert_eq!(
            h.handle(at(morning + Duration::minutes(m)))
                .await
                .unwrap()
                .digests,
            0
        );
    }
    assert_eq!(mails_to(&h, "lena.fischer@example.com").len(), 1);
    // Sam (New York) gets none: nothing due for him, and it is not his morning.
    assert!(mails_to(&h, "sam.patel@example.com").is_empty());
}

/// The digest keeps the person's calendar: none on Christmas Eve (a holiday
/// of Lena's emea calendar), the next working morning as usual.
#[tokio::test]
async fn no_digest_on_a_holiday_of_the_persons_calendar() {
    let h = handler();
    lead(&h, "xmas@stadtwerke.example", "DE").await;
    // Thursday 2026-12-24, 08:00 Berlin: the call is overdue, but it is a holiday.
    let eve = Utc.with_ymd_and_hms(2026, 12, 24, 7, 0, 0).unwrap();
    assert_eq!(h.handle(at(eve)).await.unwrap().digests, 0);
    // Monday 2026-12-28, 08:00 Berlin: the digest.
    let monday = Utc.with_ymd_and_hms(2026, 12, 28, 7, 0, 0).unwrap();
    assert_eq!(h.handle(at(monday)).await.unwrap().digests, 1);
}

#[test]
fn a_tick_is_one_line_of_counts_zeros_included() {
    let report = reminders_report();
    let doc = reminders::tick_metrics(&report)
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(
        emf_shape(&doc),
        (
            sets(&[&[]]),
            counts(&[
                ("SlaBreaches", 3),
                ("Reassigned", 1),
                ("OverdueTasks", 2),
                ("TasksReminded", 0),
                ("Digests", 0),
                ("ReminderFailures", 0)
            ])
        )
    );
}

fn reminders_report() -> leadflow::app::reminders::TickReport {
    leadflow::app::reminders::TickReport {
        leads_escalated: 3,
        leads_reassigned: 1,
        tasks_escalated: 2,
        ..Default::default()
    }
}
