//! The rep's API with in-memory ports: sign-in, visibility, every seed 000
//! branch, status, reassignment, versions and the signed links.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use chrono::{DateTime, Duration, TimeZone, Utc};
use leadflow::domain::outcome::Outcome;
use leadflow::links::{Action, ActionLink, LinkKey, LINK_LIFETIME};
use leadflow::ports::prelude::*;
use leadflow::ports::Clock;
use leadflow::testing::{routed_lead, FixedClock, FixedDeadLetters, MemoryPublisher, MemoryStore};
use leadflow::{LeadId, Playbook};
use sales::Sales;
use serde_json::{json, Value};

type Api = Sales<MemoryStore, MemoryPublisher, FixedClock, FixedDeadLetters>;

const KEY: [u8; 32] = [7u8; 32];

fn api() -> Api {
    Sales {
        store: MemoryStore::new(),
        publisher: MemoryPublisher::new(),
        // A Tuesday morning.
        clock: FixedClock::at(Utc.with_ymd_and_hms(2026, 12, 1, 9, 0, 0).unwrap()),
        playbook: Playbook::default_playbook().unwrap(),
        links: leadflow::links::Keyring::fixed(LinkKey::new(&KEY).unwrap()),
        dead_letters: FixedDeadLetters::default(),
        workspace: sales::workspace::SignIn::Local,
        exports: Some(leadflow_aws::files::FileLinks::fixed(
            "exports-bucket",
            "eu-central-1",
            None,
        )),
        export_rows: sales::EXPORT_MAX,
    }
}

fn email_of(who: &str) -> String {
    Playbook::default_playbook()
        .unwrap()
        .rep(who)
        .map(|r| r.email.clone())
        .unwrap_or_else(|| format!("{who}@example.com"))
}

/// A request as the HTTP API hands it on after its JWT authorizer.
fn request(
    method: &str,
    route: &str,
    path: &[(&str, &str)],
    who: Option<&str>,
    query: &[(&str, &str)],
    body: Option<Value>,
) -> ApiGatewayV2httpRequest {
    let raw_path = path
        .iter()
        .fold(route.split_once(' ').unwrap().1.to_string(), |p, (k, v)| {
            p.replace(&format!("{{{k}}}"), v)
        });
    let mut ctx = json!({
        "routeKey": route,
        "http": { "method": method, "path": raw_path, "sourceIp": "203.0.113.9" },
    });
    if let Some(who) = who {
        ctx["authorizer"] = json!({ "jwt": { "claims": { "email": email_of(who), "email_verified": "true", "sub": who }, "scopes": null } });
    }
    let q: serde_json::Map<String, Value> = query
        .iter()
        .map(|(k, v)| (k.to_string(), json!(v)))
        .collect();
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": route,
        "rawPath": raw_path,
        "rawQueryString": "",
        "headers": { "content-type": "application/json" },
        "queryStringParameters": q,
        "pathParameters": path.iter().map(|(k, v)| (k.to_string(), json!(v))).collect::<serde_json::Map<_, _>>(),
        "requestContext": ctx,
        "body": body.map(|b| b.to_string()),
        "isBase64Encoded": false,
    }))
    .unwrap()
}

fn body(r: &ApiGatewayV2httpResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap_or(Value::String(t.clone())),
        _ => Value::Null,
    }
}

fn text(r: &ApiGatewayV2httpResponse) -> String {
    match &r.body {
        Some(Body::Text(t)) => t.clone(),
        _ => String::new(),
    }
}

/// Intake then routing, as the pipeline does: the lead's id.
async fn lead(api: &Api, fields: &[(&str, &str)]) -> LeadId {
    routed_lead(&api.store, &api.playbook, api.clock.now(), fields).await
}

/// A German general inquiry with nothing known: inside sales (Lena Fischer) pre-qualifies.
async fn isr_lead(api: &Api, email: &str) -> LeadId {
    lead(
        api,
        &[
            ("email", email),
            ("request_type", "info"),
            ("country", "DE"),
            ("company", "Stadtwerke"),
        ],
    )
    .await
}

async fn get_lead(api: &Api, who: &str, id: &LeadId) -> ApiGatewayV2httpResponse {
    api.handle(request(
        "GET",
        "GET /leads/{lead_id}",
        &[("lead_id", id.as_str())],
        Some(who),
        &[],
        None,
    ))
    .await
}

async fn version(api: &Api, id: &LeadId) -> u64 {
    api.store.lead(id).await.unwrap().unwrap().version
}

async fn post(
    api: &Api,
    who: &str,
    id: &LeadId,
    what: &str,
    mut b: Value,
) -> ApiGatewayV2httpResponse {
    if b.get("version").is_none() {
        b["version"] = json!(version(api, id).await);
    }
    let route = format!("POST /leads/{{lead_id}}/{what}");
    api.handle(request(
        "POST",
        &route,
        &[("lead_id", id.as_str())],
        Some(who),
        &[],
        Some(b),
    ))
    .await
}

async fn outcome(api: &Api, who: &str, id: &LeadId, b: Value) -> ApiGatewayV2httpResponse {
    post(api, who, id, "outcomes", b).await
}

fn open_tasks(v: &Value) -> Vec<(String, String)> {
    v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| {
            (
                t["kind"].as_str().unwrap().to_string(),
                t["owner"]["id"]
                    .as_str()
                    .or(t["owner"]["name"].as_str())
                    .unwrap()
                    .to_string(),
            )
        })
        .collect()
}

fn owner_id(v: &Value) -> String {
    v["owner"]["id"]
        .as_str()
        .or(v["owner"]["name"].as_str())
        .unwrap_or_default()
        .to_string()
}

#[tokio::test]
async fn no_token_a_stranger_or_no_person_claim_is_401_with_the_error_json() {
    let api = api();
    let id = isr_lead(&api, "p1@stadtwerke.example").await;
    let r = api
        .handle(request("GET", "GET /leads", &[], None, &[], None))
        .await;
    assert_eq!(r.status_code, 401);
    assert_eq!(body(&r)["error"]["code"], "unauthorized");
    let r = get_lead(&api, "mallory", &id).await;
    assert_eq!(r.status_code, 401);
    assert_eq!(body(&r)["error"]["code"], "unauthorized");
}

/// A person is who Cognito verified: Lena's address, unverified (or with no
/// word on it), lets nobody in, with a 403 that says why.
#[tokio::test]
async fn an_unverified_address_is_403_and_names_nobody() {
    let api = api();
    let id = isr_lead(&api, "p9@stadtwerke.example").await;
    for verified in [Some("false"), None] {
        let mut req = request(
            "GET",
            "GET /leads/{lead_id}",
            &[("lead_id", id.as_str())],
            Some("lena.fischer"),
            &[],
            None,
        );
        let claims = &mut req
            .request_context
            .authorizer
            .as_mut()
            .and_then(|a| a.jwt.as_mut())
            .unwrap()
            .claims;
        match verified {
            Some(v) => claims.insert("email_verified".into(), v.into()),
            None => claims.remove("email_verified"),
        };
        let r = api.handle(req).await;
        assert_eq!(r.status_code, 403, "{verified:?}");
        assert_eq!(body(&r)["error"]["code"], "email_unverified");
        assert!(body(&r)["error"]["message"]
            .as_str()
            .unwrap()
            .contains("not verified"));
    }
    assert_eq!(get_lead(&api, "lena.fischer", &id).await.status_code, 200);
}

