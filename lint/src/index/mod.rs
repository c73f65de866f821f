//! The workspace index: which file is which module of which crate, and name resolution.
//!
//! Built from every file's facts, without reading anything: crate roots are found by Cargo's
//! layout conventions (`src/lib.rs`, `src/main.rs`, `src/bin/*`, `tests/*`, `benches/*`,
//! `examples/*`, `build.rs`), `mod x;` declarations are followed to `x.rs` / `x/mod.rs` (or
//! `#[path]`), and files no root reaches get the module path their location implies, so a
//! partial run (pre-commit on a few files) still resolves `crate::` paths sensibly.

pub mod resolve;

use std::collections::HashMap;
use std::path::{Path, PathBuf};

use crate::facts::{FileFacts, FnIdx, ImplIdx, ItemId, ItemKind, ScopeId, ScopeKind};

pub use resolve::Res;

/// A linted file: its index in the run's file list (`Index::files`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FileId(pub u32);

impl FileId {
    pub fn new(i: usize) -> Self {
        FileId(i as u32)
    }

    pub fn idx(self) -> usize {
        self.0 as usize
    }
}

/// A scope anywhere in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GScope {
    pub file: FileId,
    pub scope: ScopeId,
}

/// An item anywhere in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GItem {
    pub file: FileId,
    pub item: ItemId,
}

/// A function anywhere in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct FnId {
    pub file: FileId,
    pub idx: FnIdx,
}

/// An impl block anywhere in the workspace.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct GImpl {
    pub file: FileId,
    pub idx: ImplIdx,
}

impl GScope {
    pub fn new(file: FileId, scope: ScopeId) -> Self {
        GScope { file, scope }
    }

    /// The module of a whole file.
    pub fn root(file: FileId) -> Self {
        GScope::new(file, ScopeId::ROOT)
    }
}

impl GItem {
    pub fn new(file: FileId, item: ItemId) -> Self {
        GItem { file, item }
    }
}

impl FnId {
    pub fn new(file: FileId, idx: FnIdx) -> Self {
        FnId { file, idx }
    }
}

impl GImpl {
    pub fn new(file: FileId, idx: ImplIdx) -> Self {
        GImpl { file, idx }
    }
}

/// One linted file and what the pipeline learned about it.
#[derive(Debug)]
pub struct FileData {
    /// Relative to the lint root, `/` separators.
    pub rel: String,
    pub abs: PathBuf,
    pub facts: FileFacts,
    /// Under a `tests/` or `benches/` folder of its package.
    pub is_test_path: bool,
}

pub use crate::workspace::Package;

#[derive(Debug, Clone)]
pub struct ModuleInfo {
    /// Crate name first (`channel_node::transport::listener`).
    pub path: Vec<String>,
    /// The crate's root module.
    pub crate_root: GScope,
    /// The parent module (None for a crate root).
    pub parent: Option<GScope>,
}

pub struct Index<'a> {
    pub files: &'a [FileData],
    /// Module info for every file's scope 0 and every inline module scope.
    modules: HashMap<GScope, ModuleInfo>,
    /// `mod x;` declaration (file, item) → the file it loads.
    mod_files: HashMap<GItem, FileId>,
    /// A file loaded by an item-level `include!` → the module scope holding the call. Its items
    /// are that module's: name lookup in the module sees them ([`Index::module_parts`]).
    included_in: HashMap<FileId, GScope>,
    /// A module scope → the roots of the files `include!`d into it (transitively).
    includes_of: HashMap<GScope, Vec<GScope>>,
    /// Library crates by name (`-` replaced by `_`).
    crates: HashMap<String, GScope>,
    /// Impls by the resolved self type, and by trait.
    pub(crate) impls_by_type: HashMap<resolve::TypeKey, Vec<GImpl>>,
    pub(crate) impls_by_trait: HashMap<resolve::TypeKey, Vec<GImpl>>,
    /// (module, name, seen from outside its subtree through a glob) → resolution.
    memo: std::sync::Mutex<HashMap<(GScope, String, bool), Option<Res>>>,
    /// Per file, the `#[cfg]` conditions its code is under from outside it: the chain of `mod`
    /// declarations that loads it (each with the conditions in effect there), and `test` for a
    /// file under `tests/` or `benches/`.
    file_conds: Vec<crate::cfg::Cfg>,
    /// Per file, the clippy lint levels its code is under from outside it, outermost first: those
    /// in effect at each `mod` declaration (or `include!`) of the chain that loads it (see
    /// [`Index::file_levels`]).
    file_levels: Vec<Vec<crate::facts::lint_level::ClippyLevel>>,
}

