//! `POST /inquiries`: the public intake for landing pages.
//!
//! Decodes the API Gateway request (JSON or a plain HTML form), lets the domain
//! parse it, records it through `leadflow::app::intake`, and answers 202 (JSON)
//! or 303 (forms). CORS is answered here so it behaves the same everywhere.

use aws_lambda_events::apigw::{ApiGatewayV2httpRequest, ApiGatewayV2httpResponse};
use aws_lambda_events::encodings::Body;
use aws_lambda_events::http::{HeaderMap, HeaderValue, Method};
use base64::Engine;
use leadflow::app::intake::{self, IntakeError, Submission};
use leadflow::domain::inquiry::{Inquiry, InquiryError};
use leadflow::domain::playbook::QuotaScope;
use leadflow::ports::{Answer, Clock, LeadStore, Publisher};
use leadflow::Playbook;
use leadflow_aws::{env, env_opt, ConfigError};
use serde_json::json;

/// Bodies larger than this are refused before parsing.
pub const MAX_BODY_BYTES: usize = 64 * 1024;
pub const MAX_IDEMPOTENCY_KEY: usize = 255;

#[derive(Debug, Clone)]
pub struct Config {
    pub allowed_origins: Vec<String>,
    pub thank_you_url: String,
    /// Pages a form's own `redirect` field may point at: the same scheme, host
    /// and port exactly, under the entry's path.
    pub redirect_allowlist: Vec<String>,
}

fn list(v: &str) -> Vec<String> {
    v.split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect()
}

impl Config {
    pub fn from_env() -> Result<Self, ConfigError> {
        Ok(Config {
            allowed_origins: list(&env_opt("ALLOWED_ORIGINS").unwrap_or_default()),
            thank_you_url: env("THANK_YOU_URL")?,
            redirect_allowlist: list(&env_opt("REDIRECT_ALLOWLIST").unwrap_or_default()),
        })
    }
}

pub struct Intake<S, P, C> {
    pub store: S,
    pub publisher: P,
    pub clock: C,
    pub playbook: Playbook,
    pub config: Config,
}

/// An answer that is an error: status, code, message, field.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Refusal {
    pub status: u16,
    pub code: &'static str,
    pub message: String,
    pub field: Option<String>,
    /// Seconds for `Retry-After`, on 429 and 503.
    pub retry_after: Option<u64>,
}

impl Refusal {
    fn new(status: u16, code: &'static str, message: impl Into<String>) -> Self {
        Refusal {
            status,
            code,
            message: message.into(),
            field: None,
            retry_after: (status == 503).then_some(1),
        }
    }
}

impl From<InquiryError> for Refusal {
    fn from(e: InquiryError) -> Self {
        let status = if e.code == "malformed_body" { 400 } else { 422 };
        Refusal {
            status,
            code: e.code,
            message: if e.field.is_empty() {
                e.message
            } else {
                format!("{} {}", e.field, e.message)
            },
            field: (!e.field.is_empty()).then_some(e.field),
            retry_after: None,
        }
    }
}

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Format {
    Json,
    Form,
}

fn header<'a>(h: &'a HeaderMap, name: &str) -> Option<&'a str> {
    h.get(name).and_then(|v| v.to_str().ok())
}

impl<S: LeadStore, P: Publisher, C: Clock> Intake<S, P, C> {
    pub async fn handle(&self, req: ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let origin = header(&req.headers, "origin")
            .filter(|o| self.config.allowed_origins.iter().any(|a| a == o))
            .map(str::to_string);
        let mut resp = match req.request_context.http.method {
            Method::OPTIONS => self.preflight(&req, origin.is_some()),
            Method::POST => self.post(&req).await,
            _ => error_response(&Refusal::new(405, "method_not_allowed", "use POST"), false),
        };
        if let Some(o) = origin {
            if let Ok(v) = HeaderValue::from_str(&o) {
                resp.headers.insert("access-control-allow-origin", v);
            }
            resp.headers.insert(
                "access-control-expose-headers",
                HeaderValue::from_static("idempotent-replayed"),
            );
        }
        resp.headers
            .insert("vary", HeaderValue::from_static("Origin"));
        resp
    }

