//! End to end, the rep's side: sign in through the emulator's Cognito user
//! pool, see tasks and
//! leads, record outcomes and status, reassign, and use the one-click links
//! of the owner's package — over HTTP against the local stack `make dev` runs.

mod common;

use common::{drained, emails_to, eventually, request, store, unique, watch, Response};
use leadflow::domain::lead::{EmailKind, Event};
use leadflow::ports::prelude::*;
use leadflow::{EmailAddress, LeadId};
use leadflow_local::{root, DevOptions, DevStack, RunningStack};
use serde_json::{json, Value};

/// The ID token of playbook person `id`, signed in to the stack's user pool
/// as `leadflow token --rep ID` does.
async fn rep(s: &RunningStack, id: &str) -> String {
    leadflow_local::cli::id_token(id, s.stack_name(), s.endpoint())
        .await
        .unwrap_or_else(|e| panic!("{id} signs in: {e:?}"))
}

async fn call(
    s: &RunningStack,
    method: &str,
    path: &str,
    token: Option<&str>,
    body: Option<Value>,
) -> Response {
    let auth = token.map(|t| format!("Bearer {t}"));
    let mut headers = vec![("content-type", "application/json")];
    if let Some(a) = &auth {
        headers.push(("authorization", a.as_str()));
    }
    let body = body.map(|b| b.to_string()).unwrap_or_default();
    request(method, &format!("{}{path}", s.api_url()), &headers, body).await
}

