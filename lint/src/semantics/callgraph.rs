//! The call graph: each function body walked once ([`crate::semantics::walk`]) with a type
//! environment, giving for every call its site, where it runs ([`EdgeKind`]), what the call is
//! made on (the receiver's inferred type, or the resolved path) and what it may call: the
//! functions (an edge), nothing in the workspace, or unresolved with a reason. Summaries are
//! computed lazily, only for functions a search reaches.
//!
//! Nothing here knows a rule: a rule picks the edge kinds it follows and reads the calls it
//! cares about (a channel send, a blocking call) off [`FnSummary::calls`].

use std::collections::HashMap;
use std::sync::Arc;

use super::ty::{
    self as types, bind_pat, elem, field_ty, generic_subst, impl_subst, iter_elem, peel, peel_ref,
    self_type_of, std_method, unwrap_try, Lower, Ty,
};
use super::walk::{self, walk_body_with, BodyVisitor, Init, Place, Use};
use crate::cfg::CfgEnv;
use crate::diagnostic::Span;
use crate::facts::{
    Anchor, Body, CallTarget, ExprId, ExprKind, FnOwner, ItemKind, Pat, ScopeId, TyRef,
};
use crate::index::resolve::TypeKey;
use crate::index::{FileId, FnId, GImpl, GItem, GScope, Index, Res};

/// Where a call runs relative to the function it is written in.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum EdgeKind {
    /// A plain call, run as part of the caller.
    Inline,
    /// A call whose value is awaited where it is written (`.await`, a `select!`/`join!` future).
    Awaited,
    /// Inside a closure written in the caller (today: assumed to run in place).
    InClosure,
    /// Inside an async block written in the caller (today: assumed to be awaited in place).
    InAsyncBlock,
    /// Inside the future or closure handed to a spawner: not on the caller's path.
    Spawned,
    /// A call of a workspace `async fn` whose future this body neither awaits (in place or
    /// through a local) nor returns nor spawns (it is pushed into a set, passed on, stored,
    /// dropped), and any call inside an async block treated so: it runs wherever that future
    /// is polled, if ever, concurrently with whatever polls it.
    Deferred,
    /// A call of a workspace `async fn` whose future is the function's value, and any call
    /// inside an async block that is: it runs when the caller polls what this function
    /// returns (assumed: in place).
    Returned,
    /// In a `select!` branch future of a `select!` that has other branches: it runs in the
    /// caller's task, polled together with the other branches, so while it waits the caller
    /// still serves them (it blocks the thread like any code, but does not hold the loop).
    Raced,
}

impl EdgeKind {
    fn of(awaited: bool, place: Place) -> EdgeKind {
        if place.spawned {
            EdgeKind::Spawned
        } else if place.deferred > 0 {
            EdgeKind::Deferred
        } else if place.raced > 0 {
            EdgeKind::Raced
        } else if place.closures > 0 {
            EdgeKind::InClosure
        } else if place.returned > 0 {
            EdgeKind::Returned
        } else if place.async_blocks > 0 {
            EdgeKind::InAsyncBlock
        } else if awaited {
            EdgeKind::Awaited
        } else {
            EdgeKind::Inline
        }
    }

    /// Runs as part of the caller: everything but spawned work and deferred futures (calls in
    /// closures and in returned futures are assumed to run in place).
    pub fn runs_in_caller(self) -> bool {
        !matches!(self, EdgeKind::Spawned | EdgeKind::Deferred)
    }
}

/// What a call is made on.
#[derive(Debug, Clone)]
pub enum Subject {
    /// `recv.method(..)`: the receiver expression, whose inferred type is in the side table
    /// ([`FnSummary::ty_of`]).
    Method { recv: ExprId },
    /// `a::b::f(..)`: what the path resolved to.
    Path { resolved: Option<Res> },
}

/// Why a call has no known target.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Unresolved {
    /// `.m(..)` on a receiver of unknown type.
    UnknownReceiver,
    /// `f(..)` where `f` is a local: a closure or function value.
    CallsAValue,
    /// A path that resolves to no known function.
    UnknownPath,
    /// `.m(..)` on a future (a combinator or an extension trait's method): not followed.
    OnFuture,
}

/// What a call may reach.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Resolution {
    /// Workspace functions it may call; `dispatch`: through a trait (every impl is a candidate).
    Fns {
        targets: Vec<FnId>,
        dispatch: bool,
    },
    /// Resolved, but to nothing in the workspace (std, a dependency, a struct constructor).
    External,
    /// Every workspace function it names is absent from the build analysed (for example
    /// only test-only impls of a trait match, and production code is analysed).
    NotInBuild,
    Unresolved(Unresolved),
}

/// One call of a function body.
#[derive(Debug, Clone)]
pub struct CallFact {
    /// The call node ([`ExprKind::MethodCall`] or [`ExprKind::Call`]).
    pub call: ExprId,
    /// The method name, or the last segment of the path.
    pub site: Span,
    pub awaited: bool,
    pub kind: EdgeKind,
    pub subject: Subject,
    pub resolution: Resolution,
}

impl CallFact {
    /// The workspace functions it may call (empty unless resolved to some).
    pub fn targets(&self) -> &[FnId] {
        match &self.resolution {
            Resolution::Fns { targets, .. } => targets,
            _ => &[],
        }
    }
}

