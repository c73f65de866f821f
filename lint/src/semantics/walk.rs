//! The order in which a function body runs, as the call graph models it: one walk over a
//! body's expression arena that reports scopes, bindings and calls in evaluation order.
//!
//! This is where the model of "what runs as part of this function" lives (not in the facts):
//! - a call is *awaited* when its value is `.await`ed (through parentheses and `?`), when it is a
//!   `select!` branch future or a `join!`-style macro argument, or when it sits in the
//!   arguments of an awaited `join_all`-style call (then the futures its closures return are
//!   awaited too: `join_all(peers.iter().map(|p| p.tx.send(m)))`);
//! - closures are walked where they are written, as if they ran in place; an async block is
//!   walked where it is written and marked by where its future goes ([`uses`]): awaited in
//!   this body (in place, or through a local awaited later), returned to the caller, handed to
//!   a spawn call (directly or through a local: spawned work), or anything else (deferred: it
//!   runs wherever it is polled); the visitor is told which ([`Place`]);
//! - the arguments of a spawn call ([`ExprKind::Spawn`]) are not part of the caller's path:
//!   they are walked only when the visitor asks for them ([`BodyVisitor::WANTS_SPAWNED`]),
//!   inside a scope of their own and marked [`Place::spawned`];
//! - the closure given to an element adapter (`xs.iter().map(|x| ..)`, `opt.map(|v| ..)`)
//!   binds its first parameter to an element of the receiver ([`Init::IterElem`]).

use crate::facts::{
    Anchor, Body, CallTarget, ExprId, ExprKind, LoopKind, MacroArgs, Pat, Stmt, StmtKind, TyRef,
};
use crate::semantics::known::{awaits_collection, macro_awaits_arguments, takes_element_closure};

/// What a binding's type comes from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Init {
    /// The value of an expression.
    Expr(ExprId),
    /// An element of iterating the expression (`for x in e`, `e.iter().map(|x| ..)`).
    IterElem(ExprId),
    /// Not known (a `select!` arm's pattern, closure parameters after the first).
    None,
}

/// Where a call sits, relative to the function whose body is walked.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Place {
    /// Inside this many closures (walked as if they ran in place).
    pub closures: u32,
    /// Inside this many async blocks (walked as if awaited where written).
    pub async_blocks: u32,
    /// Inside the arguments of a spawn call (or an async block a local hands to one): not on
    /// the caller's path.
    pub spawned: bool,
    /// Inside this many async blocks whose future this body neither awaits nor returns (it is
    /// pushed into a set, passed on, stored): it runs wherever it is polled, if ever.
    pub deferred: u32,
    /// Inside this many async blocks that are the function's value: they run when the caller
    /// polls what the function returns.
    pub returned: u32,
    /// Inside this many `select!` branch futures of a `select!` with other branches: polled
    /// alongside them, so while this one waits the others are still served.
    pub raced: u32,
}

/// The callbacks of [`walk_body`], in evaluation order.
pub trait BodyVisitor {
    /// Walk the futures and closures handed to spawn calls too (marked [`Place::spawned`]).
    const WANTS_SPAWNED: bool = false;

    /// A lexical scope opens (blocks, `if`/`while`/`for` heads, match and select arms, closures).
    fn enter(&mut self, body: &Body);
    fn exit(&mut self, body: &Body);
    /// Bind the names of `pat`, typed by `ty` if written, else by `init`.
    fn bind(&mut self, body: &Body, pat: &Pat, ty: Option<&TyRef>, init: Init);
    /// A call (a [`ExprKind::MethodCall`] or a [`ExprKind::Call`] of a path), after its
    /// receiver and arguments. `anchors`: innermost last.
    fn call(&mut self, body: &Body, call: ExprId, awaited: bool, place: Place, anchors: &[Anchor]);

    /// Is a statement or match arm under these `#[cfg]` conditions (non-empty) compiled in the
    /// build being walked? `false` skips it. Default: every one is.
    fn compiled(&self, _cfg: &[crate::cfg::CfgPred]) -> bool {
        true
    }
}

/// Walk `body` from its root block.
pub fn walk_body<V: BodyVisitor>(body: &Body, v: &mut V) {
    walk_body_with(body, &uses(body), v);
}

