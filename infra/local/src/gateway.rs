//! The local HTTP API: API Gateway HTTP API (payload format 2.0) in front of the
//! functions, the landing page as static files, and `/_dev/emails`.

use base64::engine::general_purpose::STANDARD as B64;
use base64::Engine;
use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use bytes::Bytes;
use chrono::{DateTime, Utc};
use http::{header, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use serde_json::{json, Map, Value};
use tokio::net::TcpListener;

use crate::runtime::{serve, Invoker};
use crate::task::AbortOnDrop;
use crate::template::HttpRouteSpec;
use crate::LOCAL_ACCOUNT_ID;

/// API Gateway's payload limit.
pub const MAX_REQUEST_BODY: usize = 10 * 1024 * 1024;
/// How much of a too-large body is read (and discarded) before answering 413.
const DRAIN_LIMIT: usize = 64 * 1024 * 1024;

// ---------------------------------------------------------------------------
// Routes
// ---------------------------------------------------------------------------

#[derive(Debug, Clone, PartialEq, Eq)]
enum Segment {
    Literal(String),
    Param(String),
    Greedy(String),
}

/// A route of the HTTP API and the function behind it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Route {
    pub spec: HttpRouteSpec,
    /// Logical id of the function.
    pub function: String,
    segments: Vec<Segment>,
}

impl Route {
    pub fn new(spec: HttpRouteSpec, function: impl Into<String>) -> Result<Self, String> {
        let mut segments = Vec::new();
        if spec.path != "$default" {
            let parts: Vec<&str> = spec.path.trim_start_matches('/').split('/').collect();
            for (i, part) in parts.iter().enumerate() {
                let segment = match part.strip_prefix('{').and_then(|p| p.strip_suffix('}')) {
                    Some(name) => match name.strip_suffix('+') {
                        Some(greedy) if i + 1 == parts.len() => Segment::Greedy(greedy.to_string()),
                        Some(_) => {
                            return Err(format!(
                                "{}: a greedy {{name+}} must be the last segment",
                                spec.path
                            ))
                        }
                        None if name.is_empty() => {
                            return Err(format!("{}: empty parameter", spec.path))
                        }
                        None => Segment::Param(name.to_string()),
                    },
                    None => Segment::Literal((*part).to_string()),
                };
                segments.push(segment);
            }
        }
        Ok(Self {
            spec,
            function: function.into(),
            segments,
        })
    }

    pub fn route_key(&self) -> String {
        self.spec.route_key()
    }

    fn is_default(&self) -> bool {
        self.spec.path == "$default"
    }

    /// Path parameters when `path` (raw, starting with `/`) matches.
    fn match_path(&self, path: &str) -> Option<BTreeMap<String, String>> {
        if self.is_default() {
            return Some(BTreeMap::new());
        }
        let parts: Vec<&str> = path.strip_prefix('/')?.split('/').collect();
        let mut params = BTreeMap::new();
        for (i, segment) in self.segments.iter().enumerate() {
            match segment {
                Segment::Literal(literal) => {
                    if parts.get(i) != Some(&literal.as_str()) {
                        return None;
                    }
                }
                Segment::Param(name) => {
                    let part = parts.get(i).filter(|p| !p.is_empty())?;
                    params.insert(name.clone(), percent_decode(part));
                }
                Segment::Greedy(name) => {
                    let rest = parts.get(i..).filter(|r| !r.is_empty())?.join("/");
                    if rest.is_empty() {
                        return None;
                    }
                    params.insert(name.clone(), percent_decode(&rest));
                    return Some(params);
                }
            }
        }
        (parts.len() == self.segments.len()).then_some(params)
    }

    /// Higher is more specific: literal segments, then parameters, then exact method.
    fn specificity(&self) -> (u8, usize, usize, bool) {
        let literals = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Literal(_)))
            .count();
        let params = self
            .segments
            .iter()
            .filter(|s| matches!(s, Segment::Param(_)))
            .count();
        let greedy = self
            .segments
            .iter()
            .any(|s| matches!(s, Segment::Greedy(_)));
        let class = if self.is_default() {
            0
        } else if greedy {
            1
        } else {
            2
        };
        (class, literals, params, self.spec.method != "ANY")
    }
}

/// A matched route.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RouteMatch<'a> {
    pub route: &'a Route,
    pub path_parameters: BTreeMap<String, String>,
}

/// Every route of the stack's HTTP APIs.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct RouteTable {
    routes: Vec<Route>,
}

