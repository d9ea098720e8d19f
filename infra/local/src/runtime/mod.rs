//! Runs each function as its own process behind an in-process
//! [Lambda Runtime API](https://docs.aws.amazon.com/lambda/latest/dg/runtimes-api.html).
//!
//! A [`FunctionHost`] owns one function: it spawns the function's binary with
//! `AWS_LAMBDA_RUNTIME_API` pointing at a small HTTP server of its own, queues
//! invocations for `GET /runtime/invocation/next` and hands back what the
//! process posts to `.../response` or `.../error`. Invocations of a function are
//! serialised. A process that times out is killed and restarted; one that died
//! is restarted on the next invocation. Every process start gets a fresh server
//! (and port), so nothing of a dead process can take a later invocation.

use std::collections::{BTreeMap, HashMap};
use std::future::Future;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::pin::Pin;
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper::service::service_fn;
use hyper_util::rt::TokioIo;
use serde_json::{json, Value};
use tokio::net::TcpListener;
use tokio::process::Command;
use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinSet;

use crate::emulator::{drain_lines, LogTail};
use crate::progress::Progress;
use crate::task::{uuid_like, AbortOnDrop};
use crate::template::FunctionSpec;
use crate::LOCAL_REGION;

/// Why an invocation did not produce a response.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum InvokeError {
    #[error("no function {0} in this stack")]
    UnknownFunction(String),
    /// The function reported an error (`/invocation/{id}/error`).
    #[error("{function} failed: {error_type}: {error_message}")]
    Function {
        function: String,
        error_type: String,
        error_message: String,
    },
    /// No response within the template's `Timeout`; the process was restarted.
    #[error("{function} timed out after {timeout:?}; its process was restarted")]
    Timeout { function: String, timeout: Duration },
    /// The process exited before it responded.
    #[error("{function}'s process exited ({status}){init_error}; last output:\n{log_tail}")]
    ProcessExited {
        function: String,
        status: String,
        /// `": <message>"` when the process reported an init error, else empty.
        init_error: String,
        log_tail: String,
    },
    #[error("{function} could not be started: {message}")]
    Start { function: String, message: String },
    #[error("{function} responded with something that is not JSON: {message}")]
    InvalidResponse { function: String, message: String },
}

/// A boxed invocation result.
pub type InvokeFuture = Pin<Box<dyn Future<Output = Result<Value, InvokeError>> + Send>>;

/// Something that invokes functions by logical id (the real [`Functions`], or a fake in tests).
pub trait Invoker: Send + Sync + 'static {
    fn invoke(&self, function: &str, payload: Value) -> InvokeFuture;
}

/// How to run one function's process.
#[derive(Debug, Clone)]
pub struct FunctionConfig {
    pub logical_id: String,
    pub function_name: String,
    pub arn: String,
    pub exe: PathBuf,
    /// The process environment, less `AWS_LAMBDA_RUNTIME_API` (set per process start).
    pub env: BTreeMap<String, String>,
    pub timeout: Duration,
    /// Forward the process's output, each line prefixed with the logical id, to our stderr.
    pub forward_logs: bool,
    pub working_dir: Option<PathBuf>,
    /// Told of every process start and unexpected exit.
    pub progress: Progress,
}

impl FunctionConfig {
    /// The configuration Lambda would give `spec`: its resolved environment plus
    /// the reserved variables (`AWS_LAMBDA_*`, region, emulator endpoint, dummy credentials).
    pub fn from_spec(
        spec: &FunctionSpec,
        exe: PathBuf,
        endpoint: &str,
        forward_logs: bool,
    ) -> Self {
        Self {
            logical_id: spec.logical_id.clone(),
            function_name: spec.function_name.clone(),
            arn: spec.arn.clone(),
            exe,
            env: lambda_environment(spec, endpoint),
            timeout: spec.timeout,
            forward_logs,
            working_dir: None,
            progress: Progress::default(),
        }
    }
}

