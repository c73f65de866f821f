//! The `bench` task: prepare the corpus, run and measure each row, print and write the report.

use std::ffi::OsString;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode};
use std::time::Duration;

use serde_json::Value;

use crate::lint::{self, Lint, Outcome};
use crate::report::{self, Row};
use crate::{corpus, measure, BenchArgs, Case, Result};

/// The policy of every lint row: default rules, plus one banned type so that the
/// `banned-type` rule has something to look for.
const POLICY: &str = "\
# Written by `cargo run -p xtask -- bench`: the policy of every lint row.
[[banned-type]]
path = \"tokio::net::UdpSocket\"
reason = \"bench\"
";

/// The cargo that runs us (`cargo run` sets `CARGO`), else `cargo` from `PATH`.
pub fn cargo() -> String {
    std::env::var("CARGO").unwrap_or_else(|_| "cargo".into())
}

/// The workspace root: the parent of this crate's folder.
pub fn workspace_root() -> PathBuf {
    let manifest_dir = Path::new(env!("CARGO_MANIFEST_DIR"));
    manifest_dir.parent().unwrap_or(manifest_dir).to_path_buf()
}

fn absolute(path: &Path) -> Result<PathBuf> {
    std::path::absolute(path).map_err(|e| format!("{}: {e}", path.display()))
}

/// What every case shares: where things are, the lint binary, the run options.
pub struct Env {
    pub root: PathBuf,
    pub bench_dir: PathBuf,
    pub lint_bin: PathBuf,
    pub jobs: Option<usize>,
    pub timeout: Duration,
}

impl Env {
    /// The raw stdout/stderr folder of a case (`target/bench-corpus/out/<case>`).
    pub fn out_dir(&self, case: &str) -> Result<PathBuf> {
        let dir = self.bench_dir.join("out").join(case);
        fs::create_dir_all(&dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
        Ok(dir)
    }

    /// A [`Lint`] on `corpus` with `policy`, run from `cwd` (the lint finds its root there).
    pub fn lint(&self, corpus: &Path, policy: &Path, out_dir: &Path, cwd: &Path) -> Lint {
        Lint {
            bin: self.lint_bin.clone(),
            corpus: corpus.to_path_buf(),
            policy: policy.to_path_buf(),
            out_dir: out_dir.to_path_buf(),
            jobs: self.jobs,
            timeout: self.timeout,
            cwd: cwd.to_path_buf(),
            no_cache_supported: true,
            jobs_supported: true,
            format: "json",
        }
    }

    /// Prints the report and writes it as Markdown to `target/bench-corpus/<file>`.
    pub fn report(
        &self,
        input: &report::Input,
        summary: &[(String, String)],
        file: &str,
        out_dir: &Path,
    ) -> Result<()> {
        let (text, markdown) = report::render(input, summary);
        println!("{text}");
        let report_path = self.bench_dir.join(file);
        fs::write(&report_path, markdown)
            .map_err(|e| format!("writing {}: {e}", report_path.display()))?;
        println!("report written to {}", report_path.display());
        println!("raw stdout/stderr of each run in {}\n", out_dir.display());
        Ok(())
    }
}

/// Warns when the machine is busy; returns the load averages for the report header.
pub fn check_load() -> Option<String> {
    let load = load_average();
    if let Some(one_minute) = load.as_deref().and_then(|l| l.split(' ').next()) {
        if one_minute.parse::<f64>().is_ok_and(|l| l > 0.75) {
            eprintln!(
                "warning: load average {one_minute} before the runs: something else is \
                 using the CPU, the numbers will be noisy"
            );
        }
    }
    load
}

pub fn run(args: &BenchArgs) -> Result<ExitCode> {
    if cfg!(debug_assertions) {
        eprintln!(
            "warning: xtask is a debug build, so the baseline row is slow; \
             use `cargo run --release -p xtask -- bench`"
        );
    }
    let root = workspace_root();
    let bench_dir = root.join("target").join("bench-corpus");
    fs::create_dir_all(&bench_dir).map_err(|e| format!("creating {}: {e}", bench_dir.display()))?;
    let lint_bin = match &args.lint_bin {
        Some(path) => absolute(path)?,
        None => lint::build(&root)?,
    };
    let env = Env {
        root,
        bench_dir,
        lint_bin,
        jobs: args.jobs,
        timeout: args.timeout,
    };
    let mut ok = true;
    for case in args.case.cases() {
        ok &= match case {
            Case::Vendor => run_vendor(&env, args)?,
            Case::Listener => crate::listener::run(&env)?,
            Case::Human => crate::human::run(&env, args.before_bin.as_deref())?,
            Case::All => unreachable!("expanded by cases()"),
        };
    }
    Ok(if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    })
}

