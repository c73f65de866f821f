//! Name resolution: what a path written in some scope refers to.
//!
//! Follows Rust 2018 rules closely enough for linting: block scopes see their enclosing
//! module; modules do not see their parents; `use` leaves (plain, renamed, grouped, `self`)
//! and glob imports are followed across files; `crate`, `self`, `super` and a leading `::` are
//! understood; the first segment of an unknown multi-segment path is taken to be an external
//! crate. Nothing is guessed beyond that: an unknown single name resolves to nothing.

use super::{FileId, GItem, GScope, Index};
use crate::facts::{ItemKind, ScopeId, ScopeKind, TyRef};

/// What a path refers to.
#[derive(Clone, Debug, PartialEq, Eq, Hash)]
pub enum Res {
    Module(GScope),
    Item(GItem),
    /// An enum variant (enum item, variant index).
    Variant(GItem, u32),
    /// `Type::name` / `Trait::name` where the type or trait is ours.
    Assoc(GItem, String),
    /// A path outside the workspace, fully qualified as far as we know.
    External(Vec<String>),
    /// Several external glob imports could provide the name.
    Ambiguous(Vec<Vec<String>>),
    /// `Self`, or `Self::name`.
    SelfType(Option<String>),
}

/// The identity of a type: one of ours, or an external path.
#[derive(Clone, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum TypeKey {
    Local(GItem),
    External(String),
}

const MAX_DEPTH: usize = 32;

/// Names the std prelude brings into every module (resolved as external when not shadowed).
const PRELUDE: &[&str] = &[
    "Some",
    "None",
    "Ok",
    "Err",
    "Option",
    "Result",
    "Vec",
    "Box",
    "String",
    "drop",
    "Default",
    "Clone",
    "Copy",
    "Send",
    "Sync",
    "Sized",
    "Iterator",
    "IntoIterator",
    "Extend",
    "ToString",
    "ToOwned",
    "Into",
    "From",
    "TryFrom",
    "TryInto",
    "AsRef",
    "AsMut",
    "Fn",
    "FnMut",
    "FnOnce",
    "PartialEq",
    "Eq",
    "PartialOrd",
    "Ord",
    "Debug",
    "Hash",
    "Unpin",
    "Drop",
    "DoubleEndedIterator",
    "ExactSizeIterator",
    "FromIterator",
];

