//! Per-file facts: the compact summary of one parsed file that every later stage works from.
//!
//! A file is parsed once, [`extract`] walks the syntax tree and records what the index and the
//! rules need (scopes and their items and `use` leaves, type references, function signatures and
//! a small body IR for the call graph, path occurrences, `unsafe` sites), then the tree is
//! dropped. Nothing here resolves names: that is the index's job, across files.

mod anchor;
mod body;
mod climb;
mod extract;
pub mod lint_level;
pub mod macros;
mod unsafe_only;

pub use extract::{extract, extract_skeleton, ExtractOptions};
pub use unsafe_only::extract_unsafe_only;

use crate::diagnostic::Span;
use serde::{Deserialize, Serialize};

/// Ids local to one file's facts: indexes into its `scopes`, `items`, `fns` and `impls`.
/// The workspace-wide ids (`crate::index::{FileId, FnId, ..}`) pair them with a file.
macro_rules! local_id {
    ($(#[$m:meta])* $name:ident) => {
        $(#[$m])*
        #[derive(
            Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize,
        )]
        #[serde(transparent)]
        pub struct $name(pub u32);

        impl $name {
            /// The id of the element at `i` (ids are dense indexes).
            pub fn new(i: usize) -> Self {
                $name(i as u32)
            }

            /// The index of the element this id names.
            pub fn idx(self) -> usize {
                self.0 as usize
            }
        }
    };
}

local_id!(
    /// A scope of a file: [`ScopeId::ROOT`] is the file's module.
    ScopeId
);
local_id!(
    /// An item of a file (`FileFacts::items`).
    ItemId
);
local_id!(
    /// A function of a file (`FileFacts::fns`).
    FnIdx
);
local_id!(
    /// An impl block of a file (`FileFacts::impls`).
    ImplIdx
);

impl ScopeId {
    /// The file's own module.
    pub const ROOT: ScopeId = ScopeId(0);
}

/// (start line, end line) of an enclosing statement or item.
pub type Anchor = (u32, u32);

/// Everything the later stages know about one file.
#[derive(Debug, Default, Clone, Serialize, Deserialize)]
pub struct FileFacts {
    /// Scope 0 is the file's own module.
    pub scopes: Vec<Scope>,
    pub items: Vec<Item>,
    /// Function signatures (item-level: a body edit does not change them).
    pub fns: Vec<FnFacts>,
    /// Function bodies, indexed by [`FnIdx`] like `fns` (same length); from the cache, each is
    /// decoded when first read ([`Bodies`]).
    pub bodies: Bodies,
    pub impls: Vec<ImplFacts>,
    /// Path occurrences (only collected when a `banned-type` entry applies to the file).
    pub paths: Vec<PathOcc>,
    pub unsafe_sites: Vec<UnsafeSite>,
    /// `mod name;` declarations that load another file.
    pub mod_decls: Vec<ModDecl>,
    /// Item-level `include!("file.rs")` with a literal path: the items of that file belong to
    /// the module holding the macro call.
    pub includes: Vec<IncludeDecl>,
    /// The whole file is test code (`#![cfg(test)]`).
    pub file_is_test: bool,
    /// The `#[cfg]` conditions of the nodes that have some, in walk order (`in_test` and
    /// `file_is_test` are computed from them, see `cfg::cfg_test_only`).
    pub cfgs: Vec<(CfgNode, crate::cfg::Cfg)>,
}

/// A node whose `#[cfg]` conditions [`FileFacts::cfgs`] records: the file (`#![cfg(..)]`), a
/// registered item (inline modules and free functions included), an impl block, or a method
/// (impl or trait default). `use` items and other unregistered items are not recorded; their
/// test-code status is in the `in_test` of what they hold.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum CfgNode {
    File,
    Item(ItemId),
    Impl(ImplIdx),
    Fn(FnIdx),
}

