//! Function bodies → the small event IR the call-graph analysis replays.
//!
//! Calls are emitted in evaluation order with whether they are awaited; `let`s, match arms,
//! `if let`, `for` and closure parameters become [`Event::Let`] bindings; blocks become scopes.
//! Futures handed to a spawn (`tokio::spawn(..)`, `set.spawn(..)`, `spawn_local`, ...) are left
//! out entirely: spawned work is not part of the caller's synchronous path.

use syn::spanned::Spanned;

use super::anchor;
use super::extract::{ident_str, pat_ir, path_segs, ty_ref};
use super::macros::{macro_name, parse_macro, MacroBody};
use super::{
    Anchor, Body, CallSite, CallTarget, Callee, Event, Expr, ExprData, ExprId, ExprKind, LoopKind,
    MacroArgs, MatchArm, Param, ScopeId, SelectArm, Stmt, StmtKind,
};
use crate::diagnostic::Span;
use crate::semantics::known::{
    awaits_collection, is_spawn_name, macro_awaits_arguments as awaits_arguments,
    takes_element_closure,
};

pub fn build(block: &syn::Block, scope: ScopeId, anchors: &[Anchor]) -> Vec<Event> {
    let mut b = Builder {
        events: Vec::new(),
        scope,
        anchors: anchors.to_vec(),
        await_tails: false,
    };
    b.block(block);
    b.events
}

struct Builder {
    events: Vec<Event>,
    scope: ScopeId,
    anchors: Vec<Anchor>,
    /// Inside the arguments of an awaited `join_all(..)`-like call: the futures that closures
    /// return (`peers.iter().map(|p| p.tx.send(m.clone()))`) are awaited too.
    await_tails: bool,
}

impl Builder {
    fn block(&mut self, b: &syn::Block) {
        self.events.push(Event::Enter);
        for s in &b.stmts {
            self.stmt(s);
        }
        self.events.push(Event::Exit);
    }

    fn stmt(&mut self, s: &syn::Stmt) {
        self.anchors.push(anchor::stmt(s));
        match s {
            syn::Stmt::Local(l) => {
                let init = l.init.as_ref().map(|i| {
                    let v = self.expr(&i.expr);
                    if let Some((_, diverge)) = &i.diverge {
                        self.expr(diverge);
                    }
                    v
                });
                let ty = match &l.pat {
                    syn::Pat::Type(pt) => Some(ty_ref(&pt.ty, self.scope)),
                    _ => None,
                };
                self.events.push(Event::Let {
                    pat: pat_ir(&l.pat),
                    ty,
                    init,
                });
            }
            syn::Stmt::Item(_) => {}
            syn::Stmt::Expr(e, _) => {
                self.expr(e);
            }
            syn::Stmt::Macro(m) => self.mac(&m.mac),
        }
        self.anchors.pop();
    }

    fn call(&mut self, callee: Callee, awaited: bool, span: proc_macro2::Span) {
        let anchors = self.anchors.iter().rev().copied().collect();
        self.events.push(Event::Call(CallSite {
            callee,
            awaited,
            span: Span::from_pm2(span),
            anchors,
        }));
    }

    fn expr(&mut self, e: &syn::Expr) -> Expr {
        self.expr_a(e, false)
    }

