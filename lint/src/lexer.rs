//! The one set of Rust lexical rules for what is not code: comments, string and char literals,
//! raw strings, lifetimes and raw identifiers. Both byte scans of a file use it: the comment
//! index (`source::lex`, for suppressions and the `SAFETY:` rule) and the planner's prefilter
//! (`prefilter::scan`, for `unsafe` tokens and item ends). Each scan drives its own loop (they
//! look for different things, and each is tuned for its own job); where one of them meets a
//! comment, a literal or a quote, the rules of where it ends are the ones here, so the two can
//! never disagree on what is code.
//!
//! Everything works on bytes: every byte dispatched on is ASCII, and UTF-8 never reuses ASCII
//! bytes inside a multi-byte char. An unterminated comment or literal is reported as `None` (or
//! `terminated: false`); what a scan does with that is its own choice (the comment index runs it
//! to the end of the text, the prefilter calls the file lexically broken).

/// Is `b` a byte that can continue an identifier (any non-ASCII byte counts: outside literals
/// and comments a non-ASCII character can only be part of an identifier)?
#[inline]
pub fn is_ident_byte(b: u8) -> bool {
    b == b'_' || b.is_ascii_alphanumeric() || b >= 0x80
}

/// Length of the UTF-8 char whose first byte is `lead`.
#[inline]
pub fn utf8_len(lead: u8) -> usize {
    match lead {
        0..=0x7f => 1,
        0x80..=0xdf => 2,
        0xe0..=0xef => 3,
        _ => 4,
    }
}

/// A block comment opening at `i` (`/*`; they nest): `(body_end, after)`, the offset of its
/// closing `*/` and the offset just past it, or `None` when it is not closed.
pub fn block_comment(b: &[u8], i: usize) -> Option<(usize, usize)> {
    let n = b.len();
    let mut depth = 1u32;
    let mut p = i + 2;
    while let Some(k) = memchr::memchr2(b'/', b'*', &b[p.min(n)..]) {
        let q = p + k;
        if b[q] == b'/' {
            if q + 1 < n && b[q + 1] == b'*' {
                depth += 1;
                p = q + 2;
            } else {
                p = q + 1;
            }
        } else if q + 1 < n && b[q + 1] == b'/' {
            depth -= 1;
            if depth == 0 {
                return Some((q, q + 2));
            }
            p = q + 2;
        } else {
            p = q + 1;
        }
    }
    None
}

/// The body of a `//` comment opening at `i`: it runs to the line break, which is not part of
/// it (the offset of the `\n`, or the end of the text).
#[inline]
pub fn line_comment_end(b: &[u8], i: usize) -> usize {
    memchr::memchr(b'\n', &b[i..]).map_or(b.len(), |k| i + k)
}

/// What a string body holds, for a scan that wants to know which lines hold its chars.
pub trait StringSink {
    /// A run of the body's chars outside escapes on one line, `[from, to)`, non-empty.
    fn text(&mut self, _from: usize, _to: usize) {}
    /// A line break at `at` inside the body (in an escape or not).
    fn newline(&mut self, _at: usize) {}
}

/// A sink that wants nothing.
pub struct NoSink;
impl StringSink for NoSink {}

/// A (byte, C) string whose body starts at `from` (just past the opening `"`): the offset just
/// past the closing `"`, or `None` when it is not closed. An escape is `\` and the next char,
/// which may be a line break (a string continuation).
pub fn string(b: &[u8], from: usize, sink: &mut impl StringSink) -> Option<usize> {
    let n = b.len();
    let mut i = from;
    loop {
        let Some(k) = memchr::memchr3(b'\\', b'"', b'\n', &b[i..]) else {
            if i < n {
                sink.text(i, n);
            }
            return None;
        };
        let q = i + k;
        if q > i {
            sink.text(i, q);
        }
        match b[q] {
            b'\\' => {
                i = q + 1;
                if i < n {
                    if b[i] == b'\n' {
                        sink.newline(i);
                    }
                    i += utf8_len(b[i]);
                }
                i = i.min(n);
            }
            b'"' => return Some(q + 1),
            _ => {
                sink.newline(q);
                i = q + 1;
            }
        }
    }
}

/// Is the `"` at `q` the opening quote of a raw string (`r"`, `r#"`, `br"`, `cr##"`)? Returns
/// its number of `#`s. The prefix must be a whole token: `xr"` is not one, and in `r#r"..."`
/// the `r#r` is a raw identifier followed by a plain string.
///
/// Looking back from the quote is sound wherever the scan stands: only identifier bytes and
/// `#`s are stepped over, and no comment or literal ends in an identifier byte (they end in
/// `/`, `"`, `'`, `#` or before a line break).
pub fn raw_string_hashes(b: &[u8], q: usize) -> Option<usize> {
    let mut j = q;
    while j > 0 && b[j - 1] == b'#' {
        j -= 1;
    }
    let hashes = q - j;
    let mut w = j;
    while w > 0 && is_ident_byte(b[w - 1]) {
        w -= 1;
    }
    (!in_raw_ident(b, w) && matches!(&b[w..j], b"r" | b"br" | b"cr")).then_some(hashes)
}

/// A raw string whose body starts at `from`, closed by `"` and `hashes` `#`s:
/// `(close, after)`, the offset of the closing quote and the offset just past its `#`s, or
/// `None` when it is not closed.
pub fn raw_string(b: &[u8], from: usize, hashes: usize) -> Option<(usize, usize)> {
    let n = b.len();
    let mut p = from;
    while let Some(k) = memchr::memchr(b'"', &b[p.min(n)..]) {
        let q = p + k;
        if q + 1 + hashes <= n && b[q + 1..q + 1 + hashes].iter().all(|&h| h == b'#') {
            return Some((q, q + 1 + hashes));
        }
        p = q + 1;
    }
    None
}

