//! Anchors — the (start line, end line) of an item, statement or match arm — read off the token
//! spans stored in the syntax tree.
//!
//! `syn::spanned::Spanned::span()` prints the whole node back into a `TokenStream` and joins the
//! spans of its first and last tokens; done for every item and statement of a nested body, that
//! re-tokenizes each node once per nesting level. The functions here find the same two tokens
//! directly: the first token is the first *outer* attribute's `#`, else the visibility, else the
//! node's leading keyword or leftmost sub-expression; the last is the node's `;` or closing
//! delimiter, else its rightmost sub-expression. They mirror syn 2's `printing` code, so the result
//! is exactly `(span().start().line, span().end().line)`.
//!
//! Shapes whose printed first or last token is not read off here with certainty (`Verbatim`
//! nodes, tokens that printing synthesizes, a tail ending in a non-path type, rare variants) fall
//! back to `Spanned::span()`: correctness over coverage.

use proc_macro2::Span;
use syn::spanned::Spanned;
use syn::{AttrStyle, Attribute, Expr, ImplItem, Item, Pat, Stmt, TraitItem, Visibility};

use super::Anchor;

/// Anchor of an item (free, in a module, or a statement item).
pub(crate) fn item(i: &Item) -> Anchor {
    try_item(i).unwrap_or_else(|| tokenized(i))
}

/// Anchor of an item of an `impl` block.
pub(crate) fn impl_item(i: &ImplItem) -> Anchor {
    try_impl_item(i).unwrap_or_else(|| tokenized(i))
}

/// Anchor of an item of a trait definition.
pub(crate) fn trait_item(i: &TraitItem) -> Anchor {
    try_trait_item(i).unwrap_or_else(|| tokenized(i))
}

/// Anchor of a statement.
pub(crate) fn stmt(s: &Stmt) -> Anchor {
    try_stmt(s).unwrap_or_else(|| tokenized(s))
}

/// Anchor of a match arm (attributes and pattern through the body and its comma).
pub(crate) fn arm(a: &syn::Arm) -> Anchor {
    try_arm(a).unwrap_or_else(|| tokenized(a))
}

/// The slow path: print the node and join the spans of its first and last tokens.
fn tokenized(node: &impl Spanned) -> Anchor {
    let s = node.span();
    (s.start().line as u32, s.end().line as u32)
}

fn lines(first: Span, last: Span) -> Anchor {
    (first.start().line as u32, last.end().line as u32)
}

/// `None`: the anchor is not read off the tree for this shape; tokenize instead.
pub(crate) fn try_item(i: &Item) -> Option<Anchor> {
    let (first, last) = match i {
        Item::Const(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.const_token.span),
            x.semi_token.spans[0],
        ),
        Item::Enum(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.enum_token.span),
            x.brace_token.span.close(),
        ),
        Item::ExternCrate(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.extern_token.span),
            x.semi_token.spans[0],
        ),
        Item::Fn(x) => (
            lead(&x.attrs, &x.vis).unwrap_or_else(|| sig_first(&x.sig)),
            x.block.brace_token.span.close(),
        ),
        Item::ForeignMod(x) => (
            outer_attr(&x.attrs)
                .or(x.unsafety.map(|t| t.span))
                .unwrap_or(x.abi.extern_token.span),
            x.brace_token.span.close(),
        ),
        Item::Impl(x) => (
            outer_attr(&x.attrs)
                .or(x.defaultness.map(|t| t.span))
                .or(x.unsafety.map(|t| t.span))
                .unwrap_or(x.impl_token.span),
            x.brace_token.span.close(),
        ),
        Item::Macro(x) => macro_item(&x.attrs, &x.mac, &x.semi_token)?,
        Item::Mod(x) => (
            lead(&x.attrs, &x.vis)
                .or(x.unsafety.map(|t| t.span))
                .unwrap_or(x.mod_token.span),
            match (&x.content, &x.semi) {
                (Some((brace, _)), _) => brace.span.close(),
                (None, Some(semi)) => semi.spans[0],
                (None, None) => return None,
            },
        ),
        Item::Static(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.static_token.span),
            x.semi_token.spans[0],
        ),
        Item::Struct(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.struct_token.span),
            match (&x.fields, &x.semi_token) {
                (syn::Fields::Named(f), _) => f.brace_token.span.close(),
                (_, Some(semi)) => semi.spans[0],
                (_, None) => return None,
            },
        ),
        Item::Trait(x) => (
            lead(&x.attrs, &x.vis)
                .or(x.unsafety.map(|t| t.span))
                .or(x.auto_token.map(|t| t.span))
                .unwrap_or(x.trait_token.span),
            x.brace_token.span.close(),
        ),
        Item::TraitAlias(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.trait_token.span),
            x.semi_token.spans[0],
        ),
        Item::Type(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.type_token.span),
            x.semi_token.spans[0],
        ),
        Item::Union(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.union_token.span),
            x.fields.brace_token.span.close(),
        ),
        Item::Use(x) => (
            lead(&x.attrs, &x.vis).unwrap_or(x.use_token.span),
            x.semi_token.spans[0],
        ),
        _ => return None,
    };
    Some(lines(first, last))
}