/// What the walk of one function body inferred: its calls, in evaluation order (call → what it
/// may reach), and the types of the expressions it typed (expression → type), as side tables
/// of the body (the body itself is the facts', unchanged).
#[derive(Debug, Clone, Default)]
pub struct FnSummary {
    pub calls: Vec<CallFact>,
    /// (expression, type), sorted by expression: the receivers of method calls and the
    /// initialisers of `let`s and other bindings, each as typed where the walk met it first.
    /// An expression not here was not typed (which is not the same as [`Ty::Unknown`]).
    types: Vec<(ExprId, Ty)>,
    /// Method receivers whose method was found through auto-deref: (receiver, the type the
    /// method was found on), sorted by expression. Like rustc's adjustments, apart from the
    /// receiver's own type.
    adjusted: Vec<(ExprId, Ty)>,
}

impl FnSummary {
    /// The type a method call's receiver is used at: its type after auto-deref
    /// ([`Analyzer::lookup_method`]), else its own type.
    pub fn receiver_ty(&self, recv: ExprId) -> Option<&Ty> {
        match self.adjusted.binary_search_by_key(&recv, |(x, _)| *x) {
            Ok(i) => Some(&self.adjusted[i].1),
            Err(_) => self.ty_of(recv),
        }
    }

    /// The inferred type of `e`, if the walk typed it (see [`FnSummary::types`]).
    pub fn ty_of(&self, e: ExprId) -> Option<&Ty> {
        self.types
            .binary_search_by_key(&e, |(x, _)| *x)
            .ok()
            .map(|i| &self.types[i].1)
    }

    /// The calls with workspace targets, of the given kinds.
    pub fn edges(&self, follow: fn(EdgeKind) -> bool) -> impl Iterator<Item = &CallFact> {
        self.calls
            .iter()
            .filter(move |c| follow(c.kind) && !c.targets().is_empty())
    }
}

/// Fewer missing summaries than this are computed one by one when asked for (splitting the
/// work costs more than it saves).
const PREFETCH_MIN: usize = 16;

/// Summaries of one build, shared by the analyzers of the rules that run side by side (the
/// listener rules search from the same entry points). A summary depends only on the index and
/// the build, so whichever analyzer computes one, the others read the same value; the lock is
/// held only to look up or insert, never while computing (which may run on the rayon pool).
#[derive(Default)]
pub struct SharedSummaries(std::sync::Mutex<HashMap<FnId, Arc<FnSummary>>>);

impl SharedSummaries {
    fn get(&self, f: FnId) -> Option<Arc<FnSummary>> {
        self.0.lock().ok()?.get(&f).cloned()
    }

    /// Keep `s` unless another analyzer got there first; the value kept.
    fn insert(&self, f: FnId, s: Arc<FnSummary>) -> Arc<FnSummary> {
        match self.0.lock() {
            Ok(mut m) => m.entry(f).or_insert(s).clone(),
            Err(_) => s,
        }
    }
}

pub struct Analyzer<'i, 'a> {
    pub index: &'i Index<'a>,
    /// The build whose call graph this is: a call from code of this build reaches only the
    /// functions that can exist in it ([`Index::fn_in_build`]).
    build: CfgEnv,
    cache: HashMap<FnId, Arc<FnSummary>>,
    /// The summaries of this build that other analyzers (rules running side by side) computed.
    shared: Option<Arc<SharedSummaries>>,
    /// [`Analyzer::summary_within`]'s, by function and blocks.
    within_cache: HashMap<(FnId, Vec<ExprId>, bool), Arc<FnSummary>>,
}

impl<'i, 'a> Analyzer<'i, 'a> {
    /// The call graph of a production build (`cfg(test)` off, features unknown).
    #[cfg(test)]
    pub fn new(index: &'i Index<'a>) -> Self {
        Self::for_build(index, CfgEnv::not_test())
    }

    pub fn for_build(index: &'i Index<'a>, build: CfgEnv) -> Self {
        Analyzer {
            index,
            build,
            cache: HashMap::new(),
            shared: None,
            within_cache: HashMap::new(),
        }
    }

    /// An analyzer of `build` that shares its summaries with the others made with `shared`
    /// (which must be of the same build): what one computes, the others read.
    pub fn sharing(index: &'i Index<'a>, build: CfgEnv, shared: Arc<SharedSummaries>) -> Self {
        Analyzer {
            shared: Some(shared),
            ..Self::for_build(index, build)
        }
    }

    pub fn summary(&mut self, f: FnId) -> Arc<FnSummary> {
        if let Some(s) = self.cache.get(&f) {
            return s.clone();
        }
        if let Some(s) = self.shared.as_ref().and_then(|sh| sh.get(f)) {
            self.cache.insert(f, s.clone());
            return s;
        }
        let mut s = Arc::new(self.analyze(f));
        if let Some(sh) = &self.shared {
            s = sh.insert(f, s);
        }
        self.cache.insert(f, s.clone());
        s
    }

    /// Compute the summaries of `fns` not computed yet, on the current rayon pool's threads
    /// when there are enough of them to be worth it. A summary depends only on the index and
    /// the build, never on other summaries, so the result is the same as asking one by one.
    pub fn prefetch(&mut self, fns: impl IntoIterator<Item = FnId>) {
        use rayon::prelude::*;
        let mut todo: Vec<FnId> = fns
            .into_iter()
            .filter(|f| !self.cache.contains_key(f))
            .collect();
        todo.sort_unstable();
        todo.dedup();
        if let Some(sh) = &self.shared {
            let cache = &mut self.cache;
            todo.retain(|&f| match sh.get(f) {
                Some(s) => {
                    cache.insert(f, s);
                    false
                }
                None => true,
            });
        }
        if todo.len() < PREFETCH_MIN {
            return;
        }
        let this = &*self;
        let done: Vec<(FnId, FnSummary)> =
            todo.into_par_iter().map(|f| (f, this.analyze(f))).collect();
        for (f, s) in done {
            let mut s = Arc::new(s);
            if let Some(sh) = &self.shared {
                s = sh.insert(f, s);
            }
            self.cache.insert(f, s);
        }
    }

