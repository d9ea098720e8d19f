//! The intake handler with in-memory ports.

mod common;

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use chrono::{Duration, TimeZone};
use common::{body, handler, header, post_form, post_json, request, Handler};
use intake::MAX_BODY_BYTES;
use leadflow::app::outbox::sweep;
use leadflow::domain::lead::Event;
use leadflow::messages::RouteRequest;
use leadflow::ports::prelude::*;
use leadflow::ports::Clock;
use leadflow::{LeadId, RequestType};
use leadflow_aws::metrics::shape::{counts, emf_shape, sets};
use serde_json::{json, Value};
use std::sync::Arc;

/// The lead the store holds for `email` (the intake's answer never names it).
async fn lead_of(h: &Handler, email: &str) -> LeadId {
    h.store
        .lead_id_by_email(&leadflow::EmailAddress::parse(email).unwrap())
        .await
        .unwrap()
        .expect("a lead for this email")
}

async fn history(h: &Handler, id: &str) -> Vec<Event> {
    let id = LeadId::parse(id).unwrap();
    h.store
        .history(&id)
        .await
        .unwrap()
        .into_iter()
        .map(|e| e.event)
        .collect()
}

#[tokio::test]
async fn json_post_is_accepted_recorded_and_handed_to_routing() {
    let h = handler();
    let r = h
        .handle(post_json(&json!({
            "email": " Ana.Ruiz@Example.COM ", "first_name": "Ana", "company": "Ruiz GmbH",
            "country": "de", "request_type": "demo", "budget": "defined", "consent_email": true,
            "campaign": "spring-launch", "utm_source": "newsletter", "favourite_colour": "teal"
        })))
        .await;
    assert_eq!(r.status_code, 202);
    let b = body(&r);
    assert_eq!(b["status"], "received");
    assert!(b["response_id"].as_str().unwrap().starts_with("rs_"));
    assert!(
        b.get("lead_id").is_none(),
        "the answer never names the lead"
    );
    let lead_id = lead_of(&h, "Ana.Ruiz@example.com").await.to_string();

    let lead = h
        .store
        .lead(&LeadId::parse(&lead_id).unwrap())
        .await
        .unwrap()
        .unwrap();
    assert_eq!(lead.email.as_str(), "ana.ruiz@example.com");
    assert_eq!(lead.contact.country.as_ref().unwrap().as_str(), "DE");
    assert_eq!(lead.request_type, RequestType::Demo);
    assert_eq!(lead.bant.value(leadflow::Criterion::Budget), "defined");
    assert_eq!(
        lead.custom.get("favourite_colour").map(String::as_str),
        Some("teal")
    );
    assert!(lead.consent_email.unwrap().granted);

    let published = h.publisher.published();
    assert_eq!(published.len(), 1);
    let msg: RouteRequest = serde_json::from_str(&published[0].body).unwrap();
    assert_eq!(msg.lead_id.as_str(), lead_id);
    assert!(
        h.store.outbox().is_empty(),
        "a published message leaves the outbox"
    );
}

#[tokio::test]
async fn a_plain_form_post_is_redirected_to_the_thank_you_page_or_an_allowed_one() {
    let h = handler();
    let r = h
        .handle(post_form(
            "email=bo%40example.com&first_name=Bo&request_type=info",
        ))
        .await;
    assert_eq!(r.status_code, 303);
    assert_eq!(
        header(&r, "location").as_deref(),
        Some("https://www.example.com/thanks")
    );

    let r = h
        .handle(post_form(
            "email=bo%40example.com&redirect=https%3A%2F%2Fwww.example.com%2Fdemo-thanks",
        ))
        .await;
    assert_eq!(
        header(&r, "location").as_deref(),
        Some("https://www.example.com/demo-thanks")
    );

    // Never an open redirect.
    let r = h
        .handle(post_form(
            "email=bo%40example.com&redirect=https%3A%2F%2Fevil.example.net%2F",
        ))
        .await;
    assert_eq!(r.status_code, 303);
    assert_eq!(
        header(&r, "location").as_deref(),
        Some("https://www.example.com/thanks")
    );
    assert_eq!(
        h.store.lead_count(),
        1,
        "three posts by one person are one lead"
    );
}

#[tokio::test]
async fn every_request_type_is_accepted_and_info_is_the_default() {
    let h = handler();
    for (i, rt) in RequestType::ALL.iter().enumerate() {
        let r = h
            .handle(post_json(
                &json!({"email": format!("p{i}@example.com"), "request_type": rt.as_str()}),
            ))
            .await;
        assert_eq!(r.status_code, 202, "{rt}");
        let id = lead_of(&h, &format!("p{i}@example.com")).await;
        assert_eq!(h.store.lead(&id).await.unwrap().unwrap().request_type, *rt);
    }
    let r = h
        .handle(post_json(&json!({"email": "default@example.com"})))
        .await;
    assert_eq!(r.status_code, 202);
    let id = lead_of(&h, "default@example.com").await;
    assert_eq!(
        h.store.lead(&id).await.unwrap().unwrap().request_type,
        RequestType::Info
    );
}

