//! Answers: JSON and pages through the HTTP edge the API functions share
//! (`leadflow_aws::http`, with its one error envelope), and what each of
//! the use cases' errors answers.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::http::HeaderValue;
use leadflow::app::sales::SalesError;
pub use leadflow_aws::http::{error, html, json};
use serde_json::json;

pub fn unauthorized(message: &str) -> ApiGatewayV2httpResponse {
    error(401, "unauthorized", message, None)
}

/// One mapping of the use cases' errors to statuses.
pub fn sales_error(e: &SalesError) -> ApiGatewayV2httpResponse {
    match e {
        SalesError::NotFound => error(404, "not_found", "no such lead", None),
        SalesError::Stale { given, current } => {
            let mut body =
                leadflow_aws::http::error_body("stale_version", &e.to_string(), Some("version"));
            body["error"]["given_version"] = json!(given);
            body["error"]["current_version"] = json!(current);
            let mut r = json(409, &body);
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
