//! Where the workspace and its build output are.

use std::path::{Path, PathBuf};

/// The workspace root: `LEADFLOW_ROOT` if set, else two levels above this crate (`infra/local`).
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEADFLOW_ROOT").filter(|r| !r.is_empty()) {
        return PathBuf::from(root);
    }
    let here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/../.."));
    here.canonicalize().unwrap_or(here)
}

/// Cargo's target directory for `root`: `CARGO_TARGET_DIR` (relative to `root`
/// when relative) or `root/target`.
pub fn target_dir(root: &Path) -> PathBuf {
    match std::env::var_os("CARGO_TARGET_DIR").filter(|d| !d.is_empty()) {
        Some(dir) => {
            let dir = PathBuf::from(dir);
            if dir.is_absolute() {
                dir
            } else {
                root.join(dir)
            }
        }
        None => root.join("target"),
    }
}

/// `root/template.yaml`.
pub fn template_path(root: &Path) -> PathBuf {
    root.join("template.yaml")
}

/// `root/infra/landing`, the sample landing page the gateway serves.
pub fn landing_dir(root: &Path) -> PathBuf {
    root.join("infra").join("landing")
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn root_holds_the_template() {
        assert!(template_path(&workspace_root()).is_file());
    }

    #[test]
    fn target_dir_is_under_root_by_default() {
        if std::env::var_os("CARGO_TARGET_DIR").is_none() {
            assert_eq!(target_dir(Path::new("/x")), PathBuf::from("/x/target"));
        }
    }
}

/// The variables Cargo sets for a program it runs (`cargo run`, a test
/// binary) that describe *that* package. A `cargo` started from such a
/// program must not inherit them: build scripts (ring's) rebuild when they
/// change, so every nested build would compile the TLS stack and the AWS SDK
/// again, and the next plain build would undo it.
pub fn is_package_env(name: &str) -> bool {
    name.starts_with("CARGO_PKG_")
        || name.starts_with("CARGO_MANIFEST_")
        || name.starts_with("CARGO_BIN_")
        || matches!(
            name,
            "CARGO_CRATE_NAME" | "CARGO_PRIMARY_PACKAGE" | "CARGO_TARGET_TMPDIR"
        )
}

/// Removes [`is_package_env`] variables from `command`'s environment.
pub fn without_package_env(command: &mut tokio::process::Command) -> &mut tokio::process::Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_package_env) {
            command.env_remove(name);
        }
    }
    command
}

#[cfg(test)]
mod package_env_tests {
    #[test]
    fn package_variables_are_told_apart_from_cargo_settings() {
        for name in [
            "CARGO_PKG_NAME",
            "CARGO_MANIFEST_DIR",
            "CARGO_BIN_EXE_intake",
            "CARGO_CRATE_NAME",
        ] {
            assert!(super::is_package_env(name), "{name}");
        }
        for name in [
            "CARGO",
            "CARGO_HOME",
            "CARGO_TARGET_DIR",
            "CARGO_BUILD_JOBS",
            "PATH",
        ] {
            assert!(!super::is_package_env(name), "{name}");
        }
    }
}
