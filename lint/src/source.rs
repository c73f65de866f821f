//! Source text helpers: line index (line/column ↔ byte offset) and a lexical scan for comments.
//!
//! syn drops comments, but two rules live on them (the `SAFETY:` tag and suppression comments),
//! so this module scans the raw text once, skipping string, char and raw-string literals, and
//! records every comment with its position and whether code stands before it on its line.

use serde::{Deserialize, Serialize};

use crate::lexer;

/// Byte offsets of line starts, to turn (line, char column) into byte offsets and back.
#[derive(Debug, Clone)]
pub struct LineIndex {
    starts: Vec<usize>,
}

impl LineIndex {
    pub fn new(text: &str) -> Self {
        let mut starts = vec![0];
        for (i, b) in text.bytes().enumerate() {
            if b == b'\n' {
                starts.push(i + 1);
            }
        }
        LineIndex { starts }
    }

    pub fn line_count(&self) -> usize {
        self.starts.len()
    }

    /// Byte offset of a 1-based line and 1-based character column (clamped to the text).
    pub fn offset(&self, text: &str, line: u32, column: u32) -> usize {
        let line = (line.max(1) as usize).min(self.starts.len());
        let start = self.starts[line - 1];
        let end = self.starts.get(line).copied().unwrap_or(text.len());
        let line_text = &text[start..end];
        for (col, (i, _)) in (1..).zip(line_text.char_indices()) {
            if col == column {
                return start + i;
            }
        }
        end.min(text.len())
    }

    /// The 1-based line and 1-based char column of a byte offset (clamped to the text, and
    /// back to the start of a char it falls inside).
    pub fn line_col(&self, text: &str, offset: usize) -> (u32, u32) {
        let (line, before) = self.line_and_prefix(text, offset);
        (line, before.chars().count() as u32 + 1)
    }

    /// The 0-based line and 0-based UTF-16 code-unit column of a byte offset, as the Language
    /// Server Protocol counts positions by default (clamped like [`Self::line_col`]).
    pub fn utf16_position(&self, text: &str, offset: usize) -> (u32, u32) {
        let (line, before) = self.line_and_prefix(text, offset);
        let col: usize = before.chars().map(char::len_utf16).sum();
        (line - 1, col as u32)
    }

    /// The 1-based line of a byte offset and the text of that line before it; the offset is
    /// clamped to the text and moved back to the start of a char it falls inside.
    fn line_and_prefix<'t>(&self, text: &'t str, offset: usize) -> (u32, &'t str) {
        let mut offset = offset.min(text.len());
        while !text.is_char_boundary(offset) {
            offset -= 1;
        }
        let line = self.starts.partition_point(|&s| s <= offset);
        (line as u32, &text[self.starts[line - 1]..offset])
    }

    /// The text of a 1-based line, without its line break.
    pub fn line_text<'a>(&self, text: &'a str, line: u32) -> &'a str {
        let line = line as usize;
        if line == 0 || line > self.starts.len() {
            return "";
        }
        let start = self.starts[line - 1];
        let end = self.starts.get(line).copied().unwrap_or(text.len());
        text[start..end].trim_end_matches(['\n', '\r'])
    }
}

/// One comment in the source.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Comment {
    /// 1-based line where the comment starts.
    pub line: u32,
    /// 1-based character column of the comment's first `/`.
    pub column: u32,
    /// 1-based line where the comment ends (block comments can span lines).
    pub end_line: u32,
    /// 1-based character column just past the comment.
    pub end_column: u32,
    /// The text without the `//` / `/* */` markers (doc markers `/`, `!`, `*` kept off too).
    pub text: String,
    pub block: bool,
    /// A doc comment (`///`, `//!`, `/**`, `/*!`).
    pub doc: bool,
    /// Code stands before the comment on its first line.
    pub trailing: bool,
}