impl FileFacts {
    /// The facts of a file with nothing in it (also used for files that could not be parsed).
    pub fn empty() -> Self {
        FileFacts {
            scopes: vec![Scope {
                parent: None,
                kind: ScopeKind::Module(None),
                items: Vec::new(),
                uses: Vec::new(),
            }],
            ..Default::default()
        }
    }
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Scope {
    pub parent: Option<ScopeId>,
    pub kind: ScopeKind,
    pub items: Vec<ItemId>,
    pub uses: Vec<UseLeaf>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ScopeKind {
    /// The file's module (scope 0) or an inline `mod name { .. }` (with its name).
    Module(Option<String>),
    /// A function body that declares items or `use`s of its own.
    Block,
}

/// One leaf of a `use` tree: `use a::b::{c as d, e::*};` has two.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UseLeaf {
    /// The full path, starting with `crate`/`self`/`super`/`` (for a leading `::`) where written.
    pub path: Vec<String>,
    /// The name it binds; `None` for a glob.
    pub name: Option<String>,
    /// `self` inside a group (`use a::{self}`) binds the module `a`.
    pub span: Span,
    /// Declared with some `pub` (`pub`, `pub(crate)`, `pub(super)`, `pub(in ..)`): a glob
    /// import of its module from outside that module's subtree sees it; a private one only
    /// its own module and the modules inside it see.
    pub is_pub: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Item {
    pub name: String,
    pub kind: ItemKind,
    pub scope: ScopeId,
    pub span: Span,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum ItemKind {
    Struct {
        fields: Vec<Field>,
        generics: Vec<Generic>,
    },
    Enum {
        variants: Vec<Variant>,
        generics: Vec<Generic>,
    },
    Union {
        fields: Vec<Field>,
    },
    Trait {
        methods: Vec<(String, Option<FnIdx>)>,
    },
    TypeAlias(TyRef),
    /// `None` until the function's facts are recorded (and for a `fn` whose body is not walked).
    Fn(Option<FnIdx>),
    /// An inline module (its scope) or a `mod x;` declaration (None: the file is found by the index).
    Mod(Option<ScopeId>),
    Const(TyRef),
    Static(TyRef),
    ExternCrate {
        original: String,
    },
    Macro,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Field {
    /// Named field, or the index for tuple fields.
    pub name: String,
    pub ty: TyRef,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Variant {
    pub name: String,
    pub fields: Vec<Field>,
}

/// A generic parameter and the trait paths of its bounds.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Generic {
    pub name: String,
    pub bounds: Vec<Vec<String>>,
}

/// A type as written, to be resolved in `scope` of the same file.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum TyRef {
    Path {
        path: Vec<String>,
        args: Vec<TyRef>,
        scope: ScopeId,
    },
    /// `&T`, `&mut T`, `*const T`: references are looked through.
    Ref(Box<TyRef>),
    Tuple(Vec<TyRef>),
    Slice(Box<TyRef>),
    /// `dyn A + B` or `impl A + B`: trait paths.
    Traits {
        traits: Vec<Vec<String>>,
        scope: ScopeId,
    },
    SelfTy,
    Unknown,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ModDecl {
    pub name: String,
    /// The scope holding the declaration (the file's module, or an inline module).
    pub scope: ScopeId,
    /// `#[path = ".."]`.
    pub path_attr: Option<String>,
    pub item: ItemId,
    /// The `#[cfg]` conditions the loaded file's code is under from this file: those of the
    /// file and the enclosing modules, and the declaration's own (all must hold).
    pub conds: crate::cfg::Cfg,
    /// The clippy lint levels (`undocumented_unsafe_blocks` or its group) the loaded file's code
    /// is under from this file, outermost first: the file's inner attributes, the enclosing
    /// modules' and the declaration's own (as `UnsafeSite::clippy_levels` records them).
    pub clippy_levels: Vec<lint_level::ClippyLevel>,
}

/// An item-level `include!("path")` (the path as written: relative to the including file's
/// folder). A path built by a macro (`concat!(env!("OUT_DIR"), ..)`) is not recorded: it names
/// a generated file the lint does not read.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct IncludeDecl {
    /// The scope holding the call (the file's module, or an inline module).
    pub scope: ScopeId,
    pub path: String,
    /// The `#[cfg]` conditions in effect at the call.
    pub conds: crate::cfg::Cfg,
    /// The clippy lint levels in effect at the call, outermost first (the file's inner
    /// attributes, the enclosing modules'; see `ModDecl::clippy_levels`).
    pub clippy_levels: Vec<lint_level::ClippyLevel>,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum FnOwner {
    Free,
    Impl(ImplIdx),
    /// A default method body in a trait (the trait item).
    Trait(ItemId),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct FnFacts {
    pub name: String,
    /// The scope the function is declared in.
    pub scope: ScopeId,
    /// The scope its body's names resolve in (its own block scope if it declares items).
    pub body_scope: ScopeId,
    pub owner: FnOwner,
    pub generics: Vec<Generic>,
    pub has_self: bool,
    pub params: Vec<(Pat, TyRef)>,
    pub ret: Option<TyRef>,
    pub is_async: bool,
    /// Its body holds an async block or an async closure (item-level, so that asking does not
    /// decode the body).
    pub has_async_block: bool,
    /// The name token.
    pub span: Span,
    /// First line of the item, attributes included (for `// channel-lint: listener-entry`).
    pub item_line: u32,
    pub in_test: bool,
    /// Every `#[cfg]` condition the function is under within its file (the file's, the
    /// enclosing modules' and impl's, its own; a test-harness attribute such as `#[test]` as
    /// `test`), outermost first. All must hold for it to be compiled; the conditions from the
    /// files that declare this one are the index's (`Index::fn_conds`).
    pub conds: crate::cfg::Cfg,
    /// The paths of its outer attributes, `::`-joined (docs, lint levels, `cfg` and codegen
    /// hints left out): a policy's `test-attributes` are matched against them.
    pub attrs: Vec<String>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImplFacts {
    pub self_ty: TyRef,
    pub trait_path: Option<Vec<String>>,
    pub scope: ScopeId,
    pub generics: Vec<Generic>,
    pub methods: Vec<FnIdx>,
    /// Associated types (`type Target = Sender<T>;`), by name.
    pub assoc_types: Vec<(String, TyRef)>,
}

/// A path occurrence, for `banned-type`.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct PathOcc {
    pub path: Vec<String>,
    pub scope: ScopeId,
    pub span: Span,
    pub anchors: Vec<Anchor>,
    pub in_test: bool,
    /// A `use` leaf (its path is resolved as an import).
    pub is_use: bool,
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum UnsafeKind {
    Block,
    Impl,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct UnsafeSite {
    pub kind: UnsafeKind,
    /// The `unsafe` keyword.
    pub span: Span,
    /// Where the block's `{` is (line, 1-based column), to look for a comment just inside it.
    pub open_brace: Option<(u32, u32)>,
    pub anchors: Vec<Anchor>,
    /// A comment above the innermost anchor (its start line) counts for this site: an `unsafe impl`,
    /// or a block that clippy's parent climb reaches the enclosing statement, `const` or `static`
    /// from through expressions only (not from a struct-literal field, a match arm, the condition
    /// of an `if`/`while` statement, a macro argument, ...; see `climb.rs`).
    pub stmt_comment: bool,
    /// The comment block that opens the block (`unsafe { // SAFETY: .. }`), filled in by the pipeline.
    pub inside_comment: Option<String>,
    /// The attributes around the site (file, items, statements) that set the level of clippy's
    /// `undocumented_unsafe_blocks` or its group, outermost first (the last that applies wins).
    pub clippy_levels: Vec<lint_level::ClippyLevel>,
}

/// A pattern, as far as binding types goes.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Pat {
    Bind(String),
    Tuple(Vec<Pat>),
    /// `Path(a, b)` (tuple struct / tuple variant, also `Some(x)`, `Ok(x)`).
    TupleStruct {
        path: Vec<String>,
        elems: Vec<Pat>,
    },
    /// `Path { field: pat, .. }`.
    Struct {
        path: Vec<String>,
        fields: Vec<(String, Pat)>,
    },
    /// `&pat`, `ref`, `x @ pat`: look through.
    Ref(Box<Pat>),
    Other,
}

local_id!(
    /// An expression of one function body: an index into [`Body::exprs`].
    ExprId
);

/// A function body as an arena of expressions (in the spirit of rust-analyzer's `hir-def`
/// `Body`): what the code says, lowered from syn, with nothing decided about what runs where.
///
/// Invariants: a node's children are allocated before it (so `exprs` is in post-order and
/// every child id is smaller than its parent's); `root` is the function's block and the last
/// node; parentheses are kept as [`ExprKind::Paren`] nodes (so a rule can tell `(|x| ..)` from
/// `|x| ..`); a body never refers to another body.
/// A file's function bodies, in [`FnIdx`] order, each in one of three forms until it is read:
/// lowered (held as it is), encoded (read from the facts cache: decoded when first read) or
/// deferred (not parsed yet: the file was read as an item skeleton, [`crate::skeleton`], and the
/// body is parsed and lowered from the file's text when first read). A read is from any thread,
/// once per body; so a run decodes or parses only the bodies its rules look at (the listener
/// rules read a few percent of a crate's functions). The item tree is always whole.
///
/// Encoded bytes come from a cache entry whose checksum was verified when the pack was loaded,
/// and were written by the same build (the cache key holds the tool version and
/// [`crate::cache`]'s schema), so a body that does not decode is a bug: it panics with a message
/// saying so, which the driver reports as an internal error (never a silently empty body). A
/// deferred body that syn rejects is lowered as a body without a block, and its error is kept
/// ([`Bodies::failures`]) for the driver to report as the file's `parse-error`.
#[derive(Default)]
pub struct Bodies {
    items: Vec<LazyBody>,
    /// The file's text, which deferred bodies are parsed from ([`Bodies::attach_source`]).
    source: Option<std::sync::Arc<str>>,
}

struct LazyBody {
    body: std::sync::OnceLock<Body>,
    /// The encoded body, until decoded (`None` for a lowered or deferred one).
    raw: Option<Box<[u8]>>,
    /// Where the body is in the file's text and its words (kept once it is parsed or encoded:
    /// the words answer [`Bodies::may_name`] without decoding it).
    deferred: Option<Box<Deferred>>,
    /// Set when the deferred body did not parse: where and why.
    failed: std::sync::OnceLock<(crate::diagnostic::Span, String)>,
    /// The word hashes of the names a lowered body says (read from its nodes when first asked).
    names: std::sync::OnceLock<Box<[u32]>>,
}

/// A body left in the text: the `{ .. }` at bytes `open..close`, whose `{` is at `line` and
/// 1-based char `column`, lowered in `scope` under `anchors` (what the whole parse would pass).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Deferred {
    pub open: u32,
    pub close: u32,
    pub line: u32,
    pub column: u32,
    pub scope: ScopeId,
    pub anchors: Vec<Anchor>,
    /// The body's words, as [`crate::skeleton::BodySlot::words`].
    pub words: Vec<u32>,
}

fn body_opts(limit: u64) -> impl bincode::Options {
    use bincode::Options as _;
    bincode::DefaultOptions::new().with_limit(limit)
}

impl Bodies {
    pub fn push(&mut self, body: Body) {
        self.items
            .push(LazyBody::new(std::sync::OnceLock::from(body), None, None));
    }

    /// A body to parse from the file's text when first read.
    pub fn push_deferred(&mut self, d: Deferred) {
        self.items.push(LazyBody::new(
            std::sync::OnceLock::new(),
            None,
            Some(Box::new(d)),
        ));
    }

    /// Some deferred body was parsed since the facts were made or loaded (the cache entry can
    /// keep it lowered).
    pub fn parsed_deferred(&self) -> bool {
        self.items.iter().any(|l| {
            l.deferred.is_some()
                && l.raw.is_none()
                && l.body.get().is_some()
                && l.failed.get().is_none()
        })
    }

    /// Some body is still deferred (the file's text must be attached before it is read).
    pub fn has_deferred(&self) -> bool {
        self.items.iter().any(LazyBody::needs_text)
    }

    /// The file's text, for the deferred bodies (the text the facts were made from: the cache
    /// entry's key is its hash).
    pub fn attach_source(&mut self, text: std::sync::Arc<str>) {
        self.source = Some(text);
    }

    pub fn len(&self) -> usize {
        self.items.len()
    }

    pub fn is_empty(&self) -> bool {
        self.items.is_empty()
    }

    /// The body at `i`, decoded or parsed now if it was not yet.
    pub fn get(&self, i: usize) -> &Body {
        let l = &self.items[i];
        l.body.get_or_init(|| {
            if let (Some(d), None) = (&l.deferred, &l.raw) {
                let text = self.source.as_deref().unwrap_or_else(|| {
                    panic!("a deferred function body is read, but its file's text is not attached")
                });
                return match body::lower_deferred(text, d) {
                    Ok(b) => b,
                    Err(problem) => {
                        let _ = l.failed.set(problem);
                        Body {
                            exprs: Vec::new(),
                            root: None,
                            outer_anchors: d.anchors.clone(),
                        }
                    }
                };
            }
            use bincode::Options as _;
            let raw = l.raw.as_deref().unwrap_or_default();
            body_opts(raw.len() as u64 * 64 + 4096)
                .deserialize(raw)
                .unwrap_or_else(|e| {
                    panic!(
                        "a cached function body does not decode ({e}); delete the facts cache \
                         (target/channel-lint-cache) and run again"
                    )
                })
        })
    }

    pub fn iter(&self) -> impl Iterator<Item = &Body> + '_ {
        (0..self.items.len()).map(|i| self.get(i))
    }

    /// The deferred bodies that were read and did not parse: (where, syn's message), in
    /// [`FnIdx`] order.
    pub fn failures(&self) -> impl Iterator<Item = &(crate::diagnostic::Span, String)> + '_ {
        self.items.iter().filter_map(|l| l.failed.get())
    }

    /// Whether body `i` may write one of the words in the forms whose
    /// [`crate::skeleton::form_hash`]es `query` holds (sorted): a call of a function by that name, a
    /// method, a path, a macro. A deferred body answers from its words without being parsed; a
    /// lowered one from the names its nodes hold (the same words, fewer: no types, no
    /// patterns). Never a false no.
    pub fn may_name(&self, i: usize, query: &[u32]) -> bool {
        let words = self.words(i);
        // Both sorted: look the shorter up in the longer.
        let (few, many) = if query.len() < words.len() {
            (query, words)
        } else {
            (words, query)
        };
        few.iter().any(|h| many.binary_search(h).is_ok())
    }

    /// The form hashes [`Bodies::may_name`] answers from, sorted, without repeats.
    pub fn words(&self, i: usize) -> &[u32] {
        let l = &self.items[i];
        match &l.deferred {
            Some(d) => &d.words,
            None => l.names.get_or_init(|| body_names(self.get(i))),
        }
    }

    /// Whether one of `lines` lies in body `i`, from its braces (a deferred body answers from
    /// its text without being parsed; the others from their block's range).
    pub fn may_hold_line(&self, i: usize, lines: &[u32]) -> bool {
        let l = &self.items[i];
        let (first, last) = match (&l.deferred, l.body.get(), self.source.as_deref()) {
            (Some(d), None, Some(text)) => {
                let span = text
                    .get(d.open as usize..d.close as usize)
                    .unwrap_or_default();
                let n = memchr::memchr_iter(b'\n', span.as_bytes()).count() as u32;
                (d.line, d.line + n)
            }
            _ => {
                let b = self.get(i);
                match b.root {
                    Some(r) => {
                        let s = b.range(r);
                        (s.line, s.end_line)
                    }
                    None => return false,
                }
            }
        };
        lines.iter().any(|&x| x >= first && x <= last)
    }

    /// Body `i` is still deferred (neither lowered nor encoded).
    pub fn is_deferred(&self, i: usize) -> bool {
        self.items[i].needs_text()
    }

    /// How many bodies have been decoded, parsed or lowered.
    #[cfg(test)]
    pub fn decoded(&self) -> usize {
        self.items.iter().filter(|l| l.body.get().is_some()).count()
    }
}

/// The form hashes of every name a lowered body's nodes hold, as the skeleton's scan records
/// them ([`crate::skeleton::BodySlot::words`]), sorted, without repeats.
fn body_names(b: &Body) -> Box<[u32]> {
    use crate::skeleton::{form_hash, Form};
    let mut out = Vec::new();
    let path = |p: &[String], qself: bool, out: &mut Vec<u32>| {
        let Some(last) = p.last() else { return };
        let w = last.as_bytes();
        match p.len().checked_sub(2).map(|k| p[k].as_str()) {
            Some(q) if !q.is_empty() && !qself => {
                out.push(form_hash(Form::Pair(q.as_bytes()), w));
                out.push(form_hash(Form::qualified_by(q.as_bytes()), w));
            }
            Some(_) => out.push(form_hash(Form::Unknown, w)),
            None if qself => out.push(form_hash(Form::Unknown, w)),
            None => out.push(form_hash(Form::Bare, w)),
        }
    };
    for e in &b.exprs {
        match &e.kind {
            ExprKind::MethodCall { method, .. } => {
                out.push(form_hash(Form::Method, method.as_bytes()))
            }
            ExprKind::Call {
                callee: CallTarget::Path { path: p, qself },
                ..
            } => path(p, qself.is_some(), &mut out),
            ExprKind::Path(p) => path(p, false, &mut out),
            ExprKind::MacroCall { name, .. } => out.push(form_hash(Form::Bare, name.as_bytes())),
            _ => {}
        }
    }
    out.sort_unstable();
    out.dedup();
    out.into_boxed_slice()
}

impl LazyBody {
    fn new(
        body: std::sync::OnceLock<Body>,
        raw: Option<Box<[u8]>>,
        deferred: Option<Box<Deferred>>,
    ) -> LazyBody {
        LazyBody {
            body,
            raw,
            deferred,
            failed: std::sync::OnceLock::new(),
            names: std::sync::OnceLock::new(),
        }
    }

    /// Not lowered and not encoded: only the file's text has it.
    fn needs_text(&self) -> bool {
        self.deferred.is_some() && self.raw.is_none() && self.body.get().is_none()
    }
}

impl std::ops::Index<usize> for Bodies {
    type Output = Body;
    fn index(&self, i: usize) -> &Body {
        self.get(i)
    }
}

impl<'a> IntoIterator for &'a Bodies {
    type Item = &'a Body;
    type IntoIter = Box<dyn Iterator<Item = &'a Body> + 'a>;
    fn into_iter(self) -> Self::IntoIter {
        Box::new(self.iter())
    }
}

impl FromIterator<Body> for Bodies {
    fn from_iter<I: IntoIterator<Item = Body>>(it: I) -> Self {
        let mut b = Bodies::default();
        for x in it {
            b.push(x);
        }
        b
    }
}

impl Clone for Bodies {
    fn clone(&self) -> Self {
        Bodies {
            items: self
                .items
                .iter()
                .map(|l| {
                    let body = match l.body.get() {
                        Some(b) => std::sync::OnceLock::from(b.clone()),
                        None => std::sync::OnceLock::new(),
                    };
                    let c = LazyBody::new(body, l.raw.clone(), l.deferred.clone());
                    if let Some(f) = l.failed.get() {
                        let _ = c.failed.set(f.clone());
                    }
                    c
                })
                .collect(),
            source: self.source.clone(),
        }
    }
}

impl std::fmt::Debug for Bodies {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_list().entries(self.iter()).finish()
    }
}

/// How a body is stored in the facts cache.
#[derive(Serialize, Deserialize)]
enum Stored<'a> {
    /// Encoded on its own (so that it can be decoded alone, later), with where it was in the
    /// text and its words if it was deferred.
    Encoded(
        #[serde(borrow)] RawBody<'a>,
        Option<std::borrow::Cow<'a, Deferred>>,
    ),
    /// Not parsed yet (or syn rejected it: it is parsed again, and reported again, next time).
    Deferred(std::borrow::Cow<'a, Deferred>),
}

impl Serialize for Bodies {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        use bincode::Options as _;
        use serde::ser::{Error as _, SerializeSeq as _};
        let mut seq = ser.serialize_seq(Some(self.items.len()))?;
        for l in &self.items {
            match (l.body.get(), &l.raw, &l.deferred) {
                (Some(_), _, Some(d)) if l.failed.get().is_some() => {
                    seq.serialize_element(&Stored::Deferred(std::borrow::Cow::Borrowed(d)))?
                }
                (None, Some(raw), d) => seq.serialize_element(&Stored::Encoded(
                    RawBody(raw.as_ref().into()),
                    d.as_deref().map(std::borrow::Cow::Borrowed),
                ))?,
                (Some(b), _, d) => {
                    let bytes = body_opts(u64::MAX).serialize(b).map_err(S::Error::custom)?;
                    seq.serialize_element(&Stored::Encoded(
                        RawBody(bytes.into()),
                        d.as_deref().map(std::borrow::Cow::Borrowed),
                    ))?
                }
                (None, None, Some(d)) => {
                    seq.serialize_element(&Stored::Deferred(std::borrow::Cow::Borrowed(d)))?
                }
                (None, None, None) => return Err(S::Error::custom("a body with no form")),
            }
        }
        seq.end()
    }
}

/// An encoded body's bytes (borrowed when written, owned when read).
struct RawBody<'a>(std::borrow::Cow<'a, [u8]>);

