//! The syntax-tree walk that turns one `syn::File` into [`FileFacts`].

use std::collections::HashMap;

use syn::visit::{self, Visit};

use super::anchor;
use super::climb::{climb_stops, Climb, Climbing};
use super::lint_level;
use super::unsafe_only::{unsafe_visits, UnsafeCollector};
use super::*;
use crate::cfg::{cfg_of, cfg_test_only, has_test_attr};

/// What to collect beyond the always-collected index facts.
#[derive(Debug, Clone, Copy, Default)]
pub struct ExtractOptions {
    /// Record every path occurrence (needed when a `banned-type` entry applies to the file).
    pub collect_paths: bool,
}

/// Walk a parsed file once and record its facts.
pub fn extract(file: &syn::File, opts: ExtractOptions) -> FileFacts {
    extract_inner(file, opts, Vec::new()).0
}

/// The facts of a file read as its item skeleton ([`crate::skeleton`]): `file` is the parsed
/// skeleton, `slots` its blanked bodies, each of which becomes a deferred body of the function
/// whose block it is. `None` when some slot is the block of no function (the byte scan guessed
/// wrong): the caller parses the whole text instead.
pub fn extract_skeleton(
    file: &syn::File,
    opts: ExtractOptions,
    slots: &[crate::skeleton::BodySlot],
) -> Option<FileFacts> {
    let (facts, claimed) = extract_inner(file, opts, slots.to_vec());
    claimed.then_some(facts)
}

fn extract_inner(
    file: &syn::File,
    opts: ExtractOptions,
    slots: Vec<crate::skeleton::BodySlot>,
) -> (FileFacts, bool) {
    let mut ex = Extractor {
        claimed: vec![false; slots.len()],
        slots,
        facts: FileFacts::default(),
        scope: ScopeId::ROOT,
        anchors: Vec::new(),
        climb: Climb::Closed,
        in_test: false,
        conds: Vec::new(),
        opts,
        item_ids: HashMap::new(),
        mod_scopes: HashMap::new(),
        levels: lint_level::clippy_levels(&file.attrs),
    };
    ex.facts.scopes.push(Scope {
        parent: None,
        kind: ScopeKind::Module(None),
        items: Vec::new(),
        uses: Vec::new(),
    });
    let file_cfg = cfg_of(&file.attrs);
    ex.facts.file_is_test = cfg_test_only(&file_cfg);
    ex.conds.extend(file_cfg.iter().cloned());
    if !file_cfg.is_empty() {
        ex.facts.cfgs.push((CfgNode::File, file_cfg));
    }
    ex.in_test = ex.facts.file_is_test;
    ex.register_items(ScopeId::ROOT, file.items.iter());
    for item in &file.items {
        ex.visit_item(item);
    }
    let all = ex.claimed.iter().all(|&c| c);
    (ex.facts, all)
}

struct Extractor {
    facts: FileFacts,
    scope: ScopeId,
    anchors: Vec<Anchor>,
    /// Whether an `unsafe` block here may be explained above the innermost anchor.
    climb: Climb,
    in_test: bool,
    /// The `#[cfg]` conditions in effect here, outermost first (see `FnFacts::conds`).
    conds: crate::cfg::Cfg,
    opts: ExtractOptions,
    /// syn item → registered item (items are registered before their scope is walked).
    item_ids: HashMap<*const syn::Item, ItemId>,
    mod_scopes: HashMap<*const syn::ItemMod, ScopeId>,
    /// The clippy lint levels in effect here, outermost first (see `UnsafeSite::clippy_levels`).
    levels: Vec<lint_level::ClippyLevel>,
    /// The blanked bodies of a skeleton, in text order, and which a function has claimed.
    slots: Vec<crate::skeleton::BodySlot>,
    claimed: Vec<bool>,
}

pub(crate) fn ident_str(id: &syn::Ident) -> String {
    let s = id.to_string();
    match s.strip_prefix("r#") {
        Some(raw) => raw.to_string(),
        None => s,
    }
}

pub(crate) fn path_segs(p: &syn::Path) -> Vec<String> {
    let mut v = Vec::with_capacity(p.segments.len() + 1);
    if p.leading_colon.is_some() {
        v.push(String::new());
    }
    v.extend(p.segments.iter().map(|s| ident_str(&s.ident)));
    v
}

