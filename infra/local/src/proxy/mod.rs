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
    /// The JSON body (DynamoDB, SQS), S3's bucket and key, or `Null` (a
    /// query-protocol form).
    json: Value,
    /// S3: the URL's query (a presigned link's signature and expiry).
    query: Option<String>,
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
        let call = classify(&parts.method, &parts.uri, &parts.headers, &body);
        if let Some(why) = expired(&call, chrono::Utc::now()) {
            return Some(faults::error_answer(
                "s3",
                StatusCode::FORBIDDEN,
                "AccessDenied",
                &why,
            ));
        }
        if let Err(why) = presigned_signature(&call, &parts.headers).await {
            return Some(faults::error_answer(
                "s3",
                StatusCode::FORBIDDEN,
                "SignatureDoesNotMatch",
                &why,
            ));
        }
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
        "s3" => matches!(
            op,
            "PutObject" | "CopyObject" | "DeleteObject" | "CompleteMultipartUpload"
        ),
        _ => false,
    }
}

/// Service and operation: `X-Amz-Target` (JSON protocols), S3's REST calls
/// by method and path (signed in the header or, presigned, in the query),
/// else the form's `Action` and the service named in the signature's
/// credential scope.
fn classify(method: &http::Method, uri: &http::Uri, headers: &HeaderMap, body: &Bytes) -> Call {
    let header = |name: &str| headers.get(name).and_then(|v| v.to_str().ok());
    let query = uri.query().unwrap_or("");
    let scope_service = header("authorization")
        .and_then(|a| a.split("Credential=").nth(1))
        .map(str::to_string)
        .or_else(|| query_value(query, "X-Amz-Credential"))
        .and_then(|c| c.split('/').nth(3).map(str::to_string));
    if scope_service.as_deref() == Some("s3") {
        return s3_call(method, uri.path(), query, headers);
    }
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
            query: None,
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
        query: None,
    }
}

/// A query parameter's decoded value.
fn query_value(query: &str, key: &str) -> Option<String> {
    query
        .split('&')
        .filter_map(|pair| pair.split_once('=').or(Some((pair, ""))))
        .find(|(k, _)| *k == key)
        .map(|(_, v)| {
            percent_encoding::percent_decode_str(v)
                .decode_utf8_lossy()
                .into_owned()
        })
}

/// An S3 REST call (path-style, as the local stack's clients and links
/// make them): its operation, and `Bucket` and `Key` for IAM.
fn s3_call(method: &http::Method, path: &str, query: &str, headers: &HeaderMap) -> Call {
    let path = path.trim_start_matches('/');
    let (bucket, key) = match path.split_once('/') {
        Some((b, k)) if !k.is_empty() => (b, Some(k)),
        Some((b, _)) => (b, None),
        None => (path, None),
    };
    let has = |name: &str| {
        query
            .split('&')
            .any(|p| p == name || p.starts_with(&format!("{name}=")))
    };
    let operation = match (method.as_str(), key.is_some()) {
        ("PUT", true) if headers.contains_key("x-amz-copy-source") => "CopyObject",
        ("PUT", true) if has("partNumber") => "UploadPart",
        ("PUT", true) => "PutObject",
        ("GET", true) => "GetObject",
        ("HEAD", true) => "HeadObject",
        ("DELETE", true) if has("uploadId") => "AbortMultipartUpload",
        ("DELETE", true) => "DeleteObject",
        ("POST", true) if has("uploads") => "CreateMultipartUpload",
        ("POST", true) if has("uploadId") => "CompleteMultipartUpload",
        ("PUT", false) => "CreateBucket",
        ("GET", false) if has("list-type") => "ListObjectsV2",
        ("GET", false) => "ListObjects",
        ("HEAD", false) => "HeadBucket",
        ("DELETE", false) => "DeleteBucket",
        ("POST", false) if has("delete") => "DeleteObjects",
        _ => "unknown",
    };
    let key = key.map(|k| {
        percent_encoding::percent_decode_str(k)
            .decode_utf8_lossy()
            .into_owned()
    });
    Call {
        operation: Operation {
            service: "s3".into(),
            operation: operation.into(),
        },
        json: json!({ "Bucket": bucket, "Key": key }),
        query: Some(query.to_string()),
    }
}

