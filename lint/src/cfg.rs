//! `#[cfg(..)]` predicates as parsed values, their three-valued evaluation, and the one answer to
//! "is this test-only code?" that the facts extractor, the driver and `init` all ask.
//!
//! A base module (like rust-analyzer's `cfg` crate): it depends on no other module of the
//! crate, so the facts can record parsed predicates and the semantic layer and rules can
//! evaluate them.
//!
//! Invariants:
//! - A predicate is parsed from the attribute's tokens, never matched as words: `test`,
//!   `feature = "x"`, `all(..)`, `any(..)`, `not(..)`. What does not parse is kept as
//!   [`CfgPred::Unknown`] (with its text), and evaluates to [`Tri::Unknown`]: unknown is never
//!   guessed.
//! - `#[cfg_attr(p, .., cfg(q), ..)]` makes the item conditional on `any(not(p), q)` (when `p`
//!   holds, `cfg(q)` applies); a `cfg_attr` without an inner `cfg` adds no condition. Nested
//!   `cfg_attr` is followed.
//! - Several `#[cfg]` attributes on one node all must hold; they are kept one predicate each
//!   (a [`Cfg`]), in source order.
//! - The test-code answer ([`cfg_test_only`]) is today's rule, kept for identical behaviour,
//!   stated over the parsed predicate; where it differs from the principled answer
//!   ([`CfgPred::excluded_without_test`]) the case is listed there and tested below.

use serde::{Deserialize, Serialize};

use proc_macro2::{Delimiter, TokenStream, TokenTree};

/// One parsed `cfg` predicate.
#[derive(Debug, Clone, PartialEq, Eq, Hash, Serialize, Deserialize)]
pub enum CfgPred {
    /// `test`, `unix`, `debug_assertions`, ...
    Atom(String),
    /// `feature = "x"`, `target_os = "linux"`, ... (the string's value).
    KeyValue(String, String),
    All(Vec<CfgPred>),
    Any(Vec<CfgPred>),
    Not(Box<CfgPred>),
    /// Tokens that are no predicate (`cfg(a, b)`, `cfg(x = 1)`, a path, ...), as written.
    Unknown(String),
}

/// The `#[cfg]` conditions of one node: all must hold (empty: unconditional).
pub type Cfg = Vec<CfgPred>;

/// A three-valued truth.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Tri {
    True,
    False,
    Unknown,
}

impl Tri {
    fn from_bool(b: bool) -> Tri {
        if b {
            Tri::True
        } else {
            Tri::False
        }
    }

    fn not(self) -> Tri {
        match self {
            Tri::True => Tri::False,
            Tri::False => Tri::True,
            Tri::Unknown => Tri::Unknown,
        }
    }
}

/// What is known about the build a predicate is evaluated for.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct CfgEnv {
    /// `cfg(test)`; None: unknown.
    pub test: Option<bool>,
    /// The enabled features; None: unknown (every `feature = ".."` is [`Tri::Unknown`]).
    pub features: Option<Vec<String>>,
    /// Other atoms whose value is known (`debug_assertions`, `unix`, ...); the rest are unknown.
    pub atoms: Vec<(String, bool)>,
    /// Attributes that make a function a test besides the built-in ones (the policy's
    /// `[analysis] test-attributes`), as path segments matched as a suffix.
    pub test_attributes: Vec<Vec<String>>,
}

impl CfgEnv {
    /// A non-test build about which nothing else is known.
    pub fn not_test() -> CfgEnv {
        CfgEnv {
            test: Some(false),
            ..CfgEnv::default()
        }
    }

    /// A production build (`test` off) with these features, when they are known (the
    /// policy's `[analysis] features`: the listed ones on, every other off).
    pub fn production(features: Option<Vec<String>>) -> CfgEnv {
        CfgEnv {
            test: Some(false),
            features,
            atoms: Vec::new(),
            test_attributes: Vec::new(),
        }
    }

