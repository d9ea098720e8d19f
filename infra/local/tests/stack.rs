//! The whole local stack (DevStack) with the fake_lambda example as every function.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, StatusCode};
use leadflow_local::root::workspace_root;
use leadflow_local::testing::{eventually, panic_message, watch, watch_within};
use leadflow_local::{DevOptions, DevStack, InvokeError, RunningStack};
use serde_json::{json, Value};

async fn fixture_stack(
    record_dir: &std::path::Path,
    schedule_period: Option<Duration>,
) -> RunningStack {
    // No emulator given: the stack uses AWS_ENDPOINT_URL, or starts (and stops) its own moto.
    let mut options = DevOptions::for_tests(common::unique("fx"));
    options.template = Some(workspace_root().join("infra/local/tests/fixtures/template.yaml"));
    options.build = false;
    options.schedule_period = schedule_period;
    options.params = BTreeMap::from([
        ("Greeting".to_string(), "howdy".to_string()),
        ("RecordDir".to_string(), record_dir.display().to_string()),
    ]);
    for function in ["ApiFunction", "WorkerFunction", "TickFunction"] {
        options
            .binaries
            .insert(function.into(), common::fake_lambda());
    }
    DevStack::start(options).await.expect("stack starts")
}

fn json_body(body: &Bytes) -> Value {
    serde_json::from_slice(body)
        .unwrap_or_else(|e| panic!("{e}: {}", String::from_utf8_lossy(body)))
}

