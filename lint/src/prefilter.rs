//! The byte-level scan behind the planner (`driver::plan`): from a file's bytes, before any
//! parsing, find every `unsafe` keyword token, check that the file is lexically sound, find where
//! top-level items may end, and blank the items that need no parse. The reasoning of what to parse
//! for which rule lives in `driver::plan`.

use memchr::memmem;

use crate::lexer::{self, in_raw_ident, Quote};

pub use crate::lexer::is_ident_byte;

/// Does `hay` contain the needle of `finder` as a whole word (not part of a longer identifier)?
/// Comments and literals are not told apart: a word there makes the answer `true`, which only
/// costs a parse.
pub fn has_word(hay: &[u8], finder: &memmem::Finder) -> bool {
    let n = finder.needle().len();
    finder.find_iter(hay).any(|pos| {
        (pos == 0 || !is_ident_byte(hay[pos - 1]))
            && (pos + n >= hay.len() || !is_ident_byte(hay[pos + n]))
    })
}

/// Does `hay` contain `needle` anywhere?
pub fn contains(hay: &[u8], needle: &[u8]) -> bool {
    !needle.is_empty() && memmem::find(hay, needle).is_some()
}

/// The loads in `b` of a file: a `mod` with a `#[path = ".."]` attribute (the whole word `path`
/// followed by `=`, not `==`, with an opening `[` or the end of a comment `/` before it) or an
/// `include!` (the whole word `include`, then `!` and a delimiter). Returns whether there may be
/// any (whatever the literal), and the literals, as written, of those that may load a file from
/// outside the folder of the file that holds them (another package's folder included): the
/// literal holds `..`, starts with `/` or a drive (`C:/`), or has an escape or a `\` (which the
/// bytes cannot tell); `None` for one whose literal the bytes cannot read, which may name any
/// file. A path without those names a file below that folder, so the `mod` chains through it
/// stay in the folders above the loaded file; an argument that is not a string literal is
/// followed by nobody (the index reads literals only). Blanks between allowed. Comments and
/// literals are not told apart: a load found in one only costs parses.
pub fn loads(b: &[u8]) -> (bool, Vec<Option<String>>) {
    let mut any = false;
    let word_at = |pos: usize, n: usize| {
        (pos == 0 || !is_ident_byte(b[pos - 1]))
            && (pos + n >= b.len() || !is_ident_byte(b[pos + n]))
    };
    let next = |from: usize| {
        from + b[from..]
            .iter()
            .take_while(|c| c.is_ascii_whitespace())
            .count()
    };
    // The string literal starting at `from` (after blanks), if it may name a file elsewhere:
    // `Some(None)` when it is not terminated.
    let escapes = |from: usize| -> Option<Option<String>> {
        let mut i = next(from);
        if b.get(i) == Some(&b'r') {
            i += 1;
            while b.get(i) == Some(&b'#') {
                i += 1;
            }
        }
        if b.get(i) != Some(&b'"') {
            return None;
        }
        let start = i + 1;
        let Some(len) = b[start..].iter().position(|&c| c == b'"') else {
            return Some(None);
        };
        let lit = &b[start..start + len];
        let out = lit.starts_with(b"/")
            || lit.contains(&b'\\')
            || memmem::find(lit, b"..").is_some()
            || (lit.len() >= 3
                && lit[0].is_ascii_alphabetic()
                && lit[1] == b':'
                && matches!(lit[2], b'/' | b'\\'));
        out.then(|| Some(String::from_utf8_lossy(lit).into_owned()))
    };
    let mut out = Vec::new();
    for pos in memmem::find_iter(b, b"path") {
        let after = next(pos + 4);
        let eq = b.get(after) == Some(&b'=') && b.get(after + 1) != Some(&b'=');
        let before = b[..pos].iter().rev().find(|c| !c.is_ascii_whitespace());
        if word_at(pos, 4) && eq && matches!(before, Some(b'[') | Some(b'/')) {
            any = true;
            out.extend(escapes(after + 1));
        }
    }
    for pos in memmem::find_iter(b, b"include") {
        if !word_at(pos, 7) {
            continue;
        }
        let bang = next(pos + 7);
        if b.get(bang) != Some(&b'!') {
            continue;
        }
        let open = next(bang + 1);
        if matches!(b.get(open), Some(b'(') | Some(b'[') | Some(b'{')) {
            any = true;
            out.extend(escapes(open + 1));
        }
    }
    (any, out)
}

