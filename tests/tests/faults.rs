//! Faults mid-flight, over the local stack as `make dev` runs it: the
//! functions reach the emulator through the local proxy, and these tests make
//! it drop connections, answer 503 or throttle; they kill function processes
//! mid-batch, deliver poison messages, and use `leadflow dlq` and
//! `leadflow dlq redrive` as an operator would. Each test checks that nothing
//! was lost and nothing sent twice.

mod common;

use leadflow::ports::prelude::*;
use std::collections::BTreeMap;
use std::time::Duration;

use common::{drained, emails_to, eventually, store, unique, watch};
use leadflow::domain::lead::{EmailKind, Event};
use leadflow::{EmailAddress, LeadId, ResponseId};
use leadflow_local::proxy::faults::{Fault, Matcher};
use leadflow_local::proxy::iam::Role;
use leadflow_local::{DevOptions, DevStack, RunningStack};
use serde_json::json;

/// A metered stack (its functions behind the proxy) whose queues' messages
/// come back 10 s after a failed delivery instead of 180 or 240 (the queues
/// are made so: no receive ever sees the longer one). Not less: a message
/// still being handled when its visibility lapses is delivered again, and a
/// loaded machine can take seconds over one. Its schedules keep their own
/// rates: the tests that need a tick fire it, at the time they choose.
async fn stack(name: &str) -> RunningStack {
    start(name, true, false).await
}

/// [`stack`], its outbox swept every 2 s: for the test whose posts only the
/// sweeper can finish. (Each sweep reads every outbox shard: eight stacks
/// sweeping every 2 s were most of what the emulator did for these tests.)
async fn stack_swept(name: &str) -> RunningStack {
    start(name, true, true).await
}

/// A metered stack whose queues keep the template's visibility timeouts:
/// for a test where nothing waits on a redelivery, so none may happen.
async fn stack_redelivering_late(name: &str) -> RunningStack {
    start(name, false, false).await
}

async fn start(name: &str, quick_redelivery: bool, swept: bool) -> RunningStack {
    let mut options = DevOptions::for_tests(unique(name));
    options.metered = true;
    // These stacks mostly wait (a redelivery's 10 s, a lease, the SDK's
    // timeouts against a dropped connection), not compute: they hold no
    // stack slot, and run as many at once as the test threads (four in
    // `make test`: RUST_TEST_THREADS) — 125 s → 101 s for this file.
    options.test_slot = false;
    if swept {
        options
            .schedule_periods
            .insert("OutboxFunction".into(), Duration::from_secs(2));
    }
    if quick_redelivery {
        for queue in ["RoutingQueue", "FulfillmentQueue", "EmailEventsQueue"] {
            options.queue_attributes.insert(
                queue.to_string(),
                [("VisibilityTimeout".to_string(), "10".to_string())].into(),
            );
        }
    }
    DevStack::start(options)
        .await
        .expect("the local stack starts")
}

const COUNTRIES: [&str; 4] = ["DE", "US", "FR", "GB"];
const REQUESTS: [&str; 3] = ["demo", "info", "onsite_demo"];

fn inquiry(email: &str, i: usize) -> serde_json::Value {
    json!({
        "email": email,
        "first_name": format!("F{i}"),
        "last_name": "Fault",
        "company": "Fault Tolerant GmbH",
        "country": COUNTRIES[i % 4],
        "request_type": REQUESTS[i % 3],
        "budget": "defined_fits",
        "authority": "decision_maker",
        "need": "established",
        "timeframe": "within_3_months",
    })
}

async fn post(s: &RunningStack, email: &str, i: usize) -> u16 {
    post_to(&s.api_url(), email, i).await
}

async fn post_to(api: &str, email: &str, i: usize) -> u16 {
    let r = leadflow_local::emulator::http_request(
        http::Method::POST,
        &format!("{api}/inquiries"),
        &[("content-type", "application/json")],
        inquiry(email, i).to_string(),
        common::ANSWER,
    )
    .await;
    match r {
        Ok(r) => r.status.as_u16(),
        Err(_) => 0,
    }
}

