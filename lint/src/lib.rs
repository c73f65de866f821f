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

pub mod baseline;
pub mod cache;
pub mod cli;
pub mod diagnostic;
pub mod discover;
pub mod facts;
pub mod index;
pub mod init;
pub mod parse;
pub mod prefilter;
pub mod report;
pub mod rules;
pub mod semantics;
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

// syn builds and drops millions of small allocations from several threads at once; mimalloc
// does that markedly faster than the system allocator (see docs/performance.md).
#[global_allocator]
static ALLOC: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// Stack size for parser threads: syn and our walkers recurse once per nesting level.
const STACK_SIZE: usize = 256 << 20;

/// Performance settings of a run. They never change its findings, only its cost, with one
/// documented exception: with the prefilter on, a grammar error in a lexically sound file that
/// no rule needs facts from is not reported (see [`prefilter`]).
#[derive(Debug, Clone, Default)]
pub struct Tuning {
    /// Parse only the files that can hold a finding (the CLI's default; `--no-prefilter` turns
    /// it off). See [`prefilter`].
    pub prefilter: bool,
    /// The facts cache folder (None: no cache; the CLI's default is
    /// `<root>/target/channel-lint-cache`). See [`cache`].
    pub cache: Option<PathBuf>,
}

struct Processed {
    data: FileData,
    problem: Option<Diagnostic>,
}

