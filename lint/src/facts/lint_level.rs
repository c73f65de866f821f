//! The lint-level attributes (`allow`, `expect`, `warn`, `deny`, `forbid`) that name clippy's
//! `undocumented_unsafe_blocks` (or its group, `clippy::restriction`), as written on the items,
//! statements and files around an `unsafe` site. Recorded as the code says them (a `cfg_attr`
//! keeps its predicate); which one wins is the rule's decision.

use proc_macro2::{Delimiter, TokenStream, TokenTree};
use serde::{Deserialize, Serialize};
use syn::{Attribute, ImplItem, Item, Stmt, TraitItem};

use crate::cfg::{parse_pred, CfgPred};

/// The clippy lint that covers `unsafe { }` blocks and `unsafe impl` (checked against clippy 1.95).
pub const CLIPPY_LINT: &str = "undocumented_unsafe_blocks";
/// The clippy group that lint belongs to (an allow of the group silences it too).
pub const CLIPPY_GROUP: &str = "restriction";

/// A lint level.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LevelKind {
    Allow,
    Expect,
    Warn,
    Deny,
    Forbid,
}

impl LevelKind {
    /// `allow` and `expect` silence the lint; the others turn it on.
    pub fn silences(self) -> bool {
        matches!(self, LevelKind::Allow | LevelKind::Expect)
    }

    fn from_name(s: &str) -> Option<LevelKind> {
        Some(match s {
            "allow" => LevelKind::Allow,
            "expect" => LevelKind::Expect,
            "warn" => LevelKind::Warn,
            "deny" => LevelKind::Deny,
            "forbid" => LevelKind::Forbid,
            _ => return None,
        })
    }
}

/// One attribute setting the level of `clippy::undocumented_unsafe_blocks` (or its group).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct ClippyLevel {
    pub kind: LevelKind,
    /// The `cfg_attr` predicates it is written under, outermost first (all must hold; empty:
    /// unconditional).
    pub cfg: Vec<CfgPred>,
    /// Set through the group `clippy::restriction`, not the lint's own name.
    pub group: bool,
    /// The attribute's line.
    pub line: u32,
}

/// The levels the attributes set, in attribute order (a later one wins over an earlier one).
pub(crate) fn clippy_levels(attrs: &[Attribute]) -> Vec<ClippyLevel> {
    let mut out = Vec::new();
    for a in attrs {
        let line = a.pound_token.span.start().line as u32;
        let syn::Meta::List(l) = &a.meta else {
            continue;
        };
        let Some(id) = l.path.get_ident() else {
            continue;
        };
        read_attr(&id.to_string(), l.tokens.clone(), &[], line, &mut out);
    }
    out
}

/// One attribute `name(tokens)`, under the `cfg_attr` predicates `cfg`.
fn read_attr(
    name: &str,
    tokens: TokenStream,
    cfg: &[CfgPred],
    line: u32,
    out: &mut Vec<ClippyLevel>,
) {
    if name == "cfg_attr" {
        let mut parts = split_commas(tokens).into_iter();
        let Some(pred) = parts.next() else {
            return;
        };
        let mut cfg = cfg.to_vec();
        cfg.push(parse_pred(pred.into_iter().collect()));
        for attr in parts {
            if let [TokenTree::Ident(n), TokenTree::Group(g)] = attr.as_slice() {
                if g.delimiter() == Delimiter::Parenthesis {
                    read_attr(&n.to_string(), g.stream(), &cfg, line, out);
                }
            }
        }
        return;
    }
    let Some(kind) = LevelKind::from_name(name) else {
        return;
    };
    for lint in split_commas(tokens) {
        if let Some(group) = names_lint(&lint) {
            out.push(ClippyLevel {
                kind,
                cfg: cfg.to_vec(),
                group,
                line,
            });
        }
    }
}

/// `Some(false)` for `clippy::undocumented_unsafe_blocks`, `Some(true)` for
/// `clippy::restriction`, `None` for anything else: another lint, `reason = ".."`, a leading
/// `::` (rustc rejects `::clippy::..`: E0710), another case (`UNDOCUMENTED_UNSAFE_BLOCKS` is an
/// unknown lint to clippy 1.95).
fn names_lint(tokens: &[TokenTree]) -> Option<bool> {
    match tokens {
        [TokenTree::Ident(tool), TokenTree::Punct(c1), TokenTree::Punct(c2), TokenTree::Ident(lint)]
            if tool == "clippy" && c1.as_char() == ':' && c2.as_char() == ':' =>
        {
            if lint == CLIPPY_LINT {
                Some(false)
            } else if lint == CLIPPY_GROUP {
                Some(true)
            } else {
                None
            }
        }
        _ => None,
    }
}

fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut out = vec![Vec::new()];
    for t in tokens {
        match &t {
            TokenTree::Punct(p) if p.as_char() == ',' => out.push(Vec::new()),
            _ => out.last_mut().expect("never empty").push(t),
        }
    }
    if out.last().is_some_and(Vec::is_empty) {
        out.pop();
    }
    out
}

/// Every attribute of an item (outer and inner: syn keeps a module's, a function's, an impl's
/// `#![..]` with its outer ones).
pub(crate) fn item_attrs(item: &Item) -> &[Attribute] {
    match item {
        Item::Const(x) => &x.attrs,
        Item::Enum(x) => &x.attrs,
        Item::ExternCrate(x) => &x.attrs,
        Item::Fn(x) => &x.attrs,
        Item::ForeignMod(x) => &x.attrs,
        Item::Impl(x) => &x.attrs,
        Item::Macro(x) => &x.attrs,
        Item::Mod(x) => &x.attrs,
        Item::Static(x) => &x.attrs,
        Item::Struct(x) => &x.attrs,
        Item::Trait(x) => &x.attrs,
        Item::TraitAlias(x) => &x.attrs,
        Item::Type(x) => &x.attrs,
        Item::Union(x) => &x.attrs,
        Item::Use(x) => &x.attrs,
        _ => &[],
    }
}

pub(crate) fn impl_item_attrs(item: &ImplItem) -> &[Attribute] {
    match item {
        ImplItem::Const(x) => &x.attrs,
        ImplItem::Fn(x) => &x.attrs,
        ImplItem::Type(x) => &x.attrs,
        ImplItem::Macro(x) => &x.attrs,
        _ => &[],
    }
}

pub(crate) fn trait_item_attrs(item: &TraitItem) -> &[Attribute] {
    match item {
        TraitItem::Const(x) => &x.attrs,
        TraitItem::Fn(x) => &x.attrs,
        TraitItem::Type(x) => &x.attrs,
        TraitItem::Macro(x) => &x.attrs,
        _ => &[],
    }
}

/// A statement's attributes (`#[allow(..)] let x = unsafe { .. };`, `#[allow(..)] unsafe { .. }`).
pub(crate) fn stmt_attrs(s: &Stmt) -> &[Attribute] {
    match s {
        Stmt::Local(l) => &l.attrs,
        Stmt::Item(i) => item_attrs(i),
        Stmt::Expr(e, _) => super::body::expr_attrs(e),
        Stmt::Macro(m) => &m.attrs,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn levels(src: &str) -> Vec<(LevelKind, usize, bool)> {
        let f: syn::File = syn::parse_str(src).unwrap();
        clippy_levels(item_attrs(&f.items[0]))
            .into_iter()
            .map(|l| (l.kind, l.cfg.len(), l.group))
            .collect()
    }

    #[test]
    fn reads_the_lint_its_group_and_cfg_attr() {
        use LevelKind::*;
        assert_eq!(
            levels(
                "#[allow(dead_code, clippy::undocumented_unsafe_blocks, reason = \"x\")] fn f() {}"
            ),
            [(Allow, 0, false)]
        );
        assert_eq!(
            levels("#[expect(clippy::restriction)] fn f() {}"),
            [(Expect, 0, true)]
        );
        assert_eq!(
            levels("#[cfg_attr(clippy, cfg_attr(unix, deny(clippy::undocumented_unsafe_blocks)))] fn f() {}"),
            [(Deny, 2, false)]
        );
        assert_eq!(
            levels("mod m { #![warn(clippy::undocumented_unsafe_blocks)] }"),
            [(Warn, 0, false)]
        );
        // Not the lint: another lint, a leading `::` (E0710), another case, a non-level attribute.
        assert!(levels("#[allow(clippy::unnecessary_safety_comment)] fn f() {}").is_empty());
        assert!(levels("#[allow(::clippy::undocumented_unsafe_blocks)] fn f() {}").is_empty());
        assert!(levels("#[allow(clippy::UNDOCUMENTED_UNSAFE_BLOCKS)] fn f() {}").is_empty());
        assert!(levels("#[doc(clippy::undocumented_unsafe_blocks)] fn f() {}").is_empty());
    }
}
