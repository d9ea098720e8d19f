//! A proxy between the functions' AWS SDK clients and the emulator. Each caller
//! (a function, the SQS pollers) gets a port of its own, so every request is
//! attributed to who made it without touching the request; the local stack
//! points that caller's `AWS_ENDPOINT_URL` at its port. Each request is
//! forwarded unchanged to the emulator and its answer returned unchanged, and
//! on the way the proxy meters it ([`Usage`]): requests by service and
//! operation, DynamoDB read and write units by DynamoDB's size rules
//! ([`capacity`]), SQS requests as billed, SES emails.
//!
//! The request path is [`Proxy::handle`]: classify, apply the [`faults`] a
//! test injected for this caller and [`Operation`] (drop the connection,
//! delay, a 5xx, a throttling or rejection error), then forward.

pub mod capacity;
pub mod faults;
pub mod iam;
pub mod usage;

use std::collections::BTreeMap;
use std::sync::{Arc, Mutex};
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::client::legacy::connect::HttpConnector;
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::progress::Progress;
use crate::runtime::serve_or_drop;
use crate::task::AbortOnDrop;
use crate::template::TableSpec;
use capacity::{Change, Schemas};
pub use usage::{Invocations, Operation, OperationUsage, Usage};

const MAX_BODY: usize = 16 * 1024 * 1024;
const SQS_CHUNK: u64 = 64 * 1024;

type HttpClient = Client<HttpConnector, Full<Bytes>>;

/// The running proxy: one listener per caller, all forwarding to `upstream`.
pub struct Proxy {
    upstream: String,
    client: HttpClient,
    schemas: Schemas,
    usage: Mutex<Usage>,
    /// Each caller's port: (caller, its URL, the task serving it).
    listeners: Mutex<Vec<(String, String, AbortOnDrop)>>,
    /// `LEADFLOW_PROXY_TRACE=1`: each DynamoDB write's items, sizes and units on stderr.
    trace: bool,
    faults: faults::Faults,
    /// Told of every state change that went through.
    progress: Progress,
    /// Read units, write units and emails are counted ([`Usage`]) only when
    /// metered: the write units cost two reads of each item written.
    metered: bool,
    /// Each function's role, by caller: its calls are checked against it.
    roles: Mutex<BTreeMap<String, iam::Role>>,
    arns: iam::Arns,
    denials: Mutex<Vec<iam::Denial>>,
}

impl std::fmt::Debug for Proxy {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Proxy")
            .field("upstream", &self.upstream)
            .finish_non_exhaustive()
    }
}

/// A request forwarded and its answer.
struct Exchange<'a> {
    headers: &'a HeaderMap,
    request: &'a Bytes,
    status: StatusCode,
    response: &'a Bytes,
}

/// A request, as the proxy understands it.
struct Call {
    operation: Operation,
    /// The JSON body (DynamoDB, SQS), or `Null` (a query-protocol form).
    json: Value,
}

impl Proxy {
    /// A proxy to `upstream` (the emulator's URL) for a stack with `tables`,
    /// telling `progress` of every write, send and delete that succeeds, and
    /// counting capacity units when `metered`.
    pub fn new(
        upstream: &str,
        tables: &[TableSpec],
        progress: Progress,
        metered: bool,
    ) -> Arc<Self> {
        Arc::new(Self {
            upstream: upstream.trim_end_matches('/').to_string(),
            client: Client::builder(TokioExecutor::new()).build_http(),
            schemas: capacity::schemas(tables),
            usage: Mutex::new(Usage::default()),
            listeners: Mutex::new(Vec::new()),
            trace: std::env::var("LEADFLOW_PROXY_TRACE").is_ok_and(|v| v == "1"),
            faults: faults::Faults::default(),
            progress,
            metered,
            roles: Mutex::new(BTreeMap::new()),
            arns: iam::Arns {
                region: crate::LOCAL_REGION.into(),
                account: crate::LOCAL_ACCOUNT_ID.into(),
            },
            denials: Mutex::new(Vec::new()),
        })
    }

