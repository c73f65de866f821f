//! channel-lint: a static channel-safety lint for async Rust.
//!
//! The pipeline, one stage per module, data flowing one way:
//!
//! ```text
//! discover → read → lex + parse (syn, large stack) → facts → index → rules → suppress → report
//! ```
//!
//! It never compiles, builds or runs the code it reads: no build scripts, no proc macros,
//! no `cargo metadata`. That is a security property: linting untrusted code is safe.

pub mod diagnostic;
pub mod discover;
pub mod facts;
pub mod index;
pub mod report;
pub mod rules;
pub mod source;
pub mod suppress;

use std::path::{Path, PathBuf};
use std::time::{Duration, Instant};

use channel_lint_policy::{Level, LoadedPolicy, PolicyError};
use rayon::prelude::*;

use diagnostic::{Diagnostic, Severity, Sink, Span};
use index::{FileData, Index};

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
    pub timings: Vec<(&'static str, Duration)>,
    /// The answer to `--explain-path`.
    pub explanation: Option<String>,
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

/// Stack size for parser threads: syn and our walkers recurse once per nesting level.
const STACK_SIZE: usize = 256 << 20;

struct Processed {
    data: FileData,
    problem: Option<Diagnostic>,
}

fn process_file(path: &Path, root: &Path, policy: &LoadedPolicy) -> Processed {
    let rel = rel_path(root, path);
    let policy_rel = policy.relative_path(path);
    let collect_paths = policy_rel
        .as_deref()
        .is_some_and(|r| policy.policy.banned_types.iter().any(|b| b.applies_to(r)));
    let is_test_path = {
        let parts: Vec<&str> = rel.split('/').collect();
        parts[..parts.len().saturating_sub(1)]
            .iter()
            .any(|c| *c == "tests" || *c == "benches")
    };
    let mut data = FileData {
        rel: rel.clone(),
        abs: path.to_path_buf(),
        facts: facts::FileFacts::empty(),
        lexed: Default::default(),
        is_test_path,
        directives: Vec::new(),
    };
    let whole_file = |msg: String| {
        let mut d = Diagnostic::new(
            rules::PARSE_ERROR.id,
            &rel,
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
    };
    let bytes = match std::fs::read(path) {
        Ok(b) => b,
        Err(e) => {
            return Processed {
                data,
                problem: Some(whole_file(format!("cannot read file: {e}"))),
            }
        }
    };
    let text = match String::from_utf8(bytes) {
        Ok(t) => t,
        Err(e) => {
            let at = e.utf8_error().valid_up_to();
            return Processed {
                data,
                problem: Some(whole_file(format!(
                    "file is not valid UTF-8 (invalid byte at offset {at})"
                ))),
            };
        }
    };
    data.lexed = source::lex(&text);
    data.directives = suppress::directives(&data.lexed, &policy.policy.exemption_markers);
    match syn::parse_file(&text) {
        Ok(file) => {
            let mut facts = facts::extract(&file, facts::ExtractOptions { collect_paths });
            drop(file);
            let idx = source::LineIndex::new(&text);
            for site in &mut facts.unsafe_sites {
                if let Some((l, c)) = site.open_brace {
                    let off = idx.offset(&text, l, c) + 1;
                    site.inside_comment = source::comment_right_after(&text, off);
                }
            }
            data.facts = facts;
            Processed {
                data,
                problem: None,
            }
        }
        Err(e) => {
            let span = Span::from_pm2(e.span());
            let mut d = Diagnostic::new(
                rules::PARSE_ERROR.id,
                &rel,
                span,
                format!("cannot parse: {e}"),
            );
            d.span.end_line = d.span.line;
            d.span.end_column = d.span.column + 1;
            Processed {
                data,
                problem: Some(d),
            }
        }
    }
}

fn internal_error(path: &Path, root: &Path) -> Processed {
    let rel = rel_path(root, path);
    let d = Diagnostic::new(
        rules::PARSE_ERROR.id,
        &rel,
        Span { line: 1, column: 1, end_line: 1, end_column: 1 },
        "internal error of channel-lint while reading this file (please report it); the file was not checked",
    );
    Processed {
        data: FileData {
            rel,
            abs: path.to_path_buf(),
            facts: facts::FileFacts::empty(),
            lexed: Default::default(),
            is_test_path: false,
            directives: Vec::new(),
        },
        problem: Some(d),
    }
}

/// Run the whole pipeline.
pub fn run(opts: &Options) -> Result<Outcome, RunError> {
    let mut outcome = Outcome::default();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, outcome: &mut Outcome| {
        outcome.timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    let inputs = if opts.inputs.is_empty() {
        vec![opts.root.clone()]
    } else {
        opts.inputs.clone()
    };
    let found = discover::discover(&inputs, &opts.policy);
    outcome.excluded = found.excluded;
    outcome.skipped = found
        .skipped
        .iter()
        .map(|s| (rel_path(&opts.root, &s.path), s.reason.clone()))
        .collect();
    lap("discover", &mut outcome);

    let pool = rayon::ThreadPoolBuilder::new()
        .num_threads(opts.jobs.unwrap_or(0))
        .stack_size(STACK_SIZE)
        .build()
        .map_err(|e| RunError::Io(format!("cannot start worker threads: {e}")))?;
    let processed: Vec<Processed> = pool.install(|| {
        found
            .files
            .par_iter()
            .map(|p| {
                // A bug in our code for one file must not take the run down: report it, check the rest.
                std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                    process_file(p, &opts.root, &opts.policy)
                }))
                .unwrap_or_else(|_| internal_error(p, &opts.root))
            })
            .collect()
    });
    lap("read+parse", &mut outcome);

    let mut sink = Sink::default();
    let mut files = Vec::with_capacity(processed.len());
    for p in processed {
        if let Some(d) = p.problem {
            sink.push(d);
        }
        files.push(p.data);
    }
    outcome.files_linted = files.len();
    let index = Index::build(&files, &found.packages, &opts.root);
    let policy_rel: Vec<Option<String>> = files
        .iter()
        .map(|f| opts.policy.relative_path(&f.abs))
        .collect();
    lap("index", &mut outcome);

    let cx = rules::Context {
        index: &index,
        policy: &opts.policy,
        policy_rel: &policy_rel,
    };
    // Rules run on a big stack too (type evaluation recurses over nested expressions).
    let explanation = pool.install(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || -> Result<Option<String>, PolicyError> {
                rules::run_all(&cx, &mut sink)?;
                Ok(opts
                    .explain_path
                    .as_ref()
                    .map(|f| rules::listener_send_await::explain_path(&cx, f)))
            },
        ))
    });
    let explanation = explanation.map_err(|_| {
        RunError::Io("internal error while running the rules (please report it)".into())
    })?;
    outcome.explanation = explanation.map_err(RunError::Policy)?;
    lap("rules", &mut outcome);

    let level = |rule: &str| {
        let default = rules::find(rule)
            .map(|r| r.default_level)
            .unwrap_or(Level::Error);
        opts.policy.policy.level(rule, default)
    };
    let mut diags: Vec<Diagnostic> = Vec::new();
    for mut d in sink.diagnostics {
        match level(d.rule) {
            Level::Off => continue,
            Level::Warn => d.severity = Severity::Warning,
            Level::Error => d.severity = Severity::Error,
        }
        diags.push(d);
    }
    let dirs: Vec<(&str, &[suppress::Directive])> = files
        .iter()
        .map(|f| (f.rel.as_str(), f.directives.as_slice()))
        .collect();
    let known = rules::ids();
    let mut diags = suppress::apply(diags, &dirs, &level, &known);
    diags.retain_mut(|d| match level(d.rule) {
        Level::Off => false,
        Level::Warn => {
            d.severity = Severity::Warning;
            true
        }
        Level::Error => {
            d.severity = Severity::Error;
            true
        }
    });
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags.dedup_by(|a, b| a.sort_key() == b.sort_key());
    outcome.diagnostics = diags;
    lap("suppress", &mut outcome);
    Ok(outcome)
}
