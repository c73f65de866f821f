//! Where the analysis reads source files from: a small virtual file system.
//!
//! [`crate::driver::analyze`] does no I/O of its own; every byte of source it sees comes through
//! a [`Vfs`]. [`DiskVfs`] reads the disk (the CLI); [`MemoryVfs`] holds the texts (tests, the
//! fuzz target, an editor with unsaved buffers).
//!
//! Invariant: the analysis may read a file more than once (the planner probes every file, then
//! parses the few that need it, and may look at a file's bytes again while it widens the plan),
//! and never keeps a text longer than it processes that file. So [`DiskVfs`] reads again rather
//! than keeping texts: the peak memory of a run holds about one text per worker thread, not the
//! whole tree. A [`Vfs`] must give the same bytes every time within one analysis.

use std::borrow::Cow;
use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::diagnostic::{Diagnostic, Severity, Span};

/// A source of file contents.
pub trait Vfs: Sync {
    /// The bytes of the file at `path` (absolute, as the analysis was given it).
    fn read(&self, path: &Path) -> std::io::Result<Cow<'_, [u8]>>;
}

/// The disk: every read is a fresh `std::fs::read`.
#[derive(Debug, Default, Clone, Copy)]
pub struct DiskVfs;

impl Vfs for DiskVfs {
    fn read(&self, path: &Path) -> std::io::Result<Cow<'_, [u8]>> {
        std::fs::read(path).map(Cow::Owned)
    }
}

/// Files held in memory, by absolute path.
#[derive(Debug, Default, Clone)]
pub struct MemoryVfs {
    files: HashMap<PathBuf, Vec<u8>>,
}

impl MemoryVfs {
    pub fn new() -> MemoryVfs {
        MemoryVfs::default()
    }

    /// Add (or replace) a file.
    pub fn insert(&mut self, path: impl Into<PathBuf>, bytes: impl Into<Vec<u8>>) {
        self.files.insert(path.into(), bytes.into());
    }

    /// Every path held, sorted (the order the analysis wants its files in).
    pub fn paths(&self) -> Vec<PathBuf> {
        let mut v: Vec<PathBuf> = self.files.keys().cloned().collect();
        v.sort();
        v
    }
}

impl Vfs for MemoryVfs {
    fn read(&self, path: &Path) -> std::io::Result<Cow<'_, [u8]>> {
        self.files
            .get(path)
            .map(|b| Cow::Borrowed(b.as_slice()))
            .ok_or_else(|| std::io::Error::from(std::io::ErrorKind::NotFound))
    }
}

/// The `parse-error` diagnostic of a whole file (it could not be read, or not as UTF-8).
pub(crate) fn whole_file_problem(rel: &str, msg: String) -> Diagnostic {
    let mut d = Diagnostic::new(
        crate::rules::PARSE_ERROR.id,
        rel,
        Span {
            line: 1,
            column: 1,
            end_line: 1,
            end_column: 1,
        },
        msg,
    );
    d.severity = Severity::Error;
    d
}

/// Read a source file as UTF-8, or the `parse-error` diagnostic saying why not.
pub(crate) fn read_source<'v>(
    vfs: &'v dyn Vfs,
    path: &Path,
    rel: &str,
) -> Result<Cow<'v, str>, Box<Diagnostic>> {
    let bytes = vfs
        .read(path)
        .map_err(|e| Box::new(whole_file_problem(rel, format!("cannot read file: {e}"))))?;
    let bad = |e: std::str::Utf8Error| {
        Box::new(whole_file_problem(
            rel,
            format!(
                "file is not valid UTF-8 (invalid byte at offset {})",
                e.valid_up_to()
            ),
        ))
    };
    match bytes {
        Cow::Borrowed(b) => std::str::from_utf8(b).map(Cow::Borrowed).map_err(bad),
        Cow::Owned(b) => String::from_utf8(b)
            .map(Cow::Owned)
            .map_err(|e| bad(e.utf8_error())),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A file removed between discovery and read (or unreadable) becomes a diagnostic, not a panic.
    #[test]
    fn a_file_that_cannot_be_read_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.rs");
        let d = read_source(&DiskVfs, &gone, "gone.rs").unwrap_err();
        assert_eq!(d.rule, crate::rules::PARSE_ERROR.id);
        assert!(d.message.starts_with("cannot read file"), "{}", d.message);
        std::fs::write(&gone, b"fn a() {}\n\xc3\x28").unwrap();
        let d = read_source(&DiskVfs, &gone, "gone.rs").unwrap_err();
        assert!(d.message.contains("not valid UTF-8"), "{}", d.message);
        assert!(d.message.contains("offset 10"), "{}", d.message);
    }

    #[test]
    fn memory_files_read_like_disk_files() {
        let mut vfs = MemoryVfs::new();
        vfs.insert("/m/b.rs", "fn b() {}");
        vfs.insert("/m/a.rs", b"fn a() {}\n\xc3\x28".to_vec());
        assert_eq!(
            vfs.paths(),
            [PathBuf::from("/m/a.rs"), PathBuf::from("/m/b.rs")]
        );
        assert_eq!(
            read_source(&vfs, Path::new("/m/b.rs"), "b.rs").unwrap(),
            "fn b() {}"
        );
        let d = read_source(&vfs, Path::new("/m/a.rs"), "a.rs").unwrap_err();
        assert!(d.message.contains("offset 10"), "{}", d.message);
        let d = read_source(&vfs, Path::new("/m/c.rs"), "c.rs").unwrap_err();
        assert!(d.message.starts_with("cannot read file"), "{}", d.message);
    }
}
