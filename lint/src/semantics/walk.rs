//! The order in which a function body runs, as the call graph models it: one walk over a
//! body's expression arena that reports scopes, bindings and calls in evaluation order.
//!
//! This is where the model of "what runs as part of this function" lives (not in the facts):
//! - a call is *awaited* when its value is `.await`ed (through parentheses and `?`), when it is a
//!   `select!` branch future or a `join!`-style macro argument, or when it sits in the
//!   arguments of an awaited `join_all`-style call (then the futures its closures return are
//!   awaited too: `join_all(peers.iter().map(|p| p.tx.send(m)))`);
//! - closures and async blocks that are not spawned are walked where they are written, as if
//!   they ran in place (the visitor is told it is inside one, see [`Place`]);
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
    /// Inside the arguments of a spawn call: not on the caller's path.
    pub spawned: bool,
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
}

/// Walk `body` from its root block.
pub fn walk_body<V: BodyVisitor>(body: &Body, v: &mut V) {
    let Some(root) = body.root else {
        return;
    };
    let mut w = Walker {
        body,
        v,
        anchors: body.outer_anchors.clone(),
        await_tails: false,
        place: Place::default(),
    };
    w.expr(root, false);
}

struct Walker<'b, V> {
    body: &'b Body,
    v: &'b mut V,
    anchors: Vec<Anchor>,
    /// Inside the arguments of an awaited `join_all(..)`-like call: the futures that closures
    /// return are awaited too.
    await_tails: bool,
    place: Place,
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
                // An async block that is not spawned: assume it is awaited by the caller.
                self.place.async_blocks += 1;
                self.expr(*b, false);
                self.place.async_blocks -= 1;
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
                    for arm in arms {
                        if let Some(f) = arm.future {
                            self.expr(f, true);
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

/// The anchors of a call on the caller's path (innermost first): the statements and match arms
/// around it and the items around its function. Empty if the walk does not reach it.
pub fn anchors_of(body: &Body, call: ExprId) -> Vec<Anchor> {
    struct Find(ExprId, Option<Vec<Anchor>>);
    impl BodyVisitor for Find {
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
    };

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
