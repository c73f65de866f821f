//! The rule registry: one module per rule, each opening with its documentation, and one list.
//!
//! A rule reads the index (files' facts, name resolution) and the policy, and writes
//! diagnostics to the sink. Rules never print and never touch the file system.

pub mod banned_type;
pub mod listener_send_await;
pub mod undocumented_unsafe;

use channel_lint_policy::{Level, LoadedPolicy};

use crate::diagnostic::Sink;
use crate::index::Index;

/// What every rule declares about itself.
#[derive(Debug, Clone, Copy)]
pub struct RuleMeta {
    pub id: &'static str,
    pub default_level: Level,
    /// One line, for `--list-rules` and SARIF's shortDescription.
    pub summary: &'static str,
    /// The rule's page (`docs/rules/<id>.md`), printed by `--explain`.
    pub doc: &'static str,
}

pub const PARSE_ERROR: RuleMeta = RuleMeta {
    id: "parse-error",
    default_level: Level::Error,
    summary: "a file could not be read or parsed; every other file is still checked",
    doc: include_str!("../../../docs/rules/parse-error.md"),
};

pub const SUPPRESSION_WITHOUT_REASON: RuleMeta = RuleMeta {
    id: "suppression-without-reason",
    default_level: Level::Error,
    summary:
        "a `// channel-lint: allow(..)` or exemption comment gives no reason, so it does not apply",
    doc: include_str!("../../../docs/rules/suppression-without-reason.md"),
};

pub const UNUSED_SUPPRESSION: RuleMeta = RuleMeta {
    id: "unused-suppression",
    default_level: Level::Warn,
    summary: "a suppression or exemption comment suppresses nothing",
    doc: include_str!("../../../docs/rules/unused-suppression.md"),
};

/// Every rule, in the order `--list-rules` shows them.
pub const ALL: &[RuleMeta] = &[
    listener_send_await::META,
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

/// What a rule may read.
pub struct Context<'a> {
    pub index: &'a Index<'a>,
    pub policy: &'a LoadedPolicy,
    /// Each file's path relative to the policy folder (for `within`/`except` globs).
    pub policy_rel: &'a [Option<String>],
}

impl Context<'_> {
    pub fn level(&self, rule: &RuleMeta) -> Level {
        self.policy.policy.level(rule.id, rule.default_level)
    }
}

/// Run every enabled rule.
pub fn run_all(cx: &Context, sink: &mut Sink) -> Result<(), channel_lint_policy::PolicyError> {
    if cx.level(&banned_type::META) != Level::Off {
        banned_type::check(cx, sink);
    }
    if cx.level(&undocumented_unsafe::META) != Level::Off {
        undocumented_unsafe::check(cx, sink);
    }
    listener_send_await::check(cx, sink)?;
    Ok(())
}