/// What the lexical scan knows about each line.
#[derive(Debug, Clone, Default, Serialize, Deserialize)]
pub struct Lexed {
    pub comments: Vec<Comment>,
    /// Per 1-based line (index 0 unused): the line holds some code token (not only comments/space).
    pub has_code: Vec<bool>,
    /// Per 1-based line: the first code on the line is an attribute (`#[..]` / `#![..]`).
    pub attr_line: Vec<bool>,
}

impl Lexed {
    pub fn line_has_code(&self, line: u32) -> bool {
        self.has_code.get(line as usize).copied().unwrap_or(false)
    }

    pub fn is_attr_line(&self, line: u32) -> bool {
        self.attr_line.get(line as usize).copied().unwrap_or(false)
    }

    /// The comments that end on `line`, in order (binary search: comments are sorted).
    pub fn comments_ending_on(&self, line: u32) -> impl Iterator<Item = &Comment> {
        let lo = self.comments.partition_point(|c| c.end_line < line);
        self.comments[lo..]
            .iter()
            .take_while(move |c| c.end_line == line)
    }

    /// Comments that cover `line` and start their line (not trailing code).
    ///
    /// `comments` are in source order and do not overlap (as [`lex`] makes them), so both their
    /// start and end lines are sorted: the comments covering `line` are one run, found by binary
    /// search.
    pub fn own_line_comments(&self, line: u32) -> impl Iterator<Item = &Comment> {
        let lo = self.comments.partition_point(|c| c.end_line < line);
        let hi = self.comments.partition_point(|c| c.line <= line).max(lo);
        self.comments[lo..hi]
            .iter()
            .filter(move |c| c.line <= line && line <= c.end_line && !c.trailing)
    }

    /// The comment block above `line`, read the way clippy's `undocumented_unsafe_blocks` reads
    /// it: comment-only lines, walking up over blank lines and lines that are only an attribute;
    /// a code line (or an attribute with a comment after it) ends it. With `trailing`, the first
    /// non-blank line above may also be a line of code or an attribute holding a comment
    /// (`let n = v.len(); // SAFETY: ..`): then the block is the first comment on that line (the
    /// one clippy 1.95 reads there; the rule then wants the tag at its start). No other comment
    /// in the block is on a line with code. Returned top to bottom.
    pub fn comment_block_above(&self, line: u32, trailing: bool) -> Vec<&Comment> {
        let mut out: Vec<&Comment> = Vec::new();
        let mut first = true;
        let mut l = line.saturating_sub(1);
        while l >= 1 {
            let code = self.line_has_code(l);
            // comments ending this line after code
            let has_after_code = code
                && self
                    .comments_ending_on(l)
                    .any(|c| c.trailing && c.line == l);
            if code && first && trailing {
                // the first comment that starts and ends on this line, before or after code
                out.extend(self.comments_ending_on(l).find(|c| c.line == l));
            }
            // Only a line that is nothing but an attribute is passed over: like clippy, an
            // attribute with a comment after it (`#[allow(x)] // why`) ends the block.
            if self.is_attr_line(l) && !has_after_code {
                first = false;
                l -= 1;
                continue;
            }
            if code {
                // a code line (also `/* .. */ code`: not a comment line)
                break;
            }
            // Every comment covering `l` starts at or above it, and the walk goes on above the
            // highest start, so no comment is met twice.
            let mut top = None::<u32>;
            for c in self.own_line_comments(l) {
                top = Some(top.map_or(c.line, |t| t.min(c.line)));
                out.push(c);
            }
            // a blank line: go on above it
            l = top.unwrap_or(l).saturating_sub(1);
            if top.is_some() {
                first = false;
            }
        }
        out.sort_by_key(|c| (c.line, c.column));
        out
    }
}

