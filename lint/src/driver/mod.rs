//! The driver's core: the one in-memory entry point of the analysis, [`analyze`].
//!
//! ```text
//! files (Vfs) → plan (from the rules' needs) → parse + facts (large-stack pool) → index
//!             → rules → levels + suppressions → byte ranges → Outcome
//! ```
//!
//! [`analyze`] is what the CLI (through [`crate::run_tuned`]: discovery, the disk [`Vfs`], the
//! facts cache on disk), the tests, the fuzz target and an editor server call; nobody assembles
//! the pipeline by hand. Modules: [`plan`] (the planner: which file is parsed how deeply, from
//! the rules' declared needs), [`files`] (the per-file stage), [`vfs`] (where bytes come from).
//!
//! Invariants: the analysis does no I/O except through the [`Vfs`] and [`FactsCache`] it is
//! given, and sets no process-wide state (the allocator belongs to the binaries); the per-file
//! comments and directives stay here and reach the rules through [`crate::rules::Context`], not
//! the index; levels come from [`Levels`] only.

pub(crate) mod files;
mod memo;
pub(crate) mod plan;
mod vfs;

use std::path::{Path, PathBuf};
use std::time::Instant;

use channel_lint_policy::{Level, LoadedPolicy, PolicyError};
use rayon::prelude::*;

use crate::cache::FactsCache;
use crate::diagnostic::{Diagnostic, Severity, Sink, Span, TextRange};
use crate::index::{FileData, Index};
use crate::rules::{self, Levels};
use crate::source::LineIndex;
use crate::workspace::Package;
use crate::{cache, suppress, Outcome, RunError};
use plan::{Demand, Mode, Planner, RewriteMeta, Status};
pub use vfs::{DiskVfs, MemoryVfs, Vfs};

/// Stack size for parser threads: syn and our walkers recurse once per nesting level.
const STACK_SIZE: usize = 256 << 20;

/// What to analyse.
#[derive(Clone, Copy)]
pub struct Request<'a> {
    /// The lint root: diagnostics' paths are relative to it.
    pub root: &'a Path,
    /// The files (absolute, sorted, no duplicates).
    pub files: &'a [PathBuf],
    /// The packages that name crates (see [`crate::discover`]); files outside them belong to
    /// a crate named by their layout.
    pub packages: &'a [Package],
    pub policy: &'a LoadedPolicy,
    /// `--explain-path FN` (every file is parsed).
    pub explain_path: Option<&'a str>,
    /// `--list-functions PATTERN`: the functions it matches, instead of running the rules
    /// (every file is parsed).
    pub list_functions: Option<&'a str>,
    /// Parse only the files that can hold a finding (see [`plan`]). It never changes the
    /// findings, with one documented exception: a grammar error in a lexically sound file that
    /// no rule needs facts from is not reported.
    pub prefilter: bool,
    /// Read the files parsed in full as item skeletons and parse a function body only when a
    /// rule reads it ([`crate::skeleton`]). It never changes the findings, with the same kind of
    /// exception as the prefilter's: a grammar error inside a body no rule reads is not
    /// reported (one inside a body a rule reads is, as the file's `parse-error`).
    pub lazy_bodies: bool,
    /// With a cache: return the cache's run record when its key matches this run's inputs,
    /// and keep this run's result as the record ([`memo`]). Never changes the findings.
    pub run_record: bool,
    /// Worker threads (None: all cores).
    pub jobs: Option<usize>,
    /// Print the plan on stderr (`CHANNEL_LINT_DEBUG_PLAN`).
    pub debug_plan: bool,
}

