//! What every emulator test needs, in one place for the infra tests and the
//! end-to-end tests alike.

use crate::{root::workspace_root, Emulator};

/// A name no other test uses, valid for tables, queues and stacks.
pub fn unique(prefix: &str) -> String {
    format!("{prefix}-{}", ulid::Ulid::new().to_string().to_lowercase())
}

/// The emulator `make test` started (`AWS_ENDPOINT_URL`), or a moto of the
/// caller's own (stopped when dropped).
pub async fn emulator() -> Emulator {
    Emulator::from_env_or_start(&workspace_root())
        .await
        .expect("an emulator (set AWS_ENDPOINT_URL or have .tools/venv)")
}

/// A benchmark's size from the environment (`COST_LEADS=500`), else `default`.
pub fn env_count(name: &str, default: usize) -> usize {
    std::env::var(name)
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(default)
}
