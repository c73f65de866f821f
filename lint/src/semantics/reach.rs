//! Reachability over the call graph, for any rule: the listener entry points (policy
//! `[listener] entry-points` and `// channel-lint: listener-entry` markers), a breadth-first
//! search from a set of roots along the call edges a rule chooses to follow (with parent
//! pointers, so every reached function has a shortest chain back to a root), and the distinct
//! chains that reach a function.
//!
//! Nothing here knows a rule: the caller decides which edges are followed (by edge kind, by
//! an exemption on the edge, by what the call is) and what a reached function means.

use std::collections::{HashMap, VecDeque};

use channel_lint_policy::{LoadedPolicy, PolicyError};

use super::callgraph::{Analyzer, CallFact};
use super::qualname::QualName;
use crate::diagnostic::Span;
use crate::facts::FnIdx;
use crate::index::{FileId, FnId, Index};
use crate::suppress::Directive;

/// Does `pattern` (as a user writes it: `Type::method`, `module::fn`, `crate::a::f`) name the
/// workspace function whose qualified name is `qualified`? A suffix match of whole segments.
pub fn fn_matches(qualified: &[String], pattern: &[String]) -> bool {
    QualName::local(qualified).ends_with(pattern)
}

/// The listener entry points: the functions the policy's `[listener] entry-points` name (each
/// must match at least one, else a policy error on its span) and those marked
/// `// channel-lint: listener-entry`. `directives(file)` gives a file's directives. Sorted,
/// without repeats.
pub fn listener_entries<'d>(
    index: &Index,
    policy: &LoadedPolicy,
    directives: &dyn Fn(usize) -> &'d [Directive],
) -> Result<Vec<FnId>, PolicyError> {
    let mut out = Vec::new();
    let all: Vec<(FnId, Vec<String>)> = index
        .all_fns()
        .map(|f| (f, index.qualified_fn_name(f)))
        .collect();
    for ep in &policy.policy.listener.entry_points {
        let hits: Vec<FnId> = all
            .iter()
            .filter(|(_, q)| fn_matches(q, &ep.segments))
            .map(|(f, _)| *f)
            .collect();
        if hits.is_empty() {
            let near = nearest_names(index, &all, &ep.segments);
            let mut help = String::from(
                "entry points are matched as a suffix of `module::fn` or `Type::method`",
            );
            if near.is_empty() {
                help.push_str("; check the spelling, or that the file is linted (not excluded)");
            } else {
                help.push_str("; the nearest existing names:");
                for n in near {
                    help.push_str(&format!("\n  {n}"));
                }
            }
            help.push_str("\n`--list-functions PATTERN` lists the functions a pattern matches");
            return Err(policy.error_at(
                ep.span.clone(),
                format!(
                    "listener entry point `{}` matches no function in the linted files",
                    ep.pattern
                ),
                Some(help),
            ));
        }
        // Several functions of one qualified name (a `#[cfg]` pair) are one entry point.
        let mut names: Vec<&Vec<String>> = all
            .iter()
            .filter(|(f, _)| hits.contains(f))
            .map(|(_, q)| q)
            .collect();
        names.sort();
        names.dedup();
        if names.len() > 1 {
            let mut help = format!(
                "a pattern names one function; a longer suffix picks one of these {}:",
                names.len()
            );
            for &f in &hits {
                let q = &all.iter().find(|(g, _)| *g == f).expect("a hit").1;
                let pick = match picking_suffix(q, &all) {
                    Some(p) => format!("write `{p}`"),
                    None => "no suffix names it alone".to_string(),
                };
                help.push_str(&format!(
                    "\n  `{}` ({}): {pick}",
                    q.join("::"),
                    fn_location(index, f)
                ));
            }
            return Err(policy.error_at(
                ep.span.clone(),
                format!(
                    "listener entry point `{}` matches {} functions",
                    ep.pattern,
                    names.len()
                ),
                Some(help),
            ));
        }
        out.extend(hits);
    }
    for (fid, file) in index.files.iter().enumerate() {
        let lines = crate::suppress::listener_entry_lines(directives(fid));
        if lines.is_empty() {
            continue;
        }
        for (i, f) in file.facts.fns.iter().enumerate() {
            if lines.contains(&f.item_line) || lines.contains(&f.span.line) {
                out.push(FnId::new(FileId::new(fid), FnIdx::new(i)));
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(out)
}

/// `src/a.rs:12`: where a function is (its name's line).
pub fn fn_location(index: &Index, f: FnId) -> String {
    format!(
        "{}:{}",
        index.files[f.file.idx()].rel,
        index.fn_facts(f).span.line
    )
}

/// The functions `pattern` names (as an entry point would match it), with their qualified
/// names, in file and line order: what `--list-functions PATTERN` prints.
pub fn functions_matching(index: &Index, pattern: &[String]) -> Vec<(FnId, Vec<String>)> {
    let mut v: Vec<(FnId, Vec<String>)> = index
        .all_fns()
        .map(|f| (f, index.qualified_fn_name(f)))
        .filter(|(_, q)| fn_matches(q, pattern))
        .collect();
    v.sort_by_key(|(f, _)| {
        (
            index.files[f.file.idx()].rel.clone(),
            index.fn_facts(*f).span.line,
        )
    });
    v
}

/// The shortest suffix of `q` (whole segments) that matches no function of another qualified
/// name; `None` when even the whole name matches another.
fn picking_suffix(q: &[String], all: &[(FnId, Vec<String>)]) -> Option<String> {
    (1..=q.len()).find_map(|n| {
        let suffix = &q[q.len() - n..];
        all.iter()
            .all(|(_, o)| o == q || !fn_matches(o, suffix))
            .then(|| suffix.join("::"))
    })
}

/// Edit distance (Levenshtein, by chars).
fn edit_distance(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1];
        for (j, &cb) in b.iter().enumerate() {
            cur.push(
                (prev[j] + usize::from(ca != cb))
                    .min(prev[j + 1] + 1)
                    .min(cur[j] + 1),
            );
        }
        prev = cur;
    }
    prev[b.len()]
}

/// Up to five existing names nearest to an unmatched `pattern`, each as `name (file:line)`:
/// functions whose last segment is the pattern's (the name exists on another path), then
/// those whose suffix of the pattern's length is within a third of its length in edit
/// distance (at least 2), nearest first.
pub fn nearest_names(
    index: &Index,
    all: &[(FnId, Vec<String>)],
    pattern: &[String],
) -> Vec<String> {
    let want = pattern.join("::");
    let last = pattern.last().map(String::as_str).unwrap_or("");
    let limit = (want.chars().count() / 3).max(2);
    let mut scored: Vec<(usize, String, String)> = all
        .iter()
        .filter_map(|(f, q)| {
            let n = pattern.len().min(q.len());
            let suffix = q[q.len() - n..].join("::");
            let d = edit_distance(&suffix, &want);
            let same_last = q.last().is_some_and(|l| l == last);
            (same_last || d <= limit).then(|| {
                let d = if same_last { 0 } else { d };
                (d, q.join("::"), fn_location(index, *f))
            })
        })
        .collect();
    scored.sort();
    scored.dedup_by(|a, b| a.1 == b.1);
    scored
        .into_iter()
        .take(5)
        .map(|(_, q, at)| format!("`{q}` ({at})"))
        .collect()
}

/// Each reached function with the (caller, call site) it was first reached from; `None` for a
/// root.
pub type Preds = HashMap<FnId, Option<(FnId, Span)>>;

/// What a search found.
#[derive(Debug, Default)]
pub struct Reach {
    /// The reached functions, in the order the search reached them (roots first).
    pub order: Vec<FnId>,
    pub preds: Preds,
    /// Every followed call edge into a reached function: callee → (caller, call site), in
    /// search order, without repeats.
    pub incoming: HashMap<FnId, Vec<(FnId, Span)>>,
}

impl Reach {
    /// Is `f` reached?
    pub fn contains(&self, f: FnId) -> bool {
        self.preds.contains_key(&f)
    }

    /// Is `f` one of the roots?
    pub fn is_root(&self, f: FnId) -> bool {
        matches!(self.preds.get(&f), Some(None))
    }
}

/// Breadth-first search from `roots` over the calls with workspace targets for which
/// `follow(analyzer, caller, call)` holds.
pub fn search(
    an: &mut Analyzer,
    roots: &[FnId],
    follow: &mut dyn FnMut(&Analyzer, FnId, &CallFact) -> bool,
) -> Reach {
    let mut r = Reach::default();
    let mut queue = VecDeque::new();
    for &e in roots {
        if r.preds.insert(e, None).is_none() {
            queue.push_back(e);
        }
    }
    while let Some(f) = queue.pop_front() {
        r.order.push(f);
        if an.summary_cached(f).is_none() {
            // Everything queued will be expanded: summarise it all at once, in parallel.
            an.prefetch(std::iter::once(f).chain(queue.iter().copied()));
        }
        let s = an.summary(f);
        for c in s.calls.iter().filter(|c| !c.targets().is_empty()) {
            if !follow(an, f, c) {
                continue;
            }
            for &t in c.targets() {
                let into = r.incoming.entry(t).or_default();
                if !into.contains(&(f, c.site)) {
                    into.push((f, c.site));
                }
                if let std::collections::hash_map::Entry::Vacant(v) = r.preds.entry(t) {
                    v.insert(Some((f, c.site)));
                    queue.push_back(t);
                }
            }
        }
    }
    r
}

/// A chain from a root: (function, the call site where it calls the next step; `None` for the
/// last).
pub type Chain = Vec<(FnId, Option<Span>)>;

/// How many chains [`chains`] lists besides the first.
pub const MORE_CHAINS: usize = 8;

/// The distinct chains from the roots to `f` (no function twice in one), the search's first
/// (shortest) chain first, then the others shortest first: at most `1 + MORE_CHAINS`, and
/// whether more exist than are returned. Bounded work: the backward walk stops after a fixed
/// number of steps, and says so through the flag.
pub fn chains(reach: &Reach, f: FnId) -> (Vec<Chain>, bool) {
    let first = chain(&reach.preds, f);
    let mut found: Vec<Chain> = Vec::new();
    let mut truncated = false;
    let mut budget = 20_000usize;
    // Backward depth-first walk over the incoming edges; `rev` is the chain from `f` back.
    let mut stack: Vec<Chain> = vec![vec![(f, None)]];
    while let Some(rev) = stack.pop() {
        if budget == 0 || found.len() > 4 * MORE_CHAINS {
            truncated = true;
            break;
        }
        budget -= 1;
        let (head, _) = *rev.last().expect("never empty");
        if reach.is_root(head) {
            // A root: a whole chain (each step keeps the site where it calls the next).
            let c: Chain = rev.iter().rev().copied().collect();
            if c != first && !found.contains(&c) {
                found.push(c);
            }
            continue;
        }
        for &(caller, site) in reach.incoming.get(&head).map(Vec::as_slice).unwrap_or(&[]) {
            if rev.iter().any(|(g, _)| *g == caller) {
                continue;
            }
            let mut next = rev.clone();
            next.push((caller, Some(site)));
            stack.push(next);
        }
    }
    // Shortest first; among equals, in source order of their call sites.
    found.sort_by_key(|c| {
        let sites: Vec<(FnId, u32, u32)> = c
            .iter()
            .map(|(g, s)| (*g, s.map_or(0, |s| s.line), s.map_or(0, |s| s.column)))
            .collect();
        (c.len(), sites)
    });
    if found.len() > MORE_CHAINS {
        truncated = true;
        found.truncate(MORE_CHAINS);
    }
    let mut out = vec![first];
    out.extend(found);
    (out, truncated)
}

/// The search's first chain to `f`, root first.
pub fn chain(preds: &Preds, f: FnId) -> Chain {
    let mut out = vec![(f, None)];
    let mut cur = f;
    while let Some(Some((p, site))) = preds.get(&cur) {
        if out.len() > 10_000 {
            break;
        }
        out.push((*p, Some(*site)));
        cur = *p;
    }
    out.reverse();
    out
}
