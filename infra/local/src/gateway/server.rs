//! The server: the HTTP API, the landing page as static files, and `/_dev/emails`.

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::Utc;
use http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{json, Value};
use tokio::net::TcpListener;

use crate::cognito::SignIn;
use crate::runtime::{serve, Invoker};
use crate::task::AbortOnDrop;
use crate::template::LocalSchedule;
use leadflow::identity::bearer;

use super::jwt::JwtAuthorizer;

use super::*;

/// What the gateway serves.
#[derive(Clone)]
pub struct GatewayConfig {
    /// 0 picks a free port.
    pub port: u16,
    pub routes: RouteTable,
    pub invoker: Arc<dyn Invoker>,
    /// Static files for GET requests no route matches (`infra/landing`).
    pub landing_dir: Option<PathBuf>,
    /// The emulator, for `GET /_dev/emails`.
    pub emulator_endpoint: Option<String>,
    /// The APIs' JWT authorizers by `(API logical id, authorizer name)`: what
    /// checks the bearer token of a route that names one, as API Gateway does.
    pub authorizers: Vec<(String, String, Arc<JwtAuthorizer>)>,
    /// How long a route's function may take to answer ([`INTEGRATION_TIMEOUT`]).
    pub integration_timeout: std::time::Duration,
    /// The user pool `POST /_local/token` signs people in to (the
    /// workspace's local sign-in; `leadflow token` does the same).
    pub sign_in: Option<SignIn>,
    /// The schedules `POST /_local/schedules/{LogicalId}` fires, as EventBridge would.
    pub schedules: Vec<LocalSchedule>,
    /// Where `POST /_local/ses-events` delivers an SES event, as SNS would.
    pub ses_events: Option<SesEvents>,
}

/// The queues subscribed to the SES events topic, and a client to reach them.
#[derive(Clone)]
pub struct SesEvents {
    pub sqs: aws_sdk_sqs::Client,
    pub routes: Vec<crate::template::SesEventRoute>,
}

/// The running HTTP server.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    server: AbortOnDrop,
}

pub(super) struct GatewayState {
    config: GatewayConfig,
}

impl Gateway {
    /// Binds 127.0.0.1:`port` and serves.
    pub async fn start(config: GatewayConfig) -> std::io::Result<Self> {
        let listener = TcpListener::bind(("127.0.0.1", config.port)).await?;
        Self::start_on(listener, config)
    }

    /// Serves on an already bound listener (`config.port` is not used).
    pub fn start_on(listener: TcpListener, config: GatewayConfig) -> std::io::Result<Self> {
        let addr = listener.local_addr()?;
        let state = Arc::new(GatewayState { config });
        let server = serve(listener, move |request, peer| {
            state.clone().handle(request, peer)
        });
        Ok(Self { addr, server })
    }

    pub fn local_addr(&self) -> SocketAddr {
        self.addr
    }

    /// `http://127.0.0.1:PORT`.
    pub fn url(&self) -> String {
        format!("http://{}", self.addr)
    }

    pub async fn stop(self) {
        self.server.stop().await;
    }
}

pub(super) type GatewayResponse = Response<Full<Bytes>>;

pub(super) fn respond(
    status: StatusCode,
    content_type: &str,
    body: impl Into<Bytes>,
) -> GatewayResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

pub(super) fn message(status: StatusCode, text: &str) -> GatewayResponse {
    respond(
        status,
        "application/json",
        json!({ "message": text }).to_string(),
    )
}

impl GatewayState {
    async fn handle(
        self: Arc<Self>,
        request: Request<Incoming>,
        peer: SocketAddr,
    ) -> GatewayResponse {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        let started = std::time::Instant::now();
        let response = self.route(request, peer).await;
        tracing::info!(
            "{method} {path} -> {} ({} ms)",
            response.status().as_u16(),
            started.elapsed().as_millis()
        );
        response
    }

