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

/// The workspace root of the code at `start`, by cargo's rule: the nearest `Cargo.toml` at or
/// above `start` is the package's (or a virtual workspace's). A manifest with its own
/// `[workspace]` is the root; a `[package] workspace = "path"` names it. Otherwise the nearest
/// ancestor `[workspace]` is the root when its `members` (globs) include the package and its
/// `exclude` does not (a member written out without a glob wins, as in cargo); an ancestor that excludes it is
/// passed over for the next one up, and one that does not list it leaves the package its own
/// root (cargo would refuse to build it; a crate unpacked under another workspace's `target/`
/// is the usual case). Path dependencies of members, which cargo also counts as members, are
/// not looked at. No `Cargo.toml` at all: `start`.
pub fn find_root(start: &Path) -> PathBuf {
    let Some((pkg, manifest)) = start.ancestors().find_map(|d| {
        let text = std::fs::read_to_string(d.join("Cargo.toml")).ok()?;
        Some((d.to_path_buf(), text))
    }) else {
        return start.to_path_buf();
    };
    let Ok(table) = manifest.parse::<toml::Table>() else {
        // A manifest we cannot read as TOML: its folder, as cargo would not go further.
        return pkg;
    };
    if table.contains_key("workspace") {
        return pkg;
    }
    if let Some(ws) = table
        .get("package")
        .and_then(|p| p.get("workspace"))
        .and_then(|w| w.as_str())
    {
        return absolute(Path::new(ws), &pkg);
    }
    for dir in pkg.ancestors().skip(1) {
        let Ok(text) = std::fs::read_to_string(dir.join("Cargo.toml")) else {
            continue;
        };
        let Some(ws) = text
            .parse::<toml::Table>()
            .ok()
            .and_then(|t| t.get("workspace").and_then(|w| w.as_table()).cloned())
        else {
            continue;
        };
        let Ok(rel) = pkg.strip_prefix(dir) else {
            continue;
        };
        let rel = rel.to_string_lossy().replace('\\', "/");
        let list = |key: &str| -> Vec<String> {
            ws.get(key)
                .and_then(|v| v.as_array())
                .map(|a| {
                    a.iter()
                        .filter_map(|x| x.as_str())
                        .map(|s| s.trim_end_matches('/').to_string())
                        .collect()
                })
                .unwrap_or_default()
        };
        let under = |x: &str| rel == x || rel.starts_with(&format!("{x}/"));
        let members = list("members");
        // As cargo's `is_excluded`: a member written out (no glob) under which the package
        // lies wins over `exclude`; a glob member does not.
        let explicit = members
            .iter()
            .any(|m| !m.contains(['*', '?', '[']) && under(m));
        if list("exclude").iter().any(|x| under(x)) && !explicit {
            continue;
        }
        if members.iter().any(|m| glob_matches(m, &rel)) {
            return dir.to_path_buf();
        }
        return pkg;
    }
    pkg
}

/// Does the `members` entry `pattern` (a path relative to the workspace root, possibly a glob:
/// `crates/*`) name the folder `rel`?
fn glob_matches(pattern: &str, rel: &str) -> bool {
    let pattern = pattern.strip_prefix("./").unwrap_or(pattern);
    if pattern == rel {
        return true;
    }
    globset::GlobBuilder::new(pattern)
        .literal_separator(true)
        .build()
        .is_ok_and(|g| g.compile_matcher().is_match(rel))
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

#[cfg(test)]
mod tests {
    use super::*;

    fn write(root: &Path, rel: &str, text: &str) {
        let p = root.join(rel);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, text).unwrap();
    }

    const PKG: &str = "[package]\nname = \"p\"\nversion = \"0.1.0\"\n";

    #[test]
    fn root_follows_cargos_membership_rule() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        write(
            r,
            "Cargo.toml",
            "[workspace]\nmembers = [\"lint\", \"crates/*\"]\nexclude = [\"crates/skip\"]\n",
        );
        write(r, "lint/Cargo.toml", PKG);
        write(r, "crates/a/Cargo.toml", PKG);
        write(r, "crates/skip/Cargo.toml", PKG);
        write(r, "target/lintcheck/src/x-1.0/Cargo.toml", PKG);
        write(r, "own/Cargo.toml", &format!("{PKG}[workspace]\n"));
        write(
            r,
            "pointed/Cargo.toml",
            "[package]\nname = \"q\"\nworkspace = \"..\"\n",
        );
        std::fs::create_dir_all(r.join("lint/src/deep")).unwrap();
        // Listed members (by name, by glob; from a folder inside one): the outer root.
        assert_eq!(find_root(&r.join("lint")), r);
        assert_eq!(find_root(&r.join("lint/src/deep")), r);
        assert_eq!(find_root(&r.join("crates/a")), r);
        // The workspace root itself.
        assert_eq!(find_root(r), r);
        // Not in members (a crate unpacked under target/), excluded, or with its own
        // [workspace]: its own root.
        let nested = r.join("target/lintcheck/src/x-1.0");
        assert_eq!(find_root(&nested), nested);
        assert_eq!(find_root(&r.join("crates/skip")), r.join("crates/skip"));
        assert_eq!(find_root(&r.join("own")), r.join("own"));
        // `package.workspace` names the root.
        assert_eq!(find_root(&r.join("pointed")), r);
        // No manifest: the folder given.
        let bare = tempfile::tempdir().unwrap();
        assert_eq!(find_root(bare.path()), bare.path());
    }

    #[test]
    fn an_excluding_workspace_is_passed_over_for_the_next_one_up() {
        let d = tempfile::tempdir().unwrap();
        let r = d.path();
        write(r, "Cargo.toml", "[workspace]\nmembers = [\"mid/leaf\"]\n");
        write(r, "mid/Cargo.toml", "[workspace]\nexclude = [\"leaf\"]\n");
        write(r, "mid/leaf/Cargo.toml", PKG);
        assert_eq!(find_root(&r.join("mid/leaf")), r);
        // A `[workspace.package]` table makes a workspace too; no `members`: only itself.
        write(
            r,
            "other/Cargo.toml",
            "[workspace.package]\nversion = \"1.0.0\"\n",
        );
        write(r, "other/inner/Cargo.toml", PKG);
        assert_eq!(find_root(&r.join("other/inner")), r.join("other/inner"));
    }
}
