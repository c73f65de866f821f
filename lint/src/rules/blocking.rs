//! What runtime-panic-call and listener-blocking-call share: which calls of a function block
//! (the known table in [`crate::semantics::known`] plus the policy's `[[blocking-call]]`s),
//! which closures are insulated (the known insulators plus the policy's
//! `[[blocking-insulator]]`s), the search from the async contexts, and the notes of a finding.
//! Not a rule of its own.

use std::collections::{HashMap, HashSet};

use channel_lint_policy::LoadedPolicy;

use super::chain::{chain_names, describe_chain, push_steps, root_note};
use super::Context;
use crate::diagnostic::{Diagnostic, Sink, Span};
use crate::facts::{Anchor, Body, CallTarget, ExprId, ExprKind, Pat};
use crate::index::{FileId, FnId, Index, Res};
use crate::semantics::callgraph::{Analyzer, CallFact, EdgeKind, FnSummary, Subject};
use crate::semantics::known::{blocking_fn, blocking_method, is_insulator_fn, BlockingKind};
use crate::semantics::qualname::QualName;
use crate::semantics::reach::{self, chains, Entry, Reach};
use crate::semantics::ty::{self, Ty};
use crate::semantics::walk::{anchors_of, subtree};

/// A blocking call found in a function.
pub(crate) struct Site {
    pub span: Span,
    pub anchors: Vec<Anchor>,
    /// `tokio::sync::mpsc::Sender::blocking_send`, `std::thread::sleep`, the policy's path.
    pub what: String,
    pub kind: BlockingKind,
    /// The policy's reason, for a `[[blocking-call]]`.
    pub reason: Option<String>,
}

/// The name a workspace type or function has for a policy pattern.
fn local_name(index: &Index, ty: &Ty) -> Option<Vec<String>> {
    match ty::peel_ref(ty) {
        Ty::Adt {
            key: crate::index::resolve::TypeKey::Local(it),
            ..
        } => {
            let item = index.item(*it);
            let mut q = index.module_info_of(it.file, item.scope).path;
            q.push(item.name.clone());
            Some(q)
        }
        _ => None,
    }
}

/// Does a policy path (`crate::x::FastSender::try_send`, `std::sync::Mutex::lock`,
/// `crate::executor::run_blocking`) name this call? By the receiver's type and the method, the
/// external path called, or a workspace function it resolves to.
fn policy_matches(an: &Analyzer, f: FnId, s: &FnSummary, c: &CallFact, pattern: &[String]) -> bool {
    let index = an.index;
    let body = an.body(f);
    match (&c.subject, &body.expr(c.call).kind) {
        (Subject::Method { recv }, ExprKind::MethodCall { method, .. }) => {
            if pattern.last() != Some(method) {
                return false;
            }
            let t = s.receiver_ty(*recv).cloned().unwrap_or(Ty::Unknown);
            let ty_pat = &pattern[..pattern.len() - 1];
            match ty::peel(t.clone()) {
                Ty::Adt {
                    key: crate::index::resolve::TypeKey::External(p),
                    ..
                } => {
                    let segs: Vec<String> = p.split("::").map(str::to_string).collect();
                    if QualName::external(&segs).is(ty_pat) {
                        return true;
                    }
                }
                peeled => {
                    if let Some(q) = local_name(index, &peeled) {
                        if QualName::local(&q).is_type(ty_pat) {
                            return true;
                        }
                    }
                }
            }
            targets_match(index, c, pattern)
        }
        (Subject::Path { resolved }, _) => {
            if let Some(Res::External(p)) = resolved {
                if QualName::external(p).is(pattern) {
                    return true;
                }
            }
            targets_match(index, c, pattern)
        }
        _ => false,
    }
}

fn targets_match(index: &Index, c: &CallFact, pattern: &[String]) -> bool {
    c.targets()
        .iter()
        .any(|&t| QualName::local(&index.qualified_fn_name(t)).is_type(pattern))
}