/// The environment a function process gets (except `AWS_LAMBDA_RUNTIME_API`).
pub fn lambda_environment(spec: &FunctionSpec, endpoint: &str) -> BTreeMap<String, String> {
    let mut env = BTreeMap::new();
    for key in ["PATH", "HOME", "RUST_BACKTRACE"] {
        if let Ok(value) = std::env::var(key) {
            env.insert(key.to_string(), value);
        }
    }
    env.insert("LANG".into(), "C.UTF-8".into());
    env.insert("TZ".into(), ":UTC".into());
    env.insert("RUST_LOG".into(), "info".into());
    env.extend(spec.environment.clone());
    // Reserved variables: Lambda does not let a template override these.
    let stream = format!(
        "{}/[$LATEST]{}",
        chrono::Utc::now().format("%Y/%m/%d"),
        uuid_like().replace('-', "")
    );
    let reserved = [
        ("AWS_LAMBDA_FUNCTION_NAME", spec.function_name.clone()),
        (
            "AWS_LAMBDA_FUNCTION_MEMORY_SIZE",
            spec.memory_size.to_string(),
        ),
        ("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST".to_string()),
        (
            "AWS_LAMBDA_LOG_GROUP_NAME",
            format!("/aws/lambda/{}", spec.function_name),
        ),
        ("AWS_LAMBDA_LOG_STREAM_NAME", stream),
        ("AWS_REGION", LOCAL_REGION.to_string()),
        ("AWS_DEFAULT_REGION", LOCAL_REGION.to_string()),
        ("AWS_ENDPOINT_URL", endpoint.to_string()),
        ("AWS_ACCESS_KEY_ID", LOCAL_ACCESS_KEY.to_string()),
        ("AWS_SECRET_ACCESS_KEY", LOCAL_SECRET_KEY.to_string()),
        ("AWS_EC2_METADATA_DISABLED", "true".to_string()),
        // The emulator answers in seconds on a loaded machine where DynamoDB
        // answers in milliseconds: the functions' SDK timeouts stretch to match.
        ("LEADFLOW_SDK_TIMEOUT_SCALE", "3".to_string()),
    ];
    for (key, value) in reserved {
        env.insert(key.to_string(), value);
    }
    env
}

enum Outcome {
    Response(Bytes),
    Error {
        error_type: String,
        error_message: String,
    },
}

struct Invocation {
    request_id: String,
    body: Bytes,
    deadline_ms: u128,
    trace_id: String,
    responder: oneshot::Sender<Outcome>,
}

/// The Runtime API of one process start.
struct ApiState {
    arn: String,
    queue_tx: mpsc::UnboundedSender<Invocation>,
    queue_rx: tokio::sync::Mutex<mpsc::UnboundedReceiver<Invocation>>,
    in_flight: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<String>>,
    polls: watch::Sender<u64>,
}

/// The access key every function runs with locally (the emulator takes any;
/// the proxy checks presigned links against it).
pub const LOCAL_ACCESS_KEY: &str = "test";
pub const LOCAL_SECRET_KEY: &str = "test";

const RUNTIME_PREFIX: &str = "/2018-06-01/runtime/";
const MAX_RUNTIME_BODY: usize = 20 * 1024 * 1024;
/// Lambda's limit on a synchronous invocation's response (6 MB).
const MAX_RESPONSE: usize = 6 * 1024 * 1024;
/// How long an exit report waits for another line of the process's output
/// once the process has exited: the pipes close with the process, so this
/// bounds only the case of a process it started holding them open.
const OUTPUT_AFTER_EXIT: Duration = Duration::from_secs(10);

/// Waits for `readers` to reach the end of their pipes, or until `quiet`
/// passes with no new line in `tail`.
async fn read_to_end(readers: Vec<tokio::task::JoinHandle<()>>, tail: &LogTail, quiet: Duration) {
    let mut seen = tail.pushed();
    for mut reader in readers {
        loop {
            tokio::select! {
                _ = &mut reader => break,
                _ = tokio::time::sleep(quiet) => {
                    let now = tail.pushed();
                    if now == seen {
                        return;
                    }
                    seen = now;
                }
            }
        }
    }
}