impl Serialize for RawBody<'_> {
    fn serialize<S: serde::Serializer>(&self, ser: S) -> Result<S::Ok, S::Error> {
        ser.serialize_bytes(&self.0)
    }
}

impl<'de: 'a, 'a> Deserialize<'de> for RawBody<'a> {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawBody<'de>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("an encoded body")
            }
            fn visit_borrowed_bytes<E: serde::de::Error>(
                self,
                v: &'de [u8],
            ) -> Result<Self::Value, E> {
                Ok(RawBody(std::borrow::Cow::Borrowed(v)))
            }
            fn visit_bytes<E: serde::de::Error>(self, v: &[u8]) -> Result<Self::Value, E> {
                Ok(RawBody(std::borrow::Cow::Owned(v.to_vec())))
            }
            fn visit_byte_buf<E: serde::de::Error>(self, v: Vec<u8>) -> Result<Self::Value, E> {
                Ok(RawBody(std::borrow::Cow::Owned(v)))
            }
        }
        de.deserialize_bytes(V)
    }
}

impl<'de> Deserialize<'de> for Bodies {
    fn deserialize<D: serde::Deserializer<'de>>(de: D) -> Result<Self, D::Error> {
        let stored: Vec<Stored> = Vec::deserialize(de)?;
        Ok(Bodies {
            items: stored
                .into_iter()
                .map(|s| {
                    let (raw, deferred) = match s {
                        Stored::Encoded(r, d) => (
                            Some(r.0.into_owned().into_boxed_slice()),
                            d.map(|d| Box::new(d.into_owned())),
                        ),
                        Stored::Deferred(d) => (None, Some(Box::new(d.into_owned()))),
                    };
                    LazyBody::new(std::sync::OnceLock::new(), raw, deferred)
                })
                .collect(),
            source: None,
        })
    }
}

