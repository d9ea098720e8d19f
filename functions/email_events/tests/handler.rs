//! SES events with in-memory ports: suppression, clicks that score, duplicates, poison.

use aws_lambda_events::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use email_events::EmailEvents;
use leadflow::domain::lead::Event;
use leadflow::ports::prelude::*;
use leadflow::ports::{Clock, SuppressionReason};
use leadflow::testing::{routed_lead, FixedClock, MemoryBatchQueues, MemoryPublisher, MemoryStore};
use leadflow::{EmailAddress, LeadId, Playbook};
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use serde_json::{json, Value};

type Handler = EmailEvents<MemoryStore, MemoryPublisher, FixedClock, MemoryBatchQueues>;

fn handler() -> Handler {
    EmailEvents {
        store: MemoryStore::new(),
        publisher: MemoryPublisher::new(),
        clock: FixedClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 15, 0, 0).unwrap()),
        queues: MemoryBatchQueues::new(),
        playbook: Playbook::default_playbook().unwrap(),
    }
}

async fn lead(h: &Handler, fields: &[(&str, &str)]) -> LeadId {
    routed_lead(&h.store, &h.playbook, h.clock.now(), fields).await
}

/// SQS records, each SNS's envelope around an SES event.
fn sqs(events: &[Value]) -> SqsEvent {
    let records: Vec<Value> = events
        .iter()
        .enumerate()
        .map(|(i, e)| {
            let envelope = json!({"Type": "Notification", "MessageId": format!("sns-{i}"), "Message": e.to_string()});
            json!({"messageId": format!("m{i}"), "receiptHandle": "rh", "body": envelope.to_string(), "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"})
        })
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn bounce(to: &str, kind: &str) -> Value {
    json!({"eventType": "Bounce", "mail": {"messageId": format!("b-{to}-{kind}"), "destination": [to]},
           "bounce": {"bounceType": kind, "bouncedRecipients": [{"emailAddress": to}], "timestamp": "2026-12-01T15:00:00Z"}})
}

fn click(to: &str, id: &str) -> Value {
    json!({"eventType": "Click", "mail": {"messageId": id, "destination": [to]},
           "click": {"link": "https://example.com/kits/information", "timestamp": format!("2026-12-01T15:00:0{}Z", id.len() % 10)}})
}

#[tokio::test]
async fn a_permanent_bounce_and_a_complaint_suppress_and_a_transient_bounce_does_not() {
    let h = handler();
    lead(&h, &[("email", "gone@example.com")]).await;
    let complaint = json!({"eventType": "Complaint", "mail": {"messageId": "c1", "destination": ["angry@example.com"]},
                           "complaint": {"complainedRecipients": [{"emailAddress": "angry@example.com"}]}});
    let resp = h
        .handle(
            sqs(&[
                bounce("gone@example.com", "Permanent"),
                bounce("busy@example.com", "Transient"),
                complaint,
            ]),
            None,
        )
        .await;
    assert!(resp.batch_item_failures.is_empty());
    let reason = |e: &str| {
        let h = &h;
        let e = EmailAddress::parse(e).unwrap();
        async move { h.store.suppression(&e).await.unwrap().map(|s| s.reason) }
    };
    assert_eq!(
        reason("gone@example.com").await,
        Some(SuppressionReason::HardBounce)
    );
    assert_eq!(
        reason("angry@example.com").await,
        Some(SuppressionReason::Complaint)
    );
    assert_eq!(reason("busy@example.com").await, None);
    let id = h
        .store
        .lead_id_by_email(&EmailAddress::parse("gone@example.com").unwrap())
        .await
        .unwrap()
        .unwrap();
    let history = h.store.history(&id).await.unwrap();
    assert!(history
        .iter()
        .any(|e| matches!(&e.event, Event::EmailFeedback { kind, .. } if kind == "bounce")));
}

#[tokio::test]
async fn a_click_scores_once_however_often_it_is_delivered() {
    let h = handler();
    let id = lead(&h, &[("email", "clicker@example.com")]).await;
    let event = click("clicker@example.com", "msg-1");
    for _ in 0..3 {
        h.handle(sqs(std::slice::from_ref(&event)), None).await;
    }
    let clicks = h
        .store
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter(|e| matches!(&e.event, Event::Activity { kind, .. } if kind == "email_click"))
        .count();
    assert_eq!(clicks, 1);
}

#[tokio::test]
async fn clicks_that_make_a_nurtured_lead_sales_ready_hand_it_to_inside_sales_at_once() {
    let h = handler();
    let id = lead(
        &h,
        &[
            ("email", "warm@utility.example"),
            ("country", "US"),
            ("timeframe", "over_12_months"),
            ("authority", "influencer"),
        ],
    )
    .await;
    assert!(h.store.lead(&id).await.unwrap().unwrap().nurture.is_some());
    let events: Vec<Value> = (0..20)
        .map(|i| click("warm@utility.example", &format!("msg-{i}")))
        .collect();
    let resp = h.handle(sqs(&events), None).await;
    assert!(resp.batch_item_failures.is_empty());
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    assert!(lead.nurture.is_none(), "out of the series");
    assert_eq!(lead.routing.unwrap().owner.key(), "rep#sam.patel");
    assert!(h
        .store
        .tasks(&id)
        .await
        .unwrap()
        .iter()
        .any(|t| t.is_open()));
}

/// Interest is a person's click. A mail scanner opens every link as the mail
/// arrives, and the unsubscribe link is the opposite of interest: both are
/// kept in the history, neither scores nor hands the lead to sales.
#[tokio::test]
async fn scanner_clicks_and_unsubscribe_clicks_never_score() {
    let h = handler();
    let id = lead(
        &h,
        &[
            ("email", "scanned@utility.example"),
            ("country", "US"),
            ("timeframe", "over_12_months"),
            ("authority", "influencer"),
        ],
    )
    .await;
    assert!(h.store.lead(&id).await.unwrap().unwrap().nurture.is_some());
    let mut events: Vec<Value> = (0..20)
        .map(|i| {
            json!({"eventType": "Click",
                   "mail": {"messageId": format!("scan-{i}"), "destination": ["scanned@utility.example"],
                            "timestamp": "2026-12-01T15:00:00.000Z"},
                   "click": {"link": "https://example.com/kits/information", "timestamp": "2026-12-01T15:00:04.000Z"}})
        })
        .collect();
    events.extend((0..20).map(|i| {
        json!({"eventType": "Click",
               "mail": {"messageId": format!("unsub-{i}"), "destination": ["scanned@utility.example"],
                        "timestamp": "2026-12-01T15:00:00.000Z"},
               "click": {"link": "https://api.example.com/unsubscribe?t=abc", "timestamp": "2026-12-01T16:30:00.000Z"}})
    }));
    let resp = h.handle(sqs(&events), None).await;
    assert!(resp.batch_item_failures.is_empty());
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    assert!(
        lead.nurture.is_some(),
        "still nurtured: no person showed interest"
    );
    let kinds: Vec<String> = h
        .store
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::Activity { kind, .. } => Some(kind),
            _ => None,
        })
        .collect();
    assert_eq!(
        kinds.iter().filter(|k| *k == "email_click_scanner").count(),
        20
    );
    assert_eq!(
        kinds
            .iter()
            .filter(|k| *k == "email_click_unsubscribe")
            .count(),
        20
    );
    assert!(!kinds.iter().any(|k| k == "email_click"), "{kinds:?}");
}

