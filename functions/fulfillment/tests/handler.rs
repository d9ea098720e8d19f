//! The fulfillment handler with in-memory ports.

use aws_lambda_events::sqs::SqsEvent;
use chrono::{TimeZone, Utc};
use fulfillment::Fulfillment;
use leadflow::app::intake::{submit, Submission};
use leadflow::app::route::route_lead;
use leadflow::domain::inquiry::Inquiry;
use leadflow::domain::lead::{EmailKind, Event};
use leadflow::messages::{FulfillPart, FulfillRequest, RouteRequest};
use leadflow::ports::prelude::*;
use leadflow::ports::{Clock, MailError};
use leadflow::testing::{
    FixedClock, MemoryBatchQueues, MemoryMailer, MemoryPublisher, MemoryStore,
};
use leadflow::Playbook;
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use serde_json::json;

type Handler = Fulfillment<MemoryStore, MemoryMailer, FixedClock, MemoryBatchQueues>;

fn handler() -> Handler {
    Fulfillment {
        store: MemoryStore::new(),
        mailer: MemoryMailer::new(),
        clock: FixedClock::at(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()),
        queues: MemoryBatchQueues::new(),
        playbook: Playbook::default_playbook().unwrap(),
        links: Some(leadflow::links::ActionLinks {
            key: leadflow::links::LinkKey::new(&[42u8; 32]).unwrap(),
            base_url: "https://api.example.com".into(),
        }),
    }
}

/// Intake then routing, as the pipeline does; returns one fulfillment message
/// for both emails (what the split messages do together, see `routed_parts`).
async fn routed(h: &Handler, fields: &[(&str, &str)]) -> FulfillRequest {
    let parts = routed_parts(h, fields).await;
    FulfillRequest {
        part: FulfillPart::Both,
        ..parts[0].0.clone()
    }
}

/// Intake then routing; returns the router's fulfillment messages with their delays.
async fn routed_parts(h: &Handler, fields: &[(&str, &str)]) -> Vec<(FulfillRequest, u32)> {
    let publisher = MemoryPublisher::new();
    let fields: Vec<(String, String)> = fields
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
    let sub = Submission::new(Inquiry::parse(&fields, &h.playbook.bant).unwrap());
    submit(&h.store, &publisher, h.clock.now(), sub)
        .await
        .unwrap();
    let req: RouteRequest = serde_json::from_str(&publisher.take()[0].body).unwrap();
    route_lead(&h.store, &publisher, &h.playbook, h.clock.now(), &req)
        .await
        .unwrap();
    publisher
        .take()
        .into_iter()
        .map(|m| (serde_json::from_str(&m.body).unwrap(), m.delay_seconds))
        .collect()
}

fn sqs(id: &str, req: &FulfillRequest) -> SqsEvent {
    serde_json::from_value(json!({ "Records": [{
        "messageId": id, "receiptHandle": "rh", "body": serde_json::to_string(req).unwrap(),
        "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"
    }]}))
    .unwrap()
}

#[tokio::test]
async fn the_prospect_gets_the_kit_they_asked_for_naming_their_rep() {
    let kits = [
        (
            "info",
            "Information kit",
            "https://example.com/kits/information",
        ),
        (
            "assessment",
            "Business-needs assessment kit",
            "https://example.com/kits/assessment",
        ),
        (
            "demo",
            "Demo confirmation",
            "https://example.com/demo/schedule",
        ),
        (
            "onsite_demo",
            "On-site demo confirmation",
            "https://example.com/demo/onsite",
        ),
        (
            "rfi",
            "Proposal next steps (RFI)",
            "https://example.com/kits/rfi",
        ),
        (
            "rfp",
            "Proposal next steps (RFP)",
            "https://example.com/kits/rfp",
        ),
    ];
    for (i, (request_type, kit, link)) in kits.into_iter().enumerate() {
        let h = handler();
        let email = format!("p{i}@example.com");
        let req = routed(
            &h,
            &[
                ("email", &email),
                ("first_name", "Pat"),
                ("country", "DE"),
                ("request_type", request_type),
            ],
        )
        .await;
        let resp = h.handle(sqs("m", &req)).await;
        assert!(resp.batch_item_failures.is_empty(), "{request_type}");
        let sent = h.mailer.sent();
        let ack = sent.iter().find(|m| m.to == email).expect("prospect email");
        assert!(
            ack.html.contains(kit) && ack.text.contains(kit),
            "{request_type}: {}",
            ack.text
        );
        assert!(
            ack.html.contains(link) && ack.text.contains(link),
            "{request_type}"
        );
        assert!(ack.text.contains("Hello Pat"), "{}", ack.text);
        let lead = h.store.lead(&req.lead_id).await.unwrap().unwrap();
        let follow_up = lead.owner().unwrap().display_name().to_string();
        assert!(
            ack.text.contains(&follow_up),
            "{request_type}: names {follow_up}: {}",
            ack.text
        );
    }
}