pub(crate) fn try_impl_item(i: &ImplItem) -> Option<Anchor> {
    let (first, last) = match i {
        ImplItem::Const(x) => (
            lead(&x.attrs, &x.vis)
                .or(x.defaultness.map(|t| t.span))
                .unwrap_or(x.const_token.span),
            x.semi_token.spans[0],
        ),
        ImplItem::Fn(x) => (
            lead(&x.attrs, &x.vis)
                .or(x.defaultness.map(|t| t.span))
                .unwrap_or_else(|| sig_first(&x.sig)),
            x.block.brace_token.span.close(),
        ),
        ImplItem::Type(x) => (
            lead(&x.attrs, &x.vis)
                .or(x.defaultness.map(|t| t.span))
                .unwrap_or(x.type_token.span),
            x.semi_token.spans[0],
        ),
        ImplItem::Macro(x) => macro_item(&x.attrs, &x.mac, &x.semi_token)?,
        _ => return None,
    };
    Some(lines(first, last))
}

/// First and last token of a macro invocation in item position (`m! { .. }`, `m!(..);`).
fn macro_item(
    attrs: &[syn::Attribute],
    mac: &syn::Macro,
    semi: &Option<syn::Token![;]>,
) -> Option<(Span, Span)> {
    let first = outer_attr(attrs).or_else(|| path_first(&mac.path))?;
    let last = semi
        .map(|t| t.spans[0])
        .unwrap_or_else(|| delim_close(&mac.delimiter));
    Some((first, last))
}

pub(crate) fn try_trait_item(i: &TraitItem) -> Option<Anchor> {
    let (first, last) = match i {
        TraitItem::Const(x) => (
            outer_attr(&x.attrs).unwrap_or(x.const_token.span),
            x.semi_token.spans[0],
        ),
        TraitItem::Fn(x) => (
            outer_attr(&x.attrs).unwrap_or_else(|| sig_first(&x.sig)),
            match (&x.default, &x.semi_token) {
                (Some(block), _) => block.brace_token.span.close(),
                (None, Some(semi)) => semi.spans[0],
                (None, None) => return None,
            },
        ),
        TraitItem::Type(x) => (
            outer_attr(&x.attrs).unwrap_or(x.type_token.span),
            x.semi_token.spans[0],
        ),
        TraitItem::Macro(x) => macro_item(&x.attrs, &x.mac, &x.semi_token)?,
        _ => return None,
    };
    Some(lines(first, last))
}

pub(crate) fn try_stmt(s: &Stmt) -> Option<Anchor> {
    let (first, last) = match s {
        Stmt::Local(l) => (
            outer_attr(&l.attrs).unwrap_or(l.let_token.span),
            l.semi_token.spans[0],
        ),
        Stmt::Item(i) => return try_item(i),
        Stmt::Expr(e, semi) => (
            expr_first(e)?,
            match semi {
                Some(semi) => semi.spans[0],
                None => expr_last(e)?,
            },
        ),
        Stmt::Macro(m) => (
            outer_attr(&m.attrs).or_else(|| path_first(&m.mac.path))?,
            m.semi_token
                .map(|t| t.spans[0])
                .unwrap_or_else(|| delim_close(&m.mac.delimiter)),
        ),
    };
    Some(lines(first, last))
}

/// First token of a match arm: an arm prints all of its attributes (they are all outer), then
/// the pattern.
pub(crate) fn arm_first(a: &syn::Arm) -> Option<Span> {
    match a.attrs.first() {
        Some(attr) => Some(attr.pound_token.spans[0]),
        None => pat_first(&a.pat),
    }
}