#[tokio::test]
async fn each_role_sees_what_it_should_and_others_get_404_as_for_no_lead() {
    let api = api();
    let id = isr_lead(&api, "p2@stadtwerke.example").await;
    let owner = api
        .store
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .owner()
        .unwrap()
        .clone();
    assert_eq!(owner.key(), "rep#lena.fischer");

    for who in ["lena.fischer", "nina.kovac", "olaf.berg"] {
        let r = get_lead(&api, who, &id).await;
        assert_eq!(r.status_code, 200, "{who}");
        let v = body(&r);
        assert_eq!(v["lead_id"], id.as_str());
        assert!(
            v["history"].as_array().unwrap().len() >= 2,
            "response and routing"
        );
        assert!(!v["lead"]["routing"]["reasons"]
            .as_array()
            .unwrap()
            .is_empty());
    }
    let missing = LeadId::generate();
    for who in ["ana.ruiz", "sam.patel", "maria.silva"] {
        let r = get_lead(&api, who, &id).await;
        assert_eq!(r.status_code, 404, "{who}");
        let other = get_lead(&api, who, &missing).await;
        assert_eq!(other.status_code, 404);
        assert_eq!(body(&r), body(&other), "no existence leak");
    }
    // Lists: lena and her manager and ops see it; ana does not.
    let list = |who: &'static str| {
        let api = &api;
        async move {
            body(
                &api.handle(request("GET", "GET /leads", &[], Some(who), &[], None))
                    .await,
            )
        }
    };
    let ids = |v: Value| {
        v["leads"]
            .as_array()
            .unwrap()
            .iter()
            .map(|l| l["lead_id"].as_str().unwrap().to_string())
            .collect::<Vec<_>>()
    };
    assert_eq!(ids(list("lena.fischer").await), vec![id.to_string()]);
    assert_eq!(ids(list("nina.kovac").await), vec![id.to_string()]);
    assert_eq!(ids(list("olaf.berg").await), vec![id.to_string()]);
    assert!(ids(list("ana.ruiz").await).is_empty());
}

#[tokio::test]
async fn lists_page_newest_first_and_filter() {
    let api = api();
    let mut made = Vec::new();
    for i in 0..5 {
        made.push(isr_lead(&api, &format!("page{i}@stadtwerke.example")).await);
        api.clock.advance(Duration::minutes(1));
    }
    let r = api
        .handle(request(
            "GET",
            "GET /leads",
            &[],
            Some("lena.fischer"),
            &[("limit", "2")],
            None,
        ))
        .await;
    let v = body(&r);
    let first: Vec<&str> = v["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(first, vec![made[4].as_str(), made[3].as_str()]);
    let next = v["next"].as_str().unwrap().to_string();
    let v = body(
        &api.handle(request(
            "GET",
            "GET /leads",
            &[],
            Some("lena.fischer"),
            &[("limit", "2"), ("next", &next)],
            None,
        ))
        .await,
    );
    let second: Vec<&str> = v["leads"]
        .as_array()
        .unwrap()
        .iter()
        .map(|l| l["lead_id"].as_str().unwrap())
        .collect();
    assert_eq!(second, vec![made[2].as_str(), made[1].as_str()]);

    let filtered = |q: &'static [(&'static str, &'static str)]| {
        let api = &api;
        async move {
            let r = api
                .handle(request(
                    "GET",
                    "GET /leads",
                    &[],
                    Some("olaf.berg"),
                    q,
                    None,
                ))
                .await;
            (r.status_code, body(&r))
        }
    };
    let (s, v) = filtered(&[("route", "need_information")]).await;
    assert_eq!((s, v["leads"].as_array().unwrap().len()), (200, 5));
    let (_, v) = filtered(&[("route", "hot")]).await;
    assert!(v["leads"].as_array().unwrap().is_empty());
    let (_, v) = filtered(&[("owner", "sam.patel")]).await;
    assert!(v["leads"].as_array().unwrap().is_empty());
    let (s, v) = filtered(&[("stage", "nope")]).await;
    assert_eq!((s, v["error"]["field"].as_str()), (422, Some("stage")));
}

#[tokio::test]
async fn routing_gives_inside_sales_the_prequalification_call_and_the_kit_follow_up() {
    let api = api();
    isr_lead(&api, "tasks@stadtwerke.example").await;
    let r = api
        .handle(request(
            "GET",
            "GET /tasks",
            &[],
            Some("lena.fischer"),
            &[],
            None,
        ))
        .await;
    assert_eq!(r.status_code, 200);
    let v = body(&r);
    let kinds: Vec<&str> = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .map(|t| t["kind"].as_str().unwrap())
        .collect();
    // Earliest due first: the call within the 24 h SLA, then 2 business days after the kit.
    assert_eq!(kinds, vec!["prequalification_call", "kit_follow_up"]);
    assert_eq!(v["tasks"][0]["due_at"], "2026-12-02T09:00:00Z");
    assert_eq!(v["tasks"][1]["due_at"], "2026-12-03T09:00:00Z");
    let r = api
        .handle(request(
            "GET",
            "GET /tasks",
            &[],
            Some("lena.fischer"),
            &[("due_before", "2026-12-03")],
            None,
        ))
        .await;
    assert_eq!(body(&r)["tasks"].as_array().unwrap().len(), 1);
    let r = api
        .handle(request(
            "GET",
            "GET /tasks",
            &[],
            Some("sam.patel"),
            &[],
            None,
        ))
        .await;
    assert!(body(&r)["tasks"].as_array().unwrap().is_empty());
}

#[tokio::test]
async fn not_reached_keeps_the_lead_closes_the_call_and_asks_to_call_again() {
    let api = api();
    let id = isr_lead(&api, "nr@stadtwerke.example").await;
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": false, "outcome": "not_reached"}),
    )
    .await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let v = body(&r);
    assert_eq!(v["route"], "need_information");
    assert_eq!(owner_id(&v), "lena.fischer");
    assert_eq!(
        open_tasks(&v),
        vec![
            ("call_again".to_string(), "lena.fischer".to_string()),
            ("kit_follow_up".to_string(), "lena.fischer".to_string())
        ]
    );
    assert!(api.publisher.take().is_empty(), "nobody new to tell");
    let lead = api.store.lead(&id).await.unwrap().unwrap();
    let touch = lead.first_touch.unwrap();
    assert_eq!(
        (touch.by.as_str(), touch.within_sla),
        ("lena.fischer", Some(true))
    );
    // Reached must agree with the outcome.
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": true, "outcome": "not_reached"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("reached"))
    );
}

#[tokio::test]
async fn qualifying_records_the_reps_answers_and_hands_off_when_the_rules_say_hot() {
    let api = api();
    let id = isr_lead(&api, "q@stadtwerke.example").await;
    // One criterion: keep working it.
    let r = outcome(&api, "lena.fischer", &id, json!({"reached": true, "outcome": "qualifying", "bant": {"need": "identified"}, "notes": "Call after their board meeting"})).await;
    let v = body(&r);
    assert_eq!(r.status_code, 200, "{v}");
    assert_eq!(
        (v["route"].as_str(), owner_id(&v)),
        (Some("need_information"), "lena.fischer".to_string())
    );
    assert!(open_tasks(&v).contains(&("follow_up_call".into(), "lena.fischer".into())));
    let lead = api.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(
        lead.bant.0[&leadflow::Criterion::Need].source,
        "sales:lena.fischer"
    );

    // All four: qualified opportunity, hot, handed to EMEA field sales; Lena supports.
    let r = outcome(&api, "lena.fischer", &id, json!({"reached": true, "outcome": "qualifying", "bant": {"budget": "defined_fits", "authority": "decision_maker", "need": "established", "timeframe": "within_3_months"}})).await;
    let v = body(&r);
    assert_eq!(v["route"], "hot", "{v}");
    assert_eq!(v["stage"], "qualified_opportunity");
    let seller = owner_id(&v);
    assert!(
        ["ana.ruiz", "jonas.weber"].contains(&seller.as_str()),
        "{seller}"
    );
    assert_eq!(
        open_tasks(&v),
        vec![("initial_dialogue".to_string(), seller.clone())],
        "Lena's calls are moot"
    );
    assert_eq!(get_lead(&api, &seller, &id).await.status_code, 200);
    assert_eq!(
        get_lead(&api, "lena.fischer", &id).await.status_code,
        200,
        "the ISR who handed it off still sees it"
    );
    assert_eq!(api.store.load_of(&seller), 1);
    assert_eq!(api.store.load_of("lena.fischer"), 0);
    // A bad answer changes nothing.
    let before = version(&api, &id).await;
    let r = outcome(
        &api,
        &seller,
        &id,
        json!({"reached": true, "outcome": "qualifying", "bant": {"budget": "lots"}}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("bant"))
    );
    assert_eq!(version(&api, &id).await, before);
}