/// The history of the lead for `email`, when there is one.
async fn history(s: &RunningStack, email: &str) -> Option<Vec<Event>> {
    let store = store(s);
    let id = store
        .lead_id_by_email(&EmailAddress::parse(email).ok()?)
        .await
        .ok()??;
    Some(
        store
            .history(&id)
            .await
            .ok()?
            .into_iter()
            .map(|h| h.event)
            .collect(),
    )
}

/// Outcomes (sent, coalesced, refused) per email kind in a history.
fn outcomes(history: &[Event]) -> BTreeMap<EmailKind, usize> {
    let mut n = BTreeMap::new();
    for e in history {
        match e {
            Event::EmailSent { kind, .. }
            | Event::EmailCoalesced { kind, .. }
            | Event::EmailRejected { kind, .. } => *n.entry(*kind).or_default() += 1,
            _ => {}
        }
    }
    n
}

fn routed(history: &[Event]) -> usize {
    history
        .iter()
        .filter(|e| matches!(e, Event::Routed { .. }))
        .count()
}

/// Waits until the lead of `email` is routed once and its prospect email settled.
async fn settled(s: &RunningStack, email: &str) -> Vec<Event> {
    watch(s, &format!("{email} routed and answered"), || async {
        let Some(h) = history(s, email).await else {
            return Err("no lead yet".to_string());
        };
        if routed(&h) == 1 && outcomes(&h).get(&EmailKind::Fulfillment) == Some(&1) {
            Ok(h)
        } else {
            Err(format!(
                "routed {} time(s), email outcomes {:?}",
                routed(&h),
                outcomes(&h)
            ))
        }
    })
    .await
}

#[tokio::test]
async fn cut_off_from_aws_mid_burst_every_post_is_refused_or_reaches_the_pipeline() {
    let s = stack_swept("cut").await;
    let faults = s.proxy().faults();
    let emails: Vec<String> = (0..24)
        .map(|i| format!("{}@cut.example.com", unique(&format!("p{i}"))))
        .collect();
    // Four bursts of six concurrent posts: 0..6 and 18..24 meet no fault;
    // 6..12 find the intake unable to reach AWS at all; 12..18 find it able
    // to write the store but not publish (the outbox sweeper must). Posts in
    // a burst go at once, as a burst does: a cut-off post waits out its
    // SDK timeouts beside the others, not after them.
    let mut answers = vec![0u16; emails.len()];
    for burst in 0..4 {
        match burst {
            1 => {
                faults.add(Matcher::caller("IntakeFunction"), Fault::Drop, None);
            }
            2 => {
                faults.add(
                    Matcher::caller("IntakeFunction").service("sqs"),
                    Fault::Unavailable,
                    None,
                );
            }
            _ => {}
        }
        let mut posts = tokio::task::JoinSet::new();
        for (i, email) in emails.iter().enumerate().skip(burst * 6).take(6) {
            let (api, email) = (s.api_url(), email.clone());
            posts.spawn(async move { (i, post_to(&api, &email, i).await) });
        }
        while let Some(done) = posts.join_next().await {
            let (i, status) = done.expect("the post ran");
            answers[i] = status;
        }
        faults.clear();
    }
    assert!(faults.injected() > 0, "the faults were hit");
    let refused: Vec<usize> = (0..24).filter(|i| answers[*i] != 202).collect();
    assert!(
        refused.iter().all(|i| (6..12).contains(i)),
        "only posts that could not reach the store are refused: {answers:?}"
    );
    assert!(!refused.is_empty(), "some posts met the cut: {answers:?}");
    for i in &refused {
        assert!(answers[*i] >= 500, "a refusal is a 5xx: {answers:?}");
        assert!(
            history(&s, &emails[*i]).await.is_none(),
            "post {i} was refused but is stored"
        );
    }
    for (i, email) in emails.iter().enumerate() {
        if answers[i] == 202 {
            let h = settled(&s, email).await;
            assert_eq!(routed(&h), 1, "{email}");
            assert_eq!(
                emails_to(s.endpoint(), email).await.len(),
                1,
                "{email} got its kit once"
            );
        }
    }
}