#[tokio::test]
async fn the_owner_gets_the_whole_lead_package() {
    let h = handler();
    // An earlier response, then the one being fulfilled.
    routed(
        &h,
        &[
            ("email", "kai@firma.de"),
            ("source", "event"),
            ("campaign", "expo-2026"),
            ("country", "DE"),
        ],
    )
    .await;
    h.clock.advance(chrono::Duration::days(10));
    let req = routed(
        &h,
        &[
            ("email", "kai@firma.de"),
            ("first_name", "Kai"),
            ("last_name", "Berg"),
            ("company", "Firma GmbH"),
            ("phone", "+49 30 1234567"),
            ("request_type", "onsite_demo"),
            ("source", "landing_page"),
            ("campaign", "spring-launch"),
            ("budget", "defined"),
            ("need", "established"),
            ("message", "We need it before Q2"),
        ],
    )
    .await;
    h.handle(sqs("m", &req)).await;
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2);
    let notice = sent
        .iter()
        .find(|m| m.to == "ana.ruiz@example.com")
        .expect("owner notice to Ana Ruiz");
    for expected in [
        "Kai Berg",
        "Firma GmbH",
        "+49 30 1234567",
        "kai@firma.de",
        "spring-launch",
        "On-site demo confirmation sent 2026-12-03 09:00 UTC",
        "Budget: Defined (met), 2026-12-03 via landing_page",
        "Authority: unknown (not met)",
        "We need it before Q2",
        "via event (expo-2026)",
        "hot: on-site demo requested",
    ] {
        assert!(
            notice.text.contains(expected),
            "missing {expected:?} in:\n{}",
            notice.text
        );
    }
    assert!(
        notice.subject.contains("Kai Berg") && notice.subject.contains("Firma GmbH"),
        "{}",
        notice.subject
    );
    // Both sends are in the lead's history.
    let kinds: Vec<_> = h
        .store
        .history(&req.lead_id)
        .await
        .unwrap()
        .into_iter()
        .filter_map(|e| match e.event {
            Event::EmailSent {
                kind, response_id, ..
            } if response_id == req.response_id => Some(kind),
            _ => None,
        })
        .collect();
    assert_eq!(kinds, [EmailKind::Fulfillment, EmailKind::OwnerNotice]);
}

#[tokio::test]
async fn a_duplicate_delivery_sends_nothing_twice() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "once@example.com"),
            ("country", "US"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    h.handle(sqs("m1", &req)).await;
    let resp = h.handle(sqs("m1", &req)).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(h.mailer.sent().len(), 2);
}

#[tokio::test]
async fn every_value_is_escaped_in_html() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "x@example.com"),
            ("first_name", "<img src=x onerror=alert(1)>"),
            ("company", "A & B \"Co\""),
            ("country", "US"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    h.handle(sqs("m", &req)).await;
    for m in h.mailer.sent() {
        assert!(!m.html.contains("<img"), "{}", m.html);
        assert!(!m.html.contains("A & B"), "{}", m.html);
    }
    let ack = &h.mailer.sent()[0];
    assert!(ack.html.contains("&lt;img src=x onerror=alert(1)&gt;"));
}