#[tokio::test]
async fn no_interest_and_a_dropped_assessment_go_to_the_dead_file_with_no_open_tasks() {
    for o in ["no_interest", "assessment_dropped_not_interested"] {
        let api = api();
        let id = isr_lead(&api, &format!("{o}@stadtwerke.example")).await;
        assert_eq!(api.store.load_of("lena.fischer"), 1);
        let r = outcome(
            &api,
            "lena.fischer",
            &id,
            json!({"reached": true, "outcome": o}),
        )
        .await;
        let v = body(&r);
        assert_eq!(r.status_code, 200, "{v}");
        assert_eq!(
            (v["route"].as_str(), v["status"].as_str()),
            (Some("dead"), Some("dead"))
        );
        assert!(v["tasks"].as_array().unwrap().is_empty());
        assert!(api.store.all_tasks().iter().all(|t| !t.is_open()));
        assert_eq!(api.store.load_of("lena.fischer"), 0, "{o}");
    }
}

#[tokio::test]
async fn not_now_nurtures_with_a_periodic_call_from_the_same_rep() {
    let api = api();
    let id = isr_lead(&api, "later@stadtwerke.example").await;
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": true, "outcome": "not_now"}),
    )
    .await;
    let v = body(&r);
    assert_eq!(
        (v["route"].as_str(), v["status"].as_str()),
        (Some("need_nurturing"), Some("nurturing")),
        "{v}"
    );
    assert_eq!(owner_id(&v), "lena.fischer");
    let periodic = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "periodic_follow_up")
        .unwrap();
    // 20 business days after Tuesday 2026-12-01 in Lena's calendar (emea:
    // 24, 25 and 31 December and 1 January are holidays), at 10:00 Berlin.
    assert_eq!(periodic["due_at"], "2027-01-04T09:00:00Z");
}

#[tokio::test]
async fn wants_demo_assigns_a_sales_executive_and_inside_sales_schedules_the_demo() {
    let api = api();
    let id = isr_lead(&api, "demo@stadtwerke.example").await;
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": true, "outcome": "wants_demo"}),
    )
    .await;
    let v = body(&r);
    assert_eq!(v["route"], "hot", "{v}");
    let seller = owner_id(&v);
    assert!(["ana.ruiz", "jonas.weber"].contains(&seller.as_str()));
    let tasks = open_tasks(&v);
    assert!(
        tasks.contains(&("schedule_remote_demo".into(), "lena.fischer".into())),
        "{tasks:?}"
    );
    assert!(tasks.contains(&("initial_dialogue".into(), seller.clone())));
    // Lena sees her task and the lead.
    let mine = body(
        &api.handle(request(
            "GET",
            "GET /tasks",
            &[],
            Some("lena.fischer"),
            &[],
            None,
        ))
        .await,
    );
    assert_eq!(mine["tasks"][0]["kind"], "schedule_remote_demo");
    assert_eq!(get_lead(&api, "lena.fischer", &id).await.status_code, 200);
    // The demo is scheduled: that task is done.
    let r = post(
        &api,
        &seller,
        &id,
        "status",
        json!({"status": "demo_scheduled"}),
    )
    .await;
    assert!(!open_tasks(&body(&r))
        .iter()
        .any(|(k, _)| k == "schedule_remote_demo"));
}

#[tokio::test]
async fn wants_onsite_goes_to_field_sales_at_once_and_latam_to_the_partner() {
    let api = api();
    let id = isr_lead(&api, "onsite@stadtwerke.example").await;
    let v = body(
        &outcome(
            &api,
            "lena.fischer",
            &id,
            json!({"reached": true, "outcome": "wants_onsite"}),
        )
        .await,
    );
    assert_eq!(v["route"], "hot");
    assert!(["ana.ruiz", "jonas.weber"].contains(&owner_id(&v).as_str()));
    assert_eq!(
        open_tasks(&v),
        vec![("initial_dialogue".to_string(), owner_id(&v))]
    );

    // A Brazilian lead, worked by ops: the partner for that territory.
    let br = lead(
        &api,
        &[
            ("email", "x@empresa.example"),
            ("request_type", "info"),
            ("country", "BR"),
        ],
    )
    .await;
    let v = body(
        &outcome(
            &api,
            "olaf.berg",
            &br,
            json!({"reached": true, "outcome": "wants_onsite"}),
        )
        .await,
    );
    assert_eq!(owner_id(&v), "maria.silva", "{v}");
}

#[tokio::test]
async fn assessment_branches_follow_seed_000() {
    let api = api();
    // Returned with two criteria met: a review call, inside sales keeps it.
    let id = isr_lead(&api, "a1@stadtwerke.example").await;
    let v = body(&outcome(&api, "lena.fischer", &id, json!({"reached": true, "outcome": "assessment_returned", "bant": {"need": "established", "authority": "decision_maker"}})).await);
    assert_eq!(owner_id(&v), "lena.fischer", "{v}");
    assert!(open_tasks(&v).contains(&("assessment_review".into(), "lena.fischer".into())));
    // Returned with three met: handed to field sales, no review left with inside sales.
    let id = isr_lead(&api, "a2@stadtwerke.example").await;
    let v = body(&outcome(&api, "lena.fischer", &id, json!({"reached": true, "outcome": "assessment_returned", "bant": {"need": "established", "authority": "decision_maker", "budget": "defined"}})).await);
    assert_eq!(v["route"], "hot", "{v}");
    assert!(!open_tasks(&v).iter().any(|(k, _)| k == "assessment_review"));
    // Still in progress: the prospect's own date is required, and the task is due then.
    let id = isr_lead(&api, "a3@stadtwerke.example").await;
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": true, "outcome": "assessment_in_progress"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("follow_up_on"))
    );
    let v = body(&outcome(&api, "lena.fischer", &id, json!({"reached": true, "outcome": "assessment_in_progress", "follow_up_on": "2027-01-15"})).await);
    let t = v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|t| t["kind"] == "assessment_follow_up")
        .unwrap();
    // The date the prospect gave, at the start of Lena's working day (09:00 Berlin).
    assert_eq!(t["due_at"], "2027-01-15T08:00:00Z");
    // Dropped but interested: qualify further; below the bar a demo to schedule.
    let id = isr_lead(&api, "a4@stadtwerke.example").await;
    let v = body(&outcome(&api, "lena.fischer", &id, json!({"reached": true, "outcome": "assessment_dropped_interested", "bant": {"need": "identified"}})).await);
    assert_eq!(owner_id(&v), "lena.fischer");
    assert!(open_tasks(&v).contains(&("schedule_remote_demo".into(), "lena.fischer".into())));
}

async fn lead_page(api: &Api, id: &LeadId, query: &[(&str, &str)]) -> ApiGatewayV2httpResponse {
    api.handle(request(
        "GET",
        "GET /leads/{lead_id}",
        &[("lead_id", id.as_str())],
        Some("lena.fischer"),
        query,
        None,
    ))
    .await
}

/// A lead's page shows its latest history entries, oldest first, and a
/// cursor to the page before: the whole story comes page by page, however
/// long it is, and a cursor this API did not give is a 422.
#[tokio::test]
async fn a_leads_history_comes_a_page_at_a_time() {
    let api = api();
    let id = isr_lead(&api, "story@stadtwerke.example").await;
    let t = api.clock.now();
    let visits: Vec<leadflow::domain::lead::HistoryEntry> = (0..120)
        .map(|i| {
            leadflow::domain::lead::HistoryEntry::new(
                &id,
                t + Duration::seconds(i),
                leadflow::domain::lead::Event::Activity {
                    kind: "site_visit".into(),
                    detail: Some(format!("visit {i}")),
                    message_id: None,
                    occurred_at: None,
                },
            )
        })
        .collect();
    api.store
        .commit(leadflow::ports::Commit {
            events: visits,
            ..Default::default()
        })
        .await
        .unwrap();
    let total = api.store.history(&id).await.unwrap().len();
    assert!(total > 120);
    let first = body(&lead_page(&api, &id, &[]).await);
    let entries = first["history"].as_array().unwrap();
    assert_eq!(entries.len(), 50, "the first page stays small");
    assert_eq!(
        entries.last().unwrap()["event"]["detail"],
        "visit 119",
        "the latest last"
    );
    let mut seen = entries.len();
    let mut next = first["history_next"].as_str().map(str::to_string);
    let mut oldest_seen = entries[0]["at"].as_str().unwrap().to_string();
    while let Some(cursor) = next {
        let v = body(
            &lead_page(
                &api,
                &id,
                &[("history_before", &cursor), ("history_limit", "200")],
            )
            .await,
        );
        let older = v["history"].as_array().unwrap();
        assert!(!older.is_empty());
        assert!(older.last().unwrap()["at"].as_str().unwrap() <= oldest_seen.as_str());
        oldest_seen = older[0]["at"].as_str().unwrap().to_string();
        seen += older.len();
        next = v["history_next"].as_str().map(str::to_string);
    }
    assert_eq!(seen, total, "every entry once");
    for (k, v) in [
        ("history_before", "bm90LWEtY3Vyc29y"),
        ("history_limit", "0"),
        ("history_limit", "201"),
    ] {
        let r = lead_page(&api, &id, &[(k, v)]).await;
        assert_eq!(
            (r.status_code, body(&r)["error"]["field"].clone()),
            (422, json!(k)),
            "{k}={v}"
        );
    }
}

