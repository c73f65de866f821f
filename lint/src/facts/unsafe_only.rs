//! The one `unsafe`-site collector, and the lighter walk for files that only the
//! undocumented-unsafe rule needs.
//!
//! [`UnsafeCollector`] holds the recording logic (anchors, the climb state, what a site records);
//! [`unsafe_visits!`] expands the `Visit` methods that find sites. Both the full extractor
//! ([`super::extract`]) and [`extract_unsafe_only`] implement the trait and expand the macro (and
//! [`super::climb::climb_stops!`]), so they record the same sites with the same anchors; the
//! extractor records more beside them (scopes, items, bodies, paths), the light walk nothing else.
//! Both are monomorphised: the light walk pays for nothing it does not record.
//!
//! Invariant: a visitor pushes an anchor (with [`UnsafeCollector::anchored`]) for every item,
//! impl item, trait item and statement it walks into, so the anchors a site records are the
//! same in both walks (`climb.rs`'s `both_extractors_agree_on_every_shape` checks it).

use syn::visit::{self, Visit};

use super::anchor;
use super::climb::{climb_stops, Climb, Climbing};
use super::lint_level::{
    clippy_levels, impl_item_attrs, item_attrs, trait_item_attrs, ClippyLevel,
};
use super::macros::walk_macro;
use super::{Anchor, FileFacts, UnsafeKind, UnsafeSite};
use crate::diagnostic::Span;

/// A syntax visitor that records `unsafe` sites: it keeps the enclosing anchors (outermost
/// first), a [`Climb`] state and the list of sites found.
pub(crate) trait UnsafeCollector: Climbing + for<'x> Visit<'x> {
    fn anchors_mut(&mut self) -> &mut Vec<Anchor>;
    fn anchors(&self) -> &[Anchor];
    fn sites_mut(&mut self) -> &mut Vec<UnsafeSite>;
    /// The clippy lint levels of the enclosing file, items and statements, outermost first.
    fn levels_mut(&mut self) -> &mut Vec<ClippyLevel>;

    /// Record a site: `kw` is the `unsafe` keyword, `open` the block's `{`.
    fn unsafe_site(
        &mut self,
        kind: UnsafeKind,
        kw: proc_macro2::Span,
        open: Option<proc_macro2::Span>,
        stmt_comment: bool,
    ) {
        let open_brace = open.map(|o| {
            let s = o.start();
            (s.line as u32, s.column as u32 + 1)
        });
        let anchors = self.anchors().iter().rev().copied().collect();
        let clippy_levels = self.levels_mut().clone();
        self.sites_mut().push(UnsafeSite {
            kind,
            span: Span::from_pm2(kw),
            open_brace,
            anchors,
            stmt_comment,
            inside_comment: None,
            clippy_levels,
        });
    }

    /// Run `f` inside the anchor `a`, with the climb state `c` the anchored node sets and the
    /// clippy lint levels its attributes `attrs` set.
    fn anchored<R>(
        &mut self,
        a: Anchor,
        c: Climb,
        attrs: &[syn::Attribute],
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let depth = self.levels_mut().len();
        let levels = clippy_levels(attrs);
        self.levels_mut().extend(levels);
        self.anchors_mut().push(a);
        let r = self.climbing(c, f);
        self.anchors_mut().pop();
        self.levels_mut().truncate(depth);
        r
    }

    /// An `unsafe impl` (its comment is the one above the item).
    fn unsafe_impl(&mut self, i: &syn::ItemImpl) {
        if let Some(u) = &i.unsafety {
            self.unsafe_site(UnsafeKind::Impl, u.span, None, true);
        }
    }

    /// An `unsafe { .. }` block (not walked into: the caller does that).
    fn unsafe_block(&mut self, e: &syn::ExprUnsafe) {
        let stmt_comment = *self.climb_mut() == Climb::Open;
        self.unsafe_site(
            UnsafeKind::Block,
            e.unsafe_token.span,
            Some(e.block.brace_token.span.open()),
            stmt_comment,
        );
    }

