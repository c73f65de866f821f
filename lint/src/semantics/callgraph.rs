//! The call graph: each function body replayed once with a type environment, giving its
//! outgoing edges (calls that run as part of it), its awaited channel sends, and the calls it
//! could not resolve. Summaries are computed lazily, only for functions the search reaches.

use std::collections::HashMap;

use super::known::{ChannelSpec, QUIET_METHODS};
use super::qualname::QualName;
use super::ty::{
    self as types, bind_pat, elem, field_ty, generic_subst, iter_elem, peel, self_type_of,
    std_method, unwrap_try, Lower, Ty,
};
use crate::diagnostic::Span;
use crate::facts::ScopeId;
use crate::facts::{Anchor, Callee, Event, Expr, ItemKind, TyRef};
use crate::index::resolve::TypeKey;
use crate::index::{FileId, FnId, GImpl, GItem, GScope, Index, Res};

#[derive(Debug, Clone)]
pub struct SendSite {
    pub span: Span,
    pub anchors: Vec<Anchor>,
    pub channel: String,
    pub method: String,
}

#[derive(Debug, Clone, Default)]
pub struct FnSummary {
    /// Call site → functions it may call.
    pub edges: Vec<(Span, Vec<FnId>)>,
    pub sends: Vec<SendSite>,
    /// Call site → why it could not be resolved.
    pub unresolved: Vec<(Span, String)>,
}

pub struct Analyzer<'i, 'a> {
    pub index: &'i Index<'a>,
    pub channels: Vec<ChannelSpec>,
    cache: HashMap<FnId, std::rc::Rc<FnSummary>>,
}

impl<'i, 'a> Analyzer<'i, 'a> {
    pub fn new(index: &'i Index<'a>, channels: Vec<ChannelSpec>) -> Self {
        Analyzer {
            index,
            channels,
            cache: HashMap::new(),
        }
    }

    pub fn summary(&mut self, f: FnId) -> std::rc::Rc<FnSummary> {
        if let Some(s) = self.cache.get(&f) {
            return s.clone();
        }
        let s = std::rc::Rc::new(self.analyze(f));
        self.cache.insert(f, s.clone());
        s
    }

    fn analyze(&self, f: FnId) -> FnSummary {
        let index = self.index;
        let facts = index.fn_facts(f);
        let self_ty = self_type_of(index, f);
        let subst = generic_subst(index, f.file, facts.scope, &facts.generics);
        let mut cx = FnCx {
            an: self,
            fid: f.file,
            scope: facts.body_scope,
            self_ty,
            subst,
            env: vec![Vec::new()],
            out: FnSummary::default(),
        };
        for (pat, ty) in &facts.params {
            let t = cx.lower(ty);
            cx.bind(pat, t);
        }
        for ev in &facts.body {
            match ev {
                Event::Enter => cx.env.push(Vec::new()),
                Event::Exit => {
                    if cx.env.len() > 1 {
                        cx.env.pop();
                    }
                }
                Event::Let { pat, ty, init } => {
                    let t = match (ty, init) {
                        (Some(ty), _) => cx.lower(ty),
                        (None, Some(e)) => cx.eval(e),
                        (None, None) => Ty::Unknown,
                    };
                    cx.bind(pat, t);
                }
                Event::Call(cs) => cx.call(cs),
            }
        }
        cx.out
    }

    /// Methods named `name` that a value of type `ty` may dispatch to; `None` if the type is unknown.
    pub fn method_targets(&self, ty: &Ty, name: &str) -> Option<Vec<FnId>> {
        let index = self.index;
        match peel(ty.clone()) {
            Ty::Adt {
                key: TypeKey::Local(it),
                ..
            } => {
                let impls = index
                    .impls_by_type
                    .get(&TypeKey::Local(it))
                    .map(Vec::as_slice)
                    .unwrap_or(&[]);
                let mut out = self.methods_named(impls, name);
                let mut traits = Vec::new();
                for &GImpl { file, idx } in impls {
                    let imp = &index.files[file.idx()].facts.impls[idx.idx()];
                    if let Some(tp) = &imp.trait_path {
                        if let Some(TypeKey::Local(t)) =
                            index.resolve_trait_key(file, imp.scope, tp)
                        {
                            traits.push(t);
                        }
                    }
                }
                if out.is_empty() {
                    for t in traits {
                        if let Some(d) = self.trait_default(t, name) {
                            out.push(d);
                        }
                    }
                }
                Some(out)
            }
            Ty::Traits(keys) => {
                let mut out = Vec::new();
                for k in keys {
                    if let TypeKey::Local(t) = k {
                        out.extend(self.trait_impl_methods(t, name));
                    }
                }
                Some(out)
            }
            Ty::Unknown => None,
            _ => Some(Vec::new()),
        }
    }