/// A write that loses a race on a shared item (a report counter, a rep's
/// load) while the lead itself is unchanged is tried again, not answered
/// "stale" with the very version the rep sent.
#[tokio::test]
async fn a_busy_counter_is_retried_not_answered_as_a_stale_version() {
    let api = api();
    let id = isr_lead(&api, "busy@stadtwerke.example").await;
    let v0 = version(&api, &id).await;
    api.store.conflict_next_commits(2);
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": false, "outcome": "not_reached", "version": v0}),
    )
    .await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    assert_eq!(version(&api, &id).await, v0 + 1);
    let reported = api
        .store
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter(|h| {
            matches!(
                h.event,
                leadflow::domain::lead::Event::OutcomeRecorded { .. }
            )
        })
        .count();
    assert_eq!(reported, 1, "recorded once");
    // A store that stays busy: 503, try again, never "stale".
    api.store.conflict_next_commits(100);
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(r.status_code, 503, "{}", text(&r));
    api.store.conflict_next_commits(0);
    assert_eq!(version(&api, &id).await, v0 + 1);
}

#[tokio::test]
async fn a_stale_version_is_409_and_changes_nothing_and_concurrent_outcomes_never_lose_one() {
    let api = api();
    let id = isr_lead(&api, "race@stadtwerke.example").await;
    let v0 = version(&api, &id).await;
    let r = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": false, "outcome": "not_reached", "version": v0 + 7}),
    )
    .await;
    assert_eq!(r.status_code, 409);
    assert_eq!(body(&r)["error"]["code"], "stale_version");
    assert_eq!(body(&r)["error"]["current_version"], v0);
    assert_eq!(version(&api, &id).await, v0);

    // Two reps at once on the same version: one wins, the other is told to reload.
    let a = outcome(
        &api,
        "lena.fischer",
        &id,
        json!({"reached": false, "outcome": "not_reached", "version": v0}),
    );
    let b = outcome(
        &api,
        "nina.kovac",
        &id,
        json!({"reached": true, "outcome": "not_now", "version": v0}),
    );
    let (a, b) = tokio::join!(a, b);
    let mut codes = [a.status_code, b.status_code];
    codes.sort();
    assert_eq!(codes, [200, 409]);
    assert_eq!(version(&api, &id).await, v0 + 1);
    let history = api.store.history(&id).await.unwrap();
    let outcomes = history
        .iter()
        .filter(|h| {
            matches!(
                h.event,
                leadflow::domain::lead::Event::OutcomeRecorded { .. }
            )
        })
        .count();
    assert_eq!(outcomes, 1, "the losing report left no trace");
    // If-Match works as the version too.
    let mut req = request(
        "POST",
        "POST /leads/{lead_id}/outcomes",
        &[("lead_id", id.as_str())],
        Some("lena.fischer"),
        &[],
        Some(json!({"reached": false, "outcome": "not_reached"})),
    );
    req.headers
        .insert("if-match", format!("\"{}\"", v0 + 1).parse().unwrap());
    assert_eq!(api.handle(req).await.status_code, 200);
}

#[tokio::test]
async fn status_changes_check_what_they_need_and_close_the_lead() {
    let api = api();
    let id = isr_lead(&api, "st@stadtwerke.example").await;
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "accepted"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["status"].clone()),
        (200, json!("accepted"))
    );
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "lost", "reason": "price"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("lost_to"))
    );
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "rejected"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("reason"))
    );
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "won", "amount": 48000}),
    )
    .await;
    let v = body(&r);
    assert_eq!(
        (r.status_code, v["status"].as_str()),
        (200, Some("won")),
        "{v}"
    );
    assert!(v["tasks"].as_array().unwrap().is_empty());
    assert_eq!(api.store.load_of("lena.fischer"), 0);
    let lead = api.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.status_detail.unwrap().amount, Some(48000.0));
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "lost", "lost_to": "Rival", "reason": "price"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["code"].clone()),
        (422, json!("invalid_transition"))
    );
    // Won again (a second press): refused, so the close and its amount
    // count once in the reports.
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "won", "amount": 48000}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["code"].clone()),
        (422, json!("invalid_transition")),
        "{}",
        body(&r)
    );
    let closes = api
        .store
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter(|h| {
            matches!(
                h.event,
                leadflow::domain::lead::Event::StatusChanged {
                    to: leadflow::domain::outcome::LeadStatus::Won,
                    ..
                }
            )
        })
        .count();
    assert_eq!(closes, 1);
    // An amount no deal has: refused, before anything is summed.
    let big = isr_lead(&api, "big@stadtwerke.example").await;
    for amount in [json!(1e300), json!(-1), json!(1e12 + 1.0)] {
        let r = post(
            &api,
            "lena.fischer",
            &big,
            "status",
            json!({"status": "won", "amount": amount}),
        )
        .await;
        assert_eq!(
            (r.status_code, body(&r)["error"]["field"].clone()),
            (422, json!("amount")),
            "{amount}"
        );
    }

    // Rejected goes back to marketing with its reason.
    let id = isr_lead(&api, "rej@stadtwerke.example").await;
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "rejected", "reason": "student, not a buyer"}),
    )
    .await;
    let v = body(&r);
    assert_eq!(
        (v["route"].as_str(), owner_id(&v).as_str()),
        (Some("need_nurturing"), "nurture"),
        "{v}"
    );
    // Lost needs both.
    let id = isr_lead(&api, "lost@stadtwerke.example").await;
    let r = post(
        &api,
        "lena.fischer",
        &id,
        "status",
        json!({"status": "lost", "lost_to": "Rival GmbH", "reason": "price"}),
    )
    .await;
    assert_eq!(body(&r)["status"], "lost");
}