#[tokio::test]
async fn a_mail_outage_is_retried_and_then_sends_once() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "retry@example.com"),
            ("country", "US"),
            ("request_type", "demo"),
        ],
    )
    .await;
    h.mailer
        .fail_next(MailError::Unavailable("throttled".into()));
    let resp = h.handle(sqs("m", &req)).await;
    assert_eq!(resp.batch_item_failures.len(), 1);
    // The prospect's mail waits for the retry; the owner's package does not wait on it.
    assert!(h.mailer.sent().iter().all(|m| m.to != "retry@example.com"));
    // The retry comes after the visibility timeout, beyond the claim's lease.
    h.clock.advance(chrono::Duration::seconds(61));
    let resp = h.handle(sqs("m", &req)).await;
    assert!(resp.batch_item_failures.is_empty());
    assert_eq!(h.mailer.sent().len(), 2);
}

#[tokio::test]
async fn a_message_for_an_unknown_lead_fails_alone() {
    let h = handler();
    let bogus = FulfillRequest {
        lead_id: leadflow::LeadId::generate(),
        response_id: leadflow::ResponseId::generate(),
        part: FulfillPart::Both,
        handoff: None,
    };
    let resp = h.handle(sqs("m", &bogus)).await;
    assert!(resp.batch_item_failures.is_empty());
    let buried = h.queues.buried();
    assert_eq!(
        buried.len(),
        1,
        "it can never succeed: dead-lettered at once"
    );
    assert!(buried[0].1.contains("does not exist"), "{}", buried[0].1);
    assert!(h.mailer.sent().is_empty());
}

#[tokio::test]
async fn a_refused_prospect_address_is_recorded_and_the_owner_still_gets_the_package() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "bounce@example.com"),
            ("country", "US"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    h.mailer
        .fail_next(MailError::Rejected("Address blacklisted".into()));
    let resp = h.handle(sqs("m", &req)).await;
    assert!(
        resp.batch_item_failures.is_empty(),
        "not retried: retrying cannot help"
    );
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1);
    assert!(
        sent[0].text.contains("Their address was refused")
            && sent[0].text.contains("Address blacklisted"),
        "{}",
        sent[0].text
    );
    let history = h.store.history(&req.lead_id).await.unwrap();
    assert!(history.iter().any(|e| matches!(
        &e.event,
        Event::EmailRejected {
            kind: EmailKind::Fulfillment,
            ..
        }
    )));
    // A redelivery does not try the refused address again.
    h.handle(sqs("m", &req)).await;
    assert_eq!(h.mailer.sent().len(), 1);
}

fn sqs_batch(reqs: &[&FulfillRequest]) -> SqsEvent {
    let records: Vec<_> = reqs
        .iter()
        .enumerate()
        .map(|(i, r)| json!({
            "messageId": format!("m{i}"), "receiptHandle": "rh", "body": serde_json::to_string(r).unwrap(),
            "attributes": {}, "messageAttributes": {}, "eventSource": "aws:sqs"
        }))
        .collect();
    serde_json::from_value(json!({ "Records": records })).unwrap()
}

fn coalesced(history: &[leadflow::domain::lead::HistoryEntry], kind: EmailKind) -> usize {
    history
        .iter()
        .filter(|e| matches!(&e.event, Event::EmailCoalesced { kind: k, .. } if *k == kind))
        .count()
}

#[tokio::test]
async fn the_kit_goes_at_once_and_the_owner_package_after_a_short_delay() {
    let h = handler();
    let parts = routed_parts(
        &h,
        &[
            ("email", "split@example.com"),
            ("country", "DE"),
            ("request_type", "demo"),
        ],
    )
    .await;
    let delay = h.playbook.repeats.owner_notice_delay_seconds;
    assert!(delay > 0);
    assert_eq!(
        parts.iter().map(|(r, d)| (r.part, *d)).collect::<Vec<_>>(),
        [(FulfillPart::Prospect, 0), (FulfillPart::Owner, delay)]
    );
    h.handle(sqs("m1", &parts[0].0)).await;
    assert_eq!(h.mailer.sent().len(), 1);
    assert_eq!(h.mailer.sent()[0].to, "split@example.com");
    h.clock.advance(chrono::Duration::seconds(delay as i64));
    h.handle(sqs("m2", &parts[1].0)).await;
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2);
    assert!(
        sent[1].text.contains("Demo confirmation sent"),
        "{}",
        sent[1].text
    );
}