    /// The same build, where these attributes also make a function a test.
    pub fn with_test_attributes(mut self, attrs: Vec<Vec<String>>) -> CfgEnv {
        self.test_attributes = attrs;
        self
    }

    /// Is a function with these attributes (paths, `::`-joined) a test by the extra test
    /// attributes? (The built-in ones are already its `test` condition.)
    pub fn has_extra_test_attr(&self, attrs: &[String]) -> bool {
        attrs.iter().any(|a| {
            let segs: Vec<&str> = a.split("::").collect();
            self.test_attributes
                .iter()
                .any(|t| t.len() <= segs.len() && segs[segs.len() - t.len()..].iter().eq(t.iter()))
        })
    }

    /// Can code under all of `cfg` be compiled in this build (no condition known false)?
    pub fn admits(&self, cfg: &[CfgPred]) -> bool {
        cfg.iter().all(|c| c.eval(self) != Tri::False)
    }
}

impl CfgPred {
    /// Evaluate under `env`, three-valued: `all` is false as soon as one operand is false,
    /// `any` true as soon as one is true, otherwise an unknown operand makes the result unknown.
    pub fn eval(&self, env: &CfgEnv) -> Tri {
        match self {
            CfgPred::Atom(a) if a == "test" => env.test.map_or(Tri::Unknown, Tri::from_bool),
            CfgPred::Atom(a) => env
                .atoms
                .iter()
                .find(|(n, _)| n == a)
                .map_or(Tri::Unknown, |&(_, v)| Tri::from_bool(v)),
            CfgPred::KeyValue(k, v) if k == "feature" => match &env.features {
                Some(f) => Tri::from_bool(f.iter().any(|x| x == v)),
                None => Tri::Unknown,
            },
            CfgPred::KeyValue(..) | CfgPred::Unknown(_) => Tri::Unknown,
            CfgPred::All(ps) => {
                let mut r = Tri::True;
                for p in ps {
                    match p.eval(env) {
                        Tri::False => return Tri::False,
                        Tri::Unknown => r = Tri::Unknown,
                        Tri::True => {}
                    }
                }
                r
            }
            CfgPred::Any(ps) => {
                let mut r = Tri::False;
                for p in ps {
                    match p.eval(env) {
                        Tri::True => return Tri::True,
                        Tri::Unknown => r = Tri::Unknown,
                        Tri::False => {}
                    }
                }
                r
            }
            CfgPred::Not(p) => p.eval(env).not(),
        }
    }

    /// The principled test-only answer: code under this predicate is definitely not compiled
    /// when `test` is off (everything else unknown).
    ///
    /// It differs from the rule the lint uses today ([`cfg_test_only`]) on, for example:
    /// - `any(test, feature = "x")`: today test code; here not (a build with the feature has it);
    /// - `all(test, not(feature = "x"))`, `not(not(test))`: today not test code (a `not`);
    ///   here test-only;
    /// - `feature = "test"`, `feature = "test-utils"`: today test code (the word `test`);
    ///   here not.
    pub fn excluded_without_test(&self) -> bool {
        self.eval(&CfgEnv::not_test()) == Tri::False
    }

    /// Whether any atom, key or value of the predicate is `w` or, split at characters that are
    /// neither alphanumeric nor `_`, has `w` as a part (the `Unknown` text likewise).
    fn names_word(&self, w: &str) -> bool {
        let has = |s: &str| {
            s.split(|c: char| !(c.is_alphanumeric() || c == '_'))
                .any(|x| x == w)
        };
        match self {
            CfgPred::Atom(a) => has(a),
            CfgPred::KeyValue(k, v) => has(k) || has(v),
            CfgPred::All(ps) => w == "all" || ps.iter().any(|p| p.names_word(w)),
            CfgPred::Any(ps) => w == "any" || ps.iter().any(|p| p.names_word(w)),
            CfgPred::Not(p) => w == "not" || p.names_word(w),
            CfgPred::Unknown(t) => has(t),
        }
    }
}