fn file_stem(p: &Path) -> String {
    p.file_stem()
        .map(|s| s.to_string_lossy().into_owned())
        .unwrap_or_default()
}

/// `a/./b/../c` → `a/c`, lexically (an `include!` path is joined to its file's folder).
fn normalize(p: &Path) -> PathBuf {
    let mut out = PathBuf::new();
    for c in p.components() {
        match c {
            std::path::Component::CurDir => {}
            std::path::Component::ParentDir => {
                out.pop();
            }
            other => out.push(other),
        }
    }
    out
}

fn crate_ident(name: &str) -> String {
    name.replace('-', "_")
}

/// The package a file belongs to: the innermost Cargo package holding it; else, for loose trees
/// (fixtures, a copied `src/` folder), the folder above its nearest `src/` component, named after
/// that folder.
fn package_of(abs: &Path, packages: &HashMap<&Path, &Package>) -> Option<Package> {
    // The innermost package: the first folder on the way up that is a package.
    let innermost = abs
        .ancestors()
        .skip(1)
        .find_map(|a| packages.get(a).copied());
    // A package holds the files under its target folders; a loose `src/` tree deeper inside it
    // (e.g. `fixtures/case/src/` under a root package) is a crate of its own.
    let loose = abs
        .ancestors()
        .skip(1)
        .find(|a| a.file_name().is_some_and(|n| n == "src"))
        .and_then(Path::parent);
    if let Some(p) = innermost {
        let in_target = abs
            .strip_prefix(&p.dir)
            .ok()
            .and_then(|r| r.components().next())
            .is_some_and(|c| {
                ["src", "tests", "benches", "examples", "build.rs"]
                    .iter()
                    .any(|t| c.as_os_str() == *t)
            });
        if in_target || !loose.is_some_and(|l| l.starts_with(&p.dir) && l != p.dir) {
            return Some(p.clone());
        }
    }
    let dir = loose?;
    let name = dir.file_name()?.to_string_lossy().into_owned();
    Some(Package {
        dir: dir.to_path_buf(),
        name,
    })
}

/// Is this file a crate root by Cargo's conventions? Returns the kind's directory rule.
fn is_crate_root(inner: &Path) -> bool {
    let comps: Vec<String> = inner
        .components()
        .map(|c| c.as_os_str().to_string_lossy().into_owned())
        .collect();
    match comps
        .iter()
        .map(|s| s.as_str())
        .collect::<Vec<_>>()
        .as_slice()
    {
        ["src", "lib.rs"] | ["src", "main.rs"] | ["build.rs"] => true,
        ["src", "bin", f] | ["tests", f] | ["benches", f] | ["examples", f] => f.ends_with(".rs"),
        ["src", "bin", _, "main.rs"]
        | ["tests", _, "main.rs"]
        | ["benches", _, "main.rs"]
        | ["examples", _, "main.rs"] => true,
        [.., "lib.rs"] | [.., "main.rs"] => comps.len() == 1,
        _ => false,
    }
}

