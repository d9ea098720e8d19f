//! One POST to the intake, and what its answer means for the import.
//! (A blocking client, ureq over rustls: no hyper, no AWS SDK in this crate.)

use super::rows::Rejection;
use std::time::Duration;

/// What one attempt came to.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Attempt {
    /// 2xx: recorded now, or (`replayed`) an earlier answer to the same key.
    Accepted { replayed: bool },
    /// 4xx with the error JSON: this row will never be taken as it is.
    Rejected(Rejection),
    /// 429: nothing was recorded; the same row goes again after `wait`.
    /// `per_address` when the limit is the email address's, not ours.
    RateLimited {
        wait: Duration,
        per_address: bool,
        message: String,
    },
    /// 5xx or no answer: worth trying again. `maybe_recorded` unless the
    /// request surely never reached the intake (nothing listening, no such
    /// host): even the intake's own 503 may follow a write that timed out
    /// after the store applied it.
    Transient {
        reason: String,
        retry_after: Option<Duration>,
        maybe_recorded: bool,
    },
}

/// The intake at `{api}/inquiries`.
pub struct Intake {
    agent: ureq::Agent,
    url: String,
}

impl Intake {
    pub fn new(api: &str) -> Self {
        let agent = ureq::Agent::config_builder()
            .http_status_as_error(false)
            .timeout_connect(Some(Duration::from_secs(5)))
            .timeout_global(Some(Duration::from_secs(30)))
            .max_redirects(0)
            .user_agent(concat!("leadflow-import/", env!("CARGO_PKG_VERSION")))
            .build()
            .new_agent();
        Intake {
            agent,
            url: format!("{}/inquiries", api.trim_end_matches('/')),
        }
    }

    pub fn url(&self) -> &str {
        &self.url
    }

    pub fn post(&self, body: &str, key: &str) -> Attempt {
        let sent = self
            .agent
            .post(&self.url)
            .header("content-type", "application/json")
            .header("accept", "application/json")
            .header("idempotency-key", key)
            .send(body);
        match sent {
            Ok(mut resp) => {
                let status = resp.status().as_u16();
                let header = |name: &str| {
                    resp.headers()
                        .get(name)
                        .and_then(|v| v.to_str().ok())
                        .map(str::to_string)
                };
                let replayed = header("idempotent-replayed").is_some_and(|v| v == "true");
                let retry_after = header("retry-after");
                let text = resp
                    .body_mut()
                    .with_config()
                    .limit(64 * 1024)
                    .read_to_string()
                    .unwrap_or_default();
                classify(status, replayed, retry_after.as_deref(), &text)
            }
            Err(e) => {
                let refused = matches!(
                    e,
                    ureq::Error::ConnectionFailed | ureq::Error::HostNotFound
                ) || matches!(&e, ureq::Error::Io(io) if io.kind() == std::io::ErrorKind::ConnectionRefused);
                Attempt::Transient {
                    reason: format!("no answer from {}: {e}", self.url),
                    retry_after: None,
                    maybe_recorded: !refused,
                }
            }
        }
    }
}

/// What the intake's answer means: `status`, its `Idempotent-Replayed` and
/// `Retry-After` headers, its body.
pub fn classify(status: u16, replayed: bool, retry_after: Option<&str>, body: &str) -> Attempt {
    let error = error_json(body);
    let wait = retry_after
        .and_then(|s| s.trim().parse::<u64>().ok())
        .map(|s| Duration::from_secs(s.clamp(1, 3600)));
    match status {
        200..=299 => Attempt::Accepted { replayed },
        429 => Attempt::RateLimited {
            wait: wait.unwrap_or(Duration::from_secs(5)),
            per_address: error
                .as_ref()
                .is_some_and(|e| e.field.as_deref() == Some("email")),
            message: error
                .map(|e| e.message)
                .unwrap_or_else(|| "too many requests".into()),
        },
        400..=499 => Attempt::Rejected(error.unwrap_or_else(|| Rejection {
            code: format!("http_{status}"),
            message: format!("answered {status}: {}", snippet(body)),
            field: None,
        })),
        _ => Attempt::Transient {
            reason: match error {
                Some(e) => format!("answered {status}: {} ({})", e.message, e.code),
                None => format!("answered {status}: {}", snippet(body)),
            },
            retry_after: wait,
            maybe_recorded: true,
        },
    }
}

