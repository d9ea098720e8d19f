//! The HTTP edge the API functions (intake, sales) share: how a body is read
//! (its size bounded before and after base64, as API Gateway may encode it),
//! and how an answer is written — JSON, a page, and the one error envelope
//! every API error uses: `{"error": {"code", "message", "field"?}}`.

use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue};
use base64::Engine;
use serde_json::{json, Value};

/// Why a body cannot be read.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum BodyError {
    #[error("the body is over {0} bytes")]
    TooLarge(usize),
    #[error("the body is not valid base64")]
    NotBase64,
}

/// The body's bytes, at most `limit` of them. The size is checked first on
/// the body as it came (its base64 length allows for the encoding), before
/// anything is decoded, then on what it decodes to.
pub fn body_bytes(raw: Option<&str>, base64: bool, limit: usize) -> Result<Vec<u8>, BodyError> {
    let raw = raw.unwrap_or("");
    let encoded_limit = match base64 {
        true => limit.div_ceil(3) * 4,
        false => limit,
    };
    if raw.len() > encoded_limit {
        return Err(BodyError::TooLarge(limit));
    }
    let bytes = match base64 {
        true => base64::engine::general_purpose::STANDARD
            .decode(raw)
            .map_err(|_| BodyError::NotBase64)?,
        false => raw.as_bytes().to_vec(),
    };
    if bytes.len() > limit {
        return Err(BodyError::TooLarge(limit));
    }
    Ok(bytes)
}

/// The error envelope: `{"error": {"code", "message", "field"?}}`.
pub fn error_body(code: &str, message: &str, field: Option<&str>) -> Value {
    let mut e = json!({"code": code, "message": message});
    if let Some(f) = field {
        e["field"] = json!(f);
    }
    json!({ "error": e })
}

fn answer(status: u16, content_type: &'static str, body: String) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status.into();
    let mut headers = HeaderMap::new();
    headers.insert("content-type", HeaderValue::from_static(content_type));
    headers.insert("cache-control", HeaderValue::from_static("no-store"));
    r.headers = headers;
    r.body = Some(Body::Text(body));
    r
}

/// A JSON answer, never cached.
pub fn json(status: u16, body: &Value) -> ApiGatewayV2httpResponse {
    answer(status, "application/json", body.to_string())
}

/// A page, never cached, whose address (it may carry a credential) is never
/// sent on to another site.
pub fn html(status: u16, page: String) -> ApiGatewayV2httpResponse {
    let mut r = answer(status, "text/html; charset=utf-8", page);
    r.headers
        .insert("referrer-policy", HeaderValue::from_static("no-referrer"));
    r
}

/// An error answer in the one envelope.
pub fn error(
    status: u16,
    code: &str,
    message: &str,
    field: Option<&str>,
) -> ApiGatewayV2httpResponse {
    json(status, &error_body(code, message, field))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_body_is_bounded_before_and_after_decoding() {
        assert_eq!(body_bytes(Some("abc"), false, 3).unwrap(), b"abc");
        assert_eq!(body_bytes(None, false, 3).unwrap(), b"");
        assert_eq!(
            body_bytes(Some("abcd"), false, 3),
            Err(BodyError::TooLarge(3))
        );
        let b64 = base64::engine::general_purpose::STANDARD.encode("abcd");
        assert_eq!(body_bytes(Some(&b64), true, 4).unwrap(), b"abcd");
        assert_eq!(body_bytes(Some(&b64), true, 3), Err(BodyError::TooLarge(3)));
        assert_eq!(body_bytes(Some("!!!!"), true, 9), Err(BodyError::NotBase64));
        let huge = "A".repeat(1000);
        assert_eq!(
            body_bytes(Some(&huge), true, 9),
            Err(BodyError::TooLarge(9))
        );
    }

    #[test]
    fn every_error_has_the_same_envelope() {
        let r = error(422, "invalid_field", "no", Some("email"));
        assert_eq!(r.status_code, 422);
        let Some(Body::Text(t)) = r.body else {
            panic!("a text body")
        };
        let v: Value = serde_json::from_str(&t).unwrap();
        assert_eq!(
            v,
            json!({"error": {"code": "invalid_field", "message": "no", "field": "email"}})
        );
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(
            error_body("x", "y", None),
            json!({"error": {"code": "x", "message": "y"}})
        );
    }
}