/// Is the call an insulator (its closure arguments may block)?
fn is_insulator(
    an: &Analyzer,
    f: FnId,
    s: &FnSummary,
    c: &CallFact,
    policy: &LoadedPolicy,
) -> bool {
    if let Subject::Path {
        resolved: Some(Res::External(p)),
    } = &c.subject
    {
        if is_insulator_fn(p) {
            return true;
        }
    }
    policy
        .policy
        .blocking_insulators
        .iter()
        .any(|i| policy_matches(an, f, s, c, &i.segments))
}

/// What one function's body says for the blocking rules: the expressions inside insulators'
/// arguments, and the insulator calls themselves.
pub(crate) struct Insulation {
    inside: HashSet<ExprId>,
    calls: HashSet<ExprId>,
}

impl Insulation {
    pub fn of(an: &Analyzer, f: FnId, s: &FnSummary, policy: &LoadedPolicy) -> Insulation {
        let body = an.body(f);
        let mut out = Insulation {
            inside: HashSet::new(),
            calls: HashSet::new(),
        };
        for c in &s.calls {
            if !is_insulator(an, f, s, c, policy) {
                continue;
            }
            out.calls.insert(c.call);
            let args = match &body.expr(c.call).kind {
                ExprKind::MethodCall { args, .. } => args.clone(),
                ExprKind::Call {
                    callee: CallTarget::Path { .. },
                    args,
                    ..
                } => args.clone(),
                _ => Vec::new(),
            };
            for a in args {
                out.inside.extend(subtree(body, a));
            }
        }
        for branch in outside_runtime_branches(body, s) {
            out.inside.extend(subtree(body, branch));
        }
        out
    }

    /// Does the call run where blocking is fine (inside an insulator's argument), or is it the
    /// insulator itself (not followed)?
    pub fn covers(&self, c: &CallFact) -> bool {
        self.inside.contains(&c.call) || self.calls.contains(&c.call)
    }
}

/// Is `e` (through parentheses) a call of `tokio::runtime::Handle::try_current()`?
fn is_try_current(body: &Body, s: &FnSummary, e: ExprId) -> bool {
    let mut e = e;
    while let ExprKind::Paren(inner) = &body.expr(e).kind {
        e = *inner;
    }
    s.calls.iter().any(|c| {
        c.call == e
            && matches!(
                &c.subject,
                Subject::Path { resolved: Some(Res::External(p)) }
                    if QualName::external(p).is(&["tokio", "runtime", "Handle", "try_current"].map(String::from))
            )
    })
}

/// The last segment of a pattern's path: `Ok` of `Ok(h)`, `Err` of `Err(_)`.
fn variant(pat: &Pat) -> Option<&str> {
    match pat {
        Pat::TupleStruct { path, .. } | Pat::Struct { path, .. } => path.last().map(String::as_str),
        Pat::Ref(p) => variant(p),
        _ => None,
    }
}

/// The branches of `f` that run only when the thread is *not* inside a tokio runtime, by the
/// idiom that asks: `match Handle::try_current() { Ok(h) => .., Err(_) => HERE }`,
/// `if let Ok(h) = Handle::try_current() { .. } else { HERE }`, `if let Err(_) = .. { HERE }`,
/// and `if Handle::try_current().is_err() { HERE } else { .. }` (`is_ok()`: the else branch).
/// A blocking call there cannot run on a runtime's thread.
fn outside_runtime_branches(body: &Body, s: &FnSummary) -> Vec<ExprId> {
    let mut out = Vec::new();
    for e in &body.exprs {
        match &e.kind {
            ExprKind::Match { scrutinee, arms } if is_try_current(body, s, *scrutinee) => {
                out.extend(
                    arms.iter()
                        .filter(|a| variant(&a.pat) == Some("Err"))
                        .map(|a| a.body),
                );
            }
            ExprKind::If { cond, then, els } => {
                let outside_when_true = match &body.expr(*cond).kind {
                    ExprKind::Let { pat, init } if is_try_current(body, s, *init) => {
                        match variant(pat) {
                            Some("Err") => Some(true),
                            Some("Ok") => Some(false),
                            _ => None,
                        }
                    }
                    ExprKind::MethodCall { recv, method, .. } if is_try_current(body, s, *recv) => {
                        match method.as_str() {
                            "is_err" => Some(true),
                            "is_ok" => Some(false),
                            _ => None,
                        }
                    }
                    _ => None,
                };
                match outside_when_true {
                    Some(true) => out.push(*then),
                    Some(false) => out.extend(*els),
                    None => {}
                }
            }
            _ => {}
        }
    }
    out
}