impl<'a> Request<'a> {
    /// Every file parsed, all cores, no explanation.
    pub fn new(root: &'a Path, files: &'a [PathBuf], policy: &'a LoadedPolicy) -> Request<'a> {
        Request {
            root,
            files,
            packages: &[],
            policy,
            explain_path: None,
            list_functions: None,
            prefilter: false,
            lazy_bodies: false,
            run_record: false,
            jobs: None,
            debug_plan: false,
        }
    }
}

/// The worker threads files are parsed and walked on (syn and the walkers recurse once per
/// nesting level: [`STACK_SIZE`]); `jobs`: None for one per core. `init` parses on it too.
pub(crate) fn parser_pool(jobs: Option<usize>) -> Result<rayon::ThreadPool, RunError> {
    rayon::ThreadPoolBuilder::new()
        .num_threads(jobs.unwrap_or(0))
        .stack_size(STACK_SIZE)
        .build()
        .map_err(|e| RunError::Io(format!("cannot start worker threads: {e}")))
}

/// `--list-functions PATTERN`: each function the pattern matches (as an entry point), its
/// qualified name and file:line; or that none does, with the nearest names.
fn list_functions(index: &Index, pattern: &str) -> String {
    use std::fmt::Write as _;
    let segments: Vec<String> = pattern.split("::").map(str::to_string).collect();
    let hits = crate::semantics::reach::functions_matching(index, &segments);
    let mut out = String::new();
    if hits.is_empty() {
        let _ = writeln!(
            out,
            "no function matches `{pattern}` (matched as a suffix of `module::fn` or `Type::method`)"
        );
        let all: Vec<_> = index
            .all_fns()
            .map(|f| (f, index.qualified_fn_name(f)))
            .collect();
        for n in crate::semantics::reach::nearest_names(index, &all, &segments) {
            let _ = writeln!(out, "nearest: {n}");
        }
    }
    for (f, q) in hits {
        let _ = writeln!(
            out,
            "{}  {}",
            q.join("::"),
            crate::semantics::reach::fn_location(index, f)
        );
    }
    out
}

fn internal_error_problem(rel: &str) -> Diagnostic {
    Diagnostic::new(
        rules::PARSE_ERROR.id,
        rel,
        Span { line: 1, column: 1, end_line: 1, end_column: 1 },
        "internal error of channel-lint while reading this file (please report it); the file was not checked",
    )
}

/// The files of a run, read, planned and parsed: their facts (in [`FileData`]), comments and
/// directives (by file), the generated ones, and the problems found reading them.
struct Loaded {
    files: Vec<FileData>,
    comments: Vec<crate::source::Lexed>,
    directives: Vec<Vec<suppress::Directive>>,
    generated: std::collections::HashSet<String>,
    sink: Sink,
    /// The cache entries to write (none without a cache), and what rewriting one takes.
    fresh: Vec<(String, u64, Vec<u8>)>,
    rewrite: Vec<Option<RewriteMeta>>,
}

/// Read, plan and parse `req.files` (the front half of [`analyze`]; `demand` says how deeply),
/// with the facts `cache` when given (its new entries are handed to it).
/// `read`: the files' texts when the caller read them already (in the request's order).
#[allow(clippy::too_many_arguments)]
fn load<'v>(
    req: &Request,
    demand: Demand,
    vfs: &'v dyn Vfs,
    cache: Option<&dyn FactsCache>,
    pool: &'v rayon::ThreadPool,
    read: Option<Vec<memo::Read<'v>>>,
    lap: &mut dyn FnMut(&'static str, &mut Outcome),
    outcome: &mut Outcome,
) -> Loaded {
    let mut planner = Planner::probe(demand, req, vfs, cache, pool, read);
    lap("read+prefilter", outcome);
    planner.plan_and_parse();
    if req.debug_plan {
        planner.print_plan();
    }
    lap("parse", outcome);
    // Encoded now; written after the rules, with the entries of the files whose deferred
    // bodies the rules parsed encoded again (`store`).
    let (fresh, rewrite) = if cache.is_some() {
        (planner.fresh_entries(), planner.rewrite_meta())
    } else {
        (Vec::new(), Vec::new())
    };

    let mut sink = Sink::default();
    let n = planner.files.len();
    let mut files = Vec::with_capacity(n);
    let mut comments = Vec::with_capacity(n);
    let mut directives = Vec::with_capacity(n);
    let mut generated: std::collections::HashSet<String> = Default::default();
    for s in planner.files {
        if s.generated {
            generated.insert(s.rel.clone());
        }
        let mut data = FileData {
            is_test_path: crate::cfg::is_test_path(&s.rel),
            rel: s.rel,
            abs: s.path,
            facts: crate::facts::FileFacts::empty(),
        };
        let (mut lexed, mut dirs) = (Default::default(), Vec::new());
        let problem = match s.status {
            Status::Unreadable(d) => Some(*d),
            Status::Crashed => {
                data.is_test_path = false;
                Some(internal_error_problem(&data.rel))
            }
            Status::Readable(None) => None,
            Status::Readable(Some(p)) => {
                data.facts = p.facts;
                lexed = p.lexed;
                dirs = p.directives;
                p.problem
                    .map(|(span, msg)| Diagnostic::new(rules::PARSE_ERROR.id, &data.rel, span, msg))
            }
        };
        if let Some(d) = problem {
            sink.push(d);
        }
        files.push(data);
        comments.push(lexed);
        directives.push(dirs);
    }
    Loaded {
        files,
        comments,
        directives,
        generated,
        sink,
        fresh,
        rewrite,
    }
}

/// Hand the run's cache entries to `cache`: `fresh` (encoded after the parse) and, encoded
/// again now, those of the files whose deferred bodies the rules parsed, so that the next run
/// decodes them instead of parsing them again; and the run record, `run`.
#[allow(clippy::too_many_arguments)]
fn store(
    cache: &mut dyn FactsCache,
    mut fresh: Vec<(String, u64, Vec<u8>)>,
    run: Option<(u64, Vec<u8>)>,
    rewrite: &[Option<RewriteMeta>],
    files: &[FileData],
    comments: &[crate::source::Lexed],
    directives: &[Vec<suppress::Directive>],
    pool: &rayon::ThreadPool,
) -> Result<(), String> {
    let again: Vec<(String, u64, Vec<u8>)> = pool.install(|| {
        (0..files.len())
            .into_par_iter()
            .filter_map(|i| {
                let meta = rewrite.get(i)?.as_ref()?;
                let f = &files[i];
                if !f.facts.bodies.parsed_deferred() {
                    return None;
                }
                let entry = cache::EntryRef {
                    unsafe_check: meta.unsafe_check,
                    parsed: Some(cache::ParsedRef {
                        mode: Mode::Full,
                        facts: &f.facts,
                        lexed: &comments[i],
                        directives: &directives[i],
                        problem: &meta.problem,
                        trimmed_to: &meta.trimmed_to,
                    }),
                };
                Some((f.rel.clone(), meta.hash, cache::encode_ref(&entry)))
            })
            .collect()
    });
    if !again.is_empty() {
        let redone: std::collections::HashSet<&str> = again.iter().map(|e| e.0.as_str()).collect();
        fresh.retain(|e| !redone.contains(e.0.as_str()));
        fresh.extend(again);
    }
    cache.put(fresh, run)
}

/// Every file of `req` parsed in full, as [`analyze`] parses it (the same reading, recovery,
/// large-stack workers and parse-error handling; prefilter off, no cache, `req.explain_path`
/// and `req.list_functions` ignored), the workspace index built, and `f` run on it on the
/// large-stack pool: the analysis up to the rules, for a command that asks its own questions of
/// the semantic model (`init`). The files' problems (`parse-error`s) are the lint's to report;
/// here an unparsable file or item simply has no facts.
pub fn with_index<R: Send>(
    req: &Request,
    vfs: &dyn Vfs,
    f: impl FnOnce(&Index) -> R + Send,
) -> Result<R, RunError> {
    let pool = parser_pool(req.jobs)?;
    let levels = Levels::new(req.policy);
    let demand = Demand::new(req.policy, &levels, false);
    let mut outcome = Outcome::default();
    let loaded = load(
        req,
        demand,
        vfs,
        None,
        &pool,
        None,
        &mut |_, _| {},
        &mut outcome,
    );
    let files = &loaded.files;
    let run = || f(&Index::build(files, req.packages, req.root));
    pool.install(|| std::panic::catch_unwind(std::panic::AssertUnwindSafe(run)))
        .map_err(|_| {
            RunError::Io("internal error while reading the workspace (please report it)".into())
        })
}

/// Analyse `req.files`, reading them from `vfs`, with the facts `cache` when given (the run's
/// new entries are handed to it at the end). `files_linted`, `diagnostics`, `explanation`,
/// `cache_note` and `timings` of the outcome are filled; `skipped` and `excluded` are
/// discovery's.
pub fn analyze(
    req: &Request,
    vfs: &dyn Vfs,
    mut cache: Option<&mut dyn FactsCache>,
) -> Result<Outcome, RunError> {
    let mut outcome = Outcome::default();
    let mut t = Instant::now();
    let mut lap = |name: &'static str, outcome: &mut Outcome| {
        outcome.timings.push((name, t.elapsed()));
        t = Instant::now();
    };
    let pool = parser_pool(req.jobs)?;
    let policy = req.policy;
    let levels = Levels::new(policy);
    let mut demand = Demand::new(
        policy,
        &levels,
        req.prefilter && req.explain_path.is_none() && req.list_functions.is_none(),
    );
    demand.lazy_bodies = req.lazy_bodies;
    // The run record (see [`memo`]): with a cache, and when the run asks for diagnostics only.
    let record = req.run_record
        && cache.is_some()
        && req.explain_path.is_none()
        && req.list_functions.is_none()
        && !req.debug_plan;
    let read = record.then(|| memo::read_all(req, vfs, &pool));
    let key = read.as_deref().map(|r| memo::run_key(req, r));
    if let (Some(key), Some(c)) = (key, cache.as_deref()) {
        if c.run_record(key)
            .is_some_and(|blob| memo::restore(blob, &mut outcome))
        {
            lap("run-record", &mut outcome);
            return Ok(outcome);
        }
    }
    let Loaded {
        files,
        comments,
        directives,
        generated,
        mut sink,
        fresh,
        rewrite,
    } = load(
        req,
        demand,
        vfs,
        cache.as_deref().map(|c| c as &dyn FactsCache),
        &pool,
        read,
        &mut lap,
        &mut outcome,
    );
    outcome.files_linted = files.len();
    let index = Index::build(&files, req.packages, req.root);
    let policy_rel: Vec<Option<String>> =
        files.iter().map(|f| policy.relative_path(&f.abs)).collect();
    lap("index", &mut outcome);

