//! Locating and loading the policy file.

use std::path::{Path, PathBuf};

use crate::error::PolicyError;
use crate::parse::{Ctx, PackageManifest, RawPolicy, WorkspaceManifest};
use crate::{defaults, parse_str, stable_hash, LoadedPolicy, Origin};

/// File name of the stand-alone policy file.
pub const CONFIG_FILE_NAME: &str = "channel-lint.toml";

fn absolute(path: &Path) -> PathBuf {
    std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf())
}

fn read(path: &Path) -> Result<String, PolicyError> {
    std::fs::read_to_string(path).map_err(|source| PolicyError::Io {
        path: path.to_path_buf(),
        source,
    })
}

fn parent_dir(path: &Path) -> PathBuf {
    match path.parent() {
        Some(p) if !p.as_os_str().is_empty() => p.to_path_buf(),
        _ => PathBuf::from("."),
    }
}

/// Finds and loads the policy that applies to `start_dir` (the lint root).
///
/// Search order:
/// 1. `channel-lint.toml` in `start_dir` or its nearest ancestor that has one
///    ([`Origin::File`]).
/// 2. Otherwise the nearest ancestor `Cargo.toml` (starting at `start_dir`) that has a
///    `[workspace]` table: its `[workspace.metadata.channel-lint]`, or, if absent, its
///    root package's `[package.metadata.channel-lint]` ([`Origin::CargoMetadata`]). If
///    that manifest has neither table, the defaults are used. If no ancestor manifest
///    has `[workspace]`, the nearest `Cargo.toml` with a `[package]` (an implicit
///    single-package workspace) may supply `[package.metadata.channel-lint]`.
/// 3. Otherwise [`defaults`] with `base_dir` = `start_dir` made absolute.
///
/// `start_dir` is made absolute (not canonicalized) before walking up. A `Cargo.toml`
/// on the way that is not valid TOML is an error.
pub fn discover(start_dir: &Path, known_rules: &[&str]) -> Result<LoadedPolicy, PolicyError> {
    let start = absolute(start_dir);

    for dir in start.ancestors() {
        let candidate = dir.join(CONFIG_FILE_NAME);
        if candidate.is_file() {
            return load_file(&candidate, known_rules);
        }
    }

    let mut package_fallback: Option<PathBuf> = None;
    for dir in start.ancestors() {
        let manifest = dir.join("Cargo.toml");
        if !manifest.is_file() {
            continue;
        }
        let text = read(&manifest)?;
        let name = manifest.display().to_string();
        let ctx = Ctx {
            text: &text,
            name: &name,
            known_rules,
        };
        let table: toml::Table = toml::from_str(&text).map_err(|e| ctx.toml_error(&e))?;
        if table.get("workspace").is_some_and(toml::Value::is_table) {
            return match load_cargo_manifest(&manifest, known_rules)? {
                Some(loaded) => Ok(loaded),
                None => Ok(defaults(&start)),
            };
        }
        if package_fallback.is_none() && table.get("package").is_some_and(toml::Value::is_table) {
            package_fallback = Some(manifest);
        }
    }

    if let Some(manifest) = package_fallback {
        if let Some(loaded) = load_cargo_manifest(&manifest, known_rules)? {
            return Ok(loaded);
        }
    }
    Ok(defaults(&start))
}

/// Loads a `channel-lint.toml`-format file (e.g. given with `--config`).
/// Globs are relative to the file's folder.
pub fn load_file(path: &Path, known_rules: &[&str]) -> Result<LoadedPolicy, PolicyError> {
    let text = read(path)?;
    let policy = parse_str(
        &text,
        &path.display().to_string(),
        &parent_dir(path),
        known_rules,
    )?;
    Ok(LoadedPolicy {
        policy,
        origin: Origin::File(path.to_path_buf()),
        base_dir: absolute(&parent_dir(path)),
        hash: stable_hash(&text),
        source_text: Some(text),
    })
}

/// Loads the policy embedded in a `Cargo.toml`: `[workspace.metadata.channel-lint]`,
/// else `[package.metadata.channel-lint]`. `Ok(None)` if the manifest has neither.
/// Error spans point into the manifest's own text.
pub fn load_cargo_manifest(
    path: &Path,
    known_rules: &[&str],
) -> Result<Option<LoadedPolicy>, PolicyError> {
    let text = read(path)?;
    let name = path.display().to_string();
    let ctx = Ctx {
        text: &text,
        name: &name,
        known_rules,
    };
    let table: toml::Table = toml::from_str(&text).map_err(|e| ctx.toml_error(&e))?;
    let has = |section: &str| {
        table
            .get(section)
            .and_then(|s| s.get("metadata"))
            .and_then(|m| m.get("channel-lint"))
            .is_some()
    };
    let raw: Option<RawPolicy> = if has("workspace") {
        ctx.deserialize::<WorkspaceManifest>()?.into_raw()
    } else if has("package") {
        ctx.deserialize::<PackageManifest>()?.into_raw()
    } else {
        None
    };
    let Some(raw) = raw else {
        return Ok(None);
    };
    let policy = ctx.validate(raw)?;
    Ok(Some(LoadedPolicy {
        policy,
        origin: Origin::CargoMetadata(path.to_path_buf()),
        base_dir: absolute(&parent_dir(path)),
        hash: stable_hash(&text),
        source_text: Some(text),
    }))
}