#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct Body {
    #[serde(with = "compact_ranges")]
    pub exprs: Vec<ExprData>,
    /// The function's block (`None` for a function without one).
    pub root: Option<ExprId>,
    /// Anchors of the items around the function, outermost first (a call's anchors are these
    /// plus the statements and match arms it sits in).
    pub outer_anchors: Vec<Anchor>,
}

impl Body {
    pub fn expr(&self, e: ExprId) -> &ExprData {
        &self.exprs[e.idx()]
    }

    /// Where `e` is written: from its first token (its first outer attribute, a label, the
    /// leftmost sub-expression) to its last, as [`ExprData::range`] says.
    pub fn range(&self, e: ExprId) -> Span {
        self.exprs[e.idx()].range
    }
}

/// How a body's nodes are cached: each range as differences (its line from the previous node's,
/// its end line from its start line), which bincode's variable-length integers write in a byte
/// each where the plain lines would take three (a third of the facts' size for nothing).
mod compact_ranges {
    use super::{ExprData, ExprKind, Span};
    use serde::de::{Deserializer, Error, SeqAccess, Visitor};
    use serde::ser::Serializer;

    type Cached = (ExprKind, i64, u32, i64, u32);

    pub fn serialize<S: Serializer>(exprs: &[ExprData], s: S) -> Result<S::Ok, S::Error> {
        let mut prev = 0i64;
        s.collect_seq(exprs.iter().map(|x| {
            let r = x.range;
            let line = i64::from(r.line);
            let item = (
                &x.kind,
                line - prev,
                r.column,
                i64::from(r.end_line) - line,
                r.end_column,
            );
            prev = line;
            item
        }))
    }

    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Vec<ExprData>, D::Error> {
        struct Exprs;
        impl<'de> Visitor<'de> for Exprs {
            type Value = Vec<ExprData>;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a sequence of expressions")
            }
            fn visit_seq<A: SeqAccess<'de>>(self, mut seq: A) -> Result<Self::Value, A::Error> {
                // A corrupt length must not allocate without limit: the vector grows as the
                // elements are read.
                let mut out = Vec::with_capacity(seq.size_hint().unwrap_or(0).min(4096));
                let mut prev = 0i64;
                let line = |l: i64, d: i64| {
                    l.checked_add(d)
                        .and_then(|l| u32::try_from(l).ok())
                        .ok_or_else(|| A::Error::custom("a line out of range"))
                };
                while let Some((kind, dl, column, de, end_column)) = seq.next_element::<Cached>()? {
                    let start = line(prev, dl)?;
                    prev = i64::from(start);
                    let range = Span {
                        line: start,
                        column,
                        end_line: line(prev, de)?,
                        end_column,
                    };
                    out.push(ExprData { kind, range });
                }
                Ok(out)
            }
        }
        d.deserialize_seq(Exprs)
    }
}