#[tokio::test]
async fn a_throttled_router_and_an_unreachable_fulfillment_store_finish_late_and_once() {
    let s = stack_swept("throttle").await;
    let faults = s.proxy().faults();
    faults.add(
        Matcher::caller(ROUTER).service("dynamodb"),
        Fault::Throttle,
        Some(12),
    );
    faults.add(
        Matcher::caller(FULFILLMENT).service("dynamodb"),
        Fault::Unavailable,
        Some(12),
    );
    faults.add(
        Matcher::caller(leadflow_local::dev::EVENT_SOURCE_MAPPING).service("sqs"),
        Fault::Drop,
        Some(3),
    );
    let emails: Vec<String> = (0..5)
        .map(|i| format!("{}@throttled.example.com", unique(&format!("t{i}"))))
        .collect();
    for (i, email) in emails.iter().enumerate() {
        assert_eq!(post(&s, email, i).await, 202);
    }
    for email in &emails {
        let h = settled(&s, email).await;
        assert_eq!(routed(&h), 1, "{email}");
        assert_eq!(emails_to(s.endpoint(), email).await.len(), 1, "{email}");
    }
    assert!(faults.injected() >= 12, "the faults were met");
}

/// The function's logical ids in template.yaml.
const ROUTER: &str = "RouterFunction";
const FULFILLMENT: &str = "FulfillmentFunction";

#[tokio::test]
async fn a_function_killed_mid_batch_finishes_by_redelivery_with_no_duplicate_email() {
    let s = stack_swept("kill").await;
    let faults = s.proxy().faults();
    for function in [ROUTER, FULFILLMENT] {
        // Its next store write waits 3 s in the proxy; the process is killed
        // meanwhile (the write still lands, as one in flight would).
        let write = if function == ROUTER {
            "TransactWriteItems"
        } else {
            "PutItem"
        };
        let rule = faults.add(
            Matcher::caller(function)
                .service("dynamodb")
                .operation(write),
            Fault::Delay(Duration::from_secs(3)),
            Some(1),
        );
        let emails: Vec<String> = (0..4)
            .map(|i| format!("{}@kill.example.com", unique(&format!("k{i}"))))
            .collect();
        let posts = async {
            for (i, email) in emails.iter().enumerate() {
                assert_eq!(post(&s, email, i).await, 202);
            }
        };
        // Watched while the posts go in, not after them: on a busy machine the
        // first post reaches the function, and its write is held and let go,
        // before the last post is answered. The posts go through the intake,
        // the routing queue and (for the fulfillment) the router first: give
        // a busy machine time.
        let kill = async {
            eventually(&s, "a write held in the proxy", || async {
                (faults.held() > 0).then_some(())
            })
            .await;
            assert!(s.kill_function(function));
        };
        tokio::join!(posts, kill);
        faults.remove(rule);
        for email in &emails {
            let h = settled(&s, email).await;
            assert_eq!(routed(&h), 1, "{function}: {email} routed once");
            let sent = emails_to(s.endpoint(), email).await.len();
            assert_eq!(sent, 1, "{function}: {email} got its kit exactly once");
        }
    }
}

