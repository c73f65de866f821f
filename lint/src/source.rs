//! Source text helpers: line index (line/column ↔ byte offset) and a lexical scan for comments.
//!
//! syn drops comments, but two rules live on them (the `SAFETY:` tag and suppression comments),
//! so this module scans the raw text once, skipping string, char and raw-string literals, and
//! records every comment with its position and whether code stands before it on its line.

use serde::{Deserialize, Serialize};

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

    /// Comments that cover `line` and start their line (not trailing code).
    pub fn own_line_comments(&self, line: u32) -> impl Iterator<Item = &Comment> {
        self.comments
            .iter()
            .filter(move |c| c.line <= line && line <= c.end_line && !c.trailing)
    }

    /// The comment block directly above `line`: comment-only lines, with attribute lines allowed
    /// between; a blank line or a code line ends it. Returned top to bottom.
    pub fn comment_block_above(&self, line: u32) -> Vec<&Comment> {
        let mut out: Vec<&Comment> = Vec::new();
        let mut l = line.saturating_sub(1);
        while l >= 1 {
            if self.is_attr_line(l) {
                l -= 1;
                continue;
            }
            if self.line_has_code(l) {
                // a block comment ending a code line (`/* .. */ code` is not a comment line)
                break;
            }
            let here: Vec<&Comment> = self.own_line_comments(l).collect();
            if here.is_empty() {
                break;
            }
            let top = here.iter().map(|c| c.line).min().unwrap_or(l);
            for c in here {
                if !out.iter().any(|o| std::ptr::eq(*o, c)) {
                    out.push(c);
                }
            }
            l = top.saturating_sub(1);
        }
        out.sort_by_key(|c| (c.line, c.column));
        out
    }
}

