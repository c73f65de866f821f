//! Function bodies → expression arenas ([`Body`]): the syntax lowered as it is written.
//!
//! Every expression the call graph can see becomes a node with its children (allocated before
//! it); statements keep their anchors, match arms theirs. Nothing is decided here about what
//! runs where (that is `semantics::walk`); the one name-based call made here marks a call to a
//! spawner (`tokio::spawn(..)`, `set.spawn(..)`, `spawn_blocking`, ...) as an
//! [`ExprKind::Spawn`] node that keeps the call and its arguments. Macro invocations keep what
//! their tokens parse as (`select!` arms, expressions, statements).
//!
//! Every node gets its source range ([`ExprData::range`]), built bottom-up: from the tokens the
//! node owns (keywords, delimiters, the `#` of an outer attribute, a label) and the ranges of
//! its children, lowered first (a method call starts where its receiver starts). Nothing is
//! printed back into tokens, as `Spanned::span()` would do once per nesting level; only shapes
//! with no token of their own to read (verbatim tokens, `&raw const x`, a cast to a `dyn` type)
//! ask syn. The lines of a statement and of a match arm (their anchors) are read off the
//! ranges of their expressions. The ranges equal `Spanned::span()` on the workspace's own
//! sources and fixtures (a test), on freenet 0.2.50 and on 198 crates of a cargo registry
//! (1.39 million expressions, checked once).

use syn::spanned::Spanned;

use super::anchor::{
    self, delim_close, label_first, outer_attr, path_first, qpath_first, qpath_last,
    range_limits_first, range_limits_last, type_last,
};
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
        body: Body {
            exprs: Vec::new(),
            root: None,
            outer_anchors: anchors.to_vec(),
        },
        scope,
        #[cfg(test)]
        printed: Vec::new(),
        #[cfg(test)]
        anchors: Vec::new(),
    };
    l.body.root = Some(l.block(block));
    l.body
}

/// Parse and lower a deferred body ([`super::Deferred`]): its text `{ .. }`, set where it stands
/// in the file (its `{` on the same line and column, by leading line breaks and spaces), so that
/// every span is the one a parse of the whole file gives. Runs on the calling thread (the rules'
/// large-stack pool); proc-macro2's span table for this thread is let go afterwards, as after a
/// file's parse.
pub fn lower_deferred(text: &str, d: &super::Deferred) -> Result<Body, (Span, String)> {
    let Some(src) = text.get(d.open as usize..d.close as usize) else {
        return Err((
            Span {
                line: d.line,
                column: d.column,
                end_line: d.line,
                end_column: d.column + 1,
            },
            "internal error of channel-lint: a deferred body is outside its file's text".into(),
        ));
    };
    let pad_lines = d.line.saturating_sub(1) as usize;
    let pad_cols = d.column.saturating_sub(1) as usize;
    let mut padded = String::with_capacity(pad_lines + pad_cols + src.len());
    padded.extend(std::iter::repeat_n('\n', pad_lines));
    padded.extend(std::iter::repeat_n(' ', pad_cols));
    padded.push_str(src);
    // A panic in syn or the lowering is this body's problem, not the run's (as a file's is).
    let out = std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| {
        match syn::parse_str::<syn::Block>(&padded) {
            Ok(block) => Ok(lower(&block, d.scope, &d.anchors)),
            Err(e) => {
                let mut span = Span::from_pm2(e.span());
                span.end_line = span.line;
                span.end_column = span.column + 1;
                Err((span, format!("cannot parse: {e}")))
            }
        }
    }));
    proc_macro2::extra::invalidate_current_thread_spans();
    out.unwrap_or_else(|_| {
        Err((
            Span {
                line: d.line,
                column: d.column,
                end_line: d.line,
                end_column: d.column + 1,
            },
            "internal error of channel-lint while reading this function body (please report \
             it); it was read as empty"
                .into(),
        ))
    })
}