/// Post an inquiry and wait until the owner's package went out: the lead's id.
async fn routed_lead(s: &RunningStack, email: &str) -> LeadId {
    let body = json!({"email": email, "request_type": "info", "country": "DE", "company": "Stadtwerke Nord"});
    let r = request(
        "POST",
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    // Watch the lead's history (a cheap query), not the emulator's whole
    // state: polling that would slow every function sharing the emulator.
    let store = store(s);
    let address = EmailAddress::parse(email).unwrap();
    eventually(s, "the lead to be routed and its owner told", || {
        let store = store.clone();
        let address = address.clone();
        async move {
            let id = store.lead_id_by_email(&address).await.ok()??;
            let history = store.history(&id).await.ok()?;
            history
                .iter()
                .any(|h| {
                    matches!(
                        &h.event,
                        Event::EmailSent {
                            kind: EmailKind::OwnerNotice,
                            ..
                        }
                    )
                })
                .then_some(id)
        }
    })
    .await
}

/// The link for `label` in the owner's package about `prospect` (its HTML part).
async fn link_in_package(s: &RunningStack, prospect: &str, label: &str) -> String {
    let mails = emails_to(s.endpoint(), "lena.fischer@example.com").await;
    let package = mails
        .iter()
        .filter_map(|m| m["body"].as_str())
        .find(|b| b.contains(prospect))
        .expect("the owner's package")
        .to_string();
    package
        .split("<a href=\"")
        .skip(1)
        .find_map(|a| {
            let (url, rest) = a.split_once('"')?;
            let text = rest.split_once('>')?.1.split_once("</a>")?.0;
            (text == label).then(|| url.replace("&amp;", "&"))
        })
        .unwrap_or_else(|| panic!("a {label:?} link in {package}"))
}

#[tokio::test]
async fn a_reps_day_over_http() {
    let s = DevStack::start(DevOptions::for_tests(unique("rep")))
        .await
        .expect("the local stack starts");
    let email = format!("{}@stadtwerke.example", unique("buyer"));
    let id = routed_lead(&s, &email).await;
    let lena = rep(&s, "lena.fischer").await;

    // No token, a bad one, an expired one of the pool's, the old local kind
    // (HS256), a stranger's: 401 with the error JSON.
    let pool = s.sign_in();
    let issuer = format!(
        "https://cognito-idp.us-east-1.amazonaws.com/{}",
        pool.pool_id
    );
    let now = chrono::Utc::now().timestamp();
    let expired = leadflow_local::cognito::emulator_signed(
        &root::workspace_root(),
        &json!({
            "iss": issuer, "aud": pool.client_id, "token_use": "id", "sub": "lena",
            "email": "lena.fischer@example.com", "email_verified": "true",
            "iat": now - 7200, "exp": now - 3600,
        }),
    )
    .unwrap();
    let hs256 = {
        use base64::Engine;
        let b64 = |v: Value| base64::engine::general_purpose::URL_SAFE_NO_PAD.encode(v.to_string());
        format!(
            "{}.{}.c2lnbmVkLXdpdGgtYS1sb2NhbC1rZXk",
            b64(json!({"alg": "HS256", "typ": "JWT"})),
            b64(
                json!({"iss": "leadflow-local", "aud": "leadflow-local", "email": "lena.fischer@example.com", "exp": now + 3600})
            )
        )
    };
    let mallory = pool
        .sign_in("mallory@example.org", "Mallory")
        .await
        .unwrap()
        .id_token;
    for token in [
        None,
        Some("not-a-jwt"),
        Some(expired.as_str()),
        Some(hs256.as_str()),
        Some(mallory.as_str()),
    ] {
        let r = call(&s, "GET", "/leads", token, None).await;
        assert_eq!(r.status, 401, "{token:?}: {}", r.body);
        assert_eq!(r.json()["error"]["code"], "unauthorized");
    }

    // Her tasks: the pre-qualification call first.
    let r = call(&s, "GET", "/tasks", Some(&lena), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let tasks = r.json()["tasks"].as_array().unwrap().clone();
    let mine: Vec<&Value> = tasks
        .iter()
        .filter(|t| t["lead_id"] == id.as_str())
        .collect();
    assert!(mine.len() >= 2, "{}", r.body);
    assert_eq!(mine[0]["kind"], "prequalification_call", "{mine:?}");
    assert_eq!(mine[1]["kind"], "kit_follow_up");

    // Her leads, and the lead's whole story; someone else's is 404.
    let r = call(&s, "GET", "/leads", Some(&lena), None).await;
    assert!(
        r.json()["leads"]
            .as_array()
            .unwrap()
            .iter()
            .any(|l| l["lead_id"] == id.as_str()),
        "{}",
        r.body
    );
    let r = call(&s, "GET", &format!("/leads/{id}"), Some(&lena), None).await;
    assert_eq!(r.status, 200);
    let version = r.json()["version"].as_u64().unwrap();
    assert!(r.json()["history"].as_array().unwrap().len() >= 2);
    assert_eq!(
        call(
            &s,
            "GET",
            &format!("/leads/{id}"),
            Some(&rep(&s, "ana.ruiz").await),
            None
        )
        .await
        .status,
        404
    );

    // A stale version changes nothing; the right one records the outcome.
    let outcome = |v: u64| json!({"reached": true, "outcome": "wants_demo", "notes": "Wants to see the dashboards", "version": v});
    let r = call(
        &s,
        "POST",
        &format!("/leads/{id}/outcomes"),
        Some(&lena),
        Some(outcome(version + 5)),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["error"]["code"].clone()),
        (409, json!("stale_version")),
        "{}",
        r.body
    );
    let r = call(
        &s,
        "POST",
        &format!("/leads/{id}/outcomes"),
        Some(&lena),
        Some(outcome(version)),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    let v = r.json();
    assert_eq!(v["route"], "hot");
    let seller = v["owner"]["id"].as_str().unwrap().to_string();
    assert!(
        ["ana.ruiz", "jonas.weber"].contains(&seller.as_str()),
        "{v}"
    );
    assert!(v["tasks"]
        .as_array()
        .unwrap()
        .iter()
        .any(|t| t["kind"] == "schedule_remote_demo" && t["owner"]["id"] == "lena.fischer"));
    assert!(!v["reasons"].as_array().unwrap().is_empty());
    // The sales executive is sent the lead package.
    let seller_mail = leadflow::Playbook::default_playbook()
        .unwrap()
        .rep(&seller)
        .unwrap()
        .email
        .clone();
    eventually(&s, "the hand-off package", || {
        let (store, id, seller_mail) = (store(&s), id.clone(), seller_mail.clone());
        async move {
            store
                .history(&id)
                .await
                .ok()?
                .iter()
                .any(|h| matches!(&h.event, Event::EmailSent { kind: EmailKind::OwnerNotice, to, .. } if *to == seller_mail))
                .then_some(())
        }
    })
    .await;

    // The field seller accepts it; their manager hands it to a colleague.
    let seller_token = rep(&s, &seller).await;
    let r = call(
        &s,
        "POST",
        &format!("/leads/{id}/status"),
        Some(&seller_token),
        Some(json!({"status": "accepted", "version": v["version"]})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["status"].clone()),
        (200, json!("accepted")),
        "{}",
        r.body
    );
    let other = if seller == "ana.ruiz" {
        "jonas.weber"
    } else {
        "ana.ruiz"
    };
    let r = call(
        &s,
        "POST",
        &format!("/leads/{id}/assign"),
        Some(&rep(&s, "nina.kovac").await),
        Some(json!({"owner": other, "reason": "holiday", "version": r.json()["version"]})),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["owner"]["id"].clone()),
        (200, json!(other)),
        "{}",
        r.body
    );

    // One-click links from a package: GET shows a page and changes nothing; POST applies, once.
    let second = format!("{}@stadtwerke.example", unique("clicker"));
    let id2 = routed_lead(&s, &second).await;
    let url = link_in_package(&s, &second, "not reached").await;
    assert!(
        url.contains("/actions/k1."),
        "signed under the secret's key id: {url}"
    );
    let before = store(&s).lead(&id2).await.unwrap().unwrap().version;
    let r = request("GET", &url, &[], "").await;
    assert_eq!(r.status, 200);
    assert!(r.body.contains("<form method=\"post\""), "{}", r.body);
    assert_eq!(store(&s).lead(&id2).await.unwrap().unwrap().version, before);
    let r = request("POST", &url, &[], "").await;
    assert_eq!(r.status, 200, "{}", r.body);
    let after = store(&s).lead(&id2).await.unwrap().unwrap();
    assert_eq!(after.version, before + 1);
    assert_eq!(after.first_touch.unwrap().by, "lena.fischer");
    let r = request("POST", &url, &[], "").await;
    assert!(r.body.contains("recorded before"), "{}", r.body);
    assert_eq!(
        store(&s).lead(&id2).await.unwrap().unwrap().version,
        before + 1
    );
    let r = request("GET", &format!("{}x", url), &[], "").await;
    assert_eq!(r.status, 404);

    // A close counts once: "won" pressed twice is refused the second time,
    // and the pipeline report adds its amount once.
    let nina = rep(&s, "nina.kovac").await;
    let closed = |r: &Response| {
        let c = &r.json()["closed"];
        (
            c["won"].as_i64().unwrap(),
            c["won_amount"].as_i64().unwrap(),
        )
    };
    let r = call(&s, "GET", "/reports/pipeline", Some(&nina), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let (won, amount) = closed(&r);
    let deal = routed_lead(&s, &format!("{}@stadtwerke.example", unique("deal"))).await;
    for expected in [200, 422] {
        let r = call(&s, "GET", &format!("/leads/{deal}"), Some(&lena), None).await;
        let version = r.json()["version"].clone();
        let r = call(
            &s,
            "POST",
            &format!("/leads/{deal}/status"),
            Some(&lena),
            Some(json!({"status": "won", "amount": 48000, "version": version})),
        )
        .await;
        assert_eq!(r.status, expected, "{}", r.body);
    }
    let r = call(&s, "GET", "/reports/pipeline", Some(&nina), None).await;
    assert_eq!(closed(&r), (won + 1, amount + 48000), "{}", r.body);
    // A day no report covers is a 422 that names it, not a crash.
    for day in ["-262143-01-01", "%2B262142-12-31"] {
        let r = call(
            &s,
            "GET",
            &format!("/reports/pipeline?to={day}"),
            Some(&nina),
            None,
        )
        .await;
        assert_eq!(r.status, 422, "{day}: {}", r.body);
        assert_eq!(r.json()["error"]["field"], "to");
    }

    // Sign-in is Cognito's: `leadflow token` gives the pool's own RS256 ID
    // token, for this API's client, with the address Cognito verified.
    let tom = rep(&s, "tom.baker").await;
    let header: Value = {
        use base64::Engine;
        let part = tom.split('.').next().unwrap();
        serde_json::from_slice(
            &base64::engine::general_purpose::URL_SAFE_NO_PAD
                .decode(part)
                .unwrap(),
        )
        .unwrap()
    };
    assert_eq!(header["alg"], "RS256", "{header}");
    let claims = leadflow_local::cognito::claims_of(&tom).unwrap();
    assert_eq!(claims["iss"], issuer.as_str());
    assert_eq!(claims["aud"], pool.client_id.as_str());
    assert_eq!(claims["token_use"], "id");
    assert_eq!(claims["email"], "tom.baker@example.com");
    assert_eq!(claims["email_verified"], "true");
    let r = call(&s, "GET", "/tasks", Some(&tom), None).await;
    assert_eq!(r.status, 200, "{}", r.body);

    // Nobody makes themselves someone else. The client may write a user's
    // name, never their address...
    let own = pool
        .sign_in("tom.baker@example.com", "Tom Baker")
        .await
        .unwrap();
    pool.update_own(&own.access_token, &[("name", "Thomas Baker")])
        .await
        .unwrap();
    let refused = pool
        .update_own(&own.access_token, &[("email", "olaf.berg@example.com")])
        .await
        .unwrap_err();
    assert_eq!(refused.code, "NotAuthorizedException", "{refused}");
    // ...a new address waits for its verification (Tom is still Tom)...
    pool.admin_update(
        "tom.baker@example.com",
        &[("email", "olaf.berg@example.com")],
    )
    .await
    .unwrap();
    let still = leadflow_local::cognito::claims_of(&rep(&s, "tom.baker").await).unwrap();
    assert_eq!(still["email"], "tom.baker@example.com", "{still:?}");
    // ...and an address that is not verified names nobody: 403, and why.
    pool.admin_update("tom.baker@example.com", &[("email_verified", "false")])
        .await
        .unwrap();
    let unverified = rep(&s, "tom.baker").await;
    let claims = leadflow_local::cognito::claims_of(&unverified).unwrap();
    assert_eq!(claims["email_verified"], "false");
    let r = call(&s, "GET", "/tasks", Some(&unverified), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert_eq!(r.json()["error"]["code"], "email_unverified");

    s.shutdown().await;
}

#[tokio::test]
async fn a_day_later_the_reminders_tick_tells_the_rep_and_escalates_the_untouched_lead() {
    let s = DevStack::start(DevOptions::for_tests(unique("tick")))
        .await
        .expect("the local stack starts");
    let email = format!("{}@stadtwerke.example", unique("late"));
    let id = routed_lead(&s, &email).await;
    let fire = |time: chrono::DateTime<chrono::Utc>| {
        let url = format!("{}/_local/schedules/RemindersFunction", s.api_url());
        async move {
            request(
                "POST",
                &url,
                &[("content-type", "application/json")],
                json!({ "time": time.to_rfc3339() }).to_string(),
            )
            .await
        }
    };
    // The SLA counts Lena's business hours (8: a working day), so when it
    // runs out depends on when the test runs: read it from the lead.
    let lead = store(&s).lead(&id).await.unwrap().unwrap();
    let clock = lead.sla.clone().unwrap();
    let minute = chrono::Duration::minutes(1);
    // Issue 24, item 5: due within Lena's working day in Berlin (never at
    // night or at the weekend), exactly 8 of her working hours after arrival.
    let playbook = leadflow::Playbook::default_playbook().unwrap();
    let calendar = playbook.calendar_of(lead.owner().unwrap());
    assert_eq!(clock.due, calendar.add_hours(lead.created_at, 8));
    let local = leadflow::domain::tz::Zone::get("Europe/Berlin")
        .unwrap()
        .local(clock.due);
    use chrono::{Datelike, Timelike};
    assert!(
        (9..17).contains(&local.hour()) || (local.hour(), local.minute()) == (17, 0),
        "due {local} Berlin"
    );
    assert!(
        local.weekday().num_days_from_monday() < 5,
        "due {local} Berlin"
    );
    // An hour in: nothing is due.
    let r = fire(chrono::Utc::now() + chrono::Duration::hours(1)).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["tasks_reminded"], 0, "{}", r.body);
    // A minute before the SLA: nothing yet.
    let r = fire(clock.due - minute).await;
    assert_eq!(r.json()["result"]["leads_escalated"], 0, "{}", r.body);
    // Past it: the pre-qualification call fell due and the SLA ran out.
    let r = fire(clock.due + minute).await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(r.json()["result"]["tasks_reminded"], 1, "{}", r.body);
    assert_eq!(r.json()["result"]["leads_escalated"], 1, "{}", r.body);
    let id_text = id.to_string();
    let mentions = |to: &'static str| common::mentions(s.endpoint(), to, &id_text);
    // (The owner's package names the lead too.)
    assert_eq!(
        mentions("lena.fischer@example.com").await,
        2,
        "the package and one reminder"
    );
    assert_eq!(
        mentions("nina.kovac@example.com").await,
        1,
        "one escalation"
    );
    // The same tick again sends nothing.
    let r = fire(clock.due + minute).await;
    assert_eq!(r.json()["result"]["reminders"], 0, "{}", r.body);
    assert_eq!(mentions("lena.fischer@example.com").await, 2);
    // A working day after the escalation: reassigned (Lena is EMEA inside
    // sales' only rep: the fallback queue).
    let check = store(&s)
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .sla
        .unwrap()
        .check_at;
    assert!(check >= clock.due + chrono::Duration::hours(8), "{check}");
    let r = fire(check + minute).await;
    assert_eq!(r.json()["result"]["leads_reassigned"], 1, "{}", r.body);
    let lead = store(&s).lead(&id).await.unwrap().unwrap();
    assert_eq!(lead.owner().unwrap().key(), "queue#unassigned");
    s.shutdown().await;
}

#[tokio::test]
async fn a_nurture_step_goes_out_in_its_window_and_an_unsubscribe_stops_the_next() {
    let s = DevStack::start(DevOptions::for_tests(unique("nurture")))
        .await
        .expect("the local stack starts");
    let email = format!("{}@utility.example", unique("far"));
    let body = json!({"email": email, "country": "US", "timeframe": "over_12_months", "authority": "influencer", "interest": "grid analytics"});
    let r = request(
        "POST",
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/json")],
        body.to_string(),
    )
    .await;
    assert_eq!(r.status, 202);
    let store = store(&s);
    let address = EmailAddress::parse(&email).unwrap();
    let id = eventually(&s, "the lead to be enrolled", || {
        let (store, address) = (store.clone(), address.clone());
        async move {
            let id = store.lead_id_by_email(&address).await.ok()??;
            store.lead(&id).await.ok()??.nurture?;
            Some(id)
        }
    })
    .await;
    let next = store
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .nurture
        .unwrap()
        .next_at;
    let fire = |t: chrono::DateTime<chrono::Utc>| {
        let url = format!("{}/_local/schedules/NurtureFunction", s.api_url());
        async move {
            request(
                "POST",
                &url,
                &[],
                json!({ "time": t.to_rfc3339() }).to_string(),
            )
            .await
        }
    };
    // Fire when the step is due: outside New York's window it waits for the
    // window (the event's time has whole seconds: fire a minute after).
    let _ = next;
    let mut sent = 0;
    for _ in 0..3 {
        let due = store
            .lead(&id)
            .await
            .unwrap()
            .unwrap()
            .nurture
            .unwrap()
            .next_at;
        let r = fire(due + chrono::Duration::minutes(1)).await;
        assert_eq!(r.status, 200, "{}", r.body);
        sent = r.json()["result"]["sent"].as_u64().unwrap_or(0);
        if sent == 1 {
            let local = leadflow::domain::tz::Zone::get("America/New_York")
                .unwrap()
                .local(due + chrono::Duration::minutes(1));
            use chrono::Timelike;
            assert!((9..17).contains(&local.hour()), "sent at {local}");
            break;
        }
        assert_eq!(r.json()["result"]["deferred_window"], 1, "{}", r.body);
    }
    assert_eq!(sent, 1);
    let mails: Vec<Value> = emails_to(s.endpoint(), &email).await;
    let raw = mails
        .iter()
        .find_map(|m| {
            m["raw_data"]
                .as_str()
                .filter(|r| r.contains("List-Unsubscribe"))
        })
        .unwrap_or_else(|| panic!("a marketing email with List-Unsubscribe in {mails:?}"))
        .to_string();
    assert!(
        raw.contains("List-Unsubscribe-Post: List-Unsubscribe=One-Click"),
        "{raw}"
    );
    let start = raw.find("<http").unwrap() + 1;
    let url: String = raw[start..].chars().take_while(|c| *c != '>').collect();
    assert!(url.contains("/unsubscribe?e="), "{url}");
    // A GET shows the page and changes nothing; the one-click POST unsubscribes.
    let page = request("GET", &url, &[], "").await;
    assert_eq!(page.status, 200);
    assert!(page.body.contains("<form method=\"post\""));
    assert!(store.suppression(&address).await.unwrap().is_none());
    let done = request(
        "POST",
        &url,
        &[("content-type", "application/x-www-form-urlencoded")],
        "List-Unsubscribe=One-Click",
    )
    .await;
    assert_eq!(done.status, 200, "{}", done.body);
    assert!(store.suppression(&address).await.unwrap().is_some());
    // The next step sends nothing and the lead leaves the series.
    let later = store
        .lead(&id)
        .await
        .unwrap()
        .unwrap()
        .nurture
        .unwrap()
        .next_at
        + chrono::Duration::hours(6);
    let r = fire(later).await;
    assert_eq!(
        (
            r.json()["result"]["sent"].clone(),
            r.json()["result"]["exited"].clone()
        ),
        (json!(0), json!(1)),
        "{}",
        r.body
    );
    assert!(store.lead(&id).await.unwrap().unwrap().nurture.is_none());
    s.shutdown().await;
}

#[tokio::test]
async fn ses_events_posted_locally_reach_the_function_as_aws_delivers_them() {
    let s = DevStack::start(DevOptions::for_tests(unique("ses")))
        .await
        .expect("the local stack starts");
    let email = format!("{}@stadtwerke.example", unique("bounced"));
    routed_lead(&s, &email).await;
    let event = json!({
        "eventType": "Bounce",
        "mail": {"messageId": unique("m"), "destination": [email]},
        "bounce": {"bounceType": "Permanent", "bouncedRecipients": [{"emailAddress": email}], "timestamp": "2026-12-01T10:00:00Z"}
    });
    let url = format!("{}/_local/ses-events", s.api_url());
    let r = request(
        "POST",
        &url,
        &[("content-type", "application/json")],
        event.to_string(),
    )
    .await;
    assert_eq!(r.status, 202, "{}", r.body);
    assert_eq!(r.json()["delivered"], 1);
    let store = store(&s);
    let address = EmailAddress::parse(&email).unwrap();
    eventually(&s, "the bounce to suppress the address", || {
        let (store, address) = (store.clone(), address.clone());
        async move { store.suppression(&address).await.ok()? }
    })
    .await;
    let bad = request("POST", &url, &[], "{\"not\": \"an event\"}").await;
    assert_eq!(bad.status, 400);

    // A complaint, delivered twice (SNS delivers at least once): suppressed, recorded once.
    let other = format!("{}@stadtwerke.example", unique("angry"));
    let id = routed_lead(&s, &other).await;
    let complaint = json!({
        "eventType": "Complaint",
        "mail": {"messageId": unique("c"), "destination": [other]},
        "complaint": {"complainedRecipients": [{"emailAddress": other}], "timestamp": "2026-12-01T11:00:00Z"}
    });
    for _ in 0..2 {
        let r = request("POST", &url, &[], complaint.to_string()).await;
        assert_eq!(r.status, 202, "{}", r.body);
    }
    let address = EmailAddress::parse(&other).unwrap();
    let suppression = eventually(&s, "the complaint to suppress the address", || {
        let (store, address) = (store.clone(), address.clone());
        async move { store.suppression(&address).await.ok()? }
    })
    .await;
    assert_eq!(
        suppression.reason,
        leadflow::ports::SuppressionReason::Complaint
    );
    let recorded = eventually(&s, "both deliveries handled", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            let n = store
                .history(&id)
                .await
                .ok()?
                .iter()
                .filter(|h| matches!(&h.event, Event::EmailFeedback { kind, .. } if kind == "complaint"))
                .count();
            (n >= 1).then_some(n)
        }
    })
    .await;
    // Once the second delivery is handled too (its queue empty), count again.
    drained(&s).await;
    let again = store
        .history(&id)
        .await
        .unwrap()
        .iter()
        .filter(|h| matches!(&h.event, Event::EmailFeedback { kind, .. } if kind == "complaint"))
        .count();
    assert_eq!(
        (recorded, again),
        (1, 1),
        "one history entry for two deliveries"
    );
    s.shutdown().await;
}