/// Cached through [`Body`] (`compact_ranges`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExprData {
    pub kind: ExprKind,
    /// The expression's source text, first token to last (1-based lines and character
    /// columns, end exclusive, as every [`Span`]; the driver turns spans into byte ranges): an
    /// expression's outer attributes, a block's label and `unsafe` are part of it; a macro
    /// call ends at its closing delimiter (a statement's `;` is not part of it). A
    /// [`ExprKind::Spawn`] has its call's range; the [`ExprKind::Block`] of a function, an `if`
    /// branch, a loop or an `async` block is its braces (the keywords are the parent's). Method
    /// names, `await` keywords and callee names keep their own spans in their [`ExprKind`].
    pub range: Span,
}

/// A statement of a block (or of a macro body that parses as statements).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Stmt {
    pub kind: StmtKind,
    /// The statement's own `#[cfg]` conditions (empty: none).
    pub cfg: crate::cfg::Cfg,
    /// The statement's lines, for suppression comments above it.
    pub anchor: Anchor,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum StmtKind {
    /// `let pat [: ty] [= init [else { diverge }]];`
    Let {
        pat: Pat,
        ty: Option<TyRef>,
        init: Option<ExprId>,
        diverge: Option<ExprId>,
    },
    Expr(ExprId),
    /// An item declared in the block (recorded in the item tree, not here).
    Item,
}