type ApiResponse = Response<Full<Bytes>>;

fn json_response(status: StatusCode, body: &Value) -> ApiResponse {
    let mut response = Response::new(Full::new(Bytes::from(body.to_string())));
    *response.status_mut() = status;
    response.headers_mut().insert(
        http::header::CONTENT_TYPE,
        http::HeaderValue::from_static("application/json"),
    );
    response
}

fn accepted() -> ApiResponse {
    json_response(StatusCode::ACCEPTED, &json!({"status": "OK"}))
}

impl ApiState {
    fn new(arn: String) -> Arc<Self> {
        let (queue_tx, queue_rx) = mpsc::unbounded_channel();
        Arc::new(Self {
            arn,
            queue_tx,
            queue_rx: tokio::sync::Mutex::new(queue_rx),
            in_flight: Mutex::new(HashMap::new()),
            init_error: Mutex::new(None),
            polls: watch::Sender::new(0),
        })
    }

    async fn handle(self: Arc<Self>, request: Request<Incoming>) -> ApiResponse {
        let path = request.uri().path().to_string();
        let Some(rest) = path.strip_prefix(RUNTIME_PREFIX) else {
            return json_response(StatusCode::NOT_FOUND, &json!({"errorMessage": "not found"}));
        };
        let method = request.method().clone();
        let segments: Vec<&str> = rest.split('/').collect();
        match (method, segments.as_slice()) {
            (Method::GET, ["invocation", "next"]) => self.next().await,
            (Method::POST, ["invocation", id, "response"]) => {
                let id = id.to_string();
                match read_body(request).await {
                    Ok(body) if body.len() > MAX_RESPONSE => {
                        // Lambda refuses the response and fails the invocation.
                        let _ = self.complete(
                            &id,
                            Outcome::Error {
                                error_type: "Function.ResponseSizeTooLarge".into(),
                                error_message: format!(
                                    "Response payload size exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."
                                ),
                            },
                        );
                        json_response(
                            StatusCode::PAYLOAD_TOO_LARGE,
                            &json!({
                                "errorMessage": format!("Exceeded maximum allowed payload size ({MAX_RESPONSE} bytes)."),
                                "errorType": "RequestEntityTooLarge",
                            }),
                        )
                    }
                    Ok(body) => self.complete(&id, Outcome::Response(body)),
                    Err(response) => response,
                }
            }
            (Method::POST, ["invocation", id, "error"]) => {
                let id = id.to_string();
                let header_type = request
                    .headers()
                    .get("lambda-runtime-function-error-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                match read_body(request).await {
                    Ok(body) => {
                        let (error_type, error_message) = parse_error(&body, header_type);
                        self.complete(
                            &id,
                            Outcome::Error {
                                error_type,
                                error_message,
                            },
                        )
                    }
                    Err(response) => response,
                }
            }
            (Method::POST, ["init", "error"]) => {
                let header_type = request
                    .headers()
                    .get("lambda-runtime-function-error-type")
                    .and_then(|v| v.to_str().ok())
                    .map(str::to_string);
                let body = read_body(request).await.unwrap_or_default();
                let (error_type, error_message) = parse_error(&body, header_type);
                if let Ok(mut slot) = self.init_error.lock() {
                    *slot = Some(format!("{error_type}: {error_message}"));
                }
                accepted()
            }
            _ => json_response(
                StatusCode::NOT_FOUND,
                &json!({"errorMessage": format!("unknown Runtime API path {path}")}),
            ),
        }
    }