#[tokio::test]
async fn not_now_runs_its_series_with_a_call_and_clicks_bring_a_nurtured_lead_back_to_inside_sales()
{
    let s = DevStack::start(DevOptions::for_tests(unique("series")))
        .await
        .expect("the local stack starts");
    let post = |body: Value| {
        let url = format!("{}/inquiries", s.api_url());
        async move {
            request(
                "POST",
                &url,
                &[("content-type", "application/json")],
                body.to_string(),
            )
            .await
        }
    };
    let store = store(&s);
    let stack = &s;
    let lead_of = |email: String| {
        let store = store.clone();
        async move {
            let address = EmailAddress::parse(&email).unwrap();
            eventually(stack, "the lead to be routed", || {
                let (store, address) = (store.clone(), address.clone());
                async move {
                    let id = store.lead_id_by_email(&address).await.ok()??;
                    store.lead(&id).await.ok()??.routing?;
                    Some(id)
                }
            })
            .await
        }
    };
    // An American inquiry: Sam (Americas inside sales) reports "not now".
    let later = format!("{}@utility.example", unique("later"));
    assert_eq!(
        post(json!({"email": later, "country": "US", "request_type": "info"}))
            .await
            .status,
        202
    );
    let id = lead_of(later.clone()).await;
    let sam = rep(&s, "sam.patel").await;
    let version = store.lead(&id).await.unwrap().unwrap().version;
    let r = call(
        &s,
        "POST",
        &format!("/leads/{id}/outcomes"),
        Some(&sam),
        Some(json!({"reached": true, "outcome": "not_now", "version": version})),
    )
    .await;
    assert_eq!(r.status, 200, "{}", r.body);
    assert_eq!(
        store
            .lead(&id)
            .await
            .unwrap()
            .unwrap()
            .nurture
            .unwrap()
            .series,
        "not_now"
    );
    // Ten weeks of daily ticks at 15:00 UTC (10:00 in New York), in seconds.
    let start = chrono::Utc::now()
        .date_naive()
        .and_hms_opt(15, 0, 0)
        .unwrap()
        .and_utc();
    let url = format!("{}/_local/schedules/NurtureFunction", s.api_url());
    for day in 1..75 {
        let t = start + chrono::Duration::days(day);
        let r = request(
            "POST",
            &url,
            &[],
            json!({ "time": t.to_rfc3339() }).to_string(),
        )
        .await;
        assert_eq!(r.status, 200, "{}", r.body);
    }
    let history = store.history(&id).await.unwrap();
    let sent: Vec<_> = history
        .iter()
        .filter(|h| {
            matches!(
                &h.event,
                Event::EmailSent {
                    kind: EmailKind::Nurture,
                    ..
                }
            )
        })
        .collect();
    assert_eq!(sent.len(), 3, "the series' three emails");
    let call_task = store
        .tasks(&id)
        .await
        .unwrap()
        .into_iter()
        .find(|t| t.reason.contains("nurture series not_now"))
        .expect("the series' inside-sales call");
    assert_eq!(call_task.owner.key(), "rep#sam.patel");

    // A far-off lead in the nurture program clicks and clicks: back to inside sales at once.
    let warm = format!("{}@utility.example", unique("warm"));
    let body = json!({"email": warm, "country": "US", "timeframe": "over_12_months", "authority": "influencer"});
    assert_eq!(post(body).await.status, 202);
    let id = lead_of(warm.clone()).await;
    assert!(store.lead(&id).await.unwrap().unwrap().nurture.is_some());
    let clicks: Vec<Value> = (0..20)
        .map(|i| json!({"eventType": "Click", "mail": {"messageId": format!("{warm}-{i}"), "destination": [warm]},
                         "click": {"link": "https://example.com/kits/information", "timestamp": "2026-12-01T15:00:00Z"}}))
        .collect();
    let r = request(
        "POST",
        &format!("{}/_local/ses-events", s.api_url()),
        &[],
        Value::Array(clicks).to_string(),
    )
    .await;
    assert_eq!(
        (r.status, r.json()["delivered"].clone()),
        (202, json!(20)),
        "{}",
        r.body
    );
    let lead = eventually(&s, "the clicks to hand the lead to inside sales", || {
        let (store, id) = (store.clone(), id.clone());
        async move {
            let l = store.lead(&id).await.ok()??;
            (l.nurture.is_none() && l.routing.as_ref()?.route == leadflow::Route::HighPotential)
                .then_some(l)
        }
    })
    .await;
    assert_eq!(lead.owner().unwrap().key(), "rep#sam.patel");
    s.shutdown().await;
}

