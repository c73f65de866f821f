//! The planner: from the rules' declared needs ([`crate::rules::Needs`]) and each file's bytes,
//! decide before any parsing how deeply every file is parsed ([`Mode`]): not at all, for its
//! `unsafe` sites only, or in full.
//!
//! Parsing with syn is almost all of a run's time, and on a large tree most files can hold no
//! finding at all. A file that is not parsed gets empty facts ([`crate::facts::FileFacts::empty`]):
//! it still counts as linted, because it provably has no findings. A file's mode is the deepest
//! any need asks of it. The needs, and why each plan is exact (the full write-up is in
//! `docs/performance.md`):
//!
//! * **`unsafe` sites** ([`crate::rules::Needs::unsafe_sites`], undocumented-unsafe) are per
//!   file. Every site syn reports is an `unsafe` keyword token followed by `{` or `impl` (outside
//!   comments and literals), which [`prefilter::scan`] finds with a small byte lexer. The rules
//!   that read sites say per token whether it can be reported without a syntax tree
//!   ([`Rule::may_report_unsafe_site`]); a file none of whose tokens can is not parsed for them,
//!   any other file with a token is parsed ([`Mode::Unsafe`]) and keeps only its `unsafe` sites.
//!   Of such a file only the top-level items that hold a reportable token are parsed
//!   ([`prefilter::unsafe_items_text`] blanks the others, keeping every position).
//! * **lint levels from other files** ([`crate::rules::Needs::module_levels`],
//!   undocumented-unsafe with `honour-clippy-allow`): a site is left to clippy by an
//!   `#[allow(clippy::undocumented_unsafe_blocks)]` on the `mod` declaration that loads its file,
//!   or on one further up the chain, or by a crate root's `#![allow(..)]`
//!   ([`crate::index::Index::file_levels`]). Such a level can only remove findings, and only of
//!   sites that are reportable on their own, whose files are parsed anyway; what must be known is
//!   the chain of `mod` declarations from the crate root down to such a file, with the levels at
//!   each. A level is set only by an attribute naming the lint or its group after the tool
//!   (`clippy::restriction`), and only `allow` or `expect` turns it off: a *level file* holds
//!   such a name and one of those words ([`names_lint`]); without one above a site, a `warn` or
//!   `deny` changes nothing (the rule reports by default). When no file is a level file, or no
//!   file has a reportable site, nothing more is parsed. Otherwise ([`Planner::plan_module_levels`]):
//!   - a `mod` without `#[path]`, or with one whose literal stays below its own file's folder,
//!     loads a file below the declaring file's folder, so every file of a chain ending at a
//!     site's file sits directly in a folder above it (its own included);
//!   - a `#[path]` or `include!` that may leave its file's folder (`..`, an absolute path, a
//!     drive, an escape: [`prefilter::loads`]) may load any file below the folder it climbs to
//!     ([`load_region`]); a chain to such a file may run through the file holding it, so the
//!     folders above that file (and, to a fixpoint, those of the loads whose regions hold it)
//!     are the chain's too;
//!   - a level file's levels reach the files below its *child region* ([`child_region`]): its
//!     folder for a `mod.rs`, a crate root, a file with a `#[path]`/`include!` or a file some
//!     `#[path]` may load (rustc reads such a file's `mod`s from its own folder), else
//!     `its-folder/its-stem/`;
//!   - a site's file needs the chain parsed when a level file sits in one of the chain's folders
//!     and the chain goes on below its child region (or through a load it holds); then every
//!     file directly in those folders is parsed in full, the levels between included.
//! * **path occurrences** ([`crate::rules::Needs::paths`], banned-type) are resolved across
//!   files. A finding's resolved name ends in one of the rule's words or an alias of it (a
//!   renaming `use` or a `type` alias), so only files containing one of those words (*triggers*)
//!   can hold one. Resolving a path walks module structure (`mod` declarations, glob imports,
//!   module re-exports) that may live in files without a trigger, so every file of a package
//!   that holds a trigger file is parsed in full, and so is every workspace package a trigger
//!   file names (as the first segment of a path or `use`). Alias names found in parsed files
//!   become triggers in turn, to a fixpoint ([`Planner::close_over_names`]). Path facts are kept
//!   only for files in a rule's scope, and only the occurrences naming a trigger.
//! * **every file** ([`crate::rules::Needs::every_file`], listener-send-await): a workspace call
//!   graph whose trait dispatch reaches impls in any crate, downstream ones included; when it is
//!   needed (always, or when some file holds the rule's marker), every file is parsed in full.
//!   So is everything under `--explain-path` (the prefilter is off).
//! * **suppressions** (the driver's own need): a file with `channel-lint:` or an exemption-marker
//!   prefix in it is parsed in full, so the directives see exactly the findings a full run gives.
//! * **parse errors**: a file that is not parsed cannot report a grammar error. The scan checks
//!   every file lexically (balanced delimiters, terminated literals and comments); a file that
//!   fails it is parsed, and reports what a full run reports. A grammar error in a lexically
//!   sound file that needs no facts, or in a blanked item, is only reported by `--no-prefilter`.
//!
//! * **bodies** ([`Demand::lazy_bodies`]): a file parsed in full is read as its item skeleton
//!   ([`crate::skeleton`]): the bodies no item-level fact depends on are left in the text and
//!   parsed when a rule reads one ([`crate::facts::Bodies`]). A body holding an item, `unsafe`,
//!   a directive or, in a file whose path occurrences are read, a trigger word is kept; with
//!   the prefilter every plan trims path occurrences to the triggers and their aliases, and a
//!   file read before a later alias was known is parsed again when a blanked body may name it
//!   ([`Planner::finish_paths`]). Without the prefilter path occurrences are not trimmed, so
//!   such a file is parsed whole. A grammar error in a body no rule reads is only reported by
//!   `--eager-bodies` (or `--no-prefilter`).
//!
//! Invariants: a file's mode only grows while planning; a file's bytes are read through the
//! [`Vfs`] (the probe, the parse, and the few re-reads of the name closure), and kept only as
//! the text of a file whose facts hold deferred bodies (they are parsed from it).

