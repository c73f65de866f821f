//! Where the workspace is: the root `cargo channel-lint` and `init` work from, and paths made
//! absolute against the current directory. Shared by `cli` and `init` (neither imports the other
//! for it: only `cli` → `init` remains).

use std::path::{Path, PathBuf};

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