/// What follows an `unsafe` keyword token.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum After {
    /// `unsafe {`: the byte offset of the `{`.
    Brace(usize),
    /// `unsafe impl`.
    Impl,
    /// `unsafe fn`, `unsafe extern`, `unsafe trait`, `#[unsafe(..)]`, ...: never a site.
    Other,
}

/// The result of the byte lexer over one file.
#[derive(Debug, Clone, Default)]
pub struct Scan {
    /// Delimiters balance and every literal and block comment is terminated.
    pub lexically_ok: bool,
    /// Every `unsafe` keyword token outside comments and literals: (byte offset, what follows).
    pub unsafe_tokens: Vec<(usize, After)>,
    /// Where top-level items may end: the offset just past every `;` outside all delimiters and
    /// every `}` that closes back to the top level (unless a `;` comes next, as in
    /// `const C: S = S { .. };`). Only a candidate split: see [`unsafe_items_text`].
    pub item_ends: Vec<usize>,
}

/// Skip whitespace and comments from `i`; returns the offset of the next token (or `n`), or
/// `None` for an unterminated block comment.
fn skip_trivia(b: &[u8], mut i: usize) -> Option<usize> {
    let n = b.len();
    loop {
        while i < n && b[i].is_ascii_whitespace() {
            i += 1;
        }
        if i + 1 < n && b[i] == b'/' && b[i + 1] == b'/' {
            i = lexer::line_comment_end(b, i);
            continue;
        }
        if i + 1 < n && b[i] == b'/' && b[i + 1] == b'*' {
            i = lexer::block_comment(b, i)?.1;
            continue;
        }
        // Unicode whitespace (rare): treat like a token start; conservative.
        return Some(i);
    }
}

/// Bytes where [`scan`] has to look: everything else (identifiers, numbers, whitespace, other
/// punctuation) is stepped over without a look. `unsafe` keywords are found separately.
const SPECIAL: [bool; 256] = {
    let mut t = [false; 256];
    let mut k = 0;
    let bytes = *b"/\"'()[]{};";
    while k < bytes.len() {
        t[bytes[k] as usize] = true;
        k += 1;
    }
    t
};

