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

use super::callgraph::{Analyzer, CallFact, FnSummary};
use super::qualname::QualName;
use crate::diagnostic::Span;
use crate::facts::{Body, CallTarget, ExprId, ExprKind, FnIdx, MacroArgs, Stmt, StmtKind};
use crate::index::{FileId, FnId, Index};
use crate::suppress::{Directive, DirectiveKind};

/// What kind of expression a `listener-entry` marker inside a body marks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum BlockKind {
    /// `async { .. }` (also the future handed to a spawn call: `tokio::spawn(async move { .. })`).
    AsyncBlock,
    /// `|..| ..` or `async |..| ..` (also the closure handed to `std::thread::spawn`).
    Closure,
}

/// An async block or closure inside a function that a `listener-entry` marker names.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Block {
    pub expr: ExprId,
    pub kind: BlockKind,
    /// The marked statement's first line of code (after its attributes).
    pub line: u32,
}

/// A root of a search: a whole function, or one async block or closure inside a function
/// (a marked entry point: its code runs on the listener, the rest of the function does not).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Entry {
    pub f: FnId,
    pub block: Option<Block>,
}

impl From<FnId> for Entry {
    fn from(f: FnId) -> Entry {
        Entry { f, block: None }
    }
}

/// A `listener-entry` marker that marks nothing: the comment's position, and why.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Misplaced {
    pub file: FileId,
    pub at: Span,
    pub why: String,
}

/// The listener entry points, and the markers that name none.
#[derive(Debug, Clone, Default)]
pub struct Entries {
    /// Sorted, without repeats.
    pub entries: Vec<Entry>,
    pub misplaced: Vec<Misplaced>,
}

/// Does `pattern` (as a user writes it: `Type::method`, `module::fn`, `crate::a::f`) name the
/// workspace function whose qualified name is `qualified`? A suffix match of whole segments.
pub fn fn_matches(qualified: &[String], pattern: &[String]) -> bool {
    QualName::local(qualified).ends_with(pattern)
}

/// The listener entry points: the functions the policy's `[listener] entry-points` name (each
/// must match at least one, else a policy error on its span) and what the
/// `// channel-lint: listener-entry` markers name: the `fn` below one, or, inside a body, the
/// async block or closure the statement below it is, binds or hands to a spawn call
/// (`tokio::spawn(async move { .. })`). A marker that names neither is returned as misplaced.
/// `directives(file)` gives a file's directives.
pub fn listener_entries<'d>(
    index: &Index,
    policy: &LoadedPolicy,
    directives: &dyn Fn(usize) -> &'d [Directive],
) -> Result<Entries, PolicyError> {
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
        out.extend(hits.into_iter().map(Entry::from));
    }
    let mut misplaced = Vec::new();
    for (fid, file) in index.files.iter().enumerate() {
        let file_id = FileId::new(fid);
        for d in directives(fid) {
            if d.kind != DirectiveKind::ListenerEntry {
                continue;
            }
            // A trailing marker names what is on its own line.
            let lines: &[u32] = if d.trailing {
                std::slice::from_ref(&d.span.line)
            } else {
                &d.targets
            };
            match marked(file, file_id, lines) {
                Ok(found) => out.extend(found),
                Err(why) => misplaced.push(Misplaced {
                    file: file_id,
                    at: d.span,
                    why,
                }),
            }
        }
    }
    out.sort();
    out.dedup();
    Ok(Entries {
        entries: out,
        misplaced,
    })
}

/// What a marker attached to `lines` of `file` names: the functions whose item starts there
/// (or whose name is there), else the async block or closure of the outermost statement that
/// starts there; else why nothing.
fn marked(file: &crate::index::FileData, fid: FileId, lines: &[u32]) -> Result<Vec<Entry>, String> {
    if lines.is_empty() {
        return Err(
            "nothing follows it directly (a blank line breaks a directive from the code below)"
                .into(),
        );
    }
    let fns: Vec<Entry> = file
        .facts
        .fns
        .iter()
        .enumerate()
        .filter(|(_, f)| lines.contains(&f.item_line) || lines.contains(&f.span.line))
        .map(|(i, _)| Entry::from(FnId::new(fid, FnIdx::new(i))))
        .collect();
    if !fns.is_empty() {
        return Ok(fns);
    }
    // The statements starting on the lines, in every body; the outermost (largest id: a
    // parent's id is larger than its children's) whose expression is a block wins.
    let mut statement = false;
    let mut best: Option<Entry> = None;
    for i in 0..file.facts.bodies.len() {
        // (a body not parsed yet that cannot hold the lines stays so)
        if !file.facts.bodies.may_hold_line(i, lines) {
            continue;
        }
        let body = &file.facts.bodies[i];
        let f = FnId::new(fid, FnIdx::new(i));
        for s in body_stmts(body).filter(|s| lines.contains(&s.anchor.0)) {
            statement = true;
            let e = match &s.kind {
                StmtKind::Let { init: Some(i), .. } => *i,
                StmtKind::Expr(e) => *e,
                _ => continue,
            };
            if let Some((expr, kind)) = marked_block(body, e) {
                let better = match best {
                    Some(b) => b.f == f && b.block.is_some_and(|b| b.expr < expr),
                    None => true,
                };
                if better {
                    // The statement's line after its attributes (the marker's last target).
                    let line = lines.iter().copied().max().unwrap_or(s.anchor.0);
                    let block = Block { expr, kind, line };
                    best = Some(Entry {
                        f,
                        block: Some(block),
                    });
                }
            }
        }
    }
    match best {
        Some(e) => Ok(vec![e]),
        None if statement => Err("the statement below it is not an async block or a closure and hands none to a call (to mark the task `tokio::spawn(run(..))` starts, put the marker above `fn run`)".into()),
        None => Err("the line below it starts no `fn` and no statement in a function body (inside a statement, the marker goes above the whole statement)".into()),
    }
}