    /// Opens a port for `caller` and returns its URL, to use as that caller's endpoint.
    pub async fn endpoint_for(self: &Arc<Self>, caller: &str) -> std::io::Result<String> {
        let listener = TcpListener::bind(("127.0.0.1", 0)).await?;
        let addr = listener.local_addr()?;
        let proxy = self.clone();
        let name: Arc<str> = caller.into();
        let task = serve_or_drop(listener, move |request, _peer| {
            let (proxy, caller) = (proxy.clone(), name.clone());
            async move { proxy.handle(&caller, request).await }
        });
        let url = format!("http://{addr}");
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .push((caller.to_string(), url.clone(), task));
        Ok(url)
    }

    /// The URL [`endpoint_for`](Self::endpoint_for) opened for `caller`.
    pub fn endpoint_of(&self, caller: &str) -> Option<String> {
        self.listeners
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .iter()
            .find(|(c, _, _)| c == caller)
            .map(|(_, url, _)| url.clone())
    }

    /// Checks every call of `role.function` against its statements from now on.
    pub fn enforce(&self, role: iam::Role) {
        self.roles
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .insert(role.function.clone(), role);
    }

    /// The calls refused so far, in order.
    pub fn denials(&self) -> Vec<iam::Denial> {
        self.denials
            .lock()
            .unwrap_or_else(|e| e.into_inner())
            .clone()
    }

    /// The faults in force: tests add and remove them while the stack runs.
    pub fn faults(&self) -> &faults::Faults {
        &self.faults
    }

    /// What was counted so far.
    pub fn usage(&self) -> Usage {
        self.usage.lock().unwrap_or_else(|e| e.into_inner()).clone()
    }

    /// Counts an invocation of `function` that took `took` (the stack's invoker reports them).
    pub fn record_invocation(&self, function: &str, took: Duration) {
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        let entry = usage.invocations.entry(function.to_string()).or_default();
        entry.count += 1;
        entry.duration += took;
    }

    /// Answers the request, or `None` to drop the connection (a fault).
    async fn handle(
        &self,
        caller: &str,
        request: Request<Incoming>,
    ) -> Option<Response<Full<Bytes>>> {
        let (parts, body) = request.into_parts();
        let body = match http_body_util::Limited::new(body, MAX_BODY).collect().await {
            Ok(b) => b.to_bytes(),
            Err(e) => {
                return Some(plain(
                    StatusCode::BAD_REQUEST,
                    &format!("request body: {e}"),
                ))
            }
        };
        let call = classify(&parts.headers, &body);
        if let Err(denial) = self.authorize(caller, &call, &body) {
            return Some(denied(&call.operation.service, &denial));
        }
        match self.faults.take(caller, &call.operation) {
            None => {}
            Some(faults::Fault::Drop) => return None,
            Some(faults::Fault::Delay(d)) => self.faults.hold(d).await,
            Some(fault) => return Some(faults::answer(&call.operation.service, &fault)),
        }
        let changes = match self.metered {
            true => self.before_images(&call, &parts.headers).await,
            false => Vec::new(),
        };
        let path = parts
            .uri
            .path_and_query()
            .map_or("/", |p| p.as_str())
            .to_string();
        let (answer, answer_body) = match self
            .send(parts.method.clone(), &path, &parts.headers, body.clone())
            .await
        {
            Ok(answer) => answer,
            Err(e) => return Some(plain(StatusCode::BAD_GATEWAY, &e)),
        };
        if answer.status.is_success() && changes_state(&call.operation) {
            self.progress.moved(format!(
                "{caller}: {} {}",
                call.operation.service, call.operation.operation
            ));
        }
        let exchange = Exchange {
            headers: &parts.headers,
            request: &body,
            status: answer.status,
            response: &answer_body,
        };
        self.meter(caller, call, changes, exchange).await;
        Some(Response::from_parts(answer, Full::new(answer_body)))
    }