/// `{"error":{"code","message","field"}}`, when the body is that.
fn error_json(body: &str) -> Option<Rejection> {
    let v: serde_json::Value = serde_json::from_str(body).ok()?;
    let e = v.get("error")?;
    Some(Rejection {
        code: e.get("code")?.as_str()?.to_string(),
        message: e
            .get("message")
            .and_then(|m| m.as_str())
            .unwrap_or("")
            .to_string(),
        field: e.get("field").and_then(|f| f.as_str()).map(str::to_string),
    })
}

fn snippet(body: &str) -> String {
    let one_line: String = body.split_whitespace().collect::<Vec<_>>().join(" ");
    match one_line.char_indices().nth(200) {
        Some((cut, _)) => format!("{}…", &one_line[..cut]),
        None if one_line.is_empty() => "(no body)".into(),
        None => one_line,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn answers_mean_accepted_rejected_wait_or_try_again() {
        assert_eq!(
            classify(
                202,
                false,
                None,
                r#"{"response_id":"rs_1","status":"received"}"#
            ),
            Attempt::Accepted { replayed: false }
        );
        assert_eq!(
            classify(202, true, None, "{}"),
            Attempt::Accepted { replayed: true }
        );
        assert_eq!(
            classify(
                422,
                false,
                None,
                r#"{"error":{"code":"invalid_email","message":"is not a valid address","field":"email"}}"#
            ),
            Attempt::Rejected(Rejection {
                code: "invalid_email".into(),
                message: "is not a valid address".into(),
                field: Some("email".into()),
            })
        );
        assert_eq!(
            classify(413, false, None, "<html>too big</html>"),
            Attempt::Rejected(Rejection {
                code: "http_413".into(),
                message: "answered 413: <html>too big</html>".into(),
                field: None,
            })
        );
        let limited = |field: &str| {
            format!(r#"{{"error":{{"code":"rate_limited","message":"too many"{field}}}}}"#)
        };
        assert_eq!(
            classify(429, false, Some("42"), &limited("")),
            Attempt::RateLimited {
                wait: Duration::from_secs(42),
                per_address: false,
                message: "too many".into()
            }
        );
        assert_eq!(
            classify(429, false, Some("0"), &limited(r#","field":"email""#)),
            Attempt::RateLimited {
                wait: Duration::from_secs(1),
                per_address: true,
                message: "too many".into()
            }
        );
        assert_eq!(
            classify(
                503,
                false,
                Some("1"),
                r#"{"error":{"code":"unavailable","message":"try again"}}"#
            ),
            Attempt::Transient {
                reason: "answered 503: try again (unavailable)".into(),
                retry_after: Some(Duration::from_secs(1)),
                maybe_recorded: true
            }
        );
        assert!(matches!(
            classify(
                504,
                false,
                None,
                r#"{"message":"Endpoint request timed out"}"#
            ),
            Attempt::Transient {
                maybe_recorded: true,
                retry_after: None,
                ..
            }
        ));
    }

    #[test]
    fn nothing_listening_is_transient_and_surely_not_recorded() {
        // A port nothing listens on: bind one, learn its number, close it.
        let port = std::net::TcpListener::bind("127.0.0.1:0")
            .unwrap()
            .local_addr()
            .unwrap()
            .port();
        let attempt = Intake::new(&format!("http://127.0.0.1:{port}/")).post("{}", "k");
        match attempt {
            Attempt::Transient {
                maybe_recorded,
                reason,
                ..
            } => {
                assert!(!maybe_recorded, "{reason}");
                assert!(reason.contains("/inquiries"), "{reason}");
            }
            other => panic!("{other:?}"),
        }
    }
}
