//! # banned-type
//!
//! Finds every occurrence of a type the policy bans (`[[banned-type]]`), in the files the ban
//! covers: `use` leaves, type positions and expression paths, through aliases, renamed and
//! glob imports, re-exports and `self`/`super`/`crate` paths. A crate-local type with the same
//! name is not a finding. The full page is `docs/rules/banned-type.md` (`--explain banned-type`).

use channel_lint_policy::TestsMode;

use channel_lint_policy::{LoadedPolicy, PolicyError};

use super::{Context, Needs, PathNeeds, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Sink};
use crate::index::{FileId, GScope, Res};
use crate::semantics::qualname::QualName;

pub const META: RuleMeta = RuleMeta {
    id: "banned-type",
    default_level: channel_lint_policy::Level::Error,
    summary: "a type the policy bans (e.g. a real socket in core code) is used",
    doc: include_str!("../../../docs/rules/banned-type.md"),
    rule: Some(&BannedType),
};

/// The rule's entry in the registry.
pub struct BannedType;

impl Rule for BannedType {
    /// The path occurrences in a ban's scope that may resolve to a banned name: a resolved name
    /// ends in the ban's last segment (or an alias of it, which the planner follows).
    fn needs<'p>(&self, policy: &'p LoadedPolicy) -> Needs<'p> {
        let bans = &policy.policy.banned_types;
        if bans.is_empty() {
            return Needs::default();
        }
        let mut words: Vec<String> = bans
            .iter()
            .filter_map(|b| b.segments.last().cloned())
            .collect();
        words.sort();
        words.dedup();
        Needs {
            paths: Some(PathNeeds {
                words,
                in_scope: Box::new(move |rel| bans.iter().any(|b| b.applies_to(rel))),
            }),
            ..Needs::default()
        }
    }

    fn check(&self, cx: &Context, sink: &mut Sink) -> Result<(), PolicyError> {
        check(cx, sink);
        Ok(())
    }
}

fn check(cx: &Context, sink: &mut Sink) {
    let bans = &cx.policy.policy.banned_types;
    if bans.is_empty() {
        return;
    }
    for (fid, file) in cx.index.files.iter().enumerate() {
        let Some(rel) = cx.policy_rel[fid].as_deref() else {
            continue;
        };
        let active: Vec<_> = bans.iter().filter(|b| b.applies_to(rel)).collect();
        if active.is_empty() {
            continue;
        }
        let file_test = file.is_test_path || file.facts.file_is_test;
        for occ in &file.facts.paths {
            let in_test = file_test || occ.in_test;
            let candidates: Vec<_> = active
                .iter()
                .filter(|b| !(in_test && b.tests == TestsMode::Exclude))
                .collect();
            if candidates.is_empty() {
                continue;
            }
            let scope = GScope::new(FileId::new(fid), occ.scope);
            let hit = (1..=occ.path.len()).find_map(|k| {
                let res = if occ.is_use {
                    cx.index.resolve_use(scope, &occ.path[..k])
                } else {
                    cx.index.resolve_path(scope, &occ.path[..k], false)
                }?;
                let (paths, local): (Vec<Vec<String>>, bool) = match res {
                    Res::External(p) => (vec![p], false),
                    Res::Ambiguous(ps) => (ps, false),
                    Res::Item(it) => {
                        let mut q = cx
                            .index
                            .module_info_of(it.file, cx.index.item(it).scope)
                            .path;
                        q.push(cx.index.item(it).name.clone());
                        (vec![q], true)
                    }
                    _ => return None,
                };
                let names = paths.iter().map(|p| match local {
                    true => QualName::local(p),
                    false => QualName::external(p),
                });
                let names: Vec<QualName> = names.collect();
                candidates
                    .iter()
                    .find(|b| names.iter().any(|n| n.is(&b.segments)))
                    .map(|b| (k, *b))
            });
            if let Some((k, ban)) = hit {
                let written = occ.path[..k]
                    .iter()
                    .filter(|s| !s.is_empty())
                    .cloned()
                    .collect::<Vec<_>>()
                    .join("::");
                let mut d = Diagnostic::new(
                    META.id,
                    &file.rel,
                    occ.span,
                    format!("`{}` is banned here: {}", ban.path, ban.reason),
                );
                if written != ban.path {
                    d = d.with_note(format!("`{written}` resolves to `{}`", ban.path));
                }
                d.anchors = occ.anchors.clone();
                sink.push(d);
            }
        }
    }
}
