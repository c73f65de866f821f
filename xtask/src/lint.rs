//! Building `cargo-channel-lint`, running it as one measured row, and reading its JSON output.
//!
//! The lint is being written alongside this harness, so a flag it does not know yet is not a
//! failure: an exit code 2 whose stderr names one of [`OPTIONAL_FLAGS`] makes the row
//! "n/a (flag unsupported)". `--no-cache` and `--jobs` are the exceptions: a lint without
//! `--no-cache` has no cache to skip, and `--jobs N` is also given as `RAYON_NUM_THREADS`, so
//! the row is run again without the flag and says so in a note.

use std::collections::HashMap;
use std::ffi::OsString;
use std::fs::{self, File};
use std::io::BufReader;
use std::path::{Path, PathBuf};
use std::process::{Command, Stdio};
use std::time::Duration;

use serde_json::Value;

use crate::measure::{self, Exit, Measured};
use crate::Result;

/// Flags of the lint that a row may use and an older lint may not know.
pub const OPTIONAL_FLAGS: [&str; 4] = ["--no-cache", "--no-prefilter", "--cache-dir", "--jobs"];

/// What one row of the table came to.
#[derive(Debug)]
pub enum Outcome {
    /// The child ran to a normal end (the lint: exit 0 or 1).
    Ran {
        m: Measured,
        /// The lint's `diagnostics` array, when its stdout had one.
        diagnostics: Option<Vec<Value>>,
        notes: Vec<String>,
    },
    /// The lint rejected a flag this row needs.
    Unsupported { flag: String },
    /// A tool error (the lint's exit 2), a crash, or a child that could not be started.
    Failed {
        m: Option<Measured>,
        why: String,
        notes: Vec<String>,
    },
}

impl Outcome {
    pub fn measured(&self) -> Option<&Measured> {
        match self {
            Outcome::Ran { m, .. } => Some(m),
            Outcome::Failed { m, .. } => m.as_ref(),
            Outcome::Unsupported { .. } => None,
        }
    }

    pub fn diagnostics(&self) -> Option<&[Value]> {
        match self {
            Outcome::Ran { diagnostics, .. } => diagnostics.as_deref(),
            _ => None,
        }
    }
}

/// Builds the lint with `cargo build --release -p cargo-channel-lint` and returns the path of
/// the binary cargo reports (`<target-dir>/release/cargo-channel-lint`, where the target dir
/// is `target/` of the workspace unless `CARGO_TARGET_DIR` says otherwise).
pub fn build(root: &Path) -> Result<PathBuf> {
    let cargo = crate::bench::cargo();
    eprintln!("lint: cargo build --release -p cargo-channel-lint ...");
    let output = Command::new(&cargo)
        .args(["build", "--release", "--package", "cargo-channel-lint"])
        .args(["--bin", "cargo-channel-lint"])
        .arg("--message-format=json-render-diagnostics")
        .arg("--manifest-path")
        .arg(root.join("Cargo.toml"))
        .current_dir(root)
        .stdin(Stdio::null())
        .stderr(Stdio::inherit())
        .output()
        .map_err(|e| format!("running {cargo} build: {e}"))?;
    if !output.status.success() {
        return Err(format!(
            "`cargo build --release -p cargo-channel-lint` failed ({}); \
             fix the build or pass --lint-bin PATH",
            output.status
        ));
    }
    let stdout = String::from_utf8_lossy(&output.stdout);
    for line in stdout.lines() {
        let Ok(msg) = serde_json::from_str::<Value>(line) else {
            continue;
        };
        if msg["reason"] == "compiler-artifact" && msg["target"]["name"] == "cargo-channel-lint" {
            if let Some(exe) = msg["executable"].as_str() {
                return Ok(PathBuf::from(exe));
            }
        }
    }
    let target_dir = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .map(|d| if d.is_absolute() { d } else { root.join(d) })
        .unwrap_or_else(|| root.join("target"));
    Ok(target_dir.join("release").join("cargo-channel-lint"))
}

/// Everything the lint rows share.
pub struct Lint {
    pub bin: PathBuf,
    pub corpus: PathBuf,
    pub policy: PathBuf,
    /// Where each row's stdout and stderr are kept (`<row>.stdout`, `<row>.stderr`).
    pub out_dir: PathBuf,
    pub jobs: Option<usize>,
    pub timeout: Duration,
    pub cwd: PathBuf,
    /// Cleared once the lint has rejected `--no-cache`.
    pub no_cache_supported: bool,
    /// Cleared once the lint has rejected `--jobs`.
    pub jobs_supported: bool,
    /// `--format` of every run: `json` (the diagnostics are read back) or `human`.
    pub format: &'static str,
}

