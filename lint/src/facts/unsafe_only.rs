//! A lighter walk for files that only the undocumented-unsafe rule needs: records the `unsafe`
//! sites with the same anchors as [`super::extract`], and nothing else (no scopes, items, bodies).

use syn::visit::{self, Visit};

use super::anchor;
use super::climb::{climb_stops, Climb, Climbing};
use super::macros::walk_macro;
use super::{Anchor, FileFacts, UnsafeKind, UnsafeSite};
use crate::diagnostic::Span;

pub fn extract_unsafe_only(file: &syn::File) -> FileFacts {
    let mut v = UnsafeOnly {
        sites: Vec::new(),
        anchors: Vec::new(),
        climb: Climb::Closed,
    };
    for item in &file.items {
        v.visit_item(item);
    }
    let mut facts = FileFacts::empty();
    facts.unsafe_sites = v.sites;
    facts
}

struct UnsafeOnly {
    sites: Vec<UnsafeSite>,
    anchors: Vec<Anchor>,
    climb: Climb,
}

impl Climbing for UnsafeOnly {
    fn climb_mut(&mut self) -> &mut Climb {
        &mut self.climb
    }
}

impl UnsafeOnly {
    fn site(
        &mut self,
        kind: UnsafeKind,
        kw: proc_macro2::Span,
        open: Option<proc_macro2::Span>,
        stmt_comment: bool,
    ) {
        let open_brace = open.map(|o| (o.start().line as u32, o.start().column as u32 + 1));
        let anchors = self.anchors.iter().rev().copied().collect();
        self.sites.push(UnsafeSite {
            kind,
            span: Span::from_pm2(kw),
            open_brace,
            anchors,
            stmt_comment,
            inside_comment: None,
        });
    }

    fn anchored(&mut self, a: Anchor, c: Climb, f: impl FnOnce(&mut Self)) {
        self.anchors.push(a);
        self.climbing(c, f);
        self.anchors.pop();
    }
}

impl<'ast> Visit<'ast> for UnsafeOnly {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.anchored(anchor::item(i), Climb::item(i), |v| {
            if let syn::Item::Impl(imp) = i {
                if let Some(u) = &imp.unsafety {
                    v.site(UnsafeKind::Impl, u.span, None, true);
                }
            }
            visit::visit_item(v, i);
        });
    }

    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        self.anchored(anchor::impl_item(i), Climb::impl_item(i), |v| {
            visit::visit_impl_item(v, i)
        });
    }

    fn visit_trait_item(&mut self, i: &'ast syn::TraitItem) {
        self.anchored(anchor::trait_item(i), Climb::trait_item(i), |v| {
            visit::visit_trait_item(v, i)
        });
    }

    fn visit_stmt(&mut self, s: &'ast syn::Stmt) {
        if let syn::Stmt::Item(i) = s {
            self.visit_item(i);
            return;
        }
        self.anchored(anchor::stmt(s), Climb::stmt(s), |v| visit::visit_stmt(v, s));
    }

    fn visit_expr_unsafe(&mut self, e: &'ast syn::ExprUnsafe) {
        let stmt_comment = self.climb == Climb::Open;
        self.site(
            UnsafeKind::Block,
            e.unsafe_token.span,
            Some(e.block.brace_token.span.open()),
            stmt_comment,
        );
        visit::visit_expr_unsafe(self, e);
    }

    fn visit_attribute(&mut self, _a: &'ast syn::Attribute) {}

    fn visit_macro(&mut self, mac: &'ast syn::Macro) {
        walk_macro(self, mac, |v, t| {
            let kind = if t.is_impl {
                UnsafeKind::Impl
            } else {
                UnsafeKind::Block
            };
            // Found in tokens: no tree to climb.
            v.site(kind, t.keyword, t.open_brace, false);
        });
    }

    climb_stops!('ast);
}