use std::path::{Path, PathBuf};

use channel_lint_policy::LoadedPolicy;
use memchr::memmem;
use rayon::prelude::*;

use super::vfs::{read_source, Vfs};
use super::{files, Request};
use crate::cache::{self, FactsCache};
use crate::diagnostic::Diagnostic;
use crate::facts::{FileFacts, UnsafeKind};
use crate::prefilter::{self, has_word, After, LineCols, Scan};
use crate::rules::{EveryFile, Levels, PathNeeds, Rule, UnsafeToken};
use crate::source::{self, Lexed};
use crate::workspace::Package;

/// How a file is processed.
#[derive(
    Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, serde::Serialize, serde::Deserialize,
)]
pub enum Mode {
    /// Not parsed: it cannot hold a finding.
    Skip,
    /// Parsed for its `unsafe` sites only (or to report its parse error).
    Unsafe,
    /// Parsed, every fact kept.
    Full,
}

/// A set of words to look for.
pub(crate) struct Words {
    finders: Vec<memmem::Finder<'static>>,
}

impl Words {
    pub(crate) fn new<S: AsRef<str>>(words: &[S]) -> Self {
        Words {
            finders: words
                .iter()
                .map(|w| memmem::Finder::new(w.as_ref().as_bytes()).into_owned())
                .collect(),
        }
    }

    pub(crate) fn is_empty(&self) -> bool {
        self.finders.is_empty()
    }

    /// Any of the words, as a whole word.
    pub(crate) fn any_in(&self, hay: &[u8]) -> bool {
        self.finders.iter().any(|f| has_word(hay, f))
    }
}

/// The folder below which the files of the modules a file declares lie (a level there reaches
/// them). A `mod x;` of `a/b.rs` loads `a/b/x.rs`; of a `mod.rs`, a crate root (by the index's
/// rule, or any file in a target folder: `bin`, `tests`, `benches`, `examples`) or a file a
/// `#[path]` may load (`mod_rs_like`: rustc reads such a file's `mod`s from its own folder),
/// `a/x.rs`; a `#[path]` or an `include!` in the file itself (`self_loads`) may load any file
/// below its folder (one that leaves it is a load from outside, planned apart). `None` when the
/// path has no folder.
fn child_region(file: &Path, self_loads: bool, mod_rs_like: bool) -> Option<PathBuf> {
    let dir = file.parent()?;
    let name = file.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let dir_name = dir.file_name().and_then(|n| n.to_str()).unwrap_or("");
    let root_like = matches!(name, "mod.rs" | "lib.rs" | "main.rs" | "build.rs")
        || matches!(dir_name, "bin" | "tests" | "benches" | "examples");
    if root_like || self_loads || mod_rs_like {
        return Some(dir.to_path_buf());
    }
    let stem = file.file_stem()?;
    Some(dir.join(stem))
}

/// Does `b` name one of `names` as a lint of `tool` (`clippy::restriction`, blanks around the
/// `::` allowed), as a lint attribute must? Comments and literals are not told apart: a false
/// find only costs parses.
fn names_lint(b: &[u8], tool: &Words, names: &Words) -> bool {
    tool.finders.iter().any(|f| {
        let n = f.needle().len();
        f.find_iter(b).any(|pos| {
            if pos > 0 && crate::lexer::is_ident_byte(b[pos - 1]) {
                return false;
            }
            let skip = |mut i: usize| {
                while b.get(i).is_some_and(|c| c.is_ascii_whitespace()) {
                    i += 1;
                }
                i
            };
            let i = skip(pos + n);
            if b.get(i..i + 2) != Some(b"::".as_slice()) {
                return false;
            }
            let start = skip(i + 2);
            let end = start
                + b[start..]
                    .iter()
                    .take_while(|&&c| crate::lexer::is_ident_byte(c))
                    .count();
            end > start && names.finders.iter().any(|w| w.needle() == &b[start..end])
        })
    })
}

/// The folders above `f`, its own first.
fn above(f: &Path) -> impl Iterator<Item = &Path> {
    f.ancestors().skip(1)
}

/// The folder below which a load from outside written in `file` (`lit`, as written; `None`: not
/// readable) may find its file: the file's folder with as many levels taken off as the literal
/// climbs (a `mod` in an inline module starts deeper, and so climbs no higher). `None`: anywhere
/// (an absolute path, a drive, an escape, or a climb above the root).
fn load_region(file: &Path, lit: Option<&str>) -> Option<PathBuf> {
    let lit = lit?;
    let b = lit.as_bytes();
    let drive = b.len() >= 3 && b[0].is_ascii_alphabetic() && b[1] == b':' && b[2] == b'/';
    if lit.starts_with('/') || lit.contains('\\') || drive {
        return None;
    }
    let (mut depth, mut lowest) = (0i64, 0i64);
    let dir_part = Path::new(lit).parent().unwrap_or(Path::new(""));
    for c in dir_part.components() {
        match c {
            std::path::Component::ParentDir => depth -= 1,
            std::path::Component::Normal(_) => depth += 1,
            _ => {}
        }
        lowest = lowest.min(depth);
    }
    let mut region = file.parent()?.to_path_buf();
    for _ in 0..(-lowest) {
        if !region.pop() {
            return None;
        }
    }
    Some(region)
}

/// The `unsafe` block and impl tokens of `scan` that some rule of `rules` may report (the byte
/// checks do not prove them documented), in order (only the first one when `first_only`).
pub(crate) fn reportable_unsafe_tokens(
    text: &str,
    scan: &Scan,
    lexed: &Lexed,
    rules: &[&dyn Rule],
    first_only: bool,
) -> Vec<usize> {
    let mut at = LineCols::new(text);
    let mut out = Vec::new();
    for &(off, after) in &scan.unsafe_tokens {
        let (kind, brace) = match after {
            After::Brace(b) => (UnsafeKind::Block, Some(b)),
            After::Impl => (UnsafeKind::Impl, None),
            After::Other => continue,
        };
        let (line, column) = at.get(off);
        let token = UnsafeToken {
            line,
            column,
            kind,
            brace,
        };
        if rules
            .iter()
            .any(|r| r.may_report_unsafe_site(text, lexed, &token))
        {
            out.push(off);
            if first_only {
                break;
            }
        }
    }
    out
}