#[tokio::test(flavor = "multi_thread")]
async fn http_api_landing_page_and_emails() {
    let dir = common::temp_dir();
    let stack = fixture_stack(&dir, None).await;
    let api = stack.api_url();
    let stack_name = stack.stack_name().to_string();

    // A form post becomes a payload format 2.0 event; the response is translated.
    let (status, headers, body) = common::request(
        Method::POST,
        &format!("{api}/items?src=test&src=again"),
        &[
            ("content-type", "application/x-www-form-urlencoded"),
            ("cookie", "a=1; b=2"),
            ("x-twice", "1"),
            ("x-twice", "2"),
        ],
        "email=ada%40example.com&company=Analytical",
    )
    .await;
    assert_eq!(
        status,
        StatusCode::CREATED,
        "{}",
        String::from_utf8_lossy(&body)
    );
    assert_eq!(headers["x-route"], "POST /items");
    assert_eq!(headers["set-cookie"], "seen=1; Path=/");
    assert!(headers.contains_key("apigw-requestid"));
    let reply = json_body(&body);
    let event = &reply["event"];
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /items");
    assert_eq!(event["body"], "email=ada%40example.com&company=Analytical");
    assert_eq!(event["isBase64Encoded"], false);
    assert_eq!(event["queryStringParameters"]["src"], "test,again");
    assert_eq!(event["headers"]["x-twice"], "1,2");
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert_eq!(event["requestContext"]["http"]["method"], "POST");
    assert_eq!(event["requestContext"]["stage"], "$default");
    let env = &reply["env"];
    assert_eq!(env["GREETING"], "howdy");
    assert_eq!(env["TABLE_NAME"], format!("{stack_name}-Table"));
    // It reaches AWS through the stack's proxy, on a port of its own (where
    // its role is enforced), not straight at the emulator.
    assert_eq!(
        env["AWS_ENDPOINT_URL"].as_str(),
        stack.proxy().endpoint_of("ApiFunction").as_deref()
    );
    assert_ne!(env["AWS_ENDPOINT_URL"], stack.endpoint());
    assert_eq!(
        env["AWS_LAMBDA_FUNCTION_NAME"],
        format!("{stack_name}-ApiFunction")
    );
    // Defaults naming 127.0.0.1:3000 follow the port actually used.
    let port = api.rsplit(':').next().unwrap();
    assert_eq!(
        stack.function_env("ApiFunction").unwrap()["PAGE_URL"],
        format!("http://127.0.0.1:{port}/page")
    );

    let (status, _, body) = common::get(&format!("{api}/items/42")).await;
    assert_eq!(status, StatusCode::CREATED);
    assert_eq!(json_body(&body)["event"]["pathParameters"]["id"], "42");

    let (status, headers, body) = common::get(&format!("{api}/plain")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "application/json");
    assert_eq!(json_body(&body), json!({"plain": true}));

    let (status, _, body) = common::get(&format!("{api}/binary")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(body, Bytes::from_static(&[0, 1, 2, 255]));

    let (status, _, body) = common::get(&format!("{api}/fail")).await;
    assert_eq!(status, StatusCode::INTERNAL_SERVER_ERROR);
    assert_eq!(
        json_body(&body),
        json!({"message": "Internal Server Error"})
    );

    let (status, _, body) = common::request(Method::DELETE, &format!("{api}/items"), &[], "").await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert_eq!(json_body(&body), json!({"message": "Not Found"}));

    let big = vec![b'x'; 10 * 1024 * 1024 + 1];
    let (status, _, _) = common::request(Method::POST, &format!("{api}/items"), &[], big).await;
    assert_eq!(status, StatusCode::PAYLOAD_TOO_LARGE);

    // The landing page.
    let (status, headers, body) = common::get(&format!("{api}/")).await;
    assert_eq!(status, StatusCode::OK);
    assert_eq!(headers["content-type"], "text/html; charset=utf-8");
    let page = String::from_utf8_lossy(&body);
    assert!(page.contains("action=\"/inquiries\""));
    assert!(page.contains("name=\"email\""));
    let (status, _, _) = common::get(&format!("{api}/thanks.html")).await;
    assert_eq!(status, StatusCode::OK);
    let (status, _, _) = common::get(&format!("{api}/../Cargo.toml")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);

    // Direct invocations.
    let err = stack
        .invoke("ApiFunction", json!({"fake": "error"}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Function { .. }), "{err}");
    let err = stack.invoke("Nope", json!({})).await.unwrap_err();
    assert_eq!(err, InvokeError::UnknownFunction("Nope".into()));

    // Names.
    assert_eq!(
        stack.table_name("Table"),
        Some(format!("{stack_name}-Table").as_str())
    );
    assert!(stack
        .queue_url("Work")
        .unwrap()
        .ends_with(&format!("/{stack_name}-Work")));
    assert!(stack.summary().contains("POST     /items"));

    // Emails the emulator recorded are listed at /_dev/emails.
    let ses = aws_sdk_ses::Client::new(stack.sdk_config());
    let subject = common::unique("subject");
    ses.send_email()
        .source("sender@example.com")
        .destination(
            aws_sdk_ses::types::Destination::builder()
                .to_addresses("ada@example.com")
                .build(),
        )
        .message(
            aws_sdk_ses::types::Message::builder()
                .subject(
                    aws_sdk_ses::types::Content::builder()
                        .data(&subject)
                        .build()
                        .unwrap(),
                )
                .body(
                    aws_sdk_ses::types::Body::builder()
                        .text(
                            aws_sdk_ses::types::Content::builder()
                                .data("hello")
                                .build()
                                .unwrap(),
                        )
                        .build(),
                )
                .build(),
        )
        .send()
        .await
        .unwrap();
    let (status, _, body) = common::get(&format!("{api}/_dev/emails")).await;
    assert_eq!(status, StatusCode::OK);
    let emails = json_body(&body);
    assert!(
        emails
            .as_array()
            .unwrap()
            .iter()
            .any(|e| e["subject"] == subject.as_str()),
        "{emails}"
    );

    let recorded = common::recorded(&dir.join("api.jsonl"));
    assert!(recorded.iter().any(|e| e["routeKey"] == "POST /items"));
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn sqs_pollers_and_schedules() {
    let dir = common::temp_dir();
    let stack = fixture_stack(&dir, Some(Duration::from_millis(300))).await;
    let sqs = aws_sdk_sqs::Client::new(stack.sdk_config());
    let work = stack.queue_url("Work").unwrap().to_string();
    for body in ["ok-1", "ok-2", "fail-3"] {
        sqs.send_message()
            .queue_url(&work)
            .message_body(body)
            .send()
            .await
            .unwrap();
    }
    let worker = dir.join("worker.jsonl");
    let bodies = |events: &[Value]| -> Vec<String> {
        events
            .iter()
            .flat_map(|e| e["Records"].as_array().cloned().unwrap_or_default())
            .map(|r| r["body"].as_str().unwrap_or_default().to_string())
            .collect()
    };
    watch(stack.progress(), "the worker to get every message", || {
        let bodies = bodies(&common::recorded(&worker));
        async move {
            let all = ["ok-1", "ok-2", "fail-3"]
                .iter()
                .all(|b| bodies.iter().any(|x| x == b));
            if all {
                Ok(bodies)
            } else {
                Err(bodies)
            }
        }
    })
    .await;

    // The failing message is retried, then moved to the dead-letter queue (maxReceiveCount 2).
    let dlq = stack.queue_url("DeadLetters").unwrap().to_string();
    let dead = eventually(stack.progress(), "fail-3 in the dead-letter queue", || {
        let sqs = sqs.clone();
        let dlq = dlq.clone();
        async move {
            let out = sqs
                .receive_message()
                .queue_url(&dlq)
                .wait_time_seconds(1)
                .send()
                .await
                .ok()?;
            out.messages
                .unwrap_or_default()
                .into_iter()
                .find_map(|m| m.body)
        }
    })
    .await;
    assert_eq!(dead, "fail-3");
    let tries = bodies(&common::recorded(&worker))
        .iter()
        .filter(|b| *b == "fail-3")
        .count();
    assert_eq!(tries, 2, "received maxReceiveCount times");
    let oks = bodies(&common::recorded(&worker))
        .iter()
        .filter(|b| b.starts_with("ok-"))
        .count();
    assert_eq!(oks, 2, "successful messages were deleted, not retried");

    // A worker that never finishes a message: a wait for it fails by itself
    // once nothing moves (the retries are not progress, nor are the ticks
    // every 300 ms), saying what it waited for and what moved last.
    sqs.send_message()
        .queue_url(&work)
        .message_body("fail-4")
        .send()
        .await
        .unwrap();
    let progress = stack.progress().clone();
    let stalled = tokio::spawn(async move {
        watch_within(
            Duration::from_secs(3),
            &progress,
            "fail-4 to be worked",
            || async { Err::<(), _>("fail-4 not done") },
        )
        .await
    })
    .await
    .expect_err("the wait fails");
    let message = panic_message(stalled);
    assert!(
        message.contains("nothing moved for 3 s while waiting for fail-4 to be worked"),
        "{message}"
    );
    assert!(
        message.contains("WorkerFunction took 1 new message(s) from Work"),
        "{message}"
    );
    assert!(message.contains("fail-4 not done"), "{message}");

    // The schedule runs at the overridden period with a Scheduled Event.
    // A tick is not pipeline progress: the ticks recorded so far are.
    let ticks = watch(stack.progress(), "two scheduled invocations", || {
        let events = common::recorded(&dir.join("tick.jsonl"));
        async move {
            match events.len() {
                n if n >= 2 => Ok(events),
                n => Err(n),
            }
        }
    })
    .await;
    assert_eq!(ticks[0]["detail-type"], "Scheduled Event");
    assert_eq!(ticks[0]["source"], "aws.events");
    assert!(ticks[0]["resources"][0]
        .as_str()
        .unwrap()
        .contains(":rule/"));

    // Any declared schedule fires on demand with the time given, as EventBridge would.
    let api = stack.api_url();
    for name in ["TickFunction", "TickFunctionTick", "Tick"] {
        let (status, _, body) = common::request(
            Method::POST,
            &format!("{api}/_local/schedules/{name}"),
            &[("content-type", "application/json")],
            r#"{"time": "2027-03-01T07:30:00Z"}"#,
        )
        .await;
        assert_eq!(
            status,
            StatusCode::OK,
            "{name}: {}",
            String::from_utf8_lossy(&body)
        );
        assert_eq!(json_body(&body)["function"], "TickFunction");
    }
    let fired = common::recorded(&dir.join("tick.jsonl"));
    assert!(
        fired.iter().any(|e| e["time"] == "2027-03-01T07:30:00Z"),
        "{fired:?}"
    );
    let (status, _, body) = common::request(
        Method::POST,
        &format!("{api}/_local/schedules/Nope"),
        &[],
        "",
    )
    .await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    assert!(String::from_utf8_lossy(&body).contains("TickFunctionTick"));
    let (status, _, _) = common::request(
        Method::POST,
        &format!("{api}/_local/schedules/Tick"),
        &[],
        r#"{"time": "yesterday"}"#,
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    stack.shutdown().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn the_real_template_runs_with_stand_in_functions() {
    let emulator = common::emulator().await;
    let mut options = DevOptions::for_tests(common::unique("real"));
    options.build = false;
    options.emulator = Some(emulator.endpoint().to_string());
    for function in [
        "IntakeFunction",
        "RouterFunction",
        "FulfillmentFunction",
        "OutboxFunction",
    ] {
        options
            .binaries
            .insert(function.into(), common::fake_lambda());
    }
    let stack = DevStack::start(options).await.expect("stack starts");
    let name = stack.stack_name().to_string();
    let api = stack.api_url();

    let (status, _, body) = common::request(
        Method::POST,
        &format!("{api}/inquiries"),
        &[("content-type", "application/x-www-form-urlencoded")],
        "email=ada%40example.com",
    )
    .await;
    assert_eq!(status, StatusCode::CREATED);
    let reply = json_body(&body);
    assert_eq!(reply["event"]["routeKey"], "POST /inquiries");
    let env = &reply["env"];
    assert_eq!(env["TABLE_NAME"], format!("{name}-LeadsTable"));
    assert_eq!(
        env["ROUTING_QUEUE_URL"],
        stack.queue_url("RoutingQueue").unwrap()
    );
    // The intake is given only the queue it sends to.
    assert_eq!(env["FULFILLMENT_QUEUE_URL"], serde_json::Value::Null);
    assert!(stack.queue_url("FulfillmentQueue").is_some());
    let (status, _, _) =
        common::request(Method::OPTIONS, &format!("{api}/inquiries"), &[], "").await;
    assert_eq!(status, StatusCode::CREATED);

    let port = api.rsplit(':').next().unwrap();
    let intake = stack.function_env("IntakeFunction").unwrap();
    assert_eq!(
        intake["THANK_YOU_URL"],
        format!("http://127.0.0.1:{port}/thanks.html")
    );
    assert_eq!(
        stack.function_env("FulfillmentFunction").unwrap()["SENDER_ADDRESS"],
        "leads@example.com"
    );
    let process_env = stack.function_process_env("RouterFunction").unwrap();
    assert_eq!(
        process_env["AWS_LAMBDA_FUNCTION_NAME"],
        format!("{name}-RouterFunction")
    );

    let summary = stack.summary();
    for text in [
        "POST",
        "/inquiries",
        "LeadsTable",
        "RoutingQueue",
        "_dev/emails",
        "moto-api/data.json",
    ] {
        assert!(summary.contains(text), "{text} in {summary}");
    }
    stack.shutdown().await;
    drop(emulator);
}