/// A closure parameter or a pattern with its written type.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Param {
    pub pat: Pat,
    pub ty: Option<TyRef>,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct MatchArm {
    /// The arm's own `#[cfg]` conditions (empty: none).
    pub cfg: crate::cfg::Cfg,
    pub pat: Pat,
    pub guard: Option<ExprId>,
    pub body: ExprId,
    /// The arm's lines (attributes and pattern through the body).
    pub anchor: Anchor,
}

/// One arm of a `select!`-style macro: `pat = future [, if guard] => handler`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct SelectArm {
    /// `None` for `else`/`default`/`complete` arms.
    pub pat: Option<Pat>,
    pub future: Option<ExprId>,
    pub guard: Option<ExprId>,
    pub handler: ExprId,
}

/// What a macro invocation's tokens parsed as.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum MacroArgs {
    /// `select!`-style arms.
    Select(Vec<SelectArm>),
    /// Comma-separated expressions (`join!(a, b)`, `vec![a, b]`, `format!(..)`), or `x; n`.
    Exprs(Vec<ExprId>),
    Stmts(Vec<Stmt>),
    /// Did not parse: only scanned for `unsafe`.
    Tokens,
}

/// Who is called: a path (`a::b::f`, `<T as Tr>::f`), or any other expression.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum CallTarget {
    Path {
        path: Vec<String>,
        /// The explicit `<T as Trait>` self type (boxed: rare, and it would double the size of
        /// every node).
        qself: Option<Box<TyRef>>,
    },
    Expr(ExprId),
}

#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
pub enum LoopKind {
    Loop,
    While,
    For,
}

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum ExprKind {
    /// `{ .. }` and `unsafe { .. }`.
    Block(Vec<Stmt>),
    /// `async [move] { .. }`: its block.
    AsyncBlock(ExprId),
    Closure {
        params: Vec<Param>,
        body: ExprId,
        is_async: bool,
    },
    /// `base.await`; `span` is the `await` keyword.
    Await {
        base: ExprId,
        span: Span,
    },
    /// A call that hands its arguments to another task or thread (`tokio::spawn(fut)`,
    /// `set.spawn(fut)`, `spawn_blocking(|| ..)`; see `facts::body::is_spawn_name`): the
    /// call node (a [`ExprKind::MethodCall`] or [`ExprKind::Call`]), whose arguments are the
    /// spawned futures or closures.
    Spawn {
        call: ExprId,
    },
    /// `recv.method(args)`; `span` is the method name.
    MethodCall {
        recv: ExprId,
        method: String,
        args: Vec<ExprId>,
        span: Span,
    },
    /// `f(args)`; `span` is the last segment of a path callee (else the callee's span).
    Call {
        callee: CallTarget,
        args: Vec<ExprId>,
        span: Span,
    },
    /// A macro invocation, its arguments parsed where they parse; `span` is the macro name.
    MacroCall {
        name: String,
        args: MacroArgs,
        span: Span,
    },
    /// A path without a qualified self type.
    Path(Vec<String>),
    Field {
        base: ExprId,
        name: String,
    },
    Index {
        base: ExprId,
        index: ExprId,
    },
    /// `&e`, `&mut e`, `*e`.
    Ref(ExprId),
    Deref(ExprId),
    /// `!e`, `-e`.
    Unary(ExprId),
    /// `e?`.
    Try(ExprId),
    /// `(e)` (and the invisible groups of macro expansions).
    Paren(ExprId),
    StructLit {
        path: Vec<String>,
        fields: Vec<ExprId>,
        rest: Option<ExprId>,
    },
    Tuple(Vec<ExprId>),
    Array(Vec<ExprId>),
    Repeat {
        value: ExprId,
        len: ExprId,
    },
    If {
        cond: ExprId,
        then: ExprId,
        els: Option<ExprId>,
    },
    /// `let pat = e` in an `if`/`while` condition.
    Let {
        pat: Pat,
        init: ExprId,
    },
    /// `loop { body }`, `while cond { body }`, `for pat in iter { body }` (`head` is the
    /// condition or the iterated expression).
    Loop {
        kind: LoopKind,
        /// A `for` loop's pattern (boxed, as `qself`).
        pat: Option<Box<Pat>>,
        head: Option<ExprId>,
        body: ExprId,
        /// The `loop`/`while`/`for` keyword.
        span: Span,
    },
    Match {
        scrutinee: ExprId,
        arms: Vec<MatchArm>,
    },
    /// `a = b`, `a += b`.
    Assign {
        lhs: ExprId,
        rhs: ExprId,
    },
    Binary {
        lhs: ExprId,
        rhs: ExprId,
    },
    Cast(ExprId),
    Range {
        start: Option<ExprId>,
        end: Option<ExprId>,
    },
    Return(Option<ExprId>),
    Break(Option<ExprId>),
    Yield(Option<ExprId>),
    Lit,
    /// Not lowered (`<T>::X` paths, `try` and `const` blocks, inline asm, verbatim tokens, ...):
    /// nothing inside is analysed.
    Other,
}

