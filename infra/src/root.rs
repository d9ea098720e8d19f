//! Where the workspace and its build output are.

use std::path::{Path, PathBuf};

/// The workspace root: `LEADFLOW_ROOT` if set, else the parent of this crate.
pub fn workspace_root() -> PathBuf {
    if let Some(root) = std::env::var_os("LEADFLOW_ROOT").filter(|r| !r.is_empty()) {
        return PathBuf::from(root);
    }
    let here = PathBuf::from(concat!(env!("CARGO_MANIFEST_DIR"), "/.."));
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