pub(crate) fn ty_ref(ty: &syn::Type, scope: ScopeId) -> TyRef {
    match ty {
        syn::Type::Path(tp) => {
            if tp.qself.is_none() && tp.path.is_ident("Self") {
                return TyRef::SelfTy;
            }
            let path = path_segs(&tp.path);
            let mut args = Vec::new();
            if let Some(last) = tp.path.segments.last() {
                if let syn::PathArguments::AngleBracketed(ab) = &last.arguments {
                    for a in &ab.args {
                        if let syn::GenericArgument::Type(t) = a {
                            args.push(ty_ref(t, scope));
                        }
                    }
                }
            }
            if path.first().is_some_and(|s| s == "Self") && path.len() > 1 {
                // `Self::Assoc`: not followed.
                return TyRef::Unknown;
            }
            TyRef::Path { path, args, scope }
        }
        syn::Type::Reference(r) => TyRef::Ref(Box::new(ty_ref(&r.elem, scope))),
        syn::Type::Ptr(p) => TyRef::Ref(Box::new(ty_ref(&p.elem, scope))),
        syn::Type::Paren(p) => ty_ref(&p.elem, scope),
        syn::Type::Group(g) => ty_ref(&g.elem, scope),
        syn::Type::Tuple(t) => TyRef::Tuple(t.elems.iter().map(|e| ty_ref(e, scope)).collect()),
        syn::Type::Slice(s) => TyRef::Slice(Box::new(ty_ref(&s.elem, scope))),
        syn::Type::Array(a) => TyRef::Slice(Box::new(ty_ref(&a.elem, scope))),
        syn::Type::TraitObject(t) => TyRef::Traits {
            traits: bound_paths(t.bounds.iter()),
            scope,
        },
        syn::Type::ImplTrait(t) => TyRef::Traits {
            traits: bound_paths(t.bounds.iter()),
            scope,
        },
        _ => TyRef::Unknown,
    }
}

fn bound_paths<'a>(bounds: impl Iterator<Item = &'a syn::TypeParamBound>) -> Vec<Vec<String>> {
    bounds
        .filter_map(|b| match b {
            syn::TypeParamBound::Trait(t) => Some(path_segs(&t.path)),
            _ => None,
        })
        .collect()
}

pub(crate) fn generics_of(g: &syn::Generics) -> Vec<Generic> {
    let mut out: Vec<Generic> = g
        .type_params()
        .map(|tp| Generic {
            name: ident_str(&tp.ident),
            bounds: bound_paths(tp.bounds.iter()),
        })
        .collect();
    if let Some(wc) = &g.where_clause {
        for p in &wc.predicates {
            if let syn::WherePredicate::Type(pt) = p {
                if let syn::Type::Path(tp) = &pt.bounded_ty {
                    if let Some(id) = tp.path.get_ident() {
                        let name = ident_str(id);
                        let bounds = bound_paths(pt.bounds.iter());
                        match out.iter_mut().find(|g| g.name == name) {
                            Some(g) => g.bounds.extend(bounds),
                            None => out.push(Generic { name, bounds }),
                        }
                    }
                }
            }
        }
    }
    out
}

pub(crate) fn pat_ir(p: &syn::Pat) -> Pat {
    match p {
        syn::Pat::Ident(pi) => match &pi.subpat {
            Some((_, sub)) if !matches!(**sub, syn::Pat::Wild(_)) => pat_ir(sub),
            _ => Pat::Bind(ident_str(&pi.ident)),
        },
        syn::Pat::Tuple(t) => Pat::Tuple(t.elems.iter().map(pat_ir).collect()),
        syn::Pat::TupleStruct(ts) => Pat::TupleStruct {
            path: path_segs(&ts.path),
            elems: ts.elems.iter().map(pat_ir).collect(),
        },
        syn::Pat::Struct(ps) => Pat::Struct {
            path: path_segs(&ps.path),
            fields: ps
                .fields
                .iter()
                .map(|f| {
                    let name = match &f.member {
                        syn::Member::Named(id) => ident_str(id),
                        syn::Member::Unnamed(i) => i.index.to_string(),
                    };
                    (name, pat_ir(&f.pat))
                })
                .collect(),
        },
        syn::Pat::Reference(r) => Pat::Ref(Box::new(pat_ir(&r.pat))),
        syn::Pat::Paren(pp) => pat_ir(&pp.pat),
        syn::Pat::Type(pt) => pat_ir(&pt.pat),
        _ => Pat::Other,
    }
}

