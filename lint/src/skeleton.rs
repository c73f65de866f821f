//! Item skeletons: a file's text with the function bodies no item-level fact depends on blanked
//! out, every position of the rest kept, so that syn reads the file's items (signatures, impl
//! headers, `use`s, `mod`s, types) at a fraction of a whole parse, and each blanked body is
//! parsed later, alone, if a rule ever reads it (`facts::Bodies`: demand-driven parsing).
//!
//! A byte scan over the lexical rules of [`crate::lexer`] finds every `fn NAME .. { body }` that
//! sits where items sit (the top level, an `impl`, `trait` or inline `mod` block: never inside
//! another body, a macro's tokens or a `const` expression) and blanks its body when nothing
//! outside the body could change by reading it. Blanking turns every char but `\n` into a
//! space, as [`crate::prefilter::unsafe_items_text`] does, so every line and column holds. A body
//! is kept (parsed with the file, as before) when its text holds:
//! - a word that may start an item (`fn`, `impl`, `struct`, `type`, `pub`, `macro_rules`, ...,
//!   or `path! name`), or any item word inside a macro call's tokens (they are walked as
//!   statements when they parse): items in a body are the file's items (they get ids and a
//!   block scope). `use`, `const` and `static` items at a statement's start are the exception:
//!   they stay in the skeleton, the rest of the body is blanked around them;
//! - `unsafe`: its sites are file-level facts (`FileFacts::unsafe_sites`);
//! - an inner attribute (`#![..]`): it is the function's;
//! - a `channel-lint:` comment: directives and markers are matched against the statements of
//!   the body around them;
//! - one of the caller's `keep` words (the trigger words of a rule reading path occurrences).
//!
//! Each blanked body's words are recorded in the form they are written in ([`Form`]: `f`,
//! `.f`, `Q::f`), for the questions of `semantics::callers`.
//!
//! Of each run of `///` (or `//!`) doc comment lines outside bodies only the first is kept: syn
//! reads every line as a `#[doc]` attribute (a quarter of a skeleton's parse), no fact reads
//! them, and the first keeps where the item starts.
//!
//! Whether a blanked body holds `async` (an async block or closure: `FnFacts::has_async_block`)
//! is read off its words, so it may say yes for a body that only names `async` inside a macro
//! that the lowering does not read; a rule asking then reads the body and finds nothing.
//!
//! The scan is a guess about syn's grammar made from bytes; the caller checks it: every blanked
//! body must come back as the block of exactly one function of the parsed skeleton
//! (`facts::extract_skeleton`), or the file is parsed whole.

use crate::lexer::{self, is_ident_byte, Quote};

/// One blanked function body: `{` at byte `open` (line `line`, 1-based char column `column`),
/// the byte just past its `}` at `close`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct BodySlot {
    pub open: u32,
    pub close: u32,
    pub line: u32,
    pub column: u32,
    /// The body holds the word `async`.
    pub has_async: bool,
    /// The [`form_hash`]es of every word of its code (comments and literals left out) in the
    /// form it is written in, sorted, without repeats: which names it may call, asked without
    /// parsing it.
    pub words: Vec<u32>,
}

/// How a word is written where it stands (what [`BodySlot::words`] records of an occurrence,
/// and what a question about callers asks for).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Form<'a> {
    /// Not after `.` or `::`: `f(..)`, `f!`, a local, a type.
    Bare,
    /// After `.`: `x.f(..)`, a field.
    Method,
    /// After `Q::`, the word `Q` before it: `Foo::new`, `Self::f`, `module::f`.
    Pair(&'a [u8]),
    /// After `q::` for a word `q` that does not start with an ASCII capital (a module, a crate,
    /// `self`): recorded with every such `Pair`.
    Lower,
    /// After `Q::` for a word `Q` that starts with one (a type, a trait, a generic parameter,
    /// `Self`): recorded with every such `Pair`.
    Upper,
    /// After a `::` with no word before it: `Foo::<u8>::new`, `<T>::f`, `::f`.
    Unknown,
}