    /// The summary of `f` with the code inside `within` (async blocks or closures of its body,
    /// as a `listener-entry` marker names them) run as if each were the body: the calls inside
    /// them, in evaluation order, each with the kind it has relative to the block (a call in a
    /// spawned block's own code is `Awaited`/`Inline` here, a call in a task the block spawns
    /// in turn is still `Spawned`); with `rest`, the function's other calls too, as they are
    /// (else only the blocks'). The types are the whole body's.
    pub fn summary_within(&mut self, f: FnId, within: &[ExprId], rest: bool) -> Arc<FnSummary> {
        let key = (f, within.to_vec(), rest);
        if let Some(s) = self.within_cache.get(&key) {
            return s.clone();
        }
        let full = self.summary(f);
        let body = self.body(f);
        let uses = walk::uses(body);
        struct Places<'u>(&'u [Use], HashMap<ExprId, EdgeKind>);
        impl BodyVisitor for Places<'_> {
            const WANTS_SPAWNED: bool = true;
            fn enter(&mut self, _: &Body) {}
            fn exit(&mut self, _: &Body) {}
            fn bind(&mut self, _: &Body, _: &Pat, _: Option<&TyRef>, _: Init) {}
            fn call(&mut self, _: &Body, call: ExprId, awaited: bool, place: Place, _: &[Anchor]) {
                let awaited = awaited || self.0[call.idx()] == Use::Awaited;
                self.1.entry(call).or_insert(EdgeKind::of(awaited, place));
            }
        }
        let mut places = Places(&uses, HashMap::new());
        for &e in within {
            let inner = match &body.expr(e).kind {
                ExprKind::AsyncBlock(b) => *b,
                ExprKind::Closure { body: b, .. } => *b,
                _ => e,
            };
            walk::walk_expr_with(body, &uses, inner, &mut places);
        }
        let mut out = FnSummary {
            calls: Vec::new(),
            types: full.types.clone(),
            adjusted: full.adjusted.clone(),
        };
        for c in &full.calls {
            if let Some(&kind) = places.1.get(&c.call) {
                let mut c = c.clone();
                c.kind = kind;
                out.calls.push(c);
            } else if rest {
                out.calls.push(c.clone());
            }
        }
        let out = Arc::new(out);
        self.within_cache.insert(key, out.clone());
        out
    }

    /// The summary of `f` if it was computed already (here or by an analyzer sharing them).
    pub fn summary_cached(&self, f: FnId) -> Option<Arc<FnSummary>> {
        self.cache
            .get(&f)
            .cloned()
            .or_else(|| self.shared.as_ref().and_then(|sh| sh.get(f)))
    }

    /// Can `f` exist in the build this call graph is of?
    pub fn in_build(&self, f: FnId) -> bool {
        self.index.fn_in_build(f, &self.build)
    }

    /// The body of a function.
    pub fn body(&self, f: FnId) -> &'i Body {
        &self.index.files[f.file.idx()].facts.bodies[f.idx.idx()]
    }

    fn analyze(&self, f: FnId) -> FnSummary {
        let index = self.index;
        let facts = index.fn_facts(f);
        let self_ty = self_type_of(index, f);
        let subst = generic_subst(index, f.file, facts.scope, &facts.generics);
        let body = self.body(f);
        let uses = walk::uses(body);
        let mut cx = FnCx {
            an: self,
            uses: &uses,
            in_build: index.fn_in_build(f, &self.build),
            fid: f.file,
            scope: facts.body_scope,
            self_ty,
            subst,
            env: vec![Vec::new()],
            out: FnSummary::default(),
        };
        for (pat, ty) in &facts.params {
            let t = cx.lower(ty);
            cx.bind_ty(pat, t);
        }
        walk_body_with(body, &uses, &mut cx);
        let mut out = cx.out;
        // First typing wins (a stable sort keeps walk order among equal ids).
        out.types.sort_by_key(|(e, _)| *e);
        out.types.dedup_by_key(|(e, _)| *e);
        out.adjusted.sort_by_key(|(e, _)| *e);
        out.adjusted.dedup_by_key(|(e, _)| *e);
        out
    }

    /// Methods named `name` that a value of type `ty` may dispatch to; `None` if the type is unknown.
    pub fn method_targets(&self, ty: &Ty, name: &str) -> Option<Vec<FnId>> {
        let index = self.index;
        match peel(ty.clone()) {
            Ty::Adt {
                key: TypeKey::Local(it),
                ..
            } => {
                let impls = index
                    .impls_by_type
                    .get(&TypeKey::Local(it))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let mut out = self.methods_named(impls, name);
                let mut traits = Vec::new();
                for &GImpl { file, idx } in impls {
                    let imp = &index.files[file.idx()].facts.impls[idx.idx()];
                    if let Some(tp) = &imp.trait_path {
                        if let Some(TypeKey::Local(t)) =
                            index.resolve_trait_key(file, imp.scope, tp)
                        {
                            traits.push(t);
                        }
                    }
                }
                if out.is_empty() {
                    for t in traits {
                        if let Some(d) = self.trait_default(t, name) {
                            out.push(d);
                        }
                    }
                }
                Some(out)
            }
            Ty::Traits(keys) => {
                let mut out = Vec::new();
                for k in keys {
                    if let TypeKey::Local(t) = k {
                        out.extend(self.trait_impl_methods(t, name));
                    }
                }
                Some(out)
            }
            // A future's methods are a dependency's combinators or an extension trait's
            // (blanket impls are not indexed): not known, and said so.
            Ty::Unknown | Ty::Future(_) => None,
            _ => Some(Vec::new()),
        }
    }

    /// Method lookup with auto-deref, as rustc does it: the methods named `name` of `ty`; when
    /// `ty` is a workspace type with none, those of the type it derefs to (its
    /// `impl Deref { type Target = .. }`), and so on. Returns the receiver type the methods were
    /// found on (`ty` itself when no deref step was taken) and the targets
    /// ([`Self::method_targets`]).
    ///
    /// Methods of the traits that are usually derived (`clone`, `eq`, `fmt`, ...) are not looked
    /// up through a deref: a derive is not in the index, so a newtype's own `clone()` cannot be
    /// told from its target's.
    pub fn lookup_method(&self, ty: &Ty, name: &str) -> (Ty, Option<Vec<FnId>>) {
        const DERIVABLE: &[&str] = &[
            "clone",
            "clone_from",
            "eq",
            "ne",
            "cmp",
            "partial_cmp",
            "lt",
            "le",
            "gt",
            "ge",
            "hash",
            "fmt",
            "default",
        ];
        let mut cur = ty.clone();
        let mut found = self.method_targets(&cur, name);
        for _ in 0..8 {
            let local_none = matches!(&found, Some(t) if t.is_empty())
                && matches!(
                    peel_ref(&cur),
                    Ty::Adt {
                        key: TypeKey::Local(_),
                        ..
                    }
                );
            if !local_none || DERIVABLE.contains(&name) {
                break;
            }
            match self.deref_target(&cur) {
                Some(next) => {
                    found = self.method_targets(&next, name);
                    cur = next;
                }
                None => break,
            }
        }
        (cur, found)
    }

    /// The type a workspace type derefs to: the `Target` of its `impl Deref` (std's or core's),
    /// with the impl's parameters bound from `ty`'s arguments. None when it has no such impl.
    pub fn deref_target(&self, ty: &Ty) -> Option<Ty> {
        let index = self.index;
        let peeled = peel(ty.clone());
        let Ty::Adt {
            key: TypeKey::Local(it),
            ..
        } = &peeled
        else {
            return None;
        };
        for &GImpl { file, idx } in index.impls_by_type.get(&TypeKey::Local(*it))? {
            let imp = &index.files[file.idx()].facts.impls[idx.idx()];
            let Some(tp) = &imp.trait_path else { continue };
            if tp.last().map(String::as_str) != Some("Deref") {
                continue;
            }
            let is_std = matches!(
                index.resolve_trait_key(file, imp.scope, tp),
                Some(TypeKey::External(p)) if p == "Deref" || p.ends_with("ops::Deref")
            );
            if !is_std {
                continue;
            }
            let Some((_, target)) = imp.assoc_types.iter().find(|(n, _)| n == "Target") else {
                continue;
            };
            let mut subst = generic_subst(index, file, imp.scope, &imp.generics);
            for (name, t) in impl_subst(imp, &peeled) {
                if let Some(slot) = subst.iter_mut().find(|(n, _)| *n == name) {
                    slot.1 = t;
                }
            }
            let t = Lower {
                index,
                self_ty: Some(&peeled),
                subst,
            }
            .lower(file, target);
            if t != Ty::Unknown {
                return Some(t);
            }
        }
        None
    }

    /// The methods called `name` in these impl blocks.
    fn methods_named(&self, impls: &[GImpl], name: &str) -> Vec<FnId> {
        let index = self.index;
        let mut out = Vec::new();
        for &GImpl { file, idx } in impls {
            let imp = &index.files[file.idx()].facts.impls[idx.idx()];
            out.extend(
                imp.methods
                    .iter()
                    .filter(|&&m| index.fn_facts(FnId::new(file, m)).name == name)
                    .map(|&m| FnId::new(file, m)),
            );
        }
        out
    }

    fn trait_default(&self, t: GItem, name: &str) -> Option<FnId> {
        match &self.index.item(t).kind {
            ItemKind::Trait { methods } => methods
                .iter()
                .find(|m| m.0 == name)
                .and_then(|m| m.1)
                .map(|i| FnId::new(t.file, i)),
            _ => None,
        }
    }

    /// Every implementation of trait method `name` in the workspace (plus the default body).
    pub fn trait_impl_methods(&self, t: GItem, name: &str) -> Vec<FnId> {
        let impls = self
            .index
            .impls_by_trait
            .get(&TypeKey::Local(t))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut out = self.methods_named(impls, name);
        if let Some(d) = self.trait_default(t, name) {
            out.push(d);
        }
        out
    }
}