#[tokio::test]
async fn a_burst_of_repeats_sends_one_kit_and_one_package_listing_them_all() {
    let h = handler();
    let fields = [
        ("email", "burst@example.com"),
        ("country", "DE"),
        ("request_type", "demo"),
        ("campaign", "spring"),
    ];
    let mut prospect = Vec::new();
    let mut owner = Vec::new();
    for _ in 0..20 {
        for (req, _) in routed_parts(&h, &fields).await {
            match req.part {
                FulfillPart::Owner => owner.push(req),
                _ => prospect.push(req),
            }
        }
        h.clock.advance(chrono::Duration::milliseconds(100));
    }
    // The kits are sent as the routings finish; the packages a few seconds later.
    for r in &prospect {
        let resp = h.handle(sqs("p", r)).await;
        assert!(resp.batch_item_failures.is_empty());
    }
    h.clock.advance(chrono::Duration::seconds(5));
    let resp = h.handle(sqs_batch(&owner.iter().collect::<Vec<_>>())).await;
    assert!(resp.batch_item_failures.is_empty());

    let sent = h.mailer.sent();
    let to_prospect: Vec<_> = sent
        .iter()
        .filter(|m| m.to == "burst@example.com")
        .collect();
    let to_owner: Vec<_> = sent
        .iter()
        .filter(|m| m.to != "burst@example.com")
        .collect();
    assert_eq!(to_prospect.len(), 1, "one kit");
    assert_eq!(to_owner.len(), 1, "one lead package");
    assert!(
        to_owner[0]
            .text
            .contains("20 RESPONSES IN THE LAST 10 MINUTES"),
        "{}",
        to_owner[0].text
    );
    assert_eq!(
        to_owner[0].text.matches("(spring)").count(),
        20,
        "{}",
        to_owner[0].text
    );

    let history = h.store.history(&prospect[0].lead_id).await.unwrap();
    let responses = history
        .iter()
        .filter(|e| matches!(e.event, Event::Response(_)))
        .count();
    assert_eq!(responses, 20, "every response is recorded");
    assert_eq!(coalesced(&history, EmailKind::Fulfillment), 19);
    assert_eq!(coalesced(&history, EmailKind::OwnerNotice), 19);

    // Redelivering everything sends nothing more.
    for r in prospect.iter().chain(&owner) {
        h.handle(sqs("again", r)).await;
    }
    assert_eq!(h.mailer.sent().len(), 2);
}