#[tokio::test]
async fn a_repeat_post_is_the_same_lead_and_erases_nothing_known() {
    let h = handler();
    let first = h
        .handle(post_json(&json!({
            "email": "kim@example.com", "company": "Kim AG", "budget": "defined",
            "authority": "decision_maker", "source": "event", "campaign": "expo-2026"
        })))
        .await;
    h.clock.advance(Duration::days(3));
    let second = h
        .handle(post_json(&json!({
            "email": "kim@EXAMPLE.com", "budget": "unknown", "need": "established",
            "request_type": "rfp", "source": "landing_page", "campaign": "rfp-guide"
        })))
        .await;
    assert_ne!(
        body(&first)["response_id"],
        body(&second)["response_id"],
        "each post is its own response"
    );
    assert_eq!(h.store.lead_count(), 1);

    let id = lead_of(&h, "kim@example.com").await;
    let lead = h.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(
        lead.contact.company.as_deref(),
        Some("Kim AG"),
        "absent field keeps the earlier value"
    );
    assert_eq!(
        lead.bant.value(leadflow::Criterion::Budget),
        "defined",
        "unknown keeps the earlier answer"
    );
    let need = &lead.bant.0[&leadflow::Criterion::Need];
    assert_eq!(need.value, "established");
    assert_eq!(need.source, "landing_page");
    assert_eq!(need.campaign.as_deref(), Some("rfp-guide"));
    assert_eq!(lead.bant.0[&leadflow::Criterion::Budget].source, "event");
    assert_eq!(lead.responses, 2);
    assert_eq!(
        lead.first_attribution.campaign.as_deref(),
        Some("expo-2026")
    );
    assert_eq!(lead.attribution.campaign.as_deref(), Some("rfp-guide"));

    let responses: Vec<_> = history(&h, id.as_str())
        .await
        .into_iter()
        .filter_map(|e| match e {
            Event::Response(r) => Some(r),
            _ => None,
        })
        .collect();
    assert_eq!(responses.len(), 2);
    assert_eq!(
        responses[1].attribution.campaign.as_deref(),
        Some("rfp-guide")
    );
    assert!(responses[1]
        .changes
        .iter()
        .any(|c| c.field == "need" && c.to == "established"));
    assert_eq!(h.publisher.published().len(), 2, "each response is routed");
}