/// Scan `text` for comments. Never fails: unterminated literals or comments run to the end.
///
/// Works on bytes: every byte the scan dispatches on is ASCII, and UTF-8 never reuses ASCII bytes
/// inside a multi-byte char, so only non-ASCII chars where whitespace or identifier chars matter
/// get decoded. Columns are 1-based char columns, counted from the line start only where a
/// comment starts or ends.
pub fn lex(text: &str) -> Lexed {
    let mut lx = Lexer {
        text,
        b: text.as_bytes(),
        i: 0,
        line: 1,
        line_start: 0,
        col_at: 0,
        col: 1,
        ascii: text.is_ascii(),
        lexed: Lexed {
            comments: Vec::new(),
            has_code: Vec::with_capacity(text.len() / 24 + 2),
            attr_line: Vec::new(),
        },
    };
    lx.run();
    // Both per-line vectors are `text.lines().count() + 2` long (lines end at `\n`; a last line
    // without one counts too); every line marked is at most the last one, which is below that.
    let lines = (lx.line - 1) as usize + usize::from(!text.is_empty() && !text.ends_with('\n'));
    let mut lexed = lx.lexed;
    lexed.has_code.resize(lines + 2, false);
    lexed.attr_line.resize(lines + 2, false);
    lexed
}

/// The state of [`lex`]: a byte position, the line it is on and where that line starts.
struct Lexer<'a> {
    text: &'a str,
    b: &'a [u8],
    i: usize,
    line: u32,
    line_start: usize,
    /// The last column computed: at byte `col_at`, char column `col` (valid on the current line
    /// only, i.e. when `col_at >= line_start`).
    col_at: usize,
    col: u32,
    /// The text is all ASCII: char counts are byte counts.
    ascii: bool,
    lexed: Lexed,
}