#[tokio::test]
async fn a_new_kind_of_request_inside_the_window_is_acted_on_at_once() {
    let h = handler();
    let info = routed(
        &h,
        &[
            ("email", "up@firma.de"),
            ("country", "DE"),
            ("request_type", "info"),
        ],
    )
    .await;
    h.handle(sqs("m1", &info)).await;
    h.clock.advance(chrono::Duration::minutes(2));
    let onsite = routed(
        &h,
        &[
            ("email", "up@firma.de"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    let resp = h.handle(sqs("m2", &onsite)).await;
    assert!(resp.batch_item_failures.is_empty());
    let sent = h.mailer.sent();
    let kits: Vec<_> = sent.iter().filter(|m| m.to == "up@firma.de").collect();
    assert_eq!(kits.len(), 2, "both kits");
    assert!(kits[0].text.contains("Information kit"));
    assert!(kits[1].text.contains("On-site demo confirmation"));
    let packages: Vec<_> = sent.iter().filter(|m| m.to != "up@firma.de").collect();
    assert_eq!(
        packages.len(),
        2,
        "the escalation reaches its owner at once"
    );
    assert!(
        packages[1].subject.starts_with("hot lead"),
        "{}",
        packages[1].subject
    );
}

#[tokio::test]
async fn the_same_request_after_the_window_is_answered_again() {
    // With no kit resend window (see the next test for the default).
    let mut h = handler();
    h.playbook.repeats.kit_resend_days = 0;
    let fields = [
        ("email", "later@example.com"),
        ("country", "US"),
        ("request_type", "demo"),
    ];
    let first = routed(&h, &fields).await;
    h.handle(sqs("m1", &first)).await;
    h.clock.advance(chrono::Duration::minutes(9));
    let inside = routed(&h, &fields).await;
    h.handle(sqs("m2", &inside)).await;
    assert_eq!(h.mailer.sent().len(), 2, "inside the window: nothing new");
    h.clock.advance(chrono::Duration::minutes(2));
    let after = routed(&h, &fields).await;
    h.handle(sqs("m3", &after)).await;
    assert_eq!(h.mailer.sent().len(), 4, "after it: kit and package again");
}

#[tokio::test]
async fn a_kit_the_prospect_has_is_not_resent_for_its_window_but_the_owner_hears() {
    let h = handler();
    assert_eq!(h.playbook.repeats.kit_resend_days, 30);
    let fields = [
        ("email", "again@example.com"),
        ("country", "US"),
        ("request_type", "info"),
    ];
    let first = routed(&h, &fields).await;
    h.handle(sqs("m1", &first)).await;
    assert_eq!(h.mailer.sent().len(), 2);
    h.clock.advance(chrono::Duration::days(3));
    let later = routed(&h, &fields).await;
    h.handle(sqs("m2", &later)).await;
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 3, "no second kit, a new package");
    assert_ne!(sent[2].to, "again@example.com");
    let history = h.store.history(&later.lead_id).await.unwrap();
    assert_eq!(coalesced(&history, EmailKind::Fulfillment), 1);
    h.clock.advance(chrono::Duration::days(28));
    let month = routed(&h, &fields).await;
    h.handle(sqs("m3", &month)).await;
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 5, "a month on: the kit again, and a package");
    assert!(sent.iter().filter(|m| m.to == "again@example.com").count() == 2);
}

#[tokio::test]
async fn a_repeat_during_a_failed_send_is_covered_by_its_retry() {
    let h = handler();
    let fields = [
        ("email", "crash@example.com"),
        ("country", "US"),
        ("request_type", "demo"),
    ];
    let first = routed(&h, &fields).await;
    h.mailer
        .fail_next(MailError::Unavailable("throttled".into()));
    let resp = h.handle(sqs("m1", &first)).await;
    assert_eq!(resp.batch_item_failures.len(), 1, "retried later");
    // A repeat arrives while the first is still held: it sends nothing…
    let repeat = routed(&h, &fields).await;
    h.handle(sqs("m2", &repeat)).await;
    assert!(h.mailer.sent().iter().all(|m| m.to != "crash@example.com"));
    // …and the first one's retry sends the kit, once.
    h.clock.advance(chrono::Duration::seconds(61));
    let resp = h.handle(sqs("m1", &first)).await;
    assert!(resp.batch_item_failures.is_empty());
    let kits = h
        .mailer
        .sent()
        .iter()
        .filter(|m| m.to == "crash@example.com")
        .count();
    assert_eq!(kits, 1);
}

#[tokio::test]
async fn a_sender_problem_is_retried_never_blamed_on_the_prospect_and_the_owner_still_hears() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "fine@example.com"),
            ("country", "US"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    h.mailer.fail_next(MailError::Sender(
        "Email address is not verified: leads@example.com".into(),
    ));
    let resp = h.handle(sqs("m", &req)).await;
    assert_eq!(resp.batch_item_failures.len(), 1, "retried, not dropped");
    let history = h.store.history(&req.lead_id).await.unwrap();
    assert!(
        !history
            .iter()
            .any(|e| matches!(e.event, Event::EmailRejected { .. })),
        "the prospect's address is not blamed"
    );
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 1, "the owner's package went out regardless");
    assert_ne!(sent[0].to, "fine@example.com");
    // Once the identity is verified, the retry delivers the kit, and only the kit.
    h.clock.advance(chrono::Duration::seconds(61));
    let resp = h.handle(sqs("m", &req)).await;
    assert!(resp.batch_item_failures.is_empty());
    let sent = h.mailer.sent();
    assert_eq!(sent.len(), 2);
    assert_eq!(sent[1].to, "fine@example.com");
}

