//! The router handler with in-memory ports.

use aws_lambda_events::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use leadflow::app::intake::{submit, Submission};
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::Event;
use leadflow::messages::{FulfillPart, FulfillRequest, RouteRequest};
use leadflow::ports::prelude::*;
use leadflow::ports::Clock;
use leadflow::testing::{FixedClock, MemoryBatchQueues, MemoryPublisher, MemoryStore};
use leadflow::{Playbook, Route, Stage};
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use router::Router;
use serde_json::json;

type Handler = Router<MemoryStore, MemoryPublisher, FixedClock, MemoryBatchQueues>;

fn handler() -> Handler {
    Router {
        store: MemoryStore::new(),
        publisher: MemoryPublisher::new(),
        clock: FixedClock::at(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()),
        queues: MemoryBatchQueues::new(),
        playbook: Playbook::default_playbook().unwrap(),
    }
}

/// Record an inquiry the way intake does; returns the routing message it published.
async fn inquire(h: &Handler, fields: &[(&str, &str)]) -> RouteRequest {
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let inquiry = Inquiry::parse(&fields, &h.playbook.bant).unwrap();
    let sub = Submission::new(inquiry);
    submit(&h.store, &h.publisher, h.clock.now(), sub)
        .await
        .unwrap();
    let msg = h.publisher.take().pop().unwrap();
    serde_json::from_str(&msg.body).unwrap()
}

fn sqs(bodies: &[(&str, String)]) -> SqsEvent {
    serde_json::from_value(json!({
        "Records": bodies.iter().map(|(id, body)| json!({
            "messageId": id, "receiptHandle": format!("rh-{id}"), "body": body,
            "attributes": {"ApproximateReceiveCount": "1"}, "messageAttributes": {},
            "eventSource": "aws:sqs", "eventSourceARN": "arn:aws:sqs:us-east-1:123456789012:routing", "awsRegion": "us-east-1"
        })).collect::<Vec<_>>()
    }))
    .unwrap()
}