impl Index<'_> {
    /// Resolve `path` as written in `scope`. `is_use`: the path of a `use` (a lone unknown
    /// name is then an external crate).
    pub fn resolve_path(&self, scope: GScope, path: &[String], is_use: bool) -> Option<Res> {
        self.resolve_path_d(scope, path, is_use, 0)
    }

    fn resolve_path_d(
        &self,
        scope: GScope,
        path: &[String],
        is_use: bool,
        depth: usize,
    ) -> Option<Res> {
        if path.is_empty() || depth > MAX_DEPTH {
            return None;
        }
        let first = path[0].as_str();
        let (mut res, start) = match first {
            "" => {
                let name = path.get(1)?;
                match self.crate_by_name(name) {
                    Some(root) => (Res::Module(root), 2),
                    None => return Some(Res::External(path[1..].to_vec())),
                }
            }
            "crate" => (
                Res::Module(self.module_info_of(scope.file, scope.scope).crate_root),
                1,
            ),
            "self" => (Res::Module(self.module_scope(scope.file, scope.scope)), 1),
            "super" => (
                Res::Module(self.parent_module(self.module_scope(scope.file, scope.scope))?),
                1,
            ),
            "Self" => return Some(Res::SelfType(path.get(1).cloned())),
            name => match self.lookup_chain(scope, name, path.len() > 1, depth) {
                Some(r) => (r, 1),
                None => {
                    if let Some(root) = self.crate_by_name(name) {
                        (Res::Module(root), 1)
                    } else if path.len() > 1 || is_use || PRELUDE.contains(&name) {
                        return Some(Res::External(path.to_vec()));
                    } else {
                        return None;
                    }
                }
            },
        };
        for (i, seg) in path.iter().enumerate().skip(start) {
            let want_container = i + 1 < path.len();
            res = self.step(res, seg, want_container, depth)?;
        }
        Some(res)
    }

    fn parent_module(&self, m: GScope) -> Option<GScope> {
        self.modules
            .get(&m)
            .and_then(|i| i.parent)
            .map(|p| self.module_scope(p.file, p.scope))
    }

    fn step(&self, res: Res, seg: &str, want_container: bool, depth: usize) -> Option<Res> {
        match res {
            Res::Module(m) => {
                if seg == "super" {
                    return self.parent_module(m).map(Res::Module);
                }
                if seg == "self" {
                    return Some(Res::Module(m));
                }
                self.lookup_in_module(m, seg, want_container, depth + 1)
            }
            Res::External(mut p) => {
                p.push(seg.to_string());
                Some(Res::External(p))
            }
            Res::Ambiguous(ps) => Some(Res::Ambiguous(
                ps.into_iter()
                    .map(|mut p| {
                        p.push(seg.to_string());
                        p
                    })
                    .collect(),
            )),
            Res::Item(it) => match &self.item(it).kind {
                ItemKind::Enum { variants, .. } => {
                    match variants.iter().position(|v| v.name == seg) {
                        Some(i) => Some(Res::Variant(it, i as u32)),
                        None => Some(Res::Assoc(it, seg.to_string())),
                    }
                }
                ItemKind::TypeAlias(t) => match self.resolve_type_key(it.file, t)? {
                    TypeKey::Local(target) => {
                        self.step(Res::Item(target), seg, want_container, depth + 1)
                    }
                    TypeKey::External(p) => {
                        let mut v: Vec<String> = p.split("::").map(str::to_string).collect();
                        v.push(seg.to_string());
                        Some(Res::External(v))
                    }
                },
                ItemKind::Mod(Some(s)) => {
                    self.lookup_in_module(GScope::new(it.file, *s), seg, want_container, depth + 1)
                }
                ItemKind::Mod(None) => {
                    let f = self.mod_file(it)?;
                    self.lookup_in_module(GScope::root(f), seg, want_container, depth + 1)
                }
                ItemKind::ExternCrate { original } => {
                    Some(Res::External(vec![original.clone(), seg.to_string()]))
                }
                ItemKind::Fn(_) | ItemKind::Const(_) | ItemKind::Static(_) | ItemKind::Macro => {
                    None
                }
                _ => Some(Res::Assoc(it, seg.to_string())),
            },
            Res::Variant(..) | Res::Assoc(..) => None,
            Res::SelfType(None) => Some(Res::SelfType(Some(seg.to_string()))),
            Res::SelfType(Some(_)) => None,
        }
    }

    /// A name in a module: its items, its `use`s, then its glob imports.
    fn lookup_in_module(
        &self,
        m: GScope,
        name: &str,
        want_container: bool,
        depth: usize,
    ) -> Option<Res> {
        self.lookup_in_module_v(m, name, want_container, depth, false)
    }

    /// [`Self::lookup_in_module`]; `public_only`: as seen through a glob import from outside
    /// the module's subtree, where its private `use`s (named or glob) are not visible.
    fn lookup_in_module_v(
        &self,
        m: GScope,
        name: &str,
        want_container: bool,
        depth: usize,
        public_only: bool,
    ) -> Option<Res> {
        if depth > MAX_DEPTH {
            return None;
        }
        let m = self.canonical_module(m);
        let key = (m, name.to_string(), public_only);
        if let Some(hit) = self.memo_get(&key) {
            return hit;
        }
        // Guard against `use` cycles: a lookup already in progress on this thread answers
        // nothing. The lookups between it and here then depend on where the cycle was entered,
        // so they are not memoised; the rest are, and so every answer is the same whatever
        // order (or thread) asks first.
        let frame = InProgress::enter(&key)?;
        let r = self
            .lookup_local_v(m, name, want_container, depth, public_only)
            .or_else(|| self.lookup_globs_v(m, name, depth, public_only));
        if !frame.leave() {
            self.memo_put(key, r.clone());
        }
        r
    }

    /// Is module `inner` module `outer` or inside it?
    fn within_module(&self, inner: GScope, outer: GScope) -> bool {
        let outer = self.canonical_module(outer);
        let mut cur = Some(self.canonical_module(inner));
        for _ in 0..64 {
            match cur {
                Some(c) if c == outer => return true,
                Some(c) => cur = self.parent_module(c),
                None => return false,
            }
        }
        false
    }

    fn memo_get(&self, key: &MemoKey) -> Option<Option<Res>> {
        self.memo
            .lock()
            .map(|m| m.get(key).cloned())
            .unwrap_or(None)
    }

    fn memo_put(&self, key: MemoKey, value: Option<Res>) {
        if let Ok(mut m) = self.memo.lock() {
            m.insert(key, value);
        }
    }

    /// A name as seen from `scope`: block scopes up to the enclosing module, then globs.
    fn lookup_chain(
        &self,
        scope: GScope,
        name: &str,
        want_container: bool,
        depth: usize,
    ) -> Option<Res> {
        let facts = &self.files[scope.file.idx()].facts;
        let mut s = scope.scope;
        loop {
            let sc = &facts.scopes[s.idx()];
            if matches!(sc.kind, ScopeKind::Module(_)) {
                return self.lookup_in_module(
                    GScope::new(scope.file, s),
                    name,
                    want_container,
                    depth + 1,
                );
            }
            if let Some(r) =
                self.lookup_local(GScope::new(scope.file, s), name, want_container, depth + 1)
            {
                return Some(r);
            }
            if let Some(r) = self.lookup_globs(GScope::new(scope.file, s), name, depth + 1) {
                return Some(r);
            }
            match sc.parent {
                Some(p) => s = p,
                None => return None,
            }
        }
    }

    /// A name among a scope's own items and named imports (for a module, those of every part:
    /// [`Index::module_parts`]).
    fn lookup_local(
        &self,
        gs: GScope,
        name: &str,
        want_container: bool,
        depth: usize,
    ) -> Option<Res> {
        self.lookup_local_v(gs, name, want_container, depth, false)
    }

    fn lookup_local_v(
        &self,
        gs: GScope,
        name: &str,
        want_container: bool,
        depth: usize,
        public_only: bool,
    ) -> Option<Res> {
        let facts = &self.files[gs.file.idx()].facts;
        if matches!(facts.scopes[gs.scope.idx()].kind, ScopeKind::Module(_)) {
            let m = self.canonical_module(gs);
            if self.module_parts(m).nth(1).is_some() {
                let mut best = None;
                for part in self.module_parts(m) {
                    match self.lookup_local_part(part, name, want_container, depth, public_only) {
                        Some((r, true)) => return Some(r),
                        Some((r, false)) => {
                            best.get_or_insert(r);
                        }
                        None => {}
                    }
                }
                return best;
            }
        }
        self.lookup_local_part(gs, name, want_container, depth, public_only)
            .map(|(r, _)| r)
    }

    /// [`Self::lookup_local`] in one scope; the flag tells whether the hit is of the wanted
    /// namespace (a container or not) or only the best other.
    fn lookup_local_part(
        &self,
        gs: GScope,
        name: &str,
        want_container: bool,
        depth: usize,
        public_only: bool,
    ) -> Option<(Res, bool)> {
        let facts = &self.files[gs.file.idx()].facts;
        let sc = &facts.scopes[gs.scope.idx()];
        let mut best: Option<Res> = None;
        for &it in &sc.items {
            let item = &facts.items[it.idx()];
            if item.name != name {
                continue;
            }
            let container = matches!(
                item.kind,
                ItemKind::Mod(_)
                    | ItemKind::Struct { .. }
                    | ItemKind::Enum { .. }
                    | ItemKind::Trait { .. }
                    | ItemKind::TypeAlias(_)
                    | ItemKind::Union { .. }
                    | ItemKind::ExternCrate { .. }
            );
            let r = match item.kind {
                ItemKind::Mod(Some(s)) => Res::Module(GScope::new(gs.file, s)),
                ItemKind::Mod(None) => match self.mod_file(GItem::new(gs.file, it)) {
                    Some(f) => Res::Module(GScope::root(f)),
                    None => Res::Item(GItem::new(gs.file, it)),
                },
                ItemKind::ExternCrate { ref original } => Res::External(vec![original.clone()]),
                _ => Res::Item(GItem::new(gs.file, it)),
            };
            if container == want_container {
                return Some((r, true));
            }
            best.get_or_insert(r);
        }
        if let Some(b) = best {
            return Some((b, false));
        }
        for leaf in &sc.uses {
            if public_only && !leaf.is_pub {
                continue;
            }
            if leaf.name.as_deref() == Some(name) {
                if let Some(r) = self.resolve_use_leaf(gs, &leaf.path, depth) {
                    return Some((r, true));
                }
            }
        }
        None
    }

    /// Resolve the path of a `use` leaf declared in `scope`.
    pub fn resolve_use(&self, scope: GScope, path: &[String]) -> Option<Res> {
        self.resolve_use_leaf(scope, path, 0)
    }

    fn resolve_use_leaf(&self, gs: GScope, path: &[String], depth: usize) -> Option<Res> {
        if depth > MAX_DEPTH {
            return None;
        }
        // A `use` path's first segment is looked up in the module of the `use` (not blocks above it).
        let first = path.first()?;
        if matches!(first.as_str(), "" | "crate" | "self" | "super" | "Self") {
            return self.resolve_path_d(gs, path, true, depth + 1);
        }
        let m = self.module_scope(gs.file, gs.scope);
        let start = if gs != m {
            // a block-level use: names of the block first
            self.lookup_local(gs, first, path.len() > 1, depth + 1)
        } else {
            None
        };
        // Items and named imports only: an external glob would "provide" any name, crate names included.
        let mut res = match start.or_else(|| self.lookup_local(m, first, path.len() > 1, depth + 1))
        {
            Some(r) => r,
            None => match self.crate_by_name(first) {
                Some(root) => Res::Module(root),
                None => return Some(Res::External(path.to_vec())),
            },
        };
        for (i, seg) in path.iter().enumerate().skip(1) {
            res = self.step(res, seg, i + 1 < path.len(), depth + 1)?;
        }
        Some(res)
    }

    fn lookup_globs(&self, gs: GScope, name: &str, depth: usize) -> Option<Res> {
        self.lookup_globs_v(gs, name, depth, false)
    }

    /// The glob imports of `gs` that provide `name`. A module reached through a glob is looked
    /// into as its importer sees it: in full from inside its subtree, else without its private
    /// `use`s (`use futures::task::*;` in a sibling module is not re-exported by it).
    fn lookup_globs_v(
        &self,
        gs: GScope,
        name: &str,
        depth: usize,
        public_only: bool,
    ) -> Option<Res> {
        let facts = &self.files[gs.file.idx()].facts;
        let parts: Vec<GScope> =
            if matches!(facts.scopes[gs.scope.idx()].kind, ScopeKind::Module(_)) {
                self.module_parts(gs).collect()
            } else {
                vec![gs]
            };
        let me = self.canonical_module(gs);
        let mut externals = Vec::new();
        for leaf in parts.iter().flat_map(|&p| {
            self.files[p.file.idx()].facts.scopes[p.scope.idx()]
                .uses
                .iter()
                .map(move |l| (p, l))
        }) {
            let (part, leaf) = leaf;
            if leaf.name.is_some() || (public_only && !leaf.is_pub) {
                continue;
            }
            match self.resolve_use_leaf(part, &leaf.path, depth + 1) {
                Some(Res::Module(m)) => {
                    if self.canonical_module(m) == me {
                        continue;
                    }
                    let importer = self.module_scope(gs.file, gs.scope);
                    let outside = public_only || !self.within_module(importer, m);
                    if let Some(r) = self.lookup_in_module_v(m, name, false, depth + 1, outside) {
                        return Some(r);
                    }
                }
                Some(Res::Item(it)) => {
                    if let ItemKind::Enum { variants, .. } = &self.item(it).kind {
                        if let Some(i) = variants.iter().position(|v| v.name == name) {
                            return Some(Res::Variant(it, i as u32));
                        }
                    }
                }
                Some(Res::External(mut p)) => {
                    p.push(name.to_string());
                    externals.push(p);
                }
                _ => {}
            }
        }
        match externals.len() {
            0 => None,
            1 => externals.pop().map(Res::External),
            _ => Some(Res::Ambiguous(externals)),
        }
    }

    /// The identity of a written type (aliases followed), if it has one.
    pub fn resolve_type_key(&self, fid: FileId, ty: &TyRef) -> Option<TypeKey> {
        self.resolve_type_key_d(fid, ty, 0)
    }

    fn resolve_type_key_d(&self, fid: FileId, ty: &TyRef, depth: usize) -> Option<TypeKey> {
        if depth > 8 {
            return None;
        }
        match ty {
            TyRef::Path { path, scope, .. } => self.type_key_of_path(fid, *scope, path, depth),
            TyRef::Ref(inner) => self.resolve_type_key_d(fid, inner, depth + 1),
            _ => None,
        }
    }

    fn type_key_of_path(
        &self,
        fid: FileId,
        scope: ScopeId,
        path: &[String],
        depth: usize,
    ) -> Option<TypeKey> {
        match self.resolve_path(GScope::new(fid, scope), path, false) {
            Some(Res::Item(it)) => match &self.item(it).kind {
                ItemKind::TypeAlias(t) => self.resolve_type_key_d(it.file, t, depth + 1),
                ItemKind::Struct { .. }
                | ItemKind::Enum { .. }
                | ItemKind::Union { .. }
                | ItemKind::Trait { .. } => Some(TypeKey::Local(it)),
                _ => None,
            },
            Some(Res::External(p)) => Some(TypeKey::External(p.join("::"))),
            None if path.len() == 1 => Some(TypeKey::External(path[0].clone())),
            _ => None,
        }
    }

    /// The identity of a trait path written in `scope`.
    pub fn resolve_trait_key(
        &self,
        fid: FileId,
        scope: ScopeId,
        path: &[String],
    ) -> Option<TypeKey> {
        self.type_key_of_path(fid, scope, path, 0)
    }
}

