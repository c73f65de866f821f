//! Type knowledge without a type checker: declared types, flowing through patterns, wrappers,
//! containers and the declared return types of resolved calls.
//!
//! [`Ty`] is what an expression is known to be. Types come only from what the source declares
//! (fields, parameters, `let` annotations, enum variant fields, return types) and from a short
//! list of well-known constructors (`mpsc::channel`, `Arc::new`, `Some`, `Type::new`). Anything
//! else is [`Ty::Unknown`], and calls on it are recorded as unresolved, never guessed.

use crate::facts::ScopeId;
use crate::facts::{FnOwner, Generic, ImplFacts, ItemKind, Pat, TyRef};
use crate::index::resolve::TypeKey;
use crate::index::{FileId, FnId, GItem, GScope, Index, Res};
use crate::semantics::known::channel_constructor;

#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Ty {
    Adt {
        key: TypeKey,
        args: Vec<Ty>,
    },
    Tuple(Vec<Ty>),
    /// Slices and arrays.
    Slice(Box<Ty>),
    /// `dyn Trait`, `impl Trait` or a generic parameter: its trait bounds.
    Traits(Vec<TypeKey>),
    /// An iterator yielding the inner type.
    Iter(Box<Ty>),
    /// The sender of a channel made by a known constructor whose capacity its type does not
    /// tell (`async_channel::bounded` and `::unbounded` both make an `async_channel::Sender`):
    /// the Rust type's path and whether the channel has a capacity. Otherwise opaque, like an
    /// external type with no arguments.
    Channel {
        ty: String,
        bounded: bool,
    },
    /// The future a call of an `async fn` or an `async` block makes, with its output type:
    /// awaiting it gives the output. Its methods (combinators, extension traits) are not
    /// followed.
    Future(Box<Ty>),
    Unknown,
}

pub fn ext(name: &str, args: Vec<Ty>) -> Ty {
    Ty::Adt {
        key: TypeKey::External(name.to_string()),
        args,
    }
}

fn last_seg(key: &TypeKey) -> Option<&str> {
    match key {
        // The segments never hold a lone `:`, so splitting on the char (a fast byte search)
        // gives the same last segment as splitting on `::`.
        TypeKey::External(p) => p.rsplit(':').next(),
        TypeKey::Local(_) => None,
    }
}

const WRAPPERS: &[&str] = &[
    "Arc",
    "Rc",
    "Box",
    "Cow",
    "RefCell",
    "Mutex",
    "RwLock",
    "MutexGuard",
    "RwLockReadGuard",
    "RwLockWriteGuard",
    "OwnedMutexGuard",
    "Pin",
    "ManuallyDrop",
    "Cell",
    "AssertUnwindSafe",
    "ArcSwap",
];
const SEQS: &[&str] = &[
    "Vec",
    "VecDeque",
    "HashSet",
    "BTreeSet",
    "SmallVec",
    "LinkedList",
    "BinaryHeap",
    "IndexSet",
];
const MAPS: &[&str] = &[
    "HashMap",
    "BTreeMap",
    "IndexMap",
    "DashMap",
    "FxHashMap",
    "AHashMap",
    "Slab",
    "SlotMap",
];

fn is_named(ty: &Ty, names: &[&str]) -> bool {
    matches!(ty, Ty::Adt { key, .. } if last_seg(key).is_some_and(|l| names.contains(&l)))
}

fn arg(ty: &Ty, i: usize) -> Ty {
    match ty {
        Ty::Adt { args, .. } => args.get(i).cloned().unwrap_or(Ty::Unknown),
        _ => Ty::Unknown,
    }
}

/// Look through smart pointers, locks and guards (auto-deref).
pub fn peel(mut ty: Ty) -> Ty {
    for _ in 0..16 {
        if is_named(&ty, WRAPPERS) {
            ty = arg(&ty, 0);
        } else {
            break;
        }
    }
    ty
}