    /// A macro call: its body is walked where it parses, and `unsafe` found in its tokens.
    fn unsafe_in_macro(&mut self, mac: &syn::Macro) {
        walk_macro(self, mac, |v, t| {
            let kind = if t.is_impl {
                UnsafeKind::Impl
            } else {
                UnsafeKind::Block
            };
            // Found in tokens: no tree to climb.
            v.unsafe_site(kind, t.keyword, t.open_brace, false);
        });
    }
}

/// The `Visit` methods that find `unsafe` sites, for a visitor implementing [`UnsafeCollector`]
/// (items, impl items and trait items are anchored by the visitor itself: the extractor does
/// more there).
macro_rules! unsafe_visits {
    ($ast:lifetime) => {
        fn visit_stmt(&mut self, s: &$ast syn::Stmt) {
            use $crate::facts::climb::Climb;
            use $crate::facts::unsafe_only::UnsafeCollector;
            if let syn::Stmt::Item(i) = s {
                // An item statement: `visit_item` pushes its own anchor.
                self.visit_item(i);
                return;
            }
            let a = $crate::facts::anchor::stmt(s);
            let attrs = $crate::facts::lint_level::stmt_attrs(s);
            self.anchored(a, Climb::stmt(s), attrs, |v| syn::visit::visit_stmt(v, s));
        }

        fn visit_expr_unsafe(&mut self, e: &$ast syn::ExprUnsafe) {
            use $crate::facts::unsafe_only::UnsafeCollector;
            self.unsafe_block(e);
            syn::visit::visit_expr_unsafe(self, e);
        }

        fn visit_macro(&mut self, mac: &$ast syn::Macro) {
            use $crate::facts::unsafe_only::UnsafeCollector;
            self.unsafe_in_macro(mac);
        }
    };
}
pub(crate) use unsafe_visits;

/// The `unsafe` sites of a file, and nothing else (no scopes, items, bodies).
pub fn extract_unsafe_only(file: &syn::File) -> FileFacts {
    let mut v = UnsafeOnly {
        sites: Vec::new(),
        anchors: Vec::new(),
        climb: Climb::Closed,
        levels: clippy_levels(&file.attrs),
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
    levels: Vec<ClippyLevel>,
}

impl Climbing for UnsafeOnly {
    fn climb_mut(&mut self) -> &mut Climb {
        &mut self.climb
    }
}

impl UnsafeCollector for UnsafeOnly {
    fn anchors_mut(&mut self) -> &mut Vec<Anchor> {
        &mut self.anchors
    }
    fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }
    fn sites_mut(&mut self) -> &mut Vec<UnsafeSite> {
        &mut self.sites
    }
    fn levels_mut(&mut self) -> &mut Vec<ClippyLevel> {
        &mut self.levels
    }
}

impl<'ast> Visit<'ast> for UnsafeOnly {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.anchored(anchor::item(i), Climb::item(i), item_attrs(i), |v| {
            if let syn::Item::Impl(imp) = i {
                v.unsafe_impl(imp);
            }
            visit::visit_item(v, i);
        });
    }

    fn visit_impl_item(&mut self, i: &'ast syn::ImplItem) {
        self.anchored(
            anchor::impl_item(i),
            Climb::impl_item(i),
            impl_item_attrs(i),
            |v| visit::visit_impl_item(v, i),
        );
    }

    fn visit_trait_item(&mut self, i: &'ast syn::TraitItem) {
        self.anchored(
            anchor::trait_item(i),
            Climb::trait_item(i),
            trait_item_attrs(i),
            |v| visit::visit_trait_item(v, i),
        );
    }

    fn visit_attribute(&mut self, _a: &'ast syn::Attribute) {}

    unsafe_visits!('ast);
    climb_stops!('ast);
}
