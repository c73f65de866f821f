//! Reading macro invocations: syn leaves macro bodies as tokens, but event loops live in them.
//!
//! `select!`-style bodies are parsed as arms (`pattern = future [, if guard] => handler`);
//! other macros are tried as comma-separated expressions, then as statements, then as
//! `expr; expr` (`vec![x; n]`). What parses is analysed like any other code; what does not is
//! only scanned token by token for `unsafe` blocks.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use syn::parse::{ParseStream, Parser};
use syn::punctuated::Punctuated;
use syn::{Expr, Pat, Stmt, Token};

use super::climb::{Climb, Climbing};

/// One arm of a `select!`.
pub struct SelectArm {
    /// `None` for the `else => ..` arm.
    pub pat: Option<Pat>,
    pub future: Option<Expr>,
    pub guard: Option<Expr>,
    pub handler: Expr,
}

pub enum MacroBody {
    Select(Vec<SelectArm>),
    Exprs(Vec<Expr>),
    Stmts(Vec<Stmt>),
    /// Nothing parsed: scan the tokens.
    Tokens,
}

/// The macro's name (last path segment).
pub fn macro_name(mac: &syn::Macro) -> String {
    mac.path
        .segments
        .last()
        .map(|s| s.ident.to_string())
        .unwrap_or_default()
}

pub fn parse_macro(mac: &syn::Macro) -> MacroBody {
    let name = macro_name(mac);
    if name == "macro_rules" {
        return MacroBody::Tokens;
    }
    if name.contains("select") {
        if let Ok(arms) = parse_select.parse2(mac.tokens.clone()) {
            return MacroBody::Select(arms);
        }
    }
    if let Ok(exprs) = Punctuated::<Expr, Token![,]>::parse_terminated.parse2(mac.tokens.clone()) {
        return MacroBody::Exprs(exprs.into_iter().collect());
    }
    if let Ok(stmts) = syn::Block::parse_within.parse2(mac.tokens.clone()) {
        return MacroBody::Stmts(stmts);
    }
    let repeat = |input: ParseStream| -> syn::Result<Vec<Expr>> {
        let a: Expr = input.parse()?;
        input.parse::<Token![;]>()?;
        let b: Expr = input.parse()?;
        Ok(vec![a, b])
    };
    if let Ok(exprs) = repeat.parse2(mac.tokens.clone()) {
        return MacroBody::Exprs(exprs);
    }
    MacroBody::Tokens
}

fn parse_select(input: ParseStream) -> syn::Result<Vec<SelectArm>> {
    let mut arms = Vec::new();
    if input.peek(syn::Ident) && input.peek2(Token![;]) {
        let _biased: syn::Ident = input.parse()?;
        input.parse::<Token![;]>()?;
    }
    while !input.is_empty() {
        let keyword_arm = input.peek(Token![else])
            || input.peek(Token![default])
            || (input
                .fork()
                .parse::<syn::Ident>()
                .is_ok_and(|i| i == "complete")
                && input.peek2(Token![=>]));
        if keyword_arm {
            input.parse::<proc_macro2::TokenTree>()?;
            input.parse::<Token![=>]>()?;
            let handler = parse_handler(input)?;
            arms.push(SelectArm {
                pat: None,
                future: None,
                guard: None,
                handler,
            });
            continue;
        }
        let pat = Pat::parse_multi_with_leading_vert(input)?;
        input.parse::<Token![=]>()?;
        let future = Expr::parse_without_eager_brace(input)?;
        let guard = if input.peek(Token![,]) && input.peek2(Token![if]) {
            input.parse::<Token![,]>()?;
            input.parse::<Token![if]>()?;
            Some(input.parse::<Expr>()?)
        } else if input.peek(Token![if]) {
            input.parse::<Token![if]>()?;
            Some(input.parse::<Expr>()?)
        } else {
            None
        };
        input.parse::<Token![=>]>()?;
        let handler = parse_handler(input)?;
        arms.push(SelectArm {
            pat: Some(pat),
            future: Some(future),
            guard,
            handler,
        });
    }
    Ok(arms)
}

/// An arm's handler. As in a `match`, a handler that is a block ends at its `}` (so the next
/// arm's `() = fut` is not read as a call of the block).
fn parse_handler(input: ParseStream) -> syn::Result<Expr> {
    let handler: Expr = if input.peek(syn::token::Brace) {
        Expr::Block(input.parse::<syn::ExprBlock>()?)
    } else {
        input.parse()?
    };
    if input.peek(Token![,]) {
        input.parse::<Token![,]>()?;
    }
    Ok(handler)
}

/// A token-level `unsafe` site found in unparsed macro tokens.
pub struct TokenUnsafe {
    pub keyword: proc_macro2::Span,
    pub is_impl: bool,
    pub open_brace: Option<proc_macro2::Span>,
}

/// Find `unsafe { .. }` and `unsafe impl` in raw tokens, at any depth.
pub fn scan_unsafe_tokens(tokens: &TokenStream, out: &mut Vec<TokenUnsafe>) {
    let trees: Vec<TokenTree> = tokens.clone().into_iter().collect();
    for (i, tt) in trees.iter().enumerate() {
        match tt {
            TokenTree::Ident(id) if id == "unsafe" => match trees.get(i + 1) {
                Some(TokenTree::Group(g)) if g.delimiter() == Delimiter::Brace => {
                    out.push(TokenUnsafe {
                        keyword: id.span(),
                        is_impl: false,
                        open_brace: Some(g.span_open()),
                    })
                }
                Some(TokenTree::Ident(next)) if next == "impl" => out.push(TokenUnsafe {
                    keyword: id.span(),
                    is_impl: true,
                    open_brace: None,
                }),
                _ => {}
            },
            TokenTree::Group(g) => scan_unsafe_tokens(&g.stream(), out),
            _ => {}
        }
    }
}

/// Walk a macro invocation with a syntax visitor: what parses is visited like any other code;
/// for what does not, `on_unsafe` gets the `unsafe` sites found in the raw tokens. A macro body
/// ends the climb to the enclosing statement ([`Climb::Closed`]; statements inside it open their
/// own).
pub(crate) fn walk_macro<V>(v: &mut V, mac: &syn::Macro, on_unsafe: impl FnMut(&mut V, TokenUnsafe))
where
    V: for<'x> syn::visit::Visit<'x> + Climbing,
{
    v.climbing(Climb::Closed, |v| walk_macro_body(v, mac, on_unsafe));
}

fn walk_macro_body<V>(v: &mut V, mac: &syn::Macro, mut on_unsafe: impl FnMut(&mut V, TokenUnsafe))
where
    V: for<'x> syn::visit::Visit<'x>,
{
    match parse_macro(mac) {
        MacroBody::Select(arms) => {
            for arm in &arms {
                if let Some(p) = &arm.pat {
                    v.visit_pat(p);
                }
                if let Some(f) = &arm.future {
                    v.visit_expr(f);
                }
                if let Some(g) = &arm.guard {
                    v.visit_expr(g);
                }
                v.visit_expr(&arm.handler);
            }
        }
        MacroBody::Exprs(exprs) => exprs.iter().for_each(|e| v.visit_expr(e)),
        // Items declared inside a macro body are not registered; their contents still are walked.
        MacroBody::Stmts(stmts) => stmts.iter().for_each(|s| v.visit_stmt(s)),
        MacroBody::Tokens => {
            let mut found = Vec::new();
            scan_unsafe_tokens(&mac.tokens, &mut found);
            for t in found {
                on_unsafe(v, t);
            }
        }
    }
}
