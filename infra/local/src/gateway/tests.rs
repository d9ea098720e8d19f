use super::payload::*;
use super::routes::*;
use super::server::*;
use super::*;
use std::path::Path;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use serde_json::json;

use crate::template::HttpRouteSpec;
use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;

fn spec(method: &str, path: &str) -> HttpRouteSpec {
    HttpRouteSpec {
        api: "Api".into(),
        api_id: "api".into(),
        method: method.into(),
        path: path.into(),
        authorizer: None,
    }
}

fn table() -> RouteTable {
    RouteTable::new([
        (spec("POST", "/inquiries"), "Intake".to_string()),
        (spec("OPTIONS", "/inquiries"), "Intake".to_string()),
        (spec("GET", "/leads/{id}"), "Get".to_string()),
        (spec("GET", "/leads/mine"), "Mine".to_string()),
        (spec("ANY", "/leads/{id}/events"), "Events".to_string()),
        (spec("GET", "/files/{proxy+}"), "Files".to_string()),
    ])
    .unwrap()
}

#[test]
fn matches_literal_param_and_greedy_routes() {
    let t = table();
    let m = t.find("POST", "/inquiries").unwrap();
    assert_eq!(m.route.function, "Intake");
    assert_eq!(m.route.route_key(), "POST /inquiries");
    assert!(m.path_parameters.is_empty());
    assert_eq!(
        t.find("options", "/inquiries").unwrap().route.route_key(),
        "OPTIONS /inquiries"
    );
    assert!(t.find("GET", "/inquiries").is_none());
    assert!(t.find("POST", "/inquiries/extra").is_none());

    let m = t.find("GET", "/leads/01H%20X").unwrap();
    assert_eq!(m.route.function, "Get");
    assert_eq!(m.path_parameters["id"], "01H X");
    // A literal segment beats a parameter.
    assert_eq!(t.find("GET", "/leads/mine").unwrap().route.function, "Mine");
    assert_eq!(
        t.find("DELETE", "/leads/7/events").unwrap().route.function,
        "Events"
    );
    assert!(t.find("GET", "/leads/").is_none());

    let m = t.find("GET", "/files/a/b/c.txt").unwrap();
    assert_eq!(m.path_parameters["proxy"], "a/b/c.txt");
    assert!(t.find("GET", "/files").is_none());
}

#[test]
fn default_route_is_the_fallback() {
    let t = RouteTable::new([
        (spec("ANY", "$default"), "Fallback".to_string()),
        (spec("GET", "/x"), "X".to_string()),
    ])
    .unwrap();
    assert_eq!(t.find("GET", "/x").unwrap().route.function, "X");
    assert_eq!(
        t.find("PUT", "/anything/else").unwrap().route.function,
        "Fallback"
    );
    assert_eq!(
        t.find("PUT", "/anything").unwrap().route.route_key(),
        "$default"
    );
}

#[test]
fn duplicate_routes_are_rejected() {
    let err = RouteTable::new([
        (spec("POST", "/a"), "F".to_string()),
        (spec("POST", "/a"), "G".to_string()),
    ])
    .unwrap_err();
    assert!(err.contains("POST /a"), "{err}");
    assert!(Route::new(spec("GET", "/{p+}/x"), "F").is_err());
}

fn parts(body: &[u8]) -> HttpRequestParts {
    HttpRequestParts {
        method: "POST".into(),
        raw_path: "/inquiries".into(),
        raw_query: "a=1&b=x%20y&a=2&flag".into(),
        headers: vec![
            ("Host".into(), "127.0.0.1:3000".into()),
            (
                "Content-Type".into(),
                "application/x-www-form-urlencoded".into(),
            ),
            ("X-Multi".into(), "one".into()),
            ("x-multi".into(), "two".into()),
            ("Cookie".into(), "a=1; b=2".into()),
            ("User-Agent".into(), "curl/8".into()),
        ],
        body: Bytes::copy_from_slice(body),
        source_ip: "127.0.0.1".into(),
        protocol: "HTTP/1.1".into(),
    }
}