/// Issue 24, item 17, over HTTP: a form sent faster than the guard allows is
/// thanked, held with its reason (not a lead), listed for ops only, and
/// released into the pipeline once: routed, its owner told.
#[tokio::test]
async fn suspected_spam_is_held_and_ops_release_it_into_the_pipeline_once() {
    let s = DevStack::start(DevOptions::for_tests(unique("spam")))
        .await
        .expect("the local stack starts");
    let email = format!("{}@stadtwerke.example", unique("autofill"));
    let form = format!(
        "email={}&request_type=info&country=DE&company=Stadtwerke+Nord&form_fill_ms=700",
        email.replace('@', "%40")
    );
    let r = request(
        "POST",
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/x-www-form-urlencoded")],
        form,
    )
    .await;
    assert_eq!(r.status, 303, "thanked as a person would be: {}", r.body);
    let address = EmailAddress::parse(&email).unwrap();
    assert!(store(&s)
        .lead_id_by_email(&address)
        .await
        .unwrap()
        .is_none());

    let lena = rep(&s, "lena.fischer").await;
    let r = call(&s, "GET", "/spam", Some(&lena), None).await;
    assert_eq!(r.status, 403, "{}", r.body);
    let olaf = rep(&s, "olaf.berg").await;
    let r = call(&s, "GET", "/spam", Some(&olaf), None).await;
    assert_eq!(r.status, 200, "{}", r.body);
    let posts = r.json()["posts"].clone();
    let post = posts
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["fields"].to_string().contains(&email))
        .expect("held")
        .clone();
    assert_eq!(post["sign"], "too_fast");
    assert_eq!(
        post["reason"],
        "sent 700 ms after the form opened (the minimum is 3000 ms)"
    );
    let id = post["id"].as_str().unwrap().to_string();
    let path = format!("/spam/{id}/release");
    assert_eq!(call(&s, "POST", &path, Some(&lena), None).await.status, 403);
    // Two operators (or a double click) at once: one lead, one response.
    let (a, b) = tokio::join!(
        call(&s, "POST", &path, Some(&olaf), None),
        call(&s, "POST", &path, Some(&olaf), None)
    );
    assert_eq!((a.status, b.status), (200, 200), "{} {}", a.body, b.body);
    assert_eq!(a.json()["lead_id"], b.json()["lead_id"]);
    let lead_id = LeadId::parse(a.json()["lead_id"].as_str().unwrap()).unwrap();
    eventually(
        &s,
        "the released inquiry routed and its owner told",
        || async {
            let history = store(&s).history(&lead_id).await.ok()?;
            history
                .iter()
                .any(|h| {
                    matches!(
                        &h.event,
                        Event::EmailSent {
                            kind: EmailKind::OwnerNotice,
                            ..
                        }
                    )
                })
                .then_some(())
        },
    )
    .await;
    let lead = store(&s).lead(&lead_id).await.unwrap().unwrap();
    assert_eq!(lead.responses, 1);
    assert_eq!(lead.owner().unwrap().key(), "rep#lena.fischer");
    assert!(!lead.custom.contains_key("form_fill_ms"));
    let r = call(&s, "POST", &path, Some(&olaf), None).await;
    assert_eq!(r.json()["already_released"], true, "{}", r.body);
    let r = call(&s, "GET", "/spam", Some(&olaf), None).await;
    let listed = r.json()["posts"]
        .as_array()
        .unwrap()
        .iter()
        .find(|p| p["id"] == id.as_str())
        .unwrap()
        .clone();
    assert_eq!(listed["released"]["by"], "olaf.berg");
    s.shutdown().await;
}