    async fn next(&self) -> ApiResponse {
        self.polls.send_modify(|n| *n += 1);
        let mut queue = self.queue_rx.lock().await;
        loop {
            let Some(invocation) = queue.recv().await else {
                return json_response(
                    StatusCode::INTERNAL_SERVER_ERROR,
                    &json!({"errorMessage": "the runtime is shutting down"}),
                );
            };
            if invocation.responder.is_closed() {
                continue; // Its caller gave up before the process asked for it.
            }
            if let Ok(mut in_flight) = self.in_flight.lock() {
                in_flight.insert(invocation.request_id.clone(), invocation.responder);
            }
            let mut response = Response::new(Full::new(invocation.body));
            let headers = response.headers_mut();
            let pairs = [
                ("content-type", "application/json".to_string()),
                ("lambda-runtime-aws-request-id", invocation.request_id),
                (
                    "lambda-runtime-deadline-ms",
                    invocation.deadline_ms.to_string(),
                ),
                ("lambda-runtime-invoked-function-arn", self.arn.clone()),
                ("lambda-runtime-trace-id", invocation.trace_id),
            ];
            for (name, value) in pairs {
                if let Ok(value) = http::HeaderValue::from_str(&value) {
                    headers.insert(name, value);
                }
            }
            return response;
        }
    }

    fn complete(&self, request_id: &str, outcome: Outcome) -> ApiResponse {
        let responder = self
            .in_flight
            .lock()
            .ok()
            .and_then(|mut m| m.remove(request_id));
        match responder {
            Some(responder) => {
                let _ = responder.send(outcome);
                accepted()
            }
            None => json_response(
                StatusCode::BAD_REQUEST,
                &json!({"errorMessage": format!("unknown or finished request id {request_id}"), "errorType": "InvalidRequestID"}),
            ),
        }
    }
}

async fn read_body(request: Request<Incoming>) -> Result<Bytes, ApiResponse> {
    match Limited::new(request.into_body(), MAX_RUNTIME_BODY)
        .collect()
        .await
    {
        Ok(body) => Ok(body.to_bytes()),
        Err(e) => Err(json_response(
            StatusCode::PAYLOAD_TOO_LARGE,
            &json!({"errorMessage": format!("cannot read the body: {e}")}),
        )),
    }
}

fn parse_error(body: &[u8], header_type: Option<String>) -> (String, String) {
    let parsed: Option<Value> = serde_json::from_slice(body).ok();
    let field = |name: &str| {
        parsed
            .as_ref()
            .and_then(|v| v.get(name))
            .and_then(Value::as_str)
            .map(str::to_string)
    };
    let error_type = field("errorType")
        .or(header_type)
        .unwrap_or_else(|| "Unhandled".into());
    let error_message =
        field("errorMessage").unwrap_or_else(|| String::from_utf8_lossy(body).into_owned());
    (error_type, error_message)
}