/// Parse the predicates of a node's attributes: each `#[cfg(p)]` gives `p`, each
/// `#[cfg_attr(p, .., cfg(q), ..)]` gives `any(not(p), q)` per inner `cfg`. No allocation for
/// attributes that are neither.
pub fn cfg_of(attrs: &[syn::Attribute]) -> Cfg {
    let mut out = Vec::new();
    for a in attrs {
        let Some(id) = a.path().get_ident() else {
            continue;
        };
        let syn::Meta::List(l) = &a.meta else {
            continue;
        };
        if id == "cfg" {
            out.push(parse_pred(l.tokens.clone()));
        } else if id == "cfg_attr" {
            cfg_attr_conditions(l.tokens.clone(), &mut out);
        }
    }
    out
}

/// The conditions a `cfg_attr(p, attrs..)` adds (one per inner `cfg`, nested `cfg_attr` followed).
fn cfg_attr_conditions(tokens: TokenStream, out: &mut Cfg) {
    let mut parts = split_commas(tokens).into_iter();
    let Some(guard_tokens) = parts.next() else {
        return;
    };
    // Parsed once, on the first inner `cfg`.
    let mut guard: Option<CfgPred> = None;
    for attr in parts {
        let (name, args) = match attr.as_slice() {
            [TokenTree::Ident(n), TokenTree::Group(g)]
                if g.delimiter() == Delimiter::Parenthesis =>
            {
                (n, g)
            }
            _ => continue,
        };
        let mut inner = Vec::new();
        if name == "cfg" {
            inner.push(parse_pred(args.stream()));
        } else if name == "cfg_attr" {
            cfg_attr_conditions(args.stream(), &mut inner);
        }
        for q in inner {
            let p = guard
                .get_or_insert_with(|| parse_one(&guard_tokens))
                .clone();
            out.push(CfgPred::Any(vec![CfgPred::Not(Box::new(p)), q]));
        }
    }
}

/// Parse one predicate from a `cfg(..)`'s tokens; anything else is [`CfgPred::Unknown`].
pub fn parse_pred(tokens: TokenStream) -> CfgPred {
    let parts = split_commas(tokens.clone());
    match parts.as_slice() {
        [one] => pred(one).unwrap_or_else(|| CfgPred::Unknown(tokens.to_string())),
        _ => CfgPred::Unknown(tokens.to_string()),
    }
}

/// One predicate from tokens without a top-level comma; else [`CfgPred::Unknown`].
fn parse_one(tts: &[TokenTree]) -> CfgPred {
    pred(tts).unwrap_or_else(|| {
        CfgPred::Unknown(tts.iter().cloned().collect::<TokenStream>().to_string())
    })
}

/// The tokens split at top-level commas; a trailing comma adds no empty part.
fn split_commas(tokens: TokenStream) -> Vec<Vec<TokenTree>> {
    let mut parts = vec![Vec::new()];
    for tt in tokens {
        match &tt {
            TokenTree::Punct(p) if p.as_char() == ',' => parts.push(Vec::new()),
            _ => parts.last_mut().expect("never empty").push(tt),
        }
    }
    if parts.last().is_some_and(|p| p.is_empty()) {
        parts.pop();
    }
    parts
}

/// One predicate from its tokens (no top-level comma); None if it is no predicate.
fn pred(tts: &[TokenTree]) -> Option<CfgPred> {
    match tts {
        [TokenTree::Ident(i)] => Some(CfgPred::Atom(i.to_string())),
        [TokenTree::Ident(k), TokenTree::Punct(eq), TokenTree::Literal(l)]
            if eq.as_char() == '=' =>
        {
            match syn::Lit::new(l.clone()) {
                syn::Lit::Str(s) => Some(CfgPred::KeyValue(k.to_string(), s.value())),
                _ => None,
            }
        }
        [TokenTree::Ident(f), TokenTree::Group(g)] if g.delimiter() == Delimiter::Parenthesis => {
            let parts = split_commas(g.stream());
            let mut ps = Vec::with_capacity(parts.len());
            for p in &parts {
                ps.push(pred(p)?);
            }
            if f == "all" {
                Some(CfgPred::All(ps))
            } else if f == "any" {
                Some(CfgPred::Any(ps))
            } else if f == "not" && ps.len() == 1 {
                Some(CfgPred::Not(Box::new(ps.pop()?)))
            } else {
                None
            }
        }
        _ => None,
    }
}