#[tokio::test]
async fn a_throttled_send_waits_for_capacity_without_using_up_its_receives() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "slow@example.com"),
            ("country", "US"),
            ("request_type", "demo"),
        ],
    )
    .await;
    h.mailer.fail_next(MailError::Throttled(
        "Maximum sending rate exceeded.".into(),
    ));
    let resp = h.handle(sqs("m", &req)).await;
    assert!(resp.batch_item_failures.is_empty(), "acknowledged…");
    let deferred = h.queues.deferred();
    assert_eq!(deferred.len(), 1, "…and put back with a delay");
    assert!(deferred[0].1 >= std::time::Duration::from_secs(30));
    let back: FulfillRequest = serde_json::from_str(&deferred[0].0).unwrap();
    assert_eq!(back, req);
    // When it comes back, the kit goes out once.
    h.clock.advance(chrono::Duration::seconds(120));
    h.handle(sqs("m2", &back)).await;
    let kits = h
        .mailer
        .sent()
        .iter()
        .filter(|m| m.to == "slow@example.com")
        .count();
    assert_eq!(kits, 1);
}

#[tokio::test]
async fn a_send_that_may_have_happened_holds_its_claim_for_the_lease() {
    let h = handler();
    let req = routed(
        &h,
        &[
            ("email", "maybe@example.com"),
            ("country", "US"),
            ("request_type", "demo"),
        ],
    )
    .await;
    h.mailer
        .fail_next(MailError::Uncertain("timed out after 2 s".into()));
    assert_eq!(h.handle(sqs("m", &req)).await.batch_item_failures.len(), 1);
    // The redelivery after the visibility timeout must not risk a second copy…
    h.clock.advance(chrono::Duration::seconds(181));
    assert_eq!(h.handle(sqs("m", &req)).await.batch_item_failures.len(), 1);
    assert!(h.mailer.sent().iter().all(|m| m.to != "maybe@example.com"));
    // …the one after the lease sends it.
    h.clock.advance(leadflow::app::fulfill::SEND_LEASE);
    assert!(h
        .handle(sqs("m", &req))
        .await
        .batch_item_failures
        .is_empty());
    let kits = h
        .mailer
        .sent()
        .iter()
        .filter(|m| m.to == "maybe@example.com")
        .count();
    assert_eq!(kits, 1);
}

#[tokio::test]
async fn a_lead_with_thousands_of_responses_costs_a_bounded_read() {
    let h = handler();
    let fields = [
        ("email", "loyal@example.com"),
        ("country", "US"),
        ("request_type", "info"),
    ];
    let first = routed(&h, &fields).await;
    // Years of responses, recorded straight into the history.
    let lead = h.store.lead(&first.lead_id).await.unwrap().unwrap();
    let mut events = Vec::new();
    for i in 0..3_000 {
        let mut l = lead.clone();
        let at = h.clock.now() - chrono::Duration::days(400) + chrono::Duration::minutes(i);
        let rec = l.apply_response(
            &leadflow::domain::inquiry::Inquiry::parse(
                &[("email".to_string(), "loyal@example.com".to_string())],
                &h.playbook.bant,
            )
            .unwrap(),
            &leadflow::ResponseId::generate(),
            at,
        );
        events.push(leadflow::domain::lead::HistoryEntry::new(
            &lead.id,
            at,
            Event::Response(rec),
        ));
    }
    h.store
        .commit(leadflow::ports::Commit {
            events,
            ..Default::default()
        })
        .await
        .unwrap();
    h.clock.advance(chrono::Duration::days(30));
    let before = h.store.history_entries_read();
    let req = routed(
        &h,
        &[
            ("email", "loyal@example.com"),
            ("country", "US"),
            ("request_type", "demo"),
        ],
    )
    .await;
    let resp = h.handle(sqs("m", &req)).await;
    assert!(resp.batch_item_failures.is_empty());
    let read = h.store.history_entries_read() - before;
    assert!(
        read <= 2 * leadflow::app::route::HISTORY_WINDOW,
        "router and fulfillment read {read} entries of 3,000+"
    );
    let package = h
        .mailer
        .sent()
        .into_iter()
        .rev()
        .find(|m| m.to != "loyal@example.com")
        .unwrap();
    let listed = package.text.matches(" — ").count();
    assert!(
        listed <= leadflow::app::fulfill::PREVIOUS_SHOWN + 5,
        "{listed}"
    );
}

