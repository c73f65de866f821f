//! The rule registry: one module per rule, each opening with its documentation, and one list,
//! [`ALL`].
//!
//! A rule is a [`Rule`]: it declares what it reads ([`Needs`], from which the driver's planner
//! decides which files to parse and how deeply), may answer two cheap per-file questions while
//! the file's text is in memory ([`Rule::may_report_unsafe_site`], [`Rule::complete_facts`]), and
//! checks the workspace ([`Rule::check`]): it reads the index (files' facts, name resolution),
//! the comments and directives ([`Context`]) and the policy, and writes diagnostics to the sink.
//! Rules never print and never touch the file system.
//!
//! Adding a rule touches its module, its doc page, its fixtures and [`ALL`]; no driver code.
//! A rule's level (its default, overridden by the policy's `[rules]`) is decided in one place,
//! [`Levels`].

pub(crate) mod banned_type;
pub(crate) mod blocking;
pub(crate) mod chain;
pub(crate) mod listener_blocking_call;
pub(crate) mod listener_send_await;
pub(crate) mod runtime_panic_call;
pub(crate) mod undocumented_unsafe;

use channel_lint_policy::{Level, LoadedPolicy, PolicyError};

use crate::diagnostic::Sink;
use crate::facts::{FileFacts, UnsafeKind};
use crate::index::Index;
use std::sync::Arc;

use crate::cfg::CfgEnv;
use crate::semantics::callgraph::{Analyzer, SharedSummaries};
use crate::semantics::reach;
use crate::source::Lexed;
use crate::suppress::Directive;

/// What every rule declares about itself.
#[derive(Clone, Copy)]
pub struct RuleMeta {
    pub id: &'static str,
    pub default_level: Level,
    /// One line, for `--list-rules` and SARIF's shortDescription.
    pub summary: &'static str,
    /// The rule's page (`docs/rules/<id>.md`), printed by `--explain`.
    pub doc: &'static str,
    /// Its checks. None for the diagnostics the driver emits itself (parse errors and
    /// suppression problems).
    pub(crate) rule: Option<&'static dyn Rule>,
}

impl std::fmt::Debug for RuleMeta {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("RuleMeta")
            .field("id", &self.id)
            .field("default_level", &self.default_level)
            .field("checks", &self.rule.is_some())
            .finish()
    }
}

/// A rule's checks and what they read.
pub(crate) trait Rule: Sync {
    /// What the rule reads under `policy` (asked only when the rule is on).
    fn needs<'p>(&self, policy: &'p LoadedPolicy) -> Needs<'p>;

    /// For a rule that reads `unsafe` sites: can the site of this `unsafe` token be reported,
    /// as far as the text and its comments tell without a syntax tree? `false` must be a proof
    /// (the planner then need not parse the file for this site); `true` costs a parse.
    fn may_report_unsafe_site(&self, _text: &str, _comments: &Lexed, _site: &UnsafeToken) -> bool {
        true
    }

    /// Complete the facts of a freshly parsed file with what only its text tells (the driver
    /// calls it while the text is in memory; the result is cached with the facts).
    fn complete_facts(&self, _text: &str, _facts: &mut FileFacts) {}

    /// Check the workspace.
    fn check(&self, cx: &Context, sink: &mut Sink) -> Result<(), PolicyError>;

    /// Rules of one group run one after the other on one task, in the registry's order (the
    /// others side by side): the listener rules search from the same entry points through the
    /// same bodies, so the second finds them parsed and summarised ([`Context::analyzer`])
    /// instead of waiting on the first for each one.
    fn group(&self) -> Option<&'static str> {
        None
    }

    /// The answer to `--explain-path FN`, for the rule that has one.
    fn explain_path(&self, _cx: &Context, _target: &str) -> Option<String> {
        None
    }
}

