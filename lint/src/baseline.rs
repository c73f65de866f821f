//! Fingerprints and baselines: adopting the lint on a codebase that already has findings.
//!
//! A finding's fingerprint survives line shifts: it is a hash of the rule, the path and the
//! offending line's text (trimmed, inner whitespace collapsed), plus the finding's index among
//! findings with the same hash (`HASH:N`). SARIF's `partialFingerprints` carry the same value.
//!
//! `--write-baseline FILE` records every current finding; `--baseline FILE` then drops the
//! findings the file lists (each entry matches at most one finding) and names the entries that
//! no longer occur, so the file can shrink.

use std::collections::{BTreeMap, HashMap};
use std::path::Path;

use serde::{Deserialize, Serialize};

use crate::diagnostic::Diagnostic;

/// The fingerprint of one finding and the code it was computed from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Fingerprint {
    /// `HASH:N`: 16 hex digits of the hash, then the occurrence index.
    pub id: String,
    /// The offending line, trimmed, inner whitespace collapsed (empty when unreadable).
    pub code: String,
}

/// The offending line in the form the fingerprint hashes.
pub fn normalize_line(line: &str) -> String {
    line.split_whitespace().collect::<Vec<_>>().join(" ")
}

/// 64-bit FNV-1a of rule, path and code, as 16 hex digits.
pub fn line_hash(rule: &str, path: &str, code: &str) -> String {
    let text = format!("{rule}\0{path}\0{code}");
    format!("{:016x}", channel_lint_policy::stable_hash(&text))
}

/// Reads the files the diagnostics point at (relative to `root`), once each.
#[derive(Default)]
pub struct Sources {
    files: HashMap<String, Option<Vec<String>>>,
}

impl Sources {
    /// The text of line `line` (1-based) of `path`, if the file can be read.
    pub fn line(&mut self, root: &Path, path: &str, line: u32) -> Option<&str> {
        let lines = self.files.entry(path.to_string()).or_insert_with(|| {
            let p = Path::new(path);
            let p = if p.is_absolute() {
                p.to_path_buf()
            } else {
                root.join(p)
            };
            std::fs::read_to_string(p)
                .ok()
                .map(|t| t.lines().map(str::to_string).collect())
        });
        lines
            .as_ref()
            .and_then(|l| l.get((line as usize).checked_sub(1)?))
            .map(String::as_str)
    }
}

/// One fingerprint per diagnostic, in the same order. Occurrence indices count findings with
/// the same hash in the order given (the outcome's order: path, line, column).
pub fn fingerprints(diags: &[Diagnostic], root: &Path) -> Vec<Fingerprint> {
    let mut sources = Sources::default();
    let mut seen: HashMap<String, usize> = HashMap::new();
    diags
        .iter()
        .map(|d| {
            let code = sources
                .line(root, &d.path, d.span.line)
                .map(normalize_line)
                .unwrap_or_default();
            let hash = line_hash(d.rule, &d.path, &code);
            let n = seen.entry(hash.clone()).or_insert(0);
            let id = format!("{hash}:{n}");
            *n += 1;
            Fingerprint { id, code }
        })
        .collect()
}

/// The baseline file (JSON).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Baseline {
    pub version: u32,
    pub findings: Vec<Entry>,
}

/// One recorded finding.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Serialize, Deserialize)]
pub struct Entry {
    pub rule: String,
    pub path: String,
    pub fingerprint: String,
    /// The offending line when recorded (for people reviewing the file; not used to match).
    #[serde(default)]
    pub code: String,
}

impl Entry {
    fn key(&self) -> (String, String, String) {
        (
            self.rule.clone(),
            self.path.clone(),
            self.fingerprint.clone(),
        )
    }
}

/// The baseline recording `diags`, sorted so the file diffs well.
pub fn build(diags: &[Diagnostic], root: &Path) -> Baseline {
    let fps = fingerprints(diags, root);
    let mut findings: Vec<Entry> = diags
        .iter()
        .zip(fps)
        .map(|(d, fp)| Entry {
            rule: d.rule.to_string(),
            path: d.path.clone(),
            fingerprint: fp.id,
            code: fp.code,
        })
        .collect();
    findings.sort();
    Baseline {
        version: 1,
        findings,
    }
}

