//! `--format human`: each finding as a miette code frame, then a summary line.

use std::collections::HashMap;
use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic};

use super::counts;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::LineIndex;
use crate::Outcome;

/// A file's text with its line index, built once per file however many findings it has.
pub struct FileText {
    text: String,
    index: LineIndex,
}

impl FileText {
    pub fn new(text: String) -> FileText {
        let index = LineIndex::new(&text);
        FileText { text, index }
    }
}

/// Lines of context kept around a finding's span (miette shows one before and one after).
const CONTEXT: u32 = 2;

/// The part of a file a frame shows, with the line number its first line has in the file, so
/// that rendering one finding costs the size of its window, not of its file.
struct Window {
    name: String,
    snippet: String,
    /// 0-based line number of the snippet's first line in the file.
    first_line: usize,
}

impl miette::SourceCode for Window {
    fn read_span<'a>(
        &'a self,
        span: &miette::SourceSpan,
        before: usize,
        after: usize,
    ) -> Result<Box<dyn miette::SpanContents<'a> + 'a>, miette::MietteError> {
        let inner = self.snippet.read_span(span, before, after)?;
        Ok(Box::new(miette::MietteSpanContents::new_named(
            self.name.clone(),
            inner.data(),
            *inner.span(),
            inner.line() + self.first_line,
            inner.column(),
            inner.line_count(),
        )))
    }
}

/// Render one diagnostic as a miette frame, given its file's text (None: no frame).
pub fn frame(d: &Diagnostic, text: Option<&str>, color: bool) -> String {
    let file = text.map(|t| FileText::new(t.to_string()));
    frame_in(d, file.as_ref(), color)
}

/// [`frame`] with the file's text and line index already built.
pub fn frame_in(d: &Diagnostic, file: Option<&FileText>, color: bool) -> String {
    let mut md = MietteDiagnostic::new(d.message.clone())
        .with_code(d.rule)
        .with_severity(match d.severity {
            Severity::Error => miette::Severity::Error,
            Severity::Warning => miette::Severity::Warning,
        });
    let mut help = d.notes.clone();
    if let Some(fix) = &d.fix {
        help.push(format!(
            "fix ({}): {}",
            fix.applicability.as_str(),
            fix.message
        ));
    }
    if !help.is_empty() {
        md = md.with_help(help.join("\n"));
    }
    let theme = if color {
        GraphicalTheme::unicode()
    } else {
        GraphicalTheme::unicode_nocolor()
    };
    // Wrap to the terminal's width; when piped (CI logs, editors), do not wrap at all.
    let width = if color {
        std::env::var("COLUMNS")
            .ok()
            .and_then(|c| c.parse().ok())
            .unwrap_or(120)
    } else {
        400
    };
    let handler = GraphicalReportHandler::new_themed(theme).with_width(width);
    let mut out = String::new();
    let report = match file {
        Some(FileText { text, index: idx }) => {
            let start = idx.offset(text, d.span.line, d.span.column);
            let end = idx
                .offset(text, d.span.end_line, d.span.end_column)
                .max(start);
            // The window: CONTEXT lines before the span's first line to CONTEXT after its last.
            let lines = idx.line_count() as u32;
            let first = d
                .span
                .line
                .clamp(1, lines.max(1))
                .saturating_sub(CONTEXT)
                .max(1);
            let last = d
                .span
                .end_line
                .max(d.span.line)
                .saturating_add(CONTEXT)
                .min(lines.max(1));
            let line_start = |l: u32| {
                let lt = idx.line_text(text, l);
                lt.as_ptr() as usize - text.as_ptr() as usize
            };
            let w_start = line_start(first).min(start);
            let w_end = {
                let lt = idx.line_text(text, last);
                (line_start(last) + lt.len()).max(end).min(text.len())
            };
            let snippet = text[w_start..w_end].to_string();
            let (start, end) = (start - w_start, end - w_start);
            let label = if d.rule == "listener-send-await" {
                "awaits channel capacity"
            } else {
                "here"
            };
            md = md.with_labels([LabeledSpan::new(
                Some(label.to_string()),
                start,
                end - start,
            )]);
            miette::Report::new(md).with_source_code(Window {
                name: d.path.clone(),
                snippet,
                first_line: first as usize - 1,
            })
        }
        None => miette::Report::new(md),
    };
    if handler.render_report(&mut out, report.as_ref()).is_err() {
        out = format!(
            "{}:{}:{}: {}[{}] {}\n",
            d.path,
            d.span.line,
            d.span.column,
            d.severity.as_str(),
            d.rule,
            d.message
        );
    }
    if file.is_none() {
        out = format!("{}:{}:{}\n{}", d.path, d.span.line, d.span.column, out);
    }
    out
}