struct Lowering {
    /// The body so far: every node is allocated after its children, so their ranges are
    /// there to build its own from.
    body: Body,
    scope: ScopeId,
    /// Tests only: every lowered syn expression's id, its `Spanned::span()` and whether
    /// `anchor` reads its first and last token off the tree (the shapes that syn does not
    /// print with invented tokens), to check the ranges against.
    #[cfg(test)]
    printed: Vec<(ExprId, Span, bool)>,
    /// Tests only: every statement's and match arm's anchor, and `anchor`'s for it.
    #[cfg(test)]
    anchors: Vec<(Anchor, Anchor)>,
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

/// A position: 1-based line and 1-based character column (a [`Span`]'s start or end).
type Pos = (u32, u32);

fn start(s: proc_macro2::Span) -> Pos {
    let p = s.start();
    (p.line as u32, p.column as u32 + 1)
}

fn end(s: proc_macro2::Span) -> Pos {
    let p = s.end();
    (p.line as u32, p.column as u32 + 1)
}

fn span(first: Pos, last: Pos) -> Span {
    Span {
        line: first.0,
        column: first.1,
        end_line: last.0,
        end_column: last.1,
    }
}

/// The range of a node the lowering does not take apart token by token: syn prints it and
/// joins its first and last tokens (rare shapes: verbatim tokens, `&raw const x`).
fn printed(node: &impl Spanned) -> (Pos, Pos) {
    let s = node.span();
    (start(s), end(s))
}

impl Lowering {
    fn alloc(&mut self, kind: ExprKind, range: Span) -> ExprId {
        let id = ExprId::new(self.body.exprs.len());
        self.body.exprs.push(ExprData { kind, range });
        id
    }

    fn first(&self, e: ExprId) -> Pos {
        let r = self.body.range(e);
        (r.line, r.column)
    }

    fn last(&self, e: ExprId) -> Pos {
        let r = self.body.range(e);
        (r.end_line, r.end_column)
    }

    /// A block, from its `{` to its `}`.
    fn block(&mut self, b: &syn::Block) -> ExprId {
        let kind = self.block_kind(b);
        let range = span(
            start(b.brace_token.span.open()),
            end(b.brace_token.span.close()),
        );
        self.alloc(kind, range)
    }

    fn block_kind(&mut self, b: &syn::Block) -> ExprKind {
        ExprKind::Block(self.stmts(&b.stmts))
    }

    fn stmts(&mut self, stmts: &[syn::Stmt]) -> Vec<Stmt> {
        stmts.iter().map(|s| self.stmt(s)).collect()
    }

    fn stmt(&mut self, s: &syn::Stmt) -> Stmt {
        let cfg = match s {
            syn::Stmt::Local(l) => cfg_of(&l.attrs),
            syn::Stmt::Expr(e, _) => cfg_of(expr_attrs(e)),
            syn::Stmt::Macro(m) => cfg_of(&m.attrs),
            syn::Stmt::Item(_) => Vec::new(),
        };
        let (kind, anchor) = match s {
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
                let kind = StmtKind::Let {
                    pat: pat_ir(&l.pat),
                    ty,
                    init,
                    diverge,
                };
                (kind, anchor::stmt(s))
            }
            syn::Stmt::Item(_) => (StmtKind::Item, anchor::stmt(s)),
            // The statement's lines are its expression's, through the `;`.
            syn::Stmt::Expr(e, semi) => {
                let x = self.expr(e);
                // `;` alone: syn's empty statement, an expression without tokens. It is
                // where its `;` is.
                if let (syn::Expr::Verbatim(t), Some(semi)) = (e, semi) {
                    if t.is_empty() {
                        let at = start(semi.spans[0]);
                        self.body.exprs[x.idx()].range = span(at, at);
                    }
                }
                (StmtKind::Expr(x), self.stmt_anchor(x, semi.as_ref()))
            }
            syn::Stmt::Macro(m) => {
                let x = self.mac(&m.mac, &m.attrs);
                (
                    StmtKind::Expr(x),
                    self.stmt_anchor(x, m.semi_token.as_ref()),
                )
            }
        };
        #[cfg(test)]
        self.anchors.push((anchor, anchor::stmt(s)));
        Stmt { kind, cfg, anchor }
    }

    fn stmt_anchor(&self, e: ExprId, semi: Option<&syn::Token![;]>) -> Anchor {
        let r = self.body.range(e);
        let last = semi.map_or(r.end_line, |t| end(t.spans[0]).0);
        (r.line, last)
    }

