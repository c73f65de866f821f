//! `--format human`: each finding as a miette code frame, then a summary line.

use std::collections::HashMap;
use std::path::Path;

use miette::{GraphicalReportHandler, GraphicalTheme, LabeledSpan, MietteDiagnostic, NamedSource};

use super::counts;
use crate::diagnostic::{Diagnostic, Severity};
use crate::source::LineIndex;
use crate::Outcome;

/// Render one diagnostic as a miette frame, given its file's text (None: no frame).
pub fn frame(d: &Diagnostic, text: Option<&str>, color: bool) -> String {
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
    let report = match text {
        Some(text) => {
            let idx = LineIndex::new(text);
            let start = idx.offset(text, d.span.line, d.span.column);
            let end = idx
                .offset(text, d.span.end_line, d.span.end_column)
                .max(start);
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
            miette::Report::new(md).with_source_code(NamedSource::new(&d.path, text.to_string()))
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
    if text.is_none() {
        out = format!("{}:{}:{}\n{}", d.path, d.span.line, d.span.column, out);
    }
    out
}

pub fn render(outcome: &Outcome, root: &Path, color: bool, quiet: bool) -> String {
    let mut out = String::new();
    if !quiet {
        let mut texts: HashMap<&str, Option<String>> = HashMap::new();
        for d in &outcome.diagnostics {
            let text = texts.entry(d.path.as_str()).or_insert_with(|| {
                let p = Path::new(&d.path);
                let p = if p.is_absolute() {
                    p.to_path_buf()
                } else {
                    root.join(p)
                };
                std::fs::read_to_string(p).ok()
            });
            out.push_str(&frame(d, text.as_deref(), color));
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
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Edit, Fix, Span, TextRange};

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