    /// `awaited`: the value of `e` is awaited by its parent (`e.await`, a `select!`/`join!` future).
    fn expr_a(&mut self, e: &syn::Expr, awaited: bool) -> Expr {
        use syn::Expr as E;
        match e {
            E::Await(a) => self.expr_a(&a.base, true),
            E::Paren(p) => self.expr_a(&p.expr, awaited),
            E::Group(g) => self.expr_a(&g.expr, awaited),
            E::MethodCall(m) => {
                let recv = self.expr(&m.receiver);
                let name = ident_str(&m.method);
                let mut args = Vec::new();
                if !is_spawn_name(&name) {
                    for a in &m.args {
                        match a {
                            // `xs.iter().map(|x| ..)`, `opt.map(|v| ..)`: the closure's first
                            // parameter is an element of the receiver.
                            E::Closure(c) if takes_element_closure(&name) => {
                                let elem = Expr::IterElem(Box::new(recv.clone()));
                                self.closure(c, Some(elem));
                                args.push(Expr::Unknown);
                            }
                            _ => {
                                let tail = self.await_tails;
                                args.push(self.expr_a(a, tail && matches!(a, E::Closure(_))));
                            }
                        }
                    }
                }
                self.call(
                    Callee::Method {
                        recv: recv.clone(),
                        name: name.clone(),
                    },
                    awaited,
                    m.method.span(),
                );
                Expr::Method(Box::new(recv), name, args)
            }
            E::Call(c) => match &*c.func {
                E::Path(p) => {
                    let path = path_segs(&p.path);
                    let spawn = path.last().is_some_and(|l| is_spawn_name(l));
                    let mut args = Vec::new();
                    if !spawn {
                        let saved = self.await_tails;
                        self.await_tails =
                            saved || (awaited && path.last().is_some_and(|l| awaits_collection(l)));
                        for a in &c.args {
                            let tail = self.await_tails;
                            args.push(self.expr_a(a, tail));
                        }
                        self.await_tails = saved;
                    }
                    let qself = p.qself.as_ref().map(|q| ty_ref(&q.ty, self.scope));
                    let span = p
                        .path
                        .segments
                        .last()
                        .map(|s| s.ident.span())
                        .unwrap_or_else(|| c.func.span());
                    self.call(
                        Callee::Path {
                            path: path.clone(),
                            qself,
                        },
                        awaited,
                        span,
                    );
                    Expr::Call(path, args)
                }
                other => {
                    self.expr(other);
                    for a in &c.args {
                        self.expr(a);
                    }
                    Expr::Unknown
                }
            },
            E::Path(p) => {
                if p.qself.is_some() {
                    return Expr::Unknown;
                }
                Expr::Path(path_segs(&p.path))
            }
            E::Field(f) => {
                let base = self.expr(&f.base);
                let name = match &f.member {
                    syn::Member::Named(id) => ident_str(id),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                Expr::Field(Box::new(base), name)
            }
            E::Index(i) => {
                let base = self.expr(&i.expr);
                self.expr(&i.index);
                Expr::Index(Box::new(base))
            }
            E::Reference(r) => Expr::Ref(Box::new(self.expr(&r.expr))),
            E::Unary(u) => {
                let v = self.expr(&u.expr);
                match u.op {
                    syn::UnOp::Deref(_) => Expr::Ref(Box::new(v)),
                    _ => Expr::Unknown,
                }
            }
            E::Try(t) => Expr::Try(Box::new(self.expr_a(&t.expr, awaited))),
            E::Struct(s) => {
                for f in &s.fields {
                    self.expr(&f.expr);
                }
                if let Some(r) = &s.rest {
                    self.expr(r);
                }
                Expr::StructLit(path_segs(&s.path))
            }
            E::Tuple(t) => Expr::Tuple(t.elems.iter().map(|x| self.expr(x)).collect()),
            E::Array(a) => {
                for x in &a.elems {
                    self.expr(x);
                }
                Expr::Unknown
            }
            E::Repeat(r) => {
                self.expr(&r.expr);
                self.expr(&r.len);
                Expr::Unknown
            }
            E::Block(b) => {
                self.block(&b.block);
                Expr::Unknown
            }
            E::Unsafe(u) => {
                self.block(&u.block);
                Expr::Unknown
            }
            E::Async(a) => {
                // An async block that is not spawned: assume it is awaited by the caller.
                self.block(&a.block);
                Expr::Unknown
            }
            E::Closure(c) => {
                self.closure(c, None);
                Expr::Unknown
            }
            E::If(i) => {
                self.events.push(Event::Enter);
                self.expr(&i.cond);
                self.block(&i.then_branch);
                self.events.push(Event::Exit);
                if let Some((_, els)) = &i.else_branch {
                    self.expr(els);
                }
                Expr::Unknown
            }
            E::Let(l) => {
                let init = self.expr(&l.expr);
                self.events.push(Event::Let {
                    pat: pat_ir(&l.pat),
                    ty: None,
                    init: Some(init),
                });
                Expr::Unknown
            }
            E::While(w) => {
                self.events.push(Event::Enter);
                self.expr(&w.cond);
                self.block(&w.body);
                self.events.push(Event::Exit);
                Expr::Unknown
            }
            E::ForLoop(f) => {
                let it = self.expr(&f.expr);
                self.events.push(Event::Enter);
                self.events.push(Event::Let {
                    pat: pat_ir(&f.pat),
                    ty: None,
                    init: Some(Expr::IterElem(Box::new(it))),
                });
                self.block(&f.body);
                self.events.push(Event::Exit);
                Expr::Unknown
            }
            E::Loop(l) => {
                self.block(&l.body);
                Expr::Unknown
            }
            E::Match(m) => {
                let scrut = self.expr(&m.expr);
                for arm in &m.arms {
                    self.events.push(Event::Enter);
                    self.events.push(Event::Let {
                        pat: pat_ir(&arm.pat),
                        ty: None,
                        init: Some(scrut.clone()),
                    });
                    if let Some((_, g)) = &arm.guard {
                        self.expr(g);
                    }
                    self.anchors.push(anchor::arm(arm));
                    self.expr(&arm.body);
                    self.anchors.pop();
                    self.events.push(Event::Exit);
                }
                Expr::Unknown
            }
            E::Assign(a) => {
                self.expr(&a.left);
                self.expr(&a.right);
                Expr::Unknown
            }
            E::Binary(b) => {
                self.expr(&b.left);
                self.expr(&b.right);
                Expr::Unknown
            }
            E::Cast(c) => {
                self.expr(&c.expr);
                Expr::Unknown
            }
            E::Range(r) => {
                if let Some(s) = &r.start {
                    self.expr(s);
                }
                if let Some(s) = &r.end {
                    self.expr(s);
                }
                Expr::Unknown
            }
            E::Return(r) => {
                if let Some(x) = &r.expr {
                    self.expr(x);
                }
                Expr::Unknown
            }
            E::Break(r) => {
                if let Some(x) = &r.expr {
                    self.expr(x);
                }
                Expr::Unknown
            }
            E::Yield(r) => {
                if let Some(x) = &r.expr {
                    self.expr(x);
                }
                Expr::Unknown
            }
            E::Macro(m) => {
                self.mac(&m.mac);
                Expr::Unknown
            }
            _ => Expr::Unknown,
        }
    }

    /// A closure's body runs (we assume) where it is written; `first` types its first parameter.
    fn closure(&mut self, c: &syn::ExprClosure, first: Option<Expr>) {
        self.events.push(Event::Enter);
        for (i, p) in c.inputs.iter().enumerate() {
            let ty = match p {
                syn::Pat::Type(pt) => Some(ty_ref(&pt.ty, self.scope)),
                _ => None,
            };
            let init = if i == 0 { first.clone() } else { None };
            self.events.push(Event::Let {
                pat: pat_ir(p),
                ty,
                init,
            });
        }
        let tail = self.await_tails;
        self.expr_a(&c.body, tail);
        self.events.push(Event::Exit);
    }

    fn mac(&mut self, mac: &syn::Macro) {
        let name = macro_name(mac);
        match parse_macro(mac) {
            MacroBody::Select(arms) => {
                for arm in &arms {
                    if let Some(f) = &arm.future {
                        self.expr_a(f, true);
                    }
                    self.events.push(Event::Enter);
                    if let Some(p) = &arm.pat {
                        self.events.push(Event::Let {
                            pat: pat_ir(p),
                            ty: None,
                            init: None,
                        });
                    }
                    if let Some(g) = &arm.guard {
                        self.expr(g);
                    }
                    self.expr(&arm.handler);
                    self.events.push(Event::Exit);
                }
            }
            MacroBody::Exprs(exprs) => {
                let awaited = awaits_arguments(&name);
                for e in &exprs {
                    self.expr_a(e, awaited);
                }
            }
            MacroBody::Stmts(stmts) => {
                for s in &stmts {
                    self.stmt(s);
                }
            }
            MacroBody::Tokens => {}
        }
    }
}

/// Lower a function body to its expression arena ([`Body`]).
pub fn lower(block: &syn::Block, scope: ScopeId, anchors: &[Anchor]) -> Body {
    let mut l = Lowering {
        exprs: Vec::new(),
        scope,
    };
    let root = l.block(block);
    Body {
        exprs: l.exprs,
        root: Some(root),
        outer_anchors: anchors.to_vec(),
    }
}

struct Lowering {
    exprs: Vec<ExprData>,
    scope: ScopeId,
}

impl Lowering {
    fn alloc(&mut self, kind: ExprKind) -> ExprId {
        let id = ExprId::new(self.exprs.len());
        self.exprs.push(ExprData { kind });
        id
    }