fn fields_of(fields: &syn::Fields, scope: ScopeId) -> Vec<Field> {
    fields
        .iter()
        .enumerate()
        .map(|(i, f)| Field {
            name: f
                .ident
                .as_ref()
                .map(ident_str)
                .unwrap_or_else(|| i.to_string()),
            ty: ty_ref(&f.ty, scope),
        })
        .collect()
}

/// Items declared anywhere inside a function body (not inside nested items).
#[derive(Default)]
struct BodyItems<'ast> {
    items: Vec<&'ast syn::Item>,
}

impl<'ast> Visit<'ast> for BodyItems<'ast> {
    fn visit_item(&mut self, i: &'ast syn::Item) {
        self.items.push(i);
    }
}

impl Climbing for Extractor {
    fn climb_mut(&mut self) -> &mut Climb {
        &mut self.climb
    }
}

impl UnsafeCollector for Extractor {
    fn anchors_mut(&mut self) -> &mut Vec<Anchor> {
        &mut self.anchors
    }
    fn anchors(&self) -> &[Anchor] {
        &self.anchors
    }
    fn sites_mut(&mut self) -> &mut Vec<UnsafeSite> {
        &mut self.facts.unsafe_sites
    }
    fn levels_mut(&mut self) -> &mut Vec<lint_level::ClippyLevel> {
        &mut self.levels
    }
}

/// An item's attributes, and whether today's test-code rule reads its `#[cfg]` (not for
/// `union`, `extern crate`, `extern { .. }`, trait aliases: kept as it was).
fn item_attrs(item: &syn::Item) -> (&[syn::Attribute], bool) {
    match item {
        syn::Item::Fn(f) => (&f.attrs, true),
        syn::Item::Mod(m) => (&m.attrs, true),
        syn::Item::Impl(i) => (&i.attrs, true),
        syn::Item::Struct(s) => (&s.attrs, true),
        syn::Item::Enum(e) => (&e.attrs, true),
        syn::Item::Use(u) => (&u.attrs, true),
        syn::Item::Const(c) => (&c.attrs, true),
        syn::Item::Static(s) => (&s.attrs, true),
        syn::Item::Trait(t) => (&t.attrs, true),
        syn::Item::Type(t) => (&t.attrs, true),
        syn::Item::Macro(m) => (&m.attrs, true),
        syn::Item::Union(u) => (&u.attrs, false),
        syn::Item::ExternCrate(e) => (&e.attrs, false),
        syn::Item::ForeignMod(f) => (&f.attrs, false),
        syn::Item::TraitAlias(t) => (&t.attrs, false),
        _ => (&[], false),
    }
}

impl Extractor {
    fn add_item(&mut self, scope: ScopeId, name: String, kind: ItemKind, span: Span) -> ItemId {
        let id = ItemId::new(self.facts.items.len());
        self.facts.items.push(Item {
            name,
            kind,
            scope,
            span,
        });
        self.facts.scopes[scope.idx()].items.push(id);
        id
    }

    fn new_scope(&mut self, parent: ScopeId, kind: ScopeKind) -> ScopeId {
        let id = ScopeId::new(self.facts.scopes.len());
        self.facts.scopes.push(Scope {
            parent: Some(parent),
            kind,
            items: Vec::new(),
            uses: Vec::new(),
        });
        id
    }

