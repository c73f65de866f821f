//! The fixtures' `//~` markers, for every test that reads the fixture cases.
//!
//! A fixture source marks its expected findings with `//~ rule-id` comments at the end of a
//! line (see docs/fixtures.md). They are test annotations, not part of the input: a test that
//! lints a fixture lints a copy with the markers stripped ([`copy_stripped`]), so a marker can
//! never become, say, the reason of a suppression comment on the same line. Stripping keeps
//! every byte before the marker, so no line or column moves.
//!
//! Shared by `fixtures.rs` (which also reads the markers), `prefilter_cache.rs`,
//! `robustness.rs` and `cli.rs` through `#[path]` (a folder under `tests/` is not a test
//! target of its own).

#![allow(dead_code)] // each test binary uses its part

use std::path::Path;

/// Where a `//~` marker starts on `line` (no line break): (the start of the horizontal
/// whitespace before it, the offset of `//~`). The separator belongs to the marker, so
/// stripping gives back the unmarked line exactly.
pub fn marker_start(line: &str) -> Option<(usize, usize)> {
    let at = line.find("//~")?;
    let start = line[..at].trim_end_matches([' ', '\t']).len();
    Some((start, at))
}

/// `text` with every marker removed (line breaks, `\r` included, kept). Checked against the
/// fixture harness's own reading by its `harness/strip-markers` self-check.
pub fn strip(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    for raw in text.split_inclusive('\n') {
        let (body, eol) = split_eol(raw);
        match marker_start(body) {
            Some((start, _)) => {
                out.push_str(&body[..start]);
                out.push_str(eol);
            }
            None => out.push_str(raw),
        }
    }
    out
}

/// A line split into its body and its line break (`"\r\n"`, `"\n"` or `""`).
pub fn split_eol(raw: &str) -> (&str, &str) {
    match raw.strip_suffix("\r\n") {
        Some(b) => (b, "\r\n"),
        None => match raw.strip_suffix('\n') {
            Some(b) => (b, "\n"),
            None => (raw, ""),
        },
    }
}

/// The bytes of a fixture file as a test should lint them: a UTF-8 `.rs` file stripped of its
/// markers, anything else unchanged.
pub fn input_bytes(path: &Path, bytes: Vec<u8>) -> Vec<u8> {
    if path.extension().is_some_and(|x| x == "rs") {
        match String::from_utf8(bytes) {
            Ok(text) => strip(&text).into_bytes(),
            Err(e) => e.into_bytes(),
        }
    } else {
        bytes
    }
}

/// Copies the folder `from` to `to` (created), stripping the markers of every file.
pub fn copy_stripped(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let (src, dest) = (e.path(), to.join(e.file_name()));
        if src.is_dir() {
            copy_stripped(&src, &dest);
        } else {
            std::fs::write(&dest, input_bytes(&src, std::fs::read(&src).unwrap())).unwrap();
        }
    }
}