impl Lexer<'_> {
    fn run(&mut self) {
        let b = self.b;
        let n = b.len();
        while self.i < n {
            if self.lexed.line_has_code(self.line) {
                self.skip_code();
                continue;
            }
            let i = self.i;
            let c = b[i];
            if c == b'/' && i + 1 < n {
                if b[i + 1] == b'/' {
                    self.line_comment();
                    continue;
                }
                if b[i + 1] == b'*' {
                    self.block_comment();
                    continue;
                }
            }
            if c < 0x80 {
                match c {
                    b'\n' => {
                        self.newline_at(i);
                        self.i = i + 1;
                        continue;
                    }
                    // the ASCII part of `char::is_whitespace`
                    b' ' | b'\t' | b'\r' | 0x0b | 0x0c => {
                        let mut j = i + 1;
                        while j < n && matches!(b[j], b' ' | b'\t' | b'\r' | 0x0b | 0x0c) {
                            j += 1;
                        }
                        self.i = j;
                        continue;
                    }
                    _ => {}
                }
            } else {
                let ch = self.char_at(i);
                if ch.is_whitespace() {
                    self.i = i + ch.len_utf8();
                    continue;
                }
            }
            if c == b'#' && !self.lexed.line_has_code(self.line) {
                let mut j = i + 1;
                while j < n && matches!(b[j], b' ' | b'\t' | b'!') {
                    j += 1;
                }
                if j < n && b[j] == b'[' {
                    mark(&mut self.lexed.attr_line, self.line);
                }
            }
            mark(&mut self.lexed.has_code, self.line);
            match c {
                b'"' => self.string_or_raw(i),
                b'\'' => self.quote(i),
                _ if c < 0x80 => {
                    if is_ascii_ident(c) {
                        self.ident(i + 1);
                    } else {
                        self.i = i + 1;
                    }
                }
                _ => {
                    let ch = self.char_at(i);
                    if is_ident_char(ch) {
                        self.ident(i + ch.len_utf8());
                    } else {
                        self.i = i + ch.len_utf8();
                    }
                }
            }
        }
    }

    /// On a line already marked as code, from `self.i` (where a token starts): skip to the next
    /// byte that can start a comment, a string or char literal, or end the line, and handle it.
    ///
    /// Whitespace, attributes and code marks need no look on such a line, and the tokens skipped
    /// (identifier runs, punctuation, whitespace) all end before that byte, except a raw string's
    /// prefix (`r`, `br`, `cr` and `#`s), which is recognized from its opening `"`.
    fn skip_code(&mut self) {
        let b = self.b;
        let n = b.len();
        let from = self.i;
        let q = find_stop(b, from);
        if q >= n {
            self.i = n;
            return;
        }
        match b[q] {
            b'\n' => {
                self.newline_at(q);
                self.i = q + 1;
            }
            b'/' => {
                self.i = q;
                if q + 1 < n && b[q + 1] == b'/' {
                    self.line_comment();
                } else if q + 1 < n && b[q + 1] == b'*' {
                    self.block_comment();
                } else {
                    self.i = q + 1;
                }
            }
            b'\'' => self.quote(q),
            _ => self.string_or_raw(q),
        }
    }

    /// The `"` at `q` opens a raw string or a plain one.
    fn string_or_raw(&mut self, q: usize) {
        match lexer::raw_string_hashes(self.b, q) {
            Some(hashes) => self.raw_string(q + 1, hashes),
            None => self.string(q + 1),
        }
    }

    /// The number of chars in `text[from..to]`.
    fn chars(&self, from: usize, to: usize) -> u32 {
        if self.ascii {
            (to - from) as u32
        } else {
            self.text[from..to].chars().count() as u32
        }
    }

    /// The char starting at byte `i` (a char boundary).
    fn char_at(&self, i: usize) -> char {
        self.text[i..].chars().next().unwrap_or('\0')
    }

    /// The `\n` at byte `at` ends the current line.
    fn newline_at(&mut self, at: usize) {
        self.line += 1;
        self.line_start = at + 1;
    }

    /// Account for the line breaks in `b[from..to]`.
    fn lines_through(&mut self, from: usize, to: usize) {
        let seg = &self.b[from..to];
        if let Some(last) = memchr::memrchr(b'\n', seg) {
            self.line += memchr::memchr_iter(b'\n', &seg[..last]).count() as u32 + 1;
            self.line_start = from + last + 1;
        }
    }

    /// The 1-based char column of byte `at` on the current line (`at` past every `\n` seen).
    fn column(&mut self, at: usize) -> u32 {
        let (from, base) = if self.col_at >= self.line_start && self.col_at <= at {
            (self.col_at, self.col)
        } else {
            (self.line_start, 1)
        };
        let col = base + self.chars(from, at);
        self.col_at = at;
        self.col = col;
        col
    }

    /// Mark the current line as code for each stretch of `b[from..to]` between line breaks that
    /// holds some char, and account for the line breaks.
    fn mark_lines_through(&mut self, from: usize, to: usize) {
        let mut seg_start = from;
        for k in memchr::memchr_iter(b'\n', &self.b[from..to]) {
            let at = from + k;
            if at > seg_start {
                mark(&mut self.lexed.has_code, self.line);
            }
            self.newline_at(at);
            seg_start = at + 1;
        }
        if to > seg_start {
            mark(&mut self.lexed.has_code, self.line);
        }
    }

    /// `//` at `self.i`: runs to the end of the line (the `\n` is left to scan).
    fn line_comment(&mut self) {
        let (b, i) = (self.b, self.i);
        let line = self.line;
        let column = self.column(i);
        let trailing = self.lexed.line_has_code(line);
        let start = i + 2;
        let end = lexer::line_comment_end(b, start);
        let end_column = column + 2 + self.chars(start, end);
        let raw = &self.text[start..end];
        let doc = (raw.starts_with('/') && !raw.starts_with("//")) || raw.starts_with('!');
        let body = raw.strip_prefix(['/', '!']).unwrap_or(raw);
        self.lexed.comments.push(Comment {
            line,
            column,
            end_line: line,
            end_column,
            text: body.trim_end_matches('\r').to_string(),
            block: false,
            doc,
            trailing,
        });
        self.i = end;
    }

    /// `/*` at `self.i`: runs to its matching `*/` (they nest) or to the end.
    fn block_comment(&mut self) {
        let (b, i) = (self.b, self.i);
        let n = b.len();
        let line = self.line;
        let column = self.column(i);
        let trailing = self.lexed.line_has_code(line);
        let start = i + 2;
        let (end, after) = lexer::block_comment(b, i).unwrap_or((n, n));
        self.lines_through(start, end);
        let end_column = self.column(after);
        let raw = &self.text[start..end];
        let doc = (raw.starts_with('*') && !raw.starts_with("**")) || raw.starts_with('!');
        let body = raw.strip_prefix(['*', '!']).unwrap_or(raw);
        self.lexed.comments.push(Comment {
            line,
            column,
            end_line: self.line,
            end_column,
            text: body.to_string(),
            block: true,
            doc,
            trailing,
        });
        self.i = after;
    }

    /// A raw string whose body starts at `from`, closed by `"` and `hashes` `#`s (or the end).
    /// Every line of the body that holds some char (the closing quote aside) is code.
    fn raw_string(&mut self, from: usize, hashes: usize) {
        let n = self.b.len();
        let (close, after) = lexer::raw_string(self.b, from, hashes).unwrap_or((n, n));
        self.mark_lines_through(from, close);
        self.i = after;
    }

    /// A string whose body starts at `from`. Chars outside escapes mark their line as code; an
    /// escape (`\` and the next char, maybe a line break) does not.
    fn string(&mut self, from: usize) {
        /// Marks the lines that hold the body's chars, and follows its line breaks.
        struct Lines<'l, 'a>(&'l mut Lexer<'a>);
        impl lexer::StringSink for Lines<'_, '_> {
            fn text(&mut self, _from: usize, _to: usize) {
                mark(&mut self.0.lexed.has_code, self.0.line);
            }
            fn newline(&mut self, at: usize) {
                self.0.newline_at(at);
            }
        }
        let end = lexer::string(self.b, from, &mut Lines(self));
        self.i = end.unwrap_or(self.b.len());
    }

    /// `'` at `i`: a char literal (`'x'`, or an escape `'\..'` up to a `'` or the line end) or a
    /// lifetime / label (only the quote is skipped).
    fn quote(&mut self, i: usize) {
        self.i = match lexer::quote(self.b, i) {
            lexer::Quote::Char { end, .. } => {
                self.lines_through(i, end);
                end
            }
            lexer::Quote::Lifetime => i + 1,
        };
    }

    /// An identifier (or number) run continuing at `from`.
    fn ident(&mut self, from: usize) {
        let b = self.b;
        let n = b.len();
        let mut i = from;
        while i < n {
            let c = b[i];
            if c < 0x80 {
                if !is_ascii_ident(c) {
                    break;
                }
                i += 1;
            } else {
                let ch = self.char_at(i);
                if !is_ident_char(ch) {
                    break;
                }
                i += ch.len_utf8();
            }
        }
        self.i = i;
    }
}