    fn block(&mut self, b: &syn::Block) -> ExprId {
        let stmts = self.stmts(&b.stmts);
        self.alloc(ExprKind::Block(stmts))
    }

    fn stmts(&mut self, stmts: &[syn::Stmt]) -> Vec<Stmt> {
        stmts.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&mut self, s: &syn::Stmt) -> Stmt {
        let anchor = anchor::stmt(s);
        let kind = match s {
            syn::Stmt::Local(l) => {
                let (init, diverge) = match &l.init {
                    Some(i) => {
                        let init = self.expr(&i.expr);
                        let diverge = i.diverge.as_ref().map(|(_, d)| self.expr(d));
                        (Some(init), diverge)
                    }
                    None => (None, None),
                };
                let ty = match &l.pat {
                    syn::Pat::Type(pt) => Some(ty_ref(&pt.ty, self.scope)),
                    _ => None,
                };
                StmtKind::Let {
                    pat: pat_ir(&l.pat),
                    ty,
                    init,
                    diverge,
                }
            }
            syn::Stmt::Item(_) => StmtKind::Item,
            syn::Stmt::Expr(e, _) => StmtKind::Expr(self.expr(e)),
            syn::Stmt::Macro(m) => StmtKind::Expr(self.mac(&m.mac)),
        };
        Stmt { kind, anchor }
    }