impl<'a> Index<'a> {
    pub fn build(files: &'a [FileData], packages: &[Package], lint_root: &Path) -> Index<'a> {
        let mut index = Index {
            files,
            modules: HashMap::new(),
            mod_files: HashMap::new(),
            included_in: HashMap::new(),
            includes_of: HashMap::new(),
            crates: HashMap::new(),
            impls_by_type: HashMap::new(),
            impls_by_trait: HashMap::new(),
            memo: Default::default(),
            file_conds: files
                .iter()
                .map(|f| {
                    if f.is_test_path {
                        vec![crate::cfg::CfgPred::Atom("test".into())]
                    } else {
                        Vec::new()
                    }
                })
                .collect(),
            file_levels: vec![Vec::new(); files.len()],
        };
        let by_path: HashMap<&Path, FileId> = files
            .iter()
            .enumerate()
            .map(|(i, f)| (f.abs.as_path(), FileId::new(i)))
            .collect();
        let pkg_by_dir: HashMap<&Path, &Package> =
            packages.iter().map(|p| (p.dir.as_path(), p)).collect();
        let fallback = Package {
            dir: lint_root.to_path_buf(),
            name: lint_root
                .file_name()
                .map(|n| n.to_string_lossy().into_owned())
                .unwrap_or_else(|| "crate".into()),
        };
        // 1. Crate roots.
        let mut roots = Vec::new();
        for (i, f) in files.iter().enumerate() {
            let pkg = package_of(&f.abs, &pkg_by_dir).unwrap_or_else(|| fallback.clone());
            let inner = f.abs.strip_prefix(&pkg.dir).unwrap_or(&f.abs);
            if is_crate_root(inner) {
                let is_lib = inner == Path::new("src/lib.rs") || inner == Path::new("lib.rs");
                let name = if is_lib || inner == Path::new("src/main.rs") {
                    crate_ident(&pkg.name)
                } else {
                    crate_ident(&file_stem(inner))
                };
                roots.push((
                    FileId::new(i),
                    name,
                    is_lib,
                    inner.starts_with("src/main.rs"),
                ));
            }
        }
        // A package with only main.rs is named like the package too; lib wins the name.
        for (fid, name, is_lib, is_main) in &roots {
            let root = GScope::root(*fid);
            index.modules.insert(
                root,
                ModuleInfo {
                    path: vec![name.clone()],
                    crate_root: root,
                    parent: None,
                },
            );
            if *is_lib || (*is_main && !index.crates.contains_key(name)) {
                index.crates.insert(name.clone(), root);
            }
        }
        // 2. Follow `mod` declarations from every root.
        let mut stack: Vec<FileId> = roots.iter().map(|r| r.0).collect();
        // An `include!`d file's `mod` declarations load files from its includer's folder.
        let mut include_dirs: HashMap<FileId, PathBuf> = HashMap::new();
        // Files loaded by a `mod` with `#[path]`: like `mod.rs`, their own `mod` declarations
        // load files from their own folder (as rustc does).
        let mut path_loaded: std::collections::HashSet<FileId> = Default::default();
        while let Some(fid) = stack.pop() {
            let f = &files[fid.idx()];
            let file_mod = index.modules[&GScope::root(fid)].clone();
            index.register_inline_modules(fid, &file_mod);
            let own_dir = match include_dirs.get(&fid) {
                Some(d) => d.clone(),
                None => {
                    let dir = f.abs.parent().unwrap_or(Path::new("")).to_path_buf();
                    let stem = file_stem(&f.abs);
                    if file_mod.parent.is_none() || stem == "mod" || path_loaded.contains(&fid) {
                        dir
                    } else {
                        dir.join(stem)
                    }
                }
            };
            for inc in &f.facts.includes {
                let target = f.abs.parent().unwrap_or(Path::new("")).join(&inc.path);
                let Some(&child) = by_path.get(normalize(&target).as_path()) else {
                    continue;
                };
                if index.modules.contains_key(&GScope::root(child)) {
                    continue;
                }
                let holder_scope = index.module_scope(fid, inc.scope);
                let holder = index
                    .modules
                    .get(&holder_scope)
                    .cloned()
                    .unwrap_or(file_mod.clone());
                index.modules.insert(GScope::root(child), holder);
                index.included_in.insert(child, holder_scope);
                let canon = index.canonical_module(holder_scope);
                index
                    .includes_of
                    .entry(canon)
                    .or_default()
                    .push(GScope::root(child));
                let mut dir = own_dir.clone();
                let extra = index.modules[&holder_scope]
                    .path
                    .len()
                    .saturating_sub(file_mod.path.len());
                let hp = &index.modules[&holder_scope].path;
                for seg in &hp[hp.len() - extra..] {
                    dir.push(seg);
                }
                include_dirs.insert(child, dir);
                let mut conds = index.file_conds[fid.idx()].clone();
                conds.extend(inc.conds.iter().cloned());
                index.file_conds[child.idx()].extend(conds);
                let mut levels = index.file_levels[fid.idx()].clone();
                levels.extend(inc.clippy_levels.iter().cloned());
                index.file_levels[child.idx()] = levels;
                stack.push(child);
            }
            for decl in &f.facts.mod_decls {
                let holder = index
                    .modules
                    .get(&GScope::new(fid, decl.scope))
                    .cloned()
                    .unwrap_or(file_mod.clone());
                // Inline modules add their names to the directory.
                let mut dir = own_dir.clone();
                let extra = holder.path.len().saturating_sub(file_mod.path.len());
                for seg in &holder.path[holder.path.len() - extra..] {
                    dir.push(seg);
                }
                let candidates: Vec<PathBuf> = match &decl.path_attr {
                    Some(p) => vec![normalize(&f.abs.parent().unwrap_or(Path::new("")).join(p))],
                    None => vec![
                        dir.join(format!("{}.rs", decl.name)),
                        dir.join(&decl.name).join("mod.rs"),
                    ],
                };
                if let Some(&child) = candidates.iter().find_map(|c| by_path.get(c.as_path())) {
                    if index.modules.contains_key(&GScope::root(child)) {
                        continue;
                    }
                    let mut path = holder.path.clone();
                    path.push(decl.name.clone());
                    index.modules.insert(
                        GScope::root(child),
                        ModuleInfo {
                            path,
                            crate_root: file_mod.crate_root,
                            parent: Some(GScope::new(fid, decl.scope)),
                        },
                    );
                    index.mod_files.insert(GItem::new(fid, decl.item), child);
                    if decl.path_attr.is_some() {
                        path_loaded.insert(child);
                    }
                    let mut conds = index.file_conds[fid.idx()].clone();
                    conds.extend(decl.conds.iter().cloned());
                    index.file_conds[child.idx()].extend(conds);
                    let mut levels = index.file_levels[fid.idx()].clone();
                    levels.extend(decl.clippy_levels.iter().cloned());
                    index.file_levels[child.idx()] = levels;
                    stack.push(child);
                }
            }
        }
        // 3. Files no root reaches: a module path from their location.
        for (i, f) in files.iter().enumerate() {
            let fid = FileId::new(i);
            if index.modules.contains_key(&GScope::root(fid)) {
                continue;
            }
            let pkg = package_of(&f.abs, &pkg_by_dir).unwrap_or_else(|| fallback.clone());
            let inner = f.abs.strip_prefix(&pkg.dir).unwrap_or(&f.abs);
            let mut comps: Vec<String> = inner
                .components()
                .map(|c| c.as_os_str().to_string_lossy().into_owned())
                .collect();
            if comps.first().map(String::as_str) == Some("src") {
                comps.remove(0);
            }
            if let Some(last) = comps.pop() {
                let stem = last.trim_end_matches(".rs").to_string();
                if stem != "mod" && stem != "lib" && stem != "main" {
                    comps.push(stem);
                }
            }
            let crate_name = crate_ident(&pkg.name);
            let crate_root = index
                .crates
                .get(&crate_name)
                .copied()
                .unwrap_or(GScope::root(fid));
            let mut path = vec![crate_name];
            path.extend(comps);
            index.modules.insert(
                GScope::root(fid),
                ModuleInfo {
                    path,
                    crate_root,
                    parent: None,
                },
            );
            let file_mod = index.modules[&GScope::root(fid)].clone();
            index.register_inline_modules(fid, &file_mod);
        }
        index.index_impls();
        index
    }

    fn register_inline_modules(&mut self, fid: FileId, file_mod: &ModuleInfo) {
        let facts = &self.files[fid.idx()].facts;
        // Scopes are created parents-first, so one pass in order sees every parent before its child.
        for (sid, scope) in facts.scopes.iter().enumerate().skip(1) {
            let sid = ScopeId::new(sid);
            let parent_scope = scope.parent.unwrap_or(ScopeId::ROOT);
            let parent_info = self
                .modules
                .get(&GScope::new(fid, parent_scope))
                .cloned()
                .or_else(|| Some(self.module_info_of(fid, parent_scope)))
                .unwrap_or_else(|| file_mod.clone());
            if let ScopeKind::Module(Some(name)) = &scope.kind {
                let mut path = parent_info.path.clone();
                path.push(name.clone());
                let parent = self.module_scope(fid, parent_scope);
                self.modules.insert(
                    GScope::new(fid, sid),
                    ModuleInfo {
                        path,
                        crate_root: file_mod.crate_root,
                        parent: Some(parent),
                    },
                );
            }
        }
    }

    /// The nearest module scope at or above `scope` in a file (for code in an `include!`d file,
    /// the module holding the `include!`).
    pub fn module_scope(&self, fid: FileId, mut scope: ScopeId) -> GScope {
        let facts = &self.files[fid.idx()].facts;
        loop {
            let s = &facts.scopes[scope.idx()];
            if matches!(s.kind, ScopeKind::Module(_)) {
                return self.canonical_module(GScope::new(fid, scope));
            }
            match s.parent {
                Some(p) => scope = p,
                None => return self.canonical_module(GScope::root(fid)),
            }
        }
    }

    /// The module a module scope is part of: itself, or for the root of an `include!`d file,
    /// the module holding the `include!` (followed through nested includes).
    pub fn canonical_module(&self, mut m: GScope) -> GScope {
        for _ in 0..16 {
            if m.scope != ScopeId::ROOT {
                return m;
            }
            match self.included_in.get(&m.file) {
                Some(&h) => m = h,
                None => return m,
            }
        }
        m
    }

    /// The scopes whose items and imports make up module `m`: its own, then those of the files
    /// `include!`d into it.
    pub fn module_parts(&self, m: GScope) -> impl Iterator<Item = GScope> + '_ {
        let m = self.canonical_module(m);
        std::iter::once(m).chain(self.includes_of.get(&m).into_iter().flatten().copied())
    }