/// A scanner that waits before opening the links (past the first minute)
/// still opens all of a mail's links at once: clicks on different links of
/// one mail within seconds are a scanner's, the first of them too; a person
/// clicking one link of each mail still scores.
#[tokio::test]
async fn all_links_of_a_mail_clicked_at_once_are_a_scanner_not_interest() {
    let h = handler();
    let id = lead(
        &h,
        &[
            ("email", "burst@utility.example"),
            ("country", "US"),
            ("timeframe", "over_12_months"),
            ("authority", "influencer"),
        ],
    )
    .await;
    let links = [
        "https://example.com/kits/information",
        "https://example.com/case-studies/grid",
        "https://example.com/pricing",
        "https://example.com/demo/schedule",
    ];
    // Twenty mails, each with all four links opened within three seconds,
    // ten minutes after it was sent.
    let events: Vec<Value> = (0..20)
        .flat_map(|i| {
            links.iter().enumerate().map(move |(n, link)| {
                json!({"eventType": "Click",
                       "mail": {"messageId": format!("burst-{i}"), "destination": ["burst@utility.example"],
                                "timestamp": "2026-12-01T15:00:00.000Z"},
                       "click": {"link": link, "timestamp": format!("2026-12-01T15:10:0{n}.000Z")}})
            })
        })
        .collect();
    for e in events {
        let resp = h.handle(sqs(&[e]), None).await;
        assert!(resp.batch_item_failures.is_empty());
    }
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    assert!(
        lead.nurture.is_some(),
        "still nurtured: no person showed interest"
    );
    let history = h.store.history(&id).await.unwrap();
    let now = h.clock.now();
    let s = leadflow::domain::scoring::score(&lead, &history, &h.playbook, now);
    assert!(
        !s.summary().contains("email click"),
        "a scanner's clicks never score: {}",
        s.summary()
    );
    let kinds: Vec<&str> = history
        .iter()
        .filter_map(|e| match &e.event {
            Event::Activity { kind, .. } => Some(kind.as_str()),
            _ => None,
        })
        .collect();
    // The first click of each burst was recorded as a person's before the
    // second came; scoring counts it as the scanner's.
    assert_eq!(kinds.iter().filter(|k| **k == "email_click").count(), 20);
    assert_eq!(
        kinds
            .iter()
            .filter(|k| **k == "email_click_scanner")
            .count(),
        60
    );
    // One link of one mail, clicked by a person: it scores.
    let resp = h
        .handle(
            sqs(&[json!({"eventType": "Click",
                "mail": {"messageId": "read-1", "destination": ["burst@utility.example"],
                         "timestamp": "2026-12-01T15:00:00.000Z"},
                "click": {"link": links[0], "timestamp": "2026-12-01T17:00:00.000Z"}})]),
            None,
        )
        .await;
    assert!(resp.batch_item_failures.is_empty());
    let history = h.store.history(&id).await.unwrap();
    let s = leadflow::domain::scoring::score(&lead, &history, &h.playbook, now);
    assert!(s.summary().contains("1× email click +3"), "{}", s.summary());
}