pub fn render(outcome: &Outcome, root: &Path, color: bool, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        let mut texts: HashMap<&str, Option<FileText>> = HashMap::new();
        for d in &outcome.diagnostics {
            let text = texts.entry(d.path.as_str()).or_insert_with(|| {
                let p = Path::new(&d.path);
                let p = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    root.join(p)
                };
                std::fs::read_to_string(p).ok().map(FileText::new)
            });
            out.push_str(&frame_in(d, text.as_ref(), color));
            out.push('\n');
        }
        for (p, r) in &outcome.skipped {
            out.push_str(&format!("note: skipped {p}: {r}\n"));
        }
    }
    out.push_str(&summary_line(outcome));
    out
}

pub fn summary_line(outcome: &Outcome) -> String {
    let c = counts(outcome);
    let mut s = format!(
        "channel-lint: {} error{}, {} warning{} in {} file{}",
        c.errors,
        if c.errors == 1 { "" } else { "s" },
        c.warnings,
        if c.warnings == 1 { "" } else { "s" },
        outcome.files_linted,
        if outcome.files_linted == 1 { "" } else { "s" },
    );
    if !outcome.skipped.is_empty() {
        s.push_str(&format!(", {} skipped", outcome.skipped.len()));
    }
    if outcome.excluded > 0 {
        s.push_str(&format!(", {} excluded by policy", outcome.excluded));
    }
    if outcome.generated_findings > 0 {
        s.push_str(&format!(
            ", {} finding{} in {} generated file{} not shown (`[analysis] lint-generated = true` shows them)",
            outcome.generated_findings,
            if outcome.generated_findings == 1 { "" } else { "s" },
            outcome.generated_files,
            if outcome.generated_files == 1 { "" } else { "s" },
        ));
    }
    if outcome.left_to_clippy > 0 {
        s.push_str(&format!(
            ", {} unsafe site{} left to clippy allow attributes",
            outcome.left_to_clippy,
            if outcome.left_to_clippy == 1 { "" } else { "s" },
        ));
    }
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Edit, Fix, Span, TextRange};

    #[test]
    fn summary_counts_the_sites_left_to_clippy_allow_attributes() {
        let mut o = Outcome {
            files_linted: 2,
            ..Outcome::default()
        };
        assert_eq!(
            summary_line(&o),
            "channel-lint: 0 errors, 0 warnings in 2 files\n"
        );
        o.left_to_clippy = 1;
        assert_eq!(
            summary_line(&o),
            "channel-lint: 0 errors, 0 warnings in 2 files, 1 unsafe site left to clippy allow attributes\n"
        );
        o.left_to_clippy = 3;
        assert!(summary_line(&o).ends_with(", 3 unsafe sites left to clippy allow attributes\n"));
    }

    /// The frame as miette draws it from the whole file (what `frame_in` did before windows).
    fn whole_file_frame(d: &Diagnostic, text: &str) -> String {
        let idx = LineIndex::new(text);
        let start = idx.offset(text, d.span.line, d.span.column);
        let end = idx
            .offset(text, d.span.end_line, d.span.end_column)
            .max(start);
        let md = MietteDiagnostic::new(d.message.clone())
            .with_code(d.rule)
            .with_severity(miette::Severity::Error)
            .with_labels([LabeledSpan::new(Some("here".into()), start, end - start)]);
        let report = miette::Report::new(md)
            .with_source_code(miette::NamedSource::new(&d.path, text.to_string()));
        let mut out = String::new();
        GraphicalReportHandler::new_themed(GraphicalTheme::unicode_nocolor())
            .with_width(400)
            .render_report(&mut out, report.as_ref())
            .unwrap();
        out
    }

    #[test]
    fn a_window_draws_the_same_frame_as_the_whole_file() {
        let text =
            "fn a() {}\n\nfn b() {\n    unsafe { x() }\n}\r\n// é ü\nfn c() { y() }\n\nfn d() {}";
        let spans = [
            (1, 1, 1, 3),
            (4, 5, 4, 11),
            (3, 1, 5, 2),
            (2, 1, 2, 1),
            (6, 4, 6, 5),
            (7, 10, 7, 13),
            (9, 1, 9, 3),
        ];
        for (line, column, end_line, end_column) in spans {
            let span = Span {
                line,
                column,
                end_line,
                end_column,
            };
            let d = Diagnostic::new("banned-type", "a.rs", span, "m");
            assert_eq!(
                frame(&d, Some(text), false),
                whole_file_frame(&d, text),
                "{span:?}"
            );
        }
    }

    #[test]
    fn a_fix_is_shown_as_help_only_when_there_is_one() {
        let span = Span {
            line: 1,
            column: 4,
            end_line: 1,
            end_column: 8,
        };
        let d = Diagnostic::new("banned-type", "a.rs", span, "banned").with_note("why");
        let plain = frame(&d, Some("use Sock;\n"), false);
        assert!(plain.contains("why") && !plain.contains("fix ("), "{plain}");
        let d = d.with_fix(Fix::new(
            "use `Other`",
            vec![Edit {
                range: TextRange::new(4, 8),
                replacement: "Other".into(),
            }],
            Applicability::Unsafe,
        ));
        let fixed = frame(&d, Some("use Sock;\n"), false);
        assert!(fixed.contains("fix (unsafe): use `Other`"), "{fixed}");
    }
}
