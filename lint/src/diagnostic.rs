//! The one diagnostic type every stage writes and every reporter reads.
//!
//! Positions are 1-based; columns count characters (not bytes); `end_column` is exclusive
//! (it points just past the last character), the SARIF convention. A diagnostic also carries
//! its byte range in the file ([`TextRange`], filled by the driver from the span when the rule
//! gives none) and may carry a [`Fix`]: edits by byte range with an [`Applicability`], the shape
//! of ruff's `ruff_diagnostics`.
//!
//! Invariants: a [`TextRange`] is `start <= end`, both on UTF-8 character boundaries of the file
//! it belongs to; the edits of one [`Fix`] do not overlap.

use serde::{Deserialize, Serialize};

/// How bad a finding is, after the policy's `[rules]` levels are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Severity {
    Warning,
    Error,
}

impl Severity {
    pub fn as_str(self) -> &'static str {
        match self {
            Severity::Error => "error",
            Severity::Warning => "warning",
        }
    }
}

/// A position range inside one file (1-based lines and character columns, end exclusive).
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct Span {
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
}

impl Span {
    /// From a proc-macro2 span (whose columns are 0-based).
    pub fn from_pm2(span: proc_macro2::Span) -> Span {
        let s = span.start();
        let e = span.end();
        Span {
            line: s.line as u32,
            column: s.column as u32 + 1,
            end_line: e.line as u32,
            end_column: e.column as u32 + 1,
        }
    }

    /// From the start of `a` to the end of `b`.
    pub fn join(a: proc_macro2::Span, b: proc_macro2::Span) -> Span {
        let mut s = Span::from_pm2(a);
        let e = Span::from_pm2(b);
        s.end_line = e.end_line;
        s.end_column = e.end_column;
        s
    }
}

/// A byte range in one file: `start..end`, end exclusive.
#[derive(
    Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Default, Serialize, Deserialize,
)]
pub struct TextRange {
    pub start: u32,
    pub end: u32,
}

impl TextRange {
    pub fn new(start: u32, end: u32) -> TextRange {
        debug_assert!(start <= end, "a range ends before it starts");
        TextRange { start, end }
    }

    pub fn len(self) -> u32 {
        self.end - self.start
    }

    pub fn is_empty(self) -> bool {
        self.start == self.end
    }
}

/// How safe it is to apply a fix without looking (ruff's labels).
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize, Deserialize)]
#[serde(rename_all = "kebab-case")]
pub enum Applicability {
    /// Keeps the program's meaning: may be applied automatically.
    Safe,
    /// May change the meaning (or need more edits by hand): applied only on request.
    Unsafe,
    /// Shown as a suggestion, never applied.
    DisplayOnly,
}

impl Applicability {
    pub fn as_str(self) -> &'static str {
        match self {
            Applicability::Safe => "safe",
            Applicability::Unsafe => "unsafe",
            Applicability::DisplayOnly => "display-only",
        }
    }
}

/// One replacement of a byte range (an insertion when the range is empty, a deletion when the
/// replacement is).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Edit {
    pub range: TextRange,
    pub replacement: String,
}

/// A way to make a diagnostic go away: one or more edits of the diagnostic's file.
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Fix {
    /// What the fix does, for people (`replace with `try_send``).
    pub message: String,
    /// Non-overlapping; [`Fix::new`] sorts them by start.
    pub edits: Vec<Edit>,
    pub applicability: Applicability,
}

/// Why a fix could not be applied to a text.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FixError {
    /// An edit reaches past the end of the text or cuts a UTF-8 character.
    OutOfBounds(TextRange),
    /// Two edits overlap.
    Overlap(TextRange, TextRange),
}

impl Fix {
    pub fn new(
        message: impl Into<String>,
        mut edits: Vec<Edit>,
        applicability: Applicability,
    ) -> Fix {
        edits.sort_by_key(|e| (e.range.start, e.range.end));
        Fix {
            message: message.into(),
            edits,
            applicability,
        }
    }

    /// `text` with every edit applied.
    pub fn apply(&self, text: &str) -> Result<String, FixError> {
        let mut out = String::with_capacity(text.len());
        let mut at = 0usize;
        let mut prev: Option<TextRange> = None;
        for e in &self.edits {
            let (s, t) = (e.range.start as usize, e.range.end as usize);
            if s > t || t > text.len() || !text.is_char_boundary(s) || !text.is_char_boundary(t) {
                return Err(FixError::OutOfBounds(e.range));
            }
            if let Some(p) = prev.filter(|p| s < p.end as usize) {
                return Err(FixError::Overlap(p, e.range));
            }
            out.push_str(&text[at..s]);
            out.push_str(&e.replacement);
            at = t;
            prev = Some(e.range);
        }
        out.push_str(&text[at..]);
        Ok(out)
    }
}