/// [`walk_body`] with the body's [`uses`] computed by the caller.
pub fn walk_body_with<V: BodyVisitor>(body: &Body, uses: &[Use], v: &mut V) {
    let Some(root) = body.root else {
        return;
    };
    Walker::new(body, uses, v).expr(root, false);
}

/// Walk the expression `e` of `body` as if it were the body's root: the calls inside it, with
/// their places relative to `e` (a call directly in `e` runs in place, whatever the body does
/// with `e`'s own value). For a root inside a body: the body of a marked async block or closure.
pub fn walk_expr_with<V: BodyVisitor>(body: &Body, uses: &[Use], e: ExprId, v: &mut V) {
    let mut w = Walker::new(body, uses, v);
    w.enter();
    w.expr(e, false);
    w.exit();
}

struct Walker<'b, V> {
    body: &'b Body,
    uses: &'b [Use],
    v: &'b mut V,
    anchors: Vec<Anchor>,
    /// Inside the arguments of an awaited `join_all(..)`-like call: the futures that closures
    /// return are awaited too.
    await_tails: bool,
    place: Place,
}

impl<'b, V> Walker<'b, V> {
    /// A walk from the body's own place, with its outer anchors.
    fn new(body: &'b Body, uses: &'b [Use], v: &'b mut V) -> Self {
        Walker {
            body,
            uses,
            v,
            anchors: body.outer_anchors.clone(),
            await_tails: false,
            place: Place::default(),
        }
    }
}

