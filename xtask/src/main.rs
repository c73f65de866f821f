//! Developer tasks for the channel-lint workspace: `bench` (below) and `lintcheck`
//! (listener-send-await judged on pinned real crates, see `lintcheck.rs`). `bench` vendors
//! the workspace's dependencies into `target/bench-corpus/vendor` (about two million lines of
//! real Rust), then times, in one process run, a bare parallel `syn::parse_file` of every `.rs`
//! file (the baseline, run as a child `xtask parse-baseline DIR` so its peak RSS is measured
//! like the lint's) and `cargo-channel-lint` on the same tree: with `--no-cache`, with
//! `--no-prefilter` added, and a second run on a warm cache. Each child's wall time and peak
//! RSS (from `wait4`) go into a table on stdout and in `target/bench-corpus/report.md`,
//! with the ratios to the baseline and a check that the three lint runs agree on their
//! diagnostics. `docs/performance.md` tells how to run it and what each row means.

mod baseline;
mod bench;
mod corpus;
mod human;
mod lint;
mod lintcheck;
mod listener;
mod measure;
mod report;

use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

const USAGE: &str = "\
usage: cargo run --release -p xtask -- <task>

tasks:
  bench [--case vendor|listener|human|all] [--corpus DIR] [--jobs N] [--lint-bin PATH]
        [--before-bin PATH] [--timeout SECS]
        time a bare syn parse and cargo-channel-lint on real Rust (docs/performance.md):
         vendor: the workspace's vendored dependencies (--corpus DIR instead), no entry points;
         listener: the freenet crate pinned in lintcheck/crates.toml (downloaded with curl)
           with its listener entry points: cold, warm, warm after an edit, pre-commit, RSS;
         human: 4,000 findings in one file, human output against JSON (--before-bin: also
           time an older lint binary);
         all (the default): the three in turn.
        (default lint: built with `cargo build --release -p cargo-channel-lint`;
         each run is killed after --timeout seconds, default 1200)
  lintcheck [--crate NAME] [--lint-bin PATH] [--check] [--markdown]
        listener-send-await on pinned crates.io crates (lintcheck/crates.toml; needs
        network and curl): runs the release lint with each crate's policy
        lintcheck/<crate>/channel-lint.toml and compares with lintcheck/<crate>/judged.toml;
        prints TP, FP, misses, precision, recall and the NEW/GONE diff (docs/evaluation.md).
        --check: exit 1 when a finding is unjudged or a judged one is gone
  help  print this text";

/// Errors are plain messages: every task prints them and exits non-zero.
pub type Result<T> = std::result::Result<T, String>;

/// Which benchmark `bench` runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Case {
    Vendor,
    Listener,
    Human,
    All,
}

impl Case {
    fn parse(s: &str) -> Result<Case> {
        Ok(match s {
            "vendor" => Case::Vendor,
            "listener" => Case::Listener,
            "human" => Case::Human,
            "all" => Case::All,
            _ => {
                return Err(format!(
                    "--case wants vendor, listener, human or all, not `{s}`"
                ))
            }
        })
    }

    /// The cases to run, in order.
    pub fn cases(self) -> Vec<Case> {
        match self {
            Case::All => vec![Case::Vendor, Case::Listener, Case::Human],
            c => vec![c],
        }
    }
}

/// Options of the `bench` task.
#[derive(Debug)]
pub struct BenchArgs {
    pub case: Case,
    /// The vendor case's tree.
    pub corpus: Option<PathBuf>,
    pub jobs: Option<usize>,
    pub lint_bin: Option<PathBuf>,
    /// The human case also times this (older) lint binary.
    pub before_bin: Option<PathBuf>,
    /// Each run is killed after this long.
    pub timeout: Duration,
}

impl Default for BenchArgs {
    fn default() -> Self {
        BenchArgs {
            case: Case::All,
            corpus: None,
            jobs: None,
            lint_bin: None,
            before_bin: None,
            timeout: Duration::from_secs(1200),
        }
    }
}