/// What a rule reads. The planner parses a file when some rule that is on needs a fact of it,
/// as deeply as the deepest need (see `driver::plan`).
#[derive(Default)]
pub(crate) struct Needs<'p> {
    /// The item tree and function bodies of every file, in full, when this holds: a workspace
    /// call graph whose trait dispatch reaches impls in any crate has no smaller exact set.
    pub every_file: Option<EveryFile>,
    /// `unsafe` sites and the comments around them. A file is parsed for its sites only when
    /// one of them may be reported ([`Rule::may_report_unsafe_site`]).
    pub unsafe_sites: bool,
    /// Path occurrences (`use` leaves, type and expression paths) that resolve to a name
    /// ending in one of the words, in files whose policy-relative path the scope accepts.
    pub paths: Option<PathNeeds<'p>>,
    /// With `unsafe_sites`: the words of the lint-level attributes that may set a level for the
    /// sites of *other* files, through the `mod` declarations that load them
    /// (`#[allow(clippy::undocumented_unsafe_blocks)] mod gen;`, a crate root's `#![allow(..)]`):
    /// the rule then reads [`crate::index::Index::file_levels`], and the planner parses the files
    /// between such a file and a site in full, so the module tree is known (see `driver::plan`).
    /// `None`: the rule reads levels within a file only.
    pub module_levels: Option<LevelWords>,
}

/// The words a lint-level attribute of [`Needs::module_levels`] is written with: a file may hold
/// one only if its bytes hold the tool's name and one of the names, as whole words, and (to turn
/// the lint off) one of the `allows`.
#[derive(Debug, Clone, Copy)]
pub(crate) struct LevelWords {
    /// The lint tool (`clippy`).
    pub tool: &'static str,
    /// The lint's name and the groups holding it.
    pub names: &'static [&'static str],
    /// The levels that turn it off (`allow`, `expect`): a file holding none of these words can
    /// only turn it on, which changes nothing unless a file above turned it off.
    pub allows: &'static [&'static str],
}

/// When a rule needs every file parsed in full.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EveryFile {
    Always,
    /// When some file's bytes contain this marker.
    IfAnyFileContains(&'static str),
    /// When some file's bytes contain one of these markers.
    IfAnyFileContainsAny(&'static [&'static str]),
}

/// Path occurrences a rule reads: see [`Needs::paths`].
pub(crate) struct PathNeeds<'p> {
    /// The last segment of every name the rule looks for.
    pub words: Vec<String>,
    /// Whether the rule reads the occurrences of a file (by its policy-relative path).
    pub in_scope: Box<dyn Fn(&str) -> bool + Sync + 'p>,
}

/// An `unsafe` keyword token found by the byte scan, that syn would report as a site.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct UnsafeToken {
    /// 1-based line and character column of the keyword.
    pub line: u32,
    pub column: u32,
    pub kind: UnsafeKind,
    /// For a block: the byte offset of its `{`.
    pub brace: Option<usize>,
}

pub const PARSE_ERROR: RuleMeta = RuleMeta {
    id: "parse-error",
    default_level: Level::Error,
    summary: "a file could not be read or parsed; every other file is still checked",
    doc: include_str!("../../../docs/rules/parse-error.md"),
    rule: None,
};

pub const SUPPRESSION_WITHOUT_REASON: RuleMeta = RuleMeta {
    id: "suppression-without-reason",
    default_level: Level::Error,
    summary:
        "a `// channel-lint: allow(..)` or exemption comment gives no reason, so it does not apply",
    doc: include_str!("../../../docs/rules/suppression-without-reason.md"),
    rule: None,
};

pub const UNUSED_SUPPRESSION: RuleMeta = RuleMeta {
    id: "unused-suppression",
    default_level: Level::Warn,
    summary: "a suppression or exemption comment suppresses nothing",
    doc: include_str!("../../../docs/rules/unused-suppression.md"),
    rule: None,
};

/// Every rule, in the order `--list-rules` shows them: the registry.
pub const ALL: &[RuleMeta] = &[
    listener_send_await::META,
    runtime_panic_call::META,
    listener_blocking_call::META,
    banned_type::META,
    undocumented_unsafe::META,
    PARSE_ERROR,
    SUPPRESSION_WITHOUT_REASON,
    UNUSED_SUPPRESSION,
];

pub fn ids() -> Vec<&'static str> {
    ALL.iter().map(|r| r.id).collect()
}

pub fn find(id: &str) -> Option<&'static RuleMeta> {
    ALL.iter().find(|r| r.id == id)
}