#[cfg(test)]
mod tests {
    use super::*;
    use bincode::Options as _;

    /// The facts of `text` parsed whole, and read as its item skeleton with every deferred body
    /// then parsed, both printed (every field, the bodies lowered; a deferred body's place in
    /// the text, which the cache keeps with it, is not a fact), with `has_async_block` (which the skeleton
    /// reads off words: it may say yes for more) taken from the whole parse. `None`: the text
    /// has no skeleton, or syn rejects it.
    fn eager_and_lazy(text: &str, keep: &[String]) -> Option<(String, String, usize)> {
        // With words to keep, path occurrences are collected and, as the planner does, trimmed
        // to those naming one of them.
        let ex = ExtractOptions {
            collect_paths: !keep.is_empty(),
        };
        let trim = |f: &mut FileFacts| {
            f.paths
                .retain(|o| o.path.iter().any(|seg| keep.contains(seg)))
        };
        let file = syn::parse_file(text).ok()?;
        let mut eager = extract(&file, ex);
        let sk = crate::skeleton::skeleton(text, keep)?;
        let skel = syn::parse_file(&sk.text).expect("a skeleton of a file that parses parses");
        let mut lazy = extract_skeleton(&skel, ex, &sk.slots)
            .expect("every blanked body is a function's block");
        lazy.bodies.attach_source(std::sync::Arc::from(text));
        trim(&mut eager);
        trim(&mut lazy);
        for (l, e) in lazy.fns.iter_mut().zip(&eager.fns) {
            assert!(
                !e.has_async_block || l.has_async_block,
                "{}: async block missed",
                e.name
            );
            l.has_async_block = e.has_async_block;
        }
        let _ = lazy.bodies.iter().count();
        assert_eq!(lazy.bodies.failures().count(), 0);
        Some((format!("{eager:?}"), format!("{lazy:?}"), sk.slots.len()))
    }

    fn rust_files(dir: &std::path::Path, out: &mut Vec<std::path::PathBuf>) {
        let Ok(rd) = std::fs::read_dir(dir) else {
            return;
        };
        for e in rd.flatten() {
            let p = e.path();
            if p.is_dir() && !p.ends_with("target") {
                rust_files(&p, out);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(p);
            }
        }
    }

    /// Every file of `dirs` that parses: the skeleton's facts are the whole parse's.
    fn check_skeletons(dirs: &[std::path::PathBuf]) -> (usize, usize) {
        let mut files = Vec::new();
        for d in dirs {
            rust_files(d, &mut files);
        }
        let (mut n, mut slots) = (0, 0);
        for f in &files {
            let Ok(text) = std::fs::read_to_string(f) else {
                continue;
            };
            // syn and the lowering recurse: a big stack, as on the driver's pool.
            let r = std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn(move || {
                    let words = ["Sender", "UdpSocket", "Mutex", "spawn"].map(String::from);
                    let with_paths = eager_and_lazy(&text, &words);
                    if let Some((e, l, _)) = &with_paths {
                        assert!(e == l, "path occurrences differ");
                    }
                    eager_and_lazy(&text, &[])
                })
                .unwrap()
                .join()
                .unwrap_or_else(|_| panic!("{}", f.display()));
            if let Some((eager, lazy, k)) = r {
                assert!(
                    eager == lazy,
                    "{}: the skeleton's facts differ",
                    f.display()
                );
                n += 1;
                slots += k;
            }
        }
        (n, slots)
    }