/// The calls of `f` that run in its task, on its thread (not spawned, not deferred, not
/// insulated), restricted to `only` kinds when given.
fn in_place<'s>(
    s: &'s FnSummary,
    ins: &'s Insulation,
    only: Option<&'s [EdgeKind]>,
) -> impl Iterator<Item = &'s CallFact> + 's {
    s.calls.iter().filter(move |c| {
        c.kind.runs_in_caller() && !ins.covers(c) && only.is_none_or(|k| k.contains(&c.kind))
    })
}

/// The edge kinds that are async context in a sync function: its async blocks, run in place or
/// returned.
pub(crate) const ASYNC_BLOCK_KINDS: &[EdgeKind] = &[EdgeKind::InAsyncBlock, EdgeKind::Returned];

/// The blocking calls of `f` (see [`in_place`]): the known ones and the policy's.
fn sites(
    an: &Analyzer,
    f: FnId,
    s: &FnSummary,
    ins: &Insulation,
    policy: &LoadedPolicy,
    only: Option<&[EdgeKind]>,
) -> Vec<Site> {
    let body = an.body(f);
    let mut out = Vec::new();
    for c in in_place(s, ins, only) {
        let hit = match (&c.subject, &body.expr(c.call).kind) {
            (Subject::Method { recv }, ExprKind::MethodCall { method, .. }) => {
                let own = s.ty_of(*recv).unwrap_or(&Ty::Unknown);
                let used = s.receiver_ty(*recv).unwrap_or(&Ty::Unknown);
                blocking_method(own, method).or_else(|| blocking_method(used, method))
            }
            (
                Subject::Path { resolved },
                ExprKind::Call {
                    callee: CallTarget::Path { .. },
                    ..
                },
            ) => match resolved {
                Some(Res::External(p)) => blocking_fn(p),
                _ => None,
            },
            _ => continue,
        };
        let mut site = hit.map(|(what, kind)| Site {
            span: c.site,
            anchors: Vec::new(),
            what,
            kind,
            reason: None,
        });
        if site.is_none() {
            if let Some(bc) = policy
                .policy
                .blocking_calls
                .iter()
                .find(|bc| policy_matches(an, f, s, c, &bc.segments))
            {
                site = Some(Site {
                    span: c.site,
                    anchors: Vec::new(),
                    what: bc.path.clone(),
                    kind: BlockingKind::Blocks,
                    reason: Some(bc.reason.clone()),
                });
            }
        }
        if let Some(mut site) = site {
            site.anchors = anchors_of(body, c.call);
            out.push(site);
        }
    }
    out
}

/// What [`search`] found: the reach, and the insulation of each function whose calls it
/// looked at (computed once, and read again when the function's sites are listed).
pub(crate) struct Searched {
    pub reach: Reach,
    insulation: HashMap<FnId, Insulation>,
}

impl Searched {
    /// The blocking calls of a reached function `f` whose kind `keep` accepts (a function in
    /// `restricted` only in its async blocks).
    pub fn sites(
        &self,
        cx: &Context,
        an: &mut Analyzer,
        f: FnId,
        restricted: &HashSet<FnId>,
        keep: &dyn Fn(BlockingKind) -> bool,
    ) -> Vec<Site> {
        let s = self.reach.summary(an, f);
        let only = restricted.contains(&f).then_some(ASYNC_BLOCK_KINDS);
        let computed;
        let ins = match self.insulation.get(&f) {
            Some(ins) => ins,
            None => {
                computed = Insulation::of(an, f, &s, cx.policy);
                &computed
            }
        };
        sites(an, f, &s, ins, cx.policy, only)
            .into_iter()
            .filter(|site| keep(site.kind))
            .collect()
    }
}

