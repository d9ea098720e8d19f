//! The nurture tick with in-memory ports and injected time.

use aws_lambda_events::eventbridge::EventBridgeEvent;
use chrono::{DateTime, Duration, TimeZone, Utc};
use leadflow::domain::lead::{EmailKind, Event};
use leadflow::links::{ActionLinks, LinkKey};
use leadflow::ports::prelude::*;
use leadflow::ports::{Clock, Suppression, SuppressionReason};
use leadflow::testing::{routed_lead, FixedClock, MemoryMailer, MemoryPublisher, MemoryStore};
use leadflow::{EmailAddress, LeadId, Playbook};
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use nurture::Nurture;

type Handler = Nurture<MemoryStore, MemoryMailer, MemoryPublisher, FixedClock>;

/// Tuesday 2026-12-01, 09:00 UTC (04:00 in New York).
fn t0() -> DateTime<Utc> {
    Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()
}

fn handler_with(playbook: Playbook) -> Handler {
    Nurture {
        store: MemoryStore::new(),
        mailer: MemoryMailer::new(),
        publisher: MemoryPublisher::new(),
        clock: FixedClock::at(t0()),
        playbook,
        links: Some(ActionLinks {
            key: LinkKey::new(&[9u8; 32]).unwrap(),
            base_url: "https://api.example.com".into(),
        }),
    }
}

fn handler() -> Handler {
    handler_with(Playbook::default_playbook().unwrap())
}

async fn lead(h: &Handler, fields: &[(&str, &str)]) -> LeadId {
    routed_lead(&h.store, &h.playbook, h.clock.now(), fields).await
}