#[tokio::test]
async fn a_poison_message_goes_to_the_dead_letter_queue_alone() {
    let h = handler();
    let mut event = sqs(&[bounce("x@example.com", "Permanent")]);
    let mut poison = event.records[0].clone();
    poison.message_id = Some("poison".into());
    poison.body = Some("{\"Message\": \"not json\"}".into());
    event.records.push(poison);
    let resp = h.handle(event, None).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(h.queues.buried().len(), 1);
    assert!(h
        .store
        .suppression(&EmailAddress::parse("x@example.com").unwrap())
        .await
        .unwrap()
        .is_some());
}

#[test]
fn each_event_counts_once_under_its_kind() {
    use leadflow::app::email_events::Handled;
    let bounce = Handled {
        suppressed: 1,
        recorded: 1,
        ..Default::default()
    };
    let doc = email_events::event_metrics("Bounce", &bounce)
        .unwrap()
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(
        emf_shape(&doc),
        (
            sets(&[&[]]),
            counts(&[
                ("Bounces", 1),
                ("AddressesSuppressed", 1),
                ("SalesReadyByClick", 0)
            ])
        )
    );
    let click = Handled {
        recorded: 1,
        sales_ready: 1,
        ..Default::default()
    };
    let doc = email_events::event_metrics("Click", &click)
        .unwrap()
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(doc["Clicks"], 1);
    assert_eq!(doc["SalesReadyByClick"], 1);
    // A redelivery counts nothing.
    let again = Handled {
        duplicates: 1,
        ..Default::default()
    };
    assert!(email_events::event_metrics("Complaint", &again).is_none());
}
