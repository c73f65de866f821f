//! The one diagnostic type every stage writes and every reporter reads.
//!
//! Positions are 1-based; columns count characters (not bytes); `end_column` is exclusive
//! (it points just past the last character), the SARIF convention.

use serde::{Deserialize, Serialize};

/// How bad a finding is, after the policy's `[rules]` levels are applied.
#[derive(Clone, Copy, Debug, PartialEq, Eq, PartialOrd, Ord, Hash, Serialize)]
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

/// One step of an explanation that points somewhere in the code (a call chain step).
#[derive(Clone, Debug, PartialEq, Eq, Serialize)]
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
        }
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
}

impl Sink {
    pub fn push(&mut self, d: Diagnostic) {
        self.diagnostics.push(d);
    }
}