/// Scan `text` for comments. Never fails: unterminated literals or comments run to the end.
pub fn lex(text: &str) -> Lexed {
    let chars: Vec<char> = text.chars().collect();
    let mut lexed = Lexed {
        comments: Vec::new(),
        has_code: vec![false; text.lines().count() + 2],
        attr_line: vec![false; text.lines().count() + 2],
    };
    let mut i = 0usize;
    let mut line: u32 = 1;
    let mut col: u32 = 1;
    let n = chars.len();
    // Advance one char, tracking line/col.
    macro_rules! bump {
        () => {{
            if chars[i] == '\n' {
                line += 1;
                col = 1;
            } else {
                col += 1;
            }
            i += 1;
        }};
    }
    let mark_code = |lexed: &mut Lexed, l: u32| {
        let l = l as usize;
        if l >= lexed.has_code.len() {
            lexed.has_code.resize(l + 1, false);
        }
        lexed.has_code[l] = true;
    };
    while i < n {
        let c = chars[i];
        if c == '/' && i + 1 < n && chars[i + 1] == '/' {
            let (sl, sc) = (line, col);
            let trailing = lexed.line_has_code(sl);
            let start = i + 2;
            while i < n && chars[i] != '\n' {
                bump!();
            }
            let raw: String = chars[start..i].iter().collect();
            let doc = (raw.starts_with('/') && !raw.starts_with("//")) || raw.starts_with('!');
            let body = raw.strip_prefix(['/', '!']).unwrap_or(&raw).to_string();
            lexed.comments.push(Comment {
                line: sl,
                column: sc,
                end_line: sl,
                end_column: col,
                text: body.trim_end_matches('\r').to_string(),
                block: false,
                doc,
                trailing,
            });
            continue;
        }
        if c == '/' && i + 1 < n && chars[i + 1] == '*' {
            let (sl, sc) = (line, col);
            let trailing = lexed.line_has_code(sl);
            bump!();
            bump!();
            let start = i;
            let mut depth = 1;
            let mut end = n;
            while i < n {
                if chars[i] == '/' && i + 1 < n && chars[i + 1] == '*' {
                    depth += 1;
                    bump!();
                    bump!();
                } else if chars[i] == '*' && i + 1 < n && chars[i + 1] == '/' {
                    depth -= 1;
                    if depth == 0 {
                        end = i;
                        bump!();
                        bump!();
                        break;
                    }
                    bump!();
                    bump!();
                } else {
                    bump!();
                }
            }
            let raw: String = chars[start..end.min(n)].iter().collect();
            let doc = (raw.starts_with('*') && !raw.starts_with("**")) || raw.starts_with('!');
            let body = raw.strip_prefix(['*', '!']).unwrap_or(&raw).to_string();
            lexed.comments.push(Comment {
                line: sl,
                column: sc,
                end_line: line,
                end_column: col,
                text: body,
                block: true,
                doc,
                trailing,
            });
            continue;
        }
        if c.is_whitespace() {
            bump!();
            continue;
        }
        if !lexed.line_has_code(line) && c == '#' {
            let mut j = i + 1;
            while j < n && (chars[j] == ' ' || chars[j] == '\t' || chars[j] == '!') {
                j += 1;
            }
            if j < n && chars[j] == '[' {
                let l = line as usize;
                if l >= lexed.attr_line.len() {
                    lexed.attr_line.resize(l + 1, false);
                }
                lexed.attr_line[l] = true;
            }
        }
        mark_code(&mut lexed, line);
        // Raw strings: r"..", r#".."#, br#".."#, cr#".."#.
        if (c == 'r' || ((c == 'b' || c == 'c') && i + 1 < n && chars[i + 1] == 'r'))
            && (i == 0 || !is_ident_char(chars[i - 1]))
        {
            let mut j = i + if c == 'r' { 1 } else { 2 };
            let mut hashes = 0;
            while j < n && chars[j] == '#' {
                hashes += 1;
                j += 1;
            }
            if j < n && chars[j] == '"' {
                while i <= j {
                    bump!();
                }
                // find closing quote followed by `hashes` #'s
                while i < n {
                    if chars[i] == '"'
                        && (0..hashes).all(|k| i + 1 + k < n && chars[i + 1 + k] == '#')
                    {
                        for _ in 0..=hashes {
                            bump!();
                        }
                        break;
                    }
                    if chars[i] != '\n' {
                        mark_code(&mut lexed, line);
                    }
                    bump!();
                }
                continue;
            }
        }
        if c == '"' {
            bump!();
            while i < n {
                if chars[i] == '\\' {
                    bump!();
                    if i < n {
                        bump!();
                    }
                    continue;
                }
                if chars[i] == '"' {
                    bump!();
                    break;
                }
                if chars[i] != '\n' {
                    mark_code(&mut lexed, line);
                }
                bump!();
            }
            continue;
        }
        if c == '\'' {
            // char literal or lifetime
            if i + 2 < n && chars[i + 1] == '\\' {
                bump!();
                while i < n && chars[i] != '\'' && chars[i] != '\n' {
                    if chars[i] == '\\' {
                        bump!();
                    }
                    if i < n {
                        bump!();
                    }
                }
                if i < n && chars[i] == '\'' {
                    bump!();
                }
                continue;
            }
            if i + 2 < n && chars[i + 2] == '\'' {
                bump!();
                bump!();
                bump!();
                continue;
            }
            bump!();
            continue;
        }
        if is_ident_char(c) {
            while i < n && is_ident_char(chars[i]) {
                bump!();
            }
            continue;
        }
        bump!();
    }
    lexed
}

/// The comment block that starts right after the byte offset `from` (only whitespace before it),
/// joined; `None` when code comes first.
pub fn comment_right_after(text: &str, from: usize) -> Option<String> {
    let mut rest = text.get(from..)?;
    let mut out = String::new();
    loop {
        let trimmed = rest.trim_start();
        if let Some(r) = trimmed.strip_prefix("//") {
            let end = r.find('\n').unwrap_or(r.len());
            out.push_str(&r[..end]);
            out.push('\n');
            rest = &r[end..];
        } else if let Some(r) = trimmed.strip_prefix("/*") {
            let end = r.find("*/").unwrap_or(r.len());
            out.push_str(&r[..end]);
            out.push('\n');
            rest = r.get(end + 2..).unwrap_or("");
        } else {
            break;
        }
    }
    if out.is_empty() {
        None
    } else {
        Some(out)
    }
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
    fn offsets_count_chars() {
        let src = "é = 1;\nab";
        let idx = LineIndex::new(src);
        assert_eq!(idx.offset(src, 1, 2), 2);
        assert_eq!(idx.offset(src, 2, 2), 9);
        assert_eq!(idx.line_text(src, 2), "ab");
    }
}
