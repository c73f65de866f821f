//! Discovery: which `.rs` files to lint, and which Cargo packages they belong to.
//!
//! Walks each input folder without following symlinks (a symlink is skipped with a note: its
//! target, when inside the root, is linted where it lives; outside the root it is never read),
//! prunes `target/`, hidden folders and the policy's `exclude` globs, and reads the `[package]
//! name` of every `Cargo.toml` it passes so the index can name crates.

use std::path::{Path, PathBuf};

use channel_lint_policy::LoadedPolicy;

use crate::workspace::Package;

/// A path that was not linted, and why.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord)]
pub struct Skipped {
    pub path: PathBuf,
    pub reason: String,
}

#[derive(Debug, Default)]
pub struct Discovered {
    /// Absolute, sorted, deduplicated.
    pub files: Vec<PathBuf>,
    pub packages: Vec<Package>,
    pub skipped: Vec<Skipped>,
    /// Files left out by the policy's `exclude` (counted, not listed).
    pub excluded: usize,
}

fn is_excluded(policy: &LoadedPolicy, path: &Path) -> bool {
    if policy.policy.exclude.is_empty() {
        return false;
    }
    match path.strip_prefix(&policy.base_dir) {
        Ok(rel) => policy
            .policy
            .exclude
            .is_match(&rel.to_string_lossy().replace('\\', "/")),
        Err(_) => false,
    }
}

/// Read `[package] name` from a manifest's text (no full TOML parse needed for one key).
pub fn package_name(manifest: &str) -> Option<String> {
    let mut in_package = false;
    for line in manifest.lines() {
        let t = line.trim();
        if t.starts_with('[') {
            in_package = t == "[package]";
            continue;
        }
        if in_package {
            if let Some(rest) = t.strip_prefix("name") {
                let rest = rest.trim_start();
                if let Some(v) = rest.strip_prefix('=') {
                    let v = v.trim().trim_matches('"').trim_matches('\'');
                    if !v.is_empty() {
                        return Some(v.to_string());
                    }
                }
            }
        }
    }
    None
}

fn add_package(dir: &Path, out: &mut Vec<Package>) {
    if out.iter().any(|p| p.dir == dir) {
        return;
    }
    let manifest = dir.join("Cargo.toml");
    if let Ok(text) = std::fs::read_to_string(&manifest) {
        if let Some(name) = package_name(&text) {
            out.push(Package {
                dir: dir.to_path_buf(),
                name,
            });
        }
    }
}

/// Walk `inputs` (absolute paths).
pub fn discover(inputs: &[PathBuf], policy: &LoadedPolicy) -> Discovered {
    let mut d = Discovered::default();
    for input in inputs {
        // Packages above the input (when linting a sub-folder or one file).
        for anc in input.ancestors().skip(1) {
            if anc.join("Cargo.toml").is_file() {
                add_package(anc, &mut d.packages);
            }
        }
        let meta = match std::fs::symlink_metadata(input) {
            Ok(m) => m,
            Err(e) => {
                d.skipped.push(Skipped {
                    path: input.clone(),
                    reason: format!("cannot read: {e}"),
                });
                continue;
            }
        };
        if meta.is_file() || meta.file_type().is_symlink() && input.is_file() {
            // An explicitly named file is linted even when excluded.
            d.files.push(input.clone());
            continue;
        }
        let walker = walkdir::WalkDir::new(input)
            .follow_links(false)
            .sort_by_file_name()
            .into_iter();
        let mut it = walker.filter_entry(|e| {
            if e.depth() == 0 {
                return true;
            }
            let name = e.file_name().to_string_lossy();
            if e.file_type().is_dir() && (name == "target" || name.starts_with('.')) {
                return false;
            }
            true
        });
        loop {
            let entry = match it.next() {
                None => break,
                Some(Ok(e)) => e,
                Some(Err(err)) => {
                    let path = err
                        .path()
                        .map(Path::to_path_buf)
                        .unwrap_or_else(|| input.clone());
                    d.skipped.push(Skipped {
                        path,
                        reason: format!("cannot read: {err}"),
                    });
                    continue;
                }
            };
            let path = entry.path();
            let ft = entry.file_type();
            if ft.is_dir() {
                if entry.depth() > 0 && is_excluded(policy, path) {
                    it.skip_current_dir();
                    continue;
                }
                if path.join("Cargo.toml").is_file() {
                    add_package(path, &mut d.packages);
                }
                continue;
            }
            let is_rs = path.extension().is_some_and(|e| e == "rs");
            if !is_rs {
                continue;
            }
            if ft.is_symlink() {
                let reason = match std::fs::canonicalize(path) {
                    Ok(target) => {
                        let root = std::fs::canonicalize(input).unwrap_or_else(|_| input.clone());
                        if target.starts_with(&root) {
                            "symlink: its target is linted where it lives".to_string()
                        } else {
                            "symlink pointing outside the root: not followed".to_string()
                        }
                    }
                    Err(_) => "broken or looping symlink: not followed".to_string(),
                };
                d.skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason,
                });
                continue;
            }
            if !ft.is_file() {
                // FIFOs, sockets, devices: reading them could block forever.
                d.skipped.push(Skipped {
                    path: path.to_path_buf(),
                    reason: "not a regular file".into(),
                });
                continue;
            }
            if is_excluded(policy, path) {
                d.excluded += 1;
                continue;
            }
            d.files.push(path.to_path_buf());
        }
    }
    d.files.sort();
    d.files.dedup();
    d.skipped.sort();
    d.skipped.dedup();
    d
}
