//! Where the workspace is, and the environment a nested `cargo` must not inherit.
//! (A small copy of what `leadflow_local::root` does: this crate does not depend on it.)

use std::path::PathBuf;

/// The workspace root: `LEADFLOW_ROOT` if set, else the parent of this crate.
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEADFLOW_ROOT").filter(|r| !r.is_empty()) {
        return PathBuf::from(root);
    }
    let here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
    here.canonicalize().unwrap_or(here)
}

/// The variables Cargo sets for a program it runs that describe *that* package.
/// A nested `cargo` must not inherit them, or ring's build script (and with it
/// the AWS SDK) is rebuilt every time.
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
pub fn without_package_env(command: &mut std::process::Command) -> &mut std::process::Command {
    for (name, _) in std::env::vars_os() {
        if name.to_str().is_some_and(is_package_env) {
            command.env_remove(name);
        }
    }
    command
}

#[cfg(test)]
mod tests {
    #[test]
    fn root_holds_the_template() {
        assert!(super::workspace_root().join("template.yaml").is_file());
    }

    #[test]
    fn package_variables_are_told_apart_from_cargo_settings() {
        assert!(super::is_package_env("CARGO_PKG_NAME"));
        assert!(super::is_package_env("CARGO_MANIFEST_DIR"));
        assert!(!super::is_package_env("CARGO_TARGET_DIR"));
        assert!(!super::is_package_env("CARGO"));
    }
}