/// The key of a memoised module lookup: (module, name, public only).
type MemoKey = (GScope, String, bool);

thread_local! {
    /// The module lookups in progress on this thread, outermost first, each with whether its
    /// answer met a lookup in progress further out (a cycle through it).
    static IN_PROGRESS: std::cell::RefCell<Vec<(MemoKey, bool)>> = const { std::cell::RefCell::new(Vec::new()) };
}

/// A module lookup on this thread's stack of lookups in progress (popped when dropped, also
/// when a panic unwinds through it).
struct InProgress(bool);

impl InProgress {
    /// Enter the lookup of `key`; `None` when it is in progress already (a `use` cycle): the
    /// lookups entered since then are marked as depending on that.
    fn enter(key: &MemoKey) -> Option<InProgress> {
        IN_PROGRESS.with(|s| {
            let mut s = s.borrow_mut();
            if let Some(i) = s.iter().position(|(k, _)| k == key) {
                for f in &mut s[i + 1..] {
                    f.1 = true;
                }
                return None;
            }
            s.push((key.clone(), false));
            Some(InProgress(false))
        })
    }

    /// Leave the lookup: did its answer depend on a lookup in progress further out?
    fn leave(mut self) -> bool {
        self.0 = true;
        IN_PROGRESS.with(|s| s.borrow_mut().pop().is_none_or(|(_, cyclic)| cyclic))
    }
}