/// Every statement of `body` (blocks and macro bodies that parse as statements).
fn body_stmts(body: &Body) -> impl Iterator<Item = &Stmt> {
    body.exprs.iter().flat_map(|e| match &e.kind {
        ExprKind::Block(ss)
        | ExprKind::MacroCall {
            args: MacroArgs::Stmts(ss),
            ..
        } => ss.as_slice(),
        _ => &[],
    })
}

/// The async block or closure `e` is, or hands to a call (the spawned future of
/// `tokio::spawn(async move { .. })`, `thread::spawn(move || ..)`, through wrappers like
/// `Box::pin(..)` and `.instrument(..)`, `.await`, `?` and parentheses): an argument when
/// exactly one argument is one, else the receiver's.
fn marked_block(body: &Body, e: ExprId) -> Option<(ExprId, BlockKind)> {
    let one_of = |args: &[ExprId]| {
        let found: Vec<(ExprId, BlockKind)> =
            args.iter().filter_map(|&a| marked_block(body, a)).collect();
        (found.len() == 1).then(|| found[0])
    };
    match &body.expr(e).kind {
        ExprKind::AsyncBlock(_) => Some((e, BlockKind::AsyncBlock)),
        ExprKind::Closure { .. } => Some((e, BlockKind::Closure)),
        ExprKind::Paren(x) | ExprKind::Try(x) | ExprKind::Ref(x) => marked_block(body, *x),
        ExprKind::Await { base, .. } => marked_block(body, *base),
        ExprKind::Spawn { call } => marked_block(body, *call),
        ExprKind::MethodCall { recv, args, .. } => {
            one_of(args).or_else(|| marked_block(body, *recv))
        }
        ExprKind::Call {
            callee: CallTarget::Path { .. },
            args,
            ..
        } => one_of(args),
        _ => None,
    }
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
    /// The roots reached only in some of their async blocks or closures (marked entries), with
    /// those blocks: the rest of such a function's code is not on the path. A function reached
    /// whole too (a root, or through a followed call) is not here.
    pub within: HashMap<FnId, Vec<Block>>,
    /// The marked blocks of every function that has some, whether it is reached whole or not:
    /// their calls run on the path as if each block were a function of its own.
    marked: HashMap<FnId, Vec<Block>>,
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

    /// The calls of a reached `f` that are on the path: its summary, where the calls of its
    /// marked blocks run as in a function of their own ([`Analyzer::summary_within`]); for a
    /// root reached only within those blocks, only theirs.
    pub fn summary(&self, an: &mut Analyzer, f: FnId) -> std::sync::Arc<FnSummary> {
        match self.marked.get(&f) {
            Some(blocks) => {
                let exprs: Vec<ExprId> = blocks.iter().map(|b| b.expr).collect();
                an.summary_within(f, &exprs, !self.within.contains_key(&f))
            }
            None => an.summary(f),
        }
    }
}

/// Breadth-first search from `roots` over the calls with workspace targets for which
/// `follow(analyzer, caller, call)` holds. A root with a block starts from that block's calls
/// only (as if the block were a function of its own, see [`Analyzer::summary_within`]); when
/// its function is reached whole as well, the whole function is searched.
pub fn search(
    an: &mut Analyzer,
    roots: &[Entry],
    follow: &mut dyn FnMut(&Analyzer, FnId, &CallFact) -> bool,
) -> Reach {
    let mut r = Reach::default();
    let mut queue = VecDeque::new();
    for e in roots.iter().filter(|e| e.block.is_none()) {
        if r.preds.insert(e.f, None).is_none() {
            queue.push_back(e.f);
        }
    }
    for e in roots {
        let Some(b) = e.block else { continue };
        let blocks = r.marked.entry(e.f).or_default();
        if !blocks.contains(&b) {
            blocks.push(b);
        }
        if r.preds.contains_key(&e.f) && !r.within.contains_key(&e.f) {
            continue; // a whole root already
        }
        r.within.entry(e.f).or_default().push(b);
        if r.preds.insert(e.f, None).is_none() {
            queue.push_back(e.f);
        }
    }
    let mut listed = std::collections::HashSet::new();
    while let Some(f) = queue.pop_front() {
        if listed.insert(f) {
            r.order.push(f);
        }
        if an.summary_cached(f).is_none() {
            // Everything queued will be expanded: summarise it all at once, in parallel.
            an.prefetch(std::iter::once(f).chain(queue.iter().copied()));
        }
        let s = r.summary(an, f);
        for c in s.calls.iter().filter(|c| !c.targets().is_empty()) {
            if !follow(an, f, c) {
                continue;
            }
            for &t in c.targets() {
                let into = r.incoming.entry(t).or_default();
                if !into.contains(&(f, c.site)) {
                    into.push((f, c.site));
                }
                if !r.preds.contains_key(&t) {
                    r.preds.insert(t, Some((f, c.site)));
                    queue.push_back(t);
                } else if r.within.remove(&t).is_some() {
                    // A marked block's function reached by a call: all of it is on the path
                    // now (its blocks still as their own), reached through this call unless
                    // the call is reached through it (then it stays a root).
                    queue.push_back(t);
                    if chain(&r.preds, f).iter().all(|(g, _)| *g != t) {
                        r.preds.insert(t, Some((f, c.site)));
                    }
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