    if let Some(pattern) = req.list_functions {
        outcome.explanation = Some(list_functions(&index, pattern));
        return Ok(outcome);
    }
    let cx = rules::Context::new(&index, policy, &policy_rel, &levels, &comments, &directives);
    // Rules run on a big stack too (type evaluation recurses over nested expressions).
    let explanation = pool.install(|| {
        std::panic::catch_unwind(std::panic::AssertUnwindSafe(
            || -> Result<_, PolicyError> {
                let took = rules::run_all(&cx, &mut sink)?;
                Ok((
                    took,
                    req.explain_path.and_then(|f| rules::explain_path(&cx, f)),
                ))
            },
        ))
    });
    let explanation = explanation.map_err(|_| {
        RunError::Io("internal error while running the rules (please report it)".into())
    })?;
    let (took, explanation) = explanation.map_err(RunError::Policy)?;
    outcome.explanation = explanation;
    // A body parsed for a rule that syn rejected: the file's grammar error, as a whole parse
    // would have reported it (the first one; the function was read as having no body).
    for f in &files {
        if let Some((span, msg)) = f
            .facts
            .bodies
            .failures()
            .min_by_key(|(s, _)| (s.line, s.column))
        {
            sink.push(Diagnostic::new(
                rules::PARSE_ERROR.id,
                &f.rel,
                *span,
                msg.clone(),
            ));
        }
    }
    lap("rules", &mut outcome);
    outcome.rule_timings = took;