/// The first byte from `from` on that [`Lexer::skip_code`] stops at: `\n`, `/`, `"` or `'`
/// (`b.len()` if none), looking at 8 bytes at a time.
fn find_stop(b: &[u8], from: usize) -> usize {
    const LO: u64 = u64::from_ne_bytes([1; 8]);
    const HI: u64 = LO << 7;
    // High bit set in each zero byte of `v`, and maybe in bytes above one (borrows): the lowest
    // bit set is exact.
    fn zeros(v: u64) -> u64 {
        v.wrapping_sub(LO) & !v & HI
    }
    let mut q = from;
    while let Some(chunk) = b.get(q..q + 8) {
        let x = u64::from_le_bytes(chunk.try_into().unwrap_or([0; 8]));
        let hits = zeros(x ^ (LO * u64::from(b'\n')))
            | zeros(x ^ (LO * u64::from(b'/')))
            | zeros(x ^ (LO * u64::from(b'"')))
            | zeros(x ^ (LO * u64::from(b'\'')));
        if hits != 0 {
            return q + (hits.trailing_zeros() / 8) as usize;
        }
        q += 8;
    }
    while q < b.len() && !matches!(b[q], b'\n' | b'/' | b'"' | b'\'') {
        q += 1;
    }
    q
}

/// Set `v[line]`, growing `v` as needed.
fn mark(v: &mut Vec<bool>, line: u32) {
    let l = line as usize;
    if l >= v.len() {
        v.resize(l + 1, false);
    }
    v[l] = true;
}

