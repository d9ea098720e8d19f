//! A request as a hostile client may send it, and what every answer to one
//! must be (the property tests and the mutation fuzz share both).

use super::{request, Handler};
use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderName, HeaderValue};
use proptest::prelude::*;
use serde_json::{json, Value};

/// One request: its method, the headers that matter (as raw bytes, which may
/// not be a valid header: API Gateway then sends none), its body as API
/// Gateway passes it.
#[derive(Debug, Clone)]
pub struct Post {
    pub method: &'static str,
    pub content_type: Option<Vec<u8>>,
    pub accept: Option<Vec<u8>>,
    pub origin: Option<Vec<u8>>,
    pub idempotency_key: Option<Vec<u8>>,
    pub body: Option<String>,
    pub base64: bool,
    pub source_ip: Option<String>,
}

impl Default for Post {
    fn default() -> Self {
        Post {
            method: "POST",
            content_type: None,
            accept: None,
            origin: None,
            idempotency_key: None,
            body: None,
            base64: false,
            source_ip: Some("192.0.2.1".into()),
        }
    }
}

impl Post {
    pub fn request(&self) -> ApiGatewayV2httpRequest {
        let mut req = request(self.method, json!({}), self.body.as_deref(), self.base64);
        req.request_context.http.source_ip = self.source_ip.clone();
        for (name, value) in [
            ("content-type", &self.content_type),
            ("accept", &self.accept),
            ("origin", &self.origin),
            ("idempotency-key", &self.idempotency_key),
        ] {
            if let Some(v) = value
                .as_deref()
                .and_then(|v| HeaderValue::from_bytes(v).ok())
            {
                req.headers.insert(HeaderName::from_static(name), v);
            }
        }
        req
    }

    /// The header as the handler reads it (a header that is not visible
    /// ASCII reads as absent).
    fn header(&self, v: &Option<Vec<u8>>) -> Option<String> {
        let v = HeaderValue::from_bytes(v.as_deref()?).ok()?;
        v.to_str().ok().map(str::to_string)
    }
}

/// What the store and the queue hold: a refused post must leave it as it was.
#[derive(Debug, PartialEq)]
pub struct Written {
    leads: Vec<leadflow::Lead>,
    outbox: usize,
    published: usize,
}

impl Written {
    pub fn of(h: &Handler) -> Self {
        Written {
            leads: h.store.leads(),
            outbox: h.store.outbox().len(),
            published: h.publisher.published().len(),
        }
    }
}

/// What any answer must be: no 5xx (the fakes never fail here); a refusal is
/// the error JSON `{"error":{"code","message"[,"field"]}}`, or the error page
/// for a plain form that asked for HTML, and wrote nothing (`before` is what
/// was written before the request); an acceptance is 202 with the received
/// JSON or 303 to an allowed page; CORS only for the configured origin.
pub fn assert_sane(
    h: &Handler,
    before: &Written,
    p: &Post,
    r: &ApiGatewayV2httpResponse,
) -> Result<(), TestCaseError> {
    let status = r.status_code;
    let text = match &r.body {
        Some(Body::Text(t)) => t.as_str(),
        None => "",
        Some(other) => return Err(TestCaseError::fail(format!("a body not text: {other:?}"))),
    };
    let ctype = r
        .headers
        .get("content-type")
        .and_then(|v| v.to_str().ok())
        .unwrap_or("");
    prop_assert!(
        (200..500).contains(&status),
        "status {status}: {text} for {p:?}"
    );
    prop_assert_eq!(
        r.headers.get("vary").map(|v| v.as_bytes()),
        Some(&b"Origin"[..])
    );
    match r.headers.get("access-control-allow-origin") {
        None => {}
        Some(o) => {
            prop_assert_eq!(o.as_bytes(), b"https://www.example.com");
            let sent = p.header(&p.origin);
            prop_assert_eq!(sent.as_deref(), Some("https://www.example.com"));
        }
    }
    let nothing_written = Written::of(h) == *before;
    match status {
        202 => {
            let b: Value = serde_json::from_str(text)
                .map_err(|e| TestCaseError::fail(format!("202 not JSON: {e}")))?;
            prop_assert_eq!(&b["status"], "received");
            prop_assert!(b["response_id"]
                .as_str()
                .is_some_and(|id| id.starts_with("rs_")));
        }
        303 => {
            let to = r.headers.get("location").and_then(|v| v.to_str().ok());
            let to = to.ok_or_else(|| TestCaseError::fail("303 without a Location"))?;
            prop_assert!(
                to == h.config.thank_you_url
                    || h.config
                        .redirect_allowlist
                        .iter()
                        .any(|a| intake::redirect_allowed(a, to)),
                "redirected to {to}"
            );
        }
        204 => prop_assert_eq!(p.method, "OPTIONS"),
        400..=499 => {
            prop_assert!(nothing_written, "refused with {status} yet wrote: {text}");
            if ctype.starts_with("text/html") {
                let accept = p.header(&p.accept).unwrap_or_default();
                prop_assert!(accept.contains("text/html"), "a page nobody asked for");
                prop_assert!(text.contains("Please check the form"), "{text}");
            } else {
                prop_assert_eq!(ctype, "application/json");
                let b: Value = serde_json::from_str(text)
                    .map_err(|e| TestCaseError::fail(format!("{status} not JSON ({e}): {text}")))?;
                let error = b
                    .as_object()
                    .filter(|o| o.len() == 1)
                    .and_then(|o| o.get("error"))
                    .and_then(Value::as_object)
                    .ok_or_else(|| TestCaseError::fail(format!("not the error shape: {text}")))?;
                let code = error.get("code").and_then(Value::as_str).unwrap_or("");
                prop_assert!(
                    !code.is_empty() && code.bytes().all(|b| b.is_ascii_lowercase() || b == b'_'),
                    "code {code:?}"
                );
                prop_assert!(error
                    .get("message")
                    .and_then(Value::as_str)
                    .is_some_and(|m| !m.is_empty()));
                prop_assert!(error.get("field").is_none_or(Value::is_string));
                prop_assert!(error
                    .keys()
                    .all(|k| ["code", "message", "field"].contains(&k.as_str())));
            }
            if status == 429 {
                prop_assert!(r.headers.contains_key("retry-after"));
            }
        }
        other => prop_assert!(false, "unexpected status {other}: {text}"),
    }
    Ok(())
}