impl Form<'_> {
    /// [`Form::Lower`] or [`Form::Upper`], by the qualifier's first letter.
    pub fn qualified_by(q: &[u8]) -> Form<'static> {
        match q.first() {
            Some(c) if c.is_ascii_uppercase() => Form::Upper,
            _ => Form::Lower,
        }
    }
}

/// The hash of a word in a form (FNV-1a; two may share one, so a hit is a "may name", never
/// a "names").
pub fn form_hash(form: Form, w: &[u8]) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    let mut eat = |bytes: &[u8]| {
        for &c in bytes {
            h ^= c as u32;
            h = h.wrapping_mul(0x0100_0193);
        }
    };
    match form {
        Form::Bare => eat(b"A"),
        Form::Method => eat(b"M"),
        Form::Pair(q) => {
            eat(b"P");
            eat(q);
            eat(b"::");
        }
        Form::Lower => eat(b"L"),
        Form::Upper => eat(b"C"),
        Form::Unknown => eat(b"U"),
    }
    eat(w);
    h
}

/// The hashes of `words` in every form an occurrence can be recorded under (a [`Form::Pair`]
/// is always recorded with its [`Form::Lower`] or [`Form::Upper`]), sorted, without repeats.
pub fn any_form<S: AsRef<str>>(words: &[S]) -> Vec<u32> {
    let mut out = Vec::new();
    for w in words {
        let w = w.as_ref().as_bytes();
        for form in [
            Form::Bare,
            Form::Method,
            Form::Lower,
            Form::Upper,
            Form::Unknown,
        ] {
            out.push(form_hash(form, w));
        }
    }
    out.sort_unstable();
    out.dedup();
    out
}

/// The hashes an occurrence of `w` is recorded under, after `prev`.
fn push_forms(out: &mut Vec<u32>, b: &[u8], prev: Prev, w: &[u8]) {
    match prev {
        Prev::Dot => out.push(form_hash(Form::Method, w)),
        Prev::Path(Some((s, e))) => {
            out.push(form_hash(Form::Pair(&b[s..e]), w));
            out.push(form_hash(Form::qualified_by(&b[s..e]), w));
        }
        Prev::Path(None) => out.push(form_hash(Form::Unknown, w)),
        Prev::Word(..) | Prev::Bang(_) | Prev::Other => out.push(form_hash(Form::Bare, w)),
    }
}

/// The last significant token (comments and blanks are not), for the form of the next word and
/// for macro calls.
#[derive(Debug, Clone, Copy)]
enum Prev {
    /// A word `b[s..e]`, and whether it may end a macro's path (not a keyword: `if !done`).
    Word(usize, usize, bool),
    /// `!` (not `!=`), and whether a word that may end a macro's path came right before: then
    /// a delimiter next opens the call's tokens, a word next is `path! name`.
    Bang(bool),
    Dot,
    /// `::`, and the word right before it.
    Path(Option<(usize, usize)>),
    Other,
}

/// The skeleton text and the bodies blanked in it, in text order.
#[derive(Debug)]
pub struct Skeleton {
    pub text: String,
    pub slots: Vec<BodySlot>,
}

/// Words that, inside a body, may start an item (syn's `parse_stmt`), or make facts of the
/// file that are not the body's (`unsafe`): the body is kept whole. (`use`, `const` and
/// `static` items are kept alone instead, see [`skeleton`].)
const KEEP_WORDS: &[&[u8]] = &[
    b"fn",
    b"impl",
    b"mod",
    b"struct",
    b"enum",
    b"union",
    b"trait",
    b"type",
    b"extern",
    b"macro",
    b"macro_rules",
    b"pub",
    b"unsafe",
];

/// Rust's keywords: a word before `!` that is one of them is no macro path (`if !done`).
const KEYWORDS: &[&[u8]] = &[
    b"as",
    b"break",
    b"const",
    b"continue",
    b"else",
    b"enum",
    b"extern",
    b"false",
    b"fn",
    b"for",
    b"if",
    b"impl",
    b"in",
    b"let",
    b"loop",
    b"match",
    b"mod",
    b"move",
    b"mut",
    b"pub",
    b"ref",
    b"return",
    b"static",
    b"struct",
    b"trait",
    b"true",
    b"type",
    b"unsafe",
    b"use",
    b"where",
    b"while",
    b"async",
    b"await",
    b"dyn",
    b"box",
    b"yield",
    b"become",
    b"do",
    b"try",
];