/// The search from `roots` along the calls that run in place and are not insulated; a root in
/// `restricted` (a sync function holding async blocks) is followed only along its async-block
/// calls; with `within`, only calls into it are followed (after the exemptions on them are
/// read: an exemption the whole search would meet is used). The exemption directives used on
/// its edges are marked used in `sink`.
pub(crate) fn search(
    cx: &Context,
    sink: &mut Sink,
    an: &mut Analyzer,
    rule: &str,
    roots: &[Entry],
    restricted: &HashSet<FnId>,
    within: Option<&HashSet<FnId>>,
) -> Searched {
    let mut exempt: Vec<(FileId, usize)> = Vec::new();
    let mut insulation: HashMap<FnId, Insulation> = HashMap::new();
    let policy = cx.policy;
    let reach = reach::search(an, roots, &mut |an, f, c| {
        if !c.kind.runs_in_caller() {
            return false;
        }
        if restricted.contains(&f) && !ASYNC_BLOCK_KINDS.contains(&c.kind) {
            return false;
        }
        let ins = insulation.entry(f).or_insert_with(|| {
            let s = an
                .summary_cached(f)
                .expect("summarised before its calls are followed");
            Insulation::of(an, f, &s, policy)
        });
        if ins.covers(c) {
            return false;
        }
        if let Some(d) = cx.edge_exemption(rule, an.body(f), f, c) {
            exempt.push((f.file, d));
            return false;
        }
        within.is_none_or(|w| c.targets().iter().any(|t| w.contains(t)))
    });
    for &(fid, d) in &exempt {
        sink.directive_used(
            &cx.index.files[fid.idx()].rel,
            cx.directives(fid.idx())[d].span,
        );
    }
    Searched { reach, insulation }
}

/// The async contexts: every async fn of the build, and every sync fn with an async block run
/// in place or returned (the second set, restricted to those calls); with `within`, only those
/// in it.
pub(crate) fn async_roots(
    an: &mut Analyzer,
    within: Option<&HashSet<FnId>>,
) -> (Vec<Entry>, HashSet<FnId>) {
    let index = an.index;
    let mut roots = Vec::new();
    let mut restricted = HashSet::new();
    for f in index.all_fns() {
        if !an.in_build(f) || within.is_some_and(|w| !w.contains(&f)) {
            continue;
        }
        if index.fn_facts(f).is_async {
            roots.push(Entry::from(f));
        } else if index.fn_facts(f).has_async_block {
            let s = an.summary(f);
            if s.calls.iter().any(|c| ASYNC_BLOCK_KINDS.contains(&c.kind)) {
                roots.push(Entry::from(f));
                restricted.insert(f);
            }
        }
    }
    (roots, restricted)
}

/// Push one finding per site of `f`: `message(site, chain names)`, the root note (`root`: what
/// the root is, `listener entry point`), the chain's steps, the other chains, the reason, the
/// help.
#[allow(clippy::too_many_arguments)]
pub(crate) fn report(
    cx: &Context,
    sink: &mut Sink,
    rule: &'static str,
    reach: &Reach,
    f: FnId,
    sites: &[Site],
    message: &dyn Fn(&Site, &str) -> String,
    root: &str,
    help: &str,
) {
    let index = cx.index;
    let (all_chains, more) = chains(reach, f);
    let steps = &all_chains[0];
    let names = chain_names(index, reach, steps);
    let file = &index.files[f.file.idx()];
    for site in sites {
        let mut d = Diagnostic::new(
            rule,
            &file.rel,
            site.span,
            message(site, &names.join(" → ")),
        );
        d.notes.push(root_note(index, reach, steps[0].0, root));
        push_steps(index, &mut d, steps);
        for other in &all_chains[1..] {
            d.notes.push(format!(
                "also reached: {}",
                describe_chain(index, reach, other)
            ));
        }
        if more {
            d.notes.push(format!(
                "also reached through more chains than the {} shown",
                all_chains.len()
            ));
        }
        if let Some(r) = &site.reason {
            d.notes.push(format!("the policy says: {r}"));
        }
        d.notes.push(help.to_string());
        d.anchors = site.anchors.clone();
        sink.push(d);
    }
}