    async fn route(&self, request: Request<Incoming>, peer: SocketAddr) -> GatewayResponse {
        let method = request.method().clone();
        let path = request.uri().path().to_string();
        if method == Method::GET && path == "/_dev/emails" {
            return self.emails().await;
        }
        // The workspace's development sign-in (AWS signs in through Cognito).
        if path == "/_local/people" && method == Method::GET {
            return self.people();
        }
        if path == "/_local/token" && method == Method::POST {
            let body = match request.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return message(StatusCode::BAD_REQUEST, "unreadable body"),
            };
            return self.local_token(&body).await;
        }
        if path == "/_local/ses-events" && method == Method::POST {
            let body = match request.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return message(StatusCode::BAD_REQUEST, "unreadable body"),
            };
            return self.ses_event(&body).await;
        }
        if let Some(name) = path.strip_prefix("/_local/schedules/") {
            if method != Method::POST {
                return message(
                    StatusCode::METHOD_NOT_ALLOWED,
                    "POST a {\"time\": \"<RFC 3339>\"}",
                );
            }
            let body = match request.into_body().collect().await {
                Ok(b) => b.to_bytes(),
                Err(_) => return message(StatusCode::BAD_REQUEST, "unreadable body"),
            };
            return self.fire_schedule(name, &body).await;
        }
        if let Some(matched) = self.config.routes.find(method.as_str(), &path) {
            let function = matched.route.function.clone();
            let request_id = ulid::Ulid::new().to_string();
            let parts = match request_parts(request, peer).await {
                Ok(parts) => parts,
                Err(response) => return response,
            };
            let mut event = api_gateway_event(&matched, &parts, &request_id, Utc::now());
            if let Some(authorizer) = &matched.route.spec.authorizer {
                match self
                    .authorize(&matched.route.spec.api, authorizer, &parts)
                    .await
                {
                    Ok(claims) => {
                        event["requestContext"]["authorizer"] =
                            json!({ "jwt": { "claims": claims, "scopes": null } })
                    }
                    Err(why) => {
                        let body = json!({"error": {"code": "unauthorized", "message": why}});
                        return respond(
                            StatusCode::UNAUTHORIZED,
                            "application/json",
                            Bytes::from(body.to_string()),
                        );
                    }
                }
            }
            let invocation = self.config.invoker.invoke(&function, event);
            let Ok(outcome) =
                tokio::time::timeout(self.config.integration_timeout, invocation).await
            else {
                // API Gateway stops waiting, and says only this; the
                // function may still finish what it was doing.
                tracing::warn!(
                    function,
                    "no answer within the integration timeout ({} s)",
                    self.config.integration_timeout.as_secs_f64()
                );
                return message(StatusCode::SERVICE_UNAVAILABLE, "Service Unavailable");
            };
            let mut response = match outcome {
                Ok(value) => match translate_response(&value) {
                    Ok(parts) => into_response(parts),
                    Err(e) => {
                        tracing::warn!(function, "malformed response: {e}");
                        message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                    }
                },
                Err(e) => {
                    tracing::warn!("{e}");
                    message(StatusCode::INTERNAL_SERVER_ERROR, "Internal Server Error")
                }
            };
            if let Ok(value) = HeaderValue::from_str(&request_id) {
                response.headers_mut().insert("apigw-requestid", value);
            }
            return response;
        }
        if method == Method::GET || method == Method::HEAD {
            if let Some(dir) = &self.config.landing_dir {
                if let Some(response) = static_file(dir, &path) {
                    return response;
                }
            }
        }
        message(StatusCode::NOT_FOUND, "Not Found")
    }

    /// The playbook's people, for the workspace's development sign-in.
    fn people(&self) -> GatewayResponse {
        let Ok(playbook) = leadflow::Playbook::default_playbook() else {
            return message(StatusCode::INTERNAL_SERVER_ERROR, "the playbook is invalid");
        };
        let people: Vec<Value> = playbook
            .reps
            .iter()
            .map(|r| json!({"id": r.id, "name": r.name, "role": r.role}))
            .collect();
        respond(
            StatusCode::OK,
            "application/json",
            json!({ "people": people }).to_string(),
        )
    }

    /// `{"rep": "<id>"}` → an ID token of the user pool for that playbook
    /// person, whose user is made on first sign-in (what `leadflow token
    /// --rep` prints).
    async fn local_token(&self, body: &[u8]) -> GatewayResponse {
        let refuse = |status, code: &str, text: String| {
            respond(
                status,
                "application/json",
                json!({"error": {"code": code, "message": text, "field": "rep"}}).to_string(),
            )
        };
        let Some(sign_in) = self.config.sign_in.as_ref() else {
            return message(StatusCode::NOT_FOUND, "this gateway has no user pool");
        };
        let rep = serde_json::from_slice::<Value>(body)
            .ok()
            .and_then(|v| v.get("rep").and_then(Value::as_str).map(str::to_string))
            .unwrap_or_default();
        let Ok(playbook) = leadflow::Playbook::default_playbook() else {
            return message(StatusCode::INTERNAL_SERVER_ERROR, "the playbook is invalid");
        };
        let Some(person) = playbook.rep(&rep) else {
            return refuse(
                StatusCode::UNPROCESSABLE_ENTITY,
                "unknown_person",
                format!("no person {rep:?} in the playbook"),
            );
        };
        let tokens = match sign_in.sign_in(&person.email, &person.name).await {
            Ok(tokens) => tokens,
            Err(e) => {
                tracing::warn!("local sign-in of {}: {e}", person.id);
                return message(StatusCode::BAD_GATEWAY, &format!("the user pool: {e}"));
            }
        };
        respond(
            StatusCode::OK,
            "application/json",
            json!({"token": tokens.id_token, "person": {"id": person.id, "name": person.name, "role": person.role, "email": person.email}}).to_string(),
        )
    }

    /// The JWT authorizer's check (the route's API's `authorizer`): an RS256
    /// token of the pool's, for this API, unexpired. Its claims reach the
    /// function as API Gateway hands them on (strings).
    async fn authorize(
        &self,
        api: &str,
        authorizer: &str,
        parts: &HttpRequestParts,
    ) -> Result<Value, String> {
        let header = parts
            .headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case("authorization"))
            .map(|(_, v)| v.as_str());
        let token = bearer(header).map_err(|e| format!("sign in: {e}"))?;
        let checker = self
            .config
            .authorizers
            .iter()
            .find(|(a, name, _)| a == api && name == authorizer)
            .map(|(_, _, checker)| checker)
            .ok_or_else(|| format!("{api} has no JWT authorizer {authorizer}"))?;
        let claims = checker
            .verify(token, Utc::now().timestamp())
            .await
            .map_err(|e| format!("sign in again: {e}"))?;
        Ok(Value::Object(
            claims
                .into_iter()
                .map(|(k, v)| {
                    let v = match v {
                        Value::String(s) => s,
                        other => other.to_string(),
                    };
                    (k, Value::String(v))
                })
                .collect(),
        ))
    }

    /// Invoke a schedule's function with a Scheduled Event for the given time
    /// (now when none is given); answers when it has finished, with what it returned.
    async fn fire_schedule(&self, name: &str, body: &[u8]) -> GatewayResponse {
        let Some(schedule) = self
            .config
            .schedules
            .iter()
            .find(|s| s.names.iter().any(|n| n == name))
        else {
            let known: Vec<&str> = self
                .config
                .schedules
                .iter()
                .flat_map(|s| s.names.first())
                .map(String::as_str)
                .collect();
            let body = json!({"error": {"code": "unknown_schedule", "message": format!("no schedule {name:?}; the template declares {}", known.join(", "))}});
            return respond(
                StatusCode::NOT_FOUND,
                "application/json",
                Bytes::from(body.to_string()),
            );
        };
        let time = if body.iter().all(u8::is_ascii_whitespace) {
            Utc::now()
        } else {
            let parsed = serde_json::from_slice::<Value>(body).ok().and_then(|v| {
                let t = v.get("time")?.as_str()?.to_string();
                chrono::DateTime::parse_from_rfc3339(&t).ok()
            });
            match parsed {
                Some(t) => t.with_timezone(&Utc),
                None => {
                    let body = json!({"error": {"code": "invalid_time", "message": "the body must be {\"time\": \"<RFC 3339>\"}", "field": "time"}});
                    return respond(
                        StatusCode::BAD_REQUEST,
                        "application/json",
                        Bytes::from(body.to_string()),
                    );
                }
            }
        };
        let event = crate::events::scheduled_event(&schedule.rule_arn, time);
        match self.config.invoker.invoke(&schedule.function, event).await {
            Ok(result) => {
                let body = json!({"function": schedule.function, "time": time.to_rfc3339(), "result": result});
                respond(
                    StatusCode::OK,
                    "application/json",
                    Bytes::from(body.to_string()),
                )
            }
            Err(e) => {
                let body = json!({"error": {"code": "function_failed", "message": e.to_string()}, "function": schedule.function});
                respond(
                    StatusCode::BAD_GATEWAY,
                    "application/json",
                    Bytes::from(body.to_string()),
                )
            }
        }
    }

    /// Deliver SES's own event JSON (or a list of them) to every queue
    /// subscribed to the configuration set's topic, in SNS's envelope.
    async fn ses_event(&self, body: &[u8]) -> GatewayResponse {
        let json_error = |status: StatusCode, code: &str, text: String| {
            let body = json!({"error": {"code": code, "message": text}});
            respond(status, "application/json", Bytes::from(body.to_string()))
        };
        let Some(target) = &self.config.ses_events else {
            return json_error(
                StatusCode::NOT_FOUND,
                "no_ses_events",
                "the template routes no SES events to a queue".into(),
            );
        };
        let events: Vec<Value> = match serde_json::from_slice::<Value>(body) {
            Ok(Value::Array(items)) => items,
            Ok(v @ Value::Object(_)) => vec![v],
            _ => {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_event",
                    "the body must be SES event JSON (an object, or a list of them)".into(),
                )
            }
        };
        let mut delivered = 0;
        for event in &events {
            if event.get("eventType").and_then(Value::as_str).is_none() {
                return json_error(
                    StatusCode::BAD_REQUEST,
                    "invalid_event",
                    "an SES event has an eventType".into(),
                );
            }
            for route in &target.routes {
                let envelope = json!({
                    "Type": "Notification",
                    "MessageId": ulid::Ulid::new().to_string(),
                    "TopicArn": route.topic_arn,
                    "Message": event.to_string(),
                    "Timestamp": Utc::now().to_rfc3339(),
                });
                for url in &route.queue_urls {
                    if let Err(e) = target
                        .sqs
                        .send_message()
                        .queue_url(url)
                        .message_body(envelope.to_string())
                        .send()
                        .await
                    {
                        return json_error(
                            StatusCode::BAD_GATEWAY,
                            "queue_failed",
                            format!("{e:?}"),
                        );
                    }
                    delivered += 1;
                }
            }
        }
        respond(
            StatusCode::ACCEPTED,
            "application/json",
            Bytes::from(json!({"delivered": delivered}).to_string()),
        )
    }

    async fn emails(&self) -> GatewayResponse {
        let Some(endpoint) = &self.config.emulator_endpoint else {
            return message(StatusCode::NOT_FOUND, "Not Found");
        };
        match crate::emulator::sent_emails(endpoint).await {
            Ok(emails) => respond(
                StatusCode::OK,
                "application/json",
                Value::Array(emails).to_string(),
            ),
            Err(e) => message(StatusCode::BAD_GATEWAY, &e.to_string()),
        }
    }
}