    /// Module info of the module holding `scope`.
    pub fn module_info_of(&self, fid: FileId, scope: ScopeId) -> ModuleInfo {
        let m = self.module_scope(fid, scope);
        self.modules.get(&m).cloned().unwrap_or(ModuleInfo {
            path: vec!["crate".into()],
            crate_root: GScope::root(fid),
            parent: None,
        })
    }

    /// The file a `mod x;` declaration loads, if it was found.
    pub fn mod_file(&self, item: GItem) -> Option<FileId> {
        self.mod_files.get(&item).copied()
    }

    pub fn crate_by_name(&self, name: &str) -> Option<GScope> {
        self.crates.get(name).copied()
    }

    pub fn item(&self, it: GItem) -> &crate::facts::Item {
        &self.files[it.file.idx()].facts.items[it.item.idx()]
    }

    pub fn fn_facts(&self, f: FnId) -> &crate::facts::FnFacts {
        &self.files[f.file.idx()].facts.fns[f.idx.idx()]
    }

    /// Every `#[cfg]` condition `f` is compiled under, outermost first: those from the `mod`
    /// declarations that load its file, then its own file's (see `FnFacts::conds`).
    pub fn fn_conds(&self, f: FnId) -> impl Iterator<Item = &crate::cfg::CfgPred> {
        self.file_conds[f.file.idx()]
            .iter()
            .chain(self.fn_facts(f).conds.iter())
    }