pub(crate) fn try_arm(a: &syn::Arm) -> Option<Anchor> {
    let first = arm_first(a)?;
    let last = match &a.comma {
        Some(comma) => comma.spans[0],
        None => expr_last(&a.body)?,
    };
    Some(lines(first, last))
}

/// The `#` of the first outer attribute (inner ones are printed inside the body).
pub(super) fn outer_attr(attrs: &[Attribute]) -> Option<Span> {
    attrs
        .iter()
        .find(|a| matches!(a.style, AttrStyle::Outer))
        .map(|a| a.pound_token.spans[0])
}

/// First outer attribute, else the visibility (`pub`, also of `pub(crate)`).
fn lead(attrs: &[Attribute], vis: &Visibility) -> Option<Span> {
    outer_attr(attrs).or(match vis {
        Visibility::Public(p) => Some(p.span),
        Visibility::Restricted(r) => Some(r.pub_token.span),
        Visibility::Inherited => None,
    })
}

/// `const async unsafe extern "C" fn`: the first qualifier present, else `fn`.
fn sig_first(sig: &syn::Signature) -> Span {
    sig.constness
        .map(|t| t.span)
        .or(sig.asyncness.map(|t| t.span))
        .or(sig.unsafety.map(|t| t.span))
        .or(sig.abi.as_ref().map(|a| a.extern_token.span))
        .unwrap_or(sig.fn_token.span)
}

pub(super) fn delim_close(d: &syn::MacroDelimiter) -> Span {
    match d {
        syn::MacroDelimiter::Paren(p) => p.span.close(),
        syn::MacroDelimiter::Brace(b) => b.span.close(),
        syn::MacroDelimiter::Bracket(b) => b.span.close(),
    }
}

pub(super) fn path_first(p: &syn::Path) -> Option<Span> {
    match &p.leading_colon {
        Some(c) => Some(c.spans[0]),
        None => p.segments.first().map(|s| s.ident.span()),
    }
}

pub(super) fn qpath_first(qself: &Option<syn::QSelf>, p: &syn::Path) -> Option<Span> {
    match qself {
        Some(q) => Some(q.lt_token.spans[0]),
        None => path_first(p),
    }
}

/// Last token of an expression or type path: the last segment's ident or the `>` of its generic
/// arguments. `<T as Trait>` (the qualified self covering every segment), trailing `::` and
/// `Fn(..) -> ..` arguments are left to the slow path.
pub(super) fn qpath_last(qself: &Option<syn::QSelf>, p: &syn::Path) -> Option<Span> {
    if qself
        .as_ref()
        .is_some_and(|q| q.position >= p.segments.len())
        || p.segments.trailing_punct()
    {
        return None;
    }
    let seg = p.segments.last()?;
    match &seg.arguments {
        syn::PathArguments::None => Some(seg.ident.span()),
        syn::PathArguments::AngleBracketed(a) => Some(a.gt_token.spans[0]),
        syn::PathArguments::Parenthesized(_) => None,
    }
}

pub(super) fn label_first(label: &Option<syn::Label>) -> Option<Span> {
    label.as_ref().map(|l| l.name.apostrophe)
}

