//! The `listener` case of `bench`: the job users run, a whole crate with `[listener]
//! entry-points` and every rule on (issue 15).
//!
//! The tree is the `freenet` release pinned in `lintcheck/crates.toml` under the label
//! [`PIN_LABEL`], fetched and checked with lintcheck's own code (cached `.crate`, sha256
//! verified) and unpacked afresh into `target/bench-corpus/listener/` on every run (a run edits a
//! file; unpacking again undoes any edit an interrupted run left). `[workspace]` is appended to its
//! `Cargo.toml` so that the crate is its own lint root, and the policy is that label's
//! `lintcheck/<label>/channel-lint.toml` (the node's event loops as entry points, the production
//! features), copied into the crate as `bench-policy.toml`.
//!
//! Rows, every lint row run from the crate folder with `--format json`:
//! (a) the bare parallel `syn::parse_file` of every `.rs` file of the crate; (b) `--no-cache`;
//! (c) `--no-cache --no-prefilter`; (d0) `--cache-dir` on an empty cache (fills it); (d) the same
//! again (warm, nothing changed); (e) warm after editing one function body (the body of the first
//! entry point whose definition is found, one statement appended to its opening line, so no line
//! moves); (f) pre-commit: the edit undone, `--report-only <that file>` on the cache (e) left, so
//! exactly the one staged file differs from the cache. The summary gives each as a ratio to (a)
//! of the same run (and (f) in wall seconds), peak RSS, and the goal beside each; every
//! row's diagnostics are compared with (b) ((f): with (b)'s findings in that file), and a
//! difference is printed as MISMATCH and makes the task exit 1.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};

use serde_json::Value;

use crate::bench::{self, progress, Env};
use crate::lint::{self, Outcome};
use crate::report::{self, Row};
use crate::{corpus, lintcheck, Result};

/// The `lintcheck/crates.toml` entry (and `lintcheck/<label>/` policy) this case lints.
pub const PIN_LABEL: &str = "freenet-node";

/// The goals of issue 15, as ratios to (a) (pre-commit: seconds; RSS: MB).
const GOAL_COLD: f64 = 0.5;
const GOAL_WARM: f64 = 0.1;
const GOAL_EDIT: f64 = 0.15;
const GOAL_PRECOMMIT_S: f64 = 0.3;
const GOAL_RSS_MB: f64 = 300.0;

/// The statement appended to the edited line.
const EDIT: &str = " let _bench_edit = ();";

/// Fetches, unpacks and prepares the crate; returns (crate folder, policy path, entry points).
fn prepare(env: &Env) -> Result<(PathBuf, PathBuf, Vec<String>)> {
    let pins = lintcheck::pins(&env.root)?;
    let p = pins
        .iter()
        .find(|p| p.label() == PIN_LABEL)
        .ok_or_else(|| format!("lintcheck/crates.toml has no crate labelled `{PIN_LABEL}`"))?;
    let bytes = lintcheck::fetch(p, &lintcheck::crate_cache(&env.root))?;
    let dir = lintcheck::unpack(p, &bytes, &env.bench_dir.join("listener"), true)?;
    // Its own workspace: else the lint root would be the nearest ancestor workspace (this one).
    let manifest = dir.join("Cargo.toml");
    let mut text = fs::read_to_string(&manifest)
        .map_err(|e| format!("reading {}: {e}", manifest.display()))?;
    text.push_str("\n[workspace]\n");
    fs::write(&manifest, text).map_err(|e| format!("writing {}: {e}", manifest.display()))?;
    let policy_src = env
        .root
        .join("lintcheck")
        .join(p.label())
        .join("channel-lint.toml");
    let policy_text = fs::read_to_string(&policy_src)
        .map_err(|e| format!("reading {}: {e}", policy_src.display()))?;
    let policy = dir.join("bench-policy.toml");
    fs::write(&policy, &policy_text).map_err(|e| format!("writing {}: {e}", policy.display()))?;
    let entry_points = toml::from_str::<toml::Value>(&policy_text)
        .ok()
        .and_then(|v| v.get("listener")?.get("entry-points")?.as_array().cloned())
        .unwrap_or_default()
        .iter()
        .filter_map(|e| e.as_str().map(str::to_string))
        .collect();
    eprintln!("listener: {} {} in {}", p.name, p.version, dir.display());
    Ok((dir, policy, entry_points))
}

