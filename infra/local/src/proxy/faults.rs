//! Faults the [`Proxy`](super::Proxy) injects between a caller and the
//! emulator, as tests tell it: drop the connection, delay, answer a 5xx, or
//! answer the service's own throttling or rejection error. A rule matches a
//! caller (a function's logical id), a service and an operation (each `None`
//! for any), and holds for a number of requests or until it is removed.

use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Mutex;
use std::time::Duration;

use bytes::Bytes;
use http::StatusCode;
use http_body_util::Full;

use super::Operation;

/// What to do to a matching request.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fault {
    /// Close the connection without an answer (the SDK sees a reset, as when
    /// the service cannot be reached).
    Drop,
    /// Wait this long, then forward it.
    Delay(Duration),
    /// Answer 503 with the service's "unavailable" error; nothing is forwarded.
    Unavailable,
    /// Answer the service's throttling error; nothing is forwarded.
    Throttle,
    /// SES only: refuse the message for good (`MessageRejected`).
    Reject,
}

/// Which requests a [`Fault`] applies to.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Matcher {
    /// A function's logical id (or the event source mapping's name).
    pub caller: Option<String>,
    /// `dynamodb`, `sqs`, `ses`.
    pub service: Option<String>,
    /// `TransactWriteItems`, `SendRawEmail`, ...
    pub operation: Option<String>,
}

impl Matcher {
    pub fn caller(caller: &str) -> Self {
        Self {
            caller: Some(caller.into()),
            ..Self::default()
        }
    }
    pub fn service(mut self, service: &str) -> Self {
        self.service = Some(service.into());
        self
    }
    pub fn operation(mut self, operation: &str) -> Self {
        self.operation = Some(operation.into());
        self
    }
    fn matches(&self, caller: &str, op: &Operation) -> bool {
        self.caller.as_deref().is_none_or(|c| c == caller)
            && self.service.as_deref().is_none_or(|s| s == op.service)
            && self
                .operation
                .as_deref()
                .is_none_or(|o| op.operation.starts_with(o))
    }
}

/// An injected fault, with how many more requests it takes (`None`: until removed).
#[derive(Debug, Clone)]
struct Rule {
    id: u64,
    matcher: Matcher,
    fault: Fault,
    remaining: Option<u64>,
}

/// The faults in force and what they did.
#[derive(Debug, Default)]
pub struct Faults {
    rules: Mutex<Vec<Rule>>,
    next_id: AtomicU64,
    injected: AtomicU64,
    held: AtomicU64,
}

impl Faults {
    /// Adds a rule for the next `times` matching requests (`None`: until
    /// [`remove`](Self::remove)d); returns its id.
    pub fn add(&self, matcher: Matcher, fault: Fault, times: Option<u64>) -> u64 {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        self.lock().push(Rule {
            id,
            matcher,
            fault,
            remaining: times,
        });
        id
    }

    pub fn remove(&self, id: u64) {
        self.lock().retain(|r| r.id != id);
    }

    pub fn clear(&self) {
        self.lock().clear();
    }

    /// How many requests got a fault so far.
    pub fn injected(&self) -> u64 {
        self.injected.load(Ordering::Relaxed)
    }

    /// How many requests are being delayed right now.
    pub fn held(&self) -> u64 {
        self.held.load(Ordering::Relaxed)
    }

    fn lock(&self) -> std::sync::MutexGuard<'_, Vec<Rule>> {
        self.rules.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// The fault for this request, if a rule takes it (using one of its times).
    pub(super) fn take(&self, caller: &str, op: &Operation) -> Option<Fault> {
        let mut rules = self.lock();
        let index = rules.iter().position(|r| r.matcher.matches(caller, op))?;
        let rule = &mut rules[index];
        let fault = rule.fault.clone();
        if let Some(n) = &mut rule.remaining {
            *n = n.saturating_sub(1);
            if *n == 0 {
                rules.remove(index);
            }
        }
        self.injected.fetch_add(1, Ordering::Relaxed);
        Some(fault)
    }

    /// Waits `d`, counted in [`held`](Self::held) meanwhile.
    pub(super) async fn hold(&self, d: Duration) {
        self.held.fetch_add(1, Ordering::Relaxed);
        tokio::time::sleep(d).await;
        self.held.fetch_sub(1, Ordering::Relaxed);
    }
}