fn whole_file_problem(rel: &str, msg: String) -> Diagnostic {
    let mut d = Diagnostic::new(
        rules::PARSE_ERROR.id,
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
fn read_source(path: &Path, rel: &str) -> Result<String, Box<Diagnostic>> {
    let bytes = std::fs::read(path)
        .map_err(|e| Box::new(whole_file_problem(rel, format!("cannot read file: {e}"))))?;
    String::from_utf8(bytes).map_err(|e| {
        let at = e.utf8_error().valid_up_to();
        Box::new(whole_file_problem(
            rel,
            format!("file is not valid UTF-8 (invalid byte at offset {at})"),
        ))
    })
}

fn is_test_path(rel: &str) -> bool {
    let parts: Vec<&str> = rel.split('/').collect();
    parts[..parts.len().saturating_sub(1)]
        .iter()
        .any(|c| *c == "tests" || *c == "benches")
}

/// The per-file stage for a file that is parsed: syn parse, facts, comments and directives.
/// `mode`: [`prefilter::Mode::Unsafe`] keeps only the `unsafe` sites; `collect_paths`: the file
/// is in a banned-type's scope; `directive_text`: the file may hold directives (else its
/// comments are only lexed when it has `unsafe` sites, their only other reader).
fn process_file(
    text: &str,
    mode: prefilter::Mode,
    collect_paths: bool,
    directive_text: bool,
    markers: &[channel_lint_policy::ExemptionMarker],
) -> cache::Parsed {
    let mut lexed = Default::default();
    let mut directives = Vec::new();
    if directive_text || mode == prefilter::Mode::Unsafe {
        lexed = source::lex(text);
    }
    if directive_text {
        directives = suppress::directives(&lexed, markers);
    }
    // For `unsafe` sites only, parse just the items that can hold a finding (positions kept).
    let partial = match mode {
        prefilter::Mode::Unsafe => prefilter::unsafe_items_text(text, &lexed)
            .map(|t| parse::parse_file(&t))
            .filter(|(file, error)| file.is_some() && error.is_none()),
        _ => None,
    };
    // A file with an item syn cannot read still has its other items checked (see `parse`).
    let (parsed, error) = partial.unwrap_or_else(|| parse::parse_file(text));
    let problem = error.map(|e| {
        let mut span = Span::from_pm2(e.span());
        span.end_line = span.line;
        span.end_column = span.column + 1;
        (span, format!("cannot parse: {e}"))
    });
    let mut facts = match parsed {
        Some(file) => {
            let opts = facts::ExtractOptions {
                collect_paths: collect_paths && mode == prefilter::Mode::Full,
            };
            let mut facts = if mode == prefilter::Mode::Unsafe {
                facts::extract_unsafe_only(&file)
            } else {
                facts::extract(&file, opts)
            };
            drop(file);
            if !facts.unsafe_sites.is_empty() {
                let idx = source::LineIndex::new(text);
                for site in &mut facts.unsafe_sites {
                    if let Some((l, c)) = site.open_brace {
                        let off = idx.offset(text, l, c) + 1;
                        site.inside_comment = rules::undocumented_unsafe::inside_comment(text, off);
                    }
                }
            }
            facts
        }
        None => facts::FileFacts::empty(),
    };
    // proc-macro2 keeps every parsed text and its line table in a thread-local source map;
    // nothing holds a span any more, so let it go (this is most of the memory of a big run).
    proc_macro2::extra::invalidate_current_thread_spans();
    if mode == prefilter::Mode::Unsafe {
        facts = unsafe_only(facts);
    }
    if facts.unsafe_sites.is_empty() {
        lexed = Default::default();
    } else if !directive_text && mode != prefilter::Mode::Unsafe {
        lexed = source::lex(text);
    }
    cache::Parsed {
        mode,
        facts,
        lexed,
        directives,
        problem,
        trimmed_to: None,
    }
}

/// Facts reduced to what the undocumented-unsafe rule reads.
fn unsafe_only(facts: facts::FileFacts) -> facts::FileFacts {
    let mut f = facts::FileFacts::empty();
    f.unsafe_sites = facts.unsafe_sites;
    f
}

fn internal_error_problem(rel: &str) -> Diagnostic {
    Diagnostic::new(
        rules::PARSE_ERROR.id,
        rel,
        Span { line: 1, column: 1, end_line: 1, end_column: 1 },
        "internal error of channel-lint while reading this file (please report it); the file was not checked",
    )
}

/// What the run knows about one discovered file while it plans.
struct FileState {
    path: PathBuf,
    rel: String,
    /// xxh3 of the bytes (0 without a cache).
    hash: u64,
    /// Unreadable or not UTF-8: final, never parsed.
    read_problem: Option<Diagnostic>,
    cached: Option<cache::Entry>,
    /// Index of its package in the run's package list (`usize::MAX`: none).
    pkg: usize,
    directive: bool,
    listener_marker: bool,
    /// Contains a banned-type trigger word.
    trigger: bool,
    /// In the scope of an active `[[banned-type]]`.
    in_scope: bool,
    check: Option<prefilter::UnsafeCheck>,
    mode: prefilter::Mode,
    parsed: Option<cache::Parsed>,
    /// A panic in our code while processing it.
    internal_error: bool,
    /// Something was computed this run that the cache does not have yet.
    fresh: bool,
}

/// The deepest package holding `abs` (`by_dir`: package folder → index), or `usize::MAX`.
fn package_index(abs: &Path, by_dir: &std::collections::HashMap<&Path, usize>) -> usize {
    abs.ancestors()
        .skip(1)
        .find_map(|a| by_dir.get(a).copied())
        .unwrap_or(usize::MAX)
}

/// Read and probe one file (parallel part of the prefilter).
fn probe_file(
    path: &Path,
    opts: &Options,
    setup: &prefilter::Setup,
    cache: Option<&cache::Cache>,
    by_dir: &std::collections::HashMap<&Path, usize>,
) -> FileState {
    let rel = rel_path(&opts.root, path);
    let mut st = FileState {
        path: path.to_path_buf(),
        rel,
        hash: 0,
        read_problem: None,
        cached: None,
        pkg: package_index(path, by_dir),
        directive: false,
        listener_marker: false,
        trigger: false,
        in_scope: false,
        check: None,
        mode: prefilter::Mode::Skip,
        parsed: None,
        internal_error: false,
        fresh: false,
    };
    st.in_scope = setup.has_bans()
        && opts
            .policy
            .relative_path(path)
            .is_some_and(|r| setup.in_scope(&opts.policy, &r));
    let text = match read_source(path, &st.rel) {
        Ok(t) => t,
        Err(d) => {
            st.read_problem = Some(*d);
            return st;
        }
    };
    let b = text.as_bytes();
    if let Some(c) = cache {
        st.hash = cache::content_hash(b);
        st.cached = c.get(&st.rel, st.hash);
    }
    st.directive = setup.directive_in(b);
    st.listener_marker = prefilter::contains(b, b"listener-entry");
    st.trigger = setup.trigger_in(b);
    if setup.prefilter {
        st.check = match st.cached.as_ref().and_then(|e| e.unsafe_check) {
            Some(c) => Some(c),
            None => {
                st.fresh = true;
                Some(prefilter::check_file(&text, setup.check_unsafe))
            }
        };
    }
    st
}

/// Parse one file in `mode` (or take its cached result when that is good enough).
fn parse_state(
    st: &FileState,
    mode: prefilter::Mode,
    opts: &Options,
    need_untrimmed: bool,
    words: &[String],
) -> Result<(cache::Parsed, bool), Box<Diagnostic>> {
    if let Some(p) = st.cached.as_ref().and_then(|e| e.parsed.as_ref()) {
        let paths_ok = match &p.trimmed_to {
            None => true,
            Some(w) => !need_untrimmed && words.iter().all(|x| w.contains(x)),
        };
        if p.mode >= mode && paths_ok {
            let mut p = p.clone();
            if mode == prefilter::Mode::Unsafe && p.mode == prefilter::Mode::Full {
                p.facts = unsafe_only(p.facts);
                p.mode = mode;
                if p.facts.unsafe_sites.is_empty() {
                    p.lexed = Default::default();
                }
            }
            return Ok((p, false));
        }
    }
    let text = read_source(&st.path, &st.rel)?;
    let p = process_file(
        &text,
        mode,
        st.in_scope,
        st.directive,
        &opts.policy.policy.exemption_markers,
    );
    Ok((p, true))
}

/// Read, prefilter and parse every discovered file: the per-file stage of [`run`].
fn stage_files(
    opts: &Options,
    tuning: &Tuning,
    found: &discover::Discovered,
    pool: &rayon::ThreadPool,
    outcome: &mut Outcome,
    lap: &mut dyn FnMut(&'static str, &mut Outcome),
) -> Vec<Processed> {
    use prefilter::Mode;
    let cache = tuning
        .cache
        .as_ref()
        .map(|d| cache::Cache::load(d, opts.policy.hash));
    if cache.is_some() {
        lap("cache-load", outcome);
    }
    let mut setup = prefilter::Setup::new(
        &opts.policy,
        tuning.prefilter && opts.explain_path.is_none(),
    );
    let packages = &found.packages;
    let by_dir: std::collections::HashMap<&Path, usize> = packages
        .iter()
        .enumerate()
        .map(|(i, p)| (p.dir.as_path(), i))
        .collect();
    let mut states: Vec<FileState> = pool.install(|| {
        found
            .files
            .par_iter()
            .map(|p| probe_file(p, opts, &setup, cache.as_ref(), &by_dir))
            .collect()
    });
    lap("read+prefilter", outcome);

    let parse_all = !setup.prefilter
        || (setup.listener_on
            && (setup.has_entry_points || states.iter().any(|s| s.listener_marker)));
    let need_untrimmed = !setup.prefilter;
    let run_parse = |states: &mut Vec<FileState>, words: &[String]| {
        let todo: Vec<usize> = states
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.read_problem.is_none()
                    && !s.internal_error
                    && s.mode != Mode::Skip
                    && s.parsed.as_ref().is_none_or(|p| p.mode < s.mode)
            })
            .map(|(i, _)| i)
            .collect();
        type Res = Option<Result<(cache::Parsed, bool), Box<Diagnostic>>>;
        let results: Vec<(usize, Res)> = pool.install(|| {
            todo.par_iter()
                .map(|&i| {
                    let st = &states[i];
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        parse_state(st, st.mode, opts, need_untrimmed, words)
                    }));
                    (i, r.ok())
                })
                .collect()
        });
        for (i, r) in results {
            match r {
                Some(Ok((p, fresh))) => {
                    states[i].parsed = Some(p);
                    states[i].fresh |= fresh;
                }
                Some(Err(d)) => states[i].read_problem = Some(*d),
                None => states[i].internal_error = true,
            }
        }
    };
    if parse_all {
        for s in &mut states {
            s.mode = Mode::Full;
        }
        run_parse(&mut states, &[]);
    } else {
        for s in &mut states {
            if s.directive {
                s.mode = Mode::Full;
            }
        }
        // banned-type: whole packages of trigger files; workspace crates that a path to a
        // trigger goes through and that name a trigger package; alias names as new triggers;
        // to a fixpoint.
        let ident = |pi: usize| packages[pi].name.replace('-', "_");
        let mut full_pkgs = std::collections::HashSet::new();
        let mut refs_seen = std::collections::HashSet::new();
        let mut refs: Vec<String> = Vec::new();
        loop {
            let mut grew = false;
            let mut trigger_pkgs = std::collections::HashSet::new();
            for s in &states {
                // Files outside every package form one group of their own (usize::MAX).
                if s.trigger {
                    trigger_pkgs.insert(s.pkg);
                    grew |= full_pkgs.insert(s.pkg);
                }
            }
            for s in &mut states {
                if s.mode != Mode::Full && (s.trigger || full_pkgs.contains(&s.pkg)) {
                    s.mode = Mode::Full;
                    grew = true;
                }
            }
            run_parse(&mut states, setup.words());
            for (i, s) in states.iter().enumerate() {
                if let Some(p) = &s.parsed {
                    if s.trigger && p.mode == Mode::Full && refs_seen.insert(i) {
                        prefilter::crate_refs(&p.facts, setup.words(), &mut refs);
                    }
                }
            }
            refs.sort();
            refs.dedup();
            let candidates: Vec<usize> = (0..packages.len())
                .filter(|pi| !full_pkgs.contains(pi) && refs.binary_search(&ident(*pi)).is_ok())
                .collect();
            if !candidates.is_empty() {
                let mut idents: Vec<String> = trigger_pkgs
                    .iter()
                    .filter(|&&pi| pi != usize::MAX)
                    .map(|&pi| ident(pi))
                    .collect();
                idents.sort();
                idents.dedup();
                let mention = prefilter::Words::new(&idents);
                let hits: Vec<usize> = pool.install(|| {
                    candidates
                        .par_iter()
                        .copied()
                        .filter(|&pi| {
                            states.iter().any(|s| {
                                s.pkg == pi
                                    && s.read_problem.is_none()
                                    && std::fs::read(&s.path).is_ok_and(|b| mention.any_in(&b))
                            })
                        })
                        .collect()
                });
                for pi in hits {
                    grew |= full_pkgs.insert(pi);
                }
            }
            // Aliases of triggers become triggers.
            let mut new_words = Vec::new();
            for s in &states {
                if let Some(p) = &s.parsed {
                    if p.mode == Mode::Full {
                        prefilter::aliases(&p.facts, setup.words(), &mut new_words);
                    }
                }
            }
            new_words.sort();
            new_words.dedup();
            new_words.retain(|w| !setup.words().contains(w));
            if !new_words.is_empty() {
                grew = true;
                let extra = prefilter::Words::new(&new_words);
                setup.add_words(new_words);
                let flags: Vec<bool> = pool.install(|| {
                    states
                        .par_iter()
                        .map(|s| {
                            !s.trigger
                                && s.read_problem.is_none()
                                && std::fs::read(&s.path).is_ok_and(|b| extra.any_in(&b))
                        })
                        .collect()
                });
                for (s, f) in states.iter_mut().zip(flags) {
                    s.trigger |= f;
                }
            }
            if !grew {
                break;
            }
        }
        // undocumented-unsafe and lexically broken files.
        for s in &mut states {
            if s.mode == Mode::Skip && s.check.is_some_and(|c| c.needs_parse) {
                s.mode = Mode::Unsafe;
            }
        }
        run_parse(&mut states, setup.words());
        // Path facts: only occurrences naming a trigger can be findings.
        let words = setup.words().to_vec();
        for s in &mut states {
            if let Some(p) = &mut s.parsed {
                if p.mode == Mode::Full && p.trimmed_to.is_none() {
                    s.fresh = true;
                    p.facts
                        .paths
                        .retain(|o| o.path.iter().any(|seg| words.contains(seg)));
                    p.trimmed_to = Some(words.clone());
                }
            }
        }
    }
    if std::env::var_os("CHANNEL_LINT_DEBUG_PLAN").is_some() {
        let mut by_mode = std::collections::BTreeMap::new();
        for s in &states {
            let e = by_mode
                .entry(format!("{:?}", s.mode))
                .or_insert((0usize, 0u64));
            e.0 += 1;
            e.1 += std::fs::metadata(&s.path).map_or(0, |m| m.len());
        }
        let mut pk: Vec<&str> = states
            .iter()
            .filter(|s| s.mode == Mode::Full && s.pkg != usize::MAX)
            .map(|s| packages[s.pkg].name.as_str())
            .collect();
        pk.sort();
        pk.dedup();
        eprintln!(
            "plan: {by_mode:?} words {:?} full packages {pk:?}",
            setup.words()
        );
        for s in states.iter().filter(|s| s.mode == Mode::Unsafe) {
            eprintln!("plan-unsafe: {}", s.path.display());
        }
    }
    lap("parse", outcome);

    if let Some(cache) = cache {
        let fresh: Vec<(String, u64, Vec<u8>)> = pool.install(|| {
            states
                .par_iter()
                .filter(|s| s.fresh && s.read_problem.is_none() && !s.internal_error)
                .map(|s| {
                    let cached = s.cached.as_ref();
                    let entry = cache::Entry {
                        unsafe_check: s.check.or(cached.and_then(|e| e.unsafe_check)),
                        parsed: s
                            .parsed
                            .clone()
                            .or_else(|| cached.and_then(|e| e.parsed.clone())),
                    };
                    (s.rel.clone(), s.hash, cache::Cache::encode(&entry))
                })
                .collect()
        });
        if let Err(e) = cache.store(fresh) {
            outcome.cache_note = Some(format!("the facts cache was not written: {e}"));
        }
        lap("cache-store", outcome);
    }

    states
        .into_iter()
        .map(|s| {
            let mut data = FileData {
                is_test_path: is_test_path(&s.rel),
                rel: s.rel,
                abs: s.path,
                facts: facts::FileFacts::empty(),
                lexed: Default::default(),
                directives: Vec::new(),
            };
            let mut problem = s.read_problem;
            if s.internal_error {
                data.is_test_path = false;
                problem = Some(internal_error_problem(&data.rel));
            } else if let Some(p) = s.parsed {
                data.facts = p.facts;
                data.lexed = p.lexed;
                data.directives = p.directives;
                if let Some((span, msg)) = p.problem {
                    problem = Some(Diagnostic::new(rules::PARSE_ERROR.id, &data.rel, span, msg));
                }
            }
            Processed { data, problem }
        })
        .collect()
}

