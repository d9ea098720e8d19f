//! The AWS emulator: moto's server mode, installed into `.tools/venv` from
//! `infra/requirements.txt` and started through `infra/moto_server.py` (which
//! applies DynamoDB requests one at a time, as DynamoDB isolates them), or an
//! already running one named by `AWS_ENDPOINT_URL`.

use std::collections::VecDeque;
use std::net::TcpListener;
use std::path::{Path, PathBuf};
use std::process::Stdio;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use http_body_util::{BodyExt, Full};
use hyper_util::client::legacy::Client;
use hyper_util::rt::TokioExecutor;
use tokio::io::{AsyncBufReadExt, AsyncRead, BufReader};
use tokio::process::{Child, Command};

/// Why the emulator or its tools are not available.
#[derive(Debug, thiserror::Error)]
pub enum EmulatorError {
    #[error("{0}")]
    Tools(String),
    #[error("moto did not start: {0}")]
    Start(String),
    #[error("emulator at {endpoint}: {message}")]
    Request { endpoint: String, message: String },
}

/// `root/.tools/venv`.
pub fn venv_dir(root: &Path) -> PathBuf {
    root.join(".tools").join("venv")
}

fn requirements_path(root: &Path) -> PathBuf {
    root.join("infra").join("requirements.txt")
}

fn stamp_path(root: &Path) -> PathBuf {
    venv_dir(root).join(".leadflow-requirements")
}

/// The `moto_server` executable in the tools venv.
pub fn moto_server_path(root: &Path) -> PathBuf {
    venv_dir(root).join("bin").join("moto_server")
}

/// Makes sure `.tools/venv` holds the pinned packages of `infra/requirements.txt`.
///
/// Cheap when nothing changed: a stamp file in the venv holds the requirements
/// file's content it was installed from. Concurrent callers wait on a lock file.
pub async fn ensure_tools(root: &Path) -> Result<(), EmulatorError> {
    let requirements = std::fs::read_to_string(requirements_path(root)).map_err(|e| {
        EmulatorError::Tools(format!(
            "cannot read {}: {e}",
            requirements_path(root).display()
        ))
    })?;
    let up_to_date = || {
        moto_server_path(root).is_file()
            && std::fs::read_to_string(stamp_path(root)).is_ok_and(|s| s == requirements)
    };
    if up_to_date() {
        return Ok(());
    }
    let tools = root.join(".tools");
    std::fs::create_dir_all(&tools)
        .map_err(|e| EmulatorError::Tools(format!("cannot create {}: {e}", tools.display())))?;
    let _lock = InstallLock::acquire(&tools.join(".install.lock")).await?;
    if up_to_date() {
        return Ok(());
    }
    let venv = venv_dir(root);
    if !venv.join("bin").join("pip").is_file() {
        eprintln!("leadflow: creating {}", venv.display());
        run_tool(Command::new("python3").arg("-m").arg("venv").arg(&venv)).await?;
    }
    eprintln!(
        "leadflow: installing infra/requirements.txt into {}",
        venv.display()
    );
    run_tool(
        Command::new(venv.join("bin").join("pip"))
            .args(["install", "--quiet", "-r"])
            .arg(requirements_path(root)),
    )
    .await?;
    std::fs::write(stamp_path(root), requirements)
        .map_err(|e| EmulatorError::Tools(format!("cannot write the tools stamp: {e}")))?;
    Ok(())
}

