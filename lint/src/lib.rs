//! channel-lint: a static channel-safety lint for async Rust.
//!
//! The pipeline, one stage per module, data flowing one way:
//!
//! ```text
//! discover → plan + read (Vfs) → lex + parse (syn, large stack) → facts → index → rules → suppress → report
//! ```
//!
//! It never compiles, builds or runs the code it reads: no build scripts, no proc macros,
//! no `cargo metadata`. That is a security property: linting untrusted code is safe.

// The public API (what lint/tests, the fuzz target, the binaries and a later editor server use):
// [`run`] / [`run_tuned`] with [`Options`] and [`Tuning`] (the CLI's pipeline on the disk);
// [`driver::analyze`] with [`driver::Request`] and a [`driver::Vfs`] (the in-memory entry
// point); [`Outcome`], [`diagnostic`] and [`report`] (what a run gives and how it is printed);
// [`rules`] (the registry's metadata: ids, levels, docs); [`cache`] (the facts cache on disk);
// [`discover`] and [`workspace`] (the files and packages to analyse); [`source`] (the line index
// and comment lexer, for byte offset ↔ line/column); [`cli`] (the command line
// of both binaries). Everything else is internal to the crate.
pub mod baseline;
pub mod cache;
pub(crate) mod cfg;
pub mod cli;
pub mod diagnostic;
pub mod discover;
pub mod driver;
pub(crate) mod facts;
pub(crate) mod generated;
pub(crate) mod index;
pub(crate) mod init;
pub(crate) mod lexer;
pub(crate) mod parse;
pub(crate) mod prefilter;
pub mod report;
pub mod rules;
pub mod semantics;
pub(crate) mod skeleton;
pub mod source;
pub(crate) mod suppress;
pub mod workspace;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use channel_lint_policy::{LoadedPolicy, PolicyError};

use diagnostic::Diagnostic;

/// Internals exercised on their own by the fuzz target. Not a stable API.
#[doc(hidden)]
pub mod testing {
    pub use crate::driver::plan::unsafe_parse_text;
}

/// What to lint and how.
pub struct Options {
    /// The lint root: diagnostics' paths are relative to it.
    pub root: PathBuf,
    /// Files or folders (absolute); empty means the root.
    pub inputs: Vec<PathBuf>,
    pub policy: LoadedPolicy,
    /// Worker threads (None: all cores).
    pub jobs: Option<usize>,
    /// `--explain-path FN`.
    pub explain_path: Option<String>,
    /// `--list-functions PATTERN`.
    pub list_functions: Option<String>,
}

/// The result of a run.
#[derive(Debug, Default)]
pub struct Outcome {
    /// Sorted by path, line, column.
    pub diagnostics: Vec<Diagnostic>,
    pub files_linted: usize,
    /// (path, reason) of files that could not be linted at all.
    pub skipped: Vec<(String, String)>,
    pub excluded: usize,
    /// Files whose header marks them as generated (`crate::generated`), and the findings in
    /// them that were not reported (0 when the policy sets `lint-generated = true`).
    pub generated_files: usize,
    pub generated_findings: usize,
    /// `unsafe` sites left to an enclosing `#[allow(clippy::undocumented_unsafe_blocks)]`
    /// (not findings; counted in every summary).
    pub left_to_clippy: usize,
    pub timings: Vec<(&'static str, Duration)>,
    /// The rules phase split by rule (id, time), in the order the rules ran.
    pub rule_timings: Vec<(&'static str, Duration)>,
    /// The answer to `--explain-path`.
    pub explanation: Option<String>,
    /// A problem with the facts cache (it never changes the result), for the CLI to mention.
    pub cache_note: Option<String>,
}

/// A problem that stops the run (exit 2).
#[derive(Debug)]
pub enum RunError {
    Policy(PolicyError),
    Io(String),
}

impl std::fmt::Display for RunError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            RunError::Policy(e) => write!(f, "{e}"),
            RunError::Io(e) => write!(f, "{e}"),
        }
    }
}

/// `path` relative to `root` with `/` separators, or as given when outside it.
pub fn rel_path(root: &Path, path: &Path) -> String {
    let p = path.strip_prefix(root).unwrap_or(path);
    p.to_string_lossy().replace('\\', "/")
}

/// Performance settings of a run. They never change its findings, only its cost, with one
/// documented exception: with the prefilter on, a grammar error in a lexically sound file that
/// no rule needs facts from, or inside a function body no rule reads, is not reported (see
/// [`driver::plan`], [`skeleton`]).
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Parse only the files that can hold a finding (the CLI's default; `--no-prefilter` turns
    /// it off). See [`driver::plan`].
    pub prefilter: bool,
    /// Parse a function body only when a rule reads it (the CLI's default; `--eager-bodies` or
    /// `--no-prefilter` turn it off). See [`skeleton`].
    pub lazy_bodies: bool,
    /// With a cache: keep the run's result as the cache's run record, and return the record
    /// when every input is unchanged (the CLI's default; `--no-run-record` turns it off). See
    /// [`driver`]'s `memo`.
    pub run_record: bool,
    /// The facts cache folder (None: no cache; the CLI's default is
    /// `<root>/target/channel-lint-cache`). See [`cache`].
    pub cache: Option<PathBuf>,
}

/// Run the whole pipeline with the default [`Tuning`]: every file parsed, no cache (what the
/// fixture tests and library callers get).
pub fn run(opts: &Options) -> Result<Outcome, RunError> {
    run_tuned(opts, &Tuning::default())
}

/// Run the whole pipeline on the disk: discovery, then [`driver::analyze`] reading files with
/// [`driver::DiskVfs`] and the facts cache of `tuning`.
pub fn run_tuned(opts: &Options, tuning: &Tuning) -> Result<Outcome, RunError> {
    let mut timings = Vec::new();
    let mut t = Instant::now();
    let mut lap = |name: &'static str| {
        timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    let inputs = if opts.inputs.is_empty() {
        vec![opts.root.clone()]
    } else {
        opts.inputs.clone()
    };
    let found = discover::discover(&inputs, &opts.policy);
    lap("discover");
    let mut cache = tuning
        .cache
        .as_ref()
        .map(|d| cache::Cache::load(d, opts.policy.hash));
    if cache.is_some() {
        lap("cache-load");
    }
    let req = driver::Request {
        root: &opts.root,
        files: &found.files,
        packages: &found.packages,
        policy: &opts.policy,
        explain_path: opts.explain_path.as_deref(),
        list_functions: opts.list_functions.as_deref(),
        prefilter: tuning.prefilter,
        lazy_bodies: tuning.lazy_bodies,
        run_record: tuning.run_record,
        jobs: opts.jobs,
        debug_plan: std::env::var_os("CHANNEL_LINT_DEBUG_PLAN").is_some(),
    };
    let cache = cache.as_mut().map(|c| c as &mut dyn cache::FactsCache);
    let mut outcome = driver::analyze(&req, &driver::DiskVfs, cache)?;
    timings.append(&mut outcome.timings);
    outcome.timings = timings;
    outcome.excluded = found.excluded;
    outcome.skipped = found
        .skipped
        .iter()
        .map(|s| (rel_path(&opts.root, &s.path), s.reason.clone()))
        .collect();
    Ok(outcome)
}