/// Serves HTTP/1.1 on `listener` with `handler` until the returned task is aborted
/// (which also ends every open connection).
pub fn serve<F, Fut>(listener: TcpListener, handler: F) -> AbortOnDrop
where
    F: Fn(Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Response<Full<Bytes>>> + Send + 'static,
{
    serve_or_drop(listener, move |request, peer| {
        let answer = handler(request, peer);
        async move { Some(answer.await) }
    })
}

/// As [`serve`], but a handler answering `None` drops the connection without
/// a response (a fault the proxy injects: the client sees a reset).
pub fn serve_or_drop<F, Fut>(listener: TcpListener, handler: F) -> AbortOnDrop
where
    F: Fn(Request<Incoming>, SocketAddr) -> Fut + Clone + Send + Sync + 'static,
    Fut: Future<Output = Option<Response<Full<Bytes>>>> + Send + 'static,
{
    AbortOnDrop::new(tokio::spawn(async move {
        let mut connections = JoinSet::new();
        loop {
            let accepted = tokio::select! {
                accepted = listener.accept() => accepted,
                Some(_) = connections.join_next(), if !connections.is_empty() => continue,
            };
            let (stream, peer) = match accepted {
                Ok(pair) => pair,
                Err(e) => {
                    tracing::debug!("accept failed: {e}");
                    tokio::time::sleep(Duration::from_millis(50)).await;
                    continue;
                }
            };
            let handler = handler.clone();
            connections.spawn(async move {
                let service = service_fn(move |request| {
                    let handler = handler.clone();
                    async move {
                        handler(request, peer)
                            .await
                            .ok_or_else(|| std::io::Error::other("connection dropped"))
                    }
                });
                if let Err(e) = hyper::server::conn::http1::Builder::new()
                    .serve_connection(TokioIo::new(stream), service)
                    .await
                {
                    tracing::trace!("connection from {peer}: {e}");
                }
            });
        }
    }))
}

/// One start of a function's process, with its own Runtime API server.
struct Generation {
    api: Arc<ApiState>,
    addr: SocketAddr,
    _server: AbortOnDrop,
    kill: Mutex<Option<oneshot::Sender<()>>>,
    exit: watch::Receiver<Option<String>>,
    _supervisor: AbortOnDrop,
}

impl Generation {
    fn is_alive(&self) -> bool {
        self.exit.borrow().is_none()
    }

    async fn wait_exit(&self) -> String {
        let mut exit = self.exit.clone();
        let status = match exit.wait_for(Option::is_some).await {
            Ok(status) => status.clone().unwrap_or_default(),
            Err(_) => "gone".into(),
        };
        status
    }

    async fn stop(&self) {
        let kill = self.kill.lock().ok().and_then(|mut k| k.take());
        if let Some(kill) = kill {
            let _ = kill.send(());
        }
        let _ = tokio::time::timeout(Duration::from_secs(10), self.wait_exit()).await;
    }

    fn init_error(&self) -> String {
        self.api
            .init_error
            .lock()
            .ok()
            .and_then(|e| e.clone())
            .map(|e| format!(": init error {e}"))
            .unwrap_or_default()
    }
}

struct HostInner {
    config: FunctionConfig,
    invoke_lock: tokio::sync::Mutex<()>,
    current: Mutex<Option<Arc<Generation>>>,
    tail: LogTail,
}

/// One function: its process (started on demand) and its Runtime API.
#[derive(Clone)]
pub struct FunctionHost {
    inner: Arc<HostInner>,
}

impl std::fmt::Debug for FunctionHost {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("FunctionHost")
            .field("logical_id", &self.inner.config.logical_id)
            .finish_non_exhaustive()
    }
}

impl FunctionHost {
    /// A host for `config`; nothing runs until [`start`](Self::start) or an invocation.
    pub fn new(config: FunctionConfig) -> Self {
        Self {
            inner: Arc::new(HostInner {
                config,
                invoke_lock: tokio::sync::Mutex::new(()),
                current: Mutex::new(None),
                tail: LogTail::default(),
            }),
        }
    }

    pub fn config(&self) -> &FunctionConfig {
        &self.inner.config
    }

    /// The last lines the function printed.
    pub fn log_tail(&self) -> String {
        self.inner.tail.text()
    }

    /// The address of the current process's Runtime API, if a process runs.
    pub fn runtime_api_addr(&self) -> Option<SocketAddr> {
        self.current().filter(|g| g.is_alive()).map(|g| g.addr)
    }

    fn current(&self) -> Option<Arc<Generation>> {
        self.inner.current.lock().ok().and_then(|c| c.clone())
    }

    fn start_error(&self, message: impl Into<String>) -> InvokeError {
        InvokeError::Start {
            function: self.inner.config.logical_id.clone(),
            message: message.into(),
        }
    }

    /// Starts the process (if it is not running) and waits until it asks for
    /// its first invocation, or fails when it exits first or `ready_within` passes.
    pub async fn start(&self, ready_within: Duration) -> Result<(), InvokeError> {
        let generation = {
            let _serial = self.inner.invoke_lock.lock().await;
            self.ensure_running().await?
        };
        let mut polls = generation.api.polls.subscribe();
        tokio::select! {
            biased;
            _ = polls.wait_for(|n| *n > 0) => Ok(()),
            status = generation.wait_exit() => Err(self.exited(&generation, status)),
            _ = tokio::time::sleep(ready_within) => Err(self.start_error(format!(
                "it did not ask for an invocation within {ready_within:?}; last output:\n{}",
                self.log_tail()
            ))),
        }
    }