/// The vendor case: the workspace's vendored dependency tree, default policy plus one banned
/// type (no listener entry points). True when every run ended normally.
fn run_vendor(env: &Env, args: &BenchArgs) -> Result<bool> {
    let (root, bench_dir) = (&env.root, &env.bench_dir);
    let out_dir = env.out_dir("vendor")?;

    // 1. The corpus.
    let corpus_dir = match &args.corpus {
        Some(dir) => {
            let dir = absolute(dir)?;
            if !dir.is_dir() {
                return Err(format!("--corpus {}: not a folder", dir.display()));
            }
            dir
        }
        None => corpus::prepare_vendor(root, bench_dir)?,
    };
    let policy = bench_dir.join("channel-lint.toml");
    fs::write(&policy, POLICY).map_err(|e| format!("writing {}: {e}", policy.display()))?;

    eprintln!("corpus: counting files and lines (and warming the page cache) ...");
    let stats = corpus::stats(&corpus_dir)?;
    eprintln!("corpus: {} .rs files, {} lines", stats.files, stats.lines);

    // 2. The rows, one after the other.
    let load = check_load();
    let mut rows = Vec::new();
    let (outcome, baseline) = run_baseline(&corpus_dir, &out_dir, env.jobs, env.timeout);
    rows.push(progress(Row::new(
        "(a)",
        "baseline: bare parallel syn::parse_file",
        outcome,
    )));

    let mut lint = env.lint(&corpus_dir, &policy, &out_dir, root);
    let b = lint.run("b-lint", true, &[]);
    rows.push(progress(Row::new("(b)", "lint, --no-cache", b)));
    let c = lint.run("c-no-prefilter", true, &["--no-prefilter".into()]);
    rows.push(progress(Row::new(
        "(c)",
        "lint, --no-cache --no-prefilter",
        c,
    )));

    let cache_dir = bench_dir.join("cache");
    if cache_dir.exists() {
        fs::remove_dir_all(&cache_dir)
            .map_err(|e| format!("removing {}: {e}", cache_dir.display()))?;
    }
    let cache_args: [OsString; 2] = ["--cache-dir".into(), cache_dir.into()];
    let fill = lint.run("d-cache-fill", false, &cache_args);
    let warm = match &fill {
        Outcome::Unsupported { flag } => Outcome::Unsupported { flag: flag.clone() },
        _ => lint.run("d-cache-warm", false, &cache_args),
    };
    rows.push(progress(Row::new(
        "(d0)",
        "lint, --cache-dir, 1st run (fills the cache)",
        fill,
    )));
    rows.push(progress(Row::new(
        "(d)",
        "lint, --cache-dir, 2nd run (warm cache)",
        warm,
    )));

    // 3. The report.
    let input = report::Input {
        case: "vendor",
        corpus: &corpus_dir,
        stats,
        lint_bin: &env.lint_bin,
        jobs: env.jobs,
        threads: baseline.as_ref().and_then(|v| v["threads"].as_u64()),
        baseline_parse_errors: baseline.as_ref().and_then(|v| v["parse_errors"].as_u64()),
        commit: git_commit(root),
        load,
        rows: &rows,
    };
    let summary = report::vendor_summary(&input);
    env.report(&input, &summary, "report.md", &out_dir)?;
    Ok(!rows
        .iter()
        .any(|r| matches!(r.outcome, Outcome::Failed { .. })))
}