/// Where to edit: (file relative to the crate, 0-based line, fn name). The first entry point
/// (policy order) with a `fn NAME` definition in a file under `src/` (sorted): its body's
/// opening line, the first line from the `fn` on that ends with `{`.
pub fn edit_site(dir: &Path, entry_points: &[String]) -> Result<(String, usize, String)> {
    let files = corpus::rust_files(&dir.join("src"))?;
    let texts: Vec<(PathBuf, String)> = files
        .into_iter()
        .filter_map(|f| fs::read_to_string(&f).ok().map(|t| (f, t)))
        .collect();
    for ep in entry_points {
        let name = ep.rsplit("::").next().unwrap_or(ep);
        let needle = format!("fn {name}");
        for (path, text) in &texts {
            let lines: Vec<&str> = text.lines().collect();
            for (i, l) in lines.iter().enumerate() {
                let Some(at) = l.find(&needle) else { continue };
                let rest = &l[at + needle.len()..];
                if !rest.starts_with(['(', '<']) || l.trim_start().starts_with("//") {
                    continue;
                }
                if let Some(open) =
                    (i..lines.len().min(i + 40)).find(|&k| lines[k].trim_end().ends_with('{'))
                {
                    let rel = path
                        .strip_prefix(dir)
                        .unwrap_or(path)
                        .to_string_lossy()
                        .replace('\\', "/");
                    return Ok((rel, open, name.to_string()));
                }
            }
        }
    }
    Err(format!(
        "no definition of any entry point ({}) found under {}/src",
        entry_points.join(", "),
        dir.display()
    ))
}

/// `text` with [`EDIT`] appended to line `line` (0-based); every other byte kept.
pub fn edited(text: &str, line: usize) -> String {
    let mut out = String::with_capacity(text.len() + EDIT.len());
    for (i, l) in text.split_inclusive('\n').enumerate() {
        if i == line {
            let body = l.trim_end_matches(['\n', '\r']);
            out.push_str(body);
            out.push_str(EDIT);
            out.push_str(&l[body.len()..]);
        } else {
            out.push_str(l);
        }
    }
    out
}

/// Puts the original text back when dropped (also on an early return).
struct Restore<'a> {
    path: &'a Path,
    text: &'a str,
}

impl Drop for Restore<'_> {
    fn drop(&mut self) {
        let _ = fs::write(self.path, self.text);
    }
}

fn wall(rows: &[Row], id: &str) -> Option<f64> {
    match &report::find(rows, id)?.outcome {
        Outcome::Ran { m, .. } => Some(m.wall.as_secs_f64()),
        _ => None,
    }
}

fn rss_mib(rows: &[Row], id: &str) -> Option<f64> {
    match &report::find(rows, id)?.outcome {
        Outcome::Ran { m, .. } => Some(m.max_rss_kib as f64 / 1024.0),
        _ => None,
    }
}

fn met(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "not met"
    }
}

/// The ratio of row `id` to (a), with its goal.
fn ratio_line(rows: &[Row], id: &str, goal: Option<f64>) -> String {
    match (wall(rows, id), wall(rows, "(a)")) {
        (Some(x), Some(a)) => {
            let r = x / a.max(1e-9);
            match goal {
                Some(g) => format!("{r:.2}x ({x:.3} s; goal <= {g}x: {})", met(r <= g)),
                None => format!("{r:.2}x ({x:.3} s; no goal)"),
            }
        }
        (None, _) => "n/a (the run failed)".into(),
        (_, None) => "n/a (the baseline failed)".into(),
    }
}

/// Compares row `id`'s diagnostics with `want`; (verdict, mismatch).
fn check(rows: &[Row], id: &str, want: Option<&[Value]>) -> (String, bool) {
    let got = report::find(rows, id).and_then(|r| r.outcome.diagnostics());
    match (want, got) {
        (Some(w), Some(g)) => {
            let v = lint::compare(w, g);
            if v.starts_with("identical") {
                (v, false)
            } else {
                (format!("MISMATCH: {v}"), true)
            }
        }
        _ => (
            "MISMATCH: no diagnostics to compare (a run failed)".into(),
            true,
        ),
    }
}

