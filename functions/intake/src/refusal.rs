//! Why a post is refused, and the one table that turns each reason into an
//! HTTP status, an error code, a message, the field at fault and a
//! `Retry-After`. The answer is JSON (`{"error":{"code","message","field"}}`),
//! or a page a person can read for a plain HTML form.

use crate::{response, MAX_BODY_BYTES, MAX_IDEMPOTENCY_KEY};
use aws_lambda_events::apigw::ApiGatewayV2httpResponse;
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::HeaderValue;
use chrono::{DateTime, Utc};
use leadflow::app::intake::IntakeError;
use leadflow::domain::inquiry::InquiryError;
use leadflow::domain::playbook::QuotaScope;

#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Refusal {
    MethodNotAllowed,
    /// A preflight from a page that may not post (`None`: it sent no Origin).
    OriginNotAllowed {
        origin: Option<String>,
    },
    /// `None`: no Content-Type was sent.
    UnsupportedMediaType {
        media_type: Option<String>,
    },
    BodyTooLarge,
    /// The body cannot be read as its media type says; the message says why.
    MalformedBody(String),
    InvalidIdempotencyKey,
    /// The domain refused the inquiry (422): its code, the field, and why.
    Invalid {
        code: &'static str,
        field: Option<String>,
        message: String,
    },
    /// The Idempotency-Key was used before for a different request.
    KeyReused,
    RateLimited {
        scope: QuotaScope,
        retry_after: u64,
    },
    /// The store refuses this inquiry as it is: trying again will not help.
    NotStorable,
    /// Nothing was recorded; trying again will.
    Unavailable,
}

/// How a refusal is told to the client.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Explanation {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for `Retry-After`, on 429 and 503.
    pub retry_after: Option<u64>,
}

impl Explanation {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Explanation {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: None,
        }
    }

    fn field(mut self, field: &str) -> Self {
        self.field = Some(field.to_string());
        self
    }

    fn retry_after(mut self, secs: u64) -> Self {
        self.retry_after = Some(secs);
        self
    }
}

const SEND_JSON_OR_FORM: &str = "application/json or application/x-www-form-urlencoded";

impl Refusal {
    pub fn malformed(why: impl Into<String>) -> Self {
        Refusal::MalformedBody(why.into())
    }

    /// The one table of refusals.
    pub fn explain(&self) -> Explanation {
        use Explanation as E;
        match self {
            Refusal::MethodNotAllowed => E::new(405, "method_not_allowed", "use POST"),
            Refusal::OriginNotAllowed { origin } => E::new(
                403,
                "origin_not_allowed",
                format!(
                    "origin {} may not post inquiries",
                    origin.as_deref().unwrap_or("(none)")
                ),
            ),
            Refusal::UnsupportedMediaType { media_type: None } => E::new(
                415,
                "unsupported_media_type",
                format!("send Content-Type {SEND_JSON_OR_FORM}"),
            ),
            Refusal::UnsupportedMediaType {
                media_type: Some(m),
            } => E::new(
                415,
                "unsupported_media_type",
                format!("{m} is not accepted; send {SEND_JSON_OR_FORM}"),
            ),
            Refusal::BodyTooLarge => E::new(
                413,
                "payload_too_large",
                format!("the body is over {MAX_BODY_BYTES} bytes"),
            ),
            Refusal::MalformedBody(why) => E::new(400, "malformed_body", why.as_str()),
            Refusal::InvalidIdempotencyKey => E::new(
                400,
                "invalid_idempotency_key",
                format!(
                    "Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"
                ),
            )
            .field("Idempotency-Key"),
            Refusal::Invalid {
                code,
                field: Some(f),
                message,
            } => E::new(422, code, format!("{f} {message}")).field(f),
            Refusal::Invalid {
                code,
                field: None,
                message,
            } => E::new(422, code, message.as_str()),
            Refusal::KeyReused => E::new(
                422,
                "idempotency_key_reused",
                IntakeError::KeyReused.to_string(),
            )
            .field("Idempotency-Key"),
            Refusal::RateLimited { scope, retry_after } => {
                let who = match scope {
                    QuotaScope::Address => "this email address",
                    QuotaScope::SourceIp => "this network address",
                };
                let e = E::new(
                    429,
                    "rate_limited",
                    format!("too many inquiries from {who}; nothing was recorded — try again in {retry_after} s"),
                )
                .retry_after(*retry_after);
                match scope {
                    QuotaScope::Address => e.field("email"),
                    QuotaScope::SourceIp => e,
                }
            }
            Refusal::NotStorable => E::new(
                422,
                "not_storable",
                "this inquiry cannot be stored as it is; please shorten it",
            ),
            Refusal::Unavailable => E::new(
                503,
                "temporarily_unavailable",
                "the inquiry was not recorded; please try again",
            )
            .retry_after(1),
        }
    }