#[tokio::test]
async fn a_sender_refused_by_its_role_is_alarmed_and_sends_once_the_role_is_fixed() {
    let s = stack("sender").await;
    // The fulfillment's role without its SES grant: every send is refused
    // as AWS refuses it (AccessDenied), a problem of our sender, not of the
    // prospect's address.
    let function = s.model().function(FULFILLMENT).unwrap();
    let granted = Role {
        function: FULFILLMENT.into(),
        statements: function.policies.clone(),
    };
    let without_ses = Role {
        function: FULFILLMENT.into(),
        statements: function
            .policies
            .iter()
            .filter(|st| !st.actions.iter().any(|a| a.starts_with("ses:Send")))
            .cloned()
            .collect(),
    };
    s.proxy().enforce(without_ses);
    let email = format!("{}@sender.example.com", unique("s"));
    assert_eq!(post(&s, &email, 1).await, 202);
    // The alarm line is logged (the template's metric filter counts it), and
    // the claim is given back: nothing was sent.
    watch(
        &s,
        "the ses_sender alarm in the fulfillment's log",
        || async {
            let log = s.function_log_tail(FULFILLMENT).unwrap_or_default();
            match log.contains("ses_sender") {
                true => Ok(()),
                false => Err(format!(
                    "{} refusal(s) so far",
                    s.proxy()
                        .denials()
                        .iter()
                        .filter(|d| d.action.starts_with("ses:"))
                        .count()
                )),
            }
        },
    )
    .await;
    assert!(s
        .proxy()
        .denials()
        .iter()
        .any(|d| d.function == FULFILLMENT && d.action.starts_with("ses:Send")));
    // Every delivery fails the same way: after the queue's receives both
    // parts of the response (the prospect's kit, the owner's package) wait
    // in the dead-letter queue, with their reason.
    let listing = eventually(&s, "both parts in the dead-letter queue", || async {
        let (_, out) = leadflow_dlq(&s, &[]).await;
        out.contains("2 messages in 4 dead-letter queues")
            .then_some(out)
    })
    .await;
    let (_, json_out) = leadflow_dlq(&s, &["--json"]).await;
    let listed: serde_json::Value = serde_json::from_str(&json_out).expect("JSON");
    let parts: Vec<String> = listed
        .as_array()
        .expect("a list of queues")
        .iter()
        .flat_map(|q| q["messages"].as_array().cloned().unwrap_or_default())
        .map(|m| {
            let body: serde_json::Value =
                serde_json::from_str(m["body"].as_str().unwrap_or_default()).unwrap_or_default();
            body["part"].as_str().unwrap_or_default().to_string()
        })
        .collect();
    assert_eq!(parts.len(), 2, "{listing}");
    for part in ["prospect", "owner"] {
        assert!(parts.iter().any(|p| p == part), "{part}: {listing}");
    }
    assert_eq!(emails_to(s.endpoint(), &email).await.len(), 0);
    // The operator fixes the role and puts the messages back: each sent, once.
    s.proxy().enforce(granted);
    let (code, out) = leadflow_dlq(&s, &["redrive"]).await;
    assert_eq!(code, 0, "{out}");
    let h = settled(&s, &email).await;
    assert!(h.iter().any(
        |e| matches!(e, Event::EmailSent { kind: EmailKind::Fulfillment, to, .. } if *to == email)
    ));
    let h = eventually(&s, "the owner's package sent", || async {
        let h = history(&s, &email).await?;
        h.iter()
            .any(|e| {
                matches!(
                    e,
                    Event::EmailSent {
                        kind: EmailKind::OwnerNotice,
                        ..
                    }
                )
            })
            .then_some(h)
    })
    .await;
    drained(&s).await;
    assert_eq!(emails_to(s.endpoint(), &email).await.len(), 1);
    let again = history(&s, &email).await.unwrap();
    assert_eq!(outcomes(&again), outcomes(&h), "each part sent once");
}

#[tokio::test]
async fn ses_throttling_delays_mail_and_a_permanent_refusal_is_recorded_not_retried() {
    let s = stack("ses").await;
    let faults = s.proxy().faults();
    // Throttled through the SDK's own retries: the message is deferred and sent later, once.
    faults.add(
        Matcher::caller(FULFILLMENT).service("ses"),
        Fault::Throttle,
        Some(3),
    );
    let slow = format!("{}@throttle.example.com", unique("t"));
    assert_eq!(post(&s, &slow, 1).await, 202);
    let h = settled(&s, &slow).await;
    assert!(faults.injected() >= 3);
    assert_eq!(emails_to(s.endpoint(), &slow).await.len(), 1);
    assert!(h.iter().any(
        |e| matches!(e, Event::EmailSent { kind: EmailKind::Fulfillment, to, .. } if *to == slow)
    ));

    // Refused for good: recorded, and never tried again.
    let before = faults.injected();
    faults.add(
        Matcher::caller(FULFILLMENT).service("ses"),
        Fault::Reject,
        Some(1),
    );
    let refused = format!("{}@reject.example.com", unique("r"));
    assert_eq!(post(&s, &refused, 2).await, 202);
    let h = eventually(&s, "the refusal recorded and the rest sent", || async {
        let h = history(&s, &refused).await?;
        let o = outcomes(&h);
        (routed(&h) == 1 && o.get(&EmailKind::Fulfillment) == Some(&1) && o.len() == 2).then_some(h)
    })
    .await;
    assert_eq!(faults.injected(), before + 1);
    let rejected: Vec<_> = h
        .iter()
        .filter(|e| matches!(e, Event::EmailRejected { .. }))
        .collect();
    assert_eq!(rejected.len(), 1, "{h:?}");
    // Nothing left to retry anywhere (a failed delivery would wait on its
    // queue for another try): then the history is final.
    drained(&s).await;
    let again = history(&s, &refused).await.unwrap();
    assert_eq!(outcomes(&again), outcomes(&h), "not retried");
}