pub fn run(env: &Env) -> Result<bool> {
    let out_dir = env.out_dir("listener")?;
    let (dir, policy, entry_points) = prepare(env)?;
    let stats = corpus::stats(&dir)?;
    eprintln!("listener: {} .rs files, {} lines", stats.files, stats.lines);
    let (edit_rel, edit_line, edit_fn) = edit_site(&dir, &entry_points)?;
    let edit_path = dir.join(&edit_rel);
    let original = fs::read_to_string(&edit_path)
        .map_err(|e| format!("reading {}: {e}", edit_path.display()))?;

    let load = bench::check_load();
    let mut rows = Vec::new();
    let (outcome, baseline) = bench::run_baseline(&dir, &out_dir, env.jobs, env.timeout);
    rows.push(progress(Row::new(
        "(a)",
        "baseline: bare parallel syn::parse_file",
        outcome,
    )));
    let mut lint = env.lint(&dir, &policy, &out_dir, &dir);
    let b = lint.run("b-cold", true, &[]);
    rows.push(progress(Row::new("(b)", "cold: --no-cache", b)));
    let c = lint.run("c-cold-no-prefilter", true, &["--no-prefilter".into()]);
    rows.push(progress(Row::new(
        "(c)",
        "cold: --no-cache --no-prefilter",
        c,
    )));

    let cache_dir = env.bench_dir.join("listener-cache");
    if cache_dir.exists() {
        fs::remove_dir_all(&cache_dir)
            .map_err(|e| format!("removing {}: {e}", cache_dir.display()))?;
    }
    let cache_args: [OsString; 2] = ["--cache-dir".into(), cache_dir.into()];
    let fill = lint.run("d0-fill", false, &cache_args);
    rows.push(progress(Row::new(
        "(d0)",
        "--cache-dir, empty cache (fills it)",
        fill,
    )));
    let warm = lint.run("d-warm", false, &cache_args);
    rows.push(progress(Row::new(
        "(d)",
        "warm: cache filled, nothing changed",
        warm,
    )));
    let edit_what = format!(
        "warm after editing one fn body ({edit_rel}:{}, fn {edit_fn})",
        edit_line + 1
    );
    {
        let _restore = Restore {
            path: &edit_path,
            text: &original,
        };
        fs::write(&edit_path, edited(&original, edit_line))
            .map_err(|e| format!("writing {}: {e}", edit_path.display()))?;
        let e = lint.run("e-warm-edit", false, &cache_args);
        rows.push(progress(Row::new("(e)", &edit_what, e)));
    }
    let mut pre_args = cache_args.to_vec();
    pre_args.push("--report-only".into());
    let f = lint.run_on("f-pre-commit", false, &pre_args, &edit_path);
    rows.push(progress(Row::new(
        "(f)",
        &format!(
            "pre-commit: --report-only {edit_rel} (edit undone: 1 file differs from the cache)"
        ),
        f,
    )));

    // The summary: ratios with the goals, RSS, the diagnostics checks.
    let mut summary = vec![
        (
            "cold (b)/(a)".to_string(),
            ratio_line(&rows, "(b)", Some(GOAL_COLD)),
        ),
        (
            "cold, no prefilter (c)/(a)".into(),
            ratio_line(&rows, "(c)", None),
        ),
        (
            "warm (d)/(a)".into(),
            ratio_line(&rows, "(d)", Some(GOAL_WARM)),
        ),
        (
            "warm after edit (e)/(a)".into(),
            ratio_line(&rows, "(e)", Some(GOAL_EDIT)),
        ),
        (
            "pre-commit (f)".into(),
            match wall(&rows, "(f)") {
                Some(s) => format!(
                    "{s:.3} s wall (goal <= {GOAL_PRECOMMIT_S} s: {})",
                    met(s <= GOAL_PRECOMMIT_S)
                ),
                None => "n/a (the run failed)".into(),
            },
        ),
    ];
    let lint_rows = ["(b)", "(c)", "(d0)", "(d)", "(e)", "(f)"];
    let rss = |id: &str| rss_mib(&rows, id).map_or("n/a".to_string(), |m| format!("{m:.1} MiB"));
    let peak = lint_rows
        .iter()
        .filter(|id| **id != "(c)")
        .filter_map(|id| rss_mib(&rows, id))
        .fold(0.0, f64::max);
    let goal_mib = GOAL_RSS_MB * 1e6 / 1048576.0;
    summary.push((
        "peak RSS".into(),
        format!(
            "cold (b) {}, warm (d) {}, largest of the default-mode rows {peak:.1} MiB \
             (goal <= {GOAL_RSS_MB} MB = {goal_mib:.0} MiB: {}); --no-prefilter (c) {}",
            rss("(b)"),
            rss("(d)"),
            met(peak > 0.0 && peak <= goal_mib),
            rss("(c)"),
        ),
    ));
    let cold = report::find(&rows, "(b)").and_then(|r| r.outcome.diagnostics());
    let mut mismatch = false;
    for id in ["(c)", "(d0)", "(d)", "(e)"] {
        let (v, bad) = check(&rows, id, cold);
        mismatch |= bad;
        summary.push((format!("diagnostics {id} vs (b)"), v));
    }
    let cold_in_file: Option<Vec<Value>> = cold.map(|d| {
        d.iter()
            .filter(|d| d["path"] == edit_rel.as_str())
            .cloned()
            .collect()
    });
    let (v, bad) = check(&rows, "(f)", cold_in_file.as_deref());
    mismatch |= bad;
    summary.push((format!("diagnostics (f) vs (b) in {edit_rel}"), v));
    if let (Some(files), Some(d)) = (
        baseline.as_ref().and_then(|v| v["files"].as_u64()),
        report::find(&rows, "(b)").map(|r| &r.outcome),
    ) {
        let linted = lint_files(&out_dir.join("b-cold.stdout"));
        if d.measured().is_some() {
            summary.push((
                "files".into(),
                format!(
                    "(a) parsed {files}, the lint linted {}",
                    linted.map_or("n/a".into(), |n| n.to_string())
                ),
            ));
        }
    }
    summary.push(("entry points".into(), entry_points.join(", ")));

    let input = report::Input {
        case: "listener",
        corpus: &dir,
        stats,
        lint_bin: &env.lint_bin,
        jobs: env.jobs,
        threads: baseline.as_ref().and_then(|v| v["threads"].as_u64()),
        baseline_parse_errors: baseline.as_ref().and_then(|v| v["parse_errors"].as_u64()),
        commit: bench::git_commit(&env.root),
        load,
        rows: &rows,
    };
    env.report(&input, &summary, "report-listener.md", &out_dir)?;
    if mismatch {
        eprintln!("listener: MISMATCH: a mode's diagnostics differ from the cold run (see above)");
    }
    let failed = rows
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. }));
    Ok(!failed && !mismatch)
}

