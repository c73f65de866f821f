//! The workspace as the analysis sees it: where its root is (the folder `cargo channel-lint`
//! and `init` work from), paths made absolute against the current directory, and the Cargo
//! packages (folder and `[package] name`) that name crates. Discovery fills the packages from the
//! disk; an editor or a test gives them directly. Shared by `cli`, `init` and the driver (only
//! `cli` → `init` remains between those two).

use std::path::{Path, PathBuf};

/// A package found on disk (its folder and `[package] name`).
#[derive(Debug, Clone)]
pub struct Package {
    pub dir: PathBuf,
    pub name: String,
}

/// The workspace root: nearest ancestor with a `[workspace]` Cargo.toml, else nearest Cargo.toml, else `start`.
pub fn find_root(start: &Path) -> PathBuf {
    let mut nearest = None;
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if let Ok(text) = std::fs::read_to_string(&manifest) {
            if text.lines().any(|l| l.trim() == "[workspace]") {
                return dir.to_path_buf();
            }
            nearest.get_or_insert_with(|| dir.to_path_buf());
        }
    }
    nearest.unwrap_or_else(|| start.to_path_buf())
}

/// `p` made absolute against `cwd`, with `.` and `..` removed (the file system is not read).
pub fn absolute(p: &Path, cwd: &Path) -> PathBuf {
    let p = if p.is_absolute() {
        p.to_path_buf()
    } else {
        cwd.join(p)
    };
    // Normalise `.` and `..` without touching the file system (the path may not exist).
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}