    fn preflight(&self, req: &ApiGatewayV2httpRequest, allowed: bool) -> ApiGatewayV2httpResponse {
        if !allowed {
            let origin = header(&req.headers, "origin").unwrap_or("(none)");
            return error_response(
                &Refusal::new(
                    403,
                    "origin_not_allowed",
                    format!("origin {origin} may not post inquiries"),
                ),
                false,
            );
        }
        let mut r = response(204);
        r.headers.insert(
            "access-control-allow-methods",
            HeaderValue::from_static("POST, OPTIONS"),
        );
        r.headers.insert(
            "access-control-allow-headers",
            HeaderValue::from_static("content-type, idempotency-key"),
        );
        r.headers
            .insert("access-control-max-age", HeaderValue::from_static("600"));
        r
    }

    async fn post(&self, req: &ApiGatewayV2httpRequest) -> ApiGatewayV2httpResponse {
        let wants_html = header(&req.headers, "accept").is_some_and(|a| a.contains("text/html"));
        match self.accept(req).await {
            Ok(resp) => resp,
            Err((refusal, format)) => {
                error_response(&refusal, format == Some(Format::Form) && wants_html)
            }
        }
    }

    async fn accept(
        &self,
        req: &ApiGatewayV2httpRequest,
    ) -> Result<ApiGatewayV2httpResponse, (Refusal, Option<Format>)> {
        let content_type = header(&req.headers, "content-type").unwrap_or("");
        let mime = content_type
            .split(';')
            .next()
            .unwrap_or("")
            .trim()
            .to_ascii_lowercase();
        let format = match mime.as_str() {
            "application/json" => Format::Json,
            "application/x-www-form-urlencoded" => Format::Form,
            "" => {
                return Err((
                    Refusal::new(415, "unsupported_media_type", "send Content-Type application/json or application/x-www-form-urlencoded"),
                    None,
                ))
            }
            other => {
                return Err((
                    Refusal::new(
                        415,
                        "unsupported_media_type",
                        format!("{other} is not accepted; send application/json or application/x-www-form-urlencoded"),
                    ),
                    None,
                ))
            }
        };
        let fail = |r: Refusal| (r, Some(format));

        // Size first, before any parsing.
        let raw = req.body.as_deref().unwrap_or("");
        let encoded_limit = if req.is_base64_encoded {
            MAX_BODY_BYTES.div_ceil(3) * 4
        } else {
            MAX_BODY_BYTES
        };
        if raw.len() > encoded_limit {
            return Err(fail(Refusal::new(
                413,
                "payload_too_large",
                format!("the body is over {MAX_BODY_BYTES} bytes"),
            )));
        }
        let bytes = if req.is_base64_encoded {
            base64::engine::general_purpose::STANDARD
                .decode(raw)
                .map_err(|_| {
                    fail(Refusal::new(
                        400,
                        "malformed_body",
                        "the body is not valid base64",
                    ))
                })?
        } else {
            raw.as_bytes().to_vec()
        };
        if bytes.len() > MAX_BODY_BYTES {
            return Err(fail(Refusal::new(
                413,
                "payload_too_large",
                format!("the body is over {MAX_BODY_BYTES} bytes"),
            )));
        }
        let text = std::str::from_utf8(&bytes)
            .map_err(|_| fail(Refusal::new(400, "malformed_body", "the body is not UTF-8")))?;

        let fields: Vec<(String, String)> = match format {
            Format::Json => {
                let value: serde_json::Value = serde_json::from_str(text).map_err(|e| {
                    fail(Refusal::new(
                        400,
                        "malformed_body",
                        format!("the body is not valid JSON: {e}"),
                    ))
                })?;
                Inquiry::fields_from_json(&value).map_err(|e| fail(e.into()))?
            }
            Format::Form => serde_urlencoded::from_str(text).map_err(|_| {
                fail(Refusal::new(
                    400,
                    "malformed_body",
                    "the body is not a valid form encoding",
                ))
            })?,
        };

        let key = match header(&req.headers, "idempotency-key") {
            None => None,
            Some(k)
                if k.is_empty()
                    || k.len() > MAX_IDEMPOTENCY_KEY
                    || !k.chars().all(|c| c.is_ascii_graphic()) =>
            {
                let mut r = Refusal::new(
                    400,
                    "invalid_idempotency_key",
                    format!("Idempotency-Key must be 1 to {MAX_IDEMPOTENCY_KEY} visible ASCII characters"),
                );
                r.field = Some("Idempotency-Key".into());
                return Err(fail(r));
            }
            Some(k) => Some(scoped_key(
                header(&req.headers, "origin"),
                req.request_context.http.source_ip.as_deref(),
                k,
            )),
        };

        let inquiry = Inquiry::parse(&fields, &self.playbook.bant).map_err(|e| fail(e.into()))?;
        let answer = match format {
            Format::Json => Answer::Received,
            Format::Form => Answer::Redirect {
                location: self.redirect_target(&fields),
            },
        };
        let now = self.clock.now();
        let source_ip = req.request_context.http.source_ip.as_deref();
        let submission = Submission {
            quotas: self.playbook.limits.quotas(&inquiry.email, source_ip, now),
            inquiry,
            idempotency_key: key,
            fingerprint: fingerprint(&mime, &bytes),
            answer,
        };
        let accepted = intake::submit(&self.store, &self.publisher, now, submission)
            .await
            .map_err(|e| {
                fail(match e {
                    IntakeError::KeyReused => {
                        let mut r = Refusal::new(422, "idempotency_key_reused", e.to_string());
                        r.field = Some("Idempotency-Key".into());
                        r
                    }
                    IntakeError::Limited(quota) => {
                        let who = match quota.scope {
                            QuotaScope::Address => "this email address",
                            QuotaScope::SourceIp => "this network address",
                        };
                        let retry_after = quota.retry_after(now);
                        let mut r = Refusal::new(
                            429,
                            "rate_limited",
                            format!(
                                "too many inquiries from {who}; nothing was recorded — try again in {retry_after} s"
                            ),
                        );
                        if quota.scope == QuotaScope::Address {
                            r.field = Some("email".into());
                        }
                        r.retry_after = Some(retry_after);
                        r
                    }
                    IntakeError::Store(e) if e.is_permanent() => {
                        tracing::error!(error = %e, "the store refuses this inquiry");
                        Refusal::new(
                            422,
                            "not_storable",
                            "this inquiry cannot be stored as it is; please shorten it",
                        )
                    }
                    IntakeError::Contended | IntakeError::Store(_) => {
                        tracing::error!(error = %e, "intake could not record the inquiry");
                        Refusal::new(
                            503,
                            "temporarily_unavailable",
                            "the inquiry was not recorded; please try again",
                        )
                    }
                })
            })?;
        tracing::info!(lead_id = %accepted.lead_id, new_lead = accepted.new_lead, replayed = accepted.replayed, "inquiry accepted");

        let mut resp = response(match accepted.answer {
            Answer::Received => 202,
            Answer::Redirect { .. } => 303,
        });
        if accepted.replayed {
            resp.headers
                .insert("idempotent-replayed", HeaderValue::from_static("true"));
        }
        match accepted.answer {
            Answer::Redirect { location: loc } => {
                if let Ok(v) = HeaderValue::from_str(&loc) {
                    resp.headers.insert("location", v);
                }
                resp.headers.insert(
                    "content-type",
                    HeaderValue::from_static("text/plain; charset=utf-8"),
                );
                resp.body = Some(Body::Text(format!("Thank you. See {loc}")));
            }
            Answer::Received => {
                resp.headers
                    .insert("content-type", HeaderValue::from_static("application/json"));
                // The response's id, never the lead's: the answer must not tell
                // a stranger whether (or since when) a person is known.
                let mut answer = json!({ "status": "received" });
                if let Some(id) = &accepted.response_id {
                    answer["response_id"] = json!(id);
                }
                resp.body = Some(Body::Text(answer.to_string()));
            }
        }
        Ok(resp)
    }