/// The per-file part of the prefilter's verdict on `unsafe`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct UnsafeCheck {
    /// The byte lexer found the file lexically sound.
    pub lexically_ok: bool,
    /// Some `unsafe` block or impl may be reported: parse to know.
    pub needs_parse: bool,
}

/// Check a file for `unsafe` sites that some rule of `unsafe_rules` may report, and for
/// lexical soundness.
pub(crate) fn check_file(text: &str, unsafe_rules: &[&dyn Rule]) -> UnsafeCheck {
    let s = prefilter::scan(text);
    if !s.lexically_ok || prefilter::has_conflict_markers(text.as_bytes()) {
        return UnsafeCheck {
            lexically_ok: false,
            needs_parse: true,
        };
    }
    let any_site = s.unsafe_tokens.iter().any(|(_, a)| *a != After::Other);
    if unsafe_rules.is_empty() || !any_site {
        return UnsafeCheck {
            lexically_ok: true,
            needs_parse: false,
        };
    }
    let lexed = source::lex(text);
    UnsafeCheck {
        lexically_ok: true,
        needs_parse: !reportable_unsafe_tokens(text, &s, &lexed, unsafe_rules, true).is_empty(),
    }
}

/// Names that re-export or rename a trigger: `use a::Trigger as Name;`, `type Name = a::Trigger;`,
/// `extern crate trigger as name;`.
pub(crate) fn aliases(facts: &FileFacts, words: &[String], out: &mut Vec<String>) {
    use crate::facts::{ItemKind, TyRef};
    for scope in &facts.scopes {
        for leaf in &scope.uses {
            if let (Some(name), Some(last)) = (&leaf.name, leaf.path.last()) {
                if name != "_" && name != last && words.contains(last) {
                    out.push(name.clone());
                }
            }
        }
    }
    for item in &facts.items {
        match &item.kind {
            ItemKind::TypeAlias(TyRef::Path { path, .. })
                if path.last().is_some_and(|l| words.contains(l)) =>
            {
                out.push(item.name.clone());
            }
            ItemKind::ExternCrate { original } if words.contains(original) => {
                out.push(item.name.clone());
            }
            _ => {}
        }
    }
}

/// Crate names that a path to a trigger in this file may go through: the first segment of
/// every recorded path and `use` naming a trigger, of every glob `use`, and of every `use` whose
/// name starts a recorded path or `use` naming a trigger (a module alias).
pub(crate) fn crate_refs(facts: &FileFacts, words: &[String], out: &mut Vec<String>) {
    let first = |p: &[String]| -> Option<String> {
        match p.first().map(String::as_str) {
            Some("") => p.get(1).cloned(),
            Some(s) => Some(s.to_string()),
            None => None,
        }
    };
    let names_trigger = |p: &[String]| p.iter().any(|s| words.contains(s));
    let mut heads: Vec<&str> = Vec::new();
    for occ in &facts.paths {
        if names_trigger(&occ.path) {
            out.extend(first(&occ.path));
            heads.extend(occ.path.first().map(String::as_str));
        }
    }
    for scope in &facts.scopes {
        for leaf in &scope.uses {
            if leaf.name.is_none() || names_trigger(&leaf.path) {
                out.extend(first(&leaf.path));
                heads.extend(leaf.path.first().map(String::as_str));
            }
        }
    }
    for scope in &facts.scopes {
        for leaf in &scope.uses {
            if leaf.name.as_deref().is_some_and(|n| heads.contains(&n)) {
                out.extend(first(&leaf.path));
            }
        }
    }
}

/// What the rules that are on need in this run, gathered from their [`crate::rules::Needs`]:
/// the planner's input.
pub(crate) struct Demand<'p> {
    /// Prefiltering is on (off: `--no-prefilter`, or `--explain-path`, which lists functions
    /// of every file): without it every file is parsed in full.
    pub prefilter: bool,
    /// Files parsed in full are read as item skeletons, their bodies parsed when a rule reads
    /// them ([`crate::skeleton`]); off: every body of such a file is parsed with it.
    pub lazy_bodies: bool,
    /// Some rule needs every file parsed, whatever the files say.
    every_file: bool,
    /// ... or when some file contains one of these markers.
    every_file_markers: Vec<&'static [u8]>,
    /// The rules that read `unsafe` sites.
    pub unsafe_rules: Vec<&'static dyn Rule>,
    /// Every rule that is on (each completes the facts of a parsed file).
    pub active: Vec<&'static dyn Rule>,
    /// The path occurrences rules read (each with its scope).
    paths: Vec<PathNeeds<'p>>,
    /// Trigger words: the last segments rules look for, then alias names found.
    words: Vec<String>,
    finders: Words,
    /// `channel-lint:` and the exemption-marker prefixes.
    directive_needles: Vec<Vec<u8>>,
    /// The words of lint-level attributes that reach other files' `unsafe` sites, per rule
    /// ([`crate::rules::Needs::module_levels`]): the tool, the names.
    level_words: Vec<(Words, Words, Words)>,
}