/// A presigned S3 request's signature, checked as S3 checks it: made again
/// with the functions' key (every function signs with the local stack's
/// `test` key) over the same method, host, path and expiry. A link whose
/// path or expiry was changed is refused, as AWS refuses it.
async fn presigned_signature(call: &Call, headers: &HeaderMap) -> Result<(), String> {
    let Some(query) = call.query.as_deref() else {
        return Ok(());
    };
    let Some(signature) = query_value(query, "X-Amz-Signature") else {
        return Ok(());
    };
    let refuse = |why: &str| {
        Err(format!(
            "The request signature we calculated does not match the signature you provided ({why})"
        ))
    };
    let credential = query_value(query, "X-Amz-Credential").unwrap_or_default();
    let scope: Vec<&str> = credential.split('/').collect();
    let (Some(access_key), Some(region)) = (scope.first(), scope.get(2)) else {
        return refuse("no credential scope");
    };
    if *access_key != crate::runtime::LOCAL_ACCESS_KEY {
        return refuse("an access key the stack never gave");
    }
    let (Some(date), Some(seconds)) = (
        query_value(query, "X-Amz-Date"),
        query_value(query, "X-Amz-Expires").and_then(|s| s.parse::<u64>().ok()),
    ) else {
        return refuse("no date or expiry");
    };
    let Ok(signed_at) = chrono::NaiveDateTime::parse_from_str(&date, "%Y%m%dT%H%M%SZ") else {
        return refuse("an unreadable date");
    };
    let host = headers
        .get("host")
        .and_then(|h| h.to_str().ok())
        .unwrap_or_default();
    let (Some(bucket), Some(key)) = (call.json["Bucket"].as_str(), call.json["Key"].as_str())
    else {
        return refuse("not an object");
    };
    let links = leadflow_aws::files::FileLinks::with_key(
        bucket,
        region,
        Some(&format!("http://{host}")),
        crate::runtime::LOCAL_ACCESS_KEY,
        crate::runtime::LOCAL_SECRET_KEY,
    );
    let again = links
        .link(
            key,
            Duration::from_secs(seconds),
            std::time::SystemTime::from(signed_at.and_utc()),
        )
        .await?;
    let expected = again
        .split_once('?')
        .and_then(|(_, q)| query_value(q, "X-Amz-Signature"));
    match expected.is_some_and(|s| s == signature) && call.operation.operation == "GetObject" {
        true => Ok(()),
        false => refuse("the link was changed, or signed for another request"),
    }
}

/// Why a presigned S3 request is refused as AWS refuses it: its
/// `X-Amz-Date` plus `X-Amz-Expires` has passed.
fn expired(call: &Call, now: chrono::DateTime<chrono::Utc>) -> Option<String> {
    if call.operation.service != "s3" {
        return None;
    }
    let query = call.query.as_deref()?;
    let signed = query_value(query, "X-Amz-Date")?;
    let seconds: i64 = query_value(query, "X-Amz-Expires")?.parse().ok()?;
    let signed = chrono::NaiveDateTime::parse_from_str(&signed, "%Y%m%dT%H%M%SZ")
        .ok()?
        .and_utc();
    let expires = signed + chrono::Duration::seconds(seconds);
    (now > expires).then(|| {
        format!(
            "Request has expired: it expired at {}, and it is now {}",
            expires.format("%Y-%m-%dT%H:%M:%SZ"),
            now.format("%Y-%m-%dT%H:%M:%SZ")
        )
    })
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
        let post = (http::Method::POST, http::Uri::from_static("/"));
        let call = classify(
            &post.0,
            &post.1,
            &headers,
            &Bytes::from_static(b"{\"TableName\":\"t\"}"),
        );
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
        assert_eq!(
            classify(&post.0, &post.1, &headers, &Bytes::new())
                .operation
                .service,
            "sqs"
        );

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
        let call = classify(&post.0, &post.1, &headers, &body);
        assert_eq!(
            (
                call.operation.service.as_str(),
                call.operation.operation.as_str()
            ),
            ("ses", "SendEmail")
        );
        assert_eq!(recipients(&body), 2);
    }

    #[test]
    fn s3_calls_are_named_by_method_and_path_and_a_presigned_link_expires() {
        let mut signed = HeaderMap::new();
        signed.insert(
            http::header::AUTHORIZATION,
            http::HeaderValue::from_static(
                "AWS4-HMAC-SHA256 Credential=test/20260101/us-east-1/s3/aws4_request, SignedHeaders=host, Signature=x",
            ),
        );
        let put = classify(
            &http::Method::PUT,
            &http::Uri::from_static("/bucket-1/exports/ex%201.csv?x-id=PutObject"),
            &signed,
            &Bytes::from_static(b"Action=a,b\n"),
        );
        assert_eq!(put.operation.service, "s3");
        assert_eq!(put.operation.operation, "PutObject");
        assert_eq!(put.json["Bucket"], "bucket-1");
        assert_eq!(put.json["Key"], "exports/ex 1.csv");
        assert!(changes_state(&put.operation));
        // A presigned GET: the credential scope is in the query.
        let link = http::Uri::from_static(
            "/bucket-1/exports/x.csv?X-Amz-Algorithm=AWS4-HMAC-SHA256&X-Amz-Credential=AKID%2F20261207%2Fus-east-1%2Fs3%2Faws4_request&X-Amz-Date=20261207T100000Z&X-Amz-Expires=900&X-Amz-SignedHeaders=host&X-Amz-Signature=ab",
        );
        let get = classify(&http::Method::GET, &link, &HeaderMap::new(), &Bytes::new());
        assert_eq!(get.operation.operation, "GetObject");
        let at = |h, m| {
            chrono::NaiveDate::from_ymd_opt(2026, 12, 7)
                .unwrap()
                .and_hms_opt(h, m, 0)
                .unwrap()
                .and_utc()
        };
        assert_eq!(expired(&get, at(10, 15)), None);
        let why = expired(&get, at(10, 16)).unwrap();
        assert!(why.starts_with("Request has expired"), "{why}");
        // A header-signed call has no expiry of its own.
        assert_eq!(expired(&put, at(23, 0)), None);
    }
}