    let level = |rule: &str| levels.of(rule);
    let with_level = |mut d: Diagnostic| -> Option<Diagnostic> {
        match level(d.rule) {
            Level::Off => return None,
            Level::Warn => d.severity = Severity::Warning,
            Level::Error => d.severity = Severity::Error,
        }
        Some(d)
    };
    outcome.left_to_clippy = sink.left_to_clippy;
    let used = std::mem::take(&mut sink.used_directives);
    let diags: Vec<Diagnostic> = sink
        .diagnostics
        .into_iter()
        .filter_map(with_level)
        .collect();
    let dirs: Vec<(&str, &[suppress::Directive])> = files
        .iter()
        .zip(&directives)
        .map(|(f, d)| (f.rel.as_str(), d.as_slice()))
        .collect();
    let known = rules::ids();
    let diags = suppress::apply(diags, &dirs, &level, &known, &used);
    let mut diags: Vec<Diagnostic> = diags.into_iter().filter_map(with_level).collect();
    diags.sort_by(|a, b| a.sort_key().cmp(&b.sort_key()));
    diags.dedup_by(|a, b| a.sort_key() == b.sort_key());
    // Generated files are indexed but not reported on (unless the policy asks).
    outcome.generated_files = generated.len();
    if !policy.policy.analysis.lint_generated && !generated.is_empty() {
        let before = diags.len();
        diags.retain(|d| !generated.contains(&d.path));
        outcome.generated_findings = before - diags.len();
    }
    drop(dirs); // cx ends its borrows here too (its last use is above)
    drop(index);
    fill_ranges(&mut diags, &files, vfs, &pool);
    lap("suppress", &mut outcome);
    if let Some(cache) = cache.as_mut() {
        let run = key.map(|k| (k, memo::encode(&outcome, &diags)));
        let r = store(
            &mut **cache,
            fresh,
            run,
            &rewrite,
            &files,
            &comments,
            &directives,
            &pool,
        );
        if let Err(e) = r {
            outcome.cache_note = Some(format!("the facts cache was not written: {e}"));
        }
        lap("cache-store", &mut outcome);
    }
    // The facts are done with. Freeing a workspace's facts is a tenth of a warm run's work,
    // and nothing waits for it: it happens on a thread of its own, while the report is
    // written.
    drop_in_background((files, comments, directives));
    outcome.diagnostics = diags;
    Ok(outcome)
}

