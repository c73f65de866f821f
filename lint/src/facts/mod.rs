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
pub mod macros;
mod unsafe_only;

pub use extract::{extract, ExtractOptions};
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
    pub fns: Vec<FnFacts>,
    pub impls: Vec<ImplFacts>,
    /// Path occurrences (only collected when a `banned-type` entry applies to the file).
    pub paths: Vec<PathOcc>,
    pub unsafe_sites: Vec<UnsafeSite>,
    /// `mod name;` declarations that load another file.
    pub mod_decls: Vec<ModDecl>,
    /// The whole file is test code (`#![cfg(test)]`).
    pub file_is_test: bool,
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
    pub body: Vec<Event>,
    /// The name token.
    pub span: Span,
    /// First line of the item, attributes included (for `// channel-lint: listener-entry`).
    pub item_line: u32,
    pub in_test: bool,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct ImplFacts {
    pub self_ty: TyRef,
    pub trait_path: Option<Vec<String>>,
    pub scope: ScopeId,
    pub generics: Vec<Generic>,
    pub methods: Vec<FnIdx>,
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

/// The small expression language the call-graph analysis evaluates types in.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum Expr {
    Path(Vec<String>),
    Field(Box<Expr>, String),
    Method(Box<Expr>, String, Vec<Expr>),
    Call(Vec<String>, Vec<Expr>),
    Index(Box<Expr>),
    /// `&e`, `*e`, `(e)`, `e?`, `e.await`: looked through (with unwrapping of `?`).
    Ref(Box<Expr>),
    Try(Box<Expr>),
    /// `Path { .. }`.
    StructLit(Vec<String>),
    Tuple(Vec<Expr>),
    /// The element type of iterating `e` (`for x in e`).
    IterElem(Box<Expr>),
    /// `async { .. }`, closures, literals, anything else.
    Unknown,
}

/// One step of a function body, in evaluation order.
#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Event {
    /// A lexical scope opens/closes (blocks, match arms, closures).
    Enter,
    Exit,
    /// Bind names of `pat` (typed by `ty` if given, else by `init`).
    Let {
        pat: Pat,
        ty: Option<TyRef>,
        init: Option<Expr>,
    },
    Call(CallSite),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct CallSite {
    pub callee: Callee,
    pub awaited: bool,
    /// The method name, or the last segment of the path.
    pub span: Span,
    pub anchors: Vec<Anchor>,
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub enum Callee {
    /// `a::b::f(..)`, with the explicit `<T as Trait>` self type if any.
    Path {
        path: Vec<String>,
        qself: Option<TyRef>,
    },
    /// `recv.name(..)`.
    Method { recv: Expr, name: String },
}
