//! A tiny Lambda function for the infra tests: speaks the Lambda Runtime API
//! by hand (no `lambda_runtime`), so the runner can be tested without the real
//! functions.
//!
//! Behaviour, by event:
//! - `{"fake": "sleep", "ms": N}`: responds after N ms;
//! - `{"fake": "exit", "code": N}`: the process exits with N;
//! - `{"fake": "big", "bytes": N}`: responds with a string of N bytes;
//! - `{"fake": "error"}`, or an HTTP event for `/fail`: reports an error;
//! - an HTTP API (2.0) event: `200` with the event and some environment as a JSON body
//!   (`/plain`: a response without statusCode; `/binary`: a base64 body);
//! - an SQS event: records whose body contains "fail" are reported in `batchItemFailures`;
//! - anything else: `{"echo": event, "env": {...}}`.
//!
//! Every event is appended as one JSON line to `$FAKE_LAMBDA_RECORD` when set.

use std::io::Write as _;

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};

type HttpClient = Client<hyper_util::client::legacy::connect::HttpConnector, Full<Bytes>>;

async fn post(client: &HttpClient, api: &str, path: &str, body: Value) -> Result<(), String> {
    let request = hyper::Request::post(format!("http://{api}/2018-06-01/runtime/{path}"))
        .header("content-type", "application/json")
        .body(Full::new(Bytes::from(body.to_string())))
        .map_err(|e| e.to_string())?;
    let response = client.request(request).await.map_err(|e| e.to_string())?;
    let status = response.status();
    let _ = response.into_body().collect().await;
    if status.is_success() {
        Ok(())
    } else {
        Err(format!("{path}: {status}"))
    }
}

fn record(event: &Value) {
    if let Ok(path) = std::env::var("FAKE_LAMBDA_RECORD") {
        if let Ok(mut file) = std::fs::OpenOptions::new()
            .create(true)
            .append(true)
            .open(path)
        {
            let _ = writeln!(file, "{event}");
        }
    }
}

fn env_snapshot() -> Value {
    let keys = [
        "TABLE_NAME",
        "ROUTING_QUEUE_URL",
        "FULFILLMENT_QUEUE_URL",
        "SENDER_ADDRESS",
        "GREETING",
        "RUST_LOG",
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
        "AWS_REGION",
        "AWS_ENDPOINT_URL",
    ];
    keys.iter()
        .map(|k| ((*k).to_string(), json!(std::env::var(k).ok())))
        .collect::<serde_json::Map<_, _>>()
        .into()
}

/// What to post back: `Ok(response)` or `Err(error body)`.
async fn handle(event: &Value) -> Result<Value, Value> {
    match event.get("fake").and_then(Value::as_str) {
        Some("sleep") => {
            let ms = event.get("ms").and_then(Value::as_u64).unwrap_or(0);
            tokio::time::sleep(std::time::Duration::from_millis(ms)).await;
            return Ok(json!({"slept": ms}));
        }
        Some("exit") => {
            let code = event.get("code").and_then(Value::as_i64).unwrap_or(3);
            eprintln!("fake_lambda: exiting with {code} as asked");
            std::process::exit(i32::try_from(code).unwrap_or(3));
        }
        Some("error") => {
            return Err(json!({"errorType": "FakeError", "errorMessage": "asked to fail"}));
        }
        Some("big") => {
            let n = event.get("bytes").and_then(Value::as_u64).unwrap_or(0);
            return Ok(Value::String("x".repeat(usize::try_from(n).unwrap_or(0))));
        }
        _ => {}
    }
    if let Some(route_key) = event.get("routeKey").and_then(Value::as_str) {
        let path = event
            .get("rawPath")
            .and_then(Value::as_str)
            .unwrap_or_default();
        return match path {
            "/fail" => Err(json!({"errorType": "FakeError", "errorMessage": "route fails"})),
            "/plain" => Ok(json!({"plain": true})),
            "/binary" => Ok(json!({
                "statusCode": 200,
                "headers": {"content-type": "application/octet-stream"},
                "body": "AAEC/w==",
                "isBase64Encoded": true,
            })),
            _ => Ok(json!({
                "statusCode": 201,
                "headers": {"content-type": "application/json", "x-route": route_key},
                "cookies": ["seen=1; Path=/"],
                "body": json!({"event": event, "env": env_snapshot()}).to_string(),
            })),
        };
    }
    if let Some(Value::Array(records)) = event.get("Records") {
        let failures: Vec<Value> = records
            .iter()
            .filter(|r| {
                r.get("body")
                    .and_then(Value::as_str)
                    .is_some_and(|b| b.contains("fail"))
            })
            .map(|r| json!({"itemIdentifier": r.get("messageId")}))
            .collect();
        return Ok(json!({"batchItemFailures": failures}));
    }
    Ok(json!({"echo": event, "env": env_snapshot()}))
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let Ok(api) = std::env::var("AWS_LAMBDA_RUNTIME_API") else {
        eprintln!("fake_lambda: AWS_LAMBDA_RUNTIME_API is not set");
        std::process::exit(2);
    };
    let client: HttpClient = Client::builder(TokioExecutor::new()).build_http();
    let missing: Vec<&str> = [
        "AWS_LAMBDA_FUNCTION_NAME",
        "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
        "AWS_LAMBDA_FUNCTION_VERSION",
    ]
    .into_iter()
    .filter(|k| std::env::var(k).is_err())
    .collect();
    let init_fail = std::env::var("FAKE_LAMBDA_INIT_FAIL").is_ok_and(|v| v == "1");
    if !missing.is_empty() || init_fail {
        let message = format!("missing {missing:?} or asked to fail");
        let _ = post(
            &client,
            &api,
            "init/error",
            json!({"errorType": "InitError", "errorMessage": message}),
        )
        .await;
        std::process::exit(1);
    }
    eprintln!("fake_lambda: ready");
    loop {
        let next =
            match hyper::Request::get(format!("http://{api}/2018-06-01/runtime/invocation/next"))
                .body(Full::new(Bytes::new()))
            {
                Ok(request) => request,
                Err(e) => {
                    eprintln!("fake_lambda: {e}");
                    std::process::exit(1);
                }
            };
        let response = match client.request(next).await {
            Ok(response) => response,
            Err(e) => {
                eprintln!("fake_lambda: next: {e}");
                std::process::exit(1);
            }
        };
        let request_id = response
            .headers()
            .get("lambda-runtime-aws-request-id")
            .and_then(|v| v.to_str().ok())
            .unwrap_or_default()
            .to_string();
        let has_deadline = response
            .headers()
            .contains_key("lambda-runtime-deadline-ms");
        let body = match response.into_body().collect().await {
            Ok(body) => body.to_bytes(),
            Err(e) => {
                eprintln!("fake_lambda: body: {e}");
                std::process::exit(1);
            }
        };
        let event: Value = serde_json::from_slice(&body).unwrap_or(Value::Null);
        record(&event);
        let result = if has_deadline && !request_id.is_empty() {
            handle(&event).await
        } else {
            Err(json!({"errorType": "FakeError", "errorMessage": "missing runtime headers"}))
        };
        let posted = match result {
            Ok(response) => {
                post(
                    &client,
                    &api,
                    &format!("invocation/{request_id}/response"),
                    response,
                )
                .await
            }
            Err(error) => {
                post(
                    &client,
                    &api,
                    &format!("invocation/{request_id}/error"),
                    error,
                )
                .await
            }
        };
        if let Err(e) = posted {
            eprintln!("fake_lambda: {e}");
        }
    }
}
