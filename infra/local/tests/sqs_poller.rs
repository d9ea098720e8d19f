//! The SQS event source mapping, with a fake invoker.

mod common;

use std::sync::{Arc, Mutex};

use leadflow_local::events::{PollOutcome, SqsPoller};
use leadflow_local::progress::Progress;
use leadflow_local::provision::{provision, sdk_config};
use leadflow_local::runtime::{InvokeFuture, Invoker};
use leadflow_local::template::{EventSource, SqsSourceSpec};
use leadflow_local::{InvokeError, StackModel, StackSettings, Template};
use serde_json::{json, Value};

/// Answers every invocation with `reply` and keeps the events.
struct FakeInvoker {
    reply: Result<Value, InvokeError>,
    events: Mutex<Vec<Value>>,
}

impl Invoker for FakeInvoker {
    fn invoke(&self, function: &str, payload: Value) -> InvokeFuture {
        assert_eq!(function, "WorkerFunction");
        if let Ok(mut events) = self.events.lock() {
            events.push(payload.clone());
        }
        let reply = match &self.reply {
            // Fail every record whose body contains "fail".
            Ok(Value::String(s)) if s == "fail-some" => Ok(json!({
                "batchItemFailures": payload["Records"]
                    .as_array()
                    .unwrap()
                    .iter()
                    .filter(|r| r["body"].as_str().unwrap().contains("fail"))
                    .map(|r| json!({"itemIdentifier": r["messageId"]}))
                    .collect::<Vec<_>>()
            })),
            other => other.clone(),
        };
        Box::pin(async move { reply })
    }
}

async fn setup() -> (leadflow_local::Emulator, aws_sdk_sqs::Client, SqsSourceSpec) {
    let emulator = common::emulator().await;
    let path =
        leadflow_local::root::workspace_root().join("infra/local/tests/fixtures/template.yaml");
    let template = Template::load(&path).unwrap();
    let settings = StackSettings::new(common::unique("sqs"), emulator.endpoint());
    let model = StackModel::resolve(&template, &settings).unwrap();
    let config = sdk_config(emulator.endpoint()).await;
    provision(&model, &config).await.unwrap();
    let source = model
        .function("WorkerFunction")
        .unwrap()
        .events
        .iter()
        .find_map(|e| match &e.source {
            EventSource::Sqs(s) => Some(s.clone()),
            _ => None,
        })
        .unwrap();
    (emulator, aws_sdk_sqs::Client::new(&config), source)
}

async fn send(client: &aws_sdk_sqs::Client, url: &str, bodies: &[&str]) {
    for body in bodies {
        client
            .send_message()
            .queue_url(url)
            .message_body(*body)
            .message_attributes(
                "kind",
                aws_sdk_sqs::types::MessageAttributeValue::builder()
                    .data_type("String")
                    .string_value("test")
                    .build()
                    .unwrap(),
            )
            .send()
            .await
            .unwrap();
    }
}

/// Polls until `n` messages were received in total (each poll waits up to
/// 1 s for a message; two minutes of empty polls is a failure).
async fn poll_all(poller: &SqsPoller, n: usize) -> PollOutcome {
    let mut total = PollOutcome::default();
    for _ in 0..120 {
        let outcome = poller.poll_once().await.unwrap();
        total.received += outcome.received;
        total.deleted += outcome.deleted;
        total.kept += outcome.kept;
        if total.received >= n {
            break;
        }
    }
    total
}

#[tokio::test(flavor = "multi_thread")]
async fn deletes_all_but_the_reported_failures() {
    let (_emulator, client, source) = setup().await;
    send(&client, &source.queue_url, &["ok-1", "fail-2", "ok-3"]).await;
    let invoker = Arc::new(FakeInvoker {
        reply: Ok(Value::String("fail-some".into())),
        events: Mutex::new(Vec::new()),
    });
    let poller = SqsPoller {
        client: client.clone(),
        source: source.clone(),
        function: "WorkerFunction".into(),
        invoker: invoker.clone(),
        progress: Progress::default(),
    };
    let outcome = poll_all(&poller, 3).await;
    assert_eq!(
        outcome,
        PollOutcome {
            received: 3,
            deleted: 2,
            kept: 1
        }
    );

    let events = invoker.events.lock().unwrap().clone();
    let record = &events[0]["Records"][0];
    assert_eq!(record["eventSource"], "aws:sqs");
    assert_eq!(record["eventSourceARN"], source.queue_arn);
    assert_eq!(record["awsRegion"], "us-east-1");
    assert_eq!(record["attributes"]["ApproximateReceiveCount"], "1");
    assert!(record["attributes"]["SentTimestamp"].is_string());
    assert!(record["attributes"]["ApproximateFirstReceiveTimestamp"].is_string());
    assert_eq!(record["messageAttributes"]["kind"]["stringValue"], "test");
    assert_eq!(record["messageAttributes"]["kind"]["dataType"], "String");
    assert!(record["md5OfBody"].is_string());

    // The failed one comes back after the visibility timeout (1 s).
    let again = poll_all(&poller, 1).await;
    assert_eq!(again.received, 1);
    let last = invoker.events.lock().unwrap().last().cloned().unwrap();
    assert_eq!(last["Records"][0]["body"], "fail-2");
    assert_eq!(
        last["Records"][0]["attributes"]["ApproximateReceiveCount"],
        "2"
    );
}

#[tokio::test(flavor = "multi_thread")]
async fn keeps_the_whole_batch_when_the_function_fails() {
    let (_emulator, client, source) = setup().await;
    send(&client, &source.queue_url, &["a", "b"]).await;
    let poller = SqsPoller {
        client: client.clone(),
        source: source.clone(),
        function: "WorkerFunction".into(),
        invoker: Arc::new(FakeInvoker {
            reply: Err(InvokeError::UnknownFunction("x".into())),
            events: Mutex::new(Vec::new()),
        }),
        progress: Progress::default(),
    };
    let outcome = poll_all(&poller, 2).await;
    assert_eq!(
        outcome,
        PollOutcome {
            received: 2,
            deleted: 0,
            kept: 2
        }
    );

    // Without ReportBatchItemFailures a successful invocation deletes everything,
    // whatever the response says (the batch is back after the 1 s visibility timeout).
    let mut plain = source.clone();
    plain.report_batch_item_failures = false;
    let poller = SqsPoller {
        client,
        source: plain,
        function: "WorkerFunction".into(),
        invoker: Arc::new(FakeInvoker {
            reply: Ok(json!({"batchItemFailures": [{"itemIdentifier": "whatever"}]})),
            events: Mutex::new(Vec::new()),
        }),
        progress: Progress::default(),
    };
    let outcome = poll_all(&poller, 2).await;
    assert_eq!(
        outcome,
        PollOutcome {
            received: 2,
            deleted: 2,
            kept: 0
        }
    );
}