/// Drop `value` on a thread of its own (at once, if no thread can be started): for large
/// structures nobody reads again, whose freeing would otherwise be on the caller's path. A
/// process that exits first lets the OS reclaim the memory instead.
fn drop_in_background<T: Send + 'static>(value: T) {
    // A thread that cannot start drops its closure, and so the value, here.
    let _ = std::thread::Builder::new()
        .name("channel-lint-free".into())
        .spawn(move || drop(value));
}

/// Give every diagnostic without a byte range the range of its span, read from its file's
/// text. `diags` is sorted by path, so each file is read once (only files with findings).
fn fill_ranges(
    diags: &mut [Diagnostic],
    files: &[FileData],
    vfs: &dyn Vfs,
    pool: &rayon::ThreadPool,
) {
    let abs: std::collections::HashMap<&str, &Path> = files
        .iter()
        .map(|f| (f.rel.as_str(), f.abs.as_path()))
        .collect();
    let mut runs: Vec<&mut [Diagnostic]> = diags.chunk_by_mut(|a, b| a.path == b.path).collect();
    pool.install(|| {
        runs.par_iter_mut().for_each(|run| {
            if run.iter().all(|d| d.range.is_some()) {
                return;
            }
            let Some(path) = abs.get(run[0].path.as_str()) else {
                return;
            };
            let Ok(bytes) = vfs.read(path) else {
                return;
            };
            // A file that is not UTF-8 has one diagnostic, at its start: the valid prefix holds
            // every offset there is to find.
            let text = match std::str::from_utf8(&bytes) {
                Ok(t) => t,
                Err(e) => std::str::from_utf8(&bytes[..e.valid_up_to()]).unwrap_or_default(),
            };
            let idx = LineIndex::new(text);
            for d in run.iter_mut().filter(|d| d.range.is_none()) {
                let s = idx.offset(text, d.span.line, d.span.column);
                let e = idx.offset(text, d.span.end_line, d.span.end_column).max(s);
                d.range = Some(TextRange::new(s as u32, e as u32));
            }
        })
    });
}