    async fn ensure_running(&self) -> Result<Arc<Generation>, InvokeError> {
        if let Some(current) = self.current() {
            if current.is_alive() {
                return Ok(current);
            }
        }
        let generation = Arc::new(self.spawn().await?);
        if let Ok(mut slot) = self.inner.current.lock() {
            *slot = Some(generation.clone());
        }
        Ok(generation)
    }

    async fn spawn(&self) -> Result<Generation, InvokeError> {
        let config = &self.inner.config;
        let listener = TcpListener::bind(("127.0.0.1", 0))
            .await
            .map_err(|e| self.start_error(format!("cannot listen: {e}")))?;
        let addr = listener
            .local_addr()
            .map_err(|e| self.start_error(e.to_string()))?;
        let api = ApiState::new(config.arn.clone());
        let state = api.clone();
        let server = serve(listener, move |request, _peer| {
            state.clone().handle(request)
        });

        let mut command = Command::new(&config.exe);
        command
            .env_clear()
            .envs(&config.env)
            .env("AWS_LAMBDA_RUNTIME_API", addr.to_string())
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true);
        if let Some(dir) = &config.working_dir {
            command.current_dir(dir);
        }
        let mut child = command
            .spawn()
            .map_err(|e| self.start_error(format!("cannot run {}: {e}", config.exe.display())))?;
        let prefix = format!("[{}] ", config.logical_id);
        let mut output = Vec::new();
        if let Some(out) = child.stdout.take() {
            output.push(drain_lines(
                out,
                prefix.clone(),
                config.forward_logs,
                self.inner.tail.clone(),
            ));
        }
        if let Some(err) = child.stderr.take() {
            output.push(drain_lines(
                err,
                prefix,
                config.forward_logs,
                self.inner.tail.clone(),
            ));
        }
        tracing::debug!(function = %config.logical_id, pid = ?child.id(), %addr, "process started");
        config
            .progress
            .moved(format!("{}'s process started", config.logical_id));
        let progress = config.progress.clone();
        let tail = self.inner.tail.clone();