    async fn send(
        &self,
        method: http::Method,
        path: &str,
        headers: &HeaderMap,
        body: Bytes,
    ) -> Result<(http::response::Parts, Bytes), String> {
        let mut request = Request::builder()
            .method(method)
            .uri(format!("{}{path}", self.upstream));
        for (name, value) in headers {
            if !matches!(
                name.as_str(),
                "host" | "connection" | "transfer-encoding" | "content-length"
            ) {
                request = request.header(name, value);
            }
        }
        let request = request
            .body(Full::new(body))
            .map_err(|e| format!("proxy request: {e}"))?;
        let response = tokio::time::timeout(Duration::from_secs(60), self.client.request(request))
            .await
            .map_err(|_| "the emulator did not answer in 60 s".to_string())?
            .map_err(|e| format!("the emulator: {e}"))?;
        let (mut parts, body) = response.into_parts();
        let body = body
            .collect()
            .await
            .map_err(|e| format!("the emulator's answer: {e}"))?
            .to_bytes();
        for name in ["connection", "transfer-encoding", "content-length"] {
            parts.headers.remove(name);
        }
        Ok((parts, body))
    }

    /// Checks the call against the caller's role, when it has one (the SQS
    /// pollers, as Lambda's event source mappings, have none here); a
    /// refusal is logged with the function, the action and the resource.
    fn authorize(&self, caller: &str, call: &Call, body: &Bytes) -> Result<(), iam::Denial> {
        let roles = self.roles.lock().unwrap_or_else(|e| e.into_inner());
        let Some(role) = roles.get(caller) else {
            return Ok(());
        };
        let form = match call.operation.service.as_str() {
            "ses" => form_pairs(body),
            _ => Vec::new(),
        };
        let accesses = iam::accesses(
            &call.operation,
            &call.json,
            &form,
            &self.schemas,
            &self.arns,
        );
        role.check(&accesses).inspect_err(|denial| {
            tracing::warn!(
                function = %denial.function,
                action = %denial.action,
                resource = %denial.resource,
                "AccessDenied: {denial}"
            );
            self.progress.refused(denial.to_string());
            let mut denials = self.denials.lock().unwrap_or_else(|e| e.into_inner());
            // A long `make dev` keeps the latest thousand, not all.
            if denials.len() == 1000 {
                denials.remove(0);
            }
            denials.push(denial.clone());
        })
    }

    /// The items a DynamoDB write is about to touch, with their current state.
    async fn before_images(&self, call: &Call, headers: &HeaderMap) -> Vec<Change> {
        if call.operation.service != "dynamodb" {
            return Vec::new();
        }
        let mut changes = capacity::touched(&call.operation.operation, &call.json, &self.schemas);
        for change in &mut changes {
            change.before = self.get_item(&change.table, &change.key, headers).await;
        }
        changes
    }

    /// The item as it is, read straight from the emulator (not metered).
    async fn get_item(
        &self,
        table: &str,
        key: &capacity::Item,
        headers: &HeaderMap,
    ) -> Option<capacity::Item> {
        let mut side = HeaderMap::new();
        if let Some(auth) = headers.get(http::header::AUTHORIZATION) {
            side.insert(http::header::AUTHORIZATION, auth.clone());
        }
        side.insert(
            "x-amz-target",
            http::HeaderValue::from_static("DynamoDB_20120810.GetItem"),
        );
        side.insert(
            http::header::CONTENT_TYPE,
            http::HeaderValue::from_static("application/x-amz-json-1.0"),
        );
        let body = json!({"TableName": table, "Key": key, "ConsistentRead": true}).to_string();
        let (_, body) = self
            .send(http::Method::POST, "/", &side, Bytes::from(body))
            .await
            .ok()?;
        serde_json::from_slice::<Value>(&body)
            .ok()?
            .get("Item")?
            .as_object()
            .cloned()
    }