async fn run_tool(command: &mut Command) -> Result<(), EmulatorError> {
    let shown = format!("{:?}", command.as_std());
    let status = command
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|e| EmulatorError::Tools(format!("cannot run {shown}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(EmulatorError::Tools(format!("{shown} failed: {status}")))
    }
}

/// A lock file created with `create_new`; stale after 15 minutes.
struct InstallLock(PathBuf);

impl InstallLock {
    async fn acquire(path: &Path) -> Result<Self, EmulatorError> {
        let started = Instant::now();
        loop {
            match std::fs::OpenOptions::new()
                .write(true)
                .create_new(true)
                .open(path)
            {
                Ok(_) => return Ok(Self(path.to_path_buf())),
                Err(e) if e.kind() == std::io::ErrorKind::AlreadyExists => {
                    let stale = std::fs::metadata(path)
                        .and_then(|m| m.modified())
                        .ok()
                        .and_then(|t| t.elapsed().ok())
                        .is_some_and(|age| age > Duration::from_secs(900));
                    if stale {
                        let _ = std::fs::remove_file(path);
                        continue;
                    }
                    if started.elapsed() > Duration::from_secs(900) {
                        return Err(EmulatorError::Tools(format!(
                            "timed out waiting for {}",
                            path.display()
                        )));
                    }
                    tokio::time::sleep(Duration::from_millis(250)).await;
                }
                Err(e) => {
                    return Err(EmulatorError::Tools(format!(
                        "cannot create {}: {e}",
                        path.display()
                    )))
                }
            }
        }
    }
}

impl Drop for InstallLock {
    fn drop(&mut self) {
        let _ = std::fs::remove_file(&self.0);
    }
}

/// A free TCP port on 127.0.0.1 (free when this returns; someone may take it later).
pub fn free_port() -> std::io::Result<u16> {
    Ok(TcpListener::bind(("127.0.0.1", 0))?.local_addr()?.port())
}

/// Lines a child process printed last, for error messages.
#[derive(Debug, Clone, Default)]
pub struct LogTail(Arc<Mutex<Tail>>);

#[derive(Debug, Default)]
struct Tail {
    lines: VecDeque<String>,
    pushed: u64,
}

impl LogTail {
    const LINES: usize = 40;

    pub fn push(&self, line: String) {
        if let Ok(mut tail) = self.0.lock() {
            if tail.lines.len() == Self::LINES {
                tail.lines.pop_front();
            }
            tail.lines.push_back(line);
            tail.pushed += 1;
        }
    }

    pub fn text(&self) -> String {
        self.0
            .lock()
            .map(|tail| tail.lines.iter().cloned().collect::<Vec<_>>().join("\n"))
            .unwrap_or_default()
    }

    /// How many lines were ever pushed (a change says output is still coming).
    pub fn pushed(&self) -> u64 {
        self.0.lock().map(|tail| tail.pushed).unwrap_or_default()
    }
}

/// Reads `reader` line by line into `tail`, and to our stderr with `prefix` when
/// `forward`. The task ends when the writer closes its end (the process exited).
pub fn drain_lines<R>(
    reader: R,
    prefix: String,
    forward: bool,
    tail: LogTail,
) -> tokio::task::JoinHandle<()>
where
    R: AsyncRead + Unpin + Send + 'static,
{
    tokio::spawn(async move {
        let mut lines = BufReader::new(reader).lines();
        while let Ok(Some(line)) = lines.next_line().await {
            if forward {
                eprintln!("{prefix}{line}");
            }
            tail.push(line);
        }
    })
}

/// A running emulator: one we started (and stop), or an external one.
#[derive(Debug)]
pub struct Emulator {
    endpoint: String,
    child: Option<Child>,
    tail: LogTail,
}

impl Emulator {
    /// An emulator someone else runs.
    pub fn external(endpoint: impl Into<String>) -> Self {
        Self {
            endpoint: endpoint.into().trim_end_matches('/').to_string(),
            child: None,
            tail: LogTail::default(),
        }
    }

    /// `AWS_ENDPOINT_URL` when set, else a moto of our own on a free port.
    pub async fn from_env_or_start(root: &Path) -> Result<Self, EmulatorError> {
        match std::env::var("AWS_ENDPOINT_URL") {
            Ok(endpoint) if !endpoint.is_empty() => Ok(Self::external(endpoint)),
            _ => Self::start(root, None).await,
        }
    }

    /// Ensures the tools and starts moto on 127.0.0.1:`port` (a free port when `None`),
    /// returning once it answers.
    pub async fn start(root: &Path, port: Option<u16>) -> Result<Self, EmulatorError> {
        ensure_tools(root).await?;
        let attempts = if port.is_some() { 1 } else { 3 };
        let mut last = None;
        for _ in 0..attempts {
            let port = match port {
                Some(p) => p,
                None => {
                    free_port().map_err(|e| EmulatorError::Start(format!("no free port: {e}")))?
                }
            };
            match Self::spawn(root, port).await {
                Ok(emulator) => return Ok(emulator),
                Err(e) => last = Some(e),
            }
        }
        Err(last.unwrap_or_else(|| EmulatorError::Start("no attempt made".into())))
    }

    async fn spawn(root: &Path, port: u16) -> Result<Self, EmulatorError> {
        // moto_server, through a launcher that serialises DynamoDB requests
        // (infra/moto_server.py says why).
        let moto = venv_dir(root).join("bin").join("python");
        let launcher = root.join("infra").join("moto_server.py");
        let mut child = Command::new(&moto)
            .arg(&launcher)
            .args(["-H", "127.0.0.1", "-p", &port.to_string()])
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped())
            .kill_on_drop(true)
            .spawn()
            .map_err(|e| EmulatorError::Start(format!("cannot run {}: {e}", moto.display())))?;
        let tail = LogTail::default();
        let forward = std::env::var("LEADFLOW_MOTO_LOGS").is_ok_and(|v| v == "1");
        if let Some(out) = child.stdout.take() {
            drain_lines(out, "[moto] ".into(), forward, tail.clone());
        }
        if let Some(err) = child.stderr.take() {
            drain_lines(err, "[moto] ".into(), forward, tail.clone());
        }
        let mut emulator = Self {
            endpoint: format!("http://127.0.0.1:{port}"),
            child: Some(child),
            tail,
        };
        let deadline = Instant::now() + Duration::from_secs(60);
        loop {
            if emulator.is_ready().await {
                tracing::debug!(endpoint = %emulator.endpoint, "moto is up");
                return Ok(emulator);
            }
            if let Some(child) = emulator.child.as_mut() {
                if let Ok(Some(status)) = child.try_wait() {
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    return Err(EmulatorError::Start(format!(
                        "moto_server on port {port} exited ({status}):\n{}",
                        emulator.tail.text()
                    )));
                }
            }
            if Instant::now() > deadline {
                emulator.stop().await;
                return Err(EmulatorError::Start(format!(
                    "moto_server on port {port} did not answer within 60s"
                )));
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }

    /// Whether `GET /moto-api/` answers.
    pub async fn is_ready(&self) -> bool {
        http_get(&format!("{}/moto-api/", self.endpoint))
            .await
            .is_ok_and(|(status, _)| status.is_success())
    }

    /// `http://127.0.0.1:PORT`, without a trailing slash.
    pub fn endpoint(&self) -> &str {
        &self.endpoint
    }

    /// Whether we started this emulator (and so stop it).
    pub fn is_owned(&self) -> bool {
        self.child.is_some()
    }

    /// The last lines moto printed.
    pub fn log_tail(&self) -> String {
        self.tail.text()
    }

    /// `GET /moto-api/data.json`: the emulator's whole state.
    pub async fn data(&self) -> Result<serde_json::Value, EmulatorError> {
        moto_data(&self.endpoint).await
    }

    /// Stops moto if we started it.
    pub async fn stop(&mut self) {
        if let Some(mut child) = self.child.take() {
            let _ = child.kill().await;
            let _ = child.wait().await;
        }
    }
}

/// `GET {endpoint}/moto-api/data.json`.
pub async fn moto_data(endpoint: &str) -> Result<serde_json::Value, EmulatorError> {
    // A read of the whole state while other requests change it can fail
    // (moto walks live objects); reading again is safe, so a few tries.
    let mut last = None;
    for attempt in 0..5u32 {
        match moto_data_once(endpoint).await {
            Ok(data) => return Ok(data),
            Err(e) => {
                tracing::warn!("{e}; reading the emulator's state again");
                last = Some(e);
                tokio::time::sleep(Duration::from_millis(200 << attempt)).await;
            }
        }
    }
    Err(last.expect("five tries"))
}

async fn moto_data_once(endpoint: &str) -> Result<serde_json::Value, EmulatorError> {
    let url = format!("{}/moto-api/data.json", endpoint.trim_end_matches('/'));
    let err = |message: String| EmulatorError::Request {
        endpoint: endpoint.to_string(),
        message,
    };
    // The whole emulator's state: tens of megabytes after a load run, and
    // moto builds it in one go, so it gets minutes, not http_get's 10 s.
    let response = http_request(
        hyper::Method::GET,
        &url,
        &[],
        Vec::new(),
        Duration::from_secs(300),
    )
    .await
    .map_err(err)?;
    let (status, body) = (response.status, response.body);
    if !status.is_success() {
        return Err(err(format!("data.json: {status}")));
    }
    serde_json::from_slice(&body).map_err(|e| err(format!("data.json is not JSON: {e}")))
}

/// The emails moto recorded: its `ses` section's `Message` and `RawMessage` entries.
pub async fn sent_emails(endpoint: &str) -> Result<Vec<serde_json::Value>, EmulatorError> {
    let data = moto_data(endpoint).await?;
    let mut emails = Vec::new();
    for kind in ["Message", "RawMessage"] {
        if let Some(serde_json::Value::Array(items)) = data.get("ses").and_then(|s| s.get(kind)) {
            emails.extend(items.iter().cloned());
        }
    }
    Ok(emails)
}

/// The addresses an email recorded by the emulator went to (`SendEmail`
/// names them by field, `SendRawEmail` as a list).
pub fn recipients(message: &serde_json::Value) -> Vec<String> {
    let d = &message["destinations"];
    let mut all = Vec::new();
    for list in [&d["ToAddresses"], &d["CcAddresses"], &d["BccAddresses"], d] {
        if let Some(items) = list.as_array() {
            all.extend(
                items
                    .iter()
                    .filter_map(serde_json::Value::as_str)
                    .map(str::to_string),
            );
        }
    }
    all
}

/// A plain-HTTP GET with a 10 s timeout.
pub async fn http_get(url: &str) -> Result<(http::StatusCode, bytes::Bytes), String> {
    let r = http_request(
        hyper::Method::GET,
        url,
        &[],
        Vec::new(),
        Duration::from_secs(10),
    )
    .await?;
    Ok((r.status, r.body))
}

/// What [`http_request`] got back.
#[derive(Debug, Clone)]
pub struct HttpResponse {
    pub status: http::StatusCode,
    pub headers: http::HeaderMap,
    pub body: bytes::Bytes,
}

/// A plain-HTTP request (the one HTTP client of the local stack and its tests).
pub async fn http_request(
    method: hyper::Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<bytes::Bytes>,
    timeout: Duration,
) -> Result<HttpResponse, String> {
    let uri: hyper::Uri = url.parse().map_err(|e| format!("bad URL {url}: {e}"))?;
    if uri.scheme_str() != Some("http") {
        return Err(format!("{url}: only http:// is supported"));
    }
    let client = Client::builder(TokioExecutor::new()).build_http::<Full<bytes::Bytes>>();
    let mut builder = hyper::Request::builder().method(method).uri(uri);
    for (name, value) in headers {
        builder = builder.header(*name, *value);
    }
    let request = builder
        .body(Full::new(body.into()))
        .map_err(|e| e.to_string())?;
    let work = async {
        let response = client
            .request(request)
            .await
            .map_err(|e| format!("{url}: {e}"))?;
        let status = response.status();
        let headers = response.headers().clone();
        let body = response
            .into_body()
            .collect()
            .await
            .map_err(|e| format!("{url}: {e}"))?
            .to_bytes();
        Ok(HttpResponse {
            status,
            headers,
            body,
        })
    };
    tokio::time::timeout(timeout, work)
        .await
        .map_err(|_| format!("{url}: timed out"))?
}
