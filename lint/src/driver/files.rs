//! The per-file stage: lex, directives, parse (syn, on the caller's large-stack thread), facts,
//! and each rule's completion of the facts while the text is in memory; or the cached result of
//! all that when it is good enough.

use std::path::Path;

use channel_lint_policy::ExemptionMarker;

use super::plan::{reportable_unsafe_tokens, Demand, Mode};
use super::vfs::{read_source, Vfs};
use crate::cache;
use crate::diagnostic::{Diagnostic, Span};
use crate::{facts, parse, prefilter, source, suppress};

/// One file to parse, as the planner decided.
pub(crate) struct Job<'a> {
    pub path: &'a Path,
    pub rel: &'a str,
    /// [`Mode::Unsafe`] keeps only the `unsafe` sites.
    pub mode: Mode,
    /// The file is in the scope of a rule that reads path occurrences.
    pub collect_paths: bool,
    /// The file may hold directives (else its comments are only lexed when it has `unsafe`
    /// sites, their only other reader).
    pub directive_text: bool,
    /// Read a file parsed in full as its item skeleton, its bodies parsed when a rule reads
    /// them ([`crate::skeleton`], [`facts::Bodies`]).
    pub lazy_bodies: bool,
    /// The file's text when the probe kept it (a cached entry with deferred bodies).
    pub text: Option<&'a std::sync::Arc<str>>,
}

/// A parse's result (or why the file could not be read) and whether it is new.
pub(crate) type Outcome = Result<(cache::Parsed, bool), Box<Diagnostic>>;

/// Parse one file as `job` asks, or take its cached result when that is good enough. The
/// cached value is moved in and, when it is the answer, moved out without a copy; the third
/// value gives back a cached value that was not consumed (for a deeper mode later in the
/// run). The bool: something was computed, for the cache to store.
pub(crate) fn parse_or_reuse(
    job: &Job,
    cached: Option<cache::Parsed>,
    need_untrimmed: bool,
    words: &[String],
    demand: &Demand,
    markers: &[ExemptionMarker],
    vfs: &dyn Vfs,
) -> (Outcome, Option<cache::Parsed>) {
    if let Some(mut p) = cached {
        let paths_ok = match &p.trimmed_to {
            None => true,
            Some(w) => !need_untrimmed && words.iter().all(|x| w.contains(x)),
        };
        // An entry with bodies left in the text is no answer for a run that parses them all.
        let bodies_ok = job.lazy_bodies || !p.facts.bodies.has_deferred();
        if p.mode >= job.mode && paths_ok && bodies_ok {
            if job.mode == Mode::Unsafe && p.mode == Mode::Full {
                let mut facts = facts::FileFacts::empty();
                facts.unsafe_sites = p.facts.unsafe_sites.clone();
                let lexed = if facts.unsafe_sites.is_empty() {
                    Default::default()
                } else {
                    p.lexed.clone()
                };
                let reduced = cache::Parsed {
                    mode: job.mode,
                    facts,
                    lexed,
                    directives: p.directives.clone(),
                    problem: p.problem.clone(),
                    trimmed_to: p.trimmed_to.clone(),
                };
                return (Ok((reduced, false)), Some(p));
            }
            if p.facts.bodies.has_deferred() {
                let text = match job.text {
                    Some(t) => t.clone(),
                    None => match read_source(vfs, job.path, job.rel) {
                        Ok(t) => std::sync::Arc::from(t.as_ref()),
                        Err(d) => return (Err(d), None),
                    },
                };
                p.facts.bodies.attach_source(text);
            }
            return (Ok((p, false)), None);
        }
        return (parse(job, demand, markers, vfs, words), Some(p));
    }
    (parse(job, demand, markers, vfs, words), None)
}

fn parse(
    job: &Job,
    demand: &Demand,
    markers: &[ExemptionMarker],
    vfs: &dyn Vfs,
    words: &[String],
) -> Outcome {
    let text = read_source(vfs, job.path, job.rel)?;
    Ok((process_file(&text, job, demand, markers, words), true))
}