/// Every rule's level in a run: its default, overridden by the policy. The one place levels
/// are decided.
pub(crate) struct Levels<'p> {
    policy: &'p channel_lint_policy::Policy,
    /// Parallel to [`ALL`].
    known: Vec<Level>,
}

impl<'p> Levels<'p> {
    pub fn new(policy: &'p LoadedPolicy) -> Levels<'p> {
        Levels {
            policy: &policy.policy,
            known: ALL.iter().map(|m| Levels::decide(policy, m)).collect(),
        }
    }

    /// A rule's level under `policy`: the policy's `[rules]` entry, else the rule's default.
    pub fn decide(policy: &LoadedPolicy, rule: &RuleMeta) -> Level {
        policy.policy.level(rule.id, rule.default_level)
    }

    /// The level of a rule id (one no rule has is an error-level id the policy may still set).
    pub fn of(&self, id: &str) -> Level {
        match ALL.iter().position(|m| m.id == id) {
            Some(i) => self.known[i],
            None => self.policy.level(id, Level::Error),
        }
    }

    pub fn is_on(&self, rule: &RuleMeta) -> bool {
        self.of(rule.id) != Level::Off
    }

    /// The rules with checks that are on, in registry order.
    pub fn active(&self) -> impl Iterator<Item = &'static dyn Rule> + '_ {
        ALL.iter().filter(|m| self.is_on(m)).filter_map(|m| m.rule)
    }
}

/// What a rule may read.
pub(crate) struct Context<'a> {
    pub index: &'a Index<'a>,
    pub policy: &'a LoadedPolicy,
    /// Each file's path relative to the policy folder (for `within`/`except` globs).
    pub policy_rel: &'a [Option<String>],
    pub levels: &'a Levels<'a>,
    /// Per file (index ids): its comments, kept only for files with `unsafe` sites.
    comments: &'a [Lexed],
    /// Per file: its `// channel-lint:` directives and exemption markers.
    directives: &'a [Vec<Directive>],
    /// The call-graph summaries of each build some rule asked about, shared by the rules.
    summaries: std::sync::Mutex<Vec<(CfgEnv, Arc<SharedSummaries>)>>,
}

impl<'a> Context<'a> {
    /// The call graph of `build`, sharing its summaries with every other rule's analyzer of the
    /// same build.
    pub fn analyzer(&self, build: CfgEnv) -> Analyzer<'a, 'a> {
        let shared = {
            let mut by_build = self.summaries.lock().unwrap_or_else(|e| e.into_inner());
            match by_build.iter().find(|(b, _)| *b == build) {
                Some((_, s)) => s.clone(),
                None => {
                    let s = Arc::new(SharedSummaries::default());
                    by_build.push((build.clone(), s.clone()));
                    s
                }
            }
        };
        Analyzer::sharing(self.index, build, shared)
    }

    /// `comments` and `directives` are per file, in the index's file order.
    pub fn new(
        index: &'a Index<'a>,
        policy: &'a LoadedPolicy,
        policy_rel: &'a [Option<String>],
        levels: &'a Levels<'a>,
        comments: &'a [Lexed],
        directives: &'a [Vec<Directive>],
    ) -> Context<'a> {
        debug_assert_eq!(comments.len(), index.files.len());
        debug_assert_eq!(directives.len(), index.files.len());
        Context {
            index,
            policy,
            policy_rel,
            levels,
            comments,
            directives,
            summaries: Default::default(),
        }
    }

    pub fn level(&self, rule: &RuleMeta) -> Level {
        self.levels.of(rule.id)
    }

    /// The comments of a file (empty unless it has `unsafe` sites).
    pub fn comments(&self, file: usize) -> &'a Lexed {
        &self.comments[file]
    }

    /// The directives of a file.
    pub fn directives(&self, file: usize) -> &'a [Directive] {
        &self.directives[file]
    }

    /// An exemption of `rule` (a directive with a reason) attached to the call `c` of `f`,
    /// whose body is `body`: the call-graph rules do not follow that edge, so what is reached
    /// only through it is exempt. Returns the directive's index in its file.
    pub fn edge_exemption(
        &self,
        rule: &str,
        body: &crate::facts::Body,
        f: crate::index::FnId,
        c: &crate::semantics::callgraph::CallFact,
    ) -> Option<usize> {
        let dirs = self.directives(f.file.idx());
        if !dirs.iter().any(|d| d.allows(rule)) {
            return None;
        }
        let anchors = crate::semantics::walk::anchors_of(body, c.call);
        dirs.iter()
            .position(|d| d.allows(rule) && d.applies_at(c.site.line, &anchors))
    }
}