#[tokio::test]
async fn an_idempotent_replay_gets_the_first_answer_and_records_nothing() {
    let h = handler();
    let post = || {
        request(
            "POST",
            json!({"content-type": "application/json", "idempotency-key": "form-123"}),
            Some(r#"{"email":"lee@example.com","request_type":"demo"}"#),
            false,
        )
    };
    let first = h.handle(post()).await;
    let again = h.handle(post()).await;
    assert_eq!(first.status_code, 202);
    assert_eq!(again.status_code, 202);
    assert_eq!(body(&first), body(&again));
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
    assert_eq!(h.publisher.published().len(), 1);
    let id = h.store.leads()[0].id.to_string();
    assert_eq!(history(&h, &id).await.len(), 1);

    // The same key with another body is refused, and changes nothing.
    let other = h
        .handle(request(
            "POST",
            json!({"content-type": "application/json", "idempotency-key": "form-123"}),
            Some(r#"{"email":"lee@example.com","request_type":"rfp"}"#),
            false,
        ))
        .await;
    assert_eq!(other.status_code, 422);
    assert_eq!(body(&other)["error"]["code"], "idempotency_key_reused");
    assert_eq!(history(&h, &id).await.len(), 1);

    // Forms replay their redirect too.
    let form = || {
        request(
            "POST",
            json!({"content-type": "application/x-www-form-urlencoded", "idempotency-key": "f-1"}),
            Some("email=lee%40example.com"),
            false,
        )
    };
    let a = h.handle(form()).await;
    let b = h.handle(form()).await;
    assert_eq!((a.status_code, b.status_code), (303, 303));
    assert_eq!(header(&a, "location"), header(&b, "location"));
}

#[tokio::test]
async fn bad_input_gets_a_clear_error_naming_the_field_and_writes_nothing() {
    let long = "x".repeat(MAX_BODY_BYTES + 1);
    let many: String = (0..25).map(|i| format!("&extra{i}=v")).collect();
    let cases: Vec<(ApiGatewayV2httpRequest, i64, &str, Option<&str>)> = vec![
        (
            post_json(&json!({"first_name": "No Email"})),
            422,
            "missing_field",
            Some("email"),
        ),
        (
            post_json(&json!({"email": "not-an-address"})),
            422,
            "invalid_email",
            Some("email"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "request_type": "quote"})),
            422,
            "invalid_value",
            Some("request_type"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "source": "tv"})),
            422,
            "invalid_value",
            Some("source"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "budget": "huge"})),
            422,
            "invalid_value",
            Some("budget"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "authority": "ceo"})),
            422,
            "invalid_value",
            Some("authority"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "need": "maybe"})),
            422,
            "invalid_value",
            Some("need"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "timeframe": "soon"})),
            422,
            "invalid_value",
            Some("timeframe"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "country": "XX"})),
            422,
            "invalid_value",
            Some("country"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "consent_email": "perhaps"})),
            422,
            "invalid_value",
            Some("consent_email"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "phone": "call me"})),
            422,
            "invalid_value",
            Some("phone"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "company": {"name": "x"}})),
            422,
            "invalid_value",
            Some("company"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "first_name": "x".repeat(300)})),
            422,
            "too_long",
            Some("first_name"),
        ),
        (
            post_json(&json!({"email": "a@example.com", "bad field!": "x"})),
            422,
            "invalid_field_name",
            Some("bad field!"),
        ),
        (
            post_form(&format!("email=a%40example.com{many}")),
            422,
            "too_many_fields",
            None,
        ),
        (
            post_form("email=a%40example.com&email=b%40example.com"),
            422,
            "duplicate_field",
            Some("email"),
        ),
        (
            post_json(&json!(["email", "a@example.com"])),
            400,
            "malformed_body",
            None,
        ),
        (
            request(
                "POST",
                json!({"content-type": "application/json"}),
                Some("{not json"),
                false,
            ),
            400,
            "malformed_body",
            None,
        ),
        (
            request(
                "POST",
                json!({"content-type": "application/json"}),
                Some("!!!"),
                true,
            ),
            400,
            "malformed_body",
            None,
        ),
        (
            request(
                "POST",
                json!({"content-type": "text/plain"}),
                Some("email=a@example.com"),
                false,
            ),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            request("POST", json!({}), Some("{}"), false),
            415,
            "unsupported_media_type",
            None,
        ),
        (
            request(
                "POST",
                json!({"content-type": "application/json"}),
                Some(&long),
                false,
            ),
            413,
            "payload_too_large",
            None,
        ),
        (
            request(
                "POST",
                json!({"content-type": "application/json", "idempotency-key": "k".repeat(300)}),
                Some(r#"{"email":"a@example.com"}"#),
                false,
            ),
            400,
            "invalid_idempotency_key",
            Some("Idempotency-Key"),
        ),
        (
            request("GET", json!({}), None, false),
            405,
            "method_not_allowed",
            None,
        ),
    ];
    for (req, status, code, field) in cases {
        let h = handler();
        let r = h.handle(req).await;
        let b = body(&r);
        assert_eq!(
            (r.status_code, b["error"]["code"].as_str()),
            (status, Some(code)),
            "{b}"
        );
        if let Some(f) = field {
            assert_eq!(b["error"]["field"], f, "{b}");
        }
        assert!(!b["error"]["message"].as_str().unwrap_or("").is_empty());
        assert_eq!(h.store.lead_count(), 0, "{code}: nothing written");
        assert!(
            h.publisher.published().is_empty() && h.store.outbox().is_empty(),
            "{code}: nothing sent"
        );
    }
}

#[tokio::test]
async fn a_form_post_that_asks_for_html_gets_a_readable_error_page() {
    let h = handler();
    let r = h
        .handle(request(
            "POST",
            json!({"content-type": "application/x-www-form-urlencoded", "accept": "text/html,*/*"}),
            Some("email=<script>"),
            false,
        ))
        .await;
    assert_eq!(r.status_code, 422);
    let page = match &r.body {
        Some(Body::Text(t)) => t.clone(),
        _ => String::new(),
    };
    assert!(
        page.contains("Please check the form") && page.contains("email"),
        "{page}"
    );
    assert!(!page.contains("<script>"), "escaped: {page}");
}