/// One layer of [`peel`]: the type a wrapper (`Arc`, `Box`, `Mutex`, ...) holds, if `ty` is one.
pub fn unwrap_one(ty: &Ty) -> Option<&Ty> {
    static UNKNOWN: Ty = Ty::Unknown;
    if !is_named(ty, WRAPPERS) {
        return None;
    }
    match ty {
        Ty::Adt { args, .. } => Some(args.first().unwrap_or(&UNKNOWN)),
        _ => None,
    }
}

/// [`peel`] without cloning: the type a reference to `ty` derefs to.
pub fn peel_ref(mut ty: &Ty) -> &Ty {
    static UNKNOWN: Ty = Ty::Unknown;
    for _ in 0..16 {
        if !is_named(ty, WRAPPERS) {
            break;
        }
        ty = match ty {
            Ty::Adt { args, .. } => args.first().unwrap_or(&UNKNOWN),
            _ => &UNKNOWN,
        };
    }
    ty
}

pub fn option(t: Ty) -> Ty {
    ext("Option", vec![t])
}

fn is_option(ty: &Ty) -> bool {
    is_named(ty, &["Option"])
}

fn is_result(ty: &Ty) -> bool {
    is_named(ty, &["Result", "Poll"])
}

/// The element type of a container (`Vec<T>` → T, `HashMap<K, V>` → V, `[T]` → T).
pub fn elem(ty: &Ty) -> Ty {
    let ty = peel(ty.clone());
    match &ty {
        Ty::Slice(t) => (**t).clone(),
        _ if is_named(&ty, SEQS) => arg(&ty, 0),
        _ if is_named(&ty, MAPS) => {
            if is_named(&ty, &["Slab", "SlotMap"]) {
                arg(&ty, 0)
            } else {
                arg(&ty, 1)
            }
        }
        _ => Ty::Unknown,
    }
}

/// What `for x in <ty>` binds.
pub fn iter_elem(ty: &Ty) -> Ty {
    let ty = peel(ty.clone());
    match &ty {
        Ty::Iter(t) => (**t).clone(),
        Ty::Slice(t) => (**t).clone(),
        _ if is_named(&ty, MAPS) && !is_named(&ty, &["Slab", "SlotMap"]) => {
            Ty::Tuple(vec![arg(&ty, 0), arg(&ty, 1)])
        }
        _ if is_named(&ty, SEQS) || is_option(&ty) => arg(&ty, 0),
        _ => Ty::Unknown,
    }
}

/// `e?`.
pub fn unwrap_try(ty: &Ty) -> Ty {
    let ty = peel(ty.clone());
    if is_option(&ty) || is_result(&ty) {
        arg(&ty, 0)
    } else {
        ty
    }
}