pub fn progress(row: Row) -> Row {
    let what = match &row.outcome {
        Outcome::Ran { m, .. } => format!("{:.2} s, {}", m.wall.as_secs_f64(), m.exit),
        Outcome::Unsupported { flag } => format!("n/a (flag unsupported: {flag})"),
        Outcome::Failed { why, .. } => format!("FAILED: {why}"),
    };
    eprintln!("{} {}: {what}", row.id, row.what);
    row
}

/// Row (a): this very binary as `xtask parse-baseline <corpus>`, measured like the lint. Also
/// returns the JSON tally the child printed.
pub fn run_baseline(
    corpus: &Path,
    out_dir: &Path,
    jobs: Option<usize>,
    timeout: Duration,
) -> (Outcome, Option<Value>) {
    let exe = match std::env::current_exe() {
        Ok(exe) => exe,
        Err(e) => {
            let why = format!("cannot find the xtask binary: {e}");
            return (
                Outcome::Failed {
                    m: None,
                    why,
                    notes: vec![],
                },
                None,
            );
        }
    };
    let stdout = out_dir.join("a-baseline.stdout");
    let stderr = out_dir.join("a-baseline.stderr");
    let mut cmd = Command::new(exe);
    cmd.arg("parse-baseline").arg(corpus);
    if let Some(n) = jobs {
        cmd.arg("--jobs").arg(n.to_string());
        cmd.env("RAYON_NUM_THREADS", n.to_string());
    }
    let m = match measure::run(&mut cmd, &stdout, &stderr, timeout) {
        Ok(m) => m,
        Err(why) => {
            return (
                Outcome::Failed {
                    m: None,
                    why,
                    notes: vec![],
                },
                None,
            )
        }
    };
    if m.exit != measure::Exit::Code(0) {
        let err = fs::read_to_string(&stderr).unwrap_or_default();
        let why = if m.timed_out {
            format!("timed out after {} s (killed)", timeout.as_secs())
        } else {
            format!("{}: {}", m.exit, lint::excerpt(&err))
        };
        return (
            Outcome::Failed {
                m: Some(m),
                why,
                notes: vec![],
            },
            None,
        );
    }
    let tally: Option<Value> = fs::read_to_string(&stdout)
        .ok()
        .and_then(|s| serde_json::from_str(&s).ok());
    let notes = match &tally {
        Some(t) => vec![format!(
            "{} parsed, {} parse errors, {} not UTF-8",
            t["parsed"], t["parse_errors"], t["not_utf8"]
        )],
        None => vec!["no tally on stdout".into()],
    };
    let outcome = Outcome::Ran {
        m,
        diagnostics: None,
        notes,
    };
    (outcome, tally)
}

/// `git rev-parse --short HEAD`, read-only (`--no-optional-locks`: not even an index refresh), with `-dirty` when the work tree has changes.
pub fn git_commit(root: &Path) -> Option<String> {
    let git = |args: &[&str]| {
        Command::new("git")
            .args(args)
            .current_dir(root)
            .output()
            .ok()
            .filter(|o| o.status.success())
            .map(|o| String::from_utf8_lossy(&o.stdout).trim().to_string())
    };
    let head = git(&["rev-parse", "--short", "HEAD"])?;
    let dirty = git(&[
        "--no-optional-locks",
        "status",
        "--porcelain",
        "--untracked-files=no",
    ])
    .is_some_and(|s| !s.is_empty());
    Some(if dirty { format!("{head}-dirty") } else { head })
}

/// The 1, 5 and 15 minute load averages from `/proc/loadavg`.
fn load_average() -> Option<String> {
    let text = fs::read_to_string("/proc/loadavg").ok()?;
    Some(
        text.split_whitespace()
            .take(3)
            .collect::<Vec<_>>()
            .join(" "),
    )
}
