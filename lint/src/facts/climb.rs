//! Whether the comment above the enclosing statement counts for an `unsafe` block, the way clippy's
//! `undocumented_unsafe_blocks` decides it.
//!
//! Clippy climbs from the block through its parent nodes while they are expressions. It takes the
//! comment above the `let` statement, the assignment or the `const`/`static` item it reaches; when
//! it reaches any other node first (a statement, a block's tail, a struct-literal field, a match
//! arm, an array length, ...) it takes the comment above the expression where the climb stopped,
//! unless that expression is an `if`, `match` or loop (also `?`, `.await` and `for`, which it
//! sees desugared into one), where it takes none. Macro arguments end the climb too.
//!
//! In syntax-tree terms, a [`Climb`] state is kept while walking: a statement or a
//! `const`/`static` item sets it to [`Climb::Open`] (the comment above it, the innermost anchor,
//! counts) unless the statement's expression is branchy, and the nodes that are no expressions
//! in clippy's tree set it to [`Climb::Closed`] while they are walked. Statements inside nested
//! blocks open it again: they are climb targets of their own.

use syn::{Expr, ImplItem, Item, Stmt, TraitItem};

/// Whether an `unsafe` block found here may be explained by the comment above the innermost
/// enclosing statement or item.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub(crate) enum Climb {
    Open,
    #[default]
    Closed,
}

impl Climb {
    /// Inside a statement (not an item statement, which is walked as an item).
    pub(crate) fn stmt(s: &Stmt) -> Climb {
        match s {
            Stmt::Local(_) | Stmt::Macro(_) => Climb::Open,
            Stmt::Expr(e, _) if !branchy(e) => Climb::Open,
            _ => Climb::Closed,
        }
    }

    /// Inside an item: only a `const` or `static` item is a climb target.
    pub(crate) fn item(i: &Item) -> Climb {
        match i {
            Item::Const(_) | Item::Static(_) => Climb::Open,
            _ => Climb::Closed,
        }
    }

    pub(crate) fn impl_item(i: &ImplItem) -> Climb {
        match i {
            ImplItem::Const(_) => Climb::Open,
            _ => Climb::Closed,
        }
    }

    pub(crate) fn trait_item(i: &TraitItem) -> Climb {
        match i {
            TraitItem::Const(_) => Climb::Open,
            _ => Climb::Closed,
        }
    }

    /// The operands of a range: `a..b`, `a..` and `..=b` are struct literals in clippy's tree
    /// (their operands are fields), `a..=b` is a call.
    pub(crate) fn range(self, r: &syn::ExprRange) -> Climb {
        let call = matches!(r.limits, syn::RangeLimits::Closed(_)) && r.start.is_some();
        if call {
            self
        } else {
            Climb::Closed
        }
    }
}

/// An expression clippy gives up at when the climb stops there: `if`, `match`, loops, and what
/// the compiler desugars into one of them (`?`, `.await`, `for`, `while`).
fn branchy(e: &Expr) -> bool {
    match e {
        Expr::Paren(p) => branchy(&p.expr),
        Expr::Group(g) => branchy(&g.expr),
        Expr::If(_)
        | Expr::Match(_)
        | Expr::Loop(_)
        | Expr::While(_)
        | Expr::ForLoop(_)
        | Expr::Try(_)
        | Expr::Await(_) => true,
        _ => false,
    }
}

/// A syntax visitor that keeps a [`Climb`] state.
pub(crate) trait Climbing: Sized {
    fn climb_mut(&mut self) -> &mut Climb;

    /// Run `f` with the state set to `c`, then restore it.
    fn climbing<R>(&mut self, c: Climb, f: impl FnOnce(&mut Self) -> R) -> R {
        let saved = std::mem::replace(self.climb_mut(), c);
        let r = f(self);
        *self.climb_mut() = saved;
        r
    }
}

/// The `Visit` methods of the nodes that end the climb, for a visitor implementing [`Climbing`]
/// (both extractors expand it, so they record the same sites). Macro bodies end it as well; that
/// is done in [`super::macros::walk_macro`].
macro_rules! climb_stops {
    ($ast:lifetime) => {
        fn visit_field_value(&mut self, f: &$ast syn::FieldValue) {
            use $crate::facts::climb::{Climb, Climbing};
            self.climbing(Climb::Closed, |v| syn::visit::visit_field_value(v, f));
        }

        fn visit_arm(&mut self, a: &$ast syn::Arm) {
            use $crate::facts::climb::{Climb, Climbing};
            self.climbing(Climb::Closed, |v| syn::visit::visit_arm(v, a));
        }

        fn visit_expr_range(&mut self, r: &$ast syn::ExprRange) {
            use $crate::facts::climb::Climbing;
            let c = self.climb_mut().range(r);
            self.climbing(c, |v| syn::visit::visit_expr_range(v, r));
        }

        fn visit_expr_repeat(&mut self, r: &$ast syn::ExprRepeat) {
            use $crate::facts::climb::{Climb, Climbing};
            for a in &r.attrs {
                self.visit_attribute(a);
            }
            self.visit_expr(&r.expr);
            self.climbing(Climb::Closed, |v| v.visit_expr(&r.len));
        }

        fn visit_generic_argument(&mut self, g: &$ast syn::GenericArgument) {
            use $crate::facts::climb::{Climb, Climbing};
            self.climbing(Climb::Closed, |v| syn::visit::visit_generic_argument(v, g));
        }

        fn visit_type(&mut self, t: &$ast syn::Type) {
            use $crate::facts::climb::{Climb, Climbing};
            self.climbing(Climb::Closed, |v| syn::visit::visit_type(v, t));
        }

        fn visit_pat(&mut self, p: &$ast syn::Pat) {
            use $crate::facts::climb::{Climb, Climbing};
            self.climbing(Climb::Closed, |v| syn::visit::visit_pat(v, p));
        }
    };
}
pub(crate) use climb_stops;