    /// The clippy lint levels (`undocumented_unsafe_blocks` or its group) a file's code is under
    /// from the files that load it, outermost first: for each `mod` declaration on the chain from
    /// its crate root, the levels in effect there (the declaring file's inner attributes, the
    /// enclosing modules', the declaration's own). The file's own levels (its inner attributes
    /// and items) come after these, so they win. For an `include!`d file, those in effect at the
    /// call. Empty for a crate root and a file no root reaches.
    pub fn file_levels(&self, file: FileId) -> &[crate::facts::lint_level::ClippyLevel] {
        &self.file_levels[file.idx()]
    }

    /// Whether `f` can exist in the build `env` describes: false only when one of its
    /// conditions is known to be false there (unknown conditions, such as a feature the policy
    /// does not name, keep it: it may be compiled).
    pub fn fn_in_build(&self, f: FnId, env: &crate::cfg::CfgEnv) -> bool {
        if env.test == Some(false) && env.has_extra_test_attr(&self.fn_facts(f).attrs) {
            return false;
        }
        self.fn_conds(f)
            .all(|c| env.admits(std::slice::from_ref(c)))
    }

    /// `crate::module::Type::method` style name of a function, crate name first.
    pub fn qualified_fn_name(&self, f: FnId) -> Vec<String> {
        let facts = self.fn_facts(f);
        let mut path = self.module_info_of(f.file, facts.scope).path;
        match facts.owner {
            crate::facts::FnOwner::Free => {}
            crate::facts::FnOwner::Impl(i) => {
                let imp = &self.files[f.file.idx()].facts.impls[i.idx()];
                let name = match self.resolve_type_key(f.file, &imp.self_ty) {
                    Some(resolve::TypeKey::Local(it)) => self.item(it).name.clone(),
                    _ => match &imp.self_ty {
                        crate::facts::TyRef::Path { path, .. } => {
                            path.last().cloned().unwrap_or_default()
                        }
                        _ => "_".into(),
                    },
                };
                path.push(name);
            }
            crate::facts::FnOwner::Trait(t) => {
                path.push(self.item(GItem::new(f.file, t)).name.clone())
            }
        }
        path.push(facts.name.clone());
        path
    }

