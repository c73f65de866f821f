//! How the call-graph rules (listener-send-await, runtime-panic-call, listener-blocking-call)
//! describe a call chain in a finding: the names of its functions, one note and one related
//! location per call of the chain, and a one-line summary of the other chains that reach the
//! same site. One wording for every rule, so a user reads every chain the same way.

use crate::diagnostic::{Diagnostic, Related, Span};
use crate::index::{FnId, Index};
use crate::semantics::reach::{Block, BlockKind, Chain, Reach};

/// A function's own name (`route`).
pub(crate) fn short_name(index: &Index, f: FnId) -> String {
    index.fn_facts(f).name.clone()
}

/// A function's path from its crate root (`crate::transport::Listener::route`).
pub(crate) fn display_name(index: &Index, f: FnId) -> String {
    let mut q = index.qualified_fn_name(f);
    if !q.is_empty() {
        q[0] = "crate".into();
    }
    q.join("::")
}

/// `the async block at src/a.rs:12 and the closure at src/a.rs:30`.
fn blocks_at(index: &Index, f: FnId, blocks: &[Block]) -> String {
    let mut v: Vec<String> = blocks
        .iter()
        .map(|b| {
            let kind = match b.kind {
                BlockKind::AsyncBlock => "async block",
                BlockKind::Closure => "closure",
            };
            format!("the {kind} at {}:{}", index.files[f.file.idx()].rel, b.line)
        })
        .collect();
    v.sort();
    v.join(" and ")
}

/// A root reached only in its marked async blocks or closures, named for a finding:
/// `` the async block at src/a.rs:12 in `crate::a::setup` ``; `None` for any other function.
pub(crate) fn marked_root(index: &Index, reach: &Reach, f: FnId) -> Option<String> {
    reach.within.get(&f).map(|blocks| {
        format!(
            "{} in `{}`",
            blocks_at(index, f, blocks),
            display_name(index, f)
        )
    })
}

/// The note that names a chain's root `f`, after `prefix` (`listener entry point`): a
/// function as `` prefix `crate::a::f` (src/a.rs:3)``, a root reached only in its marked async
/// blocks or closures as `` prefix: the async block at src/a.rs:12 in `crate::a::setup` ``.
pub(crate) fn root_note(index: &Index, reach: &Reach, f: FnId, prefix: &str) -> String {
    match marked_root(index, reach, f) {
        Some(m) => format!("{prefix}: {m}"),
        None => format!(
            "{prefix} `{}` ({}:{})",
            display_name(index, f),
            index.files[f.file.idx()].rel,
            index.fn_facts(f).span.line
        ),
    }
}

/// The names of a chain's functions for a finding's message (`listen → route → shared`); a
/// root reached only in its marked blocks is `async block in setup` (or `closure in setup`).
pub(crate) fn chain_names(index: &Index, reach: &Reach, c: &Chain) -> Vec<String> {
    c.iter()
        .map(|(g, _)| match reach.within.get(g) {
            Some(blocks) => {
                let kind = if blocks.iter().all(|b| b.kind == BlockKind::Closure) {
                    "closure"
                } else {
                    "async block"
                };
                format!("{kind} in {}", short_name(index, *g))
            }
            None => short_name(index, *g),
        })
        .collect()
}

/// `a → b → c (`a` calls `b` at f.rs:3:5, ..)`.
pub(crate) fn describe_chain(index: &Index, reach: &Reach, c: &Chain) -> String {
    let names = chain_names(index, reach, c);
    let sites: Vec<String> = c
        .windows(2)
        .filter_map(|w| {
            let (caller, site) = w[0];
            site.map(|s| {
                format!(
                    "`{}` calls `{}` at {}:{}:{}",
                    short_name(index, caller),
                    short_name(index, w[1].0),
                    index.files[caller.file.idx()].rel,
                    s.line,
                    s.column
                )
            })
        })
        .collect();
    format!("{} ({})", names.join(" → "), sites.join(", "))
}

/// For each call of `steps`: a note "`a` calls `crate::b` at f.rs:3:5" and a related location
/// on the call.
pub(crate) fn push_steps(index: &Index, d: &mut Diagnostic, steps: &Chain) {
    for w in steps.windows(2) {
        let (caller, site) = w[0];
        let callee = w[1].0;
        if let Some(site) = site {
            let rel = &index.files[caller.file.idx()].rel;
            d.notes.push(format!(
                "`{}` calls `{}` at {}:{}:{}",
                short_name(index, caller),
                display_name(index, callee),
                rel,
                site.line,
                site.column
            ));
            d.related.push(call_site(
                index,
                caller,
                site,
                format!(
                    "`{}` calls `{}`",
                    short_name(index, caller),
                    short_name(index, callee)
                ),
            ));
        }
    }
}

/// A related location on the call at `site` in `caller`'s file.
pub(crate) fn call_site(index: &Index, caller: FnId, site: Span, message: String) -> Related {
    Related {
        path: index.files[caller.file.idx()].rel.clone(),
        line: site.line,
        column: site.column,
        end_line: site.end_line,
        end_column: site.end_column,
        message,
    }
}