impl<'p> Demand<'p> {
    pub(crate) fn new(policy: &'p LoadedPolicy, levels: &Levels, prefilter: bool) -> Demand<'p> {
        let mut d = Demand {
            prefilter,
            lazy_bodies: false,
            every_file: false,
            every_file_markers: Vec::new(),
            unsafe_rules: Vec::new(),
            active: Vec::new(),
            paths: Vec::new(),
            words: Vec::new(),
            finders: Words::new::<&str>(&[]),
            directive_needles: vec![b"channel-lint:".to_vec()],
            level_words: Vec::new(),
        };
        for m in &policy.policy.exemption_markers {
            d.directive_needles
                .push(m.prefix.trim().as_bytes().to_vec());
        }
        for rule in levels.active() {
            let needs = rule.needs(policy);
            d.active.push(rule);
            match needs.every_file {
                Some(EveryFile::Always) => d.every_file = true,
                Some(EveryFile::IfAnyFileContains(m)) => d.every_file_markers.push(m.as_bytes()),
                Some(EveryFile::IfAnyFileContainsAny(ms)) => {
                    d.every_file_markers.extend(ms.iter().map(|m| m.as_bytes()))
                }
                None => {}
            }
            if needs.unsafe_sites {
                d.unsafe_rules.push(rule);
                if let Some(lw) = needs.module_levels {
                    d.level_words.push((
                        Words::new(&[lw.tool]),
                        Words::new(lw.names),
                        Words::new(lw.allows),
                    ));
                }
            }
            if let Some(p) = needs.paths {
                d.words.extend(p.words.iter().cloned());
                d.paths.push(p);
            }
        }
        d.words.sort();
        d.words.dedup();
        d.finders = Words::new(&d.words);
        d
    }

    fn reads_paths(&self) -> bool {
        !self.paths.is_empty()
    }

    /// Does some rule read the path occurrences of the file at this policy-relative path?
    fn paths_in_scope(&self, rel: &str) -> bool {
        self.paths.iter().any(|p| (p.in_scope)(rel))
    }

    pub(crate) fn words(&self) -> &[String] {
        &self.words
    }

    fn add_words(&mut self, mut new: Vec<String>) {
        self.words.append(&mut new);
        self.words.sort();
        self.words.dedup();
        self.finders = Words::new(&self.words);
    }

    fn trigger_in(&self, bytes: &[u8]) -> bool {
        !self.finders.is_empty() && self.finders.any_in(bytes)
    }

    fn directive_in(&self, bytes: &[u8]) -> bool {
        self.directive_needles
            .iter()
            .any(|n| prefilter::contains(bytes, n))
    }

    fn marker_in(&self, bytes: &[u8]) -> bool {
        self.every_file_markers
            .iter()
            .any(|m| prefilter::contains(bytes, m))
    }
}

/// A package of the run, by its index in the package list.
type PkgId = u32;

/// What the bytes of a readable file say, before any parse.
#[derive(Debug, Clone, Default)]
struct Probe {
    /// It may hold a directive.
    directive: bool,
    /// It holds a marker that makes a rule need every file.
    marker: bool,
    /// It contains a trigger word.
    trigger: bool,
    /// It contains a word of a lint-level attribute that may reach other files' `unsafe` sites.
    level: bool,
    /// It may hold a `#[path]` or an `include!` (whatever the literal).
    loads_any: bool,
    /// It may load a file from outside its folder: a `#[path = ".."]` attribute or an `include!` (looked
    /// for only when some rule has level words).
    /// Where each of its loads from outside its folder may load a file (`None`: anywhere).
    loads_outside: Vec<Option<PathBuf>>,
}

/// Where a file's processing stands.
// Nearly every file is `Readable`: boxing its payload would only add an allocation per file.
#[allow(clippy::large_enum_variant)]
#[derive(Debug)]
pub(crate) enum Status {
    /// Readable; parsed (or taken from the cache) once its mode asks for it.
    Readable(Option<cache::Parsed>),
    /// Unreadable or not UTF-8: final, never parsed.
    Unreadable(Box<Diagnostic>),
    /// A panic in our code while processing it.
    Crashed,
}

/// What the planner knows about one file.
pub(crate) struct FileState {
    pub path: PathBuf,
    pub rel: String,
    /// xxh3 of the bytes (0 without a cache).
    hash: u64,
    cached: Option<cache::Entry>,
    pkg: Option<PkgId>,
    probe: Probe,
    /// Some rule reads its path occurrences (by the policy's scopes).
    in_scope: bool,
    check: Option<UnsafeCheck>,
    pub mode: Mode,
    pub status: Status,
    /// Something was computed this run that the cache does not have yet.
    fresh: bool,
    /// Its header marks it as generated (`crate::generated`).
    pub generated: bool,
    /// Its text, kept when its cached facts have deferred bodies (to parse them from).
    text: Option<std::sync::Arc<str>>,
}

impl FileState {
    fn readable(&self) -> bool {
        matches!(self.status, Status::Readable(_))
    }

    fn parsed(&self) -> Option<&cache::Parsed> {
        match &self.status {
            Status::Readable(p) => p.as_ref(),
            _ => None,
        }
    }

    /// Parsed in full.
    fn full(&self) -> Option<&FileFacts> {
        self.parsed()
            .filter(|p| p.mode == Mode::Full)
            .map(|p| &p.facts)
    }
}

/// The deepest package holding `abs` (`by_dir`: package folder → id).
fn package_of(abs: &Path, by_dir: &std::collections::HashMap<&Path, PkgId>) -> Option<PkgId> {
    abs.ancestors().skip(1).find_map(|a| by_dir.get(a).copied())
}

/// The planning and parsing of one run's files.
pub(crate) struct Planner<'a> {
    pub demand: Demand<'a>,
    pub files: Vec<FileState>,
    packages: &'a [Package],
    policy: &'a LoadedPolicy,
    vfs: &'a dyn Vfs,
    pool: &'a rayon::ThreadPool,
}