impl Drop for InProgress {
    fn drop(&mut self) {
        if !self.0 {
            // Unwinding: keep the stack balanced.
            IN_PROGRESS.with(|s| {
                s.borrow_mut().pop();
            });
        }
    }
}

#[cfg(test)]
mod tests {
    use std::path::Path;

    use super::*;
    use crate::facts::ScopeId;
    use crate::index::{FileData, FileId, Index};

    fn files(src: &str) -> Vec<FileData> {
        crate::index::test_file(src)
    }

    /// Glob imports that form a cycle (`a` re-exports `b`'s items, `b` re-exports `a`'s): every
    /// name resolves the same whichever is asked first, on a fresh index each time (a lookup
    /// answered while the cycle was in progress must not be memoised as the answer).
    #[test]
    fn answers_do_not_depend_on_the_order_of_questions_in_a_use_cycle() {
        // `b::N` is `d::N` through `a`; asked while `a::N` is in progress, the way through `a`
        // is blocked, so that answer (none) must not stay.
        let src = "pub mod a { pub use super::b::*; pub use super::d::*; }\n\
                   pub mod b { pub use super::a::*; }\n\
                   pub mod d { pub struct N; }\n\
                   pub mod e { pub use super::b::*; }\n";
        let fs = files(src);
        let root = GScope::new(FileId::new(0), ScopeId::new(0));
        let q = |p: &str| p.split("::").map(str::to_string).collect::<Vec<_>>();
        let paths = ["b::N", "e::N", "a::N", "d::N"];
        let ask = |order: &[&str]| {
            let index = Index::build(&fs, &[], Path::new("/w"));
            let mut got: Vec<(String, Option<Res>)> = order
                .iter()
                .map(|p| (p.to_string(), index.resolve_path(root, &q(p), false)))
                .collect();
            got.sort_by(|x, y| x.0.cmp(&y.0));
            got
        };
        let forward = ask(&paths);
        let mut rev = paths;
        rev.reverse();
        assert_eq!(forward, ask(&rev));
        assert!(forward.iter().all(|(_, r)| r.is_some()), "{forward:?}");
    }
}