#[tokio::test]
async fn the_owners_package_carries_signed_one_click_links() {
    let h = handler();
    let req = routed(&h, &[("email", "links@example.com"), ("country", "DE")]).await;
    h.handle(sqs("m1", &req)).await;
    let notice = h
        .mailer
        .sent()
        .into_iter()
        .find(|m| m.to == "lena.fischer@example.com")
        .expect("the owner's package");
    let key = leadflow::links::LinkKey::new(&[42u8; 32]).unwrap();
    let mut actions = Vec::new();
    for line in notice.text.lines() {
        if let Some((_, url)) = line.split_once(": https://api.example.com/actions/") {
            let link = key
                .verify(url.trim(), h.clock.now())
                .expect("a link we signed");
            assert_eq!(
                (link.lead_id.clone(), link.person.as_str()),
                (req.lead_id.clone(), "lena.fischer")
            );
            actions.push(link.action);
        }
    }
    assert_eq!(actions, leadflow::links::Action::PACKAGE.to_vec());
    assert!(notice.html.contains("/actions/"));
}

#[tokio::test]
async fn a_hand_off_sends_the_new_owner_the_package_once() {
    let h = handler();
    let req = routed(&h, &[("email", "handoff@example.com"), ("country", "DE")]).await;
    h.handle(sqs("m1", &req)).await;
    // A rep hands the lead to field sales (as the rep's API does).
    let mut lead = h.store.lead(&req.lead_id).await.unwrap().unwrap();
    let ana = h.playbook.rep("ana.ruiz").unwrap().owner();
    let version = lead.version;
    lead.routing.as_mut().unwrap().owner = ana;
    lead.version += 1;
    let entry = leadflow::domain::lead::HistoryEntry::new(
        &lead.id,
        h.clock.now(),
        Event::Reassigned {
            from: None,
            to: lead.owner().unwrap().clone(),
            by: "nina.kovac".into(),
            reason: "holiday".into(),
        },
    );
    let handoff = FulfillRequest {
        part: FulfillPart::Owner,
        handoff: Some(entry.id.to_string()),
        ..req.clone()
    };
    h.store
        .commit(leadflow::ports::Commit {
            lead: Some((lead, leadflow::ports::Expect::Version(version))),
            events: vec![entry],
            ..Default::default()
        })
        .await
        .unwrap();
    for id in ["h1", "h2"] {
        let resp = h.handle(sqs(id, &handoff)).await;
        assert!(resp.batch_item_failures.is_empty());
    }
    let to_ana: Vec<_> = h
        .mailer
        .sent()
        .into_iter()
        .filter(|m| m.to == "ana.ruiz@example.com")
        .collect();
    assert_eq!(
        to_ana.len(),
        1,
        "one package per hand-off, whatever the deliveries"
    );
    assert!(to_ana[0].text.contains("handoff@example.com"));
    assert_eq!(
        h.mailer
            .sent()
            .iter()
            .filter(|m| m.to == "handoff@example.com")
            .count(),
        1,
        "the prospect hears nothing more"
    );
}

#[test]
fn emails_count_by_kind_sent_refused_and_coalesced() {
    let outcome = leadflow::app::fulfill::FulfillOutcome {
        sent: vec![EmailKind::Fulfillment],
        rejected: vec![EmailKind::OwnerNotice],
        already_sent: vec![EmailKind::OwnerNotice],
        ..Default::default()
    };
    let lines: Vec<_> = fulfillment::emails(&outcome)
        .iter()
        .map(|e| {
            e.document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
                .unwrap()
        })
        .collect();
    assert_eq!(lines.len(), 2);
    assert_eq!(lines[0]["Kind"], "fulfillment");
    assert_eq!(
        emf_shape(&lines[0]),
        (
            sets(&[&["Kind"], &[]]),
            counts(&[
                ("EmailsSent", 1),
                ("EmailsRefused", 0),
                ("EmailsCoalesced", 0)
            ])
        )
    );
    assert_eq!(lines[1]["Kind"], "owner_notice");
    assert_eq!(lines[1]["EmailsRefused"], 1);
    assert_eq!(lines[1]["EmailsSent"], 0);
    // A redelivery that finds everything sent counts nothing.
    let again = leadflow::app::fulfill::FulfillOutcome {
        already_sent: vec![EmailKind::Fulfillment, EmailKind::OwnerNotice],
        ..Default::default()
    };
    assert!(fulfillment::emails(&again).is_empty());
}