#[tokio::test]
async fn routes_a_lead_records_why_and_hands_it_to_fulfillment() {
    let h = handler();
    let req = inquire(
        &h,
        &[
            ("email", "ana@kunde.de"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
            ("budget", "defined_fits"),
            ("authority", "decision_maker"),
            ("need", "established"),
            ("timeframe", "within_3_months"),
        ],
    )
    .await;
    let resp = h
        .handle(sqs(&[("m1", serde_json::to_string(&req).unwrap())]))
        .await;
    assert!(resp.batch_item_failures.is_empty());

    let lead = h.store.lead(&req.lead_id).await.unwrap().unwrap();
    let d = lead.routing.as_ref().unwrap();
    assert_eq!(d.stage, Stage::QualifiedOpportunity);
    assert_eq!(d.route, Route::Hot);
    assert_eq!(d.owner.display_name(), "Ana Ruiz");
    assert_eq!(
        d.reasons,
        [
            "Qualified opportunity: 4 of 4 B.A.N.T. criteria met — budget defined_fits (met), authority decision_maker (met), \
             need established (met), timeframe within_3_months (met)",
            "score 125 (explicit 120, fit 0, behaviour 5): budget defined_fits +25, need established +25, \
             timeframe within_3_months +25, request onsite_demo +25",
            "hot: on-site demo requested, field sales at once → sales now",
            "EMEA field sales: territory DE → pool emea-field → round-robin → Ana Ruiz; \
             follow up by 2026-11-23 13:00 UTC (hot SLA 4 business h, emea calendar, \
             09:00–17:00 Europe/Madrid; arrived Mon 2026-11-23 10:00 Europe/Madrid, \
             due Mon 2026-11-23 14:00 Europe/Madrid)",
        ]
    );
    assert_eq!(d.score.total, 125);
    // Counted once, by route, by stage and in all.
    let doc = router::routed(d).document(h.clock.now()).unwrap();
    assert_eq!(
        emf_shape(&doc),
        (
            sets(&[&["Route"], &["Stage"], &[]]),
            counts(&[("LeadsRouted", 1)])
        )
    );
    assert_eq!(doc["Route"], "hot");
    assert_eq!(doc["Stage"], "qualified_opportunity");
    assert_eq!(
        d.follow_up_by.unwrap().to_rfc3339(),
        "2026-11-23T13:00:00+00:00"
    );
    let history = h.store.history(&req.lead_id).await.unwrap();
    assert!(matches!(
        history.last().unwrap().event,
        Event::Routed { .. }
    ));

    // The prospect's kit at once; the owner's package after the playbook's delay.
    let out = h.publisher.published();
    let parts: Vec<(FulfillPart, u32)> = out
        .iter()
        .map(|m| {
            let f: FulfillRequest = serde_json::from_str(&m.body).unwrap();
            assert_eq!(
                (f.lead_id, f.response_id),
                (req.lead_id.clone(), req.response_id.clone())
            );
            (f.part, m.delay_seconds)
        })
        .collect();
    assert_eq!(
        parts,
        [
            (FulfillPart::Prospect, 0),
            (
                FulfillPart::Owner,
                h.playbook.repeats.owner_notice_delay_seconds
            )
        ]
    );
}

#[tokio::test]
async fn a_duplicate_delivery_routes_once() {
    let h = handler();
    let req = inquire(
        &h,
        &[
            ("email", "dup@example.com"),
            ("country", "US"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    let body = serde_json::to_string(&req).unwrap();
    h.handle(sqs(&[("m1", body.clone())])).await;
    let resp = h
        .handle(sqs(&[("m1", body.clone()), ("m1-again", body)]))
        .await;
    assert!(resp.batch_item_failures.is_empty());
    let routed = h
        .store
        .history(&req.lead_id)
        .await
        .unwrap()
        .into_iter()
        .filter(|e| matches!(e.event, Event::Routed { .. }))
        .count();
    assert_eq!(routed, 1);
    assert_eq!(
        h.publisher.published().len(),
        2,
        "one fulfillment hand-off (prospect and owner)"
    );
    assert_eq!(
        h.store.pool_state("amer-field", &[]).await.unwrap().cursor,
        1,
        "round-robin advanced once"
    );
}

#[tokio::test]
async fn one_bad_message_never_fails_its_batch_mates() {
    let h = handler();
    let good = inquire(&h, &[("email", "good@example.com"), ("country", "FR")]).await;
    let unknown = RouteRequest {
        lead_id: leadflow::LeadId::generate(),
        response_id: leadflow::ResponseId::generate(),
    };
    let resp = h
        .handle(sqs(&[
            ("bad-json", "{not json".into()),
            ("wrong-shape", json!({"lead": "x"}).to_string()),
            ("unknown-lead", serde_json::to_string(&unknown).unwrap()),
            ("good", serde_json::to_string(&good).unwrap()),
        ]))
        .await;
    let failed: Vec<_> = resp
        .batch_item_failures
        .iter()
        .map(|f| f.item_identifier.as_str())
        .collect();
    // None can ever succeed: straight to the dead-letter queue, each with its
    // reason, instead of five failed receives first.
    assert!(failed.is_empty(), "{failed:?}");
    let buried = h.queues.buried();
    assert_eq!(buried.len(), 3);
    assert_eq!(buried[0].0, "{not json");
    assert!(buried[0].1.contains("malformed"), "{}", buried[0].1);
    assert!(buried[2].1.contains("does not exist"), "{}", buried[2].1);
    assert!(h
        .store
        .lead(&good.lead_id)
        .await
        .unwrap()
        .unwrap()
        .routing
        .is_some());
}

#[tokio::test]
async fn a_transient_store_fault_fails_only_that_message_and_the_retry_routes_it() {
    let h = handler();
    let req = inquire(
        &h,
        &[
            ("email", "t@example.com"),
            ("country", "GB"),
            ("request_type", "demo"),
        ],
    )
    .await;
    h.store.fail_next_commits(1);
    let body = serde_json::to_string(&req).unwrap();
    let resp = h.handle(sqs(&[("m1", body.clone())])).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert!(
        h.store
            .lead(&req.lead_id)
            .await
            .unwrap()
            .unwrap()
            .routing
            .is_none(),
        "nothing half-written"
    );
    let resp = h.handle(sqs(&[("m1", body)])).await;
    assert!(resp.batch_item_failures.is_empty());
    assert!(h
        .store
        .lead(&req.lead_id)
        .await
        .unwrap()
        .unwrap()
        .routing
        .is_some());
}

#[tokio::test]
async fn round_robin_spreads_a_pool_and_a_returning_lead_keeps_its_rep() {
    let h = handler();
    let hot = |email: &'static str| {
        [
            ("email", email),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ]
    };
    let a = inquire(&h, &hot("one@example.com")).await;
    h.handle(sqs(&[("a", serde_json::to_string(&a).unwrap())]))
        .await;
    let b = inquire(&h, &hot("two@example.com")).await;
    h.handle(sqs(&[("b", serde_json::to_string(&b).unwrap())]))
        .await;
    let owner = |id| {
        let store = h.store.clone();
        async move {
            store
                .lead(&id)
                .await
                .unwrap()
                .unwrap()
                .owner()
                .unwrap()
                .display_name()
                .to_string()
        }
    };
    assert_eq!(owner(a.lead_id.clone()).await, "Ana Ruiz");
    assert_eq!(owner(b.lead_id.clone()).await, "Jonas Weber");

    // The first person comes back: same pool, so the same rep keeps them.
    let a2 = inquire(&h, &hot("one@example.com")).await;
    h.handle(sqs(&[("a2", serde_json::to_string(&a2).unwrap())]))
        .await;
    assert_eq!(owner(a.lead_id.clone()).await, "Ana Ruiz");
    let lead = h.store.lead(&a.lead_id).await.unwrap().unwrap();
    assert!(lead.routing.unwrap().reasons[3].contains("kept with current owner Ana Ruiz"));
}

#[tokio::test]
async fn reassignment_keeps_the_earlier_owner_in_history() {
    let h = handler();
    // Nurture first…
    let first = inquire(
        &h,
        &[
            ("email", "grow@example.com"),
            ("country", "US"),
            ("timeframe", "over_12_months"),
        ],
    )
    .await;
    h.handle(sqs(&[("1", serde_json::to_string(&first).unwrap())]))
        .await;
    // …then an on-site demo request: field sales takes over.
    let second = inquire(
        &h,
        &[
            ("email", "grow@example.com"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    h.handle(sqs(&[("2", serde_json::to_string(&second).unwrap())]))
        .await;
    let history = h.store.history(&first.lead_id).await.unwrap();
    let previous = history.iter().rev().find_map(|e| match &e.event {
        Event::Routed { previous_owner, .. } => previous_owner.clone(),
        _ => None,
    });
    assert_eq!(previous.unwrap().key(), "queue#nurture");
    let lead = h.store.lead(&first.lead_id).await.unwrap().unwrap();
    assert_eq!(lead.owner().unwrap().display_name(), "Grace Lee");
    // Open-lead counts follow the lead (they drive least-loaded pools).
    let loads = h
        .store
        .pool_state("amer-field", &["grace.lee".into()])
        .await
        .unwrap()
        .loads;
    assert_eq!(loads.get("grace.lee"), Some(&1));
}

#[tokio::test]
async fn a_store_outage_is_retried_and_a_refused_write_is_dead_lettered() {
    let h = handler();
    let a = inquire(&h, &[("email", "a@example.com"), ("country", "FR")]).await;
    let b = inquire(&h, &[("email", "b@example.com"), ("country", "FR")]).await;
    h.store.fail_next_commits(1);
    let resp = h
        .handle(sqs(&[("a", serde_json::to_string(&a).unwrap())]))
        .await;
    assert_eq!(resp.batch_item_failures.len(), 1, "transient: retried");
    assert!(h.queues.buried().is_empty());
    h.store.refuse_next_commits(1);
    let resp = h
        .handle(sqs(&[("b", serde_json::to_string(&b).unwrap())]))
        .await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(
        h.queues.buried().len(),
        1,
        "permanent: dead-lettered at once"
    );
}

#[tokio::test]
async fn records_not_started_before_the_deadline_are_left_for_the_next_delivery() {
    let h = handler();
    let a = inquire(&h, &[("email", "late@example.com"), ("country", "FR")]).await;
    let passed = std::time::SystemTime::now();
    let resp = h
        .handle_until(
            sqs(&[("a", serde_json::to_string(&a).unwrap())]),
            Some(passed),
        )
        .await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    assert!(h
        .store
        .lead(&a.lead_id)
        .await
        .unwrap()
        .unwrap()
        .routing
        .is_none());
    let later = std::time::SystemTime::now() + std::time::Duration::from_secs(60);
    let resp = h
        .handle_until(
            sqs(&[("a", serde_json::to_string(&a).unwrap())]),
            Some(later),
        )
        .await;
    assert!(resp.batch_item_failures.is_empty());
}