    fn exprs<'a>(&mut self, es: impl IntoIterator<Item = &'a syn::Expr>) -> Vec<ExprId> {
        es.into_iter().map(|e| self.expr(e)).collect()
    }

    fn opt(&mut self, e: &Option<Box<syn::Expr>>) -> Option<ExprId> {
        e.as_ref().map(|e| self.expr(e))
    }

    fn expr(&mut self, e: &syn::Expr) -> ExprId {
        let id = self.lower_expr(e);
        #[cfg(test)]
        if !matches!(e, syn::Expr::Verbatim(t) if t.is_empty()) {
            self.printed.push((
                id,
                Span::from_pm2(e.span()),
                anchor::expr_first(e).is_some() && anchor::expr_last(e).is_some(),
            ));
        }
        id
    }

    fn lower_expr(&mut self, e: &syn::Expr) -> ExprId {
        use syn::Expr as E;
        // Each arm gives the node and its first and last tokens (outer attributes are added
        // below): a token's position, or that of a sub-expression already lowered.
        let (kind, first, last) = match e {
            E::Await(a) => {
                let base = self.expr(&a.base);
                let kind = ExprKind::Await {
                    base,
                    span: Span::from_pm2(a.await_token.span),
                };
                (kind, self.first(base), end(a.await_token.span))
            }
            E::Paren(p) => (
                ExprKind::Paren(self.expr(&p.expr)),
                start(p.paren_token.span.open()),
                end(p.paren_token.span.close()),
            ),
            // Invisible delimiters: the text is the inner expression's.
            E::Group(g) => {
                let x = self.expr(&g.expr);
                (ExprKind::Paren(x), self.first(x), self.last(x))
            }
            E::MethodCall(m) => {
                let recv = self.expr(&m.receiver);
                let method = ident_str(&m.method);
                let args = self.exprs(&m.args);
                let spawn = is_spawn_name(&method);
                let kind = ExprKind::MethodCall {
                    recv,
                    method,
                    args,
                    span: Span::from_pm2(m.method.span()),
                };
                let first = outer_attr(&m.attrs).map_or_else(|| self.first(recv), start);
                let range = span(first, end(m.paren_token.span.close()));
                let call = self.alloc(kind, range);
                if !spawn {
                    return call;
                }
                return self.alloc(ExprKind::Spawn { call }, range);
            }
            E::Call(c) => {
                let (callee, site, first, spawn) = match &*c.func {
                    E::Path(p) => {
                        let path = path_segs(&p.path);
                        let spawn = path.last().is_some_and(|l| is_spawn_name(l));
                        let qself = p
                            .qself
                            .as_ref()
                            .map(|q| Box::new(ty_ref(&q.ty, self.scope)));
                        let site = p
                            .path
                            .segments
                            .last()
                            .map(|s| s.ident.span())
                            .unwrap_or_else(|| c.func.span());
                        let first = outer_attr(&p.attrs)
                            .or_else(|| qpath_first(&p.qself, &p.path))
                            .map_or_else(|| printed(&c.func).0, start);
                        (CallTarget::Path { path, qself }, site, first, spawn)
                    }
                    // No name to point at: the opening parenthesis.
                    other => {
                        let f = self.expr(other);
                        (
                            CallTarget::Expr(f),
                            c.paren_token.span.open(),
                            self.first(f),
                            false,
                        )
                    }
                };
                let args = self.exprs(&c.args);
                let kind = ExprKind::Call {
                    callee,
                    args,
                    span: Span::from_pm2(site),
                };
                let first = outer_attr(&c.attrs).map_or(first, start);
                let range = span(first, end(c.paren_token.span.close()));
                let call = self.alloc(kind, range);
                if !spawn {
                    return call;
                }
                return self.alloc(ExprKind::Spawn { call }, range);
            }
            E::Path(p) => {
                let kind = if p.qself.is_some() {
                    ExprKind::Other
                } else {
                    ExprKind::Path(path_segs(&p.path))
                };
                match (
                    qpath_first(&p.qself, &p.path),
                    qpath_last(&p.qself, &p.path),
                ) {
                    (Some(f), Some(l)) => (kind, start(f), end(l)),
                    _ => {
                        let (f, l) = printed(e);
                        (kind, f, l)
                    }
                }
            }
            E::Field(f) => {
                let base = self.expr(&f.base);
                let (name, member) = match &f.member {
                    syn::Member::Named(id) => (ident_str(id), id.span()),
                    syn::Member::Unnamed(i) => (i.index.to_string(), i.span),
                };
                (
                    ExprKind::Field { base, name },
                    self.first(base),
                    end(member),
                )
            }
            E::Index(i) => {
                let base = self.expr(&i.expr);
                let index = self.expr(&i.index);
                (
                    ExprKind::Index { base, index },
                    self.first(base),
                    end(i.bracket_token.span.close()),
                )
            }
            E::Reference(r) => {
                let x = self.expr(&r.expr);
                (ExprKind::Ref(x), start(r.and_token.spans[0]), self.last(x))
            }
            E::Unary(u) => {
                let v = self.expr(&u.expr);
                let (kind, op) = match u.op {
                    syn::UnOp::Deref(t) => (ExprKind::Deref(v), Some(t.spans[0])),
                    syn::UnOp::Not(t) => (ExprKind::Unary(v), Some(t.spans[0])),
                    syn::UnOp::Neg(t) => (ExprKind::Unary(v), Some(t.spans[0])),
                    _ => (ExprKind::Unary(v), None),
                };
                let first = op.map_or_else(|| printed(e).0, start);
                (kind, first, self.last(v))
            }
            E::Try(t) => {
                let x = self.expr(&t.expr);
                (
                    ExprKind::Try(x),
                    self.first(x),
                    end(t.question_token.spans[0]),
                )
            }
            E::Struct(s) => {
                let fields = self.exprs(s.fields.iter().map(|f| &f.expr));
                let rest = self.opt(&s.rest);
                let kind = ExprKind::StructLit {
                    path: path_segs(&s.path),
                    fields,
                    rest,
                };
                let first = qpath_first(&s.qself, &s.path).map_or_else(|| printed(e).0, start);
                (kind, first, end(s.brace_token.span.close()))
            }
            E::Tuple(t) => (
                ExprKind::Tuple(self.exprs(&t.elems)),
                start(t.paren_token.span.open()),
                end(t.paren_token.span.close()),
            ),
            E::Array(a) => (
                ExprKind::Array(self.exprs(&a.elems)),
                start(a.bracket_token.span.open()),
                end(a.bracket_token.span.close()),
            ),
            E::Repeat(r) => {
                let value = self.expr(&r.expr);
                let len = self.expr(&r.len);
                (
                    ExprKind::Repeat { value, len },
                    start(r.bracket_token.span.open()),
                    end(r.bracket_token.span.close()),
                )
            }
            E::Block(b) => (
                self.block_kind(&b.block),
                start(label_first(&b.label).unwrap_or_else(|| b.block.brace_token.span.open())),
                end(b.block.brace_token.span.close()),
            ),
            E::Unsafe(u) => (
                self.block_kind(&u.block),
                start(u.unsafe_token.span),
                end(u.block.brace_token.span.close()),
            ),
            E::Async(a) => {
                let b = self.block(&a.block);
                (
                    ExprKind::AsyncBlock(b),
                    start(a.async_token.span),
                    self.last(b),
                )
            }
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
                let first = c
                    .lifetimes
                    .as_ref()
                    .map(|l| l.for_token.span)
                    .or(c.constness.map(|t| t.span))
                    .or(c.movability.map(|t| t.span))
                    .or(c.asyncness.map(|t| t.span))
                    .or(c.capture.map(|t| t.span))
                    .unwrap_or(c.or1_token.spans[0]);
                let kind = ExprKind::Closure {
                    params,
                    body,
                    is_async: c.asyncness.is_some(),
                };
                (kind, start(first), self.last(body))
            }
            E::If(i) => {
                let cond = self.expr(&i.cond);
                let then = self.block(&i.then_branch);
                let els = i.else_branch.as_ref().map(|(_, e)| self.expr(e));
                let last = self.last(els.unwrap_or(then));
                (
                    ExprKind::If { cond, then, els },
                    start(i.if_token.span),
                    last,
                )
            }
            E::Let(l) => {
                let init = self.expr(&l.expr);
                let kind = ExprKind::Let {
                    pat: pat_ir(&l.pat),
                    init,
                };
                (kind, start(l.let_token.span), self.last(init))
            }
            E::While(w) => {
                let head = self.expr(&w.cond);
                let body = self.block(&w.body);
                let kind = ExprKind::Loop {
                    kind: LoopKind::While,
                    pat: None,
                    head: Some(head),
                    body,
                    span: Span::from_pm2(w.while_token.span),
                };
                let first = label_first(&w.label).unwrap_or(w.while_token.span);
                (kind, start(first), self.last(body))
            }
            E::ForLoop(f) => {
                let head = self.expr(&f.expr);
                let body = self.block(&f.body);
                let kind = ExprKind::Loop {
                    kind: LoopKind::For,
                    pat: Some(Box::new(pat_ir(&f.pat))),
                    head: Some(head),
                    body,
                    span: Span::from_pm2(f.for_token.span),
                };
                let first = label_first(&f.label).unwrap_or(f.for_token.span);
                (kind, start(first), self.last(body))
            }
            E::Loop(l) => {
                let body = self.block(&l.body);
                let kind = ExprKind::Loop {
                    kind: LoopKind::Loop,
                    pat: None,
                    head: None,
                    body,
                    span: Span::from_pm2(l.loop_token.span),
                };
                let first = label_first(&l.label).unwrap_or(l.loop_token.span);
                (kind, start(first), self.last(body))
            }
            E::Match(m) => {
                let scrutinee = self.expr(&m.expr);
                let arms = m
                    .arms
                    .iter()
                    .map(|arm| {
                        let guard = arm.guard.as_ref().map(|(_, g)| self.expr(g));
                        let body = self.expr(&arm.body);
                        // The arm's lines: its attributes and pattern through the body and
                        // its comma.
                        let first = anchor::arm_first(arm)
                            .map_or_else(|| anchor::arm(arm).0, |t| start(t).0);
                        let last = arm.comma.map_or(self.last(body).0, |c| end(c.spans[0]).0);
                        #[cfg(test)]
                        self.anchors.push(((first, last), anchor::arm(arm)));
                        MatchArm {
                            cfg: cfg_of(&arm.attrs),
                            pat: pat_ir(&arm.pat),
                            guard,
                            body,
                            anchor: (first, last),
                        }
                    })
                    .collect();
                (
                    ExprKind::Match { scrutinee, arms },
                    start(m.match_token.span),
                    end(m.brace_token.span.close()),
                )
            }
            E::Assign(a) => {
                let lhs = self.expr(&a.left);
                let rhs = self.expr(&a.right);
                (
                    ExprKind::Assign { lhs, rhs },
                    self.first(lhs),
                    self.last(rhs),
                )
            }
            E::Binary(b) => {
                let lhs = self.expr(&b.left);
                let rhs = self.expr(&b.right);
                (
                    ExprKind::Binary { lhs, rhs },
                    self.first(lhs),
                    self.last(rhs),
                )
            }
            E::Cast(c) => {
                let x = self.expr(&c.expr);
                let last = type_last(&c.ty).map_or_else(|| printed(&c.ty).1, end);
                (ExprKind::Cast(x), self.first(x), last)
            }
            E::Range(r) => {
                let from = self.opt(&r.start);
                let to = self.opt(&r.end);
                let first =
                    from.map_or_else(|| start(range_limits_first(&r.limits)), |x| self.first(x));
                let last = to.map_or_else(|| end(range_limits_last(&r.limits)), |x| self.last(x));
                (
                    ExprKind::Range {
                        start: from,
                        end: to,
                    },
                    first,
                    last,
                )
            }
            E::Return(r) => {
                let x = self.opt(&r.expr);
                let last = x.map_or_else(|| end(r.return_token.span), |x| self.last(x));
                (ExprKind::Return(x), start(r.return_token.span), last)
            }
            E::Break(r) => {
                let x = self.opt(&r.expr);
                let last = match (x, &r.label) {
                    (Some(x), _) => self.last(x),
                    (None, Some(l)) => end(l.ident.span()),
                    (None, None) => end(r.break_token.span),
                };
                (ExprKind::Break(x), start(r.break_token.span), last)
            }
            E::Yield(r) => {
                let x = self.opt(&r.expr);
                let last = x.map_or_else(|| end(r.yield_token.span), |x| self.last(x));
                (ExprKind::Yield(x), start(r.yield_token.span), last)
            }
            E::Macro(m) => return self.mac(&m.mac, &m.attrs),
            E::Lit(l) => (ExprKind::Lit, start(l.lit.span()), end(l.lit.span())),
            E::Continue(c) => {
                let last = c
                    .label
                    .as_ref()
                    .map_or(c.continue_token.span, |l| l.ident.span());
                (ExprKind::Other, start(c.continue_token.span), end(last))
            }
            E::Const(c) => (
                ExprKind::Other,
                start(c.const_token.span),
                end(c.block.brace_token.span.close()),
            ),
            E::TryBlock(t) => (
                ExprKind::Other,
                start(t.try_token.span),
                end(t.block.brace_token.span.close()),
            ),
            E::Infer(i) => (
                ExprKind::Other,
                start(i.underscore_token.spans[0]),
                end(i.underscore_token.spans[0]),
            ),
            _ => {
                let (first, last) = printed(e);
                (ExprKind::Other, first, last)
            }
        };
        let first = outer_attr(expr_attrs(e)).map_or(first, start);
        self.alloc(kind, span(first, last))
    }

    /// A macro invocation, from its first outer attribute or its path to its closing delimiter.
    fn mac(&mut self, mac: &syn::Macro, attrs: &[syn::Attribute]) -> ExprId {
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
        let site = mac
            .path
            .segments
            .last()
            .map(|s| s.ident.span())
            .unwrap_or_else(|| mac.bang_token.span);
        let first = outer_attr(attrs)
            .or_else(|| path_first(&mac.path))
            .unwrap_or(mac.bang_token.span);
        let range = span(start(first), end(delim_close(&mac.delimiter)));
        self.alloc(
            ExprKind::MacroCall {
                name,
                args,
                span: Span::from_pm2(site),
            },
            range,
        )
    }
}