impl<V: BodyVisitor> Walker<'_, V> {
    fn enter(&mut self) {
        self.v.enter(self.body);
    }

    fn exit(&mut self) {
        self.v.exit(self.body);
    }

    fn stmts(&mut self, stmts: &[Stmt]) {
        for s in stmts {
            if !s.cfg.is_empty() && !self.v.compiled(&s.cfg) {
                continue;
            }
            self.anchors.push(s.anchor);
            match &s.kind {
                StmtKind::Let {
                    pat,
                    ty,
                    init,
                    diverge,
                } => {
                    if let Some(i) = init {
                        self.expr(*i, false);
                        if let Some(d) = diverge {
                            self.expr(*d, false);
                        }
                    }
                    let init = match init {
                        Some(i) => Init::Expr(*i),
                        None => Init::None,
                    };
                    self.v.bind(self.body, pat, ty.as_ref(), init);
                }
                StmtKind::Expr(e) => self.expr(*e, false),
                StmtKind::Item => {}
            }
            self.anchors.pop();
        }
    }

    fn is_closure(&self, e: ExprId) -> bool {
        matches!(self.body.expr(e).kind, ExprKind::Closure { .. })
    }

    /// A call node: `spawned` when it is the call of a [`ExprKind::Spawn`].
    fn call(&mut self, e: ExprId, awaited: bool, spawned: bool) {
        let body = self.body;
        match &body.expr(e).kind {
            ExprKind::MethodCall {
                recv, method, args, ..
            } => {
                self.expr(*recv, false);
                if spawned {
                    self.spawned_args(args);
                } else {
                    for &a in args {
                        if takes_element_closure(method) && self.is_closure(a) {
                            // `xs.iter().map(|x| ..)`, `opt.map(|v| ..)`: the closure's first
                            // parameter is an element of the receiver.
                            self.closure(a, Some(Init::IterElem(*recv)));
                        } else {
                            let tail = self.await_tails;
                            self.expr(a, tail && self.is_closure(a));
                        }
                    }
                }
                self.v.call(body, e, awaited, self.place, &self.anchors);
            }
            ExprKind::Call {
                callee: CallTarget::Path { path, .. },
                args,
                ..
            } => {
                if spawned {
                    self.spawned_args(args);
                } else {
                    let saved = self.await_tails;
                    self.await_tails =
                        saved || (awaited && path.last().is_some_and(|l| awaits_collection(l)));
                    for &a in args {
                        let tail = self.await_tails;
                        self.expr(a, tail);
                    }
                    self.await_tails = saved;
                }
                self.v.call(body, e, awaited, self.place, &self.anchors);
            }
            ExprKind::Call {
                callee: CallTarget::Expr(f),
                args,
                ..
            } => {
                self.expr(*f, false);
                if spawned {
                    self.spawned_args(args);
                } else {
                    for &a in args {
                        self.expr(a, false);
                    }
                }
            }
            _ => self.expr(e, awaited),
        }
    }

    fn spawned_args(&mut self, args: &[ExprId]) {
        if !V::WANTS_SPAWNED {
            return;
        }
        let saved = (self.place, self.await_tails);
        self.place.spawned = true;
        self.await_tails = false;
        self.enter();
        for &a in args {
            self.expr(a, false);
        }
        self.exit();
        (self.place, self.await_tails) = saved;
    }

    /// A closure's body runs (we assume) where it is written; `first` types its first parameter.
    fn closure(&mut self, e: ExprId, first: Option<Init>) {
        let ExprKind::Closure { params, body, .. } = &self.body.expr(e).kind else {
            return;
        };
        self.enter();
        for (i, p) in params.iter().enumerate() {
            let init = match (i, first) {
                (0, Some(f)) => f,
                _ => Init::None,
            };
            self.v.bind(self.body, &p.pat, p.ty.as_ref(), init);
        }
        let tail = self.await_tails;
        self.place.closures += 1;
        self.expr(*body, tail);
        self.place.closures -= 1;
        self.exit();
    }

    /// `awaited`: the value of `e` is awaited by its parent (`e.await`, a `select!`/`join!` future).
    fn expr(&mut self, e: ExprId, awaited: bool) {
        let body = self.body;
        match &body.expr(e).kind {
            ExprKind::Await { base, .. } => self.expr(*base, true),
            ExprKind::Paren(x) => self.expr(*x, awaited),
            ExprKind::MethodCall { .. } | ExprKind::Call { .. } => self.call(e, awaited, false),
            ExprKind::Spawn { call } => self.call(*call, awaited, true),
            ExprKind::Path(_) | ExprKind::Lit | ExprKind::Other => {}
            ExprKind::Field { base, .. } => self.expr(*base, false),
            ExprKind::Index { base, index } => {
                self.expr(*base, false);
                self.expr(*index, false);
            }
            ExprKind::Ref(x) | ExprKind::Deref(x) | ExprKind::Unary(x) | ExprKind::Cast(x) => {
                self.expr(*x, false)
            }
            ExprKind::Try(x) => self.expr(*x, awaited),
            ExprKind::StructLit { fields, rest, .. } => {
                for &f in fields {
                    self.expr(f, false);
                }
                if let Some(r) = rest {
                    self.expr(*r, false);
                }
            }
            ExprKind::Tuple(xs) | ExprKind::Array(xs) => {
                for &x in xs {
                    self.expr(x, false);
                }
            }
            ExprKind::Repeat { value, len } => {
                self.expr(*value, false);
                self.expr(*len, false);
            }
            ExprKind::Block(stmts) => {
                self.enter();
                self.stmts(stmts);
                self.exit();
            }
            ExprKind::AsyncBlock(b) => {
                // Where its future goes decides where its body runs.
                let saved = self.place;
                match self.uses[e.idx()] {
                    _ if awaited => self.place.async_blocks += 1,
                    Use::Awaited => self.place.async_blocks += 1,
                    // Written in a spawn call's arguments (already walked as spawned work).
                    Use::Spawned if self.place.spawned => self.place.async_blocks += 1,
                    Use::Returned => self.place.returned += 1,
                    Use::Other => self.place.deferred += 1,
                    Use::Spawned if !V::WANTS_SPAWNED => return,
                    Use::Spawned => self.place.spawned = true,
                }
                self.enter();
                self.expr(*b, false);
                self.exit();
                self.place = saved;
            }
            ExprKind::Closure { .. } => self.closure(e, None),
            ExprKind::If { cond, then, els } => {
                self.enter();
                self.expr(*cond, false);
                self.expr(*then, false);
                self.exit();
                if let Some(x) = els {
                    self.expr(*x, false);
                }
            }
            ExprKind::Let { pat, init } => {
                self.expr(*init, false);
                self.v.bind(body, pat, None, Init::Expr(*init));
            }
            ExprKind::Loop {
                kind,
                pat,
                head,
                body: b,
                ..
            } => match kind {
                LoopKind::Loop => self.expr(*b, false),
                LoopKind::While => {
                    self.enter();
                    if let Some(h) = head {
                        self.expr(*h, false);
                    }
                    self.expr(*b, false);
                    self.exit();
                }
                LoopKind::For => {
                    if let Some(h) = head {
                        self.expr(*h, false);
                    }
                    self.enter();
                    if let (Some(p), Some(h)) = (pat, head) {
                        self.v.bind(body, p, None, Init::IterElem(*h));
                    }
                    self.expr(*b, false);
                    self.exit();
                }
            },
            ExprKind::Match { scrutinee, arms } => {
                self.expr(*scrutinee, false);
                for arm in arms {
                    if !arm.cfg.is_empty() && !self.v.compiled(&arm.cfg) {
                        continue;
                    }
                    self.enter();
                    self.v.bind(body, &arm.pat, None, Init::Expr(*scrutinee));
                    if let Some(g) = arm.guard {
                        self.expr(g, false);
                    }
                    self.anchors.push(arm.anchor);
                    self.expr(arm.body, false);
                    self.anchors.pop();
                    self.exit();
                }
            }
            ExprKind::Assign { lhs, rhs } | ExprKind::Binary { lhs, rhs } => {
                self.expr(*lhs, false);
                self.expr(*rhs, false);
            }
            ExprKind::Range { start, end } => {
                for x in [start, end].into_iter().flatten() {
                    self.expr(*x, false);
                }
            }
            ExprKind::Return(x) | ExprKind::Break(x) | ExprKind::Yield(x) => {
                if let Some(x) = x {
                    self.expr(*x, false);
                }
            }
            ExprKind::MacroCall { name, args, .. } => match args {
                MacroArgs::Select(arms) => {
                    let raced = arms.iter().filter(|a| a.future.is_some()).count() > 1;
                    for arm in arms {
                        if let Some(f) = arm.future {
                            self.place.raced += u32::from(raced);
                            self.expr(f, true);
                            self.place.raced -= u32::from(raced);
                        }
                        self.enter();
                        if let Some(p) = &arm.pat {
                            self.v.bind(body, p, None, Init::None);
                        }
                        if let Some(g) = arm.guard {
                            self.expr(g, false);
                        }
                        self.expr(arm.handler, false);
                        self.exit();
                    }
                }
                MacroArgs::Exprs(xs) => {
                    let awaited = macro_awaits_arguments(name);
                    for &x in xs {
                        self.expr(x, awaited);
                    }
                }
                MacroArgs::Stmts(stmts) => self.stmts(stmts),
                MacroArgs::Tokens => {}
            },
        }
    }
}