impl<'a> Planner<'a> {
    /// Read and probe every file (in parallel): its bytes' verdicts, its cache entry.
    pub(crate) fn probe(
        demand: Demand<'a>,
        req: &Request<'a>,
        vfs: &'a dyn Vfs,
        cache: Option<&dyn FactsCache>,
        pool: &'a rayon::ThreadPool,
        read: Option<Vec<super::memo::Read<'a>>>,
    ) -> Planner<'a> {
        let (root, packages, policy) = (req.root, req.packages, req.policy);
        let by_dir: std::collections::HashMap<&Path, PkgId> = packages
            .iter()
            .enumerate()
            .map(|(i, p)| (p.dir.as_path(), i as PkgId))
            .collect();
        let probe = |p: &PathBuf, text: Option<super::memo::Read<'a>>| {
            let rel = crate::rel_path(root, p);
            let text = text.unwrap_or_else(|| read_source(vfs, p, &rel));
            probe_file(p, rel, &demand, policy, cache, &by_dir, text)
        };
        let files = pool.install(|| match read {
            Some(texts) => req
                .files
                .par_iter()
                .zip(texts)
                .map(|(p, t)| probe(p, Some(t)))
                .collect(),
            None => req.files.par_iter().map(|p| probe(p, None)).collect(),
        });
        Planner {
            demand,
            files,
            packages,
            policy,
            vfs,
            pool,
        }
    }

    /// Decide every file's mode and parse the files that need it.
    pub(crate) fn plan_and_parse(&mut self) {
        let parse_all = !self.demand.prefilter
            || self.demand.every_file
            || self.files.iter().any(|s| s.probe.marker);
        if parse_all {
            for s in &mut self.files {
                s.mode = Mode::Full;
            }
            if !self.demand.prefilter || !self.demand.reads_paths() {
                self.parse_pending(&[]);
                return;
            }
            // Every file is parsed, and the path occurrences are trimmed as below: to the
            // trigger words and their aliases (found in the item trees, to a fixpoint), so the
            // skeletons keep only the bodies naming them.
            let mut words = self.demand.words().to_vec();
            self.parse_pending(&words);
            loop {
                let new_words = self.new_aliases(&words);
                if new_words.is_empty() {
                    break;
                }
                self.demand.add_words(new_words);
                words = self.demand.words().to_vec();
            }
            self.finish_paths(&words);
            return;
        }
        for s in &mut self.files {
            if s.probe.directive {
                s.mode = Mode::Full;
            }
        }
        self.close_over_names();
        // `unsafe` sites and lexically broken files.
        for s in &mut self.files {
            if s.mode == Mode::Skip && s.check.is_some_and(|c| c.needs_parse) {
                s.mode = Mode::Unsafe;
            }
        }
        self.plan_module_levels();
        let words = self.demand.words().to_vec();
        self.parse_pending(&words);
        self.finish_paths(&words);
    }

    /// The aliases of `words` the files parsed in full declare that are not among them yet.
    fn new_aliases(&self, words: &[String]) -> Vec<String> {
        let mut new_words = Vec::new();
        for s in &self.files {
            if let Some(facts) = s.full() {
                aliases(facts, words, &mut new_words);
            }
        }
        new_words.sort();
        new_words.dedup();
        new_words.retain(|w| !words.contains(w));
        new_words
    }

    /// After the last parse: the files read as skeletons with fewer words than the final ones
    /// parsed again where needed, and every file's path occurrences trimmed to `words`.
    fn finish_paths(&mut self, words: &[String]) {
        // A file read as a skeleton in an earlier round kept the bodies naming the words known
        // then; one whose blanked bodies may name a word found later (an alias) is parsed again,
        // keeping those too.
        if self.demand.lazy_bodies && !words.is_empty() {
            let query = crate::skeleton::any_form(words);
            let mut again = false;
            for s in &mut self.files {
                let stale = s.in_scope
                    && s.full().is_some_and(|f| {
                        (0..f.bodies.len())
                            .any(|i| f.bodies.is_deferred(i) && f.bodies.may_name(i, &query))
                    });
                if stale {
                    s.status = Status::Readable(None);
                    again = true;
                }
            }
            if again {
                self.parse_pending(words);
            }
        }
        // Path facts: only occurrences naming a trigger can be findings.
        for s in &mut self.files {
            if let Status::Readable(Some(p)) = &mut s.status {
                if p.mode == Mode::Full && p.trimmed_to.is_none() {
                    s.fresh = true;
                    p.facts
                        .paths
                        .retain(|o| o.path.iter().any(|seg| words.contains(seg)));
                    p.trimmed_to = Some(words.to_vec());
                }
            }
        }
    }

    /// Lint levels from other files (see the module doc): the packages whose files are parsed in
    /// full so that the `mod` chains from a level file down to a reportable site are known.
    fn plan_module_levels(&mut self) {
        use std::collections::{HashMap, HashSet};
        let reportable = |s: &FileState| s.check.is_some_and(|c| c.needs_parse);
        if !self.files.iter().any(|s| s.probe.level) || !self.files.iter().any(reportable) {
            return;
        }
        // A `mod` without `#[path]`, or with a path below its own file's folder, loads a file
        // below the declaring file's folder. So every file of a chain of such declarations
        // ending at a file sits directly in one of the folders above that file (its own
        // included): those folders are where the chain can run.
        type Dirs<'p> = HashSet<&'p Path>;
        let mut by_dir: HashMap<&Path, Vec<usize>> = HashMap::new();
        for (i, s) in self.files.iter().enumerate() {
            if let Some(d) = s.path.parent() {
                by_dir.entry(d).or_default().push(i);
            }
        }
        // Where a `#[path]` or an `include!` may find its file: below its own file's folder,
        // or below the folder a load from outside climbs to.
        let load_dirs: Vec<Option<&Path>> = self
            .files
            .iter()
            .filter(|s| s.probe.loads_any)
            .filter_map(|s| s.path.parent().map(Some))
            .chain(
                self.files
                    .iter()
                    .flat_map(|s| s.probe.loads_outside.iter().map(|r| r.as_deref())),
            )
            .collect();
        // The level files, with the folders their levels reach below.
        let levels: Vec<(&Path, PathBuf)> = self
            .files
            .iter()
            .filter(|s| s.probe.level)
            .filter_map(|s| {
                let loaded = load_dirs
                    .iter()
                    .any(|d| d.is_none_or(|d| s.path.starts_with(d)));
                Some((
                    s.path.as_path(),
                    child_region(&s.path, s.probe.loads_any, loaded)?,
                ))
            })
            .collect();
        // A load from outside (`#[path = "../x.rs"]`, `include!("../x.rs")`) joins chains: a
        // chain to a file below the folder it climbs to may pass through the file holding it,
        // and so through the folders above that file and, in turn, those of the loads whose
        // regions hold it (to a fixpoint).
        let covers =
            |region: &Option<PathBuf>, f: &Path| region.as_ref().is_none_or(|r| f.starts_with(r));
        let loads: Vec<(usize, &Option<PathBuf>)> = self
            .files
            .iter()
            .enumerate()
            .flat_map(|(i, s)| s.probe.loads_outside.iter().map(move |r| (i, r)))
            .collect();
        // Per load: the folders its chains may run through, and the files they pass (the
        // holders of the loads on the way).
        let mut ctx: Vec<(Dirs, HashSet<usize>)> = loads
            .iter()
            .map(|&(i, _)| (above(&self.files[i].path).collect(), HashSet::from([i])))
            .collect();
        loop {
            let mut changed = false;
            for a in 0..loads.len() {
                for b in 0..loads.len() {
                    if loads[a].0 != loads[b].0 && covers(loads[b].1, &self.files[loads[a].0].path)
                    {
                        let add: Vec<&Path> = ctx[b].0.difference(&ctx[a].0).copied().collect();
                        let add_h: Vec<usize> = ctx[b].1.difference(&ctx[a].1).copied().collect();
                        if !add.is_empty() || !add_h.is_empty() {
                            ctx[a].0.extend(add);
                            ctx[a].1.extend(add_h);
                            changed = true;
                        }
                    }
                }
            }
            if !changed {
                break;
            }
        }
        let mut full: HashSet<usize> = HashSet::new();
        for s in self.files.iter().filter(|s| reportable(s)) {
            let mut dirs: Dirs = above(&s.path).collect();
            let mut passed: Vec<&Path> = vec![s.path.as_path()];
            for (k, &(_, region)) in loads.iter().enumerate() {
                if covers(region, &s.path) {
                    dirs.extend(ctx[k].0.iter().copied());
                    passed.extend(ctx[k].1.iter().map(|&i| self.files[i].path.as_path()));
                }
            }
            // A level file is on a chain to this file when it sits in one of the chain's
            // folders and the chain goes on below the folder its levels reach.
            // (Or it holds a load the chain goes through: its levels reach the loaded file.)
            let on_chain = levels.iter().any(|(l, region)| {
                passed[1..].contains(l)
                    || (l.parent().is_some_and(|d| dirs.contains(d))
                        && passed.iter().any(|&t| t != *l && t.starts_with(region)))
            });
            if on_chain {
                for d in dirs {
                    full.extend(by_dir.get(d).into_iter().flatten().copied());
                }
            }
        }
        for i in full {
            self.files[i].mode = Mode::Full;
        }
    }

    /// Path needs: whole packages of trigger files; workspace crates that a path to a trigger
    /// goes through and that name a trigger package; alias names as new triggers; to a
    /// fixpoint. Parses what it marks (and the files already marked) as it goes.
    fn close_over_names(&mut self) {
        let ident = |pkgs: &[Package], pi: PkgId| pkgs[pi as usize].name.replace('-', "_");
        // Files outside every package form one group of their own (`None`).
        let mut full_pkgs: std::collections::HashSet<Option<PkgId>> = Default::default();
        let mut refs_seen = std::collections::HashSet::new();
        let mut refs: Vec<String> = Vec::new();
        loop {
            let mut grew = false;
            let mut trigger_pkgs = std::collections::HashSet::new();
            for s in &self.files {
                if s.probe.trigger {
                    trigger_pkgs.insert(s.pkg);
                    grew |= full_pkgs.insert(s.pkg);
                }
            }
            for s in &mut self.files {
                if s.mode != Mode::Full && (s.probe.trigger || full_pkgs.contains(&s.pkg)) {
                    s.mode = Mode::Full;
                    grew = true;
                }
            }
            let words = self.demand.words().to_vec();
            self.parse_pending(&words);
            for (i, s) in self.files.iter().enumerate() {
                if let Some(facts) = s.full() {
                    if s.probe.trigger && refs_seen.insert(i) {
                        crate_refs(facts, &words, &mut refs);
                    }
                }
            }
            refs.sort();
            refs.dedup();
            let candidates: Vec<PkgId> = (0..self.packages.len() as PkgId)
                .filter(|pi| {
                    !full_pkgs.contains(&Some(*pi))
                        && refs.binary_search(&ident(self.packages, *pi)).is_ok()
                })
                .collect();
            if !candidates.is_empty() {
                let mut idents: Vec<String> = trigger_pkgs
                    .iter()
                    .flatten()
                    .map(|&pi| ident(self.packages, pi))
                    .collect();
                idents.sort();
                idents.dedup();
                let mention = Words::new(&idents);
                let (files, vfs) = (&self.files, self.vfs);
                let hits: Vec<PkgId> = self.pool.install(|| {
                    candidates
                        .par_iter()
                        .copied()
                        .filter(|&pi| {
                            files.iter().any(|s| {
                                s.pkg == Some(pi)
                                    && s.readable()
                                    && vfs.read(&s.path).is_ok_and(|b| mention.any_in(&b))
                            })
                        })
                        .collect()
                });
                for pi in hits {
                    grew |= full_pkgs.insert(Some(pi));
                }
            }
            // Aliases of triggers become triggers.
            let new_words = self.new_aliases(&words);
            if !new_words.is_empty() {
                grew = true;
                let extra = Words::new(&new_words);
                self.demand.add_words(new_words);
                let (files, vfs) = (&self.files, self.vfs);
                let flags: Vec<bool> = self.pool.install(|| {
                    files
                        .par_iter()
                        .map(|s| {
                            !s.probe.trigger
                                && s.readable()
                                && vfs.read(&s.path).is_ok_and(|b| extra.any_in(&b))
                        })
                        .collect()
                });
                for (s, f) in self.files.iter_mut().zip(flags) {
                    s.probe.trigger |= f;
                }
            }
            if !grew {
                break;
            }
        }
    }

    /// Parse (in parallel) every readable file whose mode asks for more than it has.
    fn parse_pending(&mut self, words: &[String]) {
        let todo: Vec<usize> = self
            .files
            .iter()
            .enumerate()
            .filter(|(_, s)| {
                s.mode != Mode::Skip
                    && matches!(&s.status, Status::Readable(p) if p.as_ref().is_none_or(|p| p.mode < s.mode))
            })
            .map(|(i, _)| i)
            .collect();
        let need_untrimmed = !self.demand.prefilter;
        // Each file's cached facts are moved to its worker (no copy when they are reused) and
        // given back when they were not consumed.
        let taken: Vec<(usize, Option<cache::Parsed>)> = todo
            .iter()
            .map(|&i| {
                let c = self.files[i].cached.as_mut().and_then(|e| e.parsed.take());
                (i, c)
            })
            .collect();
        let (files, demand, policy, vfs) = (&self.files, &self.demand, self.policy, self.vfs);
        type Res = Option<Result<(cache::Parsed, bool), Box<Diagnostic>>>;
        let results: Vec<(usize, Res, Option<cache::Parsed>)> = self.pool.install(|| {
            taken
                .into_par_iter()
                .map(|(i, cached)| {
                    let st = &files[i];
                    let job = files::Job {
                        path: &st.path,
                        rel: &st.rel,
                        mode: st.mode,
                        collect_paths: st.in_scope,
                        directive_text: st.probe.directive,
                        lazy_bodies: demand.lazy_bodies,
                        text: st.text.as_ref(),
                    };
                    let r = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
                        files::parse_or_reuse(
                            &job,
                            cached,
                            need_untrimmed,
                            words,
                            demand,
                            &policy.policy.exemption_markers,
                            vfs,
                        )
                    }));
                    match r {
                        Ok((r, back)) => (i, Some(r), back),
                        Err(_) => (i, None, None),
                    }
                })
                .collect()
        });
        for (i, r, back) in results {
            let s = &mut self.files[i];
            if let (Some(e), Some(b)) = (s.cached.as_mut(), back) {
                e.parsed = Some(b);
            }
            match r {
                Some(Ok((p, fresh))) => {
                    s.status = Status::Readable(Some(p));
                    s.fresh |= fresh;
                }
                Some(Err(d)) => s.status = Status::Unreadable(d),
                None => s.status = Status::Crashed,
            }
        }
    }

    /// `CHANNEL_LINT_DEBUG_PLAN`: the plan on stderr.
    pub(crate) fn print_plan(&self) {
        let mut by_mode = std::collections::BTreeMap::new();
        for s in &self.files {
            let e = by_mode
                .entry(format!("{:?}", s.mode))
                .or_insert((0usize, 0u64));
            e.0 += 1;
            e.1 += self.vfs.read(&s.path).map_or(0, |b| b.len() as u64);
        }
        let mut pk: Vec<&str> = self
            .files
            .iter()
            .filter(|s| s.mode == Mode::Full)
            .filter_map(|s| s.pkg)
            .map(|p| self.packages[p as usize].name.as_str())
            .collect();
        pk.sort();
        pk.dedup();
        eprintln!(
            "plan: {by_mode:?} words {:?} full packages {pk:?}",
            self.demand.words()
        );
        for s in self.files.iter().filter(|s| s.mode == Mode::Unsafe) {
            eprintln!("plan-unsafe: {}", s.path.display());
        }
    }

    /// For each file, what its cache entry needs besides the facts, comments and directives if it
    /// is written again after the rules (a file parsed in full with bodies still deferred, when
    /// the cache is on): see [`RewriteMeta`].
    pub(crate) fn rewrite_meta(&self) -> Vec<Option<RewriteMeta>> {
        self.files
            .iter()
            .map(|s| {
                let p = s.parsed().filter(|p| p.mode == Mode::Full)?;
                (s.hash != 0 && p.facts.bodies.has_deferred()).then(|| RewriteMeta {
                    hash: s.hash,
                    unsafe_check: s.check.or(s.cached.as_ref().and_then(|e| e.unsafe_check)),
                    problem: p.problem.clone(),
                    trimmed_to: p.trimmed_to.clone(),
                })
            })
            .collect()
    }

    /// This run's new cache entries (rel, content hash, encoded entry), encoded in parallel.
    pub(crate) fn fresh_entries(&self) -> Vec<(String, u64, Vec<u8>)> {
        self.pool.install(|| {
            self.files
                .par_iter()
                .filter(|s| s.fresh && s.readable())
                .map(|s| {
                    let cached = s.cached.as_ref();
                    let entry = cache::Entry {
                        unsafe_check: s.check.or(cached.and_then(|e| e.unsafe_check)),
                        parsed: s
                            .parsed()
                            .cloned()
                            .or_else(|| cached.and_then(|e| e.parsed.clone())),
                    };
                    (s.rel.clone(), s.hash, cache::encode(&entry))
                })
                .collect()
        })
    }
}