#[tokio::test]
async fn reassignment_by_owner_manager_or_ops_moves_the_tasks() {
    let api = api();
    let id = isr_lead(&api, "re@stadtwerke.example").await;
    // Not hers to move: ana cannot even see it.
    let r = post(
        &api,
        "ana.ruiz",
        &id,
        "assign",
        json!({"owner": "ana.ruiz", "reason": "mine"}),
    )
    .await;
    assert_eq!(r.status_code, 404);
    let r = post(
        &api,
        "nina.kovac",
        &id,
        "assign",
        json!({"owner": "sam.patel"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("reason"))
    );
    let r = post(
        &api,
        "nina.kovac",
        &id,
        "assign",
        json!({"owner": "nobody", "reason": "x"}),
    )
    .await;
    assert_eq!(
        (r.status_code, body(&r)["error"]["field"].clone()),
        (422, json!("owner"))
    );
    let r = post(
        &api,
        "nina.kovac",
        &id,
        "assign",
        json!({"owner": "sam.patel", "reason": "speaks the language"}),
    )
    .await;
    let v = body(&r);
    assert_eq!(
        (r.status_code, owner_id(&v)),
        (200, "sam.patel".to_string()),
        "{v}"
    );
    assert!(open_tasks(&v).iter().all(|(_, o)| o == "sam.patel"));
    assert_eq!(
        (
            api.store.load_of("lena.fischer"),
            api.store.load_of("sam.patel")
        ),
        (0, 1)
    );
    assert_eq!(get_lead(&api, "lena.fischer", &id).await.status_code, 404);
    let r = post(
        &api,
        "olaf.berg",
        &id,
        "assign",
        json!({"owner": "inside-sales", "reason": "pool it"}),
    )
    .await;
    assert_eq!(r.status_code, 200);
}

/// A lead handed on before anyone touched it gives its new owner their own
/// first-touch window: not the breached deadline of the one before, which
/// would count them "outside the SLA" and overdue from the moment it arrived.
#[tokio::test]
async fn a_reassigned_untouched_lead_gets_a_fresh_first_touch_deadline() {
    let api = api();
    let id = isr_lead(&api, "handed@stadtwerke.example").await;
    let before = api.store.lead(&id).await.unwrap().unwrap();
    let old_due = before.routing.as_ref().unwrap().follow_up_by.unwrap();
    api.clock.advance(Duration::hours(30));
    let now = api.clock.now();
    assert!(old_due < now, "breached before the hand-off");
    let r = post(
        &api,
        "nina.kovac",
        &id,
        "assign",
        json!({"owner": "sam.patel", "reason": "Lena is out this week"}),
    )
    .await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let lead = api.store.lead(&id).await.unwrap().unwrap();
    let due = lead.routing.as_ref().unwrap().follow_up_by.unwrap();
    assert!(due > now, "{due} after {now}");
    assert_eq!(lead.sla.as_ref().unwrap().due, due);
    let first_call = api
        .store
        .tasks(&id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.is_open() && t.kind == leadflow::domain::task::TaskKind::PrequalificationCall)
        .expect("the pre-qualification call moved with the lead");
    assert_eq!(first_call.owner.key(), "rep#sam.patel");
    assert_eq!(first_call.due_at, due);
}

#[tokio::test]
async fn signed_links_confirm_on_get_apply_once_on_post_and_expire() {
    let api = api();
    let id = isr_lead(&api, "link@stadtwerke.example").await;
    let key = LinkKey::new(&KEY).unwrap();
    let now: DateTime<Utc> = api.clock.now();
    let token = key.sign(&ActionLink::new(
        &id,
        "lena.fischer",
        Action::Outcome(Outcome::WantsDemo),
        now,
    ));
    let link = |method: &str| {
        request(
            method,
            &format!("{method} /actions/{{token}}"),
            &[("token", &token)],
            None,
            &[],
            None,
        )
    };

    let v0 = version(&api, &id).await;
    let r = api.handle(link("GET")).await;
    assert_eq!(r.status_code, 200);
    assert!(text(&r).contains("<form method=\"post\""), "{}", text(&r));
    assert_eq!(version(&api, &id).await, v0, "a GET changes nothing");

    let r = api.handle(link("POST")).await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    assert!(text(&r).contains("Recorded"));
    let lead = api.store.lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.routing.unwrap().route.as_str(), "hot");
    let v1 = version(&api, &id).await;
    let r = api.handle(link("POST")).await;
    assert_eq!(r.status_code, 200);
    assert!(text(&r).contains("recorded before"));
    assert_eq!(
        version(&api, &id).await,
        v1,
        "applying twice has one effect"
    );

    // Expired, and tampered with.
    api.clock.advance(LINK_LIFETIME + Duration::minutes(1));
    assert_eq!(api.handle(link("POST")).await.status_code, 410);
    let forged = format!("{}x", token);
    let r = api
        .handle(request(
            "POST",
            "POST /actions/{token}",
            &[("token", &forged)],
            None,
            &[],
            None,
        ))
        .await;
    assert_eq!(r.status_code, 404);
}

// ---------------------------------------------------------------- reports

async fn report(
    api: &Api,
    who: &str,
    name: &str,
    query: &[(&str, &str)],
) -> ApiGatewayV2httpResponse {
    api.handle(request(
        "GET",
        "GET /reports/{name}",
        &[("name", name)],
        Some(who),
        query,
        None,
    ))
    .await
}

/// Days no report covers — before a rep's role is even checked, for any
/// signed-in user — are a 422 naming the field, never a crash or a loop.
#[tokio::test]
async fn a_report_date_out_of_range_is_a_422_not_a_crash() {
    let api = api();
    for (field, value) in [
        ("to", "-262143-01-01"),
        ("to", "+262142-12-31"),
        ("from", "-262143-01-01"),
        ("to", "1999-12-31"),
        ("to", "3000-01-01"),
        ("to", "2026-13-01"),
    ] {
        for who in ["nina.kovac", "lena.fischer"] {
            let r = report(&api, who, "pipeline", &[(field, value)]).await;
            assert_eq!(
                (r.status_code, body(&r)["error"]["field"].clone()),
                (422, json!(field)),
                "{who} {field}={value}: {}",
                text(&r)
            );
        }
    }
    let r = report(&api, "nina.kovac", "pipeline", &[("to", "2000-01-10")]).await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
}

async fn status(api: &Api, who: &str, id: &LeadId, b: Value) -> ApiGatewayV2httpResponse {
    let r = post(api, who, id, "status", b).await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    r
}