#[cfg(test)]
mod tests {
    use super::*;

    fn policy(toml: &str, root: &Path) -> LoadedPolicy {
        let policy =
            channel_lint_policy::parse_str(toml, "channel-lint.toml", root, &rules::ids()).unwrap();
        LoadedPolicy {
            policy,
            origin: channel_lint_policy::Origin::Default,
            base_dir: root.to_path_buf(),
            source_text: None,
            hash: 0,
        }
    }

    #[test]
    fn analysis_in_memory_gives_byte_ranges() {
        let root = PathBuf::from("/mem");
        let mut vfs = MemoryVfs::new();
        let text = "// é\nfn f() {\n    unsafe { g() }\n}\n";
        vfs.insert(root.join("src/lib.rs"), text);
        vfs.insert(root.join("src/bad.rs"), b"fn a() {}\n\xff".to_vec());
        let files = vfs.paths();
        let p = policy("", &root);
        for prefilter in [false, true] {
            let req = Request {
                prefilter,
                ..Request::new(&root, &files, &p)
            };
            let out = analyze(&req, &vfs, None).unwrap();
            assert_eq!(out.files_linted, 2);
            let got: Vec<(&str, &str, Option<TextRange>)> = out
                .diagnostics
                .iter()
                .map(|d| (d.rule, d.path.as_str(), d.range))
                .collect();
            let at = text.find("unsafe").unwrap() as u32;
            assert_eq!(
                got,
                [
                    ("parse-error", "src/bad.rs", Some(TextRange::new(0, 0))),
                    (
                        "undocumented-unsafe",
                        "src/lib.rs",
                        Some(TextRange::new(at, at + 6))
                    ),
                ],
                "prefilter {prefilter}"
            );
        }
    }

    /// Demand-driven bodies: a body a rule reads that syn rejects is the file's `parse-error`
    /// (the findings elsewhere in the file stay); one no rule reads is only seen with the
    /// bodies parsed eagerly, where the whole item is lost with it.
    #[test]
    fn a_grammar_error_in_a_body_is_reported_when_a_rule_reads_the_body() {
        let root = PathBuf::from("/mem");
        let mut vfs = MemoryVfs::new();
        let lib = "pub async fn listen(tx: tokio::sync::mpsc::Sender<u8>) {\n    loop {\n        \
                   tx.send(1).await.ok();\n        helper();\n    }\n}\n\
                   fn helper() {\n    let = ;\n}\n\
                   fn unread() {\n    let = ;\n}\n";
        vfs.insert(root.join("src/lib.rs"), lib);
        let files = vfs.paths();
        let p = policy("[listener]\nentry-points = [\"listen\"]\n", &root);
        let run = |lazy_bodies: bool| {
            let req = Request {
                prefilter: true,
                lazy_bodies,
                ..Request::new(&root, &files, &p)
            };
            let out = analyze(&req, &vfs, None).unwrap();
            out.diagnostics
                .iter()
                .map(|d| (d.rule, d.span.line))
                .collect::<Vec<_>>()
        };
        assert_eq!(
            run(true),
            [("listener-send-await", 3), ("parse-error", 8)],
            "helper is read (it is called on the listener path), unread is not"
        );
        // Parsed whole, syn's first error is the file's and the functions that do not parse
        // (`helper`, `unread`) are dropped; the finding in `listen` stays.
        assert_eq!(run(false), [("listener-send-await", 3), ("parse-error", 8)]);
    }