/// `summary.files` of a JSON report.
fn lint_files(stdout: &Path) -> Option<u64> {
    let v: Value = serde_json::from_str(&fs::read_to_string(stdout).ok()?).ok()?;
    v["summary"]["files"].as_u64()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_edit_keeps_every_line() {
        let text = "fn a() {\n    x();\n}\r\nimpl S {\n    async fn run(\n        self,\n    ) -> R {\n        y\n    }\n}\n";
        let e = edited(text, 6);
        assert_eq!(e.lines().count(), text.lines().count());
        assert!(e.contains("    ) -> R { let _bench_edit = ();\n"));
        assert_eq!(
            edited(text, 0).split('\n').next(),
            Some("fn a() { let _bench_edit = ();")
        );
        assert!(edited(text, 2).contains("} let _bench_edit = ();\r\n"));

        let tmp = std::env::temp_dir().join(format!("xtask-listener-{}", std::process::id()));
        fs::create_dir_all(tmp.join("src/net")).unwrap();
        fs::write(tmp.join("src/net/a.rs"), text).unwrap();
        let eps = ["Missing::nope".to_string(), "S::run".to_string()];
        assert_eq!(
            edit_site(&tmp, &eps).unwrap(),
            ("src/net/a.rs".to_string(), 6, "run".to_string())
        );
        assert!(edit_site(&tmp, &eps[..1]).is_err());
        let _ = fs::remove_dir_all(&tmp);
    }
}
