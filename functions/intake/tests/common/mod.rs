//! What the intake's test files share: a handler with in-memory ports, API
//! Gateway requests, and reading an answer.
#![allow(dead_code)] // each test file uses its own share

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use chrono::{TimeZone, Utc};
use intake::{Config, Intake};
use leadflow::testing::{FixedClock, MemoryPublisher, MemoryStore};
use leadflow::Playbook;
use serde_json::{json, Value};

pub type Handler = Intake<MemoryStore, MemoryPublisher, FixedClock>;

pub fn handler() -> Handler {
    with_playbook(Playbook::default_playbook().unwrap())
}

/// A handler for `playbook` (tests that build many parse it once).
pub fn with_playbook(playbook: Playbook) -> Handler {
    Intake {
        store: MemoryStore::new(),
        publisher: MemoryPublisher::new(),
        clock: FixedClock::at(Utc.with_ymd_and_hms(2026, 11, 23, 9, 0, 0).unwrap()),
        playbook,
        config: Config {
            allowed_origins: vec!["https://www.example.com".into()],
            thank_you_url: "https://www.example.com/thanks".into(),
            redirect_allowlist: vec!["https://www.example.com/".into()],
        },
    }
}

pub fn request(
    method: &str,
    headers: Value,
    body: Option<&str>,
    base64: bool,
) -> ApiGatewayV2httpRequest {
    serde_json::from_value(json!({
        "version": "2.0",
        "routeKey": format!("{method} /inquiries"),
        "rawPath": "/inquiries",
        "rawQueryString": "",
        "headers": headers,
        "requestContext": {
            "accountId": "123456789012", "apiId": "api", "requestId": "req", "stage": "$default",
            "routeKey": format!("{method} /inquiries"), "timeEpoch": 0,
            "http": { "method": method, "path": "/inquiries", "protocol": "HTTP/1.1", "sourceIp": "192.0.2.1", "userAgent": "test" }
        },
        "body": body,
        "isBase64Encoded": base64
    }))
    .unwrap()
}

pub fn post_json(body: &Value) -> ApiGatewayV2httpRequest {
    request(
        "POST",
        json!({"content-type": "application/json"}),
        Some(&body.to_string()),
        false,
    )
}

pub fn post_form(body: &str) -> ApiGatewayV2httpRequest {
    request(
        "POST",
        json!({"content-type": "application/x-www-form-urlencoded"}),
        Some(body),
        false,
    )
}

pub fn body(r: &ApiGatewayV2httpResponse) -> Value {
    match &r.body {
        Some(Body::Text(t)) => serde_json::from_str(t).unwrap_or(Value::String(t.clone())),
        _ => Value::Null,
    }
}

pub fn header(r: &ApiGatewayV2httpResponse, name: &str) -> Option<String> {
    r.headers.get(name).map(|v| v.to_str().unwrap().to_string())
}

pub mod hostile;