/// First printed token of an expression: an outer attribute, else its leading token or its
/// leftmost sub-expression's first token.
pub(super) fn expr_first(e: &Expr) -> Option<Span> {
    match e {
        Expr::Array(x) => outer_attr(&x.attrs).or(Some(x.bracket_token.span.open())),
        Expr::Assign(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.left)),
        Expr::Async(x) => outer_attr(&x.attrs).or(Some(x.async_token.span)),
        Expr::Await(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.base)),
        Expr::Binary(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.left)),
        Expr::Block(x) => outer_attr(&x.attrs)
            .or(label_first(&x.label))
            .or(Some(x.block.brace_token.span.open())),
        Expr::Break(x) => outer_attr(&x.attrs).or(Some(x.break_token.span)),
        Expr::Call(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.func)),
        Expr::Cast(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.expr)),
        Expr::Closure(x) => outer_attr(&x.attrs).or(Some(
            x.lifetimes
                .as_ref()
                .map(|l| l.for_token.span)
                .or(x.constness.map(|t| t.span))
                .or(x.movability.map(|t| t.span))
                .or(x.asyncness.map(|t| t.span))
                .or(x.capture.map(|t| t.span))
                .unwrap_or(x.or1_token.spans[0]),
        )),
        Expr::Const(x) => outer_attr(&x.attrs).or(Some(x.const_token.span)),
        Expr::Continue(x) => outer_attr(&x.attrs).or(Some(x.continue_token.span)),
        Expr::Field(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.base)),
        Expr::ForLoop(x) => outer_attr(&x.attrs)
            .or(label_first(&x.label))
            .or(Some(x.for_token.span)),
        Expr::If(x) => outer_attr(&x.attrs).or(Some(x.if_token.span)),
        Expr::Index(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.expr)),
        Expr::Infer(x) => outer_attr(&x.attrs).or(Some(x.underscore_token.spans[0])),
        Expr::Let(x) => outer_attr(&x.attrs).or(Some(x.let_token.span)),
        Expr::Lit(x) => outer_attr(&x.attrs).or(Some(x.lit.span())),
        Expr::Loop(x) => outer_attr(&x.attrs)
            .or(label_first(&x.label))
            .or(Some(x.loop_token.span)),
        Expr::Macro(x) => outer_attr(&x.attrs).or_else(|| path_first(&x.mac.path)),
        Expr::Match(x) => outer_attr(&x.attrs).or(Some(x.match_token.span)),
        Expr::MethodCall(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.receiver)),
        Expr::Paren(x) => outer_attr(&x.attrs).or(Some(x.paren_token.span.open())),
        Expr::Path(x) => outer_attr(&x.attrs).or_else(|| qpath_first(&x.qself, &x.path)),
        Expr::Range(x) => outer_attr(&x.attrs).or_else(|| match &x.start {
            Some(start) => expr_first(start),
            None => Some(range_limits_first(&x.limits)),
        }),
        Expr::RawAddr(x) => outer_attr(&x.attrs).or(Some(x.and_token.spans[0])),
        Expr::Reference(x) => outer_attr(&x.attrs).or(Some(x.and_token.spans[0])),
        Expr::Repeat(x) => outer_attr(&x.attrs).or(Some(x.bracket_token.span.open())),
        Expr::Return(x) => outer_attr(&x.attrs).or(Some(x.return_token.span)),
        Expr::Struct(x) => outer_attr(&x.attrs).or_else(|| qpath_first(&x.qself, &x.path)),
        Expr::Try(x) => outer_attr(&x.attrs).or_else(|| expr_first(&x.expr)),
        Expr::TryBlock(x) => outer_attr(&x.attrs).or(Some(x.try_token.span)),
        Expr::Tuple(x) => outer_attr(&x.attrs).or(Some(x.paren_token.span.open())),
        Expr::Unary(x) => outer_attr(&x.attrs).or_else(|| match &x.op {
            syn::UnOp::Deref(t) => Some(t.spans[0]),
            syn::UnOp::Not(t) => Some(t.spans[0]),
            syn::UnOp::Neg(t) => Some(t.spans[0]),
            _ => None,
        }),
        Expr::Unsafe(x) => outer_attr(&x.attrs).or(Some(x.unsafe_token.span)),
        Expr::While(x) => outer_attr(&x.attrs)
            .or(label_first(&x.label))
            .or(Some(x.while_token.span)),
        Expr::Yield(x) => outer_attr(&x.attrs).or(Some(x.yield_token.span)),
        // Group (invisible delimiters, never in parsed source), Verbatim, future variants.
        _ => None,
    }
}

pub(super) fn range_limits_first(l: &syn::RangeLimits) -> Span {
    match l {
        syn::RangeLimits::HalfOpen(t) => t.spans[0],
        syn::RangeLimits::Closed(t) => t.spans[0],
    }
}

pub(super) fn range_limits_last(l: &syn::RangeLimits) -> Span {
    match l {
        syn::RangeLimits::HalfOpen(t) => t.spans[1],
        syn::RangeLimits::Closed(t) => t.spans[2],
    }
}