    /// The form's own `redirect` when it is on the allowlist, else the configured page.
    fn redirect_target(&self, fields: &[(String, String)]) -> String {
        fields
            .iter()
            .find(|(k, _)| k == "redirect")
            .map(|(_, v)| v.trim())
            .filter(|v| {
                !v.contains(char::is_control)
                    && self
                        .config
                        .redirect_allowlist
                        .iter()
                        .any(|allowed| redirect_allowed(allowed, v))
            })
            .map(str::to_string)
            .unwrap_or_else(|| self.config.thank_you_url.clone())
    }
}

/// `target` is on the page `allowed` names: the same scheme, host and port
/// (compared as parsed URLs, never as strings: `https://good.com.evil.com/`
/// is not `https://good.com`), no credentials, and under the entry's path.
pub fn redirect_allowed(allowed: &str, target: &str) -> bool {
    let (Ok(a), Ok(t)) = (url::Url::parse(allowed), url::Url::parse(target)) else {
        return false;
    };
    let dir = a.path().trim_end_matches('/');
    let under = t.path() == dir || t.path().starts_with(&format!("{dir}/"));
    matches!(t.scheme(), "https" | "http")
        && a.scheme() == t.scheme()
        && a.host().is_some()
        && a.host() == t.host()
        && a.port_or_known_default() == t.port_or_known_default()
        && t.username().is_empty()
        && t.password().is_none()
        && under
}