    async fn meter(
        &self,
        caller: &str,
        call: Call,
        mut changes: Vec<Change>,
        exchange: Exchange<'_>,
    ) {
        let Exchange {
            headers,
            request: request_body,
            status,
            response: response_body,
        } = exchange;
        let response: Value = serde_json::from_slice(response_body).unwrap_or(Value::Null);
        let mut used = OperationUsage {
            requests: 1,
            ..OperationUsage::default()
        };
        let mut operation = call.operation;
        match operation.service.as_str() {
            "dynamodb" => {
                // DynamoDB charges a write whose condition failed, and a
                // cancelled transaction, as if it had written.
                let error = response["__type"].as_str().unwrap_or_default();
                let charged = status.is_success()
                    || error.ends_with("ConditionalCheckFailedException")
                    || error.ends_with("TransactionCanceledException");
                if charged && self.metered {
                    used.read_units =
                        capacity::read_cost(&operation.operation, &call.json, &response);
                    for change in &mut changes {
                        change.after = self.get_item(&change.table, &change.key, headers).await;
                    }
                    used.write_units = capacity::write_cost(&changes, &self.schemas);
                    if self.trace {
                        for c in &changes {
                            let key =
                                |k: &str| c.key.get(k).and_then(|v| v["S"].as_str()).unwrap_or("");
                            eprintln!(
                                "proxy: {caller} {} {} {}: {} -> {} bytes, {} WCU",
                                operation.operation,
                                key("pk"),
                                key("sk"),
                                c.before.as_ref().map_or(0, capacity::item_size),
                                c.after.as_ref().map_or(0, capacity::item_size),
                                capacity::write_cost(std::slice::from_ref(c), &self.schemas),
                            );
                        }
                    }
                }
            }
            "sqs" => {
                let payload = request_body.len().max(response_body.len()) as u64;
                used.billed_requests = payload.div_ceil(SQS_CHUNK).max(1);
                // An empty receive is polling, paid by the hour, not by the lead.
                if operation.operation == "ReceiveMessage"
                    && response["Messages"].as_array().is_none_or(Vec::is_empty)
                {
                    operation.operation = "ReceiveMessage (empty)".into();
                }
            }
            "ses" if status.is_success() && operation.operation.starts_with("Send") => {
                used.emails = recipients(request_body).max(1);
            }
            _ => {}
        }
        let mut usage = self.usage.lock().unwrap_or_else(|e| e.into_inner());
        usage
            .calls
            .entry(caller.to_string())
            .or_default()
            .entry(operation)
            .or_default()
            .add(&used);
    }
}

/// Whether a successful `operation` changed what the stack holds (a write,
/// a message sent or taken away, an email).
fn changes_state(operation: &Operation) -> bool {
    let op = operation.operation.as_str();
    match operation.service.as_str() {
        "dynamodb" => matches!(
            op,
            "PutItem" | "UpdateItem" | "DeleteItem" | "TransactWriteItems" | "BatchWriteItem"
        ),
        "sqs" => op.starts_with("SendMessage") || op.starts_with("DeleteMessage"),
        "ses" => op.starts_with("Send"),
        _ => false,
    }
}

/// Service and operation: `X-Amz-Target` (JSON protocols), else the form's
/// `Action` and the service named in the signature's credential scope.
fn classify(headers: &HeaderMap, body: &Bytes) -> Call {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    if let Some((prefix, op)) = header("x-amz-target").and_then(|t| t.split_once('.')) {
        let service = if prefix.starts_with("DynamoDB") {
            "dynamodb"
        } else if prefix.starts_with("AmazonSQS") {
            "sqs"
        } else {
            prefix
        };
        return Call {
            operation: Operation {
                service: service.to_string(),
                operation: op.to_string(),
            },
            json: serde_json::from_slice(body).unwrap_or(Value::Null),
        };
    }
    let action = form_values(body, "Action")
        .into_iter()
        .next()
        .unwrap_or_else(|| "unknown".into());
    let service = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .and_then(|c| c.split('/').nth(3))
        .unwrap_or("unknown");
    Call {
        operation: Operation {
            service: service.to_string(),
            operation: action,
        },
        json: Value::Null,
    }
}