// ---- test code -----------------------------------------------------------------------------

/// Is code under these `#[cfg]` conditions test-only? The one rule every caller uses.
///
/// Today's rule, kept for identical behaviour: some condition names the word `test` (as an atom,
/// a key, or a part of a value: `feature = "test-utils"` counts) and has no `not(..)` in it
/// (a condition from `cfg_attr` always has one, so `cfg_attr` never makes code test code). The
/// cases where this differs from the principled [`CfgPred::excluded_without_test`] are listed
/// there; changing them is left to the accuracy issue.
pub fn cfg_test_only(cfg: &[CfgPred]) -> bool {
    cfg.iter()
        .any(|p| p.names_word("test") && !p.names_word("not"))
}

/// A test-harness attribute: `#[test]`, `#[tokio::test]`, `#[rstest]`, `#[bench]` (any path whose
/// last segment is one of these).
pub fn has_test_attr(attrs: &[syn::Attribute]) -> bool {
    attrs.iter().any(|a| {
        a.path()
            .segments
            .last()
            .is_some_and(|s| s.ident == "test" || s.ident == "rstest" || s.ident == "bench")
    })
}

/// A file under a `tests/` or `benches/` folder (`rel`: relative path, `/` separators; the file
/// name itself does not count).
pub fn is_test_path(rel: &str) -> bool {
    let mut parts = rel.rsplit('/');
    parts.next();
    parts.any(|c| c == "tests" || c == "benches")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn attrs(src: &str) -> Vec<syn::Attribute> {
        syn::parse_str::<syn::ItemFn>(&format!("{src} fn f() {{}}"))
            .unwrap()
            .attrs
    }

    fn one(src: &str) -> CfgPred {
        let c = cfg_of(&attrs(src));
        assert_eq!(c.len(), 1, "{src}");
        c.into_iter().next().unwrap()
    }

    fn atom(s: &str) -> CfgPred {
        CfgPred::Atom(s.into())
    }

    fn kv(k: &str, v: &str) -> CfgPred {
        CfgPred::KeyValue(k.into(), v.into())
    }

    #[test]
    fn parses_predicates() {
        assert_eq!(one("#[cfg(test)]"), atom("test"));
        assert_eq!(one("#[cfg(feature = \"x\")]"), kv("feature", "x"));
        assert_eq!(one("#[cfg(test,)]"), atom("test"));
        assert_eq!(
            one("#[cfg(all(test, not(target_os = \"linux\"), any()))]"),
            CfgPred::All(vec![
                atom("test"),
                CfgPred::Not(Box::new(kv("target_os", "linux"))),
                CfgPred::Any(vec![]),
            ])
        );
        assert!(matches!(one("#[cfg(a, b)]"), CfgPred::Unknown(_)));
        assert!(matches!(one("#[cfg(x = 1)]"), CfgPred::Unknown(_)));
        assert!(matches!(one("#[cfg(not(a, b))]"), CfgPred::Unknown(_)));
        assert!(matches!(one("#[cfg(a::b)]"), CfgPred::Unknown(_)));
        // Not cfg attributes.
        assert!(cfg_of(&attrs("#[derive(Debug)] #[doc = \"cfg(test)\"] #[cfg_attr(test, derive(Debug))] #[x::cfg(test)]")).is_empty());
    }

    #[test]
    fn cfg_attr_with_inner_cfg() {
        let c = cfg_of(&attrs(
            "#[cfg(unix)] #[cfg_attr(feature = \"x\", allow(dead_code), cfg(test))]",
        ));
        assert_eq!(
            c,
            vec![
                atom("unix"),
                CfgPred::Any(vec![
                    CfgPred::Not(Box::new(kv("feature", "x"))),
                    atom("test")
                ])
            ]
        );
        let nested = cfg_of(&attrs("#[cfg_attr(a, cfg_attr(b, cfg(c)))]"));
        assert_eq!(
            nested,
            vec![CfgPred::Any(vec![
                CfgPred::Not(Box::new(atom("a"))),
                CfgPred::Any(vec![CfgPred::Not(Box::new(atom("b"))), atom("c")]),
            ])]
        );
    }

    #[test]
    fn extra_test_attributes_match_as_a_path_suffix() {
        let env = CfgEnv::production(None).with_test_attributes(vec![
            vec!["freenet_test".into()],
            vec!["sim".into(), "case".into()],
        ]);
        let has = |a: &[&str]| {
            env.has_extra_test_attr(&a.iter().map(|s| s.to_string()).collect::<Vec<_>>())
        };
        assert!(has(&["freenet_test"]));
        assert!(has(&["inline_attr", "freenet_macros::freenet_test"]));
        assert!(has(&["crate::sim::case"]));
        assert!(!has(&["case"]), "a shorter path is not the listed one");
        assert!(!has(&["freenet_tests"]));
        assert!(!CfgEnv::production(None).has_extra_test_attr(&["freenet_test".into()]));
    }

    #[test]
    fn three_valued_evaluation() {
        let env = CfgEnv {
            test: Some(false),
            features: Some(vec!["x".into()]),
            atoms: vec![("unix".into(), true)],
            test_attributes: Vec::new(),
        };
        let e = |s: &str| one(s).eval(&env);
        assert_eq!(e("#[cfg(test)]"), Tri::False);
        assert_eq!(e("#[cfg(unix)]"), Tri::True);
        assert_eq!(e("#[cfg(windows)]"), Tri::Unknown);
        assert_eq!(e("#[cfg(feature = \"x\")]"), Tri::True);
        assert_eq!(e("#[cfg(feature = \"y\")]"), Tri::False);
        assert_eq!(e("#[cfg(all(windows, test))]"), Tri::False);
        assert_eq!(e("#[cfg(all(windows, unix))]"), Tri::Unknown);
        assert_eq!(e("#[cfg(any(windows, unix))]"), Tri::True);
        assert_eq!(e("#[cfg(any(windows, test))]"), Tri::Unknown);
        assert_eq!(e("#[cfg(not(any(windows, test)))]"), Tri::Unknown);
        assert_eq!(e("#[cfg(not(all(windows, test)))]"), Tri::True);
        assert_eq!(e("#[cfg(a, b)]"), Tri::Unknown);
        assert_eq!(e("#[cfg(all())]"), Tri::True);
        assert_eq!(e("#[cfg(any())]"), Tri::False);
    }

    /// Today's test-code rule and the principled one, side by side: every case where they
    /// differ is a row with `false` in the last column (see [`CfgPred::excluded_without_test`]).
    #[test]
    fn test_code_rule_and_its_known_differences() {
        let rows: &[(&str, bool, bool)] = &[
            // (attributes, today's rule, principled)
            ("#[cfg(test)]", true, true),
            ("#[cfg(all(test, feature = \"x\"))]", true, true),
            ("#[cfg(all(unix, test))]", true, true),
            ("#[cfg(not(test))]", false, false),
            ("#[cfg(unix)]", false, false),
            ("#[cfg(feature = \"testing\")]", false, false),
            ("#[cfg(test_utils)]", false, false),
            ("#[cfg_attr(test, allow(unused))]", false, false),
            ("#[cfg(unix)] #[cfg(test)]", true, true),
            // Known differences, today's answer kept:
            ("#[cfg(any(test, feature = \"x\"))]", true, false),
            ("#[cfg(feature = \"test\")]", true, false),
            ("#[cfg(feature = \"test-utils\")]", true, false),
            ("#[cfg(all(test, not(feature = \"x\")))]", false, true),
            ("#[cfg(not(not(test)))]", false, true),
            ("#[cfg_attr(feature = \"x\", cfg(test))]", false, false),
            ("#[cfg_attr(all(), cfg(test))]", false, true),
            ("#[cfg(test)] #[cfg(not(unix))]", true, true),
        ];
        for &(src, today, principled) in rows {
            let c = cfg_of(&attrs(src));
            assert_eq!(cfg_test_only(&c), today, "today's rule on {src}");
            assert_eq!(
                c.iter().any(|p| p.excluded_without_test()),
                principled,
                "principled rule on {src}"
            );
        }
    }

    #[test]
    fn test_attrs_and_paths() {
        assert!(has_test_attr(&attrs("#[test]")));
        assert!(has_test_attr(&attrs(
            "#[tokio::test(flavor = \"multi_thread\")]"
        )));
        assert!(has_test_attr(&attrs("#[rstest]")));
        assert!(has_test_attr(&attrs("#[bench]")));
        assert!(!has_test_attr(&attrs(
            "#[cfg(test)] #[test_case(1)] #[inline]"
        )));
        assert!(is_test_path("tests/a.rs"));
        assert!(is_test_path("crate/benches/x/b.rs"));
        assert!(!is_test_path("tests.rs"));
        assert!(!is_test_path("src/tests"));
        assert!(!is_test_path("src/test/a.rs"));
        assert!(!is_test_path("examples/a.rs"));
        assert!(!is_test_path(""));
    }

    /// The extractor records every node's conditions and computes `in_test` from them.
    #[test]
    fn extractor_records_conditions() {
        use crate::facts::CfgNode;
        let src = r#"
#![cfg(unix)]
#[cfg(test)]
mod m { fn inner() {} }
#[cfg(feature = "x")]
impl S {
    #[cfg(test)]
    fn helper() { let _: a::B; }
}
#[cfg(any(test, feature = "y"))]
fn f() { let _: a::B; }
#[cfg(all(test, not(loom)))]
fn g() { let _: a::B; }
"#;
        let file = syn::parse_file(src).unwrap();
        let facts = crate::facts::extract(
            &file,
            crate::facts::ExtractOptions {
                collect_paths: true,
            },
        );
        assert!(!facts.file_is_test);
        let nodes: Vec<(CfgNode, &Cfg)> = facts.cfgs.iter().map(|(n, c)| (*n, c)).collect();
        assert_eq!(nodes[0], (CfgNode::File, &vec![atom("unix")]));
        assert!(matches!(nodes[1], (CfgNode::Item(_), c) if c == &vec![atom("test")]));
        assert_eq!(
            nodes[2],
            (
                CfgNode::Impl(crate::facts::ImplIdx::new(0)),
                &vec![kv("feature", "x")]
            )
        );
        assert!(matches!(nodes[3], (CfgNode::Fn(_), c) if c == &vec![atom("test")]));
        assert_eq!(nodes.len(), 6);
        let fn_test: Vec<(&str, bool)> = facts
            .fns
            .iter()
            .map(|f| (f.name.as_str(), f.in_test))
            .collect();
        // Today's answers: a method's own cfg is not read; `any(test, ..)` is test code,
        // `all(test, not(..))` is not.
        assert_eq!(
            fn_test,
            [
                ("inner", true),
                ("helper", false),
                ("f", true),
                ("g", false)
            ]
        );
        let path_test: Vec<bool> = facts.paths.iter().map(|p| p.in_test).collect();
        // `S` (the impl's type), then `a::B` in `helper`, `f`, `g`.
        assert_eq!(path_test, [false, false, true, false]);
    }
}