    /// Why `intake::submit` refused, as of `now` (for `Retry-After`). Store
    /// failures are logged here: the client is told only whether to try again.
    pub fn from_intake(e: IntakeError, now: DateTime<Utc>) -> Self {
        match e {
            IntakeError::KeyReused => Refusal::KeyReused,
            IntakeError::Limited(quota) => Refusal::RateLimited {
                scope: quota.scope,
                retry_after: quota.retry_after(now),
            },
            IntakeError::Store(e) if e.is_permanent() => {
                tracing::error!(error = %e, "the store refuses this inquiry");
                Refusal::NotStorable
            }
            IntakeError::Contended | IntakeError::Store(_) => {
                tracing::error!(error = %e, "intake could not record the inquiry");
                Refusal::Unavailable
            }
        }
    }

    /// The error answer: a page when `html` (a plain form that accepts
    /// text/html), else JSON; with `Retry-After` when trying again will help.
    pub fn answer(&self, html: bool) -> ApiGatewayV2httpResponse {
        let e = self.explain();
        let mut resp = response(e.status);
        let (content_type, body) = if html {
            ("text/html; charset=utf-8", page(&e.message))
        } else {
            let body = leadflow_aws::http::error_body(e.code, &e.message, e.field.as_deref());
            ("application/json", body.to_string())
        };
        resp.headers
            .insert("content-type", HeaderValue::from_static(content_type));
        resp.body = Some(Body::Text(body));
        if let Some(secs) = e.retry_after {
            resp.headers.insert("retry-after", HeaderValue::from(secs));
        }
        resp
    }
}

/// The domain's refusals: a body that is not a JSON object is malformed (400),
/// anything else is an invalid inquiry (422) under the domain's own code.
impl From<InquiryError> for Refusal {
    fn from(e: InquiryError) -> Self {
        let field = (!e.field.is_empty()).then_some(e.field);
        match (e.code, field) {
            ("malformed_body", None) => Refusal::MalformedBody(e.message),
            ("malformed_body", Some(f)) => Refusal::MalformedBody(format!("{f} {}", e.message)),
            (code, field) => Refusal::Invalid {
                code,
                field,
                message: e.message,
            },
        }
    }
}