/// The error answer `service` gives for `fault` (the SDKs read the code from
/// these, so each is in its service's protocol: JSON for DynamoDB and SQS,
/// the query protocol's XML for SES).
pub(super) fn answer(service: &str, fault: &Fault) -> http::Response<Full<Bytes>> {
    let (status, code, message) = match fault {
        Fault::Throttle => match service {
            "ses" => (
                StatusCode::BAD_REQUEST,
                "Throttling",
                "Maximum sending rate exceeded.",
            ),
            _ => (
                StatusCode::BAD_REQUEST,
                "ThrottlingException",
                "Rate exceeded (injected)",
            ),
        },
        Fault::Reject => (
            StatusCode::BAD_REQUEST,
            "MessageRejected",
            "Address blacklisted (injected)",
        ),
        _ => match service {
            "sqs" => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "injected",
            ),
            "ses" => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailable",
                "injected",
            ),
            _ => (
                StatusCode::SERVICE_UNAVAILABLE,
                "ServiceUnavailableException",
                "injected",
            ),
        },
    };
    error_answer(service, status, code, message)
}

/// An error as `service` answers it: SES's XML (query protocol), or the JSON
/// protocols' `__type` body (with SQS's `x-amzn-query-error` header).
pub(super) fn error_answer(
    service: &str,
    status: StatusCode,
    code: &str,
    message: &str,
) -> http::Response<Full<Bytes>> {
    let (content_type, body) = if service == "s3" {
        (
            "application/xml",
            format!(
                "<?xml version=\"1.0\" encoding=\"UTF-8\"?>\n<Error><Code>{code}</Code>\
                 <Message>{message}</Message><RequestId>local</RequestId></Error>"
            ),
        )
    } else if service == "ses" {
        (
            "text/xml",
            format!(
                "<ErrorResponse xmlns=\"http://ses.amazonaws.com/doc/2010-12-01/\"><Error>\
                 <Type>Sender</Type><Code>{code}</Code><Message>{message}</Message></Error>\
                 <RequestId>injected</RequestId></ErrorResponse>"
            ),
        )
    } else {
        let prefix = if service == "sqs" {
            "com.amazonaws.sqs#"
        } else {
            "com.amazonaws.dynamodb.v20120810#"
        };
        (
            "application/x-amz-json-1.0",
            serde_json::json!({"__type": format!("{prefix}{code}"), "message": message})
                .to_string(),
        )
    };
    let mut response = http::Response::new(Full::new(Bytes::from(body)));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static(content_type),
    );
    if service == "sqs" {
        if let Ok(v) = http::HeaderValue::from_str(&format!("{code};Sender")) {
            response.headers_mut().insert("x-amzn-query-error", v);
        }
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    fn op(service: &str, operation: &str) -> Operation {
        Operation {
            service: service.into(),
            operation: operation.into(),
        }
    }

    #[test]
    fn rules_match_caller_service_and_operation_and_run_out() {
        let faults = Faults::default();
        let id = faults.add(
            Matcher::caller("Fulfillment").service("ses"),
            Fault::Throttle,
            Some(2),
        );
        assert_eq!(faults.take("Router", &op("ses", "SendRawEmail")), None);
        assert_eq!(faults.take("Fulfillment", &op("dynamodb", "GetItem")), None);
        assert_eq!(
            faults.take("Fulfillment", &op("ses", "SendRawEmail")),
            Some(Fault::Throttle)
        );
        assert_eq!(
            faults.take("Fulfillment", &op("ses", "SendEmail")),
            Some(Fault::Throttle)
        );
        assert_eq!(faults.take("Fulfillment", &op("ses", "SendEmail")), None);
        assert_eq!(faults.injected(), 2);
        faults.remove(id);
        let id = faults.add(Matcher::default().operation("Transact"), Fault::Drop, None);
        for _ in 0..5 {
            assert_eq!(
                faults.take("Intake", &op("dynamodb", "TransactWriteItems")),
                Some(Fault::Drop)
            );
        }
        faults.remove(id);
        assert_eq!(
            faults.take("Intake", &op("dynamodb", "TransactWriteItems")),
            None
        );
    }

    #[test]
    fn answers_speak_each_services_protocol() {
        let ses = answer("ses", &Fault::Throttle);
        assert_eq!(ses.status(), StatusCode::BAD_REQUEST);
        let dynamo = answer("dynamodb", &Fault::Unavailable);
        assert_eq!(dynamo.status(), StatusCode::SERVICE_UNAVAILABLE);
        let sqs = answer("sqs", &Fault::Throttle);
        assert_eq!(
            sqs.headers()["x-amzn-query-error"],
            "ThrottlingException;Sender"
        );
    }
}