/// One step of an explanation that points somewhere in the code (a call chain step).
#[derive(Clone, Debug, PartialEq, Eq, Serialize, Deserialize)]
pub struct Related {
    pub path: String,
    pub line: u32,
    pub column: u32,
    pub end_line: u32,
    pub end_column: u32,
    pub message: String,
}

/// A finding, or a problem of the tool with one file.
#[derive(Clone, Debug, PartialEq, Eq)]
pub struct Diagnostic {
    pub rule: &'static str,
    pub severity: Severity,
    /// Relative to the lint root, `/` separators.
    pub path: String,
    pub span: Span,
    pub message: String,
    pub notes: Vec<String>,
    /// Where the finding's explanation leads (for listener-send-await: the call chain, entry first).
    pub related: Vec<Related>,
    /// Lines of the enclosing statements/items as (start, end), innermost first: what a
    /// suppression comment may be attached to.
    pub anchors: Vec<(u32, u32)>,
    /// The span as a byte range of the file (None: the file could not be read).
    pub range: Option<TextRange>,
    /// Boxed: most diagnostics have none, and a run can hold many thousands.
    pub fix: Option<Box<Fix>>,
}

impl Diagnostic {
    pub fn new(rule: &'static str, path: &str, span: Span, message: impl Into<String>) -> Self {
        Diagnostic {
            rule,
            severity: Severity::Error,
            path: path.to_string(),
            span,
            message: message.into(),
            notes: Vec::new(),
            related: Vec::new(),
            anchors: Vec::new(),
            range: None,
            fix: None,
        }
    }

    pub fn with_fix(mut self, fix: Fix) -> Self {
        self.fix = Some(Box::new(fix));
        self
    }

    pub fn with_note(mut self, note: impl Into<String>) -> Self {
        self.notes.push(note.into());
        self
    }

    pub fn sort_key(&self) -> (&str, u32, u32, &str, &str) {
        (
            &self.path,
            self.span.line,
            self.span.column,
            self.rule,
            &self.message,
        )
    }
}

/// Where rules write their findings. Rules never print or touch files.
#[derive(Default, Debug)]
pub struct Sink {
    pub diagnostics: Vec<Diagnostic>,
    /// Directives a rule applied itself, not to a diagnostic (an exemption on a call edge):
    /// (path, the comment's position). They are not reported as unused.
    pub used_directives: Vec<(String, Span)>,
    /// `unsafe` sites not reported because clippy's own lint is allowed there
    /// (`#[allow(clippy::undocumented_unsafe_blocks)]` around them), for the summary.
    pub left_to_clippy: usize,
}

impl Sink {
    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }

    pub fn directive_used(&mut self, path: &str, at: Span) {
        self.used_directives.push((path.to_string(), at));
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn edit(start: u32, end: u32, with: &str) -> Edit {
        Edit {
            range: TextRange::new(start, end),
            replacement: with.into(),
        }
    }

    #[test]
    fn applying_a_fix_replaces_inserts_and_deletes() {
        let text = "tx.send(x).await;\nlet é = 1;\n";
        let fix = Fix::new(
            "use try_send",
            vec![
                edit(10, 16, ""),
                edit(3, 7, "try_send"),
                edit(18, 18, "// checked\n"),
            ],
            Applicability::Unsafe,
        );
        assert_eq!(fix.edits[0].range.start, 3, "sorted by start");
        assert_eq!(
            fix.apply(text).unwrap(),
            "tx.try_send(x);\n// checked\nlet é = 1;\n"
        );
        let none = Fix::new("nothing", Vec::new(), Applicability::Safe);
        assert_eq!(none.apply(text).unwrap(), text);
    }

    #[test]
    fn a_fix_that_does_not_fit_the_text_is_refused() {
        let text = "let é = 1;";
        let cut = Fix::new("x", vec![edit(5, 6, "e")], Applicability::Safe);
        assert_eq!(
            cut.apply(text),
            Err(FixError::OutOfBounds(TextRange::new(5, 6)))
        );
        let past = Fix::new("x", vec![edit(3, 40, "")], Applicability::Safe);
        assert!(matches!(past.apply(text), Err(FixError::OutOfBounds(_))));
        let overlap = Fix::new(
            "x",
            vec![edit(0, 4, "a"), edit(3, 6, "b")],
            Applicability::DisplayOnly,
        );
        assert_eq!(
            overlap.apply(text),
            Err(FixError::Overlap(
                TextRange::new(0, 4),
                TextRange::new(3, 6)
            ))
        );
    }
}