struct FnCx<'c, 'i, 'a> {
    an: &'c Analyzer<'i, 'a>,
    /// What the body does with each expression's value.
    uses: &'c [Use],
    /// The function exists in the analysed build (then its calls reach only functions that do).
    in_build: bool,
    fid: FileId,
    scope: ScopeId,
    self_ty: Option<Ty>,
    subst: Vec<(String, Ty)>,
    env: Vec<Vec<(String, Ty)>>,
    out: FnSummary,
}

impl BodyVisitor for FnCx<'_, '_, '_> {
    const WANTS_SPAWNED: bool = true;

    /// In a function of the analysed build, statements cfg'd out of it do not run.
    fn compiled(&self, cfg: &[crate::cfg::CfgPred]) -> bool {
        !self.in_build || self.an.build.admits(cfg)
    }

    fn enter(&mut self, _: &Body) {
        self.env.push(Vec::new());
    }

    fn exit(&mut self, _: &Body) {
        if self.env.len() > 1 {
            self.env.pop();
        }
    }

    fn bind(&mut self, body: &Body, pat: &Pat, ty: Option<&TyRef>, init: Init) {
        let t = match (ty, init) {
            (Some(ty), _) => self.lower(ty),
            (None, Init::Expr(e)) => {
                let t = self.eval(body, e);
                self.out.types.push((e, t.clone()));
                t
            }
            // As the element of `IterElem(e)` evaluated at depth 0.
            (None, Init::IterElem(e)) => iter_elem(&self.eval_d(body, e, 1)),
            (None, Init::None) => Ty::Unknown,
        };
        self.bind_ty(pat, t);
    }

    fn call(&mut self, body: &Body, call: ExprId, awaited: bool, place: Place, _: &[Anchor]) {
        // `let f = tx.send(x); .. f.await`: awaited, later.
        let awaited = awaited || self.uses[call.idx()] == Use::Awaited;
        let kind = EdgeKind::of(awaited, place);
        let fact = match &body.expr(call).kind {
            ExprKind::MethodCall {
                recv, method, span, ..
            } => {
                let rt = self.eval(body, *recv);
                let (found_on, targets) = self.an.lookup_method(&rt, method);
                if found_on != rt {
                    self.out.adjusted.push((*recv, found_on.clone()));
                }
                let resolution = match targets {
                    Some(t) if !t.is_empty() => Resolution::Fns {
                        dispatch: matches!(peel_ref(&rt), Ty::Traits(_)),
                        targets: t,
                    },
                    Some(_) => Resolution::External,
                    None if matches!(rt, Ty::Future(_)) => {
                        Resolution::Unresolved(Unresolved::OnFuture)
                    }
                    None => Resolution::Unresolved(Unresolved::UnknownReceiver),
                };
                self.out.types.push((*recv, rt));
                CallFact {
                    call,
                    site: *span,
                    awaited,
                    kind,
                    subject: Subject::Method { recv: *recv },
                    resolution,
                }
            }
            ExprKind::Call {
                callee: CallTarget::Path { path, qself },
                span,
                ..
            } => {
                let (resolved, resolution) = self.path_call(path, qself.as_deref());
                CallFact {
                    call,
                    site: *span,
                    awaited,
                    kind,
                    subject: Subject::Path { resolved },
                    resolution,
                }
            }
            _ => return,
        };
        let mut fact = fact;
        if self.in_build {
            if let Resolution::Fns { targets, .. } = &mut fact.resolution {
                let index = self.an.index;
                targets.retain(|&t| index.fn_in_build(t, &self.an.build));
                if targets.is_empty() {
                    fact.resolution = Resolution::NotInBuild;
                }
            }
        }
        if fact.kind == EdgeKind::Inline && !awaited && self.all_async(fact.targets()) {
            // The call makes a future and runs nothing yet: where the future goes decides.
            fact.kind = match self.uses[call.idx()] {
                Use::Awaited => EdgeKind::Awaited,
                Use::Spawned => EdgeKind::Spawned,
                Use::Returned => EdgeKind::Returned,
                Use::Other => EdgeKind::Deferred,
            };
        }
        self.out.calls.push(fact);
    }
}