fn is_ascii_ident(c: u8) -> bool {
    c == b'_' || c.is_ascii_alphanumeric()
}

/// The comments that follow the byte offset `from` with only whitespace before each (the
/// comments opening a block after its `{`), their texts without the markers, in order.
pub fn comments_right_after(text: &str, from: usize) -> Vec<&str> {
    let mut out = Vec::new();
    let Some(mut rest) = text.get(from..) else {
        return out;
    };
    loop {
        let trimmed = rest.trim_start();
        if let Some(r) = trimmed.strip_prefix("//") {
            let end = r.find('\n').unwrap_or(r.len());
            out.push(&r[..end]);
            rest = &r[end..];
        } else if let Some(r) = trimmed.strip_prefix("/*") {
            let end = r.find("*/").unwrap_or(r.len());
            out.push(&r[..end]);
            rest = r.get(end + 2..).unwrap_or("");
        } else {
            break;
        }
    }
    out
}

fn is_ident_char(c: char) -> bool {
    c == '_' || c.is_alphanumeric()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_comments_and_skips_strings() {
        let src = "let s = \"// not\"; // yes\n/* b\n c */ x\nlet c = '/'; let l: &'a str; // two\nr#\"/* no */\"#;\n";
        let l = lex(src);
        let texts: Vec<_> = l
            .comments
            .iter()
            .map(|c| (c.line, c.text.trim().to_string(), c.trailing))
            .collect();
        assert_eq!(
            texts,
            vec![
                (1, "yes".to_string(), true),
                (2, "b\n c".to_string(), false),
                (4, "two".to_string(), true)
            ]
        );
        assert!(l.line_has_code(3));
        assert!(!l.line_has_code(6));
    }

    #[test]
    fn columns_count_chars_and_crlf_is_trimmed() {
        let src = "é → x; // ü é\r\nfoo(); /* ☃ */\r\n";
        let l = lex(src);
        let got: Vec<_> = l
            .comments
            .iter()
            .map(|c| (c.line, c.column, c.end_line, c.end_column, c.text.as_str()))
            .collect();
        assert_eq!(got, vec![(1, 8, 1, 15, " ü é"), (2, 8, 2, 15, " ☃ ")]);
        assert!(l.comments.iter().all(|c| c.trailing && !c.doc));
        assert_eq!(l.has_code.len(), 4);
    }

    #[test]
    fn raw_strings_nested_and_doc_block_comments() {
        let src = "let a = br##\"x \"# // no\"##; /* a /* b */ c */ y\n\
                   let b = cr\"/* no\"; /** doc */\n/***/ /**/\n";
        let l = lex(src);
        let got: Vec<_> = l
            .comments
            .iter()
            .map(|c| {
                (
                    c.line,
                    c.end_line,
                    c.text.as_str(),
                    c.block,
                    c.doc,
                    c.trailing,
                )
            })
            .collect();
        assert_eq!(
            got,
            vec![
                (1, 1, " a /* b */ c ", true, false, true),
                (2, 2, " doc ", true, true, true),
                // `/***/` counts as a doc comment, `/**/` does not
                (3, 3, "", true, true, false),
                (3, 3, "", true, false, false),
            ]
        );
        assert!(!l.line_has_code(3));
    }

    #[test]
    fn string_lines_attributes_and_block_above() {
        // Line 2 holds only an escape and the closing quote, line 6 only a raw string's closing
        // quote: neither counts as code.
        let src = "let s = [\"a\\\n\\n\"\n];\n  # ! [attr]\nr\"x\n\"\n";
        let l = lex(src);
        assert_eq!(
            l.has_code,
            [false, true, false, true, true, true, false, false]
        );
        assert_eq!(
            l.attr_line,
            [false, false, false, false, true, false, false, false]
        );
        assert!(l.comments.is_empty());

        let src = "/* a\n b */\n// c\n#[x]\nfn f() {}\n";
        let l = lex(src);
        let above: Vec<_> = l
            .comment_block_above(5, false)
            .iter()
            .map(|c| c.line)
            .collect();
        assert_eq!(above, vec![1, 3]);
        assert_eq!(l.own_line_comments(2).count(), 1);
    }

    #[test]
    fn block_above_skips_blank_lines_and_may_take_a_trailing_comment() {
        let lines = |src: &str, line: u32, trailing: bool| -> Vec<u32> {
            let l = lex(src);
            l.comment_block_above(line, trailing)
                .iter()
                .map(|c| c.line)
                .collect()
        };
        // blank lines between the comments and the line are passed over
        assert_eq!(lines("// a\n\n// b\n\nx\n", 5, false), vec![1, 3]);
        // a code line ends the block
        assert_eq!(lines("// a\ny();\n\nx\n", 4, false), Vec::<u32>::new());
        // a trailing comment counts only on the first non-blank line above, and only if asked
        let src = "// a\ny(); // b\n\nx\n";
        assert_eq!(lines(src, 4, true), vec![2]);
        assert_eq!(lines(src, 4, false), Vec::<u32>::new());
        assert_eq!(lines("z(); // a\n// b\nx\n", 3, true), vec![2]);
        // after an attribute too; such an attribute line ends the block
        assert_eq!(lines("// a\n#[cfg(x)] // b\nx\n", 3, true), vec![2]);
        assert_eq!(
            lines("// a\n#[cfg(x)] // b\nx\n", 3, false),
            Vec::<u32>::new()
        );
        // a line that is only an attribute is passed over
        assert_eq!(lines("// a\n#[cfg(x)]\nx\n", 3, false), vec![1]);
        // on a code line, the first comment is the one read, before the code or after it
        assert_eq!(lines("/* a */ y();\nx\n", 2, true), vec![1]);
        assert_eq!(lines("/* a */ y();\nx\n", 2, false), Vec::<u32>::new());
        let l = lex("y(); /* a */ // b\nx\n");
        let got: Vec<_> = l
            .comment_block_above(2, true)
            .iter()
            .map(|c| c.text.trim())
            .collect();
        assert_eq!(got, vec!["a"]);
    }

    #[test]
    fn offsets_count_chars() {
        let src = "é = 1;\nab";
        let idx = LineIndex::new(src);
        assert_eq!(idx.offset(src, 1, 2), 2);
        assert_eq!(idx.offset(src, 2, 2), 9);
        assert_eq!(idx.line_text(src, 2), "ab");
        assert_eq!(idx.line_col(src, 9), (2, 2));
        assert_eq!(idx.line_col(src, 1), (1, 1), "inside `é`: its start");
        assert_eq!(idx.line_col(src, 2), (1, 2));
        assert_eq!(idx.line_col(src, 99), (2, 3), "clamped to the end");
    }

    #[test]
    fn utf16_positions_count_code_units() {
        // `😀` is 4 bytes, 1 char, 2 UTF-16 units; `é` 2 bytes, 1 char, 1 unit.
        let src = "😀é x
ab";
        let idx = LineIndex::new(src);
        assert_eq!(idx.utf16_position(src, 0), (0, 0));
        assert_eq!(idx.utf16_position(src, 4), (0, 2));
        assert_eq!(idx.utf16_position(src, 6), (0, 3));
        assert_eq!(idx.utf16_position(src, 7), (0, 4));
        assert_eq!(idx.utf16_position(src, 9), (1, 0));
        assert_eq!(idx.utf16_position(src, 10), (1, 1));
        for (off, _) in src.char_indices() {
            let (l, c) = idx.line_col(src, off);
            assert_eq!(idx.offset(src, l, c), off);
        }
    }
}