/// The parts of a file's cache entry that are not its facts, comments or directives, kept for
/// writing the entry again after the rules (with the bodies they parsed lowered).
pub(crate) struct RewriteMeta {
    pub hash: u64,
    pub unsafe_check: Option<UnsafeCheck>,
    pub problem: Option<(crate::diagnostic::Span, String)>,
    pub trimmed_to: Option<Vec<String>>,
}

/// Read and probe one file (the parallel part of the planner).
fn probe_file(
    path: &Path,
    rel: String,
    demand: &Demand,
    policy: &LoadedPolicy,
    cache: Option<&dyn FactsCache>,
    by_dir: &std::collections::HashMap<&Path, PkgId>,
    read: super::memo::Read,
) -> FileState {
    let mut st = FileState {
        path: path.to_path_buf(),
        rel,
        hash: 0,
        cached: None,
        pkg: package_of(path, by_dir),
        probe: Probe::default(),
        in_scope: false,
        check: None,
        mode: Mode::Skip,
        status: Status::Readable(None),
        fresh: false,
        generated: false,
        text: None,
    };
    st.in_scope = demand.reads_paths()
        && policy
            .relative_path(path)
            .is_some_and(|r| demand.paths_in_scope(&r));
    let text = match read {
        Ok(t) => t,
        Err(d) => {
            st.status = Status::Unreadable(d);
            return st;
        }
    };
    st.generated = crate::generated::is_generated(&text);
    let b = text.as_bytes();
    if let Some(c) = cache {
        st.hash = cache::content_hash(b);
        st.cached = c.get(&st.rel, st.hash).and_then(cache::decode);
        let deferred = st.cached.as_ref().and_then(|e| e.parsed.as_ref());
        if deferred.is_some_and(|p| p.facts.bodies.has_deferred()) {
            st.text = Some(std::sync::Arc::from(text.as_ref()));
        }
    }
    st.probe = Probe {
        directive: demand.directive_in(b),
        marker: demand.marker_in(b),
        trigger: demand.trigger_in(b),
        level: demand
            .level_words
            .iter()
            .any(|(tool, names, allows)| allows.any_in(b) && names_lint(b, tool, names)),
        loads_any: false,
        loads_outside: Vec::new(),
    };
    if !demand.level_words.is_empty() {
        let (any, outside) = prefilter::loads(b);
        st.probe.loads_any = any;
        st.probe.loads_outside = outside
            .iter()
            .map(|lit| load_region(path, lit.as_deref()))
            .collect();
    }
    // When every file is parsed in full anyway (a rule needs every file: listener entry
    // points), the `unsafe` verdict would decide nothing: not computed.
    if demand.prefilter && !demand.every_file {
        st.check = match st.cached.as_ref().and_then(|e| e.unsafe_check) {
            Some(c) => Some(c),
            None => {
                st.fresh = true;
                Some(check_file(&text, &demand.unsafe_rules))
            }
        };
    }
    st
}

