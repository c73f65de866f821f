//! The corpus: finding its `.rs` files, counting them, and making the default one with
//! `cargo vendor`.

use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};

use crate::Result;

/// Every `.rs` file under `dir` (symlinks not followed), sorted.
pub fn rust_files(dir: &Path) -> Result<Vec<PathBuf>> {
    let mut files = Vec::new();
    for entry in walkdir::WalkDir::new(dir).follow_links(false) {
        let entry = entry.map_err(|e| format!("walking {}: {e}", dir.display()))?;
        if entry.file_type().is_file() && entry.path().extension().is_some_and(|e| e == "rs") {
            files.push(entry.into_path());
        }
    }
    files.sort();
    Ok(files)
}

/// Lines of a file as an editor counts them: newlines, plus one for a last line without one.
pub fn count_lines(bytes: &[u8]) -> u64 {
    let newlines = bytes.iter().filter(|&&b| b == b'\n').count() as u64;
    newlines + u64::from(bytes.last().is_some_and(|&b| b != b'\n'))
}

/// What the corpus holds.
#[derive(Debug, Clone, Copy, Default)]
pub struct Stats {
    pub files: u64,
    pub lines: u64,
    pub bytes: u64,
}

/// Reads every `.rs` file once: the counts for the table, and a warm page cache for every run
/// that follows, so that no run pays for the disk and the others not.
pub fn stats(dir: &Path) -> Result<Stats> {
    let mut stats = Stats::default();
    for path in rust_files(dir)? {
        let bytes = fs::read(&path).map_err(|e| format!("reading {}: {e}", path.display()))?;
        stats.files += 1;
        stats.lines += count_lines(&bytes);
        stats.bytes += bytes.len() as u64;
    }
    Ok(stats)
}

/// 64-bit FNV-1a, to tell whether the vendored tree was made from this `Cargo.lock`.
fn fnv1a(bytes: &[u8]) -> u64 {
    bytes.iter().fold(0xcbf2_9ce4_8422_2325, |h, &b| {
        (h ^ u64::from(b)).wrapping_mul(0x0000_0100_0000_01b3)
    })
}

/// Makes `<bench_dir>/vendor` with `cargo vendor --versioned-dirs --locked` from the
/// workspace's `Cargo.lock`, unless it is already there and complete: the marker file
/// `<bench_dir>/vendor.complete` holds the hash of the `Cargo.lock` it was made from, and is
/// written only after `cargo vendor` succeeded.
pub fn prepare_vendor(root: &Path, bench_dir: &Path) -> Result<PathBuf> {
    let vendor = bench_dir.join("vendor");
    let marker = bench_dir.join("vendor.complete");
    let lock_path = root.join("Cargo.lock");
    let lock = fs::read(&lock_path).map_err(|e| format!("reading {}: {e}", lock_path.display()))?;
    let fingerprint = format!("Cargo.lock fnv1a {:016x}\n", fnv1a(&lock));

    if vendor.is_dir() && fs::read_to_string(&marker).is_ok_and(|m| m == fingerprint) {
        eprintln!(
            "corpus: {} is complete (marker {})",
            vendor.display(),
            marker.display()
        );
        return Ok(vendor);
    }

    // A missing or stale marker: (re)vendor. `cargo vendor` replaces the folder's contents.
    let _ = fs::remove_file(&marker);
    fs::create_dir_all(bench_dir).map_err(|e| format!("creating {}: {e}", bench_dir.display()))?;
    eprintln!(
        "corpus: cargo vendor --versioned-dirs into {} ...",
        vendor.display()
    );
    let cargo = crate::bench::cargo();
    let status = Command::new(&cargo)
        .arg("vendor")
        .arg("--versioned-dirs")
        .arg("--locked")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .arg(&vendor)
        .current_dir(root)
        // stdout is the `[source]` snippet for .cargo/config.toml: not wanted here.
        .stdout(Stdio::null())
        .status()
        .map_err(|e| format!("running {cargo} vendor: {e}"))?;
    if !status.success() {
        return Err(format!("`cargo vendor` failed ({status})"));
    }
    fs::write(&marker, &fingerprint).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(vendor)
}

#[cfg(test)]
mod tests {
    use super::count_lines;

    #[test]
    fn lines() {
        assert_eq!(count_lines(b""), 0);
        assert_eq!(count_lines(b"a"), 1);
        assert_eq!(count_lines(b"a\n"), 1);
        assert_eq!(count_lines(b"a\nb"), 2);
        assert_eq!(count_lines(b"\n\n"), 2);
    }
}