/// What a body does with the value of an expression, as far as the body shows: the fate of a
/// future that is not awaited where it is made.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, PartialOrd, Ord)]
pub enum Use {
    /// Passed to a function or method, pushed into a collection, stored in a field, dropped:
    /// whatever polls it runs it, maybe never, maybe concurrently with other work.
    #[default]
    Other,
    /// The function's own value (its tail expression or a `return`): the caller decides.
    Returned,
    /// Handed to a spawn call: runs on another task.
    Spawned,
    /// Awaited where it is made (`.await`, a `select!`/`join!` future), or bound to a local
    /// that is awaited later in the body.
    Awaited,
}

/// For every expression of `body`, what is done with its value ([`Use`]). A local bound by
/// `let x = e` gives `e` the strongest use of `x` after it (awaited over spawned over returned
/// over other; locals are matched by name). Wrappers that keep a future a future (`.boxed()`,
/// `.fuse()`, `Box::pin(..)`, `&mut`, parentheses, `?`) pass their use on.
pub fn uses(body: &Body) -> Vec<Use> {
    let mut u = Uses {
        body,
        out: vec![Use::Other; body.exprs.len()],
        locals: Vec::new(),
    };
    if let Some(root) = body.root {
        u.expr(root, Use::Returned);
    }
    // A local's strongest use becomes its initialiser's (and what the initialiser wraps).
    let locals = std::mem::take(&mut u.locals);
    for (name, init) in locals {
        let best = body
            .exprs
            .iter()
            .enumerate()
            .filter(|(_, x)| matches!(&x.kind, ExprKind::Path(p) if p.len() == 1 && p[0] == name))
            .map(|(i, _)| u.out[i])
            .max()
            .unwrap_or_default();
        if best > u.out[init.idx()] {
            u.expr(init, best);
        }
    }
    u.out
}