impl FnCx<'_, '_, '_> {
    fn index(&self) -> &Index<'_> {
        self.an.index
    }

    /// Some targets, all `async fn`s: calling one makes a future and runs nothing yet.
    fn all_async(&self, targets: &[FnId]) -> bool {
        !targets.is_empty() && targets.iter().all(|&t| self.an.index.fn_facts(t).is_async)
    }

    fn lower(&self, t: &TyRef) -> Ty {
        Lower {
            index: self.an.index,
            self_ty: self.self_ty.as_ref(),
            subst: self.subst.clone(),
        }
        .lower(self.fid, t)
    }

    fn bind_ty(&mut self, pat: &Pat, ty: Ty) {
        let mut out = Vec::new();
        bind_pat(
            self.an.index,
            self.fid,
            self.scope,
            self.self_ty.as_ref(),
            pat,
            ty,
            &mut out,
        );
        if let Some(top) = self.env.last_mut() {
            top.extend(out);
        }
    }

    fn var(&self, name: &str) -> Option<Ty> {
        self.env.iter().rev().find_map(|frame| {
            frame
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
        })
    }

    fn ret_of(&self, f: FnId, self_ty: Option<&Ty>) -> Ty {
        let index = self.an.index;
        let facts = index.fn_facts(f);
        let out = match &facts.ret {
            None => Ty::Tuple(vec![]),
            Some(ret) => {
                let own_self = self_type_of(index, f);
                let self_ty = self_ty.cloned().or(own_self);
                // Every parameter stands for its bounds, except the impl's that the receiver's
                // type binds.
                let mut subst = generic_subst(index, f.file, facts.scope, &facts.generics);
                if let (FnOwner::Impl(i), Some(recv)) = (facts.owner, &self_ty) {
                    let imp = &index.files[f.file.idx()].facts.impls[i.idx()];
                    for (name, t) in impl_subst(imp, recv) {
                        if let Some(slot) = subst.iter_mut().find(|(n, _)| *n == name) {
                            slot.1 = t;
                        }
                    }
                }
                Lower {
                    index,
                    self_ty: self_ty.as_ref(),
                    subst,
                }
                .lower(f.file, ret)
            }
        };
        if facts.is_async {
            Ty::Future(Box::new(out))
        } else {
            out
        }
    }

    fn eval(&self, body: &Body, e: ExprId) -> Ty {
        self.eval_d(body, e, 0)
    }

    /// The type of an expression, from the environment as it is now. Parentheses, `.await` and
    /// spawn wrappers are looked through without counting towards the depth.
    fn eval_d(&self, body: &Body, e: ExprId, depth: usize) -> Ty {
        if depth > 64 {
            return Ty::Unknown;
        }
        match &body.expr(e).kind {
            // Awaiting a future gives its output; any other awaited value (a dependency's future,
            // typed by what it resolves to) is looked through.
            ExprKind::Await { base: x, .. } => match self.eval_d(body, *x, depth) {
                Ty::Future(out) => *out,
                t => t,
            },
            ExprKind::Paren(x) => self.eval_d(body, *x, depth),
            ExprKind::AsyncBlock(_) => Ty::Future(Box::new(Ty::Unknown)),
            ExprKind::Spawn { call } => match &body.expr(*call).kind {
                ExprKind::MethodCall { recv, method, .. } => {
                    let rt = self.eval_d(body, *recv, depth + 1);
                    self.method_ret(&rt, method)
                }
                ExprKind::Call {
                    callee: CallTarget::Path { path, .. },
                    ..
                } => self.call_ret(body, path, &[], depth),
                _ => Ty::Unknown,
            },
            ExprKind::Path(p) => {
                if p.len() == 1 {
                    if p[0] == "self" {
                        return self.self_ty.clone().unwrap_or(Ty::Unknown);
                    }
                    if let Some(t) = self.var(&p[0]) {
                        return t;
                    }
                }
                match self
                    .index()
                    .resolve_path(GScope::new(self.fid, self.scope), p, false)
                {
                    Some(Res::Item(it)) => match &self.index().item(it).kind {
                        ItemKind::Const(t) | ItemKind::Static(t) => Lower {
                            index: self.an.index,
                            self_ty: None,
                            subst: vec![],
                        }
                        .lower(it.file, t),
                        ItemKind::Struct { .. } => Ty::Adt {
                            key: TypeKey::Local(it),
                            args: vec![],
                        },
                        _ => Ty::Unknown,
                    },
                    Some(Res::Variant(en, _)) => Ty::Adt {
                        key: TypeKey::Local(en),
                        args: vec![],
                    },
                    _ => Ty::Unknown,
                }
            }
            ExprKind::Field { base, name } => {
                field_ty(self.an.index, &self.eval_d(body, *base, depth + 1), name)
            }
            ExprKind::MethodCall { recv, method, .. } => {
                let rt = self.eval_d(body, *recv, depth + 1);
                self.method_ret(&rt, method)
            }
            ExprKind::Call {
                callee: CallTarget::Path { path, .. },
                args,
                ..
            } => self.call_ret(body, path, args, depth),
            ExprKind::Index { base, .. } => elem(&self.eval_d(body, *base, depth + 1)),
            ExprKind::Ref(x) | ExprKind::Deref(x) => self.eval_d(body, *x, depth + 1),
            ExprKind::Try(x) => unwrap_try(&self.eval_d(body, *x, depth + 1)),
            ExprKind::StructLit { path: p, .. } => {
                match self
                    .index()
                    .resolve_path(GScope::new(self.fid, self.scope), p, false)
                {
                    Some(Res::Item(it)) => Ty::Adt {
                        key: TypeKey::Local(it),
                        args: vec![],
                    },
                    Some(Res::Variant(en, _)) => Ty::Adt {
                        key: TypeKey::Local(en),
                        args: vec![],
                    },
                    Some(Res::SelfType(_)) => self.self_ty.clone().unwrap_or(Ty::Unknown),
                    _ => Ty::Unknown,
                }
            }
            ExprKind::Tuple(es) => Ty::Tuple(
                es.iter()
                    .map(|x| self.eval_d(body, *x, depth + 1))
                    .collect(),
            ),
            _ => Ty::Unknown,
        }
    }

    fn method_ret(&self, recv: &Ty, name: &str) -> Ty {
        let peeled = peel(self.an.lookup_method(recv, name).0);
        if matches!(
            peeled,
            Ty::Adt {
                key: TypeKey::Local(_),
                ..
            } | Ty::Traits(_)
        ) {
            if let Some(targets) = self.an.method_targets(&peeled, name) {
                for t in targets {
                    let r = self.ret_of(t, Some(&peeled));
                    if r != Ty::Unknown {
                        return r;
                    }
                }
            }
        }
        std_method(&peeled, name).unwrap_or(Ty::Unknown)
    }

    fn call_ret(&self, body: &Body, path: &[String], args: &[ExprId], depth: usize) -> Ty {
        let index = self.an.index;
        match index.resolve_path(GScope::new(self.fid, self.scope), path, false) {
            Some(Res::Item(it)) => match index.fn_of_item(it) {
                Some(f) => self.ret_of(f, None),
                None => match index.item(it).kind {
                    ItemKind::Struct { .. } => Ty::Adt {
                        key: TypeKey::Local(it),
                        args: vec![],
                    },
                    _ => Ty::Unknown,
                },
            },
            Some(Res::Assoc(it, name)) => {
                let ty = Ty::Adt {
                    key: TypeKey::Local(it),
                    args: vec![],
                };
                let targets = match index.item(it).kind {
                    ItemKind::Trait { .. } => self.an.trait_impl_methods(it, &name),
                    _ => self.an.method_targets(&ty, &name).unwrap_or_default(),
                };
                targets
                    .into_iter()
                    .map(|t| self.ret_of(t, Some(&ty)))
                    .find(|r| *r != Ty::Unknown)
                    .unwrap_or(Ty::Unknown)
            }
            Some(Res::SelfType(Some(name))) => {
                let Some(st) = self.self_ty.clone() else {
                    return Ty::Unknown;
                };
                self.an
                    .method_targets(&st, &name)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| self.ret_of(t, Some(&st)))
                    .find(|r| *r != Ty::Unknown)
                    .unwrap_or(Ty::Unknown)
            }
            Some(Res::Variant(en, _)) => Ty::Adt {
                key: TypeKey::Local(en),
                args: vec![],
            },
            Some(Res::External(p)) => types::external_call(&p, || {
                args.first()
                    .map(|a| self.eval_d(body, *a, depth + 1))
                    .unwrap_or(Ty::Unknown)
            })
            .unwrap_or(Ty::Unknown),
            _ => Ty::Unknown,
        }
    }

    /// Resolve a call of a path: what the path is, and what the call may reach.
    fn path_call(&self, path: &[String], qself: Option<&TyRef>) -> (Option<Res>, Resolution) {
        let index = self.an.index;
        let resolved = index.resolve_path(GScope::new(self.fid, self.scope), path, false);
        let mut dispatch = false;
        let targets: Option<Vec<FnId>> = match &resolved {
            Some(Res::Item(it)) => Some(index.fn_of_item(*it).into_iter().collect()),
            Some(Res::Assoc(it, name)) => Some(match index.item(*it).kind {
                ItemKind::Trait { .. } => match qself {
                    Some(q) => {
                        let qt = self.lower(q);
                        match self.an.method_targets(&qt, name) {
                            Some(t) => t,
                            None => {
                                dispatch = true;
                                self.an.trait_impl_methods(*it, name)
                            }
                        }
                    }
                    None => {
                        dispatch = true;
                        self.an.trait_impl_methods(*it, name)
                    }
                },
                _ => self
                    .an
                    .method_targets(
                        &Ty::Adt {
                            key: TypeKey::Local(*it),
                            args: vec![],
                        },
                        name,
                    )
                    .unwrap_or_default(),
            }),
            Some(Res::SelfType(Some(name))) => match &self.self_ty {
                Some(st) => self.an.method_targets(st, name),
                None => None,
            },
            Some(_) => Some(Vec::new()),
            None => None,
        };
        let resolution = match targets {
            Some(t) if !t.is_empty() => Resolution::Fns {
                targets: t,
                dispatch,
            },
            Some(_) => Resolution::External,
            None if path.len() == 1 && self.var(&path[0]).is_some() => {
                Resolution::Unresolved(Unresolved::CallsAValue)
            }
            None => Resolution::Unresolved(Unresolved::UnknownPath),
        };
        (resolved, resolution)
    }
}