    fn register_items<'a>(&mut self, scope: ScopeId, items: impl Iterator<Item = &'a syn::Item>) {
        for item in items {
            let sp = |id: &syn::Ident| Span::from_pm2(id.span());
            let id = match item {
                syn::Item::Struct(s) => Some(self.add_item(
                    scope,
                    ident_str(&s.ident),
                    ItemKind::Struct {
                        fields: fields_of(&s.fields, scope),
                        generics: generics_of(&s.generics),
                    },
                    sp(&s.ident),
                )),
                syn::Item::Enum(e) => {
                    let variants = e
                        .variants
                        .iter()
                        .map(|v| Variant {
                            name: ident_str(&v.ident),
                            fields: fields_of(&v.fields, scope),
                        })
                        .collect();
                    Some(self.add_item(
                        scope,
                        ident_str(&e.ident),
                        ItemKind::Enum {
                            variants,
                            generics: generics_of(&e.generics),
                        },
                        sp(&e.ident),
                    ))
                }
                syn::Item::Union(u) => Some(self.add_item(
                    scope,
                    ident_str(&u.ident),
                    ItemKind::Union {
                        fields: fields_of(&syn::Fields::Named(u.fields.clone()), scope),
                    },
                    sp(&u.ident),
                )),
                syn::Item::Trait(t) => {
                    let methods = t
                        .items
                        .iter()
                        .filter_map(|ti| match ti {
                            syn::TraitItem::Fn(f) => Some((ident_str(&f.sig.ident), None)),
                            _ => None,
                        })
                        .collect();
                    Some(self.add_item(
                        scope,
                        ident_str(&t.ident),
                        ItemKind::Trait { methods },
                        sp(&t.ident),
                    ))
                }
                syn::Item::Type(t) => Some(self.add_item(
                    scope,
                    ident_str(&t.ident),
                    ItemKind::TypeAlias(ty_ref(&t.ty, scope)),
                    sp(&t.ident),
                )),
                syn::Item::Fn(f) => Some(self.add_item(
                    scope,
                    ident_str(&f.sig.ident),
                    ItemKind::Fn(None),
                    sp(&f.sig.ident),
                )),
                syn::Item::Const(c) => Some(self.add_item(
                    scope,
                    ident_str(&c.ident),
                    ItemKind::Const(ty_ref(&c.ty, scope)),
                    sp(&c.ident),
                )),
                syn::Item::Static(s) => Some(self.add_item(
                    scope,
                    ident_str(&s.ident),
                    ItemKind::Static(ty_ref(&s.ty, scope)),
                    sp(&s.ident),
                )),
                syn::Item::Mod(m) => {
                    let child = if m.content.is_some() {
                        let c = self.new_scope(scope, ScopeKind::Module(Some(ident_str(&m.ident))));
                        self.mod_scopes.insert(m as *const _, c);
                        Some(c)
                    } else {
                        None
                    };
                    let id = self.add_item(
                        scope,
                        ident_str(&m.ident),
                        ItemKind::Mod(child),
                        sp(&m.ident),
                    );
                    if child.is_none() {
                        let path_attr = m.attrs.iter().find_map(|a| match &a.meta {
                            syn::Meta::NameValue(nv) if nv.path.is_ident("path") => match &nv.value
                            {
                                syn::Expr::Lit(syn::ExprLit {
                                    lit: syn::Lit::Str(s),
                                    ..
                                }) => Some(s.value()),
                                _ => None,
                            },
                            _ => None,
                        });
                        let mut conds = self.conds.clone();
                        conds.extend(cfg_of(&m.attrs));
                        let mut clippy_levels = self.levels.clone();
                        clippy_levels.extend(lint_level::clippy_levels(&m.attrs));
                        self.facts.mod_decls.push(ModDecl {
                            name: ident_str(&m.ident),
                            scope,
                            path_attr,
                            item: id,
                            conds,
                            clippy_levels,
                        });
                    }
                    Some(id)
                }
                syn::Item::ExternCrate(ec) => {
                    let original = ident_str(&ec.ident);
                    let name = ec
                        .rename
                        .as_ref()
                        .map(|(_, r)| ident_str(r))
                        .unwrap_or_else(|| original.clone());
                    Some(self.add_item(
                        scope,
                        name,
                        ItemKind::ExternCrate { original },
                        sp(&ec.ident),
                    ))
                }
                syn::Item::Macro(m) => {
                    if m.ident.is_none() {
                        if let Some(path) = include_path(&m.mac) {
                            let mut conds = self.conds.clone();
                            conds.extend(cfg_of(&m.attrs));
                            let clippy_levels = self.levels.clone();
                            self.facts.includes.push(IncludeDecl {
                                scope,
                                path,
                                conds,
                                clippy_levels,
                            });
                        }
                    }
                    m.ident
                        .as_ref()
                        .map(|id| self.add_item(scope, ident_str(id), ItemKind::Macro, sp(id)))
                }
                syn::Item::Use(u) => {
                    let mut prefix = Vec::new();
                    if u.leading_colon.is_some() {
                        prefix.push(String::new());
                    }
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, &mut prefix, &mut leaves);
                    let is_pub = !matches!(u.vis, syn::Visibility::Inherited);
                    for l in &mut leaves {
                        l.is_pub = is_pub;
                    }
                    self.facts.scopes[scope.idx()].uses.extend(leaves);
                    None
                }
                _ => None,
            };
            if let Some(id) = id {
                self.item_ids.insert(item as *const _, id);
            }
        }
    }

    fn anchors_innermost_first(&self) -> Vec<Anchor> {
        self.anchors.iter().rev().copied().collect()
    }

    /// Record a function: signature, body scope, body IR. Returns its index and body scope.
    fn function(
        &mut self,
        sig: &syn::Signature,
        block: Option<&syn::Block>,
        owner: FnOwner,
        item_line: u32,
        extra_generics: &[Generic],
    ) -> (FnIdx, ScopeId) {
        let scope = self.scope;
        let mut body_scope = scope;
        if let Some(block) = block {
            let mut bi = BodyItems::default();
            bi.visit_block(block);
            let has_uses_or_items = !bi.items.is_empty();
            if has_uses_or_items {
                body_scope = self.new_scope(scope, ScopeKind::Block);
                self.register_items(body_scope, bi.items.into_iter());
            }
        }
        let mut generics = extra_generics.to_vec();
        generics.extend(generics_of(&sig.generics));
        let mut has_self = false;
        let mut params = Vec::new();
        for input in &sig.inputs {
            match input {
                syn::FnArg::Receiver(_) => has_self = true,
                syn::FnArg::Typed(pt) => params.push((pat_ir(&pt.pat), ty_ref(&pt.ty, scope))),
            }
        }
        let ret = match &sig.output {
            syn::ReturnType::Type(_, t) => Some(ty_ref(t, scope)),
            syn::ReturnType::Default => None,
        };
        let has_async_block = match (block, block.and_then(|b| self.claim_slot(b))) {
            (_, Some(slot)) => {
                self.facts.bodies.push_deferred(Deferred {
                    open: slot.open,
                    close: slot.close,
                    line: slot.line,
                    column: slot.column,
                    scope: body_scope,
                    anchors: self.anchors.clone(),
                    words: slot.words,
                });
                slot.has_async
            }
            (b, None) => {
                let body = match b {
                    Some(b) => super::body::lower(b, body_scope, &self.anchors),
                    None => Body::default(),
                };
                let has = body.exprs.iter().any(|e| {
                    matches!(
                        e.kind,
                        ExprKind::AsyncBlock(_) | ExprKind::Closure { is_async: true, .. }
                    )
                });
                self.facts.bodies.push(body);
                has
            }
        };
        let idx = FnIdx::new(self.facts.fns.len());
        self.facts.fns.push(FnFacts {
            name: ident_str(&sig.ident),
            scope,
            body_scope,
            owner,
            generics,
            has_self,
            params,
            ret,
            is_async: sig.asyncness.is_some(),
            has_async_block,
            span: Span::from_pm2(sig.ident.span()),
            item_line,
            in_test: self.in_test,
            conds: self.conds.clone(),
            attrs: Vec::new(),
        });
        (idx, body_scope)
    }

    /// The skeleton slot whose `{` is `block`'s, if any (each is claimed once).
    fn claim_slot(&mut self, block: &syn::Block) -> Option<crate::skeleton::BodySlot> {
        if self.slots.is_empty() {
            return None;
        }
        let at = block.brace_token.span.open().start();
        let key = (at.line as u32, at.column as u32 + 1);
        let k = self
            .slots
            .binary_search_by_key(&key, |s| (s.line, s.column))
            .ok()?;
        if std::mem::replace(&mut self.claimed[k], true) {
            return None;
        }
        Some(std::mem::take(&mut self.slots[k].words)).map(|words| {
            let s = &self.slots[k];
            crate::skeleton::BodySlot { words, ..s.clone() }
        })
    }

    fn with_scope<R>(&mut self, scope: ScopeId, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = std::mem::replace(&mut self.scope, scope);
        let r = f(self);
        self.scope = saved;
        r
    }

    /// Run `f` under extra `#[cfg]` conditions (and `test` for a test-harness attribute).
    fn with_conds<R>(
        &mut self,
        cfg: &[crate::cfg::CfgPred],
        harness: bool,
        f: impl FnOnce(&mut Self) -> R,
    ) -> R {
        let n = self.conds.len();
        self.conds.extend(cfg.iter().cloned());
        if harness {
            self.conds.push(crate::cfg::CfgPred::Atom("test".into()));
        }
        let r = f(self);
        self.conds.truncate(n);
        r
    }

    fn with_test<R>(&mut self, test: bool, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = self.in_test;
        self.in_test = saved || test;
        let r = f(self);
        self.in_test = saved;
        r
    }

    /// Record the `#[cfg]` conditions of a node that has some.
    fn record_cfg(&mut self, node: CfgNode, cfg: crate::cfg::Cfg) {
        if !cfg.is_empty() {
            self.facts.cfgs.push((node, cfg));
        }
    }

    fn record_path(&mut self, path: Vec<String>, span: Span, is_use: bool) {
        let anchors = self.anchors_innermost_first();
        self.facts.paths.push(PathOcc {
            path,
            scope: self.scope,
            span,
            anchors,
            in_test: self.in_test,
            is_use,
        });
    }

    fn patch_fn(&mut self, item: &syn::Item, idx: FnIdx) {
        if let Some(&id) = self.item_ids.get(&(item as *const _)) {
            self.facts.items[id.idx()].kind = ItemKind::Fn(Some(idx));
        }
    }

    fn item_inner(&mut self, item: &syn::Item) {
        match item {
            syn::Item::Fn(f) => {
                let test = has_test_attr(&f.attrs);
                let line = anchor::item(item).0;
                self.with_conds(&[], test, |ex| {
                    ex.with_test(test, |ex| {
                        let (idx, body_scope) =
                            ex.function(&f.sig, Some(&f.block), FnOwner::Free, line, &[]);
                        ex.facts.fns[idx.idx()].attrs = attr_paths(&f.attrs);
                        ex.patch_fn(item, idx);
                        for a in &f.attrs {
                            ex.visit_attribute(a);
                        }
                        ex.visit_signature(&f.sig);
                        ex.with_scope(body_scope, |ex| ex.visit_block(&f.block));
                    })
                });
            }
            syn::Item::Mod(m) => {
                if let Some((_, items)) = &m.content {
                    let child = self
                        .mod_scopes
                        .get(&(m as *const _))
                        .copied()
                        .unwrap_or(self.scope);
                    self.with_scope(child, |ex| {
                        ex.register_items(child, items.iter());
                        for it in items {
                            ex.visit_item(it);
                        }
                    });
                }
            }
            syn::Item::Impl(i) => {
                self.unsafe_impl(i);
                let impl_idx = ImplIdx::new(self.facts.impls.len());
                let generics = generics_of(&i.generics);
                self.facts.impls.push(ImplFacts {
                    self_ty: ty_ref(&i.self_ty, self.scope),
                    trait_path: i.trait_.as_ref().map(|(_, p, _)| path_segs(p)),
                    scope: self.scope,
                    generics: generics.clone(),
                    methods: Vec::new(),
                    assoc_types: i
                        .items
                        .iter()
                        .filter_map(|ii| match ii {
                            syn::ImplItem::Type(t) => {
                                Some((ident_str(&t.ident), ty_ref(&t.ty, self.scope)))
                            }
                            _ => None,
                        })
                        .collect(),
                });
                for a in &i.attrs {
                    self.visit_attribute(a);
                }
                self.visit_generics(&i.generics);
                if let Some((_, p, _)) = &i.trait_ {
                    self.visit_path(p);
                }
                self.visit_type(&i.self_ty);
                for ii in &i.items {
                    let a = anchor::impl_item(ii);
                    self.anchored(
                        a,
                        Climb::impl_item(ii),
                        lint_level::impl_item_attrs(ii),
                        |ex| match ii {
                            syn::ImplItem::Fn(f) => {
                                // Today's rule: a method's own `#[cfg]` does not make it test code.
                                let test = has_test_attr(&f.attrs);
                                let line = a.0;
                                let own = cfg_of(&f.attrs);
                                ex.with_conds(&own, test, |ex| {
                                    ex.with_test(test, |ex| {
                                        let (idx, body_scope) = ex.function(
                                            &f.sig,
                                            Some(&f.block),
                                            FnOwner::Impl(impl_idx),
                                            line,
                                            &generics,
                                        );
                                        ex.facts.impls[impl_idx.idx()].methods.push(idx);
                                        ex.facts.fns[idx.idx()].attrs = attr_paths(&f.attrs);
                                        ex.record_cfg(CfgNode::Fn(idx), own.clone());
                                        ex.visit_signature(&f.sig);
                                        ex.with_scope(body_scope, |ex| ex.visit_block(&f.block));
                                    })
                                });
                            }
                            syn::ImplItem::Macro(m) => ex.unsafe_in_macro(&m.mac),
                            other => visit::visit_impl_item(ex, other),
                        },
                    );
                }
            }
            syn::Item::Trait(t) => {
                let trait_item = self.item_ids.get(&(item as *const _)).copied();
                let generics = generics_of(&t.generics);
                self.visit_generics(&t.generics);
                for b in &t.supertraits {
                    self.visit_type_param_bound(b);
                }
                for ti in &t.items {
                    let a = anchor::trait_item(ti);
                    self.anchored(
                        a,
                        Climb::trait_item(ti),
                        lint_level::trait_item_attrs(ti),
                        |ex| match ti {
                            syn::TraitItem::Fn(f) => {
                                if let (Some(block), Some(tid)) = (&f.default, trait_item) {
                                    let line = a.0;
                                    let own = cfg_of(&f.attrs);
                                    let (idx, body_scope) = ex.with_conds(&own, false, |ex| {
                                        ex.function(
                                            &f.sig,
                                            Some(block),
                                            FnOwner::Trait(tid),
                                            line,
                                            &generics,
                                        )
                                    });
                                    ex.facts.fns[idx.idx()].attrs = attr_paths(&f.attrs);
                                    ex.record_cfg(CfgNode::Fn(idx), own);
                                    if let ItemKind::Trait { methods } =
                                        &mut ex.facts.items[tid.idx()].kind
                                    {
                                        let name = ident_str(&f.sig.ident);
                                        if let Some(m) = methods.iter_mut().find(|m| m.0 == name) {
                                            m.1 = Some(idx);
                                        }
                                    }
                                    ex.visit_signature(&f.sig);
                                    ex.with_scope(body_scope, |ex| ex.visit_block(block));
                                } else {
                                    ex.visit_signature(&f.sig);
                                }
                            }
                            syn::TraitItem::Macro(m) => ex.unsafe_in_macro(&m.mac),
                            other => visit::visit_trait_item(ex, other),
                        },
                    );
                }
            }
            syn::Item::Use(u) => {
                if self.opts.collect_paths {
                    let mut prefix = Vec::new();
                    if u.leading_colon.is_some() {
                        prefix.push(String::new());
                    }
                    let mut leaves = Vec::new();
                    use_leaves(&u.tree, &mut prefix, &mut leaves);
                    for leaf in leaves {
                        if leaf.name.is_some() {
                            self.record_path(leaf.path, leaf.span, true);
                        }
                    }
                }
            }
            syn::Item::Macro(m) => {
                for a in &m.attrs {
                    self.visit_attribute(a);
                }
                self.unsafe_in_macro(&m.mac);
            }
            other => visit::visit_item(self, other),
        }
    }
}