struct Uses<'b> {
    body: &'b Body,
    out: Vec<Use>,
    /// `let x = e`: (x, e).
    locals: Vec<(String, ExprId)>,
}

/// Methods that wrap a future in another future of the same work.
fn keeps_future(method: &str) -> bool {
    matches!(
        method,
        "boxed" | "boxed_local" | "fuse" | "instrument" | "in_current_span"
    )
}

impl Uses<'_> {
    fn stmts(&mut self, stmts: &[Stmt], tail: Use) {
        let n = stmts.len();
        for (i, s) in stmts.iter().enumerate() {
            match &s.kind {
                StmtKind::Let {
                    pat, init, diverge, ..
                } => {
                    if let Some(i) = init {
                        self.expr(*i, Use::Other);
                        if let Pat::Bind(name) = pat {
                            self.locals.push((name.clone(), *i));
                        }
                    }
                    if let Some(d) = diverge {
                        self.expr(*d, Use::Other);
                    }
                }
                StmtKind::Expr(e) => {
                    let u = if i + 1 == n { tail } else { Use::Other };
                    self.expr(*e, u);
                }
                StmtKind::Item => {}
            }
        }
    }

    fn all(&mut self, xs: &[ExprId], u: Use) {
        for &x in xs {
            self.expr(x, u);
        }
    }

    fn expr(&mut self, e: ExprId, u: Use) {
        let slot = &mut self.out[e.idx()];
        *slot = (*slot).max(u);
        let body = self.body;
        match &body.expr(e).kind {
            ExprKind::Await { base, .. } => self.expr(*base, Use::Awaited),
            ExprKind::Paren(x) | ExprKind::Try(x) | ExprKind::Ref(x) => self.expr(*x, u),
            ExprKind::Spawn { call } => {
                let args = match &body.expr(*call).kind {
                    ExprKind::MethodCall { recv, args, .. } => {
                        self.expr(*recv, Use::Other);
                        args
                    }
                    ExprKind::Call { args, .. } => args,
                    _ => return,
                };
                self.expr(*call, u);
                self.all(args, Use::Spawned);
            }
            ExprKind::MethodCall {
                recv, method, args, ..
            } => {
                let r = if keeps_future(method) { u } else { Use::Other };
                self.expr(*recv, r);
                self.all(args, Use::Other);
            }
            ExprKind::Call { callee, args, .. } => {
                if let CallTarget::Expr(f) = callee {
                    self.expr(*f, Use::Other);
                }
                let pin = matches!(callee, CallTarget::Path { path, .. }
                    if path.last().is_some_and(|l| l == "pin") && path.len() >= 2);
                self.all(args, if pin { u } else { Use::Other });
            }
            ExprKind::Block(stmts) => self.stmts(stmts, u),
            ExprKind::AsyncBlock(b) => self.expr(*b, Use::Returned),
            ExprKind::Closure { body: b, .. } => self.expr(*b, Use::Returned),
            ExprKind::If { cond, then, els } => {
                self.expr(*cond, Use::Other);
                self.expr(*then, u);
                if let Some(x) = els {
                    self.expr(*x, u);
                }
            }
            ExprKind::Match { scrutinee, arms } => {
                self.expr(*scrutinee, Use::Other);
                for arm in arms {
                    if let Some(g) = arm.guard {
                        self.expr(g, Use::Other);
                    }
                    self.expr(arm.body, u);
                }
            }
            ExprKind::Return(Some(x)) => self.expr(*x, Use::Returned),
            ExprKind::MacroCall { name, args, .. } => match args {
                MacroArgs::Select(arms) => {
                    for arm in arms {
                        if let Some(f) = arm.future {
                            self.expr(f, Use::Awaited);
                        }
                        if let Some(g) = arm.guard {
                            self.expr(g, Use::Other);
                        }
                        self.expr(arm.handler, Use::Other);
                    }
                }
                MacroArgs::Exprs(xs) => {
                    let a = if macro_awaits_arguments(name) {
                        Use::Awaited
                    } else {
                        Use::Other
                    };
                    self.all(xs, a);
                }
                MacroArgs::Stmts(stmts) => self.stmts(stmts, Use::Other),
                MacroArgs::Tokens => {}
            },
            other => {
                for c in children(other) {
                    self.expr(c, Use::Other);
                }
            }
        }
    }
}