/// `leadflow dlq` and `leadflow dlq redrive`, as the operator runs them.
async fn leadflow_dlq(s: &RunningStack, args: &[&str]) -> (i32, String) {
    let root = leadflow_local::root::workspace_root();
    let exe = std::env::var_os("CARGO_TARGET_DIR")
        .map(std::path::PathBuf::from)
        .unwrap_or_else(|| root.join("target"))
        .join("debug/leadflow-local");
    // Waited for without blocking: the stack's proxy and pollers run on this
    // test's runtime, and keep moving while the command runs.
    let out = tokio::process::Command::new(&exe)
        .arg("dlq")
        .args(args)
        .args(["--stack-name", s.stack_name(), "--endpoint", s.endpoint()])
        .output()
        .await
        .unwrap_or_else(|e| panic!("{}: {e} (cargo build --workspace --bins)", exe.display()));
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
    )
}

#[tokio::test]
async fn poison_messages_alone_go_to_the_dead_letter_queues_and_a_redrive_is_safe() {
    // Poison is dead-lettered at its first delivery: a redelivery (a
    // message still being handled when a short visibility lapsed) would
    // dead-letter a second copy and change the counts this test checks.
    let s = stack_redelivering_late("poison").await;
    let sqs = aws_sdk_sqs::Client::new(s.sdk_config());
    let send = |queue: &str, body: String| {
        let (sqs, url) = (sqs.clone(), s.queue_url(queue).expect(queue).to_string());
        async move {
            sqs.send_message()
                .queue_url(url)
                .message_body(body)
                .send()
                .await
                .expect("sent");
        }
    };
    let email = format!("{}@poison.example.com", unique("ok"));
    assert_eq!(post(&s, &email, 0).await, 202);
    // Poison beside good work: each queue gets one its consumer can never handle.
    send("RoutingQueue", "not json".into()).await;
    send(
        "RoutingQueue",
        json!({"lead_id": LeadId::generate(), "response_id": ResponseId::generate()}).to_string(),
    )
    .await;
    send("FulfillmentQueue", "{\"lead_id\": 7}".into()).await;
    send("EmailEventsQueue", "<xml/>".into()).await;
    let second = format!("{}@poison.example.com", unique("ok2"));
    assert_eq!(post(&s, &second, 1).await, 202);
    settled(&s, &email).await;
    settled(&s, &second).await;
    // The owner's package follows the prospect's kit (it waits for repeats to settle).
    let first = eventually(&s, "the owner's package too", || async {
        let h = history(&s, &email).await?;
        (outcomes(&h).len() == 2).then_some(h)
    })
    .await;

    let (code, listing) = eventually(&s, "4 messages in the dead-letter queues", || async {
        let (code, out) = leadflow_dlq(&s, &[]).await;
        out.contains("4 messages in 4 dead-letter queues")
            .then_some((code, out))
    })
    .await;
    assert_eq!(code, 1, "messages wait: exit 1\n{listing}");
    assert!(listing.contains("RoutingDeadLetterQueue  <- "), "{listing}");
    assert!(listing.contains("reason: malformed message"), "{listing}");
    assert!(listing.contains("does not exist"), "{listing}");
    assert!(listing.contains("body:   <xml/>"), "{listing}");

    // A message that failed for a cause since fixed: a copy of one already
    // handled, put in the dead-letter queues by hand. Redriving everything
    // must handle it again harmlessly, and the poison comes back with its reason.
    let store = store(&s);
    let lead = store
        .lead_id_by_email(&EmailAddress::parse(&email).unwrap())
        .await
        .unwrap()
        .unwrap();
    let response = first
        .iter()
        .find_map(|e| match e {
            Event::Response(r) => Some(r.response_id.clone()),
            _ => None,
        })
        .unwrap();
    let redo = json!({"lead_id": lead, "response_id": response}).to_string();
    send("RoutingDeadLetterQueue", redo.clone()).await;
    send("FulfillmentDeadLetterQueue", redo).await;
    let (code, out) = leadflow_dlq(&s, &["redrive"]).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("3 messages back on"), "{out}");
    eventually(
        &s,
        "the poison back in the dead-letter queues, alone",
        || async {
            let (_, out) = leadflow_dlq(&s, &[]).await;
            out.contains("4 messages in 4 dead-letter queues")
                .then_some(())
        },
    )
    .await;
    drained(&s).await;
    let after = history(&s, &email).await.unwrap();
    assert_eq!(routed(&after), 1, "the redriven copy did not route again");
    assert_eq!(outcomes(&after), outcomes(&first), "nor send again");
    assert_eq!(emails_to(s.endpoint(), &email).await.len(), 1);
    let (_, json_out) = leadflow_dlq(&s, &["--json"]).await;
    let listed: serde_json::Value = serde_json::from_str(&json_out).expect("JSON");
    assert_eq!(listed.as_array().map(Vec::len), Some(4));
}