impl RouteTable {
    /// Routes from `(route, function logical id)` pairs; the same route key twice is an error.
    pub fn new(routes: impl IntoIterator<Item = (HttpRouteSpec, String)>) -> Result<Self, String> {
        let mut table = Vec::<Route>::new();
        for (spec, function) in routes {
            let route = Route::new(spec, function)?;
            if let Some(other) = table.iter().find(|r| r.route_key() == route.route_key()) {
                return Err(format!(
                    "route {} is declared by both {} and {}",
                    route.route_key(),
                    other.function,
                    route.function
                ));
            }
            table.push(route);
        }
        Ok(Self { routes: table })
    }

    pub fn routes(&self) -> &[Route] {
        &self.routes
    }

    /// The most specific route for `method` and raw `path`.
    pub fn find(&self, method: &str, path: &str) -> Option<RouteMatch<'_>> {
        self.routes
            .iter()
            .filter(|r| r.spec.method == "ANY" || r.spec.method.eq_ignore_ascii_case(method))
            .filter_map(|r| r.match_path(path).map(|p| (r, p)))
            .max_by_key(|(r, _)| r.specificity())
            .map(|(route, path_parameters)| RouteMatch {
                route,
                path_parameters,
            })
    }
}

/// Decodes `%XX` escapes (invalid escapes stay as they are).
pub fn percent_decode(text: &str) -> String {
    // An invalid escape ("100%", "%zz") is kept as it is; `+` is not a space in a path.
    percent_encoding::percent_decode_str(text)
        .decode_utf8_lossy()
        .into_owned()
}

// ---------------------------------------------------------------------------
// Payload format 2.0
// ---------------------------------------------------------------------------

/// What the event is built from.
#[derive(Debug, Clone)]
pub struct HttpRequestParts {
    pub method: String,
    pub raw_path: String,
    pub raw_query: String,
    /// Names as received (any case), in order; repeated names allowed.
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
    pub source_ip: String,
    pub protocol: String,
}

/// The API Gateway HTTP API payload format 2.0 event for a matched request.
pub fn api_gateway_event(
    matched: &RouteMatch<'_>,
    request: &HttpRequestParts,
    request_id: &str,
    now: DateTime<Utc>,
) -> Value {
    let route = matched.route;
    let mut headers = Map::new();
    let mut cookies = Vec::new();
    for (name, value) in &request.headers {
        let name = name.to_ascii_lowercase();
        if name == "cookie" {
            cookies.extend(
                value
                    .split(';')
                    .map(str::trim)
                    .filter(|c| !c.is_empty())
                    .map(|c| Value::String(c.to_string())),
            );
            continue;
        }
        match headers.get_mut(&name) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(value);
            }
            _ => {
                headers.insert(name, Value::String(value.clone()));
            }
        }
    }
    let host = headers
        .get("host")
        .and_then(Value::as_str)
        .unwrap_or("127.0.0.1")
        .to_string();
    let domain_name = match host.rsplit_once(':') {
        Some((name, port)) if port.chars().all(|c| c.is_ascii_digit()) => name.to_string(),
        _ => host.clone(),
    };
    let domain_prefix = domain_name
        .split('.')
        .next()
        .unwrap_or_default()
        .to_string();
    let user_agent = headers
        .get("user-agent")
        .cloned()
        .unwrap_or(Value::String(String::new()));

    let mut query = Map::new();
    for pair in request.raw_query.split('&').filter(|p| !p.is_empty()) {
        let (key, value) = pair.split_once('=').unwrap_or((pair, ""));
        let (key, value) = (percent_decode(key), percent_decode(value));
        match query.get_mut(&key) {
            Some(Value::String(existing)) => {
                existing.push(',');
                existing.push_str(&value);
            }
            _ => {
                query.insert(key, Value::String(value));
            }
        }
    }

    let route_key = route.route_key();
    let mut event = json!({
        "version": "2.0",
        "routeKey": route_key,
        "rawPath": request.raw_path,
        "rawQueryString": request.raw_query,
        "headers": headers,
        "requestContext": {
            "accountId": LOCAL_ACCOUNT_ID,
            "apiId": route.spec.api_id,
            "domainName": domain_name,
            "domainPrefix": domain_prefix,
            "http": {
                "method": request.method,
                "path": request.raw_path,
                "protocol": request.protocol,
                "sourceIp": request.source_ip,
                "userAgent": user_agent,
            },
            "requestId": request_id,
            "routeKey": route_key,
            "stage": "$default",
            "time": now.format("%d/%b/%Y:%H:%M:%S +0000").to_string(),
            "timeEpoch": now.timestamp_millis(),
        },
        "isBase64Encoded": false,
    });
    let Some(object) = event.as_object_mut() else {
        return event;
    };
    if !cookies.is_empty() {
        object.insert("cookies".into(), Value::Array(cookies));
    }
    if !query.is_empty() {
        object.insert("queryStringParameters".into(), Value::Object(query));
    }
    if !matched.path_parameters.is_empty() {
        let params = matched
            .path_parameters
            .iter()
            .map(|(k, v)| (k.clone(), Value::String(v.clone())))
            .collect();
        object.insert("pathParameters".into(), Value::Object(params));
    }
    if !request.body.is_empty() {
        match std::str::from_utf8(&request.body) {
            Ok(text) => {
                object.insert("body".into(), Value::String(text.to_string()));
            }
            Err(_) => {
                object.insert("body".into(), Value::String(B64.encode(&request.body)));
                object.insert("isBase64Encoded".into(), Value::Bool(true));
            }
        }
    }
    event
}