/// A far-off American prospect: routed to the nurture program.
async fn far_off(h: &Handler, email: &str) -> LeadId {
    lead(
        h,
        &[
            ("email", email),
            ("country", "US"),
            ("timeframe", "over_12_months"),
            ("authority", "influencer"),
            ("interest", "grid analytics"),
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

fn marketing(h: &Handler, to: &str) -> Vec<leadflow::ports::OutgoingEmail> {
    h.mailer
        .sent()
        .into_iter()
        .filter(|m| m.to == to && !m.headers.is_empty())
        .collect()
}

#[tokio::test]
async fn a_far_off_lead_gets_its_series_on_business_days_inside_its_local_window_once() {
    let h = handler();
    let id = far_off(&h, "far@utility.example").await;
    let e = h
        .store
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .nurture
        .expect("enrolled");
    assert_eq!(e.series, "time_specific_continuum");
    // Two business days later, at 04:00 in New York: deferred to 09:00 there.
    let thursday = Utc.with_ymd_and_hms(2026, 12, 3, 9, 0, 0).unwrap();
    assert!(
        h.handle(at(thursday - Duration::hours(1)))
            .await
            .unwrap()
            .sent
            == 0
    );
    let r = h.handle(at(thursday + Duration::minutes(1))).await.unwrap();
    assert_eq!(r.deferred_window, 1, "{r:?}");
    assert!(h.mailer.sent().is_empty());
    let local_nine = Utc.with_ymd_and_hms(2026, 12, 3, 14, 0, 0).unwrap();
    assert_eq!(
        h.store
            .lead(&id)
            .await
            .unwrap()
            .unwrap()
            .nurture
            .unwrap()
            .next_at,
        local_nine
    );
    // At 09:00 New York time it goes, with the unsubscribe headers, link and postal address.
    let (a, b) = tokio::join!(
        h.handle(at(local_nine)),
        h.handle(at(local_nine + Duration::seconds(1)))
    );
    assert_eq!(
        a.unwrap().sent + b.unwrap().sent,
        1,
        "overlapping ticks send once"
    );
    let sent = marketing(&h, "far@utility.example");
    assert_eq!(sent.len(), 1);
    let m = &sent[0];
    assert!(m.subject.contains("grid analytics"), "{}", m.subject);
    assert!(
        m.text.contains("Musterstraße 1")
            && m.text.contains("https://api.example.com/unsubscribe?e="),
        "{}",
        m.text
    );
    // SES does not track the unsubscribe link: its click is no interest.
    assert!(
        m.html
            .contains(r#"<a ses:no-track href="https://api.example.com/unsubscribe?e="#),
        "{}",
        m.html
    );
    let lu = m
        .headers
        .iter()
        .find(|(k, _)| k == "List-Unsubscribe")
        .unwrap();
    assert!(
        lu.1.contains("<https://api.example.com/unsubscribe?")
            && lu.1.contains("<mailto:unsubscribe@example.com"),
        "{lu:?}"
    );
    assert!(m.headers.contains(&(
        "List-Unsubscribe-Post".into(),
        "List-Unsubscribe=One-Click".into()
    )));
    let history = h.store.history(&id).await.unwrap();
    assert!(history.iter().any(|e| matches!(
        &e.event,
        Event::EmailSent {
            kind: EmailKind::Nurture,
            ..
        }
    )));
    // The next step is 8 business days on.
    let e = h.store.lead(&id).await.unwrap().unwrap().nurture.unwrap();
    assert_eq!(
        (e.step, e.next_at),
        (1, Utc.with_ymd_and_hms(2026, 12, 15, 14, 0, 0).unwrap())
    );
}

#[tokio::test]
async fn the_frequency_cap_defers_a_step_and_never_drops_it() {
    let mut pb = Playbook::default_playbook().unwrap();
    pb.nurture.frequency_cap.max = 1;
    for s in &mut pb.nurture.series {
        for step in &mut s.steps {
            step.wait_days = 1;
        }
    }
    let h = handler_with(pb);
    let id = far_off(&h, "capped@utility.example").await;
    let wed = Utc.with_ymd_and_hms(2026, 12, 2, 15, 0, 0).unwrap();
    assert_eq!(h.handle(at(wed)).await.unwrap().sent, 1);
    // The next step is due a business day later, but one email a week is the cap.
    let r = h.handle(at(wed + Duration::days(1))).await.unwrap();
    assert_eq!((r.sent, r.deferred_cap), (0, 1), "{r:?}");
    let e = h.store.lead(&id).await.unwrap().unwrap().nurture.unwrap();
    assert_eq!(e.step, 1, "deferred, not skipped");
    assert!(e.next_at >= wed + Duration::days(7));
    let r = h.handle(at(e.next_at)).await.unwrap();
    assert_eq!(r.sent, 1, "{r:?}");
}

/// The cap is the person's, not the series': a lead that leaves its series
/// and joins one again the next day is still under the week's cap.
#[tokio::test]
async fn joining_a_series_again_does_not_restart_the_frequency_cap() {
    let mut pb = Playbook::default_playbook().unwrap();
    pb.nurture.frequency_cap.max = 1;
    let h = handler_with(pb);
    let id = far_off(&h, "again@utility.example").await;
    // Thursday, 09:00 in New York: the first step goes.
    let thu = Utc.with_ymd_and_hms(2026, 12, 3, 14, 0, 0).unwrap();
    assert_eq!(h.handle(at(thu)).await.unwrap().sent, 1);
    // Enrolled afresh (a new series, from its first step), due at once.
    let mut lead = h.store.lead(&id).await.unwrap().unwrap();
    let version = lead.version;
    let next_day = thu + Duration::days(1);
    let e = lead.nurture.as_mut().unwrap();
    e.step = 0;
    e.enrolled_at = next_day;
    e.next_at = next_day;
    e.sent.clear();
    lead.version += 1;
    h.store
        .commit(leadflow::ports::Commit {
            lead: Some((lead, leadflow::ports::Expect::Version(version))),
            ..Default::default()
        })
        .await
        .unwrap();
    let r = h.handle(at(next_day)).await.unwrap();
    assert_eq!((r.sent, r.deferred_cap), (0, 1), "{r:?}");
    assert_eq!(marketing(&h, "again@utility.example").len(), 1);
}

#[tokio::test]
async fn an_unsubscribe_a_bounce_or_a_complaint_ends_the_series_and_sends_nothing() {
    for reason in [
        SuppressionReason::Unsubscribed,
        SuppressionReason::HardBounce,
        SuppressionReason::Complaint,
    ] {
        let h = handler();
        let email = "gone@utility.example";
        let id = far_off(&h, email).await;
        h.store
            .suppress(
                &EmailAddress::parse(email).unwrap(),
                &Suppression {
                    reason,
                    at: t0(),
                    detail: None,
                },
            )
            .await
            .unwrap();
        let r = h
            .handle(at(Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap()))
            .await
            .unwrap();
        assert_eq!((r.sent, r.exited), (0, 1), "{reason:?}");
        assert!(h.store.lead(&id).await.unwrap().unwrap().nurture.is_none());
        assert!(h.mailer.sent().is_empty());
    }
}

#[tokio::test]
async fn where_opt_in_is_the_law_only_a_lead_who_consented_is_nurtured() {
    let h = handler();
    let de = [
        ("country", "DE"),
        ("timeframe", "over_12_months"),
        ("authority", "influencer"),
    ];
    let mut without = vec![("email", "ohne@stadtwerke.example")];
    without.extend(de);
    let id = lead(&h, &without).await;
    let l = h.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(l.routing.unwrap().route.as_str(), "need_nurturing");
    assert!(l.nurture.is_none(), "no consent in Germany: no series");
    let mut with = vec![
        ("email", "mit@stadtwerke.example"),
        ("consent_email", "true"),
    ];
    with.extend(de);
    let id = lead(&h, &with).await;
    assert!(h.store.lead(&id).await.unwrap().unwrap().nurture.is_some());
}

#[tokio::test]
async fn a_lead_whose_score_crosses_the_threshold_goes_back_to_inside_sales_with_a_task() {
    let h = handler();
    let id = far_off(&h, "hot-now@utility.example").await;
    // A burst of clicks and downloads (behaviour points).
    let events: Vec<_> = (0..20)
        .map(|i| {
            leadflow::domain::lead::HistoryEntry::new(
                &id,
                t0() + Duration::minutes(i),
                Event::Activity {
                    kind: "download".into(),
                    detail: None,
                    message_id: None,
                    occurred_at: None,
                },
            )
        })
        .collect();
    h.store
        .commit(leadflow::ports::Commit {
            events,
            ..Default::default()
        })
        .await
        .unwrap();
    let r = h
        .handle(at(Utc.with_ymd_and_hms(2026, 12, 3, 15, 0, 0).unwrap()))
        .await
        .unwrap();
    assert_eq!(r.sales_ready, 1, "{r:?}");
    let l = h.store.lead(&id).await.unwrap().unwrap();
    assert!(l.nurture.is_none());
    let d = l.routing.unwrap();
    assert_eq!(d.route.as_str(), "high_potential");
    assert_eq!(d.owner.key(), "rep#sam.patel", "Americas inside sales");
    assert!(
        d.reasons.iter().any(|r| r.contains("sales-ready")),
        "{:?}",
        d.reasons
    );
    let tasks = h.store.tasks(&id).await.unwrap();
    assert!(tasks
        .iter()
        .any(|t| t.is_open() && t.owner.key() == "rep#sam.patel"));
    assert!(marketing(&h, "hot-now@utility.example").is_empty());
    assert_eq!(h.publisher.take().len(), 1, "Sam is sent the package");
}

#[tokio::test]
async fn not_now_runs_its_series_with_a_periodic_call_from_inside_sales() {
    let h = handler();
    let id = lead(
        &h,
        &[
            ("email", "later@utility.example"),
            ("country", "US"),
            ("request_type", "info"),
        ],
    )
    .await;
    // Sam (Americas inside sales) reports "no interest at this time".
    let sam = h.playbook.rep("sam.patel").unwrap().clone();
    let l = h.store.lead(&id).await.unwrap().unwrap();
    let tasks = h.store.tasks(&id).await.unwrap();
    let history = h.store.history(&id).await.unwrap();
    let report =
        leadflow::domain::followup::OutcomeReport::new(leadflow::domain::outcome::Outcome::NotNow);
    let plan = leadflow::domain::followup::Plan::outcome(
        &l,
        &history,
        &tasks,
        &report,
        &sam,
        &h.playbook,
        t0(),
    )
    .unwrap();
    let decision = plan_decision(&plan);
    let change = plan.finish(decision);
    let mut updated = change.lead;
    updated.version = l.version + 1;
    h.store
        .commit(leadflow::ports::Commit {
            lead: Some((updated, leadflow::ports::Expect::Version(l.version))),
            events: change.events,
            tasks: change.tasks,
            ..Default::default()
        })
        .await
        .unwrap();
    let e = h
        .store
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .nurture
        .expect("in the not_now series");
    assert_eq!(e.series, "not_now");
    // Run ten weeks of ticks, one a day at 15:00 UTC (10:00 in New York).
    for day in 1..70 {
        h.handle(at(t0() + Duration::days(day) + Duration::hours(6)))
            .await
            .unwrap();
    }
    assert_eq!(
        marketing(&h, "later@utility.example").len(),
        3,
        "three emails"
    );
    let calls: Vec<_> = h
        .store
        .tasks(&id)
        .await
        .unwrap()
        .into_iter()
        .filter(|t| t.reason.contains("nurture series not_now"))
        .collect();
    assert_eq!(calls.len(), 1, "the periodic call");
    assert_eq!(calls[0].owner.key(), "rep#sam.patel");
    // Every step went out on a business day.
    for entry in h.store.history(&id).await.unwrap() {
        if let Event::EmailSent {
            kind: EmailKind::Nurture,
            ..
        } = entry.event
        {
            let day = chrono::Datelike::weekday(&entry.at);
            assert!(
                !matches!(day, chrono::Weekday::Sat | chrono::Weekday::Sun),
                "{}",
                entry.at
            );
        }
    }
}

fn plan_decision(plan: &leadflow::domain::followup::Plan<'_>) -> leadflow::Decision {
    plan.decision(&Default::default())
}

#[tokio::test]
async fn a_step_can_wait_for_weeks_before_the_leads_budget_cycle() {
    let h = handler();
    let id = lead(
        &h,
        &[
            ("email", "budget@utility.example"),
            ("country", "US"),
            ("timeframe", "over_12_months"),
            ("authority", "influencer"),
            ("budget_cycle_month", "march"),
        ],
    )
    .await;
    // Walk the first two steps, inside New York's window.
    for _ in 0..2 {
        let due = h
            .store
            .lead(&id)
            .await
            .unwrap()
            .unwrap()
            .nurture
            .unwrap()
            .next_at;
        let t = leadflow::domain::nurture::next_window(
            &h.store.lead(&id).await.unwrap().unwrap(),
            &h.playbook,
            due,
        );
        assert_eq!(
            h.handle(at(t + Duration::minutes(1))).await.unwrap().sent,
            1
        );
    }
    // The check-in is due six weeks before 1 March 2027 (Mon 18 Jan 2027).
    let e = h.store.lead(&id).await.unwrap().unwrap().nurture.unwrap();
    assert_eq!(e.step, 2);
    assert_eq!(
        e.next_at,
        Utc.with_ymd_and_hms(2027, 1, 18, 9, 0, 0).unwrap()
    );
}

#[tokio::test]
async fn a_new_response_that_makes_a_nurtured_lead_sales_ready_leaves_the_series_at_once() {
    let h = handler();
    let id = far_off(&h, "back@utility.example").await;
    assert!(h.store.lead(&id).await.unwrap().unwrap().nurture.is_some());
    // They come back with budget, authority and need: an opportunity now.
    lead(
        &h,
        &[
            ("email", "back@utility.example"),
            ("country", "US"),
            ("budget", "defined"),
            ("authority", "decision_maker"),
            ("need", "established"),
        ],
    )
    .await;
    let l = h.store.lead(&id).await.unwrap().unwrap();
    assert!(l.nurture.is_none(), "left the series at once");
    let d = l.routing.unwrap();
    assert!(
        d.route.value() >= leadflow::Route::HighPotential.value(),
        "{:?}",
        d.route
    );
    assert!(h
        .store
        .history(&id)
        .await
        .unwrap()
        .iter()
        .any(|e| matches!(&e.event, Event::NurtureExited { .. })));
}

#[test]
fn a_tick_is_one_line_of_counts() {
    let report = leadflow::app::nurture::NurtureReport {
        sent: 4,
        deferred_window: 1,
        deferred_cap: 2,
        ..Default::default()
    };
    let doc = nurture::tick_metrics(&report)
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(
        emf_shape(&doc),
        (
            sets(&[&[]]),
            counts(&[
                ("NurtureEmailsSent", 4),
                ("NurtureCalls", 0),
                ("NurtureDeferred", 3),
                ("NurtureExits", 0),
                ("NurtureSalesReady", 0),
                ("NurtureFailures", 0)
            ])
        )
    );
}