/// The sub-expressions of the kinds [`Uses::expr`] does not treat on their own.
fn children(k: &ExprKind) -> Vec<ExprId> {
    match k {
        ExprKind::Field { base, .. } | ExprKind::Deref(base) | ExprKind::Unary(base) => {
            vec![*base]
        }
        ExprKind::Cast(x) => vec![*x],
        ExprKind::Index { base, index } => vec![*base, *index],
        ExprKind::StructLit { fields, rest, .. } => {
            fields.iter().copied().chain(rest.iter().copied()).collect()
        }
        ExprKind::Tuple(xs) | ExprKind::Array(xs) => xs.clone(),
        ExprKind::Repeat { value, len } => vec![*value, *len],
        ExprKind::Let { init, .. } => vec![*init],
        ExprKind::Loop { head, body, .. } => head.iter().copied().chain([*body]).collect(),
        ExprKind::Assign { lhs, rhs } | ExprKind::Binary { lhs, rhs } => vec![*lhs, *rhs],
        ExprKind::Range { start, end } => start.iter().chain(end.iter()).copied().collect(),
        ExprKind::Break(x) | ExprKind::Yield(x) | ExprKind::Return(x) => {
            x.iter().copied().collect()
        }
        _ => Vec::new(),
    }
}

/// Every expression inside `e` (itself included): its whole subtree in the body arena.
pub fn subtree(body: &Body, e: ExprId) -> Vec<ExprId> {
    let mut out = Vec::new();
    let mut stack = vec![e];
    let stmts = |ss: &[Stmt], st: &mut Vec<ExprId>| {
        for s in ss {
            match &s.kind {
                StmtKind::Let { init, diverge, .. } => st.extend(init.iter().chain(diverge.iter())),
                StmtKind::Expr(x) => st.push(*x),
                StmtKind::Item => {}
            }
        }
    };
    while let Some(x) = stack.pop() {
        if out.len() > 100_000 {
            break;
        }
        out.push(x);
        let k = &body.expr(x).kind;
        match k {
            ExprKind::Block(ss) => stmts(ss, &mut stack),
            ExprKind::AsyncBlock(b) | ExprKind::Try(b) | ExprKind::Paren(b) | ExprKind::Ref(b) => {
                stack.push(*b)
            }
            ExprKind::Closure { body: b, .. } => stack.push(*b),
            ExprKind::Await { base, .. } => stack.push(*base),
            ExprKind::Spawn { call } => stack.push(*call),
            ExprKind::MethodCall { recv, args, .. } => {
                stack.push(*recv);
                stack.extend(args.iter().copied());
            }
            ExprKind::Call { callee, args, .. } => {
                if let CallTarget::Expr(f) = callee {
                    stack.push(*f);
                }
                stack.extend(args.iter().copied());
            }
            ExprKind::MacroCall { args, .. } => match args {
                MacroArgs::Select(arms) => {
                    for a in arms {
                        stack.extend(a.future.iter().chain(a.guard.iter()));
                        stack.push(a.handler);
                    }
                }
                MacroArgs::Exprs(xs) => stack.extend(xs.iter().copied()),
                MacroArgs::Stmts(ss) => stmts(ss, &mut stack),
                MacroArgs::Tokens => {}
            },
            ExprKind::If { cond, then, els } => {
                stack.push(*cond);
                stack.push(*then);
                stack.extend(els.iter().copied());
            }
            ExprKind::Match { scrutinee, arms } => {
                stack.push(*scrutinee);
                for a in arms {
                    stack.extend(a.guard.iter().copied());
                    stack.push(a.body);
                }
            }
            other => stack.extend(children(other)),
        }
    }
    out
}