        let (kill_tx, kill_rx) = oneshot::channel::<()>();
        let (exit_tx, exit_rx) = watch::channel(None);
        let logical_id = config.logical_id.clone();
        let supervisor = tokio::spawn(async move {
            let status = tokio::select! {
                status = child.wait() => {
                    use std::os::unix::process::ExitStatusExt;
                    // Ctrl-C reaches the whole process group: that is a stop, not a crash.
                    let interrupted = status.as_ref().is_ok_and(|s| matches!(s.signal(), Some(2 | 15)));
                    let status = status.map(|s| s.to_string()).unwrap_or_else(|e| e.to_string());
                    if interrupted {
                        tracing::debug!(function = %logical_id, "process stopped ({status})");
                    } else {
                        tracing::warn!(function = %logical_id, "process exited ({status}); it restarts on the next invocation");
                        progress.moved(format!("{logical_id}'s process exited ({status})"));
                    }
                    // The exit is reported with the process's last words: its
                    // output is read to the end first. A process it started
                    // could hold the pipes open, so the reading stops when no
                    // line came for a while (not after a fixed time: a busy
                    // machine may be slow to read what the process left).
                    read_to_end(output, &tail, OUTPUT_AFTER_EXIT).await;
                    status
                }
                _ = kill_rx => {
                    let _ = child.kill().await;
                    "stopped".to_string()
                }
            };
            let _ = exit_tx.send(Some(status));
        });
        Ok(Generation {
            api,
            addr,
            _server: server,
            kill: Mutex::new(Some(kill_tx)),
            exit: exit_rx,
            _supervisor: AbortOnDrop::new(supervisor),
        })
    }

    fn exited(&self, generation: &Generation, status: String) -> InvokeError {
        InvokeError::ProcessExited {
            function: self.inner.config.logical_id.clone(),
            status,
            init_error: generation.init_error(),
            log_tail: self.log_tail(),
        }
    }

    /// Invokes the function with `payload` and waits for its response, at most
    /// the template's `Timeout`.
    pub async fn invoke(&self, payload: &Value) -> Result<Value, InvokeError> {
        let config = &self.inner.config;
        let function = config.logical_id.clone();
        let _serial = self.inner.invoke_lock.lock().await;
        let generation = self.ensure_running().await?;
        let (responder, outcome) = oneshot::channel();
        let deadline = SystemTime::now() + config.timeout;
        let deadline_ms = deadline
            .duration_since(UNIX_EPOCH)
            .unwrap_or_default()
            .as_millis();
        let invocation = Invocation {
            request_id: uuid_like(),
            body: Bytes::from(payload.to_string()),
            deadline_ms,
            trace_id: trace_id(),
            responder,
        };
        if generation.api.queue_tx.send(invocation).is_err() {
            return Err(self.start_error("its Runtime API is gone"));
        }
        tokio::select! {
            biased;
            outcome = outcome => match outcome {
                Ok(Outcome::Response(body)) => serde_json::from_slice(&body).map_err(|e| {
                    InvokeError::InvalidResponse { function, message: format!("{e}: {}", String::from_utf8_lossy(&body)) }
                }),
                Ok(Outcome::Error { error_type, error_message }) => {
                    Err(InvokeError::Function { function, error_type, error_message })
                }
                Err(_) => Err(self.exited(&generation, "the invocation was lost".into())),
            },
            status = generation.wait_exit() => Err(self.exited(&generation, status)),
            _ = tokio::time::sleep(config.timeout) => {
                tracing::warn!(function = %function, "timed out after {:?}; restarting its process", config.timeout);
                self.replace(&generation).await;
                Err(InvokeError::Timeout { function, timeout: config.timeout })
            }
        }
    }

    /// Kills `generation` and starts a fresh process in its place.
    async fn replace(&self, generation: &Arc<Generation>) {
        generation.stop().await;
        if let Ok(mut slot) = self.inner.current.lock() {
            if slot.as_ref().is_some_and(|c| Arc::ptr_eq(c, generation)) {
                *slot = None;
            }
        }
        if let Err(e) = self.ensure_running().await {
            tracing::warn!("{e}");
        }
    }

    /// Stops the process (if any) and waits until it has exited.
    pub async fn stop(&self) {
        let current = self.inner.current.lock().ok().and_then(|mut c| c.take());
        if let Some(generation) = current {
            generation.stop().await;
        }
    }

    /// Kills the process without waiting (for `Drop`).
    pub fn kill_now(&self) {
        let current = self.inner.current.lock().ok().and_then(|mut c| c.take());
        if let Some(generation) = current {
            let kill = generation.kill.lock().ok().and_then(|mut k| k.take());
            if let Some(kill) = kill {
                let _ = kill.send(());
            }
        }
    }
}

fn trace_id() -> String {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap_or_default()
        .as_secs();
    let random = uuid_like().replace('-', "");
    format!(
        "Root=1-{secs:08x}-{};Parent={};Sampled=0",
        &random[..24],
        &random[16..32]
    )
}

/// Every function of a stack, by logical id.
#[derive(Debug, Clone, Default)]
pub struct Functions {
    hosts: Arc<BTreeMap<String, FunctionHost>>,
}

impl Functions {
    pub fn new(hosts: impl IntoIterator<Item = FunctionHost>) -> Self {
        Self {
            hosts: Arc::new(
                hosts
                    .into_iter()
                    .map(|h| (h.config().logical_id.clone(), h))
                    .collect(),
            ),
        }
    }

    pub fn get(&self, logical_id: &str) -> Option<&FunctionHost> {
        self.hosts.get(logical_id)
    }