fn main() -> ExitCode {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let result = match args.first().map(String::as_str) {
        Some("bench") => parse_bench_args(&args[1..]).and_then(|a| bench::run(&a)),
        Some("lintcheck") => parse_lintcheck_args(&args[1..]).and_then(|a| lintcheck::run(&a)),
        // Hidden: the child process of the baseline row.
        Some("parse-baseline") => baseline::main(&args[1..]),
        Some("help" | "-h" | "--help") | None => {
            println!("{USAGE}");
            Ok(ExitCode::SUCCESS)
        }
        Some(other) => Err(format!("unknown task `{other}`\n\n{USAGE}")),
    };
    match result {
        Ok(code) => code,
        Err(message) => {
            eprintln!("xtask: error: {message}");
            ExitCode::from(2)
        }
    }
}

/// Splits `--flag value` and `--flag=value`.
pub fn flag_value<'a>(args: &'a [String], i: &mut usize, name: &str) -> Result<Option<&'a str>> {
    let arg = &args[*i];
    if arg == name {
        *i += 1;
        return args
            .get(*i)
            .map(|v| Some(v.as_str()))
            .ok_or_else(|| format!("{name} needs a value"));
    }
    Ok(arg
        .strip_prefix(name)
        .and_then(|rest| rest.strip_prefix('=')))
}

pub fn parse_jobs(value: &str) -> Result<usize> {
    match value.parse::<usize>() {
        Ok(n) if n > 0 => Ok(n),
        _ => Err(format!("--jobs wants a positive number, not `{value}`")),
    }
}

fn parse_bench_args(args: &[String]) -> Result<BenchArgs> {
    let mut out = BenchArgs::default();
    let mut i = 0;
    while i < args.len() {
        if let Some(v) = flag_value(args, &mut i, "--case")? {
            out.case = Case::parse(v)?;
        } else if let Some(v) = flag_value(args, &mut i, "--corpus")? {
            out.corpus = Some(PathBuf::from(v));
        } else if let Some(v) = flag_value(args, &mut i, "--before-bin")? {
            out.before_bin = Some(PathBuf::from(v));
        } else if let Some(v) = flag_value(args, &mut i, "--jobs")? {
            out.jobs = Some(parse_jobs(v)?);
        } else if let Some(v) = flag_value(args, &mut i, "--lint-bin")? {
            out.lint_bin = Some(PathBuf::from(v));
        } else if let Some(v) = flag_value(args, &mut i, "--timeout")? {
            let secs = parse_jobs(v).map_err(|_| format!("--timeout wants seconds, not `{v}`"))?;
            out.timeout = Duration::from_secs(secs as u64);
        } else if matches!(args[i].as_str(), "-h" | "--help") {
            println!("{USAGE}");
            std::process::exit(0);
        } else {
            return Err(format!("unexpected argument `{}`\n\n{USAGE}", args[i]));
        }
        i += 1;
    }
    Ok(out)
}

fn parse_lintcheck_args(args: &[String]) -> Result<lintcheck::Args> {
    let mut out = lintcheck::Args::default();
    let mut i = 0;
    while i < args.len() {
        if let Some(v) = flag_value(args, &mut i, "--crate")? {
            out.krate = Some(v.to_string());
        } else if let Some(v) = flag_value(args, &mut i, "--lint-bin")? {
            out.lint_bin = Some(PathBuf::from(v));
        } else if args[i] == "--check" {
            out.check = true;
        } else if args[i] == "--markdown" {
            out.markdown = true;
        } else if matches!(args[i].as_str(), "-h" | "--help") {
            println!("{USAGE}");
            std::process::exit(0);
        } else {
            return Err(format!("unexpected argument `{}`\n\n{USAGE}", args[i]));
        }
        i += 1;
    }
    Ok(out)
}