/// Methods of std types (containers, options, iterators) whose result type we know.
/// `None` means: not a std method we model.
pub fn std_method(recv: &Ty, name: &str) -> Option<Ty> {
    let ty = peel(recv.clone());
    if let Ty::Adt {
        key: TypeKey::External(p),
        ..
    } = &ty
    {
        if let Some(t) = crate::semantics::known::external_method_ret(p, name) {
            return Some(t);
        }
    }
    if is_option(&ty) || is_result(&ty) {
        return match name {
            "unwrap" | "expect" | "unwrap_or" | "unwrap_or_default" | "unwrap_or_else"
            | "unwrap_unchecked" => Some(arg(&ty, 0)),
            "as_ref" | "as_mut" | "take" | "cloned" | "copied" | "clone" | "as_deref"
            | "as_deref_mut" | "or" | "or_else" | "filter" | "replace" => Some(ty.clone()),
            "ok" => Some(option(arg(&ty, 0))),
            "iter" | "iter_mut" | "into_iter" => Some(Ty::Iter(Box::new(arg(&ty, 0)))),
            _ => passthrough(ty, name).or(Some(Ty::Unknown)),
        };
    }
    if let Ty::Iter(t) = &ty {
        return Some(match name {
            "next" | "last" | "find" | "nth" | "min_by_key" | "max_by_key" | "min_by"
            | "max_by" | "next_back" => option((**t).clone()),
            "filter" | "rev" | "skip" | "take" | "peekable" | "cloned" | "copied" | "chain"
            | "by_ref" | "skip_while" | "take_while" | "step_by" | "into_iter" | "iter"
            | "fuse" | "inspect" => ty.clone(),
            "enumerate" => Ty::Iter(Box::new(Ty::Tuple(vec![Ty::Unknown, (**t).clone()]))),
            _ => Ty::Unknown,
        });
    }
    let is_map = is_named(&ty, MAPS);
    if is_map || is_named(&ty, SEQS) || matches!(ty, Ty::Slice(_)) {
        let e = elem(&ty);
        return Some(match name {
            "get" | "get_mut" | "first" | "last" | "first_mut" | "last_mut" | "pop"
            | "pop_front" | "pop_back" | "front" | "back" | "front_mut" | "back_mut" | "remove"
            | "swap_remove" | "get_key_value" => option(e),
            "values" | "values_mut" | "into_values" => Ty::Iter(Box::new(e)),
            "iter" | "iter_mut" | "into_iter" | "drain" => {
                if is_map {
                    Ty::Iter(Box::new(Ty::Tuple(vec![arg(&ty, 0), e])))
                } else {
                    Ty::Iter(Box::new(e))
                }
            }
            "entry" => ty.clone(),
            "or_insert" | "or_insert_with" | "or_default" | "index" | "index_mut" => e,
            _ => return passthrough(ty, name),
        });
    }
    passthrough(ty, name)
}

/// Methods that return their receiver (looked through): clones, borrows, lock guards.
fn passthrough(ty: Ty, name: &str) -> Option<Ty> {
    match name {
        "clone" | "to_owned" | "borrow" | "borrow_mut" | "as_ref" | "as_mut" | "deref"
        | "deref_mut" | "lock" | "read" | "write" | "lock_owned" | "blocking_lock"
        | "blocking_read" | "blocking_write" | "get_ref" | "get_mut" | "by_ref" | "load"
        | "load_full" => Some(ty),
        _ => None,
    }
}

/// Well-known external functions whose result type we know: channel constructors and wrappers.
pub fn external_call(path: &[String], arg0: impl FnOnce() -> Ty) -> Option<Ty> {
    let joined = path.join("::");
    if let Some(t) = crate::semantics::known::external_fn_ret(&joined) {
        return Some(t);
    }
    if let Some(c) = channel_constructor(&joined) {
        // The sender carries the capacity where its type does not tell it (the receiver waits
        // for messages either way).
        let sender = match c.bounded {
            Some(bounded) => Ty::Channel {
                ty: c.sender.to_string(),
                bounded,
            },
            None => ext(c.sender, vec![]),
        };
        return Some(Ty::Tuple(vec![sender, ext(c.receiver, vec![])]));
    }
    let last = path.last()?.as_str();
    if path.len() == 1 || path.ends_with(&["Option".into(), "Some".into()]) {
        match last {
            "Some" => return Some(option(arg0())),
            "Ok" => return Some(ext("Result", vec![arg0()])),
            _ => {}
        }
    }
    if path.len() >= 2 {
        let ty_name = path[path.len() - 2].as_str();
        if WRAPPERS.contains(&ty_name) && matches!(last, "new" | "from" | "pin") {
            return Some(arg0());
        }
        if matches!(
            last,
            "new" | "default" | "with_capacity" | "bind" | "connect" | "from" | "open" | "create"
        ) {
            return Some(ext(&path[..path.len() - 1].join("::"), vec![]));
        }
    }
    None
}

/// Lower a written type to a [`Ty`] in `fid`, with `Self` and generic parameters substituted.
pub struct Lower<'i, 'a> {
    pub index: &'i Index<'a>,
    pub self_ty: Option<&'i Ty>,
    /// Generic parameters: name → substitution (a concrete type, or its bounds).
    pub subst: Vec<(String, Ty)>,
}