#[tokio::test]
async fn a_reminders_tick_killed_midway_is_finished_by_the_next_with_one_email_each() {
    let s = stack("remind").await;
    let faults = s.proxy().faults();
    // An inside-sales lead whose pre-qualification call falls due when its
    // first-touch SLA runs out, a working day later (as in tests/tests/rep.rs).
    let email = format!("{}@stadtwerke.example", unique("late"));
    let body = json!({"email": email, "request_type": "info", "country": "DE", "company": "Stadtwerke Nord"});
    let r = leadflow_local::emulator::http_request(
        http::Method::POST,
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/json")],
        body.to_string(),
        common::ANSWER,
    )
    .await
    .expect("answered");
    assert_eq!(r.status, 202);
    eventually(&s, "the owner's package", || async {
        let h = history(&s, &email).await?;
        outcomes(&h)
            .contains_key(&EmailKind::OwnerNotice)
            .then_some(())
    })
    .await;
    let lead_id = store(&s)
        .lead_id_by_email(&EmailAddress::parse(&email).unwrap())
        .await
        .unwrap()
        .expect("the lead");
    let id = lead_id.to_string();
    // The SLA counts business hours: when it runs out depends on the day.
    let sla_due = store(&s)
        .lead(&lead_id)
        .await
        .unwrap()
        .expect("the lead")
        .sla
        .expect("an SLA clock")
        .due;
    let fire = |at: chrono::DateTime<chrono::Utc>| {
        let url = format!("{}/_local/schedules/RemindersFunction", s.api_url());
        async move {
            leadflow_local::emulator::http_request(
                http::Method::POST,
                &url,
                &[("content-type", "application/json")],
                json!({ "time": at.to_rfc3339() }).to_string(),
                Duration::from_secs(120),
            )
            .await
            .expect("answered")
        }
    };
    let day_later = sla_due + chrono::Duration::minutes(1);
    // The tick's first claim (a conditional put: the breached lead's, as
    // escalations come first) is held in the proxy; the process dies meanwhile.
    faults.add(
        Matcher::caller("RemindersFunction")
            .service("dynamodb")
            .operation("PutItem"),
        Fault::Delay(Duration::from_secs(3)),
        Some(1),
    );
    let killed = tokio::spawn(fire(day_later));
    eventually(&s, "the tick's claim held in the proxy", || async {
        (faults.held() > 0).then_some(())
    })
    .await;
    assert!(s.kill_function("RemindersFunction"));
    let r = killed.await.expect("joined");
    assert_eq!(r.status.as_u16(), 502, "the killed tick failed");
    // The next ticks, after the claim's lease: everything owed, once.
    for minutes in [4, 5] {
        let r = fire(day_later + chrono::Duration::minutes(minutes)).await;
        assert_eq!(r.status.as_u16(), 200);
    }
    let mentions = |to: &'static str| common::mentions(s.endpoint(), to, &id);
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
}