#[cfg(test)]
mod tests {
    use super::*;

    fn stmt(src: &str) -> Climb {
        Climb::stmt(&syn::parse_str::<Stmt>(src).unwrap())
    }

    #[test]
    fn statements() {
        assert_eq!(stmt("let v = match x { _ => 1 };"), Climb::Open);
        assert_eq!(stmt("f(x);"), Climb::Open);
        assert_eq!(stmt("x = if c { 1 } else { 2 };"), Climb::Open);
        assert_eq!(stmt("if c { }"), Climb::Closed);
        assert_eq!(stmt("(match x { _ => () });"), Climb::Closed);
        assert_eq!(stmt("f(x)?;"), Climb::Closed);
        assert_eq!(stmt("f(x).await;"), Climb::Closed);
        assert_eq!(stmt("for _ in x { }"), Climb::Closed);
        assert_eq!(stmt("while c { }"), Climb::Closed);
        assert_eq!(stmt("return f(x)?;"), Climb::Open);
    }

    #[test]
    fn ranges() {
        let r = |s: &str| match syn::parse_str::<Expr>(s).unwrap() {
            Expr::Range(r) => Climb::Open.range(&r),
            _ => unreachable!(),
        };
        assert_eq!(r("a..b"), Climb::Closed);
        assert_eq!(r("a.."), Climb::Closed);
        assert_eq!(r("..=b"), Climb::Closed);
        assert_eq!(r("a..=b"), Climb::Open);
    }

    /// Every `unsafe` of the source is marked `/*o*/` (open) or `/*c*/` (closed); both extractors
    /// must record each site with that `stmt_comment`.
    #[test]
    fn both_extractors_agree_on_every_shape() {
        let src = r#"
/*o*/unsafe impl Send for X {}
const C: u8 = f(/*o*/unsafe { g() });
static S: [u8; 1] = [/*o*/unsafe { g() }];
enum E { A = /*c*/unsafe { g() } as isize }
struct T([u8; /*c*/unsafe { N }]);
impl X {
    const D: u8 = /*o*/unsafe { g() };
    fn m(&self) -> u8 { /*o*/unsafe { g() } }
}
trait Tr {
    const K: u8 = /*o*/unsafe { g() };
}
fn body(x: u8) -> u8 {
    let a = /*o*/unsafe { g() } + h(/*o*/unsafe { g() });
    let b = match x { 0 => /*c*/unsafe { g() }, _ => 1 };
    let c = match /*o*/unsafe { g() } { _ => 1 };
    let d = S { f: /*c*/unsafe { g() }, ../*o*/unsafe { base() } };
    let e = (/*o*/unsafe { g() }, [/*o*/unsafe { g() }; 2], || /*o*/unsafe { g() });
    let f = [0; /*c*/unsafe { N }];
    let r = /*o*/unsafe { g() }..=/*o*/unsafe { g() };
    let q = /*c*/unsafe { g() }..;
    z = if /*o*/unsafe { c() } { 1 } else { 2 };
    *w += k(/*o*/unsafe { g() });
    if /*c*/unsafe { c() } { /*o*/unsafe { g() }; }
    if c() { u(/*o*/unsafe { g() }) } else { /*o*/unsafe { g() } }
    while /*c*/unsafe { c() } {}
    for i in /*c*/unsafe { it() } {}
    match /*c*/unsafe { g() } { _ => {} }
    k(/*c*/unsafe { g() })?;
    k(/*c*/unsafe { g() }).await;
    return k(/*o*/unsafe { g() })?;
    assert_eq!(/*c*/unsafe { g() }, 1);
    m! { let v = /*o*/unsafe { g() }; }
    m!(/*c*/unsafe { g() });
    other! { @ /*c*/unsafe { g() } }
    other! { @ /*c*/unsafe impl Send for Y {} }
    let p: [u8; /*c*/unsafe { N }] = q::<{ /*o*/unsafe { N } }>();
    if let Some(v) = /*c*/unsafe { o() } {}
    let y = { k(/*o*/unsafe { g() }) };
    async { /*o*/unsafe { g() } };
    /*o*/unsafe { g() }
}
"#;
        let want: Vec<(u32, bool)> = src
            .lines()
            .enumerate()
            .flat_map(|(i, l)| {
                l.match_indices("/*")
                    .map(move |(at, _)| (i as u32 + 1, &l[at..at + 5] == "/*o*/"))
            })
            .collect();
        let file = syn::parse_file(src).unwrap();
        for facts in [
            crate::facts::extract(&file, Default::default()),
            crate::facts::extract_unsafe_only(&file),
        ] {
            let mut got: Vec<((u32, u32), bool)> = facts
                .unsafe_sites
                .iter()
                .map(|s| ((s.span.line, s.span.column), s.stmt_comment))
                .collect();
            got.sort();
            let got: Vec<(u32, bool)> = got.into_iter().map(|((l, _), o)| (l, o)).collect();
            assert_eq!(got, want);
        }
    }
}