    /// The methods called `name` in these impl blocks.
    fn methods_named(&self, impls: &[GImpl], name: &str) -> Vec<FnId> {
        let index = self.index;
        let mut out = Vec::new();
        for &GImpl { file, idx } in impls {
            let imp = &index.files[file.idx()].facts.impls[idx.idx()];
            out.extend(
                imp.methods
                    .iter()
                    .filter(|&&m| index.fn_facts(FnId::new(file, m)).name == name)
                    .map(|&m| FnId::new(file, m)),
            );
        }
        out
    }

    fn trait_default(&self, t: GItem, name: &str) -> Option<FnId> {
        match &self.index.item(t).kind {
            ItemKind::Trait { methods } => methods
                .iter()
                .find(|m| m.0 == name)
                .and_then(|m| m.1)
                .map(|i| FnId::new(t.file, i)),
            _ => None,
        }
    }

    /// Every implementation of trait method `name` in the workspace (plus the default body).
    pub fn trait_impl_methods(&self, t: GItem, name: &str) -> Vec<FnId> {
        let impls = self
            .index
            .impls_by_trait
            .get(&TypeKey::Local(t))
            .map(Vec::as_slice)
            .unwrap_or(&[]);
        let mut out = self.methods_named(impls, name);
        if let Some(d) = self.trait_default(t, name) {
            out.push(d);
        }
        out
    }

    /// Is `ty` a channel whose `method` waits for capacity? Returns the channel's display name.
    pub fn blocking_channel(&self, ty: &Ty, method: &str) -> Option<String> {
        let Ty::Adt { key, .. } = peel(ty.clone()) else {
            return None;
        };
        let (full, display): (Vec<String>, String) = match &key {
            TypeKey::External(p) => (p.split("::").map(str::to_string).collect(), p.clone()),
            TypeKey::Local(it) => {
                let item = self.index.item(*it);
                let mut q = self.index.module_info_of(it.file, item.scope).path;
                q.push(item.name.clone());
                let mut disp = q.clone();
                disp[0] = "crate".into();
                (q, disp.join("::"))
            }
        };
        let name = match key {
            TypeKey::Local(_) => QualName::local(&full),
            TypeKey::External(_) => QualName::external(&full),
        };
        self.channels
            .iter()
            .find(|c| c.methods.iter().any(|m| m == method) && name.is_type(&c.path))
            .map(|_| display)
    }
}

struct FnCx<'c, 'i, 'a> {
    an: &'c Analyzer<'i, 'a>,
    fid: FileId,
    scope: ScopeId,
    self_ty: Option<Ty>,
    subst: Vec<(String, Ty)>,
    env: Vec<Vec<(String, Ty)>>,
    out: FnSummary,
}