/// The paths of a function's outer attributes (`tokio::test`, `freenet_test`), without the
/// ones that never make a function a test (docs, lint levels, `cfg`, codegen hints).
fn attr_paths(attrs: &[syn::Attribute]) -> Vec<String> {
    const NEVER: &[&str] = &[
        "doc",
        "cfg",
        "cfg_attr",
        "allow",
        "warn",
        "deny",
        "forbid",
        "expect",
        "inline",
        "must_use",
        "deprecated",
        "track_caller",
        "cold",
        "no_mangle",
        "export_name",
    ];
    attrs
        .iter()
        .filter(|a| matches!(a.style, syn::AttrStyle::Outer))
        .map(|a| {
            a.path()
                .segments
                .iter()
                .map(|s| ident_str(&s.ident))
                .collect::<Vec<_>>()
                .join("::")
        })
        .filter(|p| !NEVER.contains(&p.as_str()))
        .collect()
}

/// The file of an item-level `include!("path")` (also `std::include!`, `core::include!`), when
/// the argument is a string literal.
fn include_path(mac: &syn::Macro) -> Option<String> {
    let segs: Vec<String> = mac
        .path
        .segments
        .iter()
        .map(|s| ident_str(&s.ident))
        .collect();
    let is_include = match segs.as_slice() {
        [one] => one == "include",
        [krate, one] => (krate == "std" || krate == "core") && one == "include",
        _ => false,
    };
    if !is_include {
        return None;
    }
    mac.parse_body::<syn::LitStr>().ok().map(|l| l.value())
}