impl Context<'_> {
    /// The listener entry points ([`reach::listener_entries`]); each `listener-entry` marker
    /// that marks nothing becomes an `unused-suppression` finding on its comment (both rules
    /// that read the entries push it: the driver drops the repeat).
    pub fn listener_entries(&self, sink: &mut Sink) -> Result<Vec<reach::Entry>, PolicyError> {
        let found = reach::listener_entries(self.index, self.policy, &|f| self.directives(f))?;
        for m in &found.misplaced {
            sink.push(
                crate::diagnostic::Diagnostic::new(
                    UNUSED_SUPPRESSION.id,
                    &self.index.files[m.file.idx()].rel,
                    m.at,
                    format!("`listener-entry` marker marks nothing: {}", m.why),
                )
                .with_note(MARKER_PLACES),
            );
        }
        Ok(found.entries)
    }
}

/// Where a `listener-entry` marker may go.
pub(crate) const MARKER_PLACES: &str = "put it on the line directly above a `fn`, above a statement that hands an async block or a closure to a spawn call (`tokio::spawn(async move { loop { .. } })`), or above a statement that is or binds one (`let run = async move { .. };`); attributes may stand between";

/// Run every rule that is on, side by side on the current rayon pool (rules only read the
/// model; each writes to a sink of its own, appended to `sink` in the registry's order, so the
/// result is the same as running them one after the other); the time each took, by rule id,
/// in registry order. The first rule in that order that fails decides the error.
pub(crate) fn run_all(
    cx: &Context,
    sink: &mut Sink,
) -> Result<Vec<(&'static str, std::time::Duration)>, PolicyError> {
    use rayon::prelude::*;
    let active: Vec<(&'static str, &'static dyn Rule)> = ALL
        .iter()
        .filter(|m| cx.levels.is_on(m))
        .filter_map(|m| m.rule.map(|r| (m.id, r)))
        .collect();
    // One task per group (a rule without one is a group of its own), in registry order.
    let mut tasks: Vec<Vec<(usize, &'static str, &'static dyn Rule)>> = Vec::new();
    for (k, &(id, rule)) in active.iter().enumerate() {
        let same = rule
            .group()
            .and_then(|g| tasks.iter().position(|t| t[0].2.group() == Some(g)));
        match same {
            Some(t) => tasks[t].push((k, id, rule)),
            None => tasks.push(vec![(k, id, rule)]),
        }
    }
    type Ran = (
        usize,
        &'static str,
        Result<Sink, PolicyError>,
        std::time::Duration,
    );
    let mut ran: Vec<Ran> = tasks
        .par_iter()
        .flat_map_iter(|task| {
            task.iter()
                .map(|&(k, id, rule)| {
                    let t = std::time::Instant::now();
                    let mut own = Sink::default();
                    let r = rule.check(cx, &mut own).map(|()| own);
                    (k, id, r, t.elapsed())
                })
                .collect::<Vec<_>>()
        })
        .collect();
    ran.sort_by_key(|r| r.0);
    let ran: Vec<(&'static str, Result<Sink, PolicyError>, std::time::Duration)> =
        ran.into_iter().map(|(_, id, r, d)| (id, r, d)).collect();
    let mut took = Vec::with_capacity(ran.len());
    for (id, r, d) in ran {
        let own = r?;
        sink.diagnostics.extend(own.diagnostics);
        sink.used_directives.extend(own.used_directives);
        sink.left_to_clippy += own.left_to_clippy;
        took.push((id, d));
    }
    Ok(took)
}

/// `--explain-path FN`: the answer of the rule that has one.
pub(crate) fn explain_path(cx: &Context, target: &str) -> Option<String> {
    ALL.iter()
        .filter_map(|m| m.rule)
        .find_map(|r| r.explain_path(cx, target))
}