/// AWS's answer to a call the caller's role does not allow, in the
/// service's protocol: DynamoDB's `AccessDeniedException` (400), SQS's and
/// SES's `AccessDenied` (403).
fn denied(service: &str, denial: &iam::Denial) -> Response<Full<Bytes>> {
    let message = format!(
        "User: arn:aws:sts::{}:assumed-role/{}Role/{} {}",
        crate::LOCAL_ACCOUNT_ID,
        denial.function,
        denial.function,
        denial
            .to_string()
            .trim_start_matches(denial.function.as_str())
            .trim_start()
    );
    match service {
        "dynamodb" => faults::error_answer(
            service,
            StatusCode::BAD_REQUEST,
            "AccessDeniedException",
            &message,
        ),
        _ => faults::error_answer(service, StatusCode::FORBIDDEN, "AccessDenied", &message),
    }
}

/// A query-protocol form's pairs, decoded.
fn form_pairs(body: &Bytes) -> Vec<(String, String)> {
    let decode = |s: &str| {
        percent_encoding::percent_decode_str(&s.replace('+', " "))
            .decode_utf8_lossy()
            .into_owned()
    };
    String::from_utf8_lossy(body)
        .split('&')
        .filter_map(|pair| pair.split_once('='))
        .map(|(k, v)| (decode(k), decode(v)))
        .collect()
}

fn form_values(body: &Bytes, key: &str) -> Vec<String> {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| {
            percent_encoding::percent_decode_str(k)
                .decode_utf8_lossy()
                .starts_with(key)
        })
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(&v.replace('+', " "))
                .decode_utf8_lossy()
                .into_owned()
        })
        .collect()
}

/// Recipients named by an SES send (`Destination.*Addresses.member.N` or `Destinations.member.N`).
fn recipients(body: &Bytes) -> u64 {
    let text = String::from_utf8_lossy(body);
    text.split('&')
        .filter_map(|pair| pair.split_once('='))
        .filter(|(k, _)| {
            let k = percent_encoding::percent_decode_str(k).decode_utf8_lossy();
            k.starts_with("Destination") && k.contains(".member.")
        })
        .count() as u64
}

fn plain(status: StatusCode, message: &str) -> Response<Full<Bytes>> {
    let mut r = Response::new(Full::new(Bytes::from(message.to_string())));
    *r.status_mut() = status;
    r
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn json_protocols_are_named_by_their_target_and_query_ones_by_action_and_scope() {
        let mut headers = HeaderMap::new();
        headers.insert(
            "x-amz-target",
            http::HeaderValue::from_static("DynamoDB_20120810.PutItem"),
        );
        let call = classify(&headers, &Bytes::from_static(b"{\"TableName\":\"t\"}"));
        assert_eq!(
            (
                call.operation.service.as_str(),
                call.operation.operation.as_str()
            ),
            ("dynamodb", "PutItem")
        );
        assert_eq!(call.json["TableName"], "t");

        headers.insert(
            "x-amz-target",
            http::HeaderValue::from_static("AmazonSQS.SendMessage"),
        );
        assert_eq!(classify(&headers, &Bytes::new()).operation.service, "sqs");

        let mut headers = HeaderMap::new();
        headers.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/ses/aws4_request, SignedHeaders=host, Signature=x",
            ),
        );
        let body = Bytes::from_static(
            b"Action=SendEmail&Destination.ToAddresses.member.1=a%40x.example&Destination.CcAddresses.member.1=b%40x.example",
        );
        let call = classify(&headers, &body);
        assert_eq!(
            (
                call.operation.service.as_str(),
                call.operation.operation.as_str()
            ),
            ("ses", "SendEmail")
        );
        assert_eq!(recipients(&body), 2);
    }
}