pub(super) async fn request_parts(
    request: Request<Incoming>,
    peer: SocketAddr,
) -> Result<HttpRequestParts, GatewayResponse> {
    let declared = request
        .headers()
        .get(header::CONTENT_LENGTH)
        .and_then(|v| v.to_str().ok())
        .and_then(|v| v.parse::<u64>().ok());
    let mut too_large = declared.is_some_and(|len| len > MAX_REQUEST_BODY as u64);
    let (head, mut body) = request.into_parts();
    // Read the body even when it is too large (up to a cap), so that clients
    // still writing it get the 413 rather than a broken connection.
    let mut collected = Vec::new();
    let mut total = 0usize;
    while let Some(frame) = body.frame().await {
        let Ok(frame) = frame else {
            return Err(message(StatusCode::BAD_REQUEST, "Bad Request"));
        };
        if let Ok(data) = frame.into_data() {
            total += data.len();
            too_large |= total > MAX_REQUEST_BODY;
            if !too_large {
                collected.extend_from_slice(&data);
            }
            if total > DRAIN_LIMIT {
                break;
            }
        }
    }
    if too_large {
        return Err(message(
            StatusCode::PAYLOAD_TOO_LARGE,
            "Request Entity Too Large",
        ));
    }
    let body = Bytes::from(collected);
    let headers = head
        .headers
        .iter()
        .map(|(name, value)| {
            (
                name.as_str().to_string(),
                String::from_utf8_lossy(value.as_bytes()).into_owned(),
            )
        })
        .collect();
    Ok(HttpRequestParts {
        method: head.method.as_str().to_string(),
        raw_path: head.uri.path().to_string(),
        raw_query: head.uri.query().unwrap_or_default().to_string(),
        headers,
        body,
        source_ip: peer.ip().to_string(),
        protocol: format!("{:?}", head.version),
    })
}