/// A known scenario: five leads, two touches, a win and a loss; every report
/// figure is what the scenario says, and a redelivered write counts nothing twice.
#[tokio::test]
async fn reports_add_up_to_the_seeded_scenario() {
    let api = api();
    // Three inside-sales leads (Lena Fischer): two from the trade show.
    let a = lead(
        &api,
        &[
            ("email", "a@stadtwerke.example"),
            ("country", "DE"),
            ("campaign", "expo-2026"),
            ("source", "event"),
        ],
    )
    .await;
    let b = lead(
        &api,
        &[
            ("email", "b@stadtwerke.example"),
            ("country", "DE"),
            ("campaign", "expo-2026"),
            ("source", "event"),
        ],
    )
    .await;
    let _c = lead(
        &api,
        &[("email", "c@stadtwerke.example"), ("country", "DE")],
    )
    .await;
    // Two on-site demo requests: EMEA field sales.
    let won = lead(
        &api,
        &[
            ("email", "w@werk.example"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    let lost = lead(
        &api,
        &[
            ("email", "l@werk.example"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    let seller = |id: &LeadId| {
        let store = api.store.clone();
        let id = id.clone();
        async move {
            match store.lead(&id).await.unwrap().unwrap().owner() {
                Some(leadflow::Owner::Rep { id, .. }) => id.clone(),
                other => panic!("a field seller owns it: {other:?}"),
            }
        }
    };
    let (won_by, lost_by) = (seller(&won).await, seller(&lost).await);

    // Lena touches two at once (within the SLA): one not reached, one dead.
    let r = outcome(
        &api,
        "lena.fischer",
        &a,
        json!({"reached": false, "outcome": "not_reached"}),
    )
    .await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let r = outcome(
        &api,
        "lena.fischer",
        &b,
        json!({"reached": true, "outcome": "no_interest"}),
    )
    .await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    // The field sellers take theirs through the pipeline.
    status(&api, &won_by, &won, json!({"status": "accepted"})).await;
    status(&api, &won_by, &won, json!({"status": "proposal_sent"})).await;
    status(
        &api,
        &won_by,
        &won,
        json!({"status": "won", "amount": 50000}),
    )
    .await;
    status(&api, &lost_by, &lost, json!({"status": "accepted"})).await;
    status(
        &api,
        &lost_by,
        &lost,
        json!({"status": "lost", "lost_to": "Acme", "reason": "price"}),
    )
    .await;

    // A rep sees no reports.
    let r = report(&api, "lena.fischer", "funnel", &[]).await;
    assert_eq!(r.status_code, 403, "{}", text(&r));

    // The funnel, whole company.
    let r = report(&api, "nina.kovac", "funnel", &[]).await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let f = body(&r);
    let all = &f["groups"][0];
    assert_eq!(all["key"], "all");
    assert_eq!(
        all["counts"],
        json!({"suspect": 5, "prospect": 2, "sales_ready": 2, "quote": 1, "won": 1, "lost": 1}),
        "{f}"
    );
    assert_eq!(
        all["steps"][0],
        json!({"from": "suspect", "to": "prospect", "from_count": 5, "to_count": 2, "ratio": 0.4})
    );
    assert_eq!(all["steps"][3]["ratio"], json!(1.0));
    // By campaign, and one campaign alone (company-wide figures: ops).
    let f = body(&report(&api, "olaf.berg", "funnel", &[("by", "campaign")]).await);
    let keys: Vec<&str> = f["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["(none)", "expo-2026"]);
    let f = body(&report(&api, "olaf.berg", "funnel", &[("campaign", "expo-2026")]).await);
    assert_eq!(f["groups"].as_array().unwrap().len(), 1);
    assert_eq!(f["groups"][0]["counts"]["suspect"], 2);

    // Follow-up: two touched, both at once and within the SLA; Lena's numbers; the untouched.
    let r = body(&report(&api, "olaf.berg", "follow-up", &[]).await);
    assert_eq!(r["all"]["touched"], 2, "{r}");
    assert_eq!(r["all"]["median_minutes"], 5);
    assert_eq!(r["all"]["share_within_sla"], json!(1.0));
    let lena = r["by_rep"]
        .as_array()
        .unwrap()
        .iter()
        .find(|x| x["key"] == "lena.fischer")
        .cloned();
    assert_eq!(lena.map(|l| l["touched"].clone()), Some(json!(2)), "{r}");
    assert_eq!(r["by_pool"][0]["key"], "emea-inside");
    assert_eq!(r["by_territory"][0]["key"], "DE");
    // c is untouched (the field leads were touched by their status changes, or not: count them).
    let untouched_now = api
        .store
        .leads()
        .into_iter()
        .filter(|l| {
            l.first_touch.is_none() && l.sla.is_some() && leadflow::domain::stats::is_open(l.status)
        })
        .count() as i64;
    assert!(untouched_now >= 1);
    assert_eq!(r["never_touched"]["untouched"], untouched_now, "{r}");

    // Pipeline and lost.
    let p = body(&report(&api, "olaf.berg", "pipeline", &[]).await);
    assert_eq!(
        p["closed"],
        json!({"key": "all", "won": 1, "lost": 1, "close_rate": 0.5, "won_amount": 50000}),
        "{p}"
    );
    assert_eq!(
        p["open"],
        json!({"accepted": 0, "demo_scheduled": 0, "demo_held": 0, "proposal_sent": 0})
    );
    let l = body(&report(&api, "olaf.berg", "lost", &[]).await);
    assert_eq!(l["lost"], 1);
    assert_eq!(
        l["to_whom"],
        json!([{"key": "Acme", "count": 1, "share": 1.0}])
    );
    assert_eq!(l["why"][0]["key"], "price");

    // A period before any of it is empty.
    let r = body(
        &report(
            &api,
            "nina.kovac",
            "funnel",
            &[("from", "2026-10-01"), ("to", "2026-10-31")],
        )
        .await,
    );
    assert_eq!(r["groups"], json!([]));

    // CSV, and bad queries.
    let mut req = request(
        "GET",
        "GET /reports/{name}",
        &[("name", "funnel")],
        Some("olaf.berg"),
        &[("by", "campaign")],
        None,
    );
    req.headers.insert("accept", "text/csv".parse().unwrap());
    let r = api.handle(req).await;
    assert_eq!(r.headers["content-type"], "text/csv; charset=utf-8");
    let csv = text(&r);
    assert!(
        csv.starts_with("by,key,step,from_count,to_count,ratio\n"),
        "{csv}"
    );
    assert!(
        csv.contains("campaign,expo-2026,suspect->prospect,2,0,0\n"),
        "{csv}"
    );
    for (q, field) in [
        (vec![("from", "yesterday")], "from"),
        (vec![("from", "2026-12-01"), ("to", "2026-11-01")], "from"),
        (vec![("from", "2024-01-01"), ("to", "2026-01-01")], "from"),
        (vec![("by", "colour")], "by"),
        (vec![("campaign", "x"), ("rep", "y")], "rep"),
    ] {
        let r = report(&api, "nina.kovac", "funnel", &q).await;
        assert_eq!(r.status_code, 422, "{q:?}: {}", text(&r));
        assert_eq!(body(&r)["error"]["field"], field);
    }
    assert_eq!(
        report(&api, "nina.kovac", "nope", &[]).await.status_code,
        404
    );
}

#[tokio::test]
async fn the_health_report_names_what_rots() {
    let mut api = api();
    api.dead_letters = FixedDeadLetters(vec![leadflow::domain::reports::QueueDepth {
        queue: "RoutingDLQ".into(),
        messages: 3,
    }]);
    let c = isr_lead(&api, "c@stadtwerke.example").await;
    // Bots the intake's spam guard turned away, counted but never leads.
    let today = api.clock.now().date_naive();
    let spam = |sign: &str, shard| leadflow::domain::stats::spam(today, sign, shard);
    api.store
        .add_counts(&[
            spam("honeypot", 1),
            spam("honeypot", 6),
            spam("too_fast", 2),
        ])
        .await
        .unwrap();
    // A week later the lead is still untouched and its tasks are overdue.
    let later = api.clock.now() + Duration::days(7);
    let api = Sales {
        clock: FixedClock::at(later),
        ..api
    };
    let h = body(&report(&api, "olaf.berg", "health", &[]).await);
    assert_eq!(h["untouched"], 1, "{h}");
    assert!(h["overdue_tasks"]["total"].as_i64().unwrap() >= 1, "{h}");
    assert_eq!(h["overdue_tasks"]["by_owner"][0]["key"], "rep#lena.fischer");
    assert_eq!(
        h["dead_letters"],
        json!([{"queue": "RoutingDLQ", "messages": 3}])
    );
    assert_eq!(
        h["spam"],
        json!({"total": 3, "by_sign": {"honeypot": 2, "too_fast": 1},
               "per_day": [{"day": today.to_string(), "count": 3}]}),
        "{h}"
    );
    let problems = h["problems"].to_string();
    assert!(problems.contains("overdue task"), "{problems}");
    assert!(
        problems.contains("3 message(s) in dead-letter queue RoutingDLQ"),
        "{problems}"
    );
    // The lead is Lena's; were she away, nobody could act on it.
    let mut playbook = api.playbook.clone();
    playbook
        .reps
        .iter_mut()
        .find(|r| r.id == "lena.fischer")
        .unwrap()
        .away = true;
    let api = Sales { playbook, ..api };
    let h = body(&report(&api, "olaf.berg", "health", &[]).await);
    assert_eq!(
        h["stranded"],
        json!([{"owner": "lena.fischer", "open": 1, "why": "Lena Fischer is away"}]),
        "{h}"
    );
    let _ = c;
}

#[tokio::test]
async fn leads_export_as_csv_what_the_caller_may_see() {
    let api = api();
    isr_lead(&api, "=cmd@stadtwerke.example").await;
    isr_lead(&api, "two@stadtwerke.example").await;
    lead(
        &api,
        &[
            ("email", "w@werk.example"),
            ("country", "DE"),
            ("request_type", "onsite_demo"),
        ],
    )
    .await;
    let export = |who: &'static str| {
        let mut req = request("GET", "GET /leads", &[], Some(who), &[], None);
        req.headers.insert("accept", "text/csv".parse().unwrap());
        let api = &api;
        async move { text(&api.handle(req).await) }
    };
    let lena = export("lena.fischer").await;
    let lines: Vec<&str> = lena.lines().collect();
    assert!(
        lines[0].starts_with("lead_id,email,name,company,country"),
        "{lena}"
    );
    assert_eq!(lines.len(), 3, "her two leads: {lena}");
    // A cell a spreadsheet would run is neutralised.
    assert!(lena.contains(",'=cmd@stadtwerke.example,"), "{lena}");
    assert_eq!(export("olaf.berg").await.lines().count(), 4);
}

/// Issue 24, item 7: an export larger than one call is not cut short or
/// timed out: it is queued, written whole as a file by the exports
/// function (once, a fault retried), and only its requester gets the link.
#[tokio::test]
async fn an_export_larger_than_one_call_is_written_as_a_file_with_a_link() {
    use leadflow::app::exports::{self, ExportRequested};
    use leadflow::ports::Queue;
    use leadflow::testing::MemoryFiles;
    // One answer holds 200 rows here (5,000 deployed): 201 leads overflow it.
    const ROWS: usize = 200;
    let api = Sales {
        export_rows: ROWS,
        ..api()
    };
    let now = api.clock.now();
    for i in 0..=ROWS {
        isr_lead(&api, &format!("p{i}@stadtwerke.example")).await;
    }
    let csv = request(
        "GET",
        "GET /leads",
        &[],
        Some("lena.fischer"),
        &[("format", "csv")],
        None,
    );
    let r = api.handle(csv.clone()).await;
    assert_eq!(r.status_code, 202, "{}", text(&r));
    let started = body(&r);
    let href = started["export"]["href"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], href.as_str());
    assert_eq!(started["export"]["status"], "running");
    let id = href.trim_start_matches("/exports/").to_string();
    // Queued for the exports function, and nothing else.
    let queued: Vec<_> = api
        .publisher
        .published()
        .into_iter()
        .filter(|m| m.queue == Queue::Exports)
        .collect();
    assert_eq!(queued.len(), 1);
    let asked: ExportRequested = serde_json::from_str(&queued[0].body).unwrap();
    assert_eq!(asked.export_id.as_str(), id);

    let get = |who: &'static str, id: String| {
        let api = &api;
        async move {
            api.handle(request(
                "GET",
                "GET /exports/{export_id}",
                &[("export_id", &id)],
                Some(who),
                &[],
                None,
            ))
            .await
        }
    };
    let waiting = body(&get("lena.fischer", id.clone()).await);
    assert_eq!(waiting["export"]["status"], "running");
    assert_eq!(waiting["export"]["url"], Value::Null);
    // Someone else's export, or no export: 404 alike.
    assert_eq!(get("olaf.berg", id.clone()).await.status_code, 404);
    assert_eq!(get("lena.fischer", "ex_nope".into()).await.status_code, 404);

    // The file store fails once: nothing is recorded, and the retry writes it.
    let files = MemoryFiles::default();
    files.fail_next(1);
    assert!(
        exports::write(&api.store, &files, &api.playbook, &asked.export_id, now)
            .await
            .is_err()
    );
    assert_eq!(
        body(&get("lena.fischer", id.clone()).await)["export"]["status"],
        "running"
    );
    let job = exports::write(&api.store, &files, &api.playbook, &asked.export_id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(job.rows, ROWS as u64 + 1);
    assert!(!job.truncated);
    let (filename, bytes) = files.get(&job.key()).unwrap();
    assert!(
        filename.starts_with("leads-") && filename.ends_with(".csv"),
        "{filename}"
    );
    let file = String::from_utf8(bytes).unwrap();
    assert!(file.starts_with("lead_id,email,name,company,country"));
    assert_eq!(file.lines().count(), ROWS + 2, "the header and every lead");
    // A redelivered message changes nothing.
    files.fail_next(1);
    let again = exports::write(&api.store, &files, &api.playbook, &asked.export_id, now)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(again, job);

    let ready = body(&get("lena.fischer", id.clone()).await);
    assert_eq!(ready["export"]["status"], "ready", "{ready}");
    assert_eq!(ready["export"]["rows"], ROWS + 1);
    let url = ready["export"]["url"].as_str().unwrap();
    assert!(
        url.starts_with(&format!(
            "https://exports-bucket.s3.eu-central-1.amazonaws.com/exports/{id}.csv?"
        )),
        "{url}"
    );
    assert!(url.contains("X-Amz-Expires=900"), "{url}");
    assert_eq!(
        ready["export"]["url_expires_at"],
        json!(now + Duration::minutes(15))
    );

    // From a cursor, CSV in the answer as before (here the rest fits in one).
    let listing = body(
        &api.handle(request(
            "GET",
            "GET /leads",
            &[],
            Some("lena.fischer"),
            &[],
            None,
        ))
        .await,
    );
    let next = listing["next"].as_str().unwrap();
    let r = api
        .handle(request(
            "GET",
            "GET /leads",
            &[],
            Some("lena.fischer"),
            &[("format", "csv"), ("next", next)],
            None,
        ))
        .await;
    assert_eq!(r.status_code, 200);
    let rest = listing["leads"].as_array().unwrap().len();
    assert_eq!(text(&r).lines().count(), 1 + ROWS + 1 - rest);

    // A job its worker never finished is failed after an hour, and says so.
    let stuck = exports::start(
        &api.store,
        &api.publisher,
        &email_of("lena.fischer"),
        Default::default(),
        now,
    )
    .await
    .unwrap();
    let later = Sales {
        clock: FixedClock::at(now + Duration::minutes(61)),
        ..api
    };
    let r = body(
        &later
            .handle(request(
                "GET",
                "GET /exports/{export_id}",
                &[("export_id", stuck.id.as_str())],
                Some("lena.fischer"),
                &[],
                None,
            ))
            .await,
    );
    assert_eq!(r["export"]["status"], "failed", "{r}");
    assert_eq!(r["export"]["error"], "it did not finish; start it again");
}

/// Issue 24, item 17: ops list the posts the spam guard held and release
/// one into the pipeline, once; nobody else sees or releases them.
#[tokio::test]
async fn ops_list_held_spam_and_release_a_post_once() {
    use leadflow::domain::spam::SpamSign;
    let api = api();
    let now = api.clock.now();
    let pairs = |v: &[(&str, &str)]| -> Vec<(String, String)> {
        v.iter()
            .map(|(k, v)| (k.to_string(), v.to_string()))
            .collect()
    };
    let person = leadflow::app::quarantine::hold(
        &api.store,
        &api.playbook,
        SpamSign::TooFast,
        pairs(&[
            ("email", "autofill@stadtwerke.example"),
            ("request_type", "demo"),
            ("country", "DE"),
            ("form_fill_ms", "900"),
        ]),
        Some("203.0.113.9"),
        now,
    )
    .await
    .unwrap();
    let bot = leadflow::app::quarantine::hold(
        &api.store,
        &api.playbook,
        SpamSign::Honeypot,
        pairs(&[("email", "nope"), ("hp_website", "http://spam.example")]),
        None,
        now + Duration::seconds(1),
    )
    .await
    .unwrap();
    let list = |who: &'static str, query: Vec<(&'static str, String)>| {
        let q: Vec<(&str, String)> = query;
        let api = &api;
        async move {
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            api.handle(request("GET", "GET /spam", &[], Some(who), &q, None))
                .await
        }
    };
    for who in ["lena.fischer", "nina.kovac"] {
        assert_eq!(list(who, vec![]).await.status_code, 403, "{who}");
    }
    let r = list("olaf.berg", vec![]).await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let b = body(&r);
    let posts = b["posts"].as_array().unwrap();
    assert_eq!(posts.len(), 2);
    assert_eq!(posts[0]["id"], bot.as_str(), "newest first");
    assert_eq!(
        posts[1]["reason"],
        "sent 900 ms after the form opened (the minimum is 3000 ms)"
    );
    assert_eq!(
        posts[1]["fields"][0],
        json!(["email", "autofill@stadtwerke.example"])
    );
    // Paged.
    let r = list("olaf.berg", vec![("limit", "1".into())]).await;
    let b = body(&r);
    assert_eq!(b["posts"].as_array().unwrap().len(), 1);
    let next = b["next"].as_str().unwrap().to_string();
    let r = list("olaf.berg", vec![("limit", "1".into()), ("next", next)]).await;
    assert_eq!(body(&r)["posts"][0]["id"], person.as_str());
    assert!(body(&r)["next"].is_null());

    let release = |who: &'static str, id: String| {
        let api = &api;
        async move {
            api.handle(request(
                "POST",
                "POST /spam/{spam_id}/release",
                &[("spam_id", id.as_str())],
                Some(who),
                &[],
                None,
            ))
            .await
        }
    };
    assert_eq!(
        release("nina.kovac", person.to_string()).await.status_code,
        403
    );
    let r = release("olaf.berg", person.to_string()).await;
    assert_eq!(r.status_code, 200, "{}", text(&r));
    let first = body(&r);
    assert_eq!(first["already_released"], false);
    let lead_id = LeadId::parse(first["lead_id"].as_str().unwrap()).unwrap();
    // Recorded and handed to routing, once, whatever the clicks.
    let r = release("olaf.berg", person.to_string()).await;
    assert_eq!(body(&r)["already_released"], true);
    assert_eq!(body(&r)["lead_id"], first["lead_id"]);
    let lead = api.store.lead(&lead_id).await.unwrap().unwrap();
    assert_eq!(lead.responses, 1);
    assert_eq!(lead.email.as_str(), "autofill@stadtwerke.example");
    let routing: Vec<_> = api
        .publisher
        .take()
        .into_iter()
        .filter(|m| m.body.contains(lead_id.as_str()))
        .collect();
    assert_eq!(routing.len(), 1, "{routing:?}");
    let r = list("olaf.berg", vec![]).await;
    let posts = body(&r)["posts"].clone();
    assert_eq!(posts[1]["released"]["by"], "olaf.berg");
    assert_eq!(posts[1]["released"]["lead_id"], first["lead_id"]);
    // A post that is no inquiry stays held, with the reason; a bad id is 404.
    let r = release("olaf.berg", bot.to_string()).await;
    assert_eq!(r.status_code, 422, "{}", text(&r));
    assert_eq!(body(&r)["error"]["code"], "invalid_inquiry");
    assert_eq!(
        release("olaf.berg", "sp_nope".into()).await.status_code,
        404
    );
    let unknown = leadflow::domain::ids::SpamId::generate();
    assert_eq!(
        release("olaf.berg", unknown.to_string()).await.status_code,
        404
    );
    assert_eq!(api.store.leads().len(), 1);
}

/// Issue 24, item 15: a manager's reports add up the pools and queues they
/// manage, not the company's; what is counted only company-wide is for ops.
#[tokio::test]
async fn a_managers_reports_cover_the_pools_and_queues_they_manage() {
    let api = api();
    for (email, country) in [
        ("de1@werk.example", "DE"),
        ("de2@werk.example", "AT"),
        ("us1@works.example", "US"),
    ] {
        lead(
            &api,
            &[
                ("email", email),
                ("country", country),
                ("request_type", "info"),
            ],
        )
        .await;
    }
    let suspects = |who: &'static str, query: &'static [(&'static str, &'static str)]| {
        let api = &api;
        async move {
            let r = report(api, who, "funnel", query).await;
            assert_eq!(r.status_code, 200, "{}", text(&r));
            body(&r)
        }
    };
    let company = suspects("olaf.berg", &[]).await;
    assert_eq!(company["groups"][0]["counts"]["suspect"], 3, "{company}");
    assert_eq!(company["scope"]["covers"], "company");
    // Nina manages emea-field, emea-inside and inside-sales: not Sam's US lead.
    let nina = suspects("nina.kovac", &[]).await;
    assert_eq!(nina["groups"][0]["counts"]["suspect"], 2, "{nina}");
    assert_eq!(
        nina["scope"],
        json!({"covers": "managed", "pools": ["emea-field", "emea-inside"], "queues": ["inside-sales"]})
    );
    let by_rep = suspects("nina.kovac", &[("by", "rep")]).await;
    let keys: Vec<&str> = by_rep["groups"]
        .as_array()
        .unwrap()
        .iter()
        .map(|g| g["key"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["lena.fischer"], "{by_rep}");
    let by_rep = suspects("olaf.berg", &[("by", "rep")]).await;
    assert_eq!(by_rep["groups"].as_array().unwrap().len(), 2, "{by_rep}");
    // Counted company-wide only: refused with the reason, never shown.
    for (name, query) in [
        ("funnel", &[("by", "campaign")][..]),
        ("funnel", &[("by", "territory")][..]),
        ("lost", &[][..]),
    ] {
        let r = report(&api, "nina.kovac", name, query).await;
        assert_eq!(r.status_code, 403, "{name} {query:?}: {}", text(&r));
        assert_eq!(body(&r)["error"]["code"], "out_of_scope");
        assert!(text(&r).contains("emea-inside"), "{}", text(&r));
    }
    // Follow-up and health: her people only; no territories, dead letters or spam.
    let f = body(&report(&api, "nina.kovac", "follow-up", &[]).await);
    assert_eq!(f["by_territory"], json!([]), "{f}");
    assert!(
        f["never_touched"]["untouched"].as_i64().unwrap() == 2,
        "{f}"
    );
    let h = body(&report(&api, "nina.kovac", "health", &[]).await);
    let company_h = body(&report(&api, "olaf.berg", "health", &[]).await);
    assert_ne!(h, company_h);
    assert!(!h.to_string().contains("sam.patel"), "{h}");
}

/// Issue 24, item 3: `GET /tasks` pages past any number of old tasks, in
/// due order, with a cursor; a bad cursor is a 422.
#[tokio::test]
async fn tasks_come_a_page_at_a_time_past_hundreds_of_old_ones() {
    let api = api();
    let id = isr_lead(&api, "pages@stadtwerke.example").await;
    let lena = api.playbook.rep("lena.fischer").unwrap().owner();
    let long_ago = api.clock.now() - Duration::days(60);
    let stale: Vec<leadflow::domain::task::Task> = (0..600)
        .map(|i| {
            leadflow::domain::task::Task::new(
                &id,
                leadflow::domain::task::TaskKind::KitFollowUp,
                lena.clone(),
                long_ago + Duration::minutes(i),
                long_ago,
                "an old follow-up",
            )
        })
        .collect();
    api.store
        .commit(leadflow::ports::Commit {
            tasks: stale,
            ..Default::default()
        })
        .await
        .unwrap();
    let page = |next: Option<String>| {
        let api = &api;
        async move {
            let mut q = vec![("limit", "250".to_string())];
            if let Some(n) = next {
                q.push(("next", n));
            }
            let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
            let r = api
                .handle(request(
                    "GET",
                    "GET /tasks",
                    &[],
                    Some("lena.fischer"),
                    &q,
                    None,
                ))
                .await;
            assert_eq!(r.status_code, 200, "{}", text(&r));
            body(&r)
        }
    };
    let mut seen = Vec::new();
    let mut next = None;
    for _ in 0..4 {
        let b = page(next.clone()).await;
        for t in b["tasks"].as_array().unwrap() {
            seen.push((
                t["due_at"].as_str().unwrap().to_string(),
                t["task_id"].to_string(),
            ));
        }
        next = b["next"].as_str().map(str::to_string);
        if next.is_none() {
            break;
        }
    }
    assert_eq!(
        seen.len(),
        602,
        "600 old ones, the call and the kit follow-up"
    );
    let mut sorted = seen.clone();
    sorted.sort();
    assert_eq!(seen, sorted, "in due order, none twice");
    sorted.dedup();
    assert_eq!(sorted.len(), 602);
    let r = api
        .handle(request(
            "GET",
            "GET /tasks",
            &[],
            Some("lena.fischer"),
            &[("next", "bm90IGEgY3Vyc29y")],
            None,
        ))
        .await;
    assert_eq!(r.status_code, 422, "{}", text(&r));
}

/// Issue 24, item 7: a selective filter reads a bounded amount per page:
/// the page that ran out of its read budget says so (`incomplete`) and
/// `next` goes on from where it stopped; nothing is lost or listed twice.
#[tokio::test]
async fn a_selective_listing_reads_within_a_budget_and_pages_on() {
    let api = api();
    // Two leads at stage `lead` (two criteria met), then 1,050 newer inquiries, all Lena's.
    let mut wanted = Vec::new();
    for i in 0..2 {
        wanted.push(
            lead(
                &api,
                &[
                    ("email", &format!("match{i}@stadtwerke.example")),
                    ("request_type", "info"),
                    ("country", "DE"),
                    ("budget", "defined"),
                    ("need", "identified"),
                ],
            )
            .await,
        );
    }
    for i in 0..1050 {
        isr_lead(&api, &format!("n{i}@stadtwerke.example")).await;
    }
    let mut found = Vec::new();
    let mut next: Option<String> = None;
    let mut pages = 0;
    let mut incomplete = 0;
    loop {
        let mut q = vec![("stage", "lead".to_string()), ("limit", "50".to_string())];
        if let Some(n) = &next {
            q.push(("next", n.clone()));
        }
        let q: Vec<(&str, &str)> = q.iter().map(|(k, v)| (*k, v.as_str())).collect();
        let r = api
            .handle(request(
                "GET",
                "GET /leads",
                &[],
                Some("lena.fischer"),
                &q,
                None,
            ))
            .await;
        assert_eq!(r.status_code, 200, "{}", text(&r));
        let b = body(&r);
        pages += 1;
        incomplete += usize::from(b["incomplete"] == true);
        for l in b["leads"].as_array().unwrap() {
            found.push(l["lead_id"].as_str().unwrap().to_string());
        }
        next = b["next"].as_str().map(str::to_string);
        if next.is_none() || pages > 10 {
            break;
        }
    }
    assert!(
        pages >= 2 && incomplete >= 1,
        "{pages} pages, {incomplete} incomplete"
    );
    found.sort();
    let mut expected: Vec<String> = wanted.iter().map(|i| i.to_string()).collect();
    expected.sort();
    assert_eq!(found, expected);
}