#[tokio::test]
async fn cors_allows_configured_origins_including_the_preflight() {
    let h = handler();
    let pre = h
        .handle(request(
            "OPTIONS",
            json!({"origin": "https://www.example.com", "access-control-request-method": "POST"}),
            None,
            false,
        ))
        .await;
    assert_eq!(pre.status_code, 204);
    assert_eq!(
        header(&pre, "access-control-allow-origin").as_deref(),
        Some("https://www.example.com")
    );
    assert!(header(&pre, "access-control-allow-headers")
        .unwrap()
        .contains("idempotency-key"));

    let denied = h
        .handle(request(
            "OPTIONS",
            json!({"origin": "https://evil.example.net"}),
            None,
            false,
        ))
        .await;
    assert_eq!(denied.status_code, 403);
    assert_eq!(header(&denied, "access-control-allow-origin"), None);

    let post = h
        .handle(request(
            "POST",
            json!({"content-type": "application/json", "origin": "https://www.example.com"}),
            Some(r#"{"email":"c@example.com"}"#),
            false,
        ))
        .await;
    assert_eq!(post.status_code, 202);
    assert_eq!(
        header(&post, "access-control-allow-origin").as_deref(),
        Some("https://www.example.com")
    );
}

#[tokio::test]
async fn base64_bodies_from_api_gateway_are_decoded() {
    use base64::Engine;
    let h = handler();
    let b = base64::engine::general_purpose::STANDARD.encode(r#"{"email":"b64@example.com"}"#);
    let r = h
        .handle(request(
            "POST",
            json!({"content-type": "application/json; charset=utf-8"}),
            Some(&b),
            true,
        ))
        .await;
    assert_eq!(r.status_code, 202);
}

#[tokio::test]
async fn a_store_outage_answers_503_and_writes_nothing() {
    let h = handler();
    h.store.fail_next_commits(1);
    let r = h
        .handle(post_json(&json!({"email": "d@example.com"})))
        .await;
    assert_eq!(r.status_code, 503);
    assert_eq!(body(&r)["error"]["code"], "temporarily_unavailable");
    assert_eq!(h.store.lead_count(), 0);
    assert!(h.publisher.published().is_empty());
    // The client's retry goes through.
    let r = h
        .handle(post_json(&json!({"email": "d@example.com"})))
        .await;
    assert_eq!(r.status_code, 202);
}

#[tokio::test]
async fn a_concurrent_writer_is_retried_not_lost() {
    let h = handler();
    h.handle(post_json(&json!({"email": "e@example.com"})))
        .await;
    h.store.conflict_next_commits(2);
    let r = h
        .handle(post_json(
            &json!({"email": "e@example.com", "need": "identified"}),
        ))
        .await;
    assert_eq!(r.status_code, 202);
    let lead = &h.store.leads()[0];
    assert_eq!(lead.responses, 2);
    assert_eq!(lead.version, 2);
}

#[tokio::test]
async fn when_the_queue_is_down_the_inquiry_waits_in_the_outbox_for_the_sweeper() {
    let h = handler();
    h.publisher.fail_next(1);
    let r = h
        .handle(post_json(&json!({"email": "f@example.com"})))
        .await;
    assert_eq!(r.status_code, 202, "accepted: the outbox holds it");
    assert!(h.publisher.published().is_empty());
    assert_eq!(h.store.outbox().len(), 1);

    // Too fresh for the sweeper (the writer may still be publishing)…
    let report = sweep(&h.store, &h.publisher, h.clock.now(), None)
        .await
        .unwrap();
    assert_eq!(report.published, 0);
    // …then taken over.
    h.clock.advance(Duration::minutes(1));
    let report = sweep(&h.store, &h.publisher, h.clock.now(), None)
        .await
        .unwrap();
    assert_eq!(report.published, 1);
    assert!(h.store.outbox().is_empty());
    let msg: RouteRequest = serde_json::from_str(&h.publisher.published()[0].body).unwrap();
    assert_eq!(msg.lead_id, lead_of(&h, "f@example.com").await);
    assert_eq!(msg.response_id.as_str(), body(&r)["response_id"]);
}

#[tokio::test]
async fn an_idempotency_key_is_replayed_for_a_day_then_free_again() {
    let h = handler();
    let post = |body: &str| {
        request(
            "POST",
            json!({"content-type": "application/json", "idempotency-key": "daily"}),
            Some(body),
            false,
        )
    };
    let first = h.handle(post(r#"{"email":"day@example.com"}"#)).await;
    h.clock.advance(Duration::hours(23));
    let replay = h.handle(post(r#"{"email":"day@example.com"}"#)).await;
    assert_eq!(
        header(&replay, "idempotent-replayed").as_deref(),
        Some("true")
    );
    h.clock.advance(Duration::hours(2));
    let later = h
        .handle(post(r#"{"email":"day@example.com","request_type":"demo"}"#))
        .await;
    assert_eq!(later.status_code, 202, "{}", body(&later));
    assert_eq!(header(&later, "idempotent-replayed"), None);
    assert_ne!(body(&later)["response_id"], body(&first)["response_id"]);
    assert_eq!(h.store.lead_count(), 1);
    assert_eq!(h.store.leads()[0].responses, 2);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 4)]
async fn twenty_identical_posts_at_once_are_one_lead_with_twenty_responses() {
    let h = Arc::new(handler());
    let posts: Vec<_> = (0..20)
        .map(|_| {
            let h = h.clone();
            tokio::spawn(async move {
                h.handle(post_json(&json!({
                    "email": "burst@example.com", "request_type": "demo", "campaign": "spring"
                })))
                .await
            })
        })
        .collect();
    let mut answers = Vec::new();
    for p in posts {
        answers.push(p.await.unwrap());
    }
    assert!(
        answers.iter().all(|r| r.status_code == 202),
        "{:?}",
        answers.iter().map(|r| r.status_code).collect::<Vec<_>>()
    );
    assert_eq!(h.store.lead_count(), 1);
    let id = lead_of(&h, "burst@example.com").await.to_string();
    let responses = history(&h, &id)
        .await
        .into_iter()
        .filter(|e| matches!(e, Event::Response(r) if r.attribution.campaign.as_deref() == Some("spring")))
        .count();
    assert_eq!(
        responses, 20,
        "every response is recorded with its campaign"
    );
    assert_eq!(h.publisher.published().len(), 20, "each goes to routing");
}

#[tokio::test]
async fn over_the_per_address_limit_answers_429_and_records_nothing() {
    let h = handler();
    let limit = h.playbook.limits.per_address.unwrap();
    let post = || post_json(&json!({"email": "flood@example.com", "request_type": "info"}));
    for _ in 0..limit.max {
        assert_eq!(h.handle(post()).await.status_code, 202);
    }
    let before = h.store.leads()[0].clone();
    let published = h.publisher.published().len();

    let r = h.handle(post()).await;
    assert_eq!(r.status_code, 429);
    assert_eq!(body(&r)["error"]["code"], "rate_limited");
    assert_eq!(body(&r)["error"]["field"], "email");
    assert_eq!(
        header(&r, "content-type").as_deref(),
        Some("application/json")
    );
    // The window is an hour from 09:00 sharp: retry at 10:00.
    assert_eq!(header(&r, "retry-after").as_deref(), Some("3600"));
    assert_eq!(h.store.leads()[0], before, "nothing written");
    assert_eq!(h.publisher.published().len(), published, "nothing sent");

    // A plain HTML form gets a page, with the same status and Retry-After.
    let mut form = post_form("email=flood%40example.com");
    form.headers.insert("accept", "text/html".parse().unwrap());
    let r = h.handle(form).await;
    assert_eq!(r.status_code, 429);
    assert!(header(&r, "retry-after").is_some());

    // Another person is not held up, and the next window is open again.
    let other = h
        .handle(post_json(&json!({"email": "calm@example.com"})))
        .await;
    assert_eq!(other.status_code, 202);
    h.clock.advance(Duration::hours(1));
    assert_eq!(h.handle(post()).await.status_code, 202);
}

#[tokio::test]
async fn over_the_per_source_ip_limit_answers_429_for_any_address() {
    let h = handler();
    let limit = h.playbook.limits.per_source_ip.unwrap();
    for i in 0..limit.max {
        let r = h
            .handle(post_json(&json!({"email": format!("bot{i}@example.com")})))
            .await;
        assert_eq!(r.status_code, 202);
    }
    let leads = h.store.lead_count();
    let r = h
        .handle(post_json(&json!({"email": "stranger@example.com"})))
        .await;
    assert_eq!(r.status_code, 429);
    assert_eq!(body(&r)["error"]["code"], "rate_limited");
    assert!(body(&r)["error"].get("field").is_none());
    let secs: u64 = header(&r, "retry-after").unwrap().parse().unwrap();
    assert!((1..=60).contains(&secs), "{secs}");
    assert_eq!(h.store.lead_count(), leads, "nothing written");
    // An idempotent replay of an accepted post is still answered: it records nothing.
    h.clock.advance(Duration::minutes(1));
    let r = h
        .handle(post_json(&json!({"email": "stranger@example.com"})))
        .await;
    assert_eq!(r.status_code, 202, "a new window");
}

#[test]
fn a_redirect_must_be_on_an_allowed_page_exactly() {
    use intake::redirect_allowed;
    for (allowed, target, ok) in [
        ("https://good.com", "https://good.com/thanks", true),
        ("https://good.com/", "https://good.com/thanks?x=1", true),
        ("https://good.com", "https://good.com.evil.com/", false),
        ("https://good.com", "https://good.com@evil.com/", false),
        ("https://good.com", "https://user:pw@good.com/", false),
        ("https://good.com", "http://good.com/", false),
        ("https://good.com", "https://good.com:8443/", false),
        ("https://good.com:443", "https://GOOD.com/x", true),
        (
            "https://good.com/campaigns",
            "https://good.com/campaigns/spring",
            true,
        ),
        (
            "https://good.com/campaigns",
            "https://good.com/campaignsevil",
            false,
        ),
        (
            "https://good.com/campaigns/",
            "https://good.com/other",
            false,
        ),
        ("https://good.com", "javascript:alert(1)", false),
        ("https://good.com", "//evil.com/", false),
        ("not a url", "https://good.com/", false),
    ] {
        assert_eq!(
            redirect_allowed(allowed, target),
            ok,
            "{allowed} → {target}"
        );
    }
}

#[tokio::test]
async fn idempotency_keys_belong_to_their_client_and_their_exact_body() {
    let h = handler();
    let post = |origin: &str, ct: &str, body: &str| {
        request(
            "POST",
            json!({"content-type": ct, "idempotency-key": "1", "origin": origin}),
            Some(body),
            false,
        )
    };
    let json_ct = "application/json";
    let a = h
        .handle(post(
            "https://a.example.com",
            json_ct,
            r#"{"email":"a@example.com"}"#,
        ))
        .await;
    // Another page counting from 1 too: not a replay of the first.
    let b = h
        .handle(post(
            "https://b.example.com",
            json_ct,
            r#"{"email":"b@example.com"}"#,
        ))
        .await;
    assert_eq!((a.status_code, b.status_code), (202, 202));
    assert_eq!(header(&b, "idempotent-replayed"), None);
    assert_eq!(h.store.lead_count(), 2);
    // The same fields as a form under the first page's key: a different request.
    let form = h
        .handle(post(
            "https://a.example.com",
            "application/x-www-form-urlencoded",
            "email=a%40example.com",
        ))
        .await;
    assert_eq!(form.status_code, 422);
    assert_eq!(body(&form)["error"]["code"], "idempotency_key_reused");
    // The exact request again is a replay.
    let again = h
        .handle(post(
            "https://a.example.com",
            json_ct,
            r#"{"email":"a@example.com"}"#,
        ))
        .await;
    assert_eq!(
        header(&again, "idempotent-replayed").as_deref(),
        Some("true")
    );
}

#[test]
fn key_scopes_and_fingerprints_are_sha256_digests() {
    use intake::{fingerprint, scoped_key};
    let k = scoped_key(Some("https://a.example.com"), Some("192.0.2.1"), "1");
    assert_eq!(k.len(), 64);
    assert_ne!(k, scoped_key(Some("https://b.example.com"), None, "1"));
    assert_ne!(k, scoped_key(None, Some("192.0.2.1"), "1"));
    assert_eq!(
        k,
        scoped_key(Some("HTTPS://A.example.com"), Some("198.51.100.7"), "1")
    );
    assert_ne!(
        fingerprint("application/json", b"{}"),
        fingerprint("application/x-www-form-urlencoded", b"{}")
    );
}

#[tokio::test]
async fn an_email_claim_without_its_lead_is_taken_over_not_refused_for_ever() {
    let h = handler();
    let orphan = LeadId::generate();
    h.store.orphan_email_claim(
        leadflow::EmailAddress::parse("lost@example.com").unwrap(),
        orphan.clone(),
    );
    let r = h
        .handle(post_json(&json!({"email": "lost@example.com"})))
        .await;
    assert_eq!(r.status_code, 202, "{}", body(&r));
    let lead = h
        .store
        .lead(&orphan)
        .await
        .unwrap()
        .expect("the lead is written under the claim");
    assert_eq!(lead.responses, 1);
    let again = h
        .handle(post_json(&json!({"email": "lost@example.com"})))
        .await;
    assert_eq!(again.status_code, 202);
    assert_eq!(h.store.lead(&orphan).await.unwrap().unwrap().responses, 2);
}

#[tokio::test]
async fn the_answer_is_the_same_for_a_known_and_an_unknown_person() {
    let h = handler();
    let shape = |r: &ApiGatewayV2httpResponse| {
        let b = body(r);
        let mut keys: Vec<String> = b.as_object().unwrap().keys().cloned().collect();
        keys.sort();
        (r.status_code, keys, b["status"].clone())
    };
    let unknown = h
        .handle(post_json(&json!({"email": "new@example.com"})))
        .await;
    let known = h
        .handle(post_json(&json!({"email": "new@example.com"})))
        .await;
    assert_eq!(shape(&unknown), shape(&known));
    assert_ne!(body(&unknown)["response_id"], body(&known)["response_id"]);
    assert!(!body(&known)
        .to_string()
        .contains(&h.store.leads()[0].id.to_string()));
}

#[tokio::test]
async fn addresses_the_mail_service_cannot_take_are_refused_or_encoded() {
    let h = handler();
    let r = h
        .handle(post_json(&json!({"email": "jürgen@example.de"})))
        .await;
    assert_eq!(r.status_code, 422);
    assert_eq!(body(&r)["error"]["code"], "invalid_email");
    assert_eq!(body(&r)["error"]["field"], "email");
    assert!(body(&r)["error"]["message"]
        .as_str()
        .unwrap()
        .contains("non-ASCII"));
    assert_eq!(h.store.lead_count(), 0);

    let r = h
        .handle(post_json(&json!({"email": "ana@münchen.de"})))
        .await;
    assert_eq!(r.status_code, 202);
    assert_eq!(h.store.leads()[0].email.as_str(), "ana@xn--mnchen-3ya.de");
    h.handle(post_json(&json!({"email": "ana@xn--mnchen-3ya.de"})))
        .await;
    assert_eq!(h.store.lead_count(), 1, "the same person either way");
}

#[tokio::test]
async fn a_write_the_store_refuses_as_invalid_is_a_4xx_not_try_again() {
    let h = handler();
    h.store.refuse_next_commits(1);
    let r = h
        .handle(post_json(&json!({"email": "huge@example.com"})))
        .await;
    assert_eq!(r.status_code, 422);
    assert_eq!(body(&r)["error"]["code"], "not_storable");
    assert!(header(&r, "retry-after").is_none());
    assert_eq!(h.store.lead_count(), 0);
}

#[tokio::test]
async fn a_lead_keeps_a_bounded_set_of_custom_fields_however_often_a_person_posts() {
    let h = handler();
    let value = "é".repeat(1000);
    for post in 0..10 {
        let mut body = serde_json::Map::new();
        body.insert("email".into(), json!("many@example.com"));
        for i in 0..20 {
            body.insert(format!("f_{post}_{i}"), json!(value));
        }
        let r = h.handle(post_json(&Value::Object(body))).await;
        assert_eq!(r.status_code, 202, "post {post}");
    }
    let lead = &h.store.leads()[0];
    assert_eq!(lead.responses, 10);
    assert!(lead.custom.len() <= leadflow::Lead::MAX_CUSTOM_FIELDS);
    let bytes: usize = lead.custom.iter().map(|(k, v)| k.len() + v.len()).sum();
    assert!(bytes <= leadflow::Lead::MAX_CUSTOM_BYTES, "{bytes}");
    // What did not fit is in the history, with the reason.
    let kept_aside: usize = history(&h, lead.id.as_str())
        .await
        .iter()
        .map(|e| match e {
            Event::Response(r) => r.conflicts.len(),
            _ => 0,
        })
        .sum();
    assert_eq!(kept_aside + lead.custom.len(), 200);
}

#[test]
fn a_recorded_post_counts_by_source_by_request_type_and_in_all() {
    let doc = intake::leads_in(leadflow::Source::Event, RequestType::OnsiteDemo, true)
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(
        emf_shape(&doc),
        (
            sets(&[&["Source"], &["RequestType"], &[]]),
            counts(&[("LeadsIn", 1), ("NewLeads", 1)])
        )
    );
    assert_eq!(doc["Source"], "event");
    assert_eq!(doc["RequestType"], "onsite_demo");
    assert_eq!(doc["_aws"]["Timestamp"], 1_796_198_400_000_i64);
}

#[tokio::test]
async fn a_filled_honeypot_is_thanked_as_a_person_would_be_and_records_nothing() {
    let h = handler();
    // What a person is told, for comparison.
    let person = h
        .handle(post_form(
            "email=p%40example.com&hp_website=&redirect=https%3A%2F%2Fwww.example.com%2Fdemo-thanks",
        ))
        .await;
    assert_eq!(h.store.lead_count(), 1);
    let bot = h
        .handle(post_form(
            "email=bot%40example.com&hp_website=http%3A%2F%2Fspam.example&redirect=https%3A%2F%2Fwww.example.com%2Fdemo-thanks",
        ))
        .await;
    assert_eq!(bot.status_code, person.status_code);
    assert_eq!(bot.headers, person.headers);
    assert_eq!(bot.body, person.body);
    // Even a post that would be refused is thanked: the bot learns nothing.
    let r = h
        .handle(post_json(
            &json!({"email": "not an address", "hp_website": "x"}),
        ))
        .await;
    assert_eq!(r.status_code, 202);
    let b = body(&r);
    assert_eq!(b["status"], "received");
    assert!(b["response_id"].as_str().unwrap().starts_with("rs_"));
    assert_eq!(h.store.lead_count(), 1, "no lead for a bot");
    assert_eq!(h.publisher.published().len(), 1, "nothing routed for a bot");
}

#[tokio::test]
async fn a_form_sent_faster_than_a_person_fills_it_is_spam_only_when_it_says_so() {
    let h = handler();
    let min_ms = u64::from(h.playbook.spam.min_fill_seconds) * 1000;
    assert!(min_ms > 0);
    let post = |email: &str, fill: Option<String>| {
        let mut form = format!("email={email}%40example.com&first_name=Fay");
        if let Some(ms) = fill {
            form.push_str(&format!("&form_fill_ms={ms}"));
        }
        post_form(&form)
    };
    for (email, fill, recorded) in [
        ("fast", Some((min_ms - 1).to_string()), false),
        ("garbled", Some("soon".to_string()), false),
        ("person", Some((min_ms + 2500).to_string()), true),
        // The page's script did not run: nothing to hold it to.
        ("noscript", Some(String::new()), true),
        // API clients and imports do not send it.
        ("client", None, true),
    ] {
        let r = h.handle(post(email, fill)).await;
        assert_eq!(r.status_code, 303, "{email}");
        assert_eq!(
            header(&r, "location").as_deref(),
            Some("https://www.example.com/thanks")
        );
        let address = leadflow::EmailAddress::parse(&format!("{email}@example.com")).unwrap();
        let id = h.store.lead_id_by_email(&address).await.unwrap();
        assert_eq!(id.is_some(), recorded, "{email}");
        if let Some(id) = id {
            let lead = h.store.lead(&id).await.unwrap().unwrap();
            assert!(
                !lead.custom.contains_key("form_fill_ms")
                    && !lead.custom.contains_key("hp_website"),
                "the guard's fields are never stored: {:?}",
                lead.custom
            );
        }
    }
    // JSON is held to it the same way when it carries the field.
    let r = h
        .handle(post_json(
            &json!({"email": "quick@example.com", "form_fill_ms": 10}),
        ))
        .await;
    assert_eq!(r.status_code, 202);
    assert_eq!(h.store.lead_count(), 3);
    // Recorded as spam for the health report: three posts too fast, on the handler's day.
    let day = h.clock.now().date_naive();
    let rows = h
        .store
        .day_counts(leadflow::domain::stats::Dim::Spam, day, day)
        .await
        .unwrap();
    let counted: Vec<(String, i64)> = rows
        .iter()
        .map(|r| (r.value.clone(), r.metrics["spam"]))
        .collect();
    assert_eq!(counted, vec![("too_fast".to_string(), 3)]);
    // Held, not dropped (issue 24, item 17): each with its reason and what
    // was sent (the guard's fields left out), for ops to release.
    use leadflow::ports::Quarantine;
    let days = leadflow::app::quarantine::days(&h.playbook, h.clock.now());
    let (held, _) = h.store.held(&days, None, 10).await.unwrap();
    let mut reasons: Vec<(String, String)> = held
        .iter()
        .map(|p| (p.fields[0].1.clone(), p.reason.clone()))
        .collect();
    reasons.sort();
    assert_eq!(
        reasons,
        vec![
            (
                "fast@example.com".to_string(),
                format!(
                    "sent {} ms after the form opened (the minimum is {min_ms} ms)",
                    min_ms - 1
                )
            ),
            (
                "garbled@example.com".to_string(),
                "a fill time no page writes (\"soon\" in `form_fill_ms`)".to_string()
            ),
            (
                "quick@example.com".to_string(),
                format!("sent 10 ms after the form opened (the minimum is {min_ms} ms)")
            ),
        ]
    );
    assert!(held
        .iter()
        .all(|p| p.sign == "too_fast" && p.fields.iter().all(|(k, _)| k != "form_fill_ms")));
}

/// A flood from one source is held up to the per-source limit, then only
/// counted: a bot cannot fill the table; and held spam never uses up the
/// source's allowance for real posts.
#[tokio::test]
async fn a_spam_flood_is_held_up_to_the_sources_limit() {
    use leadflow::ports::Quarantine;
    let h = handler();
    let limit = h.playbook.limits.per_source_ip.unwrap();
    for i in 0..limit.max + 5 {
        let r = h
            .handle(post_json(
                &json!({"email": format!("bot{i}@example.com"), "hp_website": "x"}),
            ))
            .await;
        assert_eq!(r.status_code, 202);
    }
    let days = leadflow::app::quarantine::days(&h.playbook, h.clock.now());
    let (held, _) = h.store.held(&days, None, 500).await.unwrap();
    assert_eq!(held.len() as u32, limit.max);
    // A person from the same source is still recorded.
    let r = h
        .handle(post_json(&json!({"email": "person@example.com"})))
        .await;
    assert_eq!(r.status_code, 202);
    assert_eq!(h.store.lead_count(), 1);
}

#[test]
fn spam_counts_by_sign_and_in_all() {
    use leadflow::domain::spam::SpamSign;
    let doc = intake::spam(SpamSign::TooFast)
        .document(chrono::Utc.with_ymd_and_hms(2026, 12, 2, 8, 0, 0).unwrap())
        .unwrap();
    assert_eq!(
        emf_shape(&doc),
        (sets(&[&["Sign"], &[]]), counts(&[("Spam", 1)]))
    );
    assert_eq!(doc["Sign"], "too_fast");
}