#[test]
fn builds_payload_format_2_0() {
    let t = table();
    let matched = t.find("POST", "/inquiries").unwrap();
    let now = DateTime::parse_from_rfc3339("2024-03-12T19:03:58.390Z")
        .unwrap()
        .to_utc();
    let event = api_gateway_event(&matched, &parts(b"email=a%40b.c"), "req-1", now);
    assert_eq!(event["version"], "2.0");
    assert_eq!(event["routeKey"], "POST /inquiries");
    assert_eq!(event["rawPath"], "/inquiries");
    assert_eq!(event["rawQueryString"], "a=1&b=x%20y&a=2&flag");
    assert_eq!(event["queryStringParameters"]["a"], "1,2");
    assert_eq!(event["queryStringParameters"]["b"], "x y");
    assert_eq!(event["queryStringParameters"]["flag"], "");
    assert_eq!(
        event["headers"]["content-type"],
        "application/x-www-form-urlencoded"
    );
    assert_eq!(event["headers"]["x-multi"], "one,two");
    assert!(event["headers"].get("cookie").is_none());
    assert_eq!(event["cookies"], json!(["a=1", "b=2"]));
    assert!(event.get("pathParameters").is_none());
    assert_eq!(event["body"], "email=a%40b.c");
    assert_eq!(event["isBase64Encoded"], false);
    let ctx = &event["requestContext"];
    assert_eq!(ctx["accountId"], "123456789012");
    assert_eq!(ctx["apiId"], "api");
    assert_eq!(ctx["domainName"], "127.0.0.1");
    assert_eq!(ctx["domainPrefix"], "127");
    assert_eq!(ctx["http"]["method"], "POST");
    assert_eq!(ctx["http"]["path"], "/inquiries");
    assert_eq!(ctx["http"]["protocol"], "HTTP/1.1");
    assert_eq!(ctx["http"]["sourceIp"], "127.0.0.1");
    assert_eq!(ctx["http"]["userAgent"], "curl/8");
    assert_eq!(ctx["requestId"], "req-1");
    assert_eq!(ctx["routeKey"], "POST /inquiries");
    assert_eq!(ctx["stage"], "$default");
    assert_eq!(ctx["time"], "12/Mar/2024:19:03:58 +0000");
    assert_eq!(ctx["timeEpoch"], 1_710_270_238_390i64);

    // The event is what aws_lambda_events would deserialize: check the field
    // names against a v2 sample shape.
    let params = t.find("GET", "/leads/42").unwrap();
    let mut get = parts(b"");
    get.method = "GET".into();
    get.raw_path = "/leads/42".into();
    get.raw_query = String::new();
    let event = api_gateway_event(&params, &get, "req-2", now);
    assert_eq!(event["pathParameters"]["id"], "42");
    assert!(event.get("body").is_none());
    assert!(event.get("queryStringParameters").is_none());
}

#[test]
fn binary_bodies_are_base64() {
    let t = table();
    let matched = t.find("POST", "/inquiries").unwrap();
    let event = api_gateway_event(&matched, &parts(&[0xff, 0x00, 0x80]), "r", Utc::now());
    assert_eq!(event["isBase64Encoded"], true);
    assert_eq!(event["body"], B64.encode([0xff, 0x00, 0x80]));
}

#[test]
fn translates_structured_responses() {
    let response = json!({
        "statusCode": 303,
        "headers": {"Location": "/thanks.html", "X-Count": 3},
        "multiValueHeaders": {"vary": ["origin", "accept"]},
        "cookies": ["a=1; Path=/", "b=2"],
        "body": "see other",
    });
    let parts = translate_response(&response).unwrap();
    assert_eq!(parts.status, 303);
    assert!(parts
        .headers
        .contains(&("location".into(), "/thanks.html".into())));
    assert!(parts.headers.contains(&("x-count".into(), "3".into())));
    assert!(parts.headers.contains(&("vary".into(), "origin".into())));
    assert!(parts.headers.contains(&("vary".into(), "accept".into())));
    assert!(parts
        .headers
        .contains(&("set-cookie".into(), "a=1; Path=/".into())));
    assert!(parts.headers.contains(&("set-cookie".into(), "b=2".into())));
    assert_eq!(parts.body, Bytes::from("see other"));

    let binary =
        json!({"statusCode": "200", "body": B64.encode(b"\x89PNG"), "isBase64Encoded": true});
    assert_eq!(
        translate_response(&binary).unwrap().body,
        Bytes::from_static(b"\x89PNG")
    );

    let empty = translate_response(&json!({"statusCode": 204})).unwrap();
    assert_eq!(empty.status, 204);
    assert!(empty.body.is_empty());

    assert!(translate_response(&json!({"statusCode": "abc"})).is_err());
    assert!(translate_response(&json!({"statusCode": 99})).is_err());
    assert!(translate_response(
        &json!({"statusCode": 200, "body": "%%%", "isBase64Encoded": true})
    )
    .is_err());
}