/// The per-file stage for a file that is parsed: syn parse, facts, comments and directives.
pub(crate) fn process_file(
    text: &str,
    job: &Job,
    demand: &Demand,
    markers: &[ExemptionMarker],
    words: &[String],
) -> cache::Parsed {
    let mode = job.mode;
    let mut lexed = Default::default();
    let mut directives = Vec::new();
    if job.directive_text || mode == Mode::Unsafe {
        lexed = source::lex(text);
    }
    if job.directive_text {
        directives = suppress::directives(&lexed, markers);
    }
    // For `unsafe` sites only, parse just the items that can hold a finding (positions kept).
    let partial = match mode {
        Mode::Unsafe => prefilter::unsafe_items_text(text, |scan| {
            reportable_unsafe_tokens(text, scan, &lexed, &demand.unsafe_rules, false)
        })
        .map(|t| parse::parse_file(&t))
        .filter(|(file, error)| file.is_some() && error.is_none()),
        _ => None,
    };
    let opts = facts::ExtractOptions {
        collect_paths: job.collect_paths && mode == Mode::Full,
    };
    // Bodies no item-level fact depends on are left in the text, for a rule to have parsed
    // when it reads them (of a file whose path occurrences are read, the bodies naming a
    // trigger word are kept: only their occurrences are kept after the parse).
    // (`words` empty: every occurrence is kept, the file is parsed whole)
    let keep: &[String] = if opts.collect_paths { words } else { &[] };
    let skeleton =
        (mode == Mode::Full && job.lazy_bodies && (!opts.collect_paths || !keep.is_empty()))
            .then(|| skeleton_facts(text, opts, demand, keep))
            .flatten();
    let (mut facts, problem) = match skeleton {
        Some(facts) => (facts, None),
        None => whole_facts(text, mode, opts, demand, partial),
    };
    if mode == Mode::Unsafe {
        facts = unsafe_only(facts);
    }
    if facts.unsafe_sites.is_empty() {
        lexed = Default::default();
    } else if !job.directive_text && mode != Mode::Unsafe {
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

/// The facts of `text` parsed whole (or of `partial`, its `unsafe` items' text, already parsed)
/// and the parse error, if any.
fn whole_facts(
    text: &str,
    mode: Mode,
    opts: facts::ExtractOptions,
    demand: &Demand,
    partial: Option<(Option<syn::File>, Option<syn::Error>)>,
) -> (facts::FileFacts, Option<(Span, String)>) {
    // A file with an item syn cannot read still has its other items checked (see `parse`).
    let (parsed, error) = partial.unwrap_or_else(|| parse::parse_file(text));
    let problem = error.map(|e| {
        let mut span = Span::from_pm2(e.span());
        span.end_line = span.line;
        span.end_column = span.column + 1;
        (span, format!("cannot parse: {e}"))
    });
    let facts = match parsed {
        Some(file) => {
            let mut facts = if mode == Mode::Unsafe {
                facts::extract_unsafe_only(&file)
            } else {
                facts::extract(&file, opts)
            };
            drop(file);
            for rule in &demand.active {
                rule.complete_facts(text, &mut facts);
            }
            facts
        }
        None => facts::FileFacts::empty(),
    };
    // proc-macro2 keeps every parsed text and its line table in a thread-local source map;
    // nothing holds a span any more, so let it go (this is most of the memory of a big run).
    proc_macro2::extra::invalidate_current_thread_spans();
    (facts, problem)
}

/// The facts of `text` read as its item skeleton, or `None` when it has none, the skeleton does
/// not parse as a whole (then the whole text is parsed, and its errors are syn's on it), or the
/// scan's guess of where the bodies are is not what syn read.
fn skeleton_facts(
    text: &str,
    opts: facts::ExtractOptions,
    demand: &Demand,
    keep: &[String],
) -> Option<facts::FileFacts> {
    let sk = crate::skeleton::skeleton(text, keep)?;
    let file = syn::parse_file(&sk.text).ok();
    let facts = file
        .as_ref()
        .and_then(|f| facts::extract_skeleton(f, opts, &sk.slots));
    drop(file);
    proc_macro2::extra::invalidate_current_thread_spans();
    let mut facts = facts?;
    for rule in &demand.active {
        rule.complete_facts(text, &mut facts);
    }
    facts.bodies.attach_source(std::sync::Arc::from(text));
    Some(facts)
}

/// Facts reduced to what a rule reading `unsafe` sites reads.
fn unsafe_only(facts: facts::FileFacts) -> facts::FileFacts {
    let mut f = facts::FileFacts::empty();
    f.unsafe_sites = facts.unsafe_sites;
    f
}
