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
use super::{Anchor, CallSite, Callee, Event, Expr, ScopeId};
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