impl Unresolved {
    /// Why the call `call` of `body` is not followed, in words (`None`: not an unresolved call).
    pub fn describe(self, body: &Body, call: ExprId) -> String {
        match (&body.expr(call).kind, self) {
            (ExprKind::MethodCall { method, .. }, Unresolved::OnFuture) => {
                format!("`.{method}(..)` on a future: combinators and extension-trait methods are not followed")
            }
            (ExprKind::MethodCall { method, .. }, _) => {
                format!("`.{method}(..)`: the receiver's type is not known")
            }
            (
                ExprKind::Call {
                    callee: CallTarget::Path { path, .. },
                    ..
                },
                Unresolved::CallsAValue,
            ) => format!("`{}(..)` calls a closure or function value", path[0]),
            (
                ExprKind::Call {
                    callee: CallTarget::Path { path, .. },
                    ..
                },
                _,
            ) => format!(
                "`{}(..)` does not resolve to a known function",
                path.join("::")
            ),
            _ => String::from("a call that is not followed"),
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::index::FileData;

    fn file(src: &str) -> Vec<FileData> {
        crate::index::test_file(src)
    }

    /// A marked spawned block's calls, relative to it: its own run in place, a task it spawns
    /// in turn stays spawned, and the enclosing function's other calls are not there.
    #[test]
    fn summary_within_a_spawned_block_runs_its_own_calls_in_place() {
        let files = file(
            "fn setup() { before(); tokio::spawn(async move { mine().await; loop { tokio::spawn(async { theirs().await; }); } }); after(); }",
        );
        let index = Index::build(&files, &[], Path::new("/w"));
        let f = index.all_fns().next().expect("a fn");
        let mut an = Analyzer::new(&index);
        let body = an.body(f);
        let block = body
            .exprs
            .iter()
            .enumerate()
            .filter(|(_, e)| matches!(e.kind, ExprKind::AsyncBlock(_)))
            .map(|(i, _)| ExprId::new(i))
            .max()
            .expect("the outer async block (the parent has the larger id)");
        let name = |c: &CallFact| match &body.expr(c.call).kind {
            ExprKind::Call {
                callee: CallTarget::Path { path, .. },
                ..
            } => path.join("::"),
            _ => unreachable!(),
        };
        let full: Vec<(String, EdgeKind)> = an
            .summary(f)
            .calls
            .iter()
            .map(|c| (name(c), c.kind))
            .collect();
        assert!(
            full.contains(&("mine".into(), EdgeKind::Spawned)),
            "{full:?}"
        );
        let within: Vec<(String, EdgeKind)> = an
            .summary_within(f, &[block], false)
            .calls
            .iter()
            .map(|c| (name(c), c.kind))
            .collect();
        assert_eq!(
            within,
            [
                ("mine".to_string(), EdgeKind::Awaited),
                ("theirs".to_string(), EdgeKind::Spawned),
                ("tokio::spawn".to_string(), EdgeKind::Inline),
            ]
        );
    }

    /// The summary of the function called `name`, with the callee names of its calls.
    fn summary(files: &[FileData], name: &str) -> (Vec<(String, EdgeKind)>, FnSummary, FnId) {
        let index = Index::build(files, &[], Path::new("/w"));
        let f = index
            .all_fns()
            .find(|&f| index.fn_facts(f).name == name)
            .expect("fn exists");
        let mut an = Analyzer::new(&index);
        let s = (*an.summary(f)).clone();
        let calls = s
            .calls
            .iter()
            .map(|c| {
                let n = match &an.body(f).expr(c.call).kind {
                    ExprKind::MethodCall { method, .. } => method.clone(),
                    ExprKind::Call {
                        callee: CallTarget::Path { path, .. },
                        ..
                    } => path.join("::"),
                    _ => unreachable!(),
                };
                (n, c.kind)
            })
            .collect();
        (calls, s, f)
    }

    const SRC: &str = r#"
        pub struct Peer;
        impl Peer {
            pub async fn work(&self) -> Tx { Tx }
            pub fn plain(&self) -> Tx { Tx }
        }
        pub struct Tx;
        impl Tx { pub fn go(&self) {} }
        pub async fn run(p: Peer, set: &mut Vec<()>) {
            p.work().await.go();
            let later = p.work();
            set.push(p.work());
            p.plain().go();
            later.await.go();
            tokio::spawn(p.work());
        }
    "#;

    #[test]
    fn an_async_call_not_awaited_where_made_is_a_deferred_edge() {
        let files = file(SRC);
        let (calls, _, _) = summary(&files, "run");
        use EdgeKind::*;
        assert_eq!(
            calls,
            vec![
                ("work".into(), Awaited),
                ("go".into(), Inline),
                // `let later = p.work(); .. later.await`: awaited, later.
                ("work".into(), Awaited),
                // `set.push(p.work())`: runs wherever the set is polled.
                ("work".into(), Deferred),
                ("push".into(), Inline),
                ("plain".into(), Inline),
                ("go".into(), Inline),
                ("go".into(), Inline),
                ("work".into(), Spawned),
                ("tokio::spawn".into(), Inline),
            ]
        );
        assert!(!Deferred.runs_in_caller() && !Spawned.runs_in_caller());
        assert!(Returned.runs_in_caller() && InAsyncBlock.runs_in_caller());
    }

    #[test]
    fn awaiting_a_future_gives_its_output_and_the_side_table_keeps_the_types() {
        let files = file(SRC);
        let (_, s, _) = summary(&files, "run");
        // Both `.go()` calls after an await resolve: the receiver is `Tx`, not a future.
        let go: Vec<&CallFact> = s
            .calls
            .iter()
            .filter(|c| matches!(c.resolution, Resolution::Fns { .. }))
            .collect();
        assert_eq!(go.len(), 8, "{:#?}", s.calls);
        // `let later = p.work();` is typed as the future of `Tx`.
        let futures: Vec<&Ty> = s
            .types
            .iter()
            .map(|(_, t)| t)
            .filter(|t| matches!(t, Ty::Future(_)))
            .collect();
        assert!(
            futures
                .iter()
                .any(|t| matches!(t, Ty::Future(o) if matches!(**o, Ty::Adt { .. }))),
            "{:#?}",
            s.types
        );
        for c in &s.calls {
            if let Subject::Method { recv } = c.subject {
                assert!(s.ty_of(recv).is_some(), "every receiver is typed");
            }
        }
    }

    #[test]
    fn a_method_of_a_future_is_unresolved_and_says_why() {
        let files = file(
            "pub async fn f() {}\npub fn g() { let _ = f().boxed(); let _ = async { 1 }.fuse(); }\n",
        );
        let (_, s, g) = summary(&files, "g");
        let index = Index::build(&files, &[], Path::new("/w"));
        let an = Analyzer::new(&index);
        let why: Vec<String> = s
            .calls
            .iter()
            .filter_map(|c| match c.resolution {
                Resolution::Unresolved(u) => Some(u.describe(an.body(g), c.call)),
                _ => None,
            })
            .collect();
        assert_eq!(why.len(), 2, "{why:?}");
        assert!(why.iter().all(|w| w.contains("on a future")), "{why:?}");
    }
}