pub(super) fn into_response(parts: HttpResponseParts) -> GatewayResponse {
    let mut response = Response::new(Full::new(parts.body));
    *response.status_mut() =
        StatusCode::from_u16(parts.status).unwrap_or(StatusCode::INTERNAL_SERVER_ERROR);
    for (name, value) in parts.headers {
        match (
            HeaderName::try_from(name.as_str()),
            HeaderValue::from_str(&value),
        ) {
            (Ok(name), Ok(value)) => {
                response.headers_mut().append(name, value);
            }
            _ => tracing::warn!("dropped an invalid response header {name:?}"),
        }
    }
    response
}

/// The content type of a static file.
pub fn content_type(path: &Path) -> &'static str {
    match path
        .extension()
        .and_then(|e| e.to_str())
        .map(str::to_ascii_lowercase)
        .as_deref()
    {
        Some("html" | "htm") => "text/html; charset=utf-8",
        Some("css") => "text/css; charset=utf-8",
        Some("js" | "mjs") => "text/javascript; charset=utf-8",
        Some("json") => "application/json",
        Some("png") => "image/png",
        Some("jpg" | "jpeg") => "image/jpeg",
        Some("gif") => "image/gif",
        Some("webp") => "image/webp",
        Some("svg") => "image/svg+xml",
        Some("ico") => "image/x-icon",
        Some("txt") => "text/plain; charset=utf-8",
        Some("woff2") => "font/woff2",
        _ => "application/octet-stream",
    }
}

/// The file under `dir` that `raw_path` names, if it is a safe path to an existing file.
pub fn static_path(dir: &Path, raw_path: &str) -> Option<PathBuf> {
    let decoded = percent_decode(raw_path);
    let mut path = dir.to_path_buf();
    for segment in decoded.split('/').filter(|s| !s.is_empty()) {
        if segment == "." || segment == ".." || segment.contains('\\') || segment.contains('\0') {
            return None;
        }
        path.push(segment);
    }
    if path.is_dir() {
        path.push("index.html");
    }
    path.is_file().then_some(path)
}

pub(super) fn static_file(dir: &Path, raw_path: &str) -> Option<GatewayResponse> {
    let path = static_path(dir, raw_path)?;
    let body = std::fs::read(&path).ok()?;
    Some(respond(StatusCode::OK, content_type(&path), body))
}