/// Last printed token of an expression: its closing delimiter or final keyword/punctuation, else
/// its rightmost sub-expression's last token.
pub(super) fn expr_last(e: &Expr) -> Option<Span> {
    match e {
        Expr::Array(x) => Some(x.bracket_token.span.close()),
        // With attributes, binary-like expressions are printed in synthesized parentheses.
        Expr::Assign(x) if x.attrs.is_empty() => expr_last(&x.right),
        Expr::Async(x) => Some(x.block.brace_token.span.close()),
        Expr::Await(x) => Some(x.await_token.span),
        Expr::Binary(x) if x.attrs.is_empty() => expr_last(&x.right),
        Expr::Block(x) => Some(x.block.brace_token.span.close()),
        Expr::Break(x) => match (&x.expr, &x.label) {
            (None, Some(label)) => Some(label.ident.span()),
            (None, None) => Some(x.break_token.span),
            // `break value` may be parenthesized when printed: slow path.
            (Some(_), _) => None,
        },
        Expr::Call(x) => Some(x.paren_token.span.close()),
        Expr::Cast(x) if x.attrs.is_empty() => type_last(&x.ty),
        Expr::Closure(x)
            if matches!(x.output, syn::ReturnType::Default)
                || matches!(&*x.body, Expr::Block(b) if b.attrs.is_empty() && b.label.is_none()) =>
        {
            expr_last(&x.body)
        }
        Expr::Const(x) => Some(x.block.brace_token.span.close()),
        Expr::Continue(x) => Some(match &x.label {
            Some(label) => label.ident.span(),
            None => x.continue_token.span,
        }),
        Expr::Field(x) => Some(match &x.member {
            syn::Member::Named(id) => id.span(),
            syn::Member::Unnamed(idx) => idx.span,
        }),
        Expr::ForLoop(x) => Some(x.body.brace_token.span.close()),
        Expr::If(x) => if_last(x),
        Expr::Index(x) => Some(x.bracket_token.span.close()),
        Expr::Infer(x) => Some(x.underscore_token.spans[0]),
        Expr::Lit(x) => Some(x.lit.span()),
        Expr::Loop(x) => Some(x.body.brace_token.span.close()),
        Expr::Macro(x) => Some(delim_close(&x.mac.delimiter)),
        Expr::Match(x) => Some(x.brace_token.span.close()),
        Expr::MethodCall(x) => Some(x.paren_token.span.close()),
        Expr::Paren(x) => Some(x.paren_token.span.close()),
        Expr::Path(x) => qpath_last(&x.qself, &x.path),
        Expr::Range(x) if x.attrs.is_empty() => match &x.end {
            Some(end) => expr_last(end),
            None => Some(range_limits_last(&x.limits)),
        },
        Expr::RawAddr(x) => expr_last(&x.expr),
        Expr::Reference(x) => expr_last(&x.expr),
        Expr::Repeat(x) => Some(x.bracket_token.span.close()),
        Expr::Return(x) => match &x.expr {
            Some(v) => expr_last(v),
            None => Some(x.return_token.span),
        },
        Expr::Struct(x) => Some(x.brace_token.span.close()),
        Expr::Try(x) => Some(x.question_token.spans[0]),
        Expr::TryBlock(x) => Some(x.block.brace_token.span.close()),
        Expr::Tuple(x) => Some(x.paren_token.span.close()),
        Expr::Unary(x) => expr_last(&x.expr),
        Expr::Unsafe(x) => Some(x.block.brace_token.span.close()),
        Expr::While(x) => Some(x.body.brace_token.span.close()),
        Expr::Yield(x) => match &x.expr {
            Some(v) => expr_last(v),
            None => Some(x.yield_token.span),
        },
        // Let (only in conditions), binary-like expressions with attributes, closures whose body
        // is re-wrapped in braces, Group, Verbatim, future variants.
        _ => None,
    }
}

/// Last printed token of the type of a tail `as` cast: paths, pointers, references, slices,
/// arrays, tuples; anything else (`dyn`/`impl` bounds, `fn` pointers, macros) takes the slow path.
pub(super) fn type_last(t: &syn::Type) -> Option<Span> {
    match t {
        syn::Type::Path(x) => qpath_last(&x.qself, &x.path),
        syn::Type::Ptr(x) => type_last(&x.elem),
        syn::Type::Reference(x) => type_last(&x.elem),
        syn::Type::Slice(x) => Some(x.bracket_token.span.close()),
        syn::Type::Array(x) => Some(x.bracket_token.span.close()),
        syn::Type::Tuple(x) => Some(x.paren_token.span.close()),
        syn::Type::Paren(x) => Some(x.paren_token.span.close()),
        syn::Type::Never(x) => Some(x.bang_token.spans[0]),
        syn::Type::Infer(x) => Some(x.underscore_token.spans[0]),
        _ => None,
    }
}