/// The text a file is parsed as for its `unsafe` sites (`None`: the whole text), with every
/// rule of the registry that reads sites: what the fuzz target checks keeps every position.
pub fn unsafe_parse_text(text: &str) -> Option<String> {
    let defaults = channel_lint_policy::defaults(Path::new(""));
    let rules: Vec<&dyn Rule> = crate::rules::ALL
        .iter()
        .filter_map(|m| m.rule)
        .filter(|r| r.needs(&defaults).unsafe_sites)
        .collect();
    let lexed = source::lex(text);
    prefilter::unsafe_items_text(text, |s| {
        reportable_unsafe_tokens(text, s, &lexed, &rules, false)
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_level_file_names_the_lint_after_the_tool() {
        let tool = Words::new(&["clippy"]);
        let names = Words::new(&["undocumented_unsafe_blocks", "restriction"]);
        let yes = |s: &str| names_lint(s.as_bytes(), &tool, &names);
        assert!(yes("#![allow(clippy::undocumented_unsafe_blocks)]"));
        assert!(yes("#[expect(clippy :: restriction)]"));
        assert!(yes("#[allow(clippy::\n    restriction, reason = \"x\")]"));
        assert!(!yes("mod restriction; #![allow(clippy::all)]"));
        assert!(!yes("#![allow(clippy::undocumented_unsafe_blocks_x)]"));
        assert!(!yes("#![allow(myclippy::restriction)]"));
    }

    #[test]
    fn a_load_from_outside_may_reach_below_the_folder_it_climbs_to() {
        let f = Path::new("/w/syn/benches/file.rs");
        let r = |lit| load_region(f, lit).map(|p| p.display().to_string());
        assert_eq!(r(Some("../tests/common/mod.rs")).as_deref(), Some("/w/syn"));
        assert_eq!(r(Some("a/../../b/x.rs")).as_deref(), Some("/w/syn"));
        assert_eq!(r(Some("../../x.rs")).as_deref(), Some("/w"));
        assert_eq!(r(Some("./../x.rs")).as_deref(), Some("/w/syn"));
        assert_eq!(r(Some("x.rs")).as_deref(), Some("/w/syn/benches"));
        // Anywhere: absolute, a drive, an escape, unreadable, or above the root.
        assert_eq!(r(Some("/abs/x.rs")), None);
        assert_eq!(r(Some("C:/x.rs")), None);
        assert_eq!(r(Some("..\\\\x.rs")), None);
        assert_eq!(r(None), None);
        assert_eq!(r(Some("../../../../../x.rs")), None);
    }

    #[test]
    fn words_respect_identifier_boundaries() {
        let w = Words::new(&["UdpSocket"]);
        assert!(w.any_in(b"use tokio::net::UdpSocket;"));
        assert!(!w.any_in(b"struct MyUdpSocketX;"));
        assert!(!w.any_in(b"UdpSocketX"));
        assert!(w.any_in(b"UdpSocket"));
    }

    #[test]
    fn documented_sites_need_no_parse() {
        let on: &[&dyn Rule] = &[&crate::rules::undocumented_unsafe::UndocumentedUnsafe];
        let ok = "fn f() {\n    // SAFETY: fine because reasons\n    unsafe { g() }\n}\n";
        assert!(!check_file(ok, on).needs_parse);
        let inside = "fn f() {\n    unsafe {\n        // SAFETY: reasons\n        g()\n    }\n}\n";
        assert!(!check_file(inside, on).needs_parse);
        let bad = "fn f() {\n    let x = 1;\n    unsafe { g() }\n}\n";
        assert!(check_file(bad, on).needs_parse);
        assert!(!check_file(bad, &[]).needs_parse);
        assert!(check_file("fn f() {}\n<<<<<<< HEAD\n", on).needs_parse);
        assert!(!check_file("// =======\nfn f() {}\n", on).needs_parse);
        let only_fn = "unsafe fn f() {}\n";
        assert!(!check_file(only_fn, on).needs_parse);
    }

    #[test]
    fn only_reportable_items_are_kept_for_an_unsafe_parse() {
        let on: &[&dyn Rule] = &[&crate::rules::undocumented_unsafe::UndocumentedUnsafe];
        let src = "fn a() {\n    // SAFETY: fine\n    unsafe { x() }\n}\nstruct É; fn é() { unsafe { y() } }\nstruct S;\n";
        let lexed = source::lex(src);
        let out = prefilter::unsafe_items_text(src, |s| {
            reportable_unsafe_tokens(src, s, &lexed, on, false)
        })
        .expect("something to blank");
        let lines: Vec<&str> = out.split('\n').collect();
        assert!(lines[..4].iter().all(|l| l.trim().is_empty()), "{out:?}");
        assert_eq!(lines[4], "          fn é() { unsafe { y() } }");
    }
}