/// Issue 24, item 7, over HTTP: leads as a file. The rep's API queues the
/// export, the exports function writes it to the bucket under its own role,
/// and the requester (only) gets a presigned link that works until it
/// expires, as S3's would.
#[tokio::test]
async fn an_export_is_written_as_a_file_its_requester_downloads_by_a_link() {
    let s = DevStack::start(DevOptions::for_tests(unique("exports")))
        .await
        .expect("the local stack starts");
    let emails = [
        format!("{}@stadtwerke.example", unique("export-a")),
        format!("{}@stadtwerke.example", unique("export-b")),
    ];
    for email in &emails {
        routed_lead(&s, email).await;
    }
    let lena = rep(&s, "lena.fischer").await;
    let r = call(&s, "POST", "/exports?status=open", Some(&lena), None).await;
    assert_eq!(r.status, 202, "{}", r.body);
    let href = r.json()["export"]["href"].as_str().unwrap().to_string();
    assert_eq!(r.headers["location"], href.as_str());
    let ready = watch(&s, "the export file to be written", || async {
        let r = call(&s, "GET", &href, Some(&lena), None).await;
        match r.json()["export"]["status"].as_str() {
            Some("ready") => Ok(r.json()["export"].clone()),
            _ => Err(r.body),
        }
    })
    .await;
    assert_eq!(ready["rows"], 2, "{ready}");
    let url = ready["url"].as_str().unwrap().to_string();
    assert!(url.contains("X-Amz-Signature="), "{url}");
    let file = request("GET", &url, &[], "").await;
    assert_eq!(file.status, 200, "{}", file.body);
    assert!(file.body.starts_with("lead_id,email,name"), "{}", file.body);
    for email in &emails {
        assert!(file.body.contains(email.as_str()), "{email}: {}", file.body);
    }
    // Someone else's export is not found.
    let olaf = rep(&s, "olaf.berg").await;
    assert_eq!(call(&s, "GET", &href, Some(&olaf), None).await.status, 404);
    // A link changed to reach another file is refused, as S3 refuses it.
    let id = href.trim_start_matches("/exports/");
    let forged = url.replace(id, "ex_01JZZZZZZZZZZZZZZZZZZZZZZZ");
    let r = request("GET", &forged, &[], "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("SignatureDoesNotMatch"), "{}", r.body);
    // A link past its expiry is refused, as S3 refuses it.
    let signed_at = url
        .split("X-Amz-Date=")
        .nth(1)
        .and_then(|v| v.split('&').next())
        .unwrap()
        .to_string();
    let stale = url.replace(&signed_at, "20200101T000000Z");
    let r = request("GET", &stale, &[], "").await;
    assert_eq!(r.status, 403, "{}", r.body);
    assert!(r.body.contains("Request has expired"), "{}", r.body);
    s.shutdown().await;
}