/// A page a person can read, for a plain HTML form.
fn page(message: &str) -> String {
    format!(
        "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Please check the form</title></head>\
         <body><h1>Please check the form</h1><p>{}</p><p><a href=\"javascript:history.back()\">Go back</a></p></body></html>",
        leadflow::email::escape_html(message)
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use leadflow::domain::playbook::Quota;
    use leadflow::ports::StoreError;
    use serde_json::json;

    fn body(r: &ApiGatewayV2httpResponse) -> String {
        match &r.body {
            Some(Body::Text(t)) => t.clone(),
            _ => String::new(),
        }
    }

    #[test]
    fn each_reason_has_its_status_code_field_and_retry_after() {
        let invalid = Refusal::Invalid {
            code: "invalid_email",
            field: Some("email".into()),
            message: "is not an email address".into(),
        };
        let rate_limited = |scope| Refusal::RateLimited {
            scope,
            retry_after: 42,
        };
        for (refusal, status, code, field, retry_after) in [
            (
                Refusal::MethodNotAllowed,
                405,
                "method_not_allowed",
                None,
                None,
            ),
            (
                Refusal::OriginNotAllowed { origin: None },
                403,
                "origin_not_allowed",
                None,
                None,
            ),
            (
                Refusal::UnsupportedMediaType { media_type: None },
                415,
                "unsupported_media_type",
                None,
                None,
            ),
            (Refusal::BodyTooLarge, 413, "payload_too_large", None, None),
            (Refusal::malformed("no"), 400, "malformed_body", None, None),
            (
                Refusal::InvalidIdempotencyKey,
                400,
                "invalid_idempotency_key",
                Some("Idempotency-Key"),
                None,
            ),
            (invalid, 422, "invalid_email", Some("email"), None),
            (
                Refusal::KeyReused,
                422,
                "idempotency_key_reused",
                Some("Idempotency-Key"),
                None,
            ),
            (
                rate_limited(QuotaScope::Address),
                429,
                "rate_limited",
                Some("email"),
                Some(42),
            ),
            (
                rate_limited(QuotaScope::SourceIp),
                429,
                "rate_limited",
                None,
                Some(42),
            ),
            (Refusal::NotStorable, 422, "not_storable", None, None),
            (
                Refusal::Unavailable,
                503,
                "temporarily_unavailable",
                None,
                Some(1),
            ),
        ] {
            let e = refusal.explain();
            assert_eq!(
                (e.status, e.code, e.field.as_deref(), e.retry_after),
                (status, code, field, retry_after),
                "{refusal:?}"
            );
            assert!(!e.message.is_empty(), "{refusal:?}");
        }
    }

    #[test]
    fn messages_name_what_was_wrong() {
        let message = |r: Refusal| r.explain().message;
        assert_eq!(
            message(Refusal::OriginNotAllowed {
                origin: Some("https://evil.example.net".into())
            }),
            "origin https://evil.example.net may not post inquiries"
        );
        assert_eq!(
            message(Refusal::OriginNotAllowed { origin: None }),
            "origin (none) may not post inquiries"
        );
        assert_eq!(
            message(Refusal::UnsupportedMediaType {
                media_type: Some("text/plain".into())
            }),
            "text/plain is not accepted; send application/json or application/x-www-form-urlencoded"
        );
        assert_eq!(
            message(Refusal::UnsupportedMediaType { media_type: None }),
            "send Content-Type application/json or application/x-www-form-urlencoded"
        );
        assert_eq!(
            message(Refusal::RateLimited {
                scope: QuotaScope::SourceIp,
                retry_after: 7
            }),
            "too many inquiries from this network address; nothing was recorded — try again in 7 s"
        );
    }

    #[test]
    fn the_domain_refusals_map_by_code() {
        let domain = |code, field: &str, message: &str| InquiryError {
            code,
            field: field.into(),
            message: message.into(),
        };
        assert_eq!(
            Refusal::from(domain(
                "malformed_body",
                "",
                "the body must be a JSON object"
            )),
            Refusal::malformed("the body must be a JSON object")
        );
        let missing = Refusal::from(domain("missing_field", "email", "is required"));
        let e = missing.explain();
        assert_eq!((e.status, e.code), (422, "missing_field"));
        assert_eq!(e.message, "email is required");
        assert_eq!(e.field.as_deref(), Some("email"));
        let fieldless = Refusal::from(domain("too_many_fields", "", "at most 20")).explain();
        assert_eq!((fieldless.status, fieldless.field), (422, None));
        assert_eq!(fieldless.message, "at most 20");
    }

    #[test]
    fn the_intake_refusals_say_whether_to_try_again() {
        let now = Utc::now();
        let quota = Quota {
            scope: QuotaScope::Address,
            key: "address#a@example.com".into(),
            max: 5,
            window_start: now,
            window_end: now + chrono::Duration::seconds(90),
        };
        assert_eq!(
            Refusal::from_intake(IntakeError::Limited(quota), now),
            Refusal::RateLimited {
                scope: QuotaScope::Address,
                retry_after: 90
            }
        );
        assert_eq!(
            Refusal::from_intake(IntakeError::KeyReused, now),
            Refusal::KeyReused
        );
        assert_eq!(
            Refusal::from_intake(IntakeError::Contended, now),
            Refusal::Unavailable
        );
        assert_eq!(
            Refusal::from_intake(IntakeError::Store(StoreError::Unavailable("x".into())), now),
            Refusal::Unavailable
        );
        assert_eq!(
            Refusal::from_intake(IntakeError::Store(StoreError::Invalid("x".into())), now),
            Refusal::NotStorable
        );
    }

    #[test]
    fn the_answer_is_json_or_an_escaped_page_with_retry_after() {
        let r = Refusal::RateLimited {
            scope: QuotaScope::Address,
            retry_after: 30,
        }
        .answer(false);
        assert_eq!(r.status_code, 429);
        assert_eq!(r.headers["content-type"], "application/json");
        assert_eq!(r.headers["retry-after"], "30");
        let b: serde_json::Value = serde_json::from_str(&body(&r)).unwrap();
        assert_eq!(b["error"]["code"], "rate_limited");
        assert_eq!(b["error"]["field"], "email");

        let r = Refusal::BodyTooLarge.answer(false);
        let b: serde_json::Value = serde_json::from_str(&body(&r)).unwrap();
        assert_eq!(
            b,
            json!({"error": {"code": "payload_too_large", "message": "the body is over 65536 bytes"}})
        );
        assert!(r.headers.get("retry-after").is_none());

        let r = Refusal::Invalid {
            code: "invalid_email",
            field: Some("email".into()),
            message: "<script> is not an email address".into(),
        }
        .answer(true);
        assert_eq!(r.status_code, 422);
        assert_eq!(r.headers["content-type"], "text/html; charset=utf-8");
        let page = body(&r);
        assert!(page.contains("Please check the form"), "{page}");
        assert!(page.contains("email &lt;script&gt;"), "{page}");
    }
}