/// Flatten a use tree into leaves with their full paths.
fn use_leaves(tree: &syn::UseTree, prefix: &mut Vec<String>, out: &mut Vec<UseLeaf>) {
    match tree {
        syn::UseTree::Path(p) => {
            prefix.push(ident_str(&p.ident));
            use_leaves(&p.tree, prefix, out);
            prefix.pop();
        }
        syn::UseTree::Name(n) => {
            let name = ident_str(&n.ident);
            if name == "self" {
                // `use a::b::{self}` binds `b`.
                if let Some(last) = prefix.last() {
                    out.push(UseLeaf {
                        is_pub: false,
                        path: prefix.clone(),
                        name: Some(last.clone()),
                        span: Span::from_pm2(n.ident.span()),
                    });
                }
            } else {
                let mut path = prefix.clone();
                path.push(name.clone());
                out.push(UseLeaf {
                    is_pub: false,
                    path,
                    name: Some(name),
                    span: Span::from_pm2(n.ident.span()),
                });
            }
        }
        syn::UseTree::Rename(r) => {
            let orig = ident_str(&r.ident);
            let mut path = prefix.clone();
            if orig != "self" {
                path.push(orig);
            }
            let name = ident_str(&r.rename);
            if name != "_" {
                out.push(UseLeaf {
                    is_pub: false,
                    path,
                    name: Some(name),
                    span: Span::from_pm2(r.ident.span()),
                });
            } else {
                // `use Trait as _;` still names the item (for banned-type) but binds nothing.
                out.push(UseLeaf {
                    is_pub: false,
                    path,
                    name: Some(String::from("_")),
                    span: Span::from_pm2(r.ident.span()),
                });
            }
        }
        syn::UseTree::Glob(g) => out.push(UseLeaf {
            is_pub: false,
            path: prefix.clone(),
            name: None,
            span: Span::from_pm2(g.star_token.span),
        }),
        syn::UseTree::Group(g) => {
            for t in &g.items {
                use_leaves(t, prefix, out);
            }
        }
    }
}