impl FnCx<'_, '_, '_> {
    fn index(&self) -> &Index<'_> {
        self.an.index
    }

    fn lower(&self, t: &TyRef) -> Ty {
        Lower {
            index: self.an.index,
            self_ty: self.self_ty.as_ref(),
            subst: self.subst.clone(),
        }
        .lower(self.fid, t)
    }

    fn bind(&mut self, pat: &crate::facts::Pat, ty: Ty) {
        let mut out = Vec::new();
        bind_pat(
            self.an.index,
            self.fid,
            self.scope,
            self.self_ty.as_ref(),
            pat,
            ty,
            &mut out,
        );
        if let Some(top) = self.env.last_mut() {
            top.extend(out);
        }
    }

    fn var(&self, name: &str) -> Option<Ty> {
        self.env.iter().rev().find_map(|frame| {
            frame
                .iter()
                .rev()
                .find(|(n, _)| n == name)
                .map(|(_, t)| t.clone())
        })
    }

    fn ret_of(&self, f: FnId, self_ty: Option<&Ty>) -> Ty {
        let index = self.an.index;
        let facts = index.fn_facts(f);
        let Some(ret) = &facts.ret else {
            return Ty::Tuple(vec![]);
        };
        let own_self = self_type_of(index, f);
        let self_ty = self_ty.cloned().or(own_self);
        let subst = generic_subst(index, f.file, facts.scope, &facts.generics);
        Lower {
            index,
            self_ty: self_ty.as_ref(),
            subst,
        }
        .lower(f.file, ret)
    }

    fn eval(&self, e: &Expr) -> Ty {
        self.eval_d(e, 0)
    }

    fn eval_d(&self, e: &Expr, depth: usize) -> Ty {
        if depth > 64 {
            return Ty::Unknown;
        }
        match e {
            Expr::Path(p) => {
                if p.len() == 1 {
                    if p[0] == "self" {
                        return self.self_ty.clone().unwrap_or(Ty::Unknown);
                    }
                    if let Some(t) = self.var(&p[0]) {
                        return t;
                    }
                }
                match self
                    .index()
                    .resolve_path(GScope::new(self.fid, self.scope), p, false)
                {
                    Some(Res::Item(it)) => match &self.index().item(it).kind {
                        ItemKind::Const(t) | ItemKind::Static(t) => Lower {
                            index: self.an.index,
                            self_ty: None,
                            subst: vec![],
                        }
                        .lower(it.file, t),
                        ItemKind::Struct { .. } => Ty::Adt {
                            key: TypeKey::Local(it),
                            args: vec![],
                        },
                        _ => Ty::Unknown,
                    },
                    Some(Res::Variant(en, _)) => Ty::Adt {
                        key: TypeKey::Local(en),
                        args: vec![],
                    },
                    _ => Ty::Unknown,
                }
            }
            Expr::Field(b, name) => field_ty(self.an.index, &self.eval_d(b, depth + 1), name),
            Expr::Method(r, name, args) => {
                let rt = self.eval_d(r, depth + 1);
                self.method_ret(&rt, name, args, depth)
            }
            Expr::Call(path, args) => self.call_ret(path, args, depth),
            Expr::Index(b) => elem(&self.eval_d(b, depth + 1)),
            Expr::Ref(b) => self.eval_d(b, depth + 1),
            Expr::Try(b) => unwrap_try(&self.eval_d(b, depth + 1)),
            Expr::StructLit(p) => {
                match self
                    .index()
                    .resolve_path(GScope::new(self.fid, self.scope), p, false)
                {
                    Some(Res::Item(it)) => Ty::Adt {
                        key: TypeKey::Local(it),
                        args: vec![],
                    },
                    Some(Res::Variant(en, _)) => Ty::Adt {
                        key: TypeKey::Local(en),
                        args: vec![],
                    },
                    Some(Res::SelfType(_)) => self.self_ty.clone().unwrap_or(Ty::Unknown),
                    _ => Ty::Unknown,
                }
            }
            Expr::Tuple(es) => Ty::Tuple(es.iter().map(|x| self.eval_d(x, depth + 1)).collect()),
            Expr::IterElem(b) => iter_elem(&self.eval_d(b, depth + 1)),
            Expr::Unknown => Ty::Unknown,
        }
    }

    fn method_ret(&self, recv: &Ty, name: &str, _args: &[Expr], _depth: usize) -> Ty {
        let peeled = peel(recv.clone());
        if matches!(
            peeled,
            Ty::Adt {
                key: TypeKey::Local(_),
                ..
            } | Ty::Traits(_)
        ) {
            if let Some(targets) = self.an.method_targets(&peeled, name) {
                for t in targets {
                    let r = self.ret_of(t, Some(&peeled));
                    if r != Ty::Unknown {
                        return r;
                    }
                }
            }
        }
        std_method(&peeled, name).unwrap_or(Ty::Unknown)
    }

    fn call_ret(&self, path: &[String], args: &[Expr], depth: usize) -> Ty {
        let index = self.an.index;
        match index.resolve_path(GScope::new(self.fid, self.scope), path, false) {
            Some(Res::Item(it)) => match index.fn_of_item(it) {
                Some(f) => self.ret_of(f, None),
                None => match index.item(it).kind {
                    ItemKind::Struct { .. } => Ty::Adt {
                        key: TypeKey::Local(it),
                        args: vec![],
                    },
                    _ => Ty::Unknown,
                },
            },
            Some(Res::Assoc(it, name)) => {
                let ty = Ty::Adt {
                    key: TypeKey::Local(it),
                    args: vec![],
                };
                let targets = match index.item(it).kind {
                    ItemKind::Trait { .. } => self.an.trait_impl_methods(it, &name),
                    _ => self.an.method_targets(&ty, &name).unwrap_or_default(),
                };
                targets
                    .into_iter()
                    .map(|t| self.ret_of(t, Some(&ty)))
                    .find(|r| *r != Ty::Unknown)
                    .unwrap_or(Ty::Unknown)
            }
            Some(Res::SelfType(Some(name))) => {
                let Some(st) = self.self_ty.clone() else {
                    return Ty::Unknown;
                };
                self.an
                    .method_targets(&st, &name)
                    .unwrap_or_default()
                    .into_iter()
                    .map(|t| self.ret_of(t, Some(&st)))
                    .find(|r| *r != Ty::Unknown)
                    .unwrap_or(Ty::Unknown)
            }
            Some(Res::Variant(en, _)) => Ty::Adt {
                key: TypeKey::Local(en),
                args: vec![],
            },
            Some(Res::External(p)) => types::external_call(&p, || {
                args.first()
                    .map(|a| self.eval_d(a, depth + 1))
                    .unwrap_or(Ty::Unknown)
            })
            .unwrap_or(Ty::Unknown),
            _ => Ty::Unknown,
        }
    }

    fn call(&mut self, cs: &crate::facts::CallSite) {
        match &cs.callee {
            Callee::Method { recv, name } => {
                let rt = self.eval(recv);
                if cs.awaited {
                    if let Some(channel) = self.an.blocking_channel(&rt, name) {
                        self.out.sends.push(SendSite {
                            span: cs.span,
                            anchors: cs.anchors.clone(),
                            channel,
                            method: name.clone(),
                        });
                    }
                }
                match self.an.method_targets(&rt, name) {
                    Some(t) if !t.is_empty() => self.out.edges.push((cs.span, t)),
                    Some(_) => {}
                    None => {
                        if !QUIET_METHODS.contains(&name.as_str()) {
                            self.out.unresolved.push((
                                cs.span,
                                format!("`.{name}(..)`: the receiver's type is not known"),
                            ));
                        }
                    }
                }
            }
            Callee::Path { path, qself } => {
                let index = self.an.index;
                let resolved = index.resolve_path(GScope::new(self.fid, self.scope), path, false);
                // `Sender::send(&tx, x).await`: the method called through its type's path.
                if let (true, Some(Res::External(p))) = (cs.awaited, &resolved) {
                    if let Some((method, ty_path)) = p.split_last() {
                        let ty = types::ext(&ty_path.join("::"), vec![]);
                        if let Some(channel) = self.an.blocking_channel(&ty, method) {
                            self.out.sends.push(SendSite {
                                span: cs.span,
                                anchors: cs.anchors.clone(),
                                channel,
                                method: method.clone(),
                            });
                        }
                    }
                }
                let targets: Option<Vec<FnId>> = match resolved {
                    Some(Res::Item(it)) => Some(index.fn_of_item(it).into_iter().collect()),
                    Some(Res::Assoc(it, name)) => Some(match index.item(it).kind {
                        ItemKind::Trait { .. } => match qself {
                            Some(q) => {
                                let qt = self.lower(q);
                                self.an
                                    .method_targets(&qt, &name)
                                    .unwrap_or_else(|| self.an.trait_impl_methods(it, &name))
                            }
                            None => self.an.trait_impl_methods(it, &name),
                        },
                        _ => self
                            .an
                            .method_targets(
                                &Ty::Adt {
                                    key: TypeKey::Local(it),
                                    args: vec![],
                                },
                                &name,
                            )
                            .unwrap_or_default(),
                    }),
                    Some(Res::SelfType(Some(name))) => match &self.self_ty {
                        Some(st) => self.an.method_targets(st, &name),
                        None => None,
                    },
                    Some(_) => Some(Vec::new()),
                    None => None,
                };
                match targets {
                    Some(t) if !t.is_empty() => self.out.edges.push((cs.span, t)),
                    Some(_) => {}
                    None => {
                        let what = if path.len() == 1 && self.var(&path[0]).is_some() {
                            format!("`{}(..)` calls a closure or function value", path[0])
                        } else {
                            format!(
                                "`{}(..)` does not resolve to a known function",
                                path.join("::")
                            )
                        };
                        self.out.unresolved.push((cs.span, what));
                    }
                }
            }
        }
    }
}