impl Lower<'_, '_> {
    pub fn lower(&self, fid: FileId, t: &TyRef) -> Ty {
        self.lower_d(fid, t, 0)
    }

    fn lower_d(&self, fid: FileId, t: &TyRef, depth: usize) -> Ty {
        if depth > 12 {
            return Ty::Unknown;
        }
        match t {
            TyRef::Path { path, args, scope } => {
                if path.len() == 1 {
                    if let Some((_, ty)) = self.subst.iter().find(|(n, _)| n == &path[0]) {
                        return ty.clone();
                    }
                }
                let args: Vec<Ty> = args
                    .iter()
                    .map(|a| self.lower_d(fid, a, depth + 1))
                    .collect();
                match self
                    .index
                    .resolve_path(GScope::new(fid, *scope), path, false)
                {
                    Some(Res::Item(it)) => match &self.index.item(it).kind {
                        ItemKind::TypeAlias(target) => self.lower_d(it.file, target, depth + 1),
                        ItemKind::Struct { .. }
                        | ItemKind::Enum { .. }
                        | ItemKind::Union { .. } => Ty::Adt {
                            key: TypeKey::Local(it),
                            args,
                        },
                        ItemKind::Trait { .. } => Ty::Traits(vec![TypeKey::Local(it)]),
                        _ => Ty::Unknown,
                    },
                    Some(Res::External(p)) => Ty::Adt {
                        key: TypeKey::External(p.join("::")),
                        args,
                    },
                    Some(Res::SelfType(None)) => self.self_ty.cloned().unwrap_or(Ty::Unknown),
                    None if path.len() == 1 => Ty::Adt {
                        key: TypeKey::External(path[0].clone()),
                        args,
                    },
                    _ => Ty::Unknown,
                }
            }
            TyRef::Ref(inner) => self.lower_d(fid, inner, depth + 1),
            TyRef::Tuple(ts) => {
                Ty::Tuple(ts.iter().map(|x| self.lower_d(fid, x, depth + 1)).collect())
            }
            TyRef::Slice(t) => Ty::Slice(Box::new(self.lower_d(fid, t, depth + 1))),
            TyRef::Traits { traits, scope } => Ty::Traits(
                traits
                    .iter()
                    .filter_map(|p| self.index.resolve_trait_key(fid, *scope, p))
                    .collect(),
            ),
            TyRef::SelfTy => self.self_ty.cloned().unwrap_or(Ty::Unknown),
            TyRef::Unknown => Ty::Unknown,
        }
    }
}

/// Generic parameters as their bounds (`T: Handler` → `Traits([Handler])`).
pub fn generic_subst(
    index: &Index,
    fid: FileId,
    scope: ScopeId,
    generics: &[Generic],
) -> Vec<(String, Ty)> {
    generics
        .iter()
        .map(|g| {
            let keys = g
                .bounds
                .iter()
                .filter_map(|b| index.resolve_trait_key(fid, scope, b))
                .collect();
            (g.name.clone(), Ty::Traits(keys))
        })
        .collect()
}

/// The substitution for an impl block's generic parameters when its methods are called on a
/// value of type `recv`: a parameter written as a whole argument of the impl's self type
/// (`impl<K, V> Map<K, V>`) takes the receiver's argument in that position (`Map<u8,
/// Sender<T>>` gives `V = Sender<T>`). Only those bindings are returned; the other parameters
/// stand for their bounds ([`generic_subst`]).
pub fn impl_subst(imp: &ImplFacts, recv: &Ty) -> Vec<(String, Ty)> {
    let mut subst: Vec<(String, Ty)> = Vec::new();
    if let (TyRef::Path { args, .. }, Ty::Adt { args: rargs, .. }) = (&imp.self_ty, peel_ref(recv))
    {
        for (written, actual) in args.iter().zip(rargs) {
            if let TyRef::Path { path, args, .. } = written {
                if args.is_empty()
                    && path.len() == 1
                    && *actual != Ty::Unknown
                    && imp.generics.iter().any(|g| g.name == path[0])
                    && !subst.iter().any(|(n, _)| *n == path[0])
                {
                    subst.push((path[0].clone(), actual.clone()));
                }
            }
        }
    }
    subst
}

