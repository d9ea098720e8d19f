//! The Lambda Runtime API and process management, with the fake_lambda example as the function.

mod common;

use std::collections::BTreeMap;
use std::time::Duration;

use http::{Method, StatusCode};
use leadflow_local::runtime::{FunctionConfig, FunctionHost};
use leadflow_local::template::FunctionSpec;
use leadflow_local::InvokeError;
use serde_json::json;

fn host(timeout: Duration, extra: &[(&str, &str)]) -> FunctionHost {
    let spec = FunctionSpec {
        logical_id: "FakeFunction".into(),
        function_name: "test-FakeFunction".into(),
        arn: "arn:aws:lambda:us-east-1:123456789012:function:test-FakeFunction".into(),
        code_uri: "infra".into(),
        binary: None,
        timeout,
        memory_size: 128,
        environment: extra
            .iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect::<BTreeMap<_, _>>(),
        events: Vec::new(),
        policies: Vec::new(),
    };
    let forward = std::env::var("LEADFLOW_DEV_LOGS").is_ok_and(|v| v == "1");
    FunctionHost::new(FunctionConfig::from_spec(
        &spec,
        common::fake_lambda(),
        "http://127.0.0.1:9",
        forward,
    ))
}

#[tokio::test(flavor = "multi_thread")]
async fn invokes_reports_errors_and_restarts() {
    // The timeout is Lambda's: every invocation below but the one that
    // sleeps for ten minutes must finish inside it, a fresh process's start
    // included, on however busy a machine.
    let host = host(Duration::from_secs(5), &[("GREETING", "hi")]);
    host.start(Duration::from_secs(10)).await.unwrap();

    let echo = host.invoke(&json!({"n": 1})).await.unwrap();
    assert_eq!(echo["echo"]["n"], 1);
    assert_eq!(echo["env"]["GREETING"], "hi");
    assert_eq!(echo["env"]["AWS_LAMBDA_FUNCTION_NAME"], "test-FakeFunction");
    assert_eq!(echo["env"]["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "128");
    assert_eq!(echo["env"]["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
    assert_eq!(echo["env"]["AWS_REGION"], "us-east-1");
    assert_eq!(echo["env"]["AWS_ENDPOINT_URL"], "http://127.0.0.1:9");

    let err = host.invoke(&json!({"fake": "error"})).await.unwrap_err();
    assert_eq!(
        err,
        InvokeError::Function {
            function: "FakeFunction".into(),
            error_type: "FakeError".into(),
            error_message: "asked to fail".into(),
        }
    );

    // A timeout kills the process and starts a new one.
    let before = host.runtime_api_addr();
    let err = host
        .invoke(&json!({"fake": "sleep", "ms": 600_000}))
        .await
        .unwrap_err();
    assert!(matches!(err, InvokeError::Timeout { .. }), "{err}");
    assert_ne!(host.runtime_api_addr(), before);
    assert_eq!(host.invoke(&json!({"n": 2})).await.unwrap()["echo"]["n"], 2);

    // A process that dies is reported, and the next invocation gets a new one.
    let err = host
        .invoke(&json!({"fake": "exit", "code": 7}))
        .await
        .unwrap_err();
    match err {
        InvokeError::ProcessExited {
            status, log_tail, ..
        } => {
            assert!(status.contains('7'), "{status}");
            assert!(log_tail.contains("exiting with 7"), "{log_tail}");
        }
        other => panic!("expected ProcessExited, got {other}"),
    }
    assert_eq!(host.invoke(&json!({"n": 3})).await.unwrap()["echo"]["n"], 3);

    host.stop().await;
    assert!(host.runtime_api_addr().is_none());
}

#[tokio::test(flavor = "multi_thread")]
async fn a_response_over_lambdas_6_mb_fails_the_invocation() {
    let host = host(Duration::from_secs(30), &[]);
    host.start(Duration::from_secs(10)).await.unwrap();
    let under = host
        .invoke(&json!({"fake": "big", "bytes": 6 * 1024 * 1024 - 64}))
        .await
        .unwrap();
    assert_eq!(under.as_str().map(str::len), Some(6 * 1024 * 1024 - 64));
    let err = host
        .invoke(&json!({"fake": "big", "bytes": 6 * 1024 * 1024}))
        .await
        .unwrap_err();
    match err {
        InvokeError::Function { error_type, .. } => {
            assert_eq!(error_type, "Function.ResponseSizeTooLarge")
        }
        other => panic!("expected the size error, got {other}"),
    }
    // The process lives on and answers the next invocation.
    assert_eq!(host.invoke(&json!({"n": 4})).await.unwrap()["echo"]["n"], 4);
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn invocations_are_serialised() {
    let host = host(Duration::from_secs(5), &[]);
    host.start(Duration::from_secs(10)).await.unwrap();
    let started = std::time::Instant::now();
    let calls = (0..3).map(|_| {
        let host = host.clone();
        tokio::spawn(async move { host.invoke(&json!({"fake": "sleep", "ms": 200})).await })
    });
    for call in calls.collect::<Vec<_>>() {
        assert_eq!(call.await.unwrap().unwrap()["slept"], 200);
    }
    assert!(started.elapsed() >= Duration::from_millis(600));
    host.stop().await;
}

#[tokio::test(flavor = "multi_thread")]
async fn init_errors_are_reported() {
    let host = host(Duration::from_secs(5), &[("FAKE_LAMBDA_INIT_FAIL", "1")]);
    let err = host.start(Duration::from_secs(10)).await.unwrap_err();
    match err {
        InvokeError::ProcessExited { init_error, .. } => {
            assert!(init_error.contains("InitError"), "{init_error}")
        }
        other => panic!("expected ProcessExited, got {other}"),
    }
}

#[tokio::test(flavor = "multi_thread")]
async fn runtime_api_rejects_unknown_requests() {
    let host = host(Duration::from_secs(5), &[]);
    host.start(Duration::from_secs(10)).await.unwrap();
    let addr = host.runtime_api_addr().unwrap();
    let base = format!("http://{addr}/2018-06-01/runtime");
    let (status, _, body) = common::request(
        Method::POST,
        &format!("{base}/invocation/no-such-id/response"),
        &[],
        "{}",
    )
    .await;
    assert_eq!(status, StatusCode::BAD_REQUEST);
    assert!(String::from_utf8_lossy(&body).contains("InvalidRequestID"));
    let (status, _, _) = common::get(&format!("http://{addr}/nope")).await;
    assert_eq!(status, StatusCode::NOT_FOUND);
    host.stop().await;
}