    /// A store in memory, for the tests: the entries, and the run record.
    #[derive(Default)]
    struct MemCache(
        std::collections::HashMap<String, (u64, Vec<u8>)>,
        Option<(u64, Vec<u8>)>,
    );

    impl FactsCache for MemCache {
        fn get(&self, rel: &str, h: u64) -> Option<&[u8]> {
            self.0.get(rel).filter(|e| e.0 == h).map(|e| e.1.as_slice())
        }
        fn run_record(&self, key: u64) -> Option<&[u8]> {
            self.1
                .as_ref()
                .filter(|r| r.0 == key)
                .map(|r| r.1.as_slice())
        }
        fn put(
            &mut self,
            fresh: Vec<(String, u64, Vec<u8>)>,
            run: Option<(u64, Vec<u8>)>,
        ) -> Result<(), String> {
            for (rel, h, blob) in fresh {
                self.0.insert(rel, (h, blob));
            }
            self.1 = run;
            Ok(())
        }
    }

    /// The bodies a run's rules parsed are written back lowered: the next run decodes them
    /// instead of parsing them again; the others stay deferred in the cache.
    #[test]
    fn the_cache_keeps_the_bodies_the_rules_parsed() {
        let root = PathBuf::from("/mem");
        let mut vfs = MemoryVfs::new();
        let lib = "pub async fn listen(tx: tokio::sync::mpsc::Sender<u8>) {\n    loop {\n        \
                   tx.send(1).await.ok();\n    }\n}\n\
                   fn unread() {\n    work();\n}\n";
        vfs.insert(root.join("src/lib.rs"), lib);
        let files = vfs.paths();
        let p = policy("[listener]\nentry-points = [\"listen\"]\n", &root);
        let req = Request {
            prefilter: true,
            lazy_bodies: true,
            ..Request::new(&root, &files, &p)
        };
        let mut cache = MemCache::default();
        let mut outs = Vec::new();
        for _ in 0..2 {
            let out = analyze(&req, &vfs, Some(&mut cache)).unwrap();
            outs.push(format!("{:?}", out.diagnostics));
            let entry = cache::decode(&cache.0["src/lib.rs"].1).unwrap();
            let facts = entry.parsed.unwrap().facts;
            let idx = |name: &str| facts.fns.iter().position(|f| f.name == name).unwrap();
            assert!(
                !facts.bodies.is_deferred(idx("listen")),
                "read by the rule: kept lowered"
            );
            assert!(
                facts.bodies.is_deferred(idx("unread")),
                "never read: still deferred"
            );
        }
        assert_eq!(outs[0], outs[1]);
        assert!(outs[0].contains("listener-send-await"));
    }

    /// `with_index` parses every file in full (prefilter or not, whatever the rules need) with
    /// the lint's recovery: a file with an item syn cannot read keeps its other items, a file
    /// that is not UTF-8 has no facts, and the functions of every file are in the index.
    #[test]
    fn with_index_parses_every_file_in_full() {
        let root = PathBuf::from("/mem");
        let mut vfs = MemoryVfs::new();
        vfs.insert(
            root.join("src/lib.rs"),
            "pub fn a() {}\nfn broken() { let = ; }\npub fn b() {}\n",
        );
        vfs.insert(root.join("src/plain.rs"), "pub async fn c() { loop {} }\n");
        vfs.insert(root.join("src/bad.rs"), b"fn d() {}\n\xff".to_vec());
        let files = vfs.paths();
        let p = policy("[rules]\nundocumented-unsafe = \"off\"\n", &root);
        let req = Request {
            prefilter: true,
            ..Request::new(&root, &files, &p)
        };
        let mut names = with_index(&req, &vfs, |index| {
            index
                .all_fns()
                .map(|f| index.fn_facts(f).name.clone())
                .collect::<Vec<_>>()
        })
        .unwrap();
        names.sort();
        assert_eq!(names, ["a", "b", "c"]);
    }
}
