//! The shape of the workspace as the analysis sees it, independent of how it was found: the
//! Cargo packages (folder and `[package] name`) that name crates. Discovery fills it from the
//! disk; an editor or a test gives it directly.

use std::path::PathBuf;

/// A package found on disk (its folder and `[package] name`).
#[derive(Debug, Clone)]
pub struct Package {
    pub dir: PathBuf,
    pub name: String,
}