/// Lex `text` just enough to find `unsafe` tokens and check that it is lexically sound.
///
/// It jumps from one interesting byte to the next (`SPECIAL`: comments, literals,
/// delimiters, `;`); `unsafe` words come from one substring search over the file and count when
/// they lie in code between those jumps (not in a comment or literal, not part of a longer word,
/// not the raw identifier `r#unsafe`). The results (`unsafe_tokens`, `item_ends`) are exact only
/// when `lexically_ok`.
pub fn scan(text: &str) -> Scan {
    let b = text.as_bytes();
    let n = b.len();
    let mut out = Scan::default();
    let mut stack: Vec<u8> = Vec::new();
    let mut words = memmem::find_iter(b, b"unsafe").peekable();
    let mut i = 0usize;
    // Start of the current stretch of code (bytes no comment or literal covers).
    let mut code_from = 0usize;
    macro_rules! broken {
        () => {{
            out.lexically_ok = false;
            return out;
        }};
    }
    loop {
        while i < n && !SPECIAL[b[i] as usize] {
            i += 1;
        }
        // `unsafe` words in the code stretch [code_from, i).
        while let Some(&p) = words.peek() {
            if p >= i {
                break;
            }
            words.next();
            let end = p + 6;
            if p < code_from
                || (p > 0 && is_ident_byte(b[p - 1]))
                || (end < n && is_ident_byte(b[end]))
                || in_raw_ident(b, p)
            {
                continue;
            }
            let next = match skip_trivia(b, end) {
                Some(j) => j,
                None => broken!(),
            };
            let after = if next < n && b[next] == b'{' {
                After::Brace(next)
            } else if b[next.min(n)..].starts_with(b"impl")
                && (next + 4 >= n || !is_ident_byte(b[next + 4]))
            {
                After::Impl
            } else {
                After::Other
            };
            out.unsafe_tokens.push((p, after));
        }
        if i >= n {
            break;
        }
        let c = b[i];
        match c {
            b'/' if i + 1 < n && b[i + 1] == b'/' => i = lexer::line_comment_end(b, i),
            b'/' if i + 1 < n && b[i + 1] == b'*' => match lexer::block_comment(b, i) {
                Some((_, after)) => i = after,
                None => broken!(),
            },
            b'"' => {
                let end = match lexer::raw_string_hashes(b, i) {
                    Some(hashes) => lexer::raw_string(b, i + 1, hashes).map(|(_, after)| after),
                    None => lexer::string(b, i + 1, &mut lexer::NoSink),
                };
                match end {
                    Some(e) => i = e,
                    None => broken!(),
                }
            }
            b'\'' => match lexer::quote(b, i) {
                Quote::Char { end, terminated } => {
                    if !terminated {
                        broken!();
                    }
                    i = end;
                }
                Quote::Lifetime => i += 1,
            },
            b'(' | b'[' | b'{' => {
                stack.push(c);
                i += 1;
            }
            b')' | b']' | b'}' => {
                let open = match c {
                    b')' => b'(',
                    b']' => b'[',
                    _ => b'{',
                };
                if stack.pop() != Some(open) {
                    broken!();
                }
                i += 1;
                if stack.is_empty() && c == b'}' {
                    match skip_trivia(b, i) {
                        Some(j) if j < n && b[j] == b';' => {}
                        Some(_) => out.item_ends.push(i),
                        None => broken!(),
                    }
                }
            }
            b';' => {
                i += 1;
                if stack.is_empty() {
                    out.item_ends.push(i);
                }
            }
            _ => i += 1, // a `/` that starts no comment
        }
        code_from = i;
    }
    out.lexically_ok = stack.is_empty();
    out
}

/// Does a line start with a merge conflict marker (`<<<<<<<`, `=======`, `>>>>>>>`)? Such a
/// file is lexically fine but never parses: it is treated like a lexically broken one.
pub fn has_conflict_markers(b: &[u8]) -> bool {
    [&b"<<<<<<<"[..], b"=======", b">>>>>>>"].iter().any(|m| {
        b.starts_with(m) || memmem::find_iter(b, m).any(|pos| pos > 0 && b[pos - 1] == b'\n')
    })
}

/// 1-based lines and character columns of increasing byte offsets, computed in one pass.
pub(crate) struct LineCols<'a> {
    text: &'a str,
    /// Byte offset reached, its line, and the offset where that line starts.
    at: usize,
    line: u32,
    line_start: usize,
}

impl<'a> LineCols<'a> {
    pub(crate) fn new(text: &'a str) -> Self {
        LineCols {
            text,
            at: 0,
            line: 1,
            line_start: 0,
        }
    }

    /// Line and column of `off`, which must not be below the previous call's.
    pub(crate) fn get(&mut self, off: usize) -> (u32, u32) {
        let b = &self.text.as_bytes()[self.at..off];
        self.line += memchr::memchr_iter(b'\n', b).count() as u32;
        if let Some(k) = memchr::memrchr(b'\n', b) {
            self.line_start = self.at + k + 1;
        }
        self.at = off;
        let col = self.text[self.line_start..off].chars().count() + 1;
        (self.line, col as u32)
    }
}

