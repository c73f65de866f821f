//! Source trees for the integration tests: files written under a folder.

use std::path::Path;

/// Write `files` (path relative to `root`, text) under `root`, making the folders they need.
pub fn write_files(root: &Path, files: &[(&str, &str)]) {
    for (rel, text) in files {
        let path = root.join(rel);
        std::fs::create_dir_all(path.parent().unwrap()).unwrap();
        std::fs::write(path, text).unwrap();
    }
}