    #[test]
    fn skeleton_facts_equal_the_whole_parse_on_the_workspace_and_fixtures() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let (n, slots) = check_skeletons(&[
            root.join("lint/src"),
            root.join("node"),
            root.join("policy"),
            root.join("xtask"),
            root.join("fixtures"),
        ]);
        assert!(
            n > 150 && slots > 1000,
            "{n} files, {slots} bodies deferred"
        );
    }

    /// Real files with random edits: wherever the edited text still parses, its skeleton's facts
    /// are the whole parse's (the scan meets half-written code, odd spacing, stray delimiters).
    #[test]
    fn skeleton_facts_equal_the_whole_parse_on_edited_files() {
        let root = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("..");
        let mut files = Vec::new();
        rust_files(&root.join("fixtures"), &mut files);
        rust_files(&root.join("node/src"), &mut files);
        files.sort();
        let texts: Vec<String> = files
            .iter()
            .filter_map(|f| std::fs::read_to_string(f).ok())
            .collect();
        let pieces = [
            "{",
            "}",
            "(",
            ")",
            ";",
            " ",
            "\n",
            "fn ",
            "use x;",
            "const C: u8 = 1;",
            "async ",
            "unsafe ",
            "'a",
            "\"",
            "//",
            "/// d\n",
            "m!",
            "::",
            ".",
            "<",
            ">",
            "r#\"x\"#",
            "#",
        ];
        let mut seed = 0x2545_f491_4f6c_dd1du64;
        let mut next = move || {
            seed ^= seed << 13;
            seed ^= seed >> 7;
            seed ^= seed << 17;
            seed
        };
        let (mut compared, mut tried) = (0, 0);
        // More: SKELETON_EDITS=N (in release: `cargo test --release ..`).
        let n: usize = std::env::var("SKELETON_EDITS")
            .ok()
            .and_then(|v| v.parse().ok())
            .unwrap_or(1500);
        for _ in 0..n {
            let mut text = texts[next() as usize % texts.len()].clone();
            for _ in 0..1 + next() % 3 {
                if text.is_empty() {
                    break;
                }
                let mut at = next() as usize % text.len();
                while !text.is_char_boundary(at) {
                    at -= 1;
                }
                let piece = pieces[next() as usize % pieces.len()];
                if next() % 2 == 0 {
                    text.insert_str(at, piece);
                } else {
                    let mut end = (at + 1 + next() as usize % 3).min(text.len());
                    while !text.is_char_boundary(end) {
                        end += 1;
                    }
                    text.replace_range(at..end, "");
                }
            }
            tried += 1;
            let r = std::thread::Builder::new()
                .stack_size(64 << 20)
                .spawn(move || (eager_and_lazy(&text, &[]), text))
                .unwrap()
                .join();
            let Ok((r, text)) = r else {
                panic!("a panic on an edited file");
            };
            if let Some((eager, lazy, _)) = r {
                assert!(eager == lazy, "the skeleton's facts differ on:\n{text}");
                compared += 1;
            }
        }
        assert!(compared > 200, "{compared} of {tried} edited files parsed");
    }

    /// The same on any tree: `SKELETON_CHECK=DIR cargo test -p cargo-channel-lint --release --lib
    /// skeleton_facts_on_a_tree -- --ignored` (the bench corpora, a registry folder).
    #[test]
    #[ignore]
    fn skeleton_facts_on_a_tree() {
        let dir = std::env::var_os("SKELETON_CHECK").expect("SKELETON_CHECK=DIR");
        let (n, slots) = check_skeletons(&[dir.into()]);
        eprintln!("{n} files, {slots} bodies deferred: facts identical");
    }

    fn opts() -> impl bincode::Options {
        bincode::DefaultOptions::new().with_limit(1 << 20)
    }

    #[test]
    fn bodies_round_trip_through_the_compact_ranges() {
        let mut src = String::from("async fn f() {\n");
        for i in 0..300 {
            src.push_str(&format!(
                "    let v{i} = tx\n        .send({i})\n        .await;\n"
            ));
        }
        src.push_str("}\nfn g() { h(|x| x) }\n");
        let facts = extract(&syn::parse_file(&src).unwrap(), ExtractOptions::default());
        for body in &facts.bodies {
            let bytes = opts().serialize(body).unwrap();
            let back: Body = opts().deserialize(&bytes).unwrap();
            assert_eq!(&back, body);
        }
        // Lines past 250 take three bytes each as plain numbers, one as differences.
        let body = &facts.bodies[0];
        let plain: Vec<(&ExprKind, Span)> = body.exprs.iter().map(|x| (&x.kind, x.range)).collect();
        let plain = opts()
            .serialize(&(plain, body.root, &body.outer_anchors))
            .unwrap()
            .len();
        let compact = opts().serialize(body).unwrap().len();
        assert!(
            compact + 2 * body.exprs.len() <= plain,
            "{compact} bytes against {plain} for {} expressions",
            body.exprs.len()
        );
    }

    #[test]
    fn cached_bodies_are_decoded_when_first_read_and_equal_the_lowered_ones() {
        let src = "async fn f() { tx.send(1).await; }\nfn g() { h(|x| x) }\nfn k() {}\n";
        let facts = extract(&syn::parse_file(src).unwrap(), ExtractOptions::default());
        let bytes = opts().serialize(&facts).unwrap();
        let back: FileFacts = opts().deserialize(&bytes).unwrap();
        assert_eq!(back.bodies.len(), 3);
        assert_eq!(
            back.bodies.decoded(),
            0,
            "nothing decoded before it is read"
        );
        assert_eq!(back.bodies[1], facts.bodies[1]);
        assert_eq!(back.bodies.decoded(), 1, "only the body read");
        // Encoding again keeps the undecoded ones as they were.
        let again = opts().serialize(&back).unwrap();
        assert_eq!(again, bytes);
        let all: Vec<&Body> = back.bodies.iter().collect();
        let want: Vec<&Body> = facts.bodies.iter().collect();
        assert_eq!(all, want);
        assert!(facts
            .fns
            .iter()
            .map(|f| f.has_async_block)
            .eq([false, false, false]));
    }

    #[test]
    fn a_corrupt_line_is_an_error() {
        let body = Body {
            exprs: vec![ExprData {
                kind: ExprKind::Lit,
                range: Span {
                    line: 3,
                    column: 1,
                    end_line: 3,
                    end_column: 2,
                },
            }],
            root: None,
            outer_anchors: Vec::new(),
        };
        let mut bytes = opts().serialize(&body).unwrap();
        // (len 1, kind Lit, line difference 3 as zigzag 6, ..): make it -3.
        let at = bytes.iter().position(|&b| b == 6).unwrap();
        bytes[at] = 5;
        assert!(opts().deserialize::<Body>(&bytes).is_err());
    }
}