/// For a file parsed for its `unsafe` sites only (`Mode::Unsafe`): the text with every
/// top-level item blanked out that holds none of the `unsafe` tokens `keep` picks from the scan
/// (the planner keeps those whose `SAFETY:` comment the byte checks do not find).
/// Blanking turns every character but `\n` into one space, so every line and column of what is
/// kept stays where it was, and syn reads the kept items exactly as in the whole file. The sites
/// of a blanked item are all documented by a check the rule also makes, so the rule could never
/// report them: the diagnostics are those of a whole parse.
///
/// The split is by bytes ([`Scan::item_ends`]) and can be wrong (a `}` at the top level of an
/// item that goes on, as in `impl Tr<{ N }> for X {}`); a wrong split leaves an item cut, which
/// does not parse, and the caller then parses the whole text. `None`: parse the whole text
/// (lexically broken, nothing to blank).
pub fn unsafe_items_text(text: &str, keep: impl FnOnce(&Scan) -> Vec<usize>) -> Option<String> {
    let s = scan(text);
    if !s.lexically_ok || has_conflict_markers(text.as_bytes()) {
        return None;
    }
    let keep = keep(&s);
    // Chunks [ends[k-1], ends[k]); the last one runs to the end of the text.
    let mut ends = s.item_ends;
    if ends.last() != Some(&text.len()) {
        ends.push(text.len());
    }
    let mut kept = vec![false; ends.len()];
    // The file's inner attributes (`#![allow(clippy::undocumented_unsafe_blocks)]`) sit in the
    // first chunk and set lint levels for every site: keep it when there may be such an
    // attribute (conservative: the words anywhere).
    kept[0] = text.contains("#![") && text.contains("clippy");
    for off in keep {
        kept[ends.partition_point(|&e| e <= off)] = true;
    }
    let mut start = 0;
    let nothing_to_blank = ends.iter().zip(&kept).all(|(&end, &k)| {
        let chunk = &text[start..end];
        start = end;
        k || chunk.trim().is_empty()
    });
    if nothing_to_blank {
        return None;
    }
    let mut out = String::with_capacity(text.len());
    // syn strips a byte order mark itself: keep it, so columns on line 1 hold.
    let mut start = if text.starts_with('\u{feff}') { 3 } else { 0 };
    out.push_str(&text[..start]);
    for (k, &end) in ends.iter().enumerate() {
        let chunk = &text[start..end];
        if kept[k] {
            out.push_str(chunk);
        } else {
            out.extend(chunk.chars().map(|c| if c == '\n' { '\n' } else { ' ' }));
        }
        start = end;
    }
    Some(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn finds_unsafe_tokens_outside_comments_and_literals() {
        let src = "// unsafe {\nlet s = \"unsafe {\"; let r = r#\"unsafe {\"#;\nunsafe { x }\nunsafe impl Send for X {}\nunsafe fn f() {}\nlet c = '{'; let l: &'a str;\n#[unsafe(no_mangle)] fn g() {}\n";
        let s = scan(src);
        assert!(s.lexically_ok);
        let kinds: Vec<After> = s.unsafe_tokens.iter().map(|t| t.1).collect();
        assert!(matches!(kinds[0], After::Brace(_)));
        assert_eq!(&kinds[1..], &[After::Impl, After::Other, After::Other]);
    }

    #[test]
    fn raw_identifiers_and_raw_strings() {
        let offsets =
            |src: &str| -> Vec<usize> { scan(src).unsafe_tokens.iter().map(|t| t.0).collect() };
        assert_eq!(offsets("r#unsafe {}"), Vec::<usize>::new());
        assert_eq!(
            offsets("r#r#unsafe {}"),
            vec![4],
            "`r#r`, `#`, then the keyword"
        );
        assert_eq!(offsets("r#r#r#unsafe {}"), Vec::<usize>::new());
        assert_eq!(
            offsets("xr#r#unsafe {}"),
            Vec::<usize>::new(),
            "`xr`, `#`, `r#unsafe`"
        );
        let src = "let s = br##\"unsafe { \"# }\"##; unsafe {}";
        assert_eq!(offsets(src), vec![src.rfind("unsafe").unwrap()]);
        let src = "let s = r#r\"unsafe {\"; unsafe {}";
        assert_eq!(
            offsets(src),
            vec![src.rfind("unsafe").unwrap()],
            "`r#r` then a plain string"
        );
        assert_eq!(
            offsets("a.unsafe_x(); xunsafe {} unsafe_ {}"),
            Vec::<usize>::new()
        );
        assert!(!scan("let s = r#\"open;").lexically_ok);
    }

    #[test]
    fn files_loaded_from_outside() {
        let yes = |s: &str| !loads(s.as_bytes()).1.is_empty();
        assert!(yes("#[path = \"../x.rs\"]\nmod x;"));
        assert!(yes("# [ path=\"/abs/x.rs\" ] mod x;"));
        assert!(yes("#[/* c */ path = \"a/../../x.rs\"] mod x;"));
        assert!(yes("#[path = r\"C:\\x.rs\"] mod x;"));
        assert!(yes("#[path = \"C:/x.rs\"] mod x;"));
        assert!(!yes("#[path = \"a::b::c\"] mod x;"), "not a drive");
        assert!(
            yes("#[path = \"\\x2e\\x2e/x.rs\"] mod x;"),
            "an escape may spell `..`"
        );
        assert!(yes("include!(\"../gen.rs\");"));
        assert!(yes("include ! ( \"/tmp/gen.rs\" );"));
        assert!(yes("include!(\"unterminated"));
        // Below the folder of the file: the chains stay in the folders above the loaded file.
        assert!(!yes("#[path = \"x.rs\"]\nmod x;"));
        assert!(!yes("#[path = \"sub/dir/x.rs\"]\nmod x;"));
        assert!(!yes("include!(\"gen.rs\");"));
        assert!(!yes("include!(\"a.b.rs\");"));
        // Not a literal: nobody follows it.
        assert!(!yes("include!(concat!(env!(\"OUT_DIR\"), \"/gen.rs\"));"));
        assert!(!yes("let path = p; if path == q {} #[pathx = 1]"));
        assert!(!yes("[path == q]"));
        assert!(!yes("fn f(path: &Path) {}"));
        assert!(!yes(
            "include_str!(\"../a\"); include_bytes!(\"../b\"); let include = 1;"
        ));
    }

    #[test]
    fn lexical_breakage() {
        assert!(!scan("fn f() {").lexically_ok);
        assert!(!scan("fn f() { \"abc }").lexically_ok);
        assert!(!scan("/* open").lexically_ok);
        assert!(!scan("fn f() ]").lexically_ok);
        assert!(scan("fn f() { let c = '\\''; let d = '\\u{1F600}'; let e = 'é'; }").lexically_ok);
        assert!(scan("fn f<'a>(x: &'a u8) -> &'a u8 { 'l: loop { break 'l x; } }").lexically_ok);
    }

    #[test]
    fn item_ends_split_top_level_items() {
        let src = "use a::{b, c};\nconst C: S = S { a: 1 };\nfn f() { g(); }\nimpl X { }\nm!(x);\n";
        let ends: Vec<&str> = {
            let s = scan(src);
            let mut at = 0;
            s.item_ends
                .iter()
                .map(|&e| {
                    let piece = src[at..e].trim();
                    at = e;
                    piece
                })
                .collect()
        };
        assert_eq!(
            ends,
            [
                "use a::{b, c};",
                "const C: S = S { a: 1 };",
                "fn f() { g(); }",
                "impl X { }",
                "m!(x);"
            ]
        );
    }

    #[test]
    fn blanking_keeps_positions_of_the_kept_items() {
        let src = "fn a() {\n    // SAFETY: fine\n    unsafe { x() }\n}\nstruct É; fn é() { unsafe { y() } }\nstruct S;\n";
        let second = src.rfind("unsafe").unwrap();
        let out = unsafe_items_text(src, |_| vec![second]).expect("something to blank");
        // One space per blanked character, so columns (counted in characters) hold.
        assert_eq!(out.len(), src.len() - ("É".len() - 1));
        let lines: Vec<&str> = out.split('\n').collect();
        assert_eq!(lines.len(), src.split('\n').count());
        assert!(lines[..4].iter().all(|l| l.trim().is_empty()), "{out:?}");
        assert_eq!(lines[4], "          fn é() { unsafe { y() } }");
        assert!(lines[5].trim().is_empty());
        // Nothing to blank, or not lexically sound: parse the whole text.
        let all = "fn b() { unsafe { z() } }\n";
        assert!(unsafe_items_text(all, |_| vec![9]).is_none());
        let broken = "fn b() { unsafe { z() }\nstruct T;\n";
        assert!(unsafe_items_text(broken, |_| vec![9]).is_none());
    }
}