/// Does the word starting at `w` belong to a raw identifier (`r#word`)? Pairs `r#` chain from
/// the left: in `r#r#word`, `r#r` is the raw identifier and `word` stands alone (what rustc's
/// lexer does).
pub fn in_raw_ident(b: &[u8], w: usize) -> bool {
    let mut k = 0i32;
    let mut at = w;
    while at >= 2 && &b[at - 2..at] == b"r#" {
        k += 1;
        at -= 2;
    }
    // The first `r` ends a longer word (`xr#r#word`): that pair is no raw prefix.
    if k > 0 && at > 0 && is_ident_byte(b[at - 1]) {
        k -= 1;
    }
    k % 2 == 1
}

/// What a `'` opens.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Quote {
    /// A char literal (`'x'`, `'é'`, or an escape `'\..'`), ending just before `end`. An escape
    /// runs to the next `'` on its line; without one it is not `terminated` and `end` is the
    /// line break (or the end of the text).
    Char { end: usize, terminated: bool },
    /// A lifetime or a label: only the quote is a token of its own here.
    Lifetime,
}

/// The `'` at `i`.
pub fn quote(b: &[u8], i: usize) -> Quote {
    let n = b.len();
    if i + 1 < n && b[i + 1] == b'\\' {
        // the escaped char itself may be `'` or `\`
        let mut j = (i + 2 + b.get(i + 2).map_or(0, |&c| utf8_len(c))).min(n);
        while j < n && b[j] != b'\'' && b[j] != b'\n' {
            j += 1;
        }
        return if j < n && b[j] == b'\'' {
            Quote::Char {
                end: j + 1,
                terminated: true,
            }
        } else {
            Quote::Char {
                end: j,
                terminated: false,
            }
        };
    }
    if i + 1 < n {
        let w = utf8_len(b[i + 1]);
        if i + 1 + w < n && b[i + 1 + w] == b'\'' {
            return Quote::Char {
                end: i + 2 + w,
                terminated: true,
            };
        }
    }
    Quote::Lifetime
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn block_comments_nest() {
        let b = b"/* a /* b */ c */ d";
        assert_eq!(block_comment(b, 0), Some((15, 17)));
        assert_eq!(block_comment(b"/* /* */", 0), None);
        assert_eq!(block_comment(b"/*/", 0), None);
        assert_eq!(block_comment(b"/**/", 0), Some((2, 4)));
    }

    #[test]
    fn strings_escapes_and_continuations() {
        struct Rec(Vec<(usize, usize)>, Vec<usize>);
        impl StringSink for Rec {
            fn text(&mut self, f: usize, t: usize) {
                self.0.push((f, t));
            }
            fn newline(&mut self, at: usize) {
                self.1.push(at);
            }
        }
        let b = b"\"a\\\"b\\\nc\nd\" e";
        let mut r = Rec(vec![], vec![]);
        assert_eq!(string(b, 1, &mut r), Some(11));
        assert_eq!(r.0, vec![(1, 2), (4, 5), (7, 8), (9, 10)]);
        assert_eq!(r.1, vec![6, 8]);
        assert_eq!(string(b"\"abc", 1, &mut NoSink), None);
        assert_eq!(string(b"\"abc\\", 1, &mut NoSink), None);
        assert_eq!(string("\"\\é\"".as_bytes(), 1, &mut NoSink), Some(5));
    }

    #[test]
    fn raw_strings_and_raw_identifiers() {
        let at = |s: &str| raw_string_hashes(s.as_bytes(), s.find('"').unwrap());
        assert_eq!(at("r\"x\""), Some(0));
        assert_eq!(at("br##\"x\"##"), Some(2));
        assert_eq!(at("cr#\"x\"#"), Some(1));
        assert_eq!(at("xr\"x\""), None);
        assert_eq!(at("r#r\"x\""), None, "`r#r` then a plain string");
        assert_eq!(at("b\"x\""), None);
        assert_eq!(raw_string(b"r#\"a\"b\"#c", 3, 1), Some((6, 8)));
        assert_eq!(raw_string(b"r#\"a\"", 3, 1), None);
        assert!(in_raw_ident(b"r#unsafe", 2));
        assert!(!in_raw_ident(b"r#r#unsafe", 4));
        assert!(!in_raw_ident(b"xr#unsafe", 3));
    }

    #[test]
    fn quotes() {
        let q = |s: &str| quote(s.as_bytes(), 0);
        assert_eq!(
            q("'x' "),
            Quote::Char {
                end: 3,
                terminated: true
            }
        );
        assert_eq!(
            q("'\\'' "),
            Quote::Char {
                end: 4,
                terminated: true
            }
        );
        assert_eq!(
            q("'\\\\' "),
            Quote::Char {
                end: 4,
                terminated: true
            }
        );
        assert_eq!(
            q("'\\u{1F600}' "),
            Quote::Char {
                end: 11,
                terminated: true
            }
        );
        assert_eq!(
            q("'é' "),
            Quote::Char {
                end: 4,
                terminated: true
            }
        );
        assert_eq!(q("'a: loop"), Quote::Lifetime);
        assert_eq!(q("'a str"), Quote::Lifetime);
        assert_eq!(
            q("'\\x\nz'"),
            Quote::Char {
                end: 3,
                terminated: false
            }
        );
        assert_eq!(q("'"), Quote::Lifetime);
    }
}
