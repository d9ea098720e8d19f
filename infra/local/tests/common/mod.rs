//! Helpers shared by the infra integration tests.
#![allow(dead_code)]

use std::path::PathBuf;
use std::sync::OnceLock;
use std::time::Duration;

use bytes::Bytes;
use http::{HeaderMap, Method, StatusCode};
use leadflow_local::root::workspace_root;

#[allow(unused_imports)]
pub use leadflow_local::testing::{emulator, unique};

/// A fresh temporary directory.
pub fn temp_dir() -> PathBuf {
    let dir = std::env::temp_dir().join(unique("leadflow-local-test"));
    std::fs::create_dir_all(&dir).expect("temp dir");
    dir
}

/// The `fake_lambda` example (built by `cargo test`; built here when missing).
pub fn fake_lambda() -> PathBuf {
    static PATH: OnceLock<PathBuf> = OnceLock::new();
    PATH.get_or_init(|| {
        let exe = std::env::current_exe().expect("test exe");
        let debug = exe
            .parent()
            .and_then(|deps| deps.parent())
            .expect("target/debug")
            .to_path_buf();
        let path = debug.join("examples").join("fake_lambda");
        if !path.is_file() {
            let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
            let status = std::process::Command::new(cargo)
                .current_dir(workspace_root())
                .args([
                    "build",
                    "-q",
                    "-p",
                    "leadflow-local",
                    "--example",
                    "fake_lambda",
                ])
                .status()
                .expect("cargo build");
            assert!(status.success(), "building fake_lambda failed");
        }
        path
    })
    .clone()
}

/// A plain HTTP request.
pub async fn request(
    method: Method,
    url: &str,
    headers: &[(&str, &str)],
    body: impl Into<Bytes>,
) -> (StatusCode, HeaderMap, Bytes) {
    let r =
        // A bound for a request never answered, not a measure of speed.
        leadflow_local::emulator::http_request(method, url, headers, body, Duration::from_secs(180))
            .await
            .expect("answered");
    (r.status, r.headers, r.body)
}

pub async fn get(url: &str) -> (StatusCode, HeaderMap, Bytes) {
    request(Method::GET, url, &[], Bytes::new()).await
}

/// The JSON lines `fake_lambda` recorded in `path`.
pub fn recorded(path: &std::path::Path) -> Vec<serde_json::Value> {
    std::fs::read_to_string(path)
        .unwrap_or_default()
        .lines()
        .filter_map(|l| serde_json::from_str(l).ok())
        .collect()
}
