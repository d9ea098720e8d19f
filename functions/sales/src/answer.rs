//! Answers: JSON (errors as everywhere: `{"error": {code, message, field}}`)
//! and the small HTML pages of the action links.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use leadflow::app::sales::SalesError;
use serde_json::{json, Value};

pub fn json(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status.into();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static("application/json"));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    r.headers = headers;
    r.body = Some(Body::Text(body.to_string()));
    r
}

pub fn html(status: u16, page: String) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status.into();
    let mut headers = HeaderMap::new();
    headers.insert(
        "content-type",
        HeaderValue::from_static("text/html; charset=utf-8"),
    );
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    // The link is a credential: never sent on to another site.
    headers.insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r.headers = headers;
    r.body = Some(Body::Text(page));
    r
}

pub fn error(
    status: u16,
    code: &str,
    message: &str,
    field: Option<&str>,
) -> ApiGatewayV2httpResponse {
    let mut e = json!({"code": code, "message": message});
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    json(status, &json!({ "error": e }))
}

pub fn unauthorized(message: &str) -> ApiGatewayV2httpResponse {
    error(401, "unauthorized", message, None)
}

/// One mapping of the use cases' errors to statuses.
pub fn sales_error(e: &SalesError) -> ApiGatewayV2httpResponse {
    match e {
        SalesError::NotFound => error(404, "not_found", "no such lead", None),
        SalesError::Stale { given, current } => {
            let mut r = json(
                409,
                &json!({"error": {
                    "code": "stale_version",
                    "message": e.to_string(),
                    "field": "version",
                    "given_version": given,
                    "current_version": current,
                }}),
            );
            if let Ok(v) = HeaderValue::from_str(&format!("\"{current}\"")) {
                r.headers.insert("etag", v);
            }
            r
        }
        SalesError::Refused(r) => error(422, r.code, &r.message, r.field),
        SalesError::Forbidden(m) => error(403, "forbidden", m, None),
        SalesError::Store(s) => {
            tracing::error!(error = %s, "store failed");
            error(
                503,
                "unavailable",
                "the lead store is unavailable; try again in a moment",
                None,
            )
        }
    }
}