/// The self type of a method (from its impl), or the trait (for default bodies).
pub fn self_type_of(index: &Index, f: FnId) -> Option<Ty> {
    let facts = index.fn_facts(f);
    let file = &index.files[f.file.idx()].facts;
    match facts.owner {
        FnOwner::Free => None,
        FnOwner::Impl(i) => {
            let imp = &file.impls[i.idx()];
            let subst = generic_subst(index, f.file, imp.scope, &imp.generics);
            let l = Lower {
                index,
                self_ty: None,
                subst,
            };
            Some(l.lower(f.file, &imp.self_ty))
        }
        FnOwner::Trait(t) => Some(Ty::Traits(vec![TypeKey::Local(GItem::new(f.file, t))])),
    }
}

/// Field type of a struct (or the named field of a tuple), with the struct's generics substituted.
pub fn field_ty(index: &Index, base: &Ty, name: &str) -> Ty {
    let base = peel(base.clone());
    match &base {
        Ty::Tuple(ts) => name
            .parse::<usize>()
            .ok()
            .and_then(|i| ts.get(i).cloned())
            .unwrap_or(Ty::Unknown),
        Ty::Adt {
            key: TypeKey::Local(it),
            args,
        } => match &index.item(*it).kind {
            ItemKind::Struct { fields, generics } => match fields.iter().find(|f| f.name == name) {
                Some(f) => {
                    let subst = generics
                        .iter()
                        .enumerate()
                        .map(|(i, g)| (g.name.clone(), args.get(i).cloned().unwrap_or(Ty::Unknown)))
                        .collect();
                    Lower {
                        index,
                        self_ty: Some(&base),
                        subst,
                    }
                    .lower(it.file, &f.ty)
                }
                None => Ty::Unknown,
            },
            ItemKind::Union { fields } => match fields.iter().find(|f| f.name == name) {
                Some(f) => Lower {
                    index,
                    self_ty: Some(&base),
                    subst: vec![],
                }
                .lower(it.file, &f.ty),
                None => Ty::Unknown,
            },
            _ => Ty::Unknown,
        },
        _ => Ty::Unknown,
    }
}