impl Lint {
    /// Runs `<bin> channel-lint --format json --config <policy> [--jobs N] [--no-cache] <extra>
    /// <corpus>`.
    pub fn run(&mut self, row: &str, no_cache: bool, extra: &[OsString]) -> Outcome {
        let corpus = self.corpus.clone();
        self.run_on(row, no_cache, extra, &corpus)
    }

    /// [`Lint::run`] with `target` as the path argument instead of the corpus (with
    /// `--report-only`: the file whose findings are reported).
    pub fn run_on(
        &mut self,
        row: &str,
        no_cache: bool,
        extra: &[OsString],
        target: &Path,
    ) -> Outcome {
        loop {
            let mut notes = Vec::new();
            if no_cache && !self.no_cache_supported {
                notes.push("ran without --no-cache (flag unsupported)".to_string());
            }
            if self.jobs.is_some() && !self.jobs_supported {
                notes.push("--jobs unsupported: RAYON_NUM_THREADS only".to_string());
            }
            let mut args: Vec<OsString> = vec![
                "channel-lint".into(),
                "--format".into(),
                self.format.into(),
                "--config".into(),
                self.policy.clone().into(),
            ];
            if let (Some(n), true) = (self.jobs, self.jobs_supported) {
                args.push("--jobs".into());
                args.push(n.to_string().into());
            }
            if no_cache && self.no_cache_supported {
                args.push("--no-cache".into());
            }
            args.extend(extra.iter().cloned());
            args.push(target.into());

            let stdout = self.out_dir.join(format!("{row}.stdout"));
            let stderr = self.out_dir.join(format!("{row}.stderr"));
            let mut cmd = Command::new(&self.bin);
            cmd.args(&args).current_dir(&self.cwd);
            if let Some(n) = self.jobs {
                cmd.env("RAYON_NUM_THREADS", n.to_string());
            }
            let m = match measure::run(&mut cmd, &stdout, &stderr, self.timeout) {
                Ok(m) => m,
                Err(why) => {
                    return Outcome::Failed {
                        m: None,
                        why,
                        notes,
                    }
                }
            };
            let err_text = fs::read_to_string(&stderr).unwrap_or_default();
            if m.timed_out {
                let why = format!("timed out after {} s (killed)", self.timeout.as_secs());
                return Outcome::Failed {
                    m: Some(m),
                    why,
                    notes,
                };
            }
            match m.exit {
                Exit::Code(0 | 1) if self.format != "json" => {
                    return Outcome::Ran {
                        m,
                        diagnostics: None,
                        notes,
                    };
                }
                Exit::Code(0 | 1) => {
                    let diagnostics = match read_diagnostics(&stdout) {
                        Ok((d, note)) => {
                            notes.extend(note);
                            Some(d)
                        }
                        Err(note) => {
                            notes.push(note);
                            None
                        }
                    };
                    return Outcome::Ran {
                        m,
                        diagnostics,
                        notes,
                    };
                }
                Exit::Code(2) => {
                    let used: Vec<&str> = args.iter().filter_map(|a| a.to_str()).collect();
                    match unsupported_flag(&err_text, &used) {
                        Some("--no-cache") if self.no_cache_supported => {
                            self.no_cache_supported = false;
                            continue;
                        }
                        Some("--jobs") if self.jobs_supported => {
                            self.jobs_supported = false;
                            continue;
                        }
                        Some(flag) => {
                            return Outcome::Unsupported {
                                flag: flag.to_string(),
                            }
                        }
                        None => {
                            return Outcome::Failed {
                                m: Some(m),
                                why: format!("tool error (exit 2): {}", excerpt(&err_text)),
                                notes,
                            }
                        }
                    }
                }
                other => {
                    return Outcome::Failed {
                        m: Some(m),
                        why: format!("{other}: {}", excerpt(&err_text)),
                        notes,
                    }
                }
            }
        }
    }
}

/// The optional flag, among those passed, that `stderr` names first (clap names the flag it
/// rejects before any "a similar argument exists" tip).
fn unsupported_flag<'a>(stderr: &str, passed: &[&str]) -> Option<&'a str> {
    OPTIONAL_FLAGS
        .iter()
        .filter(|f| passed.contains(f))
        .filter_map(|&f| first_mention(stderr, f).map(|at| (at, f)))
        .min()
        .map(|(_, f)| f)
}