/// An HTTP response, before it is sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct HttpResponseParts {
    pub status: u16,
    pub headers: Vec<(String, String)>,
    pub body: Bytes,
}

fn header_text(value: &Value) -> Option<String> {
    match value {
        Value::String(s) => Some(s.clone()),
        Value::Number(n) => Some(n.to_string()),
        Value::Bool(b) => Some(b.to_string()),
        _ => None,
    }
}

/// Translates a function's payload format 2.0 response as API Gateway does.
pub fn translate_response(response: &Value) -> Result<HttpResponseParts, String> {
    let structured = response
        .as_object()
        .filter(|o| o.contains_key("statusCode"));
    let Some(object) = structured else {
        // No statusCode: the whole response is a JSON body.
        return Ok(HttpResponseParts {
            status: 200,
            headers: vec![("content-type".into(), "application/json".into())],
            body: Bytes::from(response.to_string()),
        });
    };
    let status = match &object["statusCode"] {
        Value::Number(n) => n.as_u64(),
        Value::String(s) => s.parse().ok(),
        _ => None,
    }
    .and_then(|s| u16::try_from(s).ok())
    .filter(|s| (100..=599).contains(s))
    .ok_or_else(|| format!("invalid statusCode {}", object["statusCode"]))?;
    let mut headers = Vec::new();
    if let Some(Value::Object(map)) = object.get("headers") {
        for (name, value) in map {
            if let Some(value) = header_text(value) {
                headers.push((name.to_ascii_lowercase(), value));
            }
        }
    }
    if let Some(Value::Object(map)) = object.get("multiValueHeaders") {
        for (name, values) in map {
            if let Value::Array(values) = values {
                for value in values.iter().filter_map(header_text) {
                    headers.push((name.to_ascii_lowercase(), value));
                }
            }
        }
    }
    if let Some(Value::Array(cookies)) = object.get("cookies") {
        for cookie in cookies.iter().filter_map(Value::as_str) {
            headers.push(("set-cookie".into(), cookie.to_string()));
        }
    }
    let base64 = object
        .get("isBase64Encoded")
        .and_then(Value::as_bool)
        .unwrap_or(false);
    let body = match object.get("body") {
        None | Some(Value::Null) => Bytes::new(),
        Some(Value::String(text)) if base64 => Bytes::from(
            B64.decode(text)
                .map_err(|e| format!("body is not valid base64: {e}"))?,
        ),
        Some(Value::String(text)) => Bytes::from(text.clone()),
        Some(other) => Bytes::from(other.to_string()),
    };
    Ok(HttpResponseParts {
        status,
        headers,
        body,
    })
}

// ---------------------------------------------------------------------------
// The server
// ---------------------------------------------------------------------------

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
}

/// The running HTTP server.
#[derive(Debug)]
pub struct Gateway {
    addr: SocketAddr,
    server: AbortOnDrop,
}

struct GatewayState {
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

type GatewayResponse = Response<Full<Bytes>>;

fn respond(status: StatusCode, content_type: &str, body: impl Into<Bytes>) -> GatewayResponse {
    let mut response = Response::new(Full::new(body.into()));
    *response.status_mut() = status;
    if let Ok(value) = HeaderValue::from_str(content_type) {
        response.headers_mut().insert(header::CONTENT_TYPE, value);
    }
    response
}

fn message(status: StatusCode, text: &str) -> GatewayResponse {
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
        if let Some(matched) = self.config.routes.find(method.as_str(), &path) {
            let function = matched.route.function.clone();
            let request_id = ulid::Ulid::new().to_string();
            let parts = match request_parts(request, peer).await {
                Ok(parts) => parts,
                Err(response) => return response,
            };
            let event = api_gateway_event(&matched, &parts, &request_id, Utc::now());
            let outcome = self.config.invoker.invoke(&function, event).await;
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

async fn request_parts(
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

fn into_response(parts: HttpResponseParts) -> GatewayResponse {
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

fn static_file(dir: &Path, raw_path: &str) -> Option<GatewayResponse> {
    let path = static_path(dir, raw_path)?;
    let body = std::fs::read(&path).ok()?;
    Some(respond(StatusCode::OK, content_type(&path), body))
}

#[cfg(test)]
mod tests;
