//! End to end: start the local stack exactly as `make dev` does (the real
//! function binaries, wired by template.yaml, against the emulator), post to it
//! over HTTP as a landing page would, and find the lead in DynamoDB and the
//! emails in the emulator's SES outbox.

mod common;

use common::{drained, emails_to, eventually, request, store, unique};
use leadflow::domain::lead::{EmailKind, Event};
use leadflow::ports::prelude::*;
use leadflow::{EmailAddress, Lead, LeadId, RequestType};
use leadflow_local::{DevOptions, DevStack, RunningStack};
use serde_json::{json, Value};

/// A stack of its own (unique names), on the emulator `make test` started
/// (AWS_ENDPOINT_URL), or on one it starts and stops itself.
async fn stack() -> RunningStack {
    DevStack::start(DevOptions::for_tests(unique("e2e")))
        .await
        .expect("the local stack starts")
}

async fn post_json(s: &RunningStack, body: &Value, extra: &[(&str, &str)]) -> common::Response {
    let mut headers = vec![("content-type", "application/json")];
    headers.extend_from_slice(extra);
    request(
        "POST",
        &format!("{}/inquiries", s.api_url()),
        &headers,
        body.to_string(),
    )
    .await
}

/// The lead the store holds for `email`: the intake's answer names only the response.
async fn lead_of(s: &RunningStack, email: &str) -> LeadId {
    store(s)
        .lead_id_by_email(&EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .expect("a lead for this email")
}

/// Wait until the pipeline has routed the lead and sent both emails for its latest response.
async fn fulfilled(s: &RunningStack, id: &LeadId) -> (Lead, Vec<Event>) {
    let store = store(s);
    eventually(s, "the lead to be routed and both emails sent", || {
        let store = store.clone();
        let id = id.clone();
        async move {
            let lead = store.lead(&id).await.ok()??;
            let last = lead.last_response_id.clone()?;
            lead.routing.as_ref()?;
            let history: Vec<Event> = store
                .history(&id)
                .await
                .ok()?
                .into_iter()
                .map(|h| h.event)
                .collect();
            let sent = history
                .iter()
                .filter(
                    |e| matches!(e, Event::EmailSent { response_id, .. } if *response_id == last),
                )
                .count();
            let wants = if lead.owner()?.email().is_some() {
                2
            } else {
                1
            };
            (sent == wants).then_some((lead, history))
        }
    })
    .await
}

#[tokio::test]
async fn a_json_inquiry_is_routed_and_answered_by_email() {
    let s = stack().await;
    let email = format!("{}@kunde.example.de", unique("ana"));
    let r = post_json(
        &s,
        &json!({
            "email": email, "first_name": "Ana", "last_name": "Kunde", "company": "Kunde AG",
            "country": "DE", "request_type": "onsite_demo", "campaign": "spring-launch",
            "budget": "defined_fits", "authority": "decision_maker", "need": "established", "timeframe": "within_3_months"
        }),
        &[],
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["status"], "received");
    assert!(r.json()["response_id"].as_str().unwrap().starts_with("rs_"));
    let id = lead_of(&s, &email).await;

    let (lead, history) = fulfilled(&s, &id).await;
    let d = lead.routing.unwrap();
    assert_eq!(d.stage.as_str(), "qualified_opportunity");
    assert_eq!(d.route.as_str(), "hot");
    assert!(d.summary().contains("→ round-robin →"), "{}", d.summary());
    assert!(history.iter().any(|e| matches!(e, Event::Routed { .. })));

    // Both emails are in the emulator's outbox.
    let to_prospect = emails_to(s.endpoint(), &email).await;
    assert_eq!(to_prospect.len(), 1, "{to_prospect:?}");
    let text = to_prospect[0].to_string();
    assert!(
        text.contains("On-site demo confirmation") && text.contains(d.owner.display_name()),
        "{text}"
    );
    let owner_mail = d.owner.email().unwrap().to_string();
    let notices: Vec<_> = emails_to(s.endpoint(), &owner_mail)
        .await
        .into_iter()
        .filter(|m| m.to_string().contains(&email))
        .collect();
    assert_eq!(notices.len(), 1);
    assert!(notices[0].to_string().contains("spring-launch"));
    s.shutdown().await;
}

#[tokio::test]
async fn a_form_post_redirects_and_the_same_person_stays_one_lead() {
    let s = stack().await;
    let email = format!("{}@example.com", unique("bo"));
    let form = format!(
        "email={}&first_name=Bo&country=US&request_type=info&source=landing_page",
        email.replace('@', "%40")
    );
    let r = request(
        "POST",
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(r.status, 303, "{}", r.body);
    assert!(
        r.header("location").unwrap().ends_with("/thanks.html"),
        "{:?}",
        r.header("location")
    );

    let store = store(&s);
    let id = store
        .lead_id_by_email(&EmailAddress::parse(&email).unwrap())
        .await
        .unwrap()
        .expect("lead recorded");
    fulfilled(&s, &id).await;

    // The same person again (the whole address in capitals, as people type
    // it), now asking for an RFP with answers.
    let again = post_json(
        &s,
        &json!({"email": email.to_uppercase(),
                "request_type": "rfp", "need": "established", "campaign": "rfp-guide"}),
        &[],
    )
    .await;
    assert_eq!(again.status, 202, "{}", again.body);
    assert_eq!(lead_of(&s, &email).await, id);
    let (lead, history) = fulfilled(&s, &id).await;
    assert_eq!(lead.responses, 2);
    assert_eq!(
        lead.contact.first_name.as_deref(),
        Some("Bo"),
        "not erased by the second post"
    );
    assert_eq!(lead.request_type, RequestType::Rfp);
    let responses = history
        .iter()
        .filter(|e| matches!(e, Event::Response(_)))
        .count();
    assert_eq!(responses, 2);
    // Each response got its own kit.
    let kits: Vec<_> = history
        .iter()
        .filter_map(|e| match e {
            Event::EmailSent {
                kind: EmailKind::Fulfillment,
                kit,
                ..
            } => kit.clone(),
            _ => None,
        })
        .collect();
    assert_eq!(kits, ["Information kit", "Proposal next steps (RFP)"]);
    assert_eq!(emails_to(s.endpoint(), &email).await.len(), 2);
    s.shutdown().await;
}

#[tokio::test]
async fn every_request_type_gets_its_kit() {
    let s = stack().await;
    let mut leads = Vec::new();
    for rt in RequestType::ALL {
        let email = format!("{}@example.com", unique(rt.as_str()));
        let r = post_json(
            &s,
            &json!({"email": email, "request_type": rt.as_str(), "country": "FR"}),
            &[],
        )
        .await;
        assert_eq!(r.status, 202, "{rt}: {}", r.body);
        let id = lead_of(&s, &email).await;
        leads.push((*rt, email, id));
    }
    let pb = leadflow::Playbook::default_playbook().unwrap();
    for (rt, email, id) in leads {
        fulfilled(&s, &id).await;
        let mails = emails_to(s.endpoint(), &email).await;
        assert_eq!(mails.len(), 1, "{rt}");
        let kit = pb.kit(rt).unwrap();
        assert!(
            mails[0].to_string().contains(&kit.link),
            "{rt}: {}",
            mails[0]
        );
    }
    s.shutdown().await;
}

#[tokio::test]
async fn a_replay_and_a_duplicate_delivery_change_nothing() {
    let s = stack().await;
    let email = format!("{}@example.com", unique("idem"));
    let key = unique("key");
    let body = json!({"email": email, "request_type": "demo", "country": "US"});
    let first = post_json(&s, &body, &[("idempotency-key", &key)]).await;
    let replay = post_json(&s, &body, &[("idempotency-key", &key)]).await;
    assert_eq!(first.status, 202);
    assert_eq!(replay.status, 202);
    assert_eq!(first.json(), replay.json());
    assert_eq!(replay.header("idempotent-replayed"), Some("true"));
    let id = lead_of(&s, &email).await;
    let (lead, history) = fulfilled(&s, &id).await;
    assert_eq!(lead.responses, 1);

    // Deliver the routing and fulfillment messages again, as SQS may.
    let response_id = lead.last_response_id.clone().unwrap();
    let sqs = aws_sdk_sqs::Client::new(s.sdk_config());
    let msg = json!({"lead_id": id, "response_id": response_id}).to_string();
    for q in ["RoutingQueue", "FulfillmentQueue"] {
        sqs.send_message()
            .queue_url(s.queue_url(q).unwrap())
            .message_body(&msg)
            .send()
            .await
            .unwrap();
    }
    // Both queues drain, and nothing new happened.
    drained(&s).await;
    let after: Vec<Event> = store(&s)
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|h| h.event)
        .collect();
    assert_eq!(after.len(), history.len(), "no new history: {after:#?}");
    assert_eq!(
        emails_to(s.endpoint(), &email).await.len(),
        1,
        "the prospect got one email"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn bad_inputs_over_http_are_refused_and_write_nothing() {
    let s = stack().await;
    let url = format!("{}/inquiries", s.api_url());
    let email = format!("{}@example.com", unique("bad"));
    type Case<'a> = (Vec<(&'a str, &'a str)>, String, u16, &'a str);
    let cases: Vec<Case> = vec![
        (
            vec![("content-type", "application/json")],
            json!({"email": "nope"}).to_string(),
            422,
            "invalid_email",
        ),
        (
            vec![("content-type", "application/json")],
            json!({"email": email, "budget": "lots"}).to_string(),
            422,
            "invalid_value",
        ),
        (
            vec![("content-type", "application/json")],
            "{\"email\":".into(),
            400,
            "malformed_body",
        ),
        (
            vec![("content-type", "text/csv")],
            format!("email,{email}"),
            415,
            "unsupported_media_type",
        ),
        (
            vec![("content-type", "application/json")],
            format!(
                "{{\"email\":\"{email}\",\"message\":\"{}\"}}",
                "x".repeat(70_000)
            ),
            413,
            "payload_too_large",
        ),
    ];
    for (headers, body, status, code) in cases {
        let r = request("POST", &url, &headers, body).await;
        assert_eq!(r.status, status, "{code}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], code, "{}", r.body);
    }
    let store = store(&s);
    assert_eq!(
        store
            .lead_id_by_email(&EmailAddress::parse(&email).unwrap())
            .await
            .unwrap(),
        None
    );

    // CORS preflight for the configured origin, and the landing page itself.
    let origin = s.api_url();
    let pre = request(
        "OPTIONS",
        &url,
        &[
            ("origin", &origin),
            ("access-control-request-method", "POST"),
        ],
        "",
    )
    .await;
    assert_eq!(pre.status, 204, "{}", pre.body);
    assert_eq!(
        pre.header("access-control-allow-origin"),
        Some(origin.as_str())
    );
    let page = request("GET", &format!("{}/", s.api_url()), &[], "").await;
    assert_eq!(page.status, 200);
    assert!(
        page.body.contains("action=\"/inquiries\"") && page.body.contains("name=\"timeframe\""),
        "{}",
        page.body
    );
    s.shutdown().await;
}

#[tokio::test]
async fn the_outbox_sweeper_finishes_what_a_crashed_intake_left() {
    use leadflow::app::intake::{submit, Submission};
    let s = stack().await;
    let pb = leadflow::Playbook::default_playbook().unwrap();
    let email = format!("{}@example.com", unique("swept"));
    let fields = vec![
        ("email".to_string(), email.clone()),
        ("request_type".to_string(), "demo".to_string()),
    ];
    // An intake that committed and died before publishing (no queue to publish to).
    let dead =
        leadflow_aws::sqs::SqsPublisher::new(aws_sdk_sqs::Client::new(s.sdk_config()), None, None);
    let past = chrono::Utc::now() - chrono::Duration::minutes(2);
    let accepted = submit(
        &store(&s),
        &dead,
        past,
        Submission::new(leadflow::Inquiry::parse(&fields, &pb.bant).unwrap()),
    )
    .await
    .unwrap();
    // The schedule fires (here on demand, with the event EventBridge sends).
    let tick = || {
        leadflow_local::events::scheduled_event(
            "arn:aws:events:us-east-1:123456789012:rule/sweep",
            chrono::Utc::now(),
        )
    };
    let out = s
        .invoke("OutboxFunction", tick())
        .await
        .expect("the sweeper runs");
    assert!(out["published"].as_u64().unwrap() >= 1, "{out}");
    assert_eq!(out["not_cleared"], 0, "published and cleared: {out}");
    fulfilled(&s, &accepted.lead_id).await;
    assert_eq!(emails_to(s.endpoint(), &email).await.len(), 1);
    // Cleared: the next sweep finds nothing to publish again.
    let again = s
        .invoke("OutboxFunction", tick())
        .await
        .expect("the sweeper runs again");
    assert_eq!(again["published"], 0, "{again}");
    s.shutdown().await;
}

/// Wait until every response of the lead is routed and each of its emails is
/// sent, coalesced into another send, or has nobody to go to.
async fn settled(s: &RunningStack, id: &LeadId, responses: usize) -> Vec<Event> {
    let store = store(s);
    eventually(s, "every response routed and notified", || {
        let store = store.clone();
        let id = id.clone();
        async move {
            let history: Vec<Event> = store
                .history(&id)
                .await
                .ok()?
                .into_iter()
                .map(|h| h.event)
                .collect();
            let count = |f: &dyn Fn(&Event) -> bool| history.iter().filter(|e| f(e)).count();
            let routed = count(&|e| matches!(e, Event::Routed { .. }));
            let notified = count(&|e| {
                matches!(
                    e,
                    Event::EmailSent { .. }
                        | Event::EmailCoalesced { .. }
                        | Event::EmailRejected { .. }
                )
            });
            (routed == responses && notified == 2 * responses).then_some(history)
        }
    })
    .await
}

#[tokio::test]
async fn a_burst_of_identical_posts_is_one_lead_one_kit_and_one_package() {
    let s = stack().await;
    let email = format!("{}@kunde.example.de", unique("burst"));
    let body =
        json!({"email": email, "country": "DE", "request_type": "demo", "campaign": "burst-test"});
    let posts: Vec<_> = (0..20)
        .map(|_| {
            let url = format!("{}/inquiries", s.api_url());
            let body = body.to_string();
            tokio::spawn(async move {
                request("POST", &url, &[("content-type", "application/json")], body).await
            })
        })
        .collect();
    let mut responses = std::collections::BTreeSet::new();
    for p in posts {
        let r = p.await.unwrap();
        assert_eq!(r.status, 202, "{}", r.body);
        responses.insert(r.json()["response_id"].as_str().unwrap().to_string());
    }
    assert_eq!(responses.len(), 20, "each post is its own response");
    let id = lead_of(&s, &email).await;
    let history = settled(&s, &id, 20).await;
    let responses = history
        .iter()
        .filter(|e| matches!(e, Event::Response(r) if r.attribution.campaign.as_deref() == Some("burst-test")))
        .count();
    assert_eq!(responses, 20, "all recorded, with their campaign");

    assert_eq!(emails_to(s.endpoint(), &email).await.len(), 1, "one kit");
    let lead = store(&s).lead(&id).await.unwrap().unwrap();
    let owner_mail = lead.owner().unwrap().email().unwrap().to_string();
    let packages: Vec<_> = emails_to(s.endpoint(), &owner_mail)
        .await
        .into_iter()
        .filter(|m| m.to_string().contains(&email))
        .collect();
    assert_eq!(packages.len(), 1, "one lead package");
    assert!(
        packages[0]
            .to_string()
            .contains("responses in the last 10 minutes"),
        "the package lists the repeats: {}",
        packages[0]
    );
    s.shutdown().await;
}

#[tokio::test]
async fn info_then_an_onsite_demo_inside_the_window_are_both_acted_on() {
    let s = stack().await;
    let email = format!("{}@firma.example.de", unique("up"));
    let first = post_json(
        &s,
        &json!({"email": email, "country": "DE", "request_type": "info"}),
        &[],
    )
    .await;
    assert_eq!(first.status, 202, "{}", first.body);
    let id = lead_of(&s, &email).await;
    settled(&s, &id, 1).await;
    let second = post_json(
        &s,
        &json!({"email": email, "country": "DE", "request_type": "onsite_demo"}),
        &[],
    )
    .await;
    assert_eq!(second.status, 202, "{}", second.body);
    let history = settled(&s, &id, 2).await;
    assert!(
        !history
            .iter()
            .any(|e| matches!(e, Event::EmailCoalesced { .. })),
        "nothing held back: {history:#?}"
    );
    let kits = emails_to(s.endpoint(), &email).await;
    assert_eq!(kits.len(), 2, "both kits");
    assert!(kits
        .iter()
        .any(|m| m.to_string().contains("On-site demo confirmation")));
    let lead = store(&s).lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.routing.as_ref().unwrap().route.as_str(), "hot");
    let field = lead.owner().unwrap().email().unwrap().to_string();
    assert_eq!(
        emails_to(s.endpoint(), &field)
            .await
            .iter()
            .filter(|m| m.to_string().contains(&email))
            .count(),
        1,
        "field sales is told at once"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn over_the_limit_the_intake_answers_429_and_records_nothing() {
    let s = stack().await;
    let pb = leadflow::Playbook::default_playbook().unwrap();
    let max = pb.limits.per_address.unwrap().max;
    let email = format!("{}@example.com", unique("flood"));
    let body = json!({"email": email, "request_type": "info"});
    let mut id = None;
    for _ in 0..max {
        let r = post_json(&s, &body, &[]).await;
        assert_eq!(r.status, 202, "{}", r.body);
        id = Some(lead_of(&s, &email).await);
    }
    let r = post_json(&s, &body, &[]).await;
    assert_eq!(r.status, 429, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "rate_limited");
    let retry: u64 = r.header("retry-after").unwrap().parse().unwrap();
    assert!((1..=3600).contains(&retry), "{retry}");
    let lead = store(&s).lead(&id.unwrap()).await.unwrap().unwrap();
    assert_eq!(lead.responses, max, "the refused post recorded nothing");
    s.shutdown().await;
}