/// `if .. {} else if .. {} else {}`: the last block's `}`.
fn if_last(x: &syn::ExprIf) -> Option<Span> {
    match &x.else_branch {
        None => Some(x.then_branch.brace_token.span.close()),
        Some((_, e)) => match &**e {
            Expr::If(next) => if_last(next),
            Expr::Block(b) => Some(b.block.brace_token.span.close()),
            // Printed wrapped in synthesized braces.
            _ => None,
        },
    }
}

/// First printed token of a pattern.
fn pat_first(p: &Pat) -> Option<Span> {
    match p {
        Pat::Const(x) => outer_attr(&x.attrs).or(Some(x.const_token.span)),
        Pat::Ident(x) => outer_attr(&x.attrs).or(Some(
            x.by_ref
                .map(|t| t.span)
                .or(x.mutability.map(|t| t.span))
                .unwrap_or_else(|| x.ident.span()),
        )),
        Pat::Lit(x) => outer_attr(&x.attrs).or(Some(x.lit.span())),
        Pat::Macro(x) => outer_attr(&x.attrs).or_else(|| path_first(&x.mac.path)),
        Pat::Or(x) => outer_attr(&x.attrs).or_else(|| match &x.leading_vert {
            Some(v) => Some(v.spans[0]),
            None => pat_first(x.cases.first()?),
        }),
        Pat::Paren(x) => outer_attr(&x.attrs).or(Some(x.paren_token.span.open())),
        Pat::Path(x) => outer_attr(&x.attrs).or_else(|| qpath_first(&x.qself, &x.path)),
        Pat::Range(x) => outer_attr(&x.attrs).or_else(|| match &x.start {
            Some(start) => expr_first(start),
            None => Some(range_limits_first(&x.limits)),
        }),
        Pat::Reference(x) => outer_attr(&x.attrs).or(Some(x.and_token.spans[0])),
        Pat::Rest(x) => outer_attr(&x.attrs).or(Some(x.dot2_token.spans[0])),
        Pat::Slice(x) => outer_attr(&x.attrs).or(Some(x.bracket_token.span.open())),
        Pat::Struct(x) => outer_attr(&x.attrs).or_else(|| qpath_first(&x.qself, &x.path)),
        Pat::Tuple(x) => outer_attr(&x.attrs).or(Some(x.paren_token.span.open())),
        Pat::TupleStruct(x) => outer_attr(&x.attrs).or_else(|| qpath_first(&x.qself, &x.path)),
        Pat::Type(x) => outer_attr(&x.attrs).or_else(|| pat_first(&x.pat)),
        Pat::Wild(x) => outer_attr(&x.attrs).or(Some(x.underscore_token.spans[0])),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use syn::visit::{self, Visit};

    /// Every item, impl item, trait item, statement and arm of `src`: (fast, tokenized) anchors.
    struct Check {
        seen: usize,
        fast: usize,
    }

    impl Check {
        fn cmp<T: Spanned>(&mut self, node: &T, fast: Option<Anchor>, anchor: Anchor) {
            let slow = tokenized(node);
            assert_eq!(anchor, slow, "anchor differs from Spanned::span()");
            if let Some(f) = fast {
                assert_eq!(f, slow, "fast anchor differs from Spanned::span()");
                self.fast += 1;
            }
            self.seen += 1;
        }
    }

    impl<'ast> Visit<'ast> for Check {
        fn visit_item(&mut self, i: &'ast Item) {
            self.cmp(i, try_item(i), item(i));
            visit::visit_item(self, i);
        }
        fn visit_impl_item(&mut self, i: &'ast ImplItem) {
            self.cmp(i, try_impl_item(i), impl_item(i));
            visit::visit_impl_item(self, i);
        }
        fn visit_trait_item(&mut self, i: &'ast TraitItem) {
            self.cmp(i, try_trait_item(i), trait_item(i));
            visit::visit_trait_item(self, i);
        }
        fn visit_stmt(&mut self, s: &'ast Stmt) {
            self.cmp(s, try_stmt(s), stmt(s));
            visit::visit_stmt(self, s);
        }
        fn visit_arm(&mut self, a: &'ast syn::Arm) {
            self.cmp(a, try_arm(a), arm(a));
            visit::visit_arm(self, a);
        }
    }

    /// Checks every node of `src` and returns (nodes, nodes on the fast path).
    fn check(src: &str) -> (usize, usize) {
        let file = syn::parse_file(src).expect("test source parses");
        let mut c = Check { seen: 0, fast: 0 };
        c.visit_file(&file);
        (c.seen, c.fast)
    }

    fn first_stmt_anchor(src: &str) -> Anchor {
        let file = syn::parse_file(src).unwrap();
        let Item::Fn(f) = &file.items[0] else {
            panic!("expected a fn")
        };
        stmt(&f.block.stmts[0])
    }

    #[test]
    fn attributes_before_items() {
        let src = "\n/// doc\n#[derive(Debug)]\nstruct A {\n    x: u32,\n}\n\n#[cfg(test)]\nmod t {\n    #![allow(dead_code)]\n    #[test]\n    fn f() {}\n}\n";
        assert_eq!(check(src), (3, 3));
        let file = syn::parse_file(src).unwrap();
        assert_eq!(item(&file.items[0]), (2, 6));
        assert_eq!(item(&file.items[1]), (8, 13));
    }

    #[test]
    fn restricted_visibility() {
        let src = "pub(crate)\nconst X: u32 =\n    1;\nimpl S {\n    pub(super) fn f(&self) {}\n    pub(in crate::a)\n    type T = u8;\n}\npub unsafe extern \"C\" fn g() {}\n";
        assert_eq!(check(src), (5, 5));
        let file = syn::parse_file(src).unwrap();
        assert_eq!(item(&file.items[0]), (1, 3));
        let Item::Impl(imp) = &file.items[1] else {
            panic!()
        };
        assert_eq!(impl_item(&imp.items[1]), (6, 7));
    }

    #[test]
    fn method_chain_statement() {
        let src = "fn f() {\n    let v: Vec<_> = xs\n        .iter()\n        .map(|x| x + 1)\n        .collect();\n    xs\n        .iter()\n        .for_each(drop);\n}\n";
        assert_eq!(check(src), (3, 3));
        assert_eq!(first_stmt_anchor(src), (2, 5));
    }

    #[test]
    fn let_else() {
        let src = "fn f() {\n    let Some(x) = g() else {\n        return;\n    };\n    #[allow(unused)]\n    let y = x;\n}\n";
        assert_eq!(check(src), (4, 4));
        assert_eq!(first_stmt_anchor(src), (2, 4));
    }

    #[test]
    fn tail_expressions() {
        let src = "fn e() -> *const u8 {\n    x as *const\n        u8\n}\nfn f() -> u32 {\n    if a {\n        1\n    } else if b {\n        2\n    } else {\n        3\n    }\n}\nfn g() -> u32 {\n    a\n        + b\n            .len()\n}\nfn h() -> u64 {\n    x as\n        u64\n}\nfn k() -> [u8; 2] {\n    [0; 2]\n}\n";
        let (seen, fast) = check(src);
        assert_eq!(seen, 13);
        assert_eq!(fast, 13);
    }

    #[test]
    fn macro_statements() {
        let src = "fn f() {\n    println!(\n        \"{}\",\n        1\n    );\n    ::std::thread_local! {\n        static X: u8 = 0;\n    }\n    vec![1, 2]\n        .len();\n    #[rustfmt::skip]\n    m!(a)\n}\nmacro_rules! m {\n    ($a:expr) => {};\n}\n";
        assert_eq!(check(src), (6, 6));
        assert_eq!(first_stmt_anchor(src), (2, 5));
    }

    #[test]
    fn match_arms_and_exprs() {
        let src = "fn f() {\n    match x {\n        #[cfg(a)]\n        A | B => {}\n        C(..) if c => d\n            .e(),\n        'a'..='z' => return,\n        _ => loop {}\n    }\n    'l: loop {\n        break 'l;\n    }\n    let c = async move {\n        1\n    };\n    *p = -q;\n    (a, b) = (b, a);\n    &mut v[..];\n    <T as U>::f()\n}\n";
        let (seen, fast) = check(src);
        assert_eq!(seen, 14);
        assert_eq!(fast, 14);
    }

    #[test]
    fn slow_path_shapes_agree() {
        // `break value` and a tail ending in a `dyn` type take the slow path; the result still
        // equals `Spanned::span()`.
        let src = "fn f() {\n    loop {\n        break\n            1\n    }\n    x as &'static dyn\n        Any\n}\n";
        let (seen, fast) = check(src);
        assert_eq!(seen, 4);
        assert_eq!(fast, 2);
    }
}