/// Byte offset of `flag` in `text` as a whole word (`--no-cache` does not match
/// `--no-cache-dir`).
fn first_mention(text: &str, flag: &str) -> Option<usize> {
    text.match_indices(flag).map(|(at, _)| at).find(|&at| {
        let next = text[at + flag.len()..].chars().next();
        !next.is_some_and(|c| c.is_alphanumeric() || c == '-' || c == '_')
    })
}

/// The first non-empty lines of a stderr text, short enough for a table cell.
pub fn excerpt(text: &str) -> String {
    let joined = text
        .lines()
        .map(str::trim)
        // A panic's message, not its backtrace (`RUST_BACKTRACE` may be set).
        .take_while(|l| !l.starts_with("stack backtrace:"))
        .filter(|l| !l.is_empty() && !l.starts_with("note: run with"))
        .take(3)
        .collect::<Vec<_>>()
        .join(" / ");
    if joined.is_empty() {
        return "(stderr empty)".into();
    }
    let mut cut: String = joined.chars().take(200).collect();
    if cut.len() < joined.len() {
        cut.push('…');
    }
    cut
}

/// The `diagnostics` array of the lint's JSON output (a top-level array is taken as it, with
/// a note). An error is a note for the table: the row still counts as run.
fn read_diagnostics(stdout: &Path) -> std::result::Result<(Vec<Value>, Option<String>), String> {
    let file = File::open(stdout).map_err(|e| format!("cannot read stdout: {e}"))?;
    if file.metadata().map(|m| m.len()).unwrap_or(0) == 0 {
        return Err("stdout is empty (no JSON report)".into());
    }
    let value: Value = serde_json::from_reader(BufReader::new(file))
        .map_err(|e| format!("stdout is not one JSON document: {e}"))?;
    match value {
        Value::Object(mut map) => match map.remove("diagnostics") {
            Some(Value::Array(d)) => Ok((d, None)),
            _ => Err("JSON report has no `diagnostics` array".into()),
        },
        Value::Array(d) => Ok((d, Some("JSON report is a bare array".into()))),
        _ => Err("JSON report is neither an object nor an array".into()),
    }
}

/// How many diagnostics have `"rule": rule`.
pub fn count_rule(diagnostics: &[Value], rule: &str) -> usize {
    diagnostics.iter().filter(|d| d["rule"] == rule).count()
}

/// Compares two `diagnostics` arrays: identical, the same multiset in another order, or how
/// many of each side the other lacks.
pub fn compare(a: &[Value], b: &[Value]) -> String {
    if a == b {
        return format!("identical ({} diagnostics)", a.len());
    }
    let mut counts: HashMap<String, i64> = HashMap::new();
    for d in a {
        *counts.entry(d.to_string()).or_default() += 1;
    }
    for d in b {
        *counts.entry(d.to_string()).or_default() -= 1;
    }
    let only_a: i64 = counts.values().filter(|&&c| c > 0).sum();
    let only_b: i64 = -counts.values().filter(|&&c| c < 0).sum::<i64>();
    if only_a == 0 && only_b == 0 {
        format!(
            "DIFFERENT ORDER: the same {} diagnostics, not in the same order",
            a.len()
        )
    } else {
        format!(
            "DIFFERENT: {} vs {} diagnostics; {only_a} only in the first, {only_b} only in the second",
            a.len(),
            b.len()
        )
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn finds_the_rejected_flag_not_the_tip() {
        let clap = "error: unexpected argument '--no-prefilter' found\n\n  \
                    tip: a similar argument exists: '--no-cache'\n";
        let passed = ["--no-cache", "--no-prefilter"];
        assert_eq!(unsupported_flag(clap, &passed), Some("--no-prefilter"));
        assert_eq!(unsupported_flag("error: bad policy", &passed), None);
        assert_eq!(unsupported_flag("unknown --no-cache-dir", &passed), None);
        // A flag not passed is never blamed.
        assert_eq!(unsupported_flag("unexpected '--cache-dir'", &passed), None);
    }

    #[test]
    fn compares_diagnostics() {
        let a = vec![
            json!({"rule": "x", "line": 1}),
            json!({"rule": "y", "line": 2}),
        ];
        let mut b = a.clone();
        assert!(compare(&a, &b).starts_with("identical"));
        b.reverse();
        assert!(compare(&a, &b).starts_with("DIFFERENT ORDER"));
        b.pop();
        assert!(compare(&a, &b).contains("1 only in the first, 0 only in the second"));
        assert_eq!(count_rule(&a, "x"), 1);
    }
}