pub fn to_json(b: &Baseline) -> String {
    let mut s = serde_json::to_string_pretty(b).unwrap_or_default();
    s.push('\n');
    s
}

pub fn parse(text: &str) -> Result<Baseline, String> {
    let b: Baseline =
        serde_json::from_str(text).map_err(|e| format!("not a channel-lint baseline: {e}"))?;
    if b.version != 1 {
        return Err(format!(
            "baseline version {} is not supported (expected 1)",
            b.version
        ));
    }
    Ok(b)
}

/// What applying a baseline did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Applied {
    /// Findings the baseline matched (dropped from the report).
    pub suppressed: usize,
    /// Baseline entries that matched no finding: fixed (or moved to another file).
    pub stale: Vec<Entry>,
}

/// Keep only the findings `baseline` does not list; returns what was dropped and what is stale.
pub fn apply(diags: &mut Vec<Diagnostic>, baseline: &Baseline, root: &Path) -> Applied {
    let fps = fingerprints(diags, root);
    let mut left: BTreeMap<(String, String, String), usize> = BTreeMap::new();
    for e in &baseline.findings {
        *left.entry(e.key()).or_insert(0) += 1;
    }
    let mut keep = Vec::with_capacity(diags.len());
    for (d, fp) in diags.iter().zip(&fps) {
        match left.get_mut(&(d.rule.to_string(), d.path.clone(), fp.id.clone())) {
            Some(n) if *n > 0 => {
                *n -= 1;
                keep.push(false);
            }
            _ => keep.push(true),
        }
    }
    let suppressed = keep.iter().filter(|k| !**k).count();
    let mut it = keep.iter();
    diags.retain(|_| *it.next().unwrap_or(&true));
    let mut stale = Vec::new();
    for e in &baseline.findings {
        if let Some(n) = left.get_mut(&e.key()) {
            if *n > 0 {
                *n -= 1;
                stale.push(e.clone());
            }
        }
    }
    Applied { suppressed, stale }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Span;

    fn diag(rule: &'static str, path: &str, line: u32) -> Diagnostic {
        Diagnostic::new(
            rule,
            path,
            Span {
                line,
                column: 5,
                end_line: line,
                end_column: 9,
            },
            "m",
        )
    }

    #[test]
    fn normalizes_whitespace() {
        assert_eq!(normalize_line("  a   b\t c  "), "a b c");
    }

    #[test]
    fn identical_lines_get_occurrence_indices() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "x\n  unsafe {}\nunsafe {}\n").unwrap();
        let d = vec![
            diag("r", "a.rs", 2),
            diag("r", "a.rs", 3),
            diag("r", "a.rs", 1),
        ];
        let fps = fingerprints(&d, dir.path());
        let h = line_hash("r", "a.rs", "unsafe {}");
        assert_eq!(fps[0].id, format!("{h}:0"));
        assert_eq!(fps[1].id, format!("{h}:1"));
        assert_eq!(fps[2].id, format!("{}:0", line_hash("r", "a.rs", "x")));
        assert_eq!(fps[0].code, "unsafe {}");
    }

    #[test]
    fn apply_matches_each_entry_once_and_lists_stale() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::write(dir.path().join("a.rs"), "one\ntwo\nthree\n").unwrap();
        let old = vec![diag("r", "a.rs", 1), diag("r", "a.rs", 2)];
        let b = build(&old, dir.path());
        // Lines shift by one, `two` is fixed, `three` is new.
        std::fs::write(dir.path().join("a.rs"), "zero\none\nthree\n").unwrap();
        let mut now = vec![diag("r", "a.rs", 2), diag("r", "a.rs", 3)];
        let applied = apply(&mut now, &b, dir.path());
        assert_eq!(applied.suppressed, 1);
        assert_eq!(now.len(), 1);
        assert_eq!(now[0].span.line, 3);
        assert_eq!(applied.stale.len(), 1);
        assert_eq!(applied.stale[0].code, "two");
    }

    #[test]
    fn round_trips() {
        let b = Baseline {
            version: 1,
            findings: vec![Entry {
                rule: "r".into(),
                path: "p".into(),
                fingerprint: "f:0".into(),
                code: "c".into(),
            }],
        };
        assert_eq!(parse(&to_json(&b)).unwrap(), b);
        assert!(parse("{\"version\": 2, \"findings\": []}").is_err());
        assert!(parse("[]").is_err());
    }
}