#[test]
fn responses_without_status_code_are_json_bodies() {
    let parts = translate_response(&json!({"ok": true})).unwrap();
    assert_eq!(parts.status, 200);
    assert_eq!(
        parts.headers,
        vec![("content-type".to_string(), "application/json".to_string())]
    );
    assert_eq!(parts.body, Bytes::from("{\"ok\":true}"));
    assert_eq!(
        translate_response(&json!("hi")).unwrap().body,
        Bytes::from("\"hi\"")
    );
}

#[test]
fn static_paths_stay_inside_the_landing_directory() {
    let dir = crate::root::landing_dir(&crate::root::workspace_root());
    assert_eq!(static_path(&dir, "/"), Some(dir.join("index.html")));
    assert_eq!(
        static_path(&dir, "/index.html"),
        Some(dir.join("index.html"))
    );
    assert_eq!(
        static_path(&dir, "/thanks.html"),
        Some(dir.join("thanks.html"))
    );
    assert_eq!(static_path(&dir, "/../Cargo.toml"), None);
    assert_eq!(static_path(&dir, "/%2e%2e/Cargo.toml"), None);
    assert_eq!(static_path(&dir, "/nope.html"), None);
    assert_eq!(
        content_type(Path::new("a.html")),
        "text/html; charset=utf-8"
    );
    assert_eq!(content_type(Path::new("a.css")), "text/css; charset=utf-8");
    assert_eq!(
        content_type(Path::new("a.js")),
        "text/javascript; charset=utf-8"
    );
    assert_eq!(content_type(Path::new("a.PNG")), "image/png");
    assert_eq!(content_type(Path::new("a.svg")), "image/svg+xml");
}

#[test]
fn percent_decoding() {
    assert_eq!(percent_decode("a%20b%2Fc"), "a b/c");
    assert_eq!(percent_decode("100%"), "100%");
    assert_eq!(percent_decode("%zz"), "%zz");
    assert_eq!(percent_decode("a+b"), "a+b");
}

#[test]
fn the_event_deserializes_like_a_real_one() {
    // Field names must be what the functions' aws_lambda_events types read.
    let t = table();
    let matched = t.find("POST", "/inquiries").unwrap();
    let event = api_gateway_event(&matched, &parts(b"x"), "r", Utc::now());
    for key in [
        "version",
        "routeKey",
        "rawPath",
        "rawQueryString",
        "headers",
        "requestContext",
        "body",
        "isBase64Encoded",
    ] {
        assert!(event.get(key).is_some(), "{key}");
    }
}

/// Never answers: a function still working when API Gateway gives up.
struct Silent;

impl crate::runtime::Invoker for Silent {
    fn invoke(&self, _function: &str, _payload: serde_json::Value) -> crate::runtime::InvokeFuture {
        Box::pin(std::future::pending())
    }
}

/// API Gateway answers 503 itself when the function has not answered
/// within the integration timeout (30 s in AWS; shortened here).
#[tokio::test]
async fn a_function_that_does_not_answer_in_time_is_a_503_from_the_gateway() {
    let gateway = Gateway::start(GatewayConfig {
        port: 0,
        routes: table(),
        invoker: std::sync::Arc::new(Silent),
        landing_dir: None,
        emulator_endpoint: None,
        authorizers: Vec::new(),
        sign_in: None,
        integration_timeout: std::time::Duration::from_millis(200),
        schedules: Vec::new(),
        ses_events: None,
    })
    .await
    .unwrap();
    let r = crate::emulator::http_request(
        hyper::Method::GET,
        &format!("{}/leads/mine", gateway.url()),
        &[],
        Vec::new(),
        std::time::Duration::from_secs(600),
    )
    .await
    .unwrap();
    assert_eq!(r.status, 503);
    assert_eq!(
        serde_json::from_slice::<serde_json::Value>(&r.body).unwrap(),
        json!({"message": "Service Unavailable"})
    );
    gateway.stop().await;
}
