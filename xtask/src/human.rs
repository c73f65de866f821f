//! The `human` case of `bench` (issue 14): how the human output scales with the number of
//! findings. A generated crate (`target/bench-corpus/human/`, its own workspace) holds one file
//! with [`FINDINGS`] undocumented `unsafe` blocks (no generated-code header, so they are all
//! reported); the lint runs on it with `--format human` and with `--format json`, each
//! [`REPEAT`] times, and the best wall time of each is kept. The summary gives human/JSON
//! (goal: <= 2x). With `--before-bin PATH` the same two rows are also run with that binary
//! (an older build, such as the parent of the commit that made the output linear), in the
//! same run, so the before and after figures are comparable.

use std::fs;
use std::path::{Path, PathBuf};

use crate::bench::{self, progress, Env};
use crate::lint::Outcome;
use crate::report::{self, Row};
use crate::{corpus, Result};

/// Findings in the generated file.
pub const FINDINGS: usize = 4000;
/// Runs per row; the fastest counts.
const REPEAT: usize = 3;
const GOAL: f64 = 2.0;

/// The generated file: `n` functions, each with an `unsafe` block and no `SAFETY:` comment.
pub fn source(n: usize) -> String {
    let mut s = String::from("//! Bench input: one undocumented `unsafe` block per function.\n\n");
    for i in 0..n {
        s.push_str(&format!(
            "pub fn read_{i}(p: *const u8) -> u8 {{\n    let offset = {i} % 7;\n    unsafe {{ *p.add(offset) }}\n}}\n\n"
        ));
    }
    s
}

fn prepare(env: &Env) -> Result<(PathBuf, PathBuf)> {
    let dir = env.bench_dir.join("human");
    fs::create_dir_all(dir.join("src")).map_err(|e| format!("creating {}: {e}", dir.display()))?;
    let write =
        |p: PathBuf, t: &str| fs::write(&p, t).map_err(|e| format!("writing {}: {e}", p.display()));
    write(
        dir.join("Cargo.toml"),
        "[package]\nname = \"human-output-bench\"\nversion = \"0.0.0\"\nedition = \"2021\"\n\n[workspace]\n",
    )?;
    write(dir.join("src/lib.rs"), &source(FINDINGS))?;
    let policy = dir.join("bench-policy.toml");
    write(
        policy.clone(),
        "# Written by `cargo run -p xtask -- bench --case human`: the defaults.\n",
    )?;
    Ok((dir, policy))
}

/// The fastest of [`REPEAT`] runs of `lint` as `row`.
fn best(lint: &mut crate::lint::Lint, row: &str) -> Outcome {
    let mut best: Option<Outcome> = None;
    for i in 0..REPEAT {
        let o = lint.run(&format!("{row}-{i}"), true, &[]);
        let faster = match (best.as_ref().and_then(Outcome::measured), o.measured()) {
            (None, _) => true,
            (Some(b), Some(m)) => m.wall < b.wall && matches!(o, Outcome::Ran { .. }),
            (Some(_), None) => false,
        };
        if matches!(o, Outcome::Failed { .. }) {
            return o;
        }
        if faster {
            best = Some(o);
        }
    }
    best.expect("REPEAT > 0")
}

fn wall(rows: &[Row], id: &str) -> Option<f64> {
    match &report::find(rows, id)?.outcome {
        Outcome::Ran { m, .. } => Some(m.wall.as_secs_f64()),
        _ => None,
    }
}

/// Human and JSON rows of one binary: (human row, json row).
fn pair(
    env: &Env,
    bin: &Path,
    dir: &Path,
    policy: &Path,
    out_dir: &Path,
    tag: &str,
) -> (Outcome, Outcome) {
    let mut lint = env.lint(dir, policy, out_dir, dir);
    lint.bin = bin.to_path_buf();
    lint.format = "human";
    let human = best(&mut lint, &format!("{tag}-human"));
    lint.format = "json";
    let json = best(&mut lint, &format!("{tag}-json"));
    (human, json)
}

fn ratio(rows: &[Row], h: &str, j: &str) -> String {
    match (wall(rows, h), wall(rows, j)) {
        (Some(h), Some(j)) => {
            let r = h / j.max(1e-9);
            format!(
                "{r:.2}x ({h:.3} s human, {j:.3} s JSON; goal <= {GOAL}x: {})",
                if r <= GOAL { "met" } else { "not met" }
            )
        }
        _ => "n/a (a run failed)".into(),
    }
}

pub fn run(env: &Env, before: Option<&Path>) -> Result<bool> {
    let out_dir = env.out_dir("human")?;
    let (dir, policy) = prepare(env)?;
    let stats = corpus::stats(&dir)?;
    let load = bench::check_load();
    let mut rows = Vec::new();
    let (h, j) = pair(env, &env.lint_bin, &dir, &policy, &out_dir, "h");
    rows.push(progress(Row::new(
        "(h)",
        &format!("--format human, best of {REPEAT}"),
        h,
    )));
    rows.push(progress(Row::new(
        "(j)",
        &format!("--format json, best of {REPEAT}"),
        j,
    )));
    if let Some(bin) = before {
        let bin = std::path::absolute(bin).map_err(|e| format!("{}: {e}", bin.display()))?;
        let (h, j) = pair(env, &bin, &dir, &policy, &out_dir, "before");
        rows.push(progress(Row::new(
            "(h0)",
            &format!("--before-bin, --format human, best of {REPEAT}"),
            h,
        )));
        rows.push(progress(Row::new(
            "(j0)",
            &format!("--before-bin, --format json, best of {REPEAT}"),
            j,
        )));
    }
    let mut summary = vec![("human/JSON (h)/(j)".to_string(), ratio(&rows, "(h)", "(j)"))];
    if let Some(bin) = before {
        summary.push(("before: (h0)/(j0)".into(), ratio(&rows, "(h0)", "(j0)")));
        summary.push(("before binary".into(), bin.display().to_string()));
    }
    let findings = report::find(&rows, "(j)")
        .and_then(|r| r.outcome.diagnostics())
        .map_or("n/a".into(), |d| d.len().to_string());
    summary.push((
        "findings in (j)".into(),
        format!("{findings} (generated: {FINDINGS})"),
    ));
    let human_bytes = fs::metadata(out_dir.join("h-human-0.stdout")).map_or(0, |m| m.len());
    summary.push(("human output".into(), format!("{human_bytes} bytes")));
    let input = report::Input {
        case: "human",
        corpus: &dir,
        stats,
        lint_bin: &env.lint_bin,
        jobs: env.jobs,
        threads: None,
        baseline_parse_errors: None,
        commit: bench::git_commit(&env.root),
        load,
        rows: &rows,
    };
    env.report(&input, &summary, "report-human.md", &out_dir)?;
    Ok(!rows
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. })))
}

#[cfg(test)]
mod tests {
    #[test]
    fn one_unsafe_block_per_function() {
        let s = super::source(3);
        assert_eq!(s.matches("unsafe {").count(), 3);
        assert!(!s.contains("SAFETY"));
        assert!(!s.to_lowercase().contains("generated"));
    }
}