    pub fn hosts(&self) -> impl Iterator<Item = &FunctionHost> {
        self.hosts.values()
    }

    /// Starts every process and waits until each asks for an invocation.
    pub async fn start_all(&self, ready_within: Duration) -> Result<(), InvokeError> {
        let mut starts = JoinSet::new();
        for host in self.hosts.values() {
            let host = host.clone();
            starts.spawn(async move { host.start(ready_within).await });
        }
        let mut first_error = None;
        while let Some(result) = starts.join_next().await {
            if let Ok(Err(e)) = result {
                first_error.get_or_insert(e);
            }
        }
        first_error.map_or(Ok(()), Err)
    }

    pub async fn invoke(&self, logical_id: &str, payload: &Value) -> Result<Value, InvokeError> {
        match self.hosts.get(logical_id) {
            Some(host) => host.invoke(payload).await,
            None => Err(InvokeError::UnknownFunction(logical_id.to_string())),
        }
    }

    pub async fn stop_all(&self) {
        for host in self.hosts.values() {
            host.stop().await;
        }
    }

    pub fn kill_all_now(&self) {
        for host in self.hosts.values() {
            host.kill_now();
        }
    }
}

impl Invoker for Functions {
    fn invoke(&self, function: &str, payload: Value) -> InvokeFuture {
        let functions = self.clone();
        let function = function.to_string();
        Box::pin(async move { functions.invoke(&function, &payload).await })
    }
}

mod build;

pub use build::*;

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn reads_package_names() {
        let manifest = "[package]\nname = \"intake\" # the intake\nversion = \"1\"\n[dependencies]\nname = \"x\"\n";
        assert_eq!(package_name(manifest).as_deref(), Some("intake"));
        assert_eq!(package_name("[dependencies]\nname = \"x\"\n"), None);
        let root = crate::root::workspace_root();
        let template = crate::template::Template::load(&crate::root::template_path(&root)).unwrap();
        let mut settings = crate::template::StackSettings::new("t", "http://127.0.0.1:1");
        settings.parameter_overrides = crate::dev::local_parameters(&template, 3000);
        let model = crate::template::StackModel::resolve(&template, &settings).unwrap();
        for function in &model.functions {
            let binary = function_binary(&root, function).unwrap();
            assert_eq!(Some(binary.bin.clone()), function.binary);
        }
    }

    #[test]
    fn lambda_environment_has_what_lambda_runtime_needs() {
        let spec = FunctionSpec {
            logical_id: "F".into(),
            function_name: "s-F".into(),
            arn: "arn".into(),
            code_uri: "x".into(),
            binary: None,
            timeout: Duration::from_secs(3),
            memory_size: 256,
            environment: BTreeMap::from([
                ("TABLE_NAME".to_string(), "s-T".to_string()),
                ("AWS_REGION".to_string(), "eu-west-1".to_string()),
            ]),
            events: Vec::new(),
            policies: Vec::new(),
        };
        let env = lambda_environment(&spec, "http://127.0.0.1:9");
        assert_eq!(env["TABLE_NAME"], "s-T");
        assert_eq!(env["AWS_REGION"], "us-east-1");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_NAME"], "s-F");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_MEMORY_SIZE"], "256");
        assert_eq!(env["AWS_LAMBDA_FUNCTION_VERSION"], "$LATEST");
        assert_eq!(env["AWS_ENDPOINT_URL"], "http://127.0.0.1:9");
        assert!(env["AWS_LAMBDA_LOG_STREAM_NAME"].contains("[$LATEST]"));
    }

    #[test]
    fn error_bodies() {
        let (t, m) = parse_error(br#"{"errorType":"E","errorMessage":"boom"}"#, None);
        assert_eq!((t.as_str(), m.as_str()), ("E", "boom"));
        let (t, m) = parse_error(b"plain", Some("H".into()));
        assert_eq!((t.as_str(), m.as_str()), ("H", "plain"));
    }
}