#[tokio::test]
async fn a_nurture_tick_killed_midway_sends_the_step_once_after_the_lease() {
    let s = stack("nurture").await;
    let faults = s.proxy().faults();
    // A far-off lead: enrolled in the nurture program (as in tests/tests/rep.rs).
    let email = format!("{}@utility.example", unique("drip"));
    let body = json!({"email": email, "country": "US", "timeframe": "over_12_months", "authority": "influencer"});
    let r = leadflow_local::emulator::http_request(
        http::Method::POST,
        &format!("{}/inquiries", s.api_url()),
        &[("content-type", "application/json")],
        body.to_string(),
        common::ANSWER,
    )
    .await
    .expect("answered");
    assert_eq!(r.status, 202);
    let store = store(&s);
    let address = EmailAddress::parse(&email).unwrap();
    let lead = eventually(&s, "the lead to be enrolled and answered", || async {
        let id = store.lead_id_by_email(&address).await.ok()??;
        let lead = store.lead(&id).await.ok()??;
        lead.nurture.as_ref()?;
        let h = history(&s, &email).await?;
        outcomes(&h)
            .contains_key(&EmailKind::Fulfillment)
            .then_some(lead)
    })
    .await;
    let playbook = leadflow::Playbook::default_playbook().unwrap();
    let next_at = lead.nurture.as_ref().unwrap().next_at;
    // A tick inside the lead's send window (New York business hours), and
    // one after the claim's lease, also inside it.
    let first = leadflow::domain::nurture::next_window(
        &lead,
        &playbook,
        next_at + chrono::Duration::minutes(1),
    );
    let second = leadflow::domain::nurture::next_window(
        &lead,
        &playbook,
        first + chrono::Duration::minutes(5),
    );
    let fire = |at: chrono::DateTime<chrono::Utc>| {
        let url = format!("{}/_local/schedules/NurtureFunction", s.api_url());
        async move {
            leadflow_local::emulator::http_request(
                http::Method::POST,
                &url,
                &[("content-type", "application/json")],
                json!({ "time": at.to_rfc3339() }).to_string(),
                Duration::from_secs(120),
            )
            .await
            .expect("answered")
        }
    };
    let before = emails_to(s.endpoint(), &email).await.len();
    // The step's claim (its first write) is held in the proxy; the process dies meanwhile.
    faults.add(
        Matcher::caller("NurtureFunction")
            .service("dynamodb")
            .operation("PutItem"),
        Fault::Delay(Duration::from_secs(3)),
        Some(1),
    );
    let killed = tokio::spawn(fire(first));
    eventually(&s, "the step's claim held in the proxy", || async {
        (faults.held() > 0).then_some(())
    })
    .await;
    assert!(s.kill_function("NurtureFunction"));
    let r = killed.await.expect("joined");
    assert_eq!(r.status.as_u16(), 502, "the killed tick failed");
    assert_eq!(emails_to(s.endpoint(), &email).await.len(), before);
    // The next ticks, after the lease: the step's email once, and the step taken once.
    for at in [second, second + chrono::Duration::minutes(1)] {
        let r = fire(at).await;
        assert_eq!(
            r.status.as_u16(),
            200,
            "{}",
            String::from_utf8_lossy(&r.body)
        );
    }
    assert_eq!(
        emails_to(s.endpoint(), &email).await.len(),
        before + 1,
        "the step's email exactly once"
    );
    let h = history(&s, &email).await.expect("history");
    let steps = h
        .iter()
        .filter(|e| matches!(e, Event::NurtureStep { step: 0, .. }))
        .count();
    assert_eq!(steps, 1, "the first step taken once");
    assert_eq!(outcomes(&h).get(&EmailKind::Nurture), Some(&1));
}