    /// Every function in the workspace.
    pub fn all_fns(&self) -> impl Iterator<Item = FnId> + '_ {
        self.files.iter().enumerate().flat_map(|(i, f)| {
            (0..f.facts.fns.len()).map(move |j| FnId::new(FileId::new(i), FnIdx::new(j)))
        })
    }

    fn index_impls(&mut self) {
        let mut by_type: HashMap<resolve::TypeKey, Vec<GImpl>> = HashMap::new();
        let mut by_trait: HashMap<resolve::TypeKey, Vec<GImpl>> = HashMap::new();
        for (fid, f) in self.files.iter().enumerate() {
            let fid = FileId::new(fid);
            for (ii, imp) in f.facts.impls.iter().enumerate() {
                if let Some(k) = self.resolve_type_key(fid, &imp.self_ty) {
                    by_type
                        .entry(k)
                        .or_default()
                        .push(GImpl::new(fid, ImplIdx::new(ii)));
                }
                if let Some(tp) = &imp.trait_path {
                    if let Some(k) = self.resolve_trait_key(fid, imp.scope, tp) {
                        by_trait
                            .entry(k)
                            .or_default()
                            .push(GImpl::new(fid, ImplIdx::new(ii)));
                    }
                }
            }
        }
        self.impls_by_type = by_type;
        self.impls_by_trait = by_trait;
    }

    /// The function an item names, if its facts were recorded.
    pub fn fn_of_item(&self, it: GItem) -> Option<FnId> {
        match self.item(it).kind {
            ItemKind::Fn(Some(idx)) => Some(FnId::new(it.file, idx)),
            _ => None,
        }
    }
}

/// One file `src/lib.rs` of a workspace at `/w`, lowered from `src` (for the tests of the
/// layers above).
#[cfg(test)]
pub(crate) fn test_file(src: &str) -> Vec<FileData> {
    vec![FileData {
        rel: "src/lib.rs".into(),
        abs: "/w/src/lib.rs".into(),
        facts: crate::facts::extract(
            &syn::parse_file(src).expect("test source parses"),
            crate::facts::ExtractOptions::default(),
        ),
        is_test_path: false,
    }]
}