/// Run the whole pipeline with the default [`Tuning`]: every file parsed, no cache (what the
/// fixture tests and library callers get).
pub fn run(opts: &Options) -> Result<Outcome, RunError> {
    run_tuned(opts, &Tuning::default())
}

/// Run the whole pipeline.
pub fn run_tuned(opts: &Options, tuning: &Tuning) -> Result<Outcome, RunError> {
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
    let processed = stage_files(opts, tuning, &found, &pool, &mut outcome, &mut lap);

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

#[cfg(test)]
mod tests {
    use super::*;

    /// A file removed between discovery and read (or unreadable) becomes a diagnostic, not a panic.
    #[test]
    fn a_file_that_cannot_be_read_is_a_diagnostic() {
        let dir = tempfile::tempdir().unwrap();
        let gone = dir.path().join("gone.rs");
        let d = read_source(&gone, "gone.rs").unwrap_err();
        assert_eq!(d.rule, rules::PARSE_ERROR.id);
        assert!(d.message.starts_with("cannot read file"), "{}", d.message);
        std::fs::write(&gone, b"fn a() {}\n\xc3\x28").unwrap();
        let d = read_source(&gone, "gone.rs").unwrap_err();
        assert!(d.message.contains("not valid UTF-8"), "{}", d.message);
    }
}
