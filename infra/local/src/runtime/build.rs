//! Building the function binaries: which Cargo package and binary a function
//! runs (its `CodeUri` and `Metadata.BuildProperties.Binary`), and `cargo build`.

use std::path::{Path, PathBuf};
use std::process::Stdio;

use tokio::process::Command;

use crate::template::FunctionSpec;

/// Which Cargo package and binary a function runs.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct FunctionBinary {
    pub package: String,
    pub bin: String,
}

/// Why a function could not be built or found.
#[derive(Debug, thiserror::Error)]
#[error("{0}")]
pub struct BuildError(pub String);

/// `[package].name` of `<root>/<CodeUri>/Cargo.toml`; the binary is
/// `Metadata.BuildProperties.Binary`, or the package name.
pub fn function_binary(root: &Path, spec: &FunctionSpec) -> Result<FunctionBinary, BuildError> {
    let manifest = root.join(&spec.code_uri).join("Cargo.toml");
    let text = std::fs::read_to_string(&manifest).map_err(|e| {
        BuildError(format!(
            "{}: CodeUri {:?}: cannot read {}: {e}",
            spec.logical_id,
            spec.code_uri,
            manifest.display()
        ))
    })?;
    let package = package_name(&text).ok_or_else(|| {
        BuildError(format!(
            "{}: no [package] name in {}",
            spec.logical_id,
            manifest.display()
        ))
    })?;
    Ok(FunctionBinary {
        bin: spec.binary.clone().unwrap_or_else(|| package.clone()),
        package,
    })
}

/// The `name` of the `[package]` table of a Cargo manifest.
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let line = line.trim();
        if line.starts_with('[') {
            in_package = line == "[package]";
            continue;
        }
        if !in_package {
            continue;
        }
        let Some((key, value)) = line.split_once('=') else {
            continue;
        };
        if key.trim() == "name" {
            let value = value.trim();
            let value = value.split('#').next().unwrap_or(value).trim();
            return Some(value.trim_matches(|c| c == '"' || c == '\'').to_string());
        }
    }
    None
}

/// `<target>/debug/<bin>`.
pub fn binary_path(root: &Path, bin: &str) -> PathBuf {
    crate::root::target_dir(root).join("debug").join(bin)
}

/// Builds the binaries of `packages` (debug profile).
///
/// It runs `cargo build -q --workspace --bins`, the very command `make test`
/// starts with, rather than `-p` for each package: Cargo unifies features
/// over the packages it is asked for, so a `-p` subset resolves the shared
/// crates' features differently (`leadflow-aws`'s SDKs) and would compile
/// them all again (a minute and more here) before the first stack could start.
pub async fn build_packages(root: &Path, packages: &[String]) -> Result<(), BuildError> {
    let mut unique: Vec<&String> = packages.iter().collect();
    unique.sort();
    unique.dedup();
    if unique.is_empty() {
        return Ok(());
    }
    let cargo = std::env::var("CARGO").unwrap_or_else(|_| "cargo".into());
    let mut command = Command::new(&cargo);
    crate::root::without_package_env(&mut command)
        .current_dir(root)
        .args(["build", "-q", "--workspace", "--bins"]);
    tracing::info!(
        "building {}",
        unique
            .iter()
            .map(|p| p.as_str())
            .collect::<Vec<_>>()
            .join(", ")
    );
    let status = command
        .stdin(Stdio::null())
        .status()
        .await
        .map_err(|e| BuildError(format!("cannot run {cargo}: {e}")))?;
    if status.success() {
        Ok(())
    } else {
        Err(BuildError(format!(
            "cargo build of {} failed ({status})",
            unique
                .iter()
                .map(|p| p.as_str())
                .collect::<Vec<_>>()
                .join(", ")
        )))
    }
}