/// Tests only: lower `block` and also return, for every syn expression lowered, its id, its
/// `Spanned::span()` and whether `anchor` reads its first and last tokens off the tree.
#[cfg(test)]
#[allow(clippy::type_complexity)]
fn lower_printed(block: &syn::Block) -> (Body, Vec<(ExprId, Span, bool)>, Vec<(Anchor, Anchor)>) {
    let mut l = Lowering {
        body: Body::default(),
        scope: ScopeId::ROOT,
        printed: Vec::new(),
        anchors: Vec::new(),
    };
    l.body.root = Some(l.block(block));
    (l.body, l.printed, l.anchors)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::facts::{extract, ExtractOptions};
    use crate::source::LineIndex;
    use syn::visit::{self, Visit};

    /// The text of `src` that `r` covers.
    fn text(src: &str, r: Span) -> &str {
        let idx = LineIndex::new(src);
        &src[idx.offset(src, r.line, r.column)..idx.offset(src, r.end_line, r.end_column)]
    }

    /// (what the node is, the text of its range) for every node of every body of `src`.
    fn texts(src: &str) -> Vec<(&'static str, String)> {
        let facts = extract(&syn::parse_file(src).unwrap(), ExtractOptions::default());
        let mut out = Vec::new();
        for body in &facts.bodies {
            for x in &body.exprs {
                let what = match &x.kind {
                    ExprKind::Block(_) => "block",
                    ExprKind::AsyncBlock(_) => "async",
                    ExprKind::Closure { .. } => "closure",
                    ExprKind::Await { .. } => "await",
                    ExprKind::Spawn { .. } => "spawn",
                    ExprKind::MethodCall { .. } => "method",
                    ExprKind::Call { .. } => "call",
                    ExprKind::MacroCall { .. } => "macro",
                    ExprKind::Path(_) => "path",
                    ExprKind::Loop { .. } => "loop",
                    ExprKind::Match { .. } => "match",
                    ExprKind::If { .. } => "if",
                    ExprKind::Lit => "lit",
                    _ => "other",
                };
                out.push((what, text(src, x.range).to_string()));
            }
        }
        out
    }

    /// The text of the spans a node keeps besides its range (method name, `await`, callee).
    fn sites(src: &str) -> Vec<String> {
        let facts = extract(&syn::parse_file(src).unwrap(), ExtractOptions::default());
        let mut out = Vec::new();
        for body in &facts.bodies {
            for x in &body.exprs {
                match &x.kind {
                    ExprKind::Await { span, .. }
                    | ExprKind::MethodCall { span, .. }
                    | ExprKind::Call { span, .. }
                    | ExprKind::MacroCall { span, .. }
                    | ExprKind::Loop { span, .. } => out.push(text(src, *span).to_string()),
                    _ => {}
                }
            }
        }
        out
    }

    #[track_caller]
    fn has(all: &[(&'static str, String)], what: &str, t: &str) {
        assert!(
            all.iter().any(|(w, x)| *w == what && x == t),
            "no {what} `{t}` in {all:#?}"
        );
    }

    #[test]
    fn spawners_are_matched_by_whole_name() {
        assert!(is_spawn_name("spawn_blocking"));
        assert!(is_spawn_name("spawn"));
        assert!(!is_spawn_name("spawned"));
        assert!(!is_spawn_name("respawn"));
    }

    #[test]
    fn multi_line_await_chains() {
        let src = "async fn f() {\n    let v = tx\n        .send(1)\n        .await\n        .unwrap();\n    (a.b().await?).c.await\n}\n";
        let t = texts(src);
        has(&t, "path", "tx");
        has(&t, "method", "tx\n        .send(1)");
        has(&t, "await", "tx\n        .send(1)\n        .await");
        has(
            &t,
            "method",
            "tx\n        .send(1)\n        .await\n        .unwrap()",
        );
        has(&t, "await", "a.b().await");
        has(&t, "other", "a.b().await?");
        has(&t, "other", "(a.b().await?).c");
        has(&t, "await", "(a.b().await?).c.await");
        has(
            &t,
            "block",
            &src[src.find('{').unwrap()..src.rfind('}').unwrap() + 1],
        );
        let s = sites(src);
        assert_eq!(s, ["send", "await", "unwrap", "b", "await", "await"]);
    }

    #[test]
    fn macros_whose_arguments_are_parsed() {
        let src = "async fn f() {\n    tokio::select! {\n        Some(m) = rx.recv() => { handle(m) }\n        _ = sleep(d), if armed => {}\n    }\n    #[allow(unused)]\n    println!(\"{}\", a\n        .b());\n    let v = vec![x.len(); n];\n    m!(not an expression);\n}\n";
        let t = texts(src);
        has(
            &t,
            "macro",
            "tokio::select! {\n        Some(m) = rx.recv() => { handle(m) }\n        _ = sleep(d), if armed => {}\n    }",
        );
        has(&t, "method", "rx.recv()");
        has(&t, "block", "{ handle(m) }");
        has(&t, "call", "handle(m)");
        has(&t, "call", "sleep(d)");
        has(&t, "path", "armed");
        // The statement's attribute is the macro's; its `;` is not.
        has(
            &t,
            "macro",
            "#[allow(unused)]\n    println!(\"{}\", a\n        .b())",
        );
        has(&t, "method", "a\n        .b()");
        has(&t, "lit", "\"{}\"");
        has(&t, "macro", "vec![x.len(); n]");
        has(&t, "method", "x.len()");
        has(&t, "macro", "m!(not an expression)");
        assert_eq!(
            sites(src),
            ["recv", "handle", "sleep", "select", "b", "println", "len", "vec", "m"]
        );
    }

    #[test]
    fn closures_and_async_blocks() {
        let src = "fn f() {\n    let g = move |a: u32| -> u32 {\n        a + 1\n    };\n    let h = || x;\n    let k = async move |y| y.await;\n    tokio::spawn(async move {\n        tx.send(1).await\n    });\n    let b = async { 1 };\n}\n";
        let t = texts(src);
        has(
            &t,
            "closure",
            "move |a: u32| -> u32 {\n        a + 1\n    }",
        );
        has(&t, "block", "{\n        a + 1\n    }");
        has(&t, "other", "a + 1");
        has(&t, "closure", "|| x");
        has(&t, "closure", "async move |y| y.await");
        has(&t, "await", "y.await");
        let spawn = "tokio::spawn(async move {\n        tx.send(1).await\n    })";
        has(&t, "spawn", spawn);
        has(&t, "call", spawn);
        has(&t, "async", "async move {\n        tx.send(1).await\n    }");
        has(&t, "block", "{\n        tx.send(1).await\n    }");
        has(&t, "async", "async { 1 }");
        has(&t, "block", "{ 1 }");
    }

    #[test]
    fn labels_attributes_and_keywords_belong_to_the_expression() {
        let src = "fn f() {\n    'outer: loop {\n        break 'outer;\n    }\n    #[cfg(unix)]\n    a.b();\n    let u = unsafe { g() };\n    for x in xs {}\n    while let Some(v) = it.next() {}\n    match x { A => 1, _ => 2 }\n    if c { d } else if e { f } else { g }\n    let r = ..=n;\n    let c = x as u8;\n    return\n}\n";
        let t = texts(src);
        has(&t, "loop", "'outer: loop {\n        break 'outer;\n    }");
        has(&t, "other", "break 'outer");
        has(&t, "method", "#[cfg(unix)]\n    a.b()");
        has(&t, "block", "unsafe { g() }");
        has(&t, "loop", "for x in xs {}");
        has(&t, "loop", "while let Some(v) = it.next() {}");
        has(&t, "other", "let Some(v) = it.next()");
        has(&t, "match", "match x { A => 1, _ => 2 }");
        has(&t, "if", "if c { d } else if e { f } else { g }");
        has(&t, "if", "if e { f } else { g }");
        has(&t, "other", "..=n");
        has(&t, "other", "x as u8");
        has(&t, "other", "return");
        assert_eq!(sites(src), ["loop", "b", "g", "for", "next", "while"]);
    }

    #[test]
    fn columns_count_characters_after_non_ascii_text() {
        let src = "fn f() {\n    let s = \"héllo 😀\"; let é = g(é, \"ü\").await;\n    /* ünïcödé */ h(\n        \"😀😀\",\n    ).i()\n}\n";
        let t = texts(src);
        has(&t, "lit", "\"héllo 😀\"");
        has(&t, "call", "g(é, \"ü\")");
        has(&t, "await", "g(é, \"ü\").await");
        has(&t, "path", "é");
        has(&t, "method", "h(\n        \"😀😀\",\n    ).i()");
        assert_eq!(sites(src), ["g", "await", "h", "i"]);
    }

    #[test]
    fn crlf_line_ends_give_the_same_ranges() {
        let lf = "async fn f() {\n    let v = tx\n        .send(\"é\")\n        .await;\n    g(|x| {\n        x\n    })\n}\n";
        let crlf = lf.replace('\n', "\r\n");
        let ranges = |src: &str| -> Vec<Span> {
            let facts = extract(&syn::parse_file(src).unwrap(), ExtractOptions::default());
            facts.bodies[0].exprs.iter().map(|x| x.range).collect()
        };
        assert_eq!(ranges(lf), ranges(&crlf));
        let t = texts(&crlf);
        has(&t, "await", "tx\r\n        .send(\"é\")\r\n        .await");
        has(&t, "closure", "|x| {\r\n        x\r\n    }");
        assert_eq!(sites(&crlf), ["send", "await", "g"]);
    }

    #[test]
    fn statement_and_arm_anchors_are_their_expressions_lines() {
        let src = "fn f() {\n    a\n        .b();\n    m!(\n        x\n    );\n    match x {\n        A => y\n            .z(),\n        B => {\n        }\n        C => w\n    }\n}\n";
        let facts = extract(&syn::parse_file(src).unwrap(), ExtractOptions::default());
        let body = &facts.bodies[0];
        let ExprKind::Block(stmts) = &body.expr(body.root.unwrap()).kind else {
            panic!("a block")
        };
        let anchors: Vec<Anchor> = stmts.iter().map(|s| s.anchor).collect();
        assert_eq!(anchors, [(2, 3), (4, 6), (7, 13)]);
        let StmtKind::Expr(m) = stmts[2].kind else {
            panic!("an expression")
        };
        let ExprKind::Match { arms, .. } = &body.expr(m).kind else {
            panic!("a match")
        };
        let arms: Vec<Anchor> = arms.iter().map(|a| a.anchor).collect();
        assert_eq!(arms, [(8, 9), (10, 11), (12, 12)]);
    }

    /// Lowers every function of a file and checks each expression's range against syn's
    /// `Spanned::span()`: equal where syn prints the expression's own tokens (the shapes
    /// `anchor` reads off the tree), the same start everywhere.
    struct Oracle {
        checked: usize,
        other: usize,
        anchors: usize,
        file: String,
    }

    impl Oracle {
        fn block(&mut self, b: &syn::Block) {
            let (body, printed, anchors) = lower_printed(b);
            for (got, want) in anchors {
                assert_eq!(got, want, "{}: a statement's or arm's anchor", self.file);
                self.anchors += 1;
            }
            for (id, spanned, fast) in printed {
                let got = body.range(id);
                let what = &body.expr(id).kind;
                assert_eq!(
                    (got.line, got.column),
                    (spanned.line, spanned.column),
                    "{}: start of {what:?}",
                    self.file
                );
                if fast {
                    assert_eq!(got, spanned, "{}: range of {what:?}", self.file);
                    self.checked += 1;
                } else {
                    self.other += 1;
                    if std::env::var_os("RANGES_DEBUG").is_some() {
                        eprintln!("{}: {got:?} vs {spanned:?} {what:?}", self.file);
                    }
                }
            }
        }
    }

    impl<'ast> Visit<'ast> for Oracle {
        fn visit_item_fn(&mut self, f: &'ast syn::ItemFn) {
            self.block(&f.block);
            visit::visit_item_fn(self, f);
        }
        fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
            self.block(&f.block);
            visit::visit_impl_item_fn(self, f);
        }
        fn visit_trait_item_fn(&mut self, f: &'ast syn::TraitItemFn) {
            if let Some(b) = &f.default {
                self.block(b);
            }
            visit::visit_trait_item_fn(self, f);
        }
    }

    fn rs_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            let name = p.file_name().unwrap_or_default().to_string_lossy();
            if name.starts_with('.') || name == "target" {
                continue;
            }
            if p.is_dir() {
                rs_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    #[test]
    fn ranges_agree_with_syn_on_the_fixtures_and_the_lint_itself() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR"));
        let mut files = Vec::new();
        rs_files(&root.join(".."), &mut files);
        let mut o = Oracle {
            checked: 0,
            other: 0,
            anchors: 0,
            file: String::new(),
        };
        for f in &files {
            // The fixtures that are not UTF-8 or do not parse on purpose.
            let Ok(src) = std::fs::read_to_string(f) else {
                continue;
            };
            let Ok(file) = syn::parse_file(&src) else {
                continue;
            };
            o.file = f.display().to_string();
            o.visit_file(&file);
        }
        eprintln!(
            "{} checked in full, {} by their start, {} anchors",
            o.checked, o.other, o.anchors
        );
        assert!(o.checked > 50_000, "{} checked", o.checked);
        assert!(o.other * 100 < o.checked, "{} not checked in full", o.other);
        assert!(o.anchors > 10_000, "{} anchors", o.anchors);
    }
}