    fn exprs<'a>(&mut self, es: impl IntoIterator<Item = &'a syn::Expr>) -> Vec<ExprId> {
        es.into_iter().map(|e| self.expr(e)).collect()
    }

    fn opt(&mut self, e: &Option<Box<syn::Expr>>) -> Option<ExprId> {
        e.as_ref().map(|e| self.expr(e))
    }

    fn expr(&mut self, e: &syn::Expr) -> ExprId {
        use syn::Expr as E;
        let kind = match e {
            E::Await(a) => {
                let base = self.expr(&a.base);
                ExprKind::Await {
                    base,
                    span: Span::from_pm2(a.await_token.span),
                }
            }
            E::Paren(p) => ExprKind::Paren(self.expr(&p.expr)),
            E::Group(g) => ExprKind::Paren(self.expr(&g.expr)),
            E::MethodCall(m) => {
                let recv = self.expr(&m.receiver);
                let method = ident_str(&m.method);
                let args = self.exprs(&m.args);
                let spawn = is_spawn_name(&method);
                let call = self.alloc(ExprKind::MethodCall {
                    recv,
                    method,
                    args,
                    span: Span::from_pm2(m.method.span()),
                });
                if !spawn {
                    return call;
                }
                ExprKind::Spawn { call }
            }
            E::Call(c) => {
                let (callee, span, spawn) = match &*c.func {
                    E::Path(p) => {
                        let path = path_segs(&p.path);
                        let spawn = path.last().is_some_and(|l| is_spawn_name(l));
                        let qself = p.qself.as_ref().map(|q| ty_ref(&q.ty, self.scope));
                        let span = p
                            .path
                            .segments
                            .last()
                            .map(|s| s.ident.span())
                            .unwrap_or_else(|| c.func.span());
                        (CallTarget::Path { path, qself }, span, spawn)
                    }
                    // No name to point at: the opening parenthesis.
                    other => (
                        CallTarget::Expr(self.expr(other)),
                        c.paren_token.span.open(),
                        false,
                    ),
                };
                let args = self.exprs(&c.args);
                let call = self.alloc(ExprKind::Call {
                    callee,
                    args,
                    span: Span::from_pm2(span),
                });
                if !spawn {
                    return call;
                }
                ExprKind::Spawn { call }
            }
            E::Path(p) => {
                if p.qself.is_some() {
                    ExprKind::Other
                } else {
                    ExprKind::Path(path_segs(&p.path))
                }
            }
            E::Field(f) => {
                let base = self.expr(&f.base);
                let name = match &f.member {
                    syn::Member::Named(id) => ident_str(id),
                    syn::Member::Unnamed(i) => i.index.to_string(),
                };
                ExprKind::Field { base, name }
            }
            E::Index(i) => {
                let base = self.expr(&i.expr);
                let index = self.expr(&i.index);
                ExprKind::Index { base, index }
            }
            E::Reference(r) => ExprKind::Ref(self.expr(&r.expr)),
            E::Unary(u) => {
                let v = self.expr(&u.expr);
                match u.op {
                    syn::UnOp::Deref(_) => ExprKind::Deref(v),
                    _ => ExprKind::Unary(v),
                }
            }
            E::Try(t) => ExprKind::Try(self.expr(&t.expr)),
            E::Struct(s) => {
                let fields = self.exprs(s.fields.iter().map(|f| &f.expr));
                let rest = self.opt(&s.rest);
                ExprKind::StructLit {
                    path: path_segs(&s.path),
                    fields,
                    rest,
                }
            }
            E::Tuple(t) => ExprKind::Tuple(self.exprs(&t.elems)),
            E::Array(a) => ExprKind::Array(self.exprs(&a.elems)),
            E::Repeat(r) => {
                let value = self.expr(&r.expr);
                let len = self.expr(&r.len);
                ExprKind::Repeat { value, len }
            }
            E::Block(b) => return self.block(&b.block),
            E::Unsafe(u) => return self.block(&u.block),
            E::Async(a) => ExprKind::AsyncBlock(self.block(&a.block)),
            E::Closure(c) => {
                let params = c
                    .inputs
                    .iter()
                    .map(|p| Param {
                        pat: pat_ir(p),
                        ty: match p {
                            syn::Pat::Type(pt) => Some(ty_ref(&pt.ty, self.scope)),
                            _ => None,
                        },
                    })
                    .collect();
                let body = self.expr(&c.body);
                ExprKind::Closure {
                    params,
                    body,
                    is_async: c.asyncness.is_some(),
                }
            }
            E::If(i) => {
                let cond = self.expr(&i.cond);
                let then = self.block(&i.then_branch);
                let els = i.else_branch.as_ref().map(|(_, e)| self.expr(e));
                ExprKind::If { cond, then, els }
            }
            E::Let(l) => {
                let init = self.expr(&l.expr);
                ExprKind::Let {
                    pat: pat_ir(&l.pat),
                    init,
                }
            }
            E::While(w) => {
                let head = self.expr(&w.cond);
                let body = self.block(&w.body);
                ExprKind::Loop {
                    kind: LoopKind::While,
                    pat: None,
                    head: Some(head),
                    body,
                }
            }
            E::ForLoop(f) => {
                let head = self.expr(&f.expr);
                let body = self.block(&f.body);
                ExprKind::Loop {
                    kind: LoopKind::For,
                    pat: Some(pat_ir(&f.pat)),
                    head: Some(head),
                    body,
                }
            }
            E::Loop(l) => {
                let body = self.block(&l.body);
                ExprKind::Loop {
                    kind: LoopKind::Loop,
                    pat: None,
                    head: None,
                    body,
                }
            }
            E::Match(m) => {
                let scrutinee = self.expr(&m.expr);
                let arms = m
                    .arms
                    .iter()
                    .map(|arm| {
                        let guard = arm.guard.as_ref().map(|(_, g)| self.expr(g));
                        let body = self.expr(&arm.body);
                        MatchArm {
                            pat: pat_ir(&arm.pat),
                            guard,
                            body,
                            anchor: anchor::arm(arm),
                        }
                    })
                    .collect();
                ExprKind::Match { scrutinee, arms }
            }
            E::Assign(a) => {
                let lhs = self.expr(&a.left);
                let rhs = self.expr(&a.right);
                ExprKind::Assign { lhs, rhs }
            }
            E::Binary(b) => {
                let lhs = self.expr(&b.left);
                let rhs = self.expr(&b.right);
                ExprKind::Binary { lhs, rhs }
            }
            E::Cast(c) => ExprKind::Cast(self.expr(&c.expr)),
            E::Range(r) => {
                let start = self.opt(&r.start);
                let end = self.opt(&r.end);
                ExprKind::Range { start, end }
            }
            E::Return(r) => ExprKind::Return(self.opt(&r.expr)),
            E::Break(r) => ExprKind::Break(self.opt(&r.expr)),
            E::Yield(r) => ExprKind::Yield(self.opt(&r.expr)),
            E::Macro(m) => return self.mac(&m.mac),
            E::Lit(_) => ExprKind::Lit,
            _ => ExprKind::Other,
        };
        self.alloc(kind)
    }

    fn mac(&mut self, mac: &syn::Macro) -> ExprId {
        let name = macro_name(mac);
        let args = match parse_macro(mac) {
            MacroBody::Select(arms) => MacroArgs::Select(
                arms.iter()
                    .map(|arm| {
                        let future = arm.future.as_ref().map(|f| self.expr(f));
                        let guard = arm.guard.as_ref().map(|g| self.expr(g));
                        let handler = self.expr(&arm.handler);
                        SelectArm {
                            pat: arm.pat.as_ref().map(pat_ir),
                            future,
                            guard,
                            handler,
                        }
                    })
                    .collect(),
            ),
            MacroBody::Exprs(exprs) => MacroArgs::Exprs(self.exprs(&exprs)),
            MacroBody::Stmts(stmts) => MacroArgs::Stmts(self.stmts(&stmts)),
            MacroBody::Tokens => MacroArgs::Tokens,
        };
        let span = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.span())
            .unwrap_or_else(|| mac.bang_token.span);
        self.alloc(ExprKind::MacroCall {
            name,
            args,
            span: Span::from_pm2(span),
        })
    }
}