#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// `{` of a block whose direct contents are items (`impl`, `trait`, `mod`, `extern`).
    Items,
    /// Outside bodies, any other delimiter (a struct's fields, a macro's tokens, attributes).
    Other,
    /// Inside a body: a `{ .. }` (a block, or a struct literal, match arms, ...).
    Brace,
    /// Inside a body: `( .. )` or `[ .. ]`.
    Group,
    /// Inside a body: the tokens of a macro call (`name!{ .. }`, `name!( .. )`).
    Macro,
}

#[derive(Debug, Clone, Copy)]
struct Frame {
    kind: Kind,
    /// Inside a body: only attributes since the last `{`, `;` or `}` of this frame, so a word
    /// here starts a statement; `stmt` is where that statement starts.
    clean: bool,
    stmt: usize,
    /// An attribute's `[ .. ]`: closing it leaves the statement start as it was.
    attr: bool,
}

/// The function body being scanned (bodies never nest here: a body holding an item is kept).
#[derive(Debug)]
struct Body {
    open: usize,
    /// The stack's depth with the body's own frame on it.
    depth: usize,
    /// Kept whole.
    keep: bool,
    has_async: bool,
    /// Open macro-call frames inside it.
    macros: u32,
    /// `use`/`const`/`static` items kept in the skeleton: `[start, end)`.
    items: Vec<(usize, usize)>,
    /// The item being read: its start and the depth of the frame holding it.
    item: Option<(usize, usize)>,
    /// The hashes of its words, in text order.
    words: Vec<u32>,
}

/// Where the scan is relative to the last significant tokens at the item level.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Pending {
    None,
    /// Saw `impl`, `trait`, `mod` or `extern` as an item keyword: the next `{` opens items.
    Items,
    /// Saw `fn NAME`: the next `{` outside `<..>` opens its body, a `;` ends it bodiless.
    Fn {
        angle: u32,
    },
}