/// Idempotency-Keys are the client's own: two landing pages (or two servers)
/// both counting from 1 must not replay each other's answers. A key is scoped
/// by the posting page's Origin, or, for a client that sends none, its source
/// address; the store sees only the digest.
pub fn scoped_key(origin: Option<&str>, source_ip: Option<&str>, key: &str) -> String {
    let scope = match (origin, source_ip) {
        (Some(o), _) => format!("origin {}", o.to_ascii_lowercase()),
        (None, Some(ip)) => format!("ip {ip}"),
        (None, None) => "anonymous".to_string(),
    };
    sha256_hex(&[scope.as_bytes(), key.as_bytes()])
}

/// What the request said, exactly: its media type and body. A reused key with
/// another body, or the same fields as a form instead of JSON, is refused.
pub fn fingerprint(mime: &str, body: &[u8]) -> String {
    sha256_hex(&[mime.as_bytes(), body])
}

fn sha256_hex(parts: &[&[u8]]) -> String {
    use sha2::{Digest, Sha256};
    let mut h = Sha256::new();
    for p in parts {
        // Length-prefixed, so the parts' boundary cannot be shifted.
        h.update((p.len() as u64).to_be_bytes());
        h.update(p);
    }
    h.finalize().iter().map(|b| format!("{b:02x}")).collect()
}

fn response(status: i64) -> ApiGatewayV2httpResponse {
    let mut r = ApiGatewayV2httpResponse::default();
    r.status_code = status;
    r
}

fn error_response(r: &Refusal, html: bool) -> ApiGatewayV2httpResponse {
    let mut resp = response(r.status as i64);
    if html {
        // A plain HTML form gets a page a person can read, not JSON.
        let esc = leadflow::email::escape_html;
        resp.headers.insert(
            "content-type",
            HeaderValue::from_static("text/html; charset=utf-8"),
        );
        resp.body = Some(Body::Text(format!(
            "<!doctype html><html lang=\"en\"><head><meta charset=\"utf-8\"><title>Please check the form</title></head>\
             <body><h1>Please check the form</h1><p>{}</p><p><a href=\"javascript:history.back()\">Go back</a></p></body></html>",
            esc(&r.message)
        )));
    } else {
        resp.headers
            .insert("content-type", HeaderValue::from_static("application/json"));
        let mut error = json!({ "code": r.code, "message": r.message });
        if let Some(f) = &r.field {
            error["field"] = json!(f);
        }
        resp.body = Some(Body::Text(json!({ "error": error }).to_string()));
    }
    if let Some(secs) = r.retry_after {
        resp.headers.insert("retry-after", HeaderValue::from(secs));
    }
    resp
}
