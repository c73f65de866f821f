//! Function bodies → expression arenas ([`Body`]): the syntax lowered as it is written.
//!
//! Every expression the call graph can see becomes a node with its children (allocated before
//! it); statements keep their anchors, match arms theirs. Nothing is decided here about what
//! runs where (that is `semantics::walk`); the one name-based call made here marks a call to a
//! spawner (`tokio::spawn(..)`, `set.spawn(..)`, `spawn_blocking`, ...) as an
//! [`ExprKind::Spawn`] node that keeps the call and its arguments. Macro invocations keep what
//! their tokens parse as (`select!` arms, expressions, statements).

use syn::spanned::Spanned;

use super::anchor;
use super::extract::{ident_str, pat_ir, path_segs, ty_ref};
use super::macros::{macro_name, parse_macro, MacroBody};
use super::{
    Anchor, Body, CallTarget, ExprData, ExprId, ExprKind, LoopKind, MacroArgs, MatchArm, Param,
    ScopeId, SelectArm, Stmt, StmtKind,
};
use crate::cfg::cfg_of;
use crate::diagnostic::Span;

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

/// The outer attributes of an expression (those a `#[cfg]` on a statement lands on).
pub(super) fn expr_attrs(e: &syn::Expr) -> &[syn::Attribute] {
    use syn::Expr as E;
    match e {
        E::Array(x) => &x.attrs,
        E::Assign(x) => &x.attrs,
        E::Async(x) => &x.attrs,
        E::Await(x) => &x.attrs,
        E::Binary(x) => &x.attrs,
        E::Block(x) => &x.attrs,
        E::Break(x) => &x.attrs,
        E::Call(x) => &x.attrs,
        E::Cast(x) => &x.attrs,
        E::Closure(x) => &x.attrs,
        E::Const(x) => &x.attrs,
        E::Continue(x) => &x.attrs,
        E::Field(x) => &x.attrs,
        E::ForLoop(x) => &x.attrs,
        E::Group(x) => &x.attrs,
        E::If(x) => &x.attrs,
        E::Index(x) => &x.attrs,
        E::Let(x) => &x.attrs,
        E::Lit(x) => &x.attrs,
        E::Loop(x) => &x.attrs,
        E::Macro(x) => &x.attrs,
        E::Match(x) => &x.attrs,
        E::MethodCall(x) => &x.attrs,
        E::Paren(x) => &x.attrs,
        E::Path(x) => &x.attrs,
        E::Range(x) => &x.attrs,
        E::Reference(x) => &x.attrs,
        E::Repeat(x) => &x.attrs,
        E::Return(x) => &x.attrs,
        E::Struct(x) => &x.attrs,
        E::Try(x) => &x.attrs,
        E::TryBlock(x) => &x.attrs,
        E::Tuple(x) => &x.attrs,
        E::Unary(x) => &x.attrs,
        E::Unsafe(x) => &x.attrs,
        E::While(x) => &x.attrs,
        E::Yield(x) => &x.attrs,
        _ => &[],
    }
}

/// Method or function names whose arguments run on another task or thread: a call of one
/// becomes an [`ExprKind::Spawn`] node that keeps the spawned futures and closures as its
/// arguments. A name match on what the source writes (`tokio::spawn`, `set.spawn(..)`,
/// `spawn_blocking`, a project's own `GlobalExecutor::spawn`): the lowering records that the
/// code hands work away, and the semantic layer decides what that means.
pub fn is_spawn_name(name: &str) -> bool {
    matches!(
        name,
        "spawn"
            | "spawn_local"
            | "spawn_blocking"
            | "spawn_on"
            | "spawn_local_on"
            | "spawn_blocking_on"
    )
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
        let cfg = match s {
            syn::Stmt::Local(l) => cfg_of(&l.attrs),
            syn::Stmt::Expr(e, _) => cfg_of(expr_attrs(e)),
            syn::Stmt::Macro(m) => cfg_of(&m.attrs),
            syn::Stmt::Item(_) => Vec::new(),
        };
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
        Stmt { kind, cfg, anchor }
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
                    span: Span::from_pm2(w.while_token.span),
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
                    span: Span::from_pm2(f.for_token.span),
                }
            }
            E::Loop(l) => {
                let body = self.block(&l.body);
                ExprKind::Loop {
                    kind: LoopKind::Loop,
                    pat: None,
                    head: None,
                    body,
                    span: Span::from_pm2(l.loop_token.span),
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
                            cfg: cfg_of(&arm.attrs),
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

#[cfg(test)]
mod tests {
    use super::is_spawn_name;

    #[test]
    fn spawners_are_matched_by_whole_name() {
        assert!(is_spawn_name("spawn_blocking"));
        assert!(is_spawn_name("spawn"));
        assert!(!is_spawn_name("spawned"));
        assert!(!is_spawn_name("respawn"));
    }
}