/// The skeleton of `text`, or `None` when it is lexically broken (the caller parses the whole
/// text and reports what syn says) or has no body to blank. A body holding one of `keep` as a
/// word is kept whole (the words whose path occurrences a rule reads: those are file facts).
///
/// A body whose only items are `use`, `const` and `static` items (at the start of a statement,
/// outside macro calls) is blanked around them: they stay in the skeleton, with their
/// attributes, so the body's block scope and its names are the whole parse's; the body itself
/// is still lowered from the whole text.
pub fn skeleton(text: &str, keep: &[String]) -> Option<Skeleton> {
    let b = text.as_bytes();
    let n = b.len();
    let mut stack: Vec<Frame> = Vec::new();
    let mut pending = Pending::None;
    let mut body: Option<Body> = None;
    // Finished bodies to blank, and where each closes.
    let mut slots: Vec<(Body, usize)> = Vec::new();
    let mut prev = Prev::Other;
    // Doc comment lines to blank (all of a run but its first), and where the last doc line
    // outside bodies started and ended.
    let mut docs: Vec<(usize, usize)> = Vec::new();
    let (mut last_doc_start, mut last_doc) = (0usize, usize::MAX);
    let mut i = 0usize;
    while i < n {
        let c = b[i];
        if c.is_ascii_whitespace() {
            i += 1;
            continue;
        }
        // Directly at item level: no frame, or an `Items` frame on top.
        let item_level = body.is_none()
            && matches!(
                stack.last(),
                None | Some(Frame {
                    kind: Kind::Items,
                    ..
                })
            );
        // Any token but an attribute's `#` or its `[` ends a clean statement start.
        let dirty = |stack: &mut Vec<Frame>| {
            if let Some(f) = stack.last_mut() {
                f.clean = false;
            }
        };
        let before = std::mem::replace(&mut prev, Prev::Other);
        match c {
            b'/' if i + 1 < n && (b[i + 1] == b'/' || b[i + 1] == b'*') => {
                prev = before;
                let end = if b[i + 1] == b'/' {
                    lexer::line_comment_end(b, i)
                } else {
                    lexer::block_comment(b, i)?.1
                };
                if let Some(bd) = &mut body {
                    if memchr::memmem::find(&b[i..end], b"channel-lint").is_some() {
                        bd.keep = true;
                    }
                } else if is_doc_line(&b[i..end]) {
                    // A doc comment line right below another one: blanked (see `skeleton`).
                    let gap = &b[last_doc.min(i)..i];
                    if last_doc <= i
                        && memchr::memchr_iter(b'\n', gap).count() == 1
                        && gap.iter().all(|c| c.is_ascii_whitespace())
                        && b[last_doc_start..].starts_with(&b[i..i + 3])
                    {
                        docs.push((i, end));
                    }
                    last_doc = end;
                    last_doc_start = i;
                }
                i = end;
                continue;
            }
            b'"' => {
                i = match lexer::raw_string_hashes(b, i) {
                    Some(h) => lexer::raw_string(b, i + 1, h)?.1,
                    None => lexer::string(b, i + 1, &mut lexer::NoSink)?,
                };
                dirty(&mut stack);
            }
            b'\'' => {
                match lexer::quote(b, i) {
                    Quote::Char { end, terminated } => {
                        if !terminated {
                            return None;
                        }
                        i = end;
                    }
                    Quote::Lifetime => {
                        // The lifetime's name is not a word of the code.
                        i += 1;
                        while i < n && is_ident_byte(b[i]) {
                            i += 1;
                        }
                    }
                }
                dirty(&mut stack);
            }
            _ if is_ident_byte(c) => {
                let s = i;
                while i < n && is_ident_byte(b[i]) {
                    i += 1;
                }
                let w = &b[s..i];
                let plain = !c.is_ascii_digit() && !lexer::in_raw_ident(b, s);
                if let Some(bd) = &mut body {
                    if plain {
                        if keep.iter().any(|k| k.as_bytes() == w) {
                            bd.keep = true;
                        }
                        push_forms(&mut bd.words, b, before, w);
                        body_word(bd, &stack, b, s, i, before);
                    }
                    dirty(&mut stack);
                } else if item_level && plain {
                    match (pending, w) {
                        (Pending::None, b"impl" | b"trait" | b"mod" | b"extern") => {
                            pending = Pending::Items
                        }
                        (Pending::None | Pending::Items, b"fn") => {
                            // `fn NAME` (not the type `fn(..)`): a function item.
                            let mut j = i;
                            while j < n && b[j].is_ascii_whitespace() {
                                j += 1;
                            }
                            if j < n && is_ident_byte(b[j]) && !b[j].is_ascii_digit() {
                                pending = Pending::Fn { angle: 0 };
                            }
                        }
                        _ => {}
                    }
                }
                prev = Prev::Word(s, i, plain && !KEYWORDS.contains(&w));
                continue;
            }
            b'<' | b'>' if item_level => {
                if let Pending::Fn { angle } = &mut pending {
                    if c == b'<' {
                        *angle += 1;
                    } else if !(i > 0 && b[i - 1] == b'-') {
                        // (`->` is no closing angle)
                        *angle = angle.saturating_sub(1);
                    }
                }
                i += 1;
            }
            b'{' | b'(' | b'[' => {
                let kind = if let Some(bd) = &mut body {
                    if matches!(before, Prev::Bang(true)) {
                        bd.macros += 1;
                        Kind::Macro
                    } else if c == b'{' {
                        Kind::Brace
                    } else {
                        Kind::Group
                    }
                } else if c != b'{' || !item_level {
                    Kind::Other
                } else {
                    match pending {
                        Pending::Fn { angle: 0 } => {
                            body = Some(Body {
                                open: i,
                                depth: stack.len() + 1,
                                keep: false,
                                has_async: false,
                                macros: 0,
                                items: Vec::new(),
                                item: None,
                                words: Vec::new(),
                            });
                            pending = Pending::None;
                            Kind::Brace
                        }
                        Pending::Fn { .. } => Kind::Other,
                        Pending::Items => {
                            pending = Pending::None;
                            Kind::Items
                        }
                        Pending::None => Kind::Other,
                    }
                };
                // An attribute's `[` leaves the statement start clean.
                let attr = c == b'[' && i > 0 && matches!(b[i - 1], b'#' | b'!');
                if !attr {
                    dirty(&mut stack);
                }
                stack.push(Frame {
                    kind,
                    clean: true,
                    stmt: i + 1,
                    attr,
                });
                i += 1;
            }
            b'}' | b')' | b']' => {
                let frame = stack.pop()?;
                i += 1;
                if let Some(bd) = &mut body {
                    if frame.kind == Kind::Macro {
                        bd.macros -= 1;
                    }
                    if bd.item.is_some_and(|(_, d)| d > stack.len()) {
                        // The frame holding an item closed before its `;`: not understood.
                        bd.keep = true;
                        bd.item = None;
                    }
                    if stack.len() + 1 == bd.depth {
                        if c != b'}' {
                            return None;
                        }
                        let bd = body.take().expect("a body");
                        if !bd.keep {
                            slots.push((bd, i));
                        }
                    } else if let Some(f) = stack.last_mut().filter(|_| !frame.attr) {
                        if c == b'}' {
                            f.clean = true;
                            f.stmt = i;
                        } else {
                            f.clean = false;
                        }
                    }
                }
            }
            b';' => {
                if item_level {
                    pending = Pending::None;
                }
                i += 1;
                if let Some(bd) = &mut body {
                    if let Some((start, d)) = bd.item {
                        if d == stack.len() {
                            bd.items.push((start, i));
                            bd.item = None;
                        }
                    }
                }
                if let Some(f) = stack.last_mut() {
                    f.clean = true;
                    f.stmt = i;
                }
            }
            b'.' => {
                if i + 1 < n && b[i + 1] == b'.' {
                    i += 2;
                } else {
                    prev = Prev::Dot;
                    i += 1;
                }
                dirty(&mut stack);
            }
            b':' if i + 1 < n && b[i + 1] == b':' => {
                prev = Prev::Path(match before {
                    Prev::Word(s, e, _) => Some((s, e)),
                    _ => None,
                });
                i += 2;
                dirty(&mut stack);
            }
            b'#' => {
                // An inner attribute of the body (`#![allow(..)]`) is the function's: kept.
                if let Some(bd) = &mut body {
                    if next_token(b, i + 1).is_some_and(|t| t[0] == b'!') && stack.len() == bd.depth
                    {
                        bd.keep = true;
                    }
                }
                i += 1;
            }
            b'!' if i + 1 < n && b[i + 1] == b'=' => {
                dirty(&mut stack);
                i += 2;
            }
            b'!' => {
                prev = Prev::Bang(matches!(before, Prev::Word(_, _, true)));
                dirty(&mut stack);
                i += 1;
            }
            _ => {
                dirty(&mut stack);
                i += 1;
            }
        }
    }
    if !stack.is_empty()
        || body.is_some()
        || slots.is_empty()
        || crate::prefilter::has_conflict_markers(b)
    {
        return None;
    }
    let mut out = String::with_capacity(n);
    let mut cols = crate::prefilter::LineCols::new(text);
    let mut at = 0usize;
    let mut done = Vec::with_capacity(slots.len());
    let blank = |out: &mut String, s: &str| {
        out.extend(s.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
    };
    // Copy `text[from..to]` (outside bodies) with its doc lines to blank blanked.
    let mut docs = docs.into_iter().peekable();
    let mut copy = |out: &mut String, from: usize, to: usize| {
        let mut at = from;
        while let Some(&(s, e)) = docs.peek() {
            if s >= to {
                break;
            }
            docs.next();
            out.push_str(&text[at..s]);
            blank(out, &text[s..e]);
            at = e;
        }
        out.push_str(&text[at..to]);
    };
    for (bd, close) in slots {
        let (open, has_async, items, mut words) = (bd.open, bd.has_async, bd.items, bd.words);
        words.sort_unstable();
        words.dedup();
        let (line, column) = cols.get(open);
        copy(&mut out, at, open + 1);
        let mut from = open + 1;
        for (s, e) in items {
            blank(&mut out, &text[from..s]);
            out.push_str(&text[s..e]);
            from = e;
        }
        blank(&mut out, &text[from..close - 1]);
        out.push('}');
        at = close;
        done.push(BodySlot {
            open: open as u32,
            close: close as u32,
            line,
            column,
            has_async,
            words,
        });
    }
    copy(&mut out, at, n);
    Some(Skeleton {
        text: out,
        slots: done,
    })
}

/// A word `b[s..e]` inside the body being scanned.
fn body_word(bd: &mut Body, stack: &[Frame], b: &[u8], s: usize, e: usize, before: Prev) {
    let w = &b[s..e];
    if w == b"async" {
        bd.has_async = true;
        return;
    }
    if w == b"unsafe" {
        bd.keep = true;
        return;
    }
    if bd.item.is_some() {
        // The rest of an item kept whole is not looked into.
        return;
    }
    if bd.macros > 0 {
        // A macro's tokens that parse as statements are walked like code, their items too
        // (`facts::macros`): any item word keeps the body.
        if KEEP_WORDS.contains(&w) || matches!(w, b"use" | b"const" | b"static") {
            bd.keep = true;
        }
        return;
    }
    // `path! name` (a `macro_rules!`-like item).
    if matches!(before, Prev::Bang(true)) {
        bd.keep = true;
        return;
    }
    let top = stack.last().expect("the body's frame");
    let next = next_word(b, e);
    let item = match w {
        b"use" => true,
        // `const NAME:`, `const _:` (not `const fn`, `const {`, `const unsafe`)
        b"const" => next.is_some_and(|t| !matches!(t, b"fn" | b"unsafe" | b"async" | b"extern")),
        // `static NAME`, `static mut` (not the closure `static ||` / `static move`)
        b"static" => next.is_some_and(|t| t != b"move"),
        _ => {
            if KEEP_WORDS.contains(&w) {
                bd.keep = true;
            }
            return;
        }
    };
    if item && top.kind == Kind::Brace && top.clean {
        bd.item = Some((top.stmt, stack.len()));
    } else {
        bd.keep = true;
    }
}

/// The text from the next token after `i` on (whitespace skipped; comments count as a token).
fn next_token(b: &[u8], mut i: usize) -> Option<&[u8]> {
    while i < b.len() && b[i].is_ascii_whitespace() {
        i += 1;
    }
    (i < b.len()).then(|| &b[i..])
}

/// The word right after `i` (blanks skipped), if a word comes next.
fn next_word(b: &[u8], i: usize) -> Option<&[u8]> {
    let t = next_token(b, i)?;
    let len = t.iter().take_while(|&&c| is_ident_byte(c)).count();
    (len > 0).then(|| &t[..len])
}

/// A `///` or `//!` doc comment (not `////`).
fn is_doc_line(c: &[u8]) -> bool {
    (c.starts_with(b"///") && !c.starts_with(b"////")) || c.starts_with(b"//!")
}

#[cfg(test)]
mod tests {
    use super::*;

    fn blanked(src: &str) -> Vec<String> {
        let s = skeleton(src, &[]).expect("a skeleton");
        assert_eq!(s.text.len(), src.len(), "positions kept");
        assert_eq!(s.text.lines().count(), src.lines().count());
        s.slots
            .iter()
            .map(|sl| src[sl.open as usize..sl.close as usize].to_string())
            .collect()
    }

    #[test]
    fn blanks_item_bodies_at_every_item_level() {
        let src = "fn a() { x(); }\nimpl S {\n    pub async fn b(&self) -> Result<(), E> where E: Fn() -> u8 {\n        y().await\n    }\n}\ntrait T { fn c() { z() } fn d(); }\nmod m { fn e() {} }\n";
        assert_eq!(
            blanked(src),
            vec!["{ x(); }", "{\n        y().await\n    }", "{ z() }", "{}"]
        );
        let s = skeleton(src, &[]).unwrap();
        assert_eq!((s.slots[1].line, s.slots[1].column), (3, 64));
        assert!(s.text.contains(
            "fn b(&self) -> Result<(), E> where E: Fn() -> u8 {\n                 \n    }"
        ));
    }

    #[test]
    fn use_const_and_static_items_stay_in_a_blanked_body() {
        let src = "fn a() {\n    let x = 1;\n    #[cfg(unix)]\n    use std::io::{Read, Write};\n    const N: [u8; 2] = [1, 2];\n    if x { static S: &str = \"}\"; }\n    g(x)\n}\n";
        let s = skeleton(src, &[]).unwrap();
        assert_eq!(s.slots.len(), 1);
        let want = "fn a() {\n              \n    #[cfg(unix)]\n    use std::io::{Read, Write};\n    const N: [u8; 2] = [1, 2];\n           static S: &str = \"}\";  \n        \n}\n";
        assert_eq!(s.text, want);
        // Not at a statement's start, in a macro's tokens, or not an item: the body is kept.
        for kept in [
            "fn a() { let y = const { 1 }; }",
            "fn a() { const fn f() {} }",
            "fn a() { x = 1 use y; }",
        ] {
            assert!(skeleton(kept, &[]).is_none(), "{kept}");
        }
        // A macro's tokens that parse as statements are walked like code, items too.
        assert!(skeleton("fn a() { quote! { use x; fn y() {} } }", &[]).is_none());
        let src = "fn a() { select! { _ = x => { y() } } }";
        let mac = skeleton(src, &[]).unwrap();
        assert_eq!(
            mac.text,
            format!("fn a() {{{}}}", " ".repeat(src.len() - 9))
        );
    }

    #[test]
    fn keeps_bodies_with_items_unsafe_or_directives() {
        let src = "fn a() { fn inner() {} }\nfn b() { impl X {} }\nfn c() { unsafe { g() } }\nfn d() {\n    // channel-lint: allow(x) -- y\n    h()\n}\nfn e() { macro_rules! m { () => {} } }\nfn f() { if !done { k() } let t = r#type; }\n";
        assert_eq!(blanked(src), vec!["{ if !done { k() } let t = r#type; }"]);
    }

    #[test]
    fn does_not_blank_inside_macros_consts_or_types() {
        let src = "m! { fn x() { a() } }\nconst C: fn() = { fn y() {} y };\ntype F = fn(u8) -> u8;\nstruct S { f: fn() }\nfn g<const N: usize>() -> [u8; { N }] { b() }\nfn h() -> Foo<{ N }> { c() }\n";
        assert_eq!(blanked(src), vec!["{ b() }", "{ c() }"]);
    }

    #[test]
    fn doc_lines_but_the_first_of_a_run_are_blanked() {
        let src = "/// One.\n/// Two.\n//// not a doc\n/// Three.\n#[cfg(x)]\n/// Four.\nfn a() { b() }\n";
        let s = skeleton(src, &[]).unwrap();
        let lines: Vec<&str> = s.text.lines().collect();
        assert_eq!(lines[0], "/// One.");
        assert_eq!(lines[1].trim(), "", "a run's second line");
        assert_eq!(lines[2], "//// not a doc");
        assert_eq!(lines[3], "/// Three.", "after a plain comment: a new run");
        assert_eq!(lines[5], "/// Four.", "after an attribute: a new run");
        assert_eq!(s.text.len(), src.len());
    }

    #[test]
    fn bodies_holding_a_kept_word_stay() {
        let src = "fn a() { let s: UdpSocket = x(); }\nfn b() { let s = \"UdpSocket\"; y(); }\n";
        let s = skeleton(src, &["UdpSocket".to_string()]).unwrap();
        assert_eq!(s.slots.len(), 1, "only b: its word is in a literal");
        assert_eq!(s.slots[0].line, 2);
    }

    #[test]
    fn async_words_and_literals() {
        let src = "fn a() { let s = \"fn unsafe {\"; let c = '}'; /* } */ spawn(async move { x }) }\nfn b() { let r = r#\"}\"#; 'l: loop { break 'l; } }\n";
        let s = skeleton(src, &[]).unwrap();
        assert_eq!(s.slots.len(), 2);
        assert!(s.slots[0].has_async);
        assert!(!s.slots[1].has_async);
    }

    #[test]
    fn broken_text_has_no_skeleton() {
        assert!(skeleton("fn a() { x(); ", &[]).is_none());
        assert!(skeleton("fn a() { \"x }", &[]).is_none());
        assert!(skeleton("struct S;", &[]).is_none());
    }
}