/// The anchors of a call (innermost first): the statements and match arms around it and the
/// items around its function; spawned work included (a marked entry point's task is). Empty if
/// the walk does not reach it.
pub fn anchors_of(body: &Body, call: ExprId) -> Vec<Anchor> {
    struct Find(ExprId, Option<Vec<Anchor>>);
    impl BodyVisitor for Find {
        const WANTS_SPAWNED: bool = true;
        fn enter(&mut self, _: &Body) {}
        fn exit(&mut self, _: &Body) {}
        fn bind(&mut self, _: &Body, _: &Pat, _: Option<&TyRef>, _: Init) {}
        fn call(&mut self, _: &Body, call: ExprId, _: bool, _: Place, anchors: &[Anchor]) {
            if call == self.0 && self.1.is_none() {
                self.1 = Some(anchors.iter().rev().copied().collect());
            }
        }
    }
    let mut f = Find(call, None);
    walk_body(body, &mut f);
    f.1.unwrap_or_default()
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{extract, ExtractOptions, FileFacts};

    fn facts(src: &str) -> FileFacts {
        extract(
            &syn::parse_file(src).expect("test source parses"),
            ExtractOptions::default(),
        )
    }

    /// (callee name, awaited, place) of every call the walk reports.
    struct Calls<const SPAWNED: bool>(Vec<(String, bool, Place)>);

    impl<const SPAWNED: bool> BodyVisitor for Calls<SPAWNED> {
        const WANTS_SPAWNED: bool = SPAWNED;
        fn enter(&mut self, _: &Body) {}
        fn exit(&mut self, _: &Body) {}
        fn bind(&mut self, _: &Body, _: &Pat, _: Option<&TyRef>, _: Init) {}
        fn call(&mut self, body: &Body, call: ExprId, awaited: bool, place: Place, _: &[Anchor]) {
            let name = match &body.expr(call).kind {
                ExprKind::MethodCall { method, .. } => method.clone(),
                ExprKind::Call {
                    callee: CallTarget::Path { path, .. },
                    ..
                } => path.join("::"),
                other => panic!("not a call: {other:?}"),
            };
            self.0.push((name, awaited, place));
        }
    }

    fn calls<const SPAWNED: bool>(src: &str) -> Vec<(String, bool, Place)> {
        let f = facts(src);
        let mut v = Calls::<SPAWNED>(Vec::new());
        walk_body(&f.bodies[0], &mut v);
        v.0
    }

    const IN_PLACE: Place = Place {
        closures: 0,
        async_blocks: 0,
        spawned: false,
        deferred: 0,
        returned: 0,
        raced: 0,
    };

    /// The use of the value of each call, by callee name, in walk order.
    fn call_uses(src: &str) -> Vec<(String, Use)> {
        let f = facts(src);
        let body = &f.bodies[0];
        let u = uses(body);
        struct Names<'u>(&'u [Use], Vec<(String, Use)>);
        impl BodyVisitor for Names<'_> {
            const WANTS_SPAWNED: bool = true;
            fn enter(&mut self, _: &Body) {}
            fn exit(&mut self, _: &Body) {}
            fn bind(&mut self, _: &Body, _: &Pat, _: Option<&TyRef>, _: Init) {}
            fn call(&mut self, body: &Body, call: ExprId, _: bool, _: Place, _: &[Anchor]) {
                let name = match &body.expr(call).kind {
                    ExprKind::MethodCall { method, .. } => method.clone(),
                    ExprKind::Call {
                        callee: CallTarget::Path { path, .. },
                        ..
                    } => path.join("::"),
                    _ => return,
                };
                self.1.push((name, self.0[call.idx()]));
            }
        }
        let mut v = Names(&u, Vec::new());
        walk_body_with(body, &u, &mut v);
        v.1
    }

    #[test]
    fn a_future_is_used_where_its_value_goes() {
        let c = call_uses(
            "fn f() -> F {
                let a = work_a(); a.await;
                let b = work_b(); tokio::spawn(b);
                futs.push(work_c());
                let d = work_d().boxed(); set.push(d);
                let e = work_e(); select! { _ = &mut e => {} }
                work_f()
            }",
        );
        let want = [
            ("work_a", Use::Awaited),
            ("work_b", Use::Spawned),
            ("tokio::spawn", Use::Other),
            ("work_c", Use::Other),
            ("push", Use::Other),
            ("work_d", Use::Other),
            ("boxed", Use::Other),
            ("push", Use::Other),
            ("work_e", Use::Awaited),
            ("work_f", Use::Returned),
        ];
        let want: Vec<(String, Use)> = want.iter().map(|(n, u)| (n.to_string(), *u)).collect();
        assert_eq!(c, want);
    }

    #[test]
    fn an_async_block_is_marked_by_where_its_future_goes() {
        let c = calls::<true>(
            "fn f() -> F {
                let w = async move { tx.send(1).await; };
                tokio::spawn(w);
                futs.push(async move { tx.send(2).await; });
                async move { tx.send(3).await; }.await;
                async move { tx.send(4).await; }
            }",
        );
        let sends: Vec<Place> = c.iter().filter(|c| c.0 == "send").map(|c| c.2).collect();
        assert_eq!(sends.len(), 4);
        assert!(sends[0].spawned, "handed to a spawn through a local");
        assert_eq!(
            (sends[1].deferred, sends[1].spawned),
            (1, false),
            "pushed into a set"
        );
        assert_eq!(
            (sends[2].async_blocks, sends[2].deferred),
            (1, 0),
            "awaited in place"
        );
        assert_eq!(
            (sends[3].returned, sends[3].deferred),
            (1, 0),
            "the function's value"
        );
        // Without spawned work the spawned block is not walked at all.
        assert_eq!(
            calls::<false>("fn f() { let w = async { tx.send(1).await }; tokio::spawn(w); }")
                .iter()
                .filter(|c| c.0 == "send")
                .count(),
            0
        );
    }

    #[test]
    fn awaited_through_parens_and_try_only() {
        let c =
            calls::<false>("async fn f() { (tx.send(1))?.await; let f = tx.send(2); f.await; }");
        assert_eq!(
            c,
            vec![
                ("send".into(), true, IN_PLACE),
                // A future stored in a local and awaited later is not awaited where it is called.
                ("send".into(), false, IN_PLACE),
            ]
        );
    }

    #[test]
    fn spawned_work_is_walked_only_on_request_and_marked() {
        let src = "fn f() { tokio::spawn(async move { tx.send(1).await }); }";
        assert_eq!(
            calls::<false>(src),
            vec![("tokio::spawn".into(), false, IN_PLACE)]
        );
        let c = calls::<true>(src);
        assert_eq!(c.len(), 2);
        assert_eq!(c[0].0, "send");
        assert!(c[0].1 && c[0].2.spawned && c[0].2.async_blocks == 1);
        assert_eq!(c[1], ("tokio::spawn".into(), false, IN_PLACE));
    }

    #[test]
    fn closures_run_in_place_and_join_all_awaits_their_futures() {
        let c = calls::<false>("async fn f() { join_all(ps.iter().map(|p| p.tx.send(1))).await; }");
        let names: Vec<&str> = c.iter().map(|c| c.0.as_str()).collect();
        assert_eq!(names, ["iter", "send", "map", "join_all"]);
        let send = &c[1];
        assert!(send.1, "the closure's future is awaited by join_all");
        assert_eq!(send.2.closures, 1);
        assert!(c[3].1);
    }

    #[test]
    fn the_arena_keeps_spawned_futures_and_awaits_as_nodes() {
        let f = facts("async fn f() { tokio::spawn(fut); x.await; }");
        assert!(f.fns[0].is_async);
        let body = &f.bodies[0];
        let spawn = body
            .exprs
            .iter()
            .find_map(|e| match e.kind {
                ExprKind::Spawn { call } => Some(call),
                _ => None,
            })
            .expect("a spawn node");
        let ExprKind::Call { args, .. } = &body.expr(spawn).kind else {
            panic!("a spawn wraps its call");
        };
        assert!(matches!(&body.expr(args[0]).kind, ExprKind::Path(p) if p == &["fut"]));
        assert!(body
            .exprs
            .iter()
            .any(|e| matches!(e.kind, ExprKind::Await { .. })));
        // Children before parents; the root block last.
        assert_eq!(body.root, Some(ExprId::new(body.exprs.len() - 1)));
    }
}