/// Bind the names of a pattern matched against a value of type `ty`.
pub fn bind_pat(
    index: &Index,
    fid: FileId,
    scope: ScopeId,
    self_ty: Option<&Ty>,
    pat: &Pat,
    ty: Ty,
    out: &mut Vec<(String, Ty)>,
) {
    match pat {
        Pat::Bind(n) => out.push((n.clone(), ty)),
        Pat::Ref(p) => bind_pat(index, fid, scope, self_ty, p, ty, out),
        Pat::Tuple(ps) => {
            let ty = peel(ty);
            for (i, p) in ps.iter().enumerate() {
                let t = match &ty {
                    Ty::Tuple(ts) => ts.get(i).cloned().unwrap_or(Ty::Unknown),
                    _ => Ty::Unknown,
                };
                bind_pat(index, fid, scope, self_ty, p, t, out);
            }
        }
        Pat::TupleStruct { path, elems } => {
            let last = path.last().map(String::as_str).unwrap_or("");
            let ty = peel(ty);
            let resolved = index.resolve_path(GScope::new(fid, scope), path, false);
            let fields: Vec<Ty> = match (&resolved, last) {
                (Some(Res::Variant(e, v)), _) => variant_field_tys(index, *e, *v, &ty, None),
                (Some(Res::Item(it)), _)
                    if matches!(index.item(*it).kind, ItemKind::Struct { .. }) =>
                {
                    let st = Ty::Adt {
                        key: TypeKey::Local(*it),
                        args: vec![],
                    };
                    (0..elems.len())
                        .map(|i| field_ty(index, &st, &i.to_string()))
                        .collect()
                }
                (Some(Res::SelfType(Some(v))), _) => match self_ty {
                    Some(Ty::Adt {
                        key: TypeKey::Local(e),
                        ..
                    }) => match &index.item(*e).kind {
                        ItemKind::Enum { variants, .. } => {
                            match variants.iter().position(|x| &x.name == v) {
                                Some(i) => variant_field_tys(index, *e, i as u32, &ty, None),
                                None => vec![],
                            }
                        }
                        _ => vec![],
                    },
                    _ => vec![],
                },
                (_, "Some") | (_, "Ok") | (_, "Ready") => {
                    vec![if is_option(&ty) || is_result(&ty) {
                        arg(&ty, 0)
                    } else {
                        Ty::Unknown
                    }]
                }
                (_, "Err") => vec![arg(&ty, 1)],
                _ => vec![],
            };
            for (i, p) in elems.iter().enumerate() {
                bind_pat(
                    index,
                    fid,
                    scope,
                    self_ty,
                    p,
                    fields.get(i).cloned().unwrap_or(Ty::Unknown),
                    out,
                );
            }
        }
        Pat::Struct { path, fields } => {
            let ty = peel(ty);
            let resolved = index.resolve_path(GScope::new(fid, scope), path, false);
            for (name, p) in fields {
                let t = match &resolved {
                    Some(Res::Variant(e, v)) => variant_field_tys(index, *e, *v, &ty, Some(name))
                        .pop()
                        .unwrap_or(Ty::Unknown),
                    Some(Res::Item(it)) => field_ty(
                        index,
                        &Ty::Adt {
                            key: TypeKey::Local(*it),
                            args: vec![],
                        },
                        name,
                    ),
                    Some(Res::SelfType(None)) => self_ty
                        .map(|s| field_ty(index, s, name))
                        .unwrap_or(Ty::Unknown),
                    Some(Res::SelfType(Some(v))) => match self_ty {
                        Some(Ty::Adt {
                            key: TypeKey::Local(e),
                            ..
                        }) => match &index.item(*e).kind {
                            ItemKind::Enum { variants, .. } => match variants
                                .iter()
                                .position(|x| &x.name == v)
                            {
                                Some(i) => variant_field_tys(index, *e, i as u32, &ty, Some(name))
                                    .pop()
                                    .unwrap_or(Ty::Unknown),
                                None => Ty::Unknown,
                            },
                            _ => Ty::Unknown,
                        },
                        _ => Ty::Unknown,
                    },
                    _ => Ty::Unknown,
                };
                bind_pat(index, fid, scope, self_ty, p, t, out);
            }
        }
        Pat::Other => {}
    }
}

/// Field types of an enum variant (all, or the one named `only`).
fn variant_field_tys(index: &Index, e: GItem, v: u32, value: &Ty, only: Option<&str>) -> Vec<Ty> {
    let ItemKind::Enum { variants, generics } = &index.item(e).kind else {
        return vec![];
    };
    let Some(var) = variants.get(v as usize) else {
        return vec![];
    };
    let args: Vec<Ty> = match value {
        Ty::Adt {
            key: TypeKey::Local(k),
            args,
        } if *k == e => args.clone(),
        _ => vec![],
    };
    let subst = generics
        .iter()
        .enumerate()
        .map(|(i, g)| (g.name.clone(), args.get(i).cloned().unwrap_or(Ty::Unknown)))
        .collect();
    let self_ty = Ty::Adt {
        key: TypeKey::Local(e),
        args: vec![],
    };
    let l = Lower {
        index,
        self_ty: Some(&self_ty),
        subst,
    };
    var.fields
        .iter()
        .filter(|f| only.is_none_or(|n| f.name == n))
        .map(|f| l.lower(e.file, &f.ty))
        .collect()
}