impl<'ast> Visit<'ast> for Extractor {
    fn visit_item(&mut self, item: &'ast syn::Item) {
        let (attrs, reads_cfg) = item_attrs(item);
        let cfg = cfg_of(attrs);
        let test = reads_cfg && cfg_test_only(&cfg);
        let own = cfg.clone();
        if !cfg.is_empty() {
            let node = match item {
                // `item_inner` pushes the impl next.
                syn::Item::Impl(_) => Some(CfgNode::Impl(ImplIdx::new(self.facts.impls.len()))),
                _ => self
                    .item_ids
                    .get(&(item as *const _))
                    .map(|&id| CfgNode::Item(id)),
            };
            if let Some(node) = node {
                self.record_cfg(node, cfg);
            }
        }
        let anchor = anchor::item(item);
        self.anchored(
            anchor,
            Climb::item(item),
            lint_level::item_attrs(item),
            |ex| {
                ex.with_conds(&own, false, |ex| {
                    ex.with_test(test, |ex| ex.item_inner(item))
                })
            },
        );
    }

    fn visit_path(&mut self, p: &'ast syn::Path) {
        if self.opts.collect_paths && !p.segments.is_empty() {
            let first = p
                .leading_colon
                .as_ref()
                .map(|c| c.spans[0])
                .unwrap_or_else(|| p.segments[0].ident.span());
            let last = p.segments.last().map(|s| s.ident.span()).unwrap_or(first);
            self.record_path(path_segs(p), Span::join(first, last), false);
        }
        visit::visit_path(self, p);
    }

    fn visit_attribute(&mut self, _a: &'ast syn::Attribute) {
        // Attribute paths and arguments are not code paths.
    }

    fn visit_impl_item_fn(&mut self, f: &'ast syn::ImplItemFn) {
        visit::visit_impl_item_fn(self, f);
    }

    unsafe_visits!('ast);
    climb_stops!('ast);
}
