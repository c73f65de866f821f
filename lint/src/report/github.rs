//! `--format github`: GitHub Actions workflow commands, one annotation per finding:
//!
//! ```text
//! ::error file=src/a.rs,line=3,col=5,endLine=3,endColumn=9,title=banned-type::message%0Anote
//! ```
//!
//! Escaping follows the runner: in the message `%`, CR and LF are percent-encoded; in property
//! values `:` and `,` are too. A finding that spans lines has no `col`/`endColumn` (GitHub
//! ignores columns there). GitHub shows at most 10 annotations of each kind per step, so
//! [`step_summary`] renders every finding as a markdown table for `$GITHUB_STEP_SUMMARY`.

use crate::diagnostic::{Diagnostic, Severity};
use crate::Outcome;

use super::{counts, human};

/// Escape a workflow command's message.
pub fn escape_data(s: &str) -> String {
    s.replace('%', "%25")
        .replace('\r', "%0D")
        .replace('\n', "%0A")
}

/// Escape a workflow command's property value.
pub fn escape_property(s: &str) -> String {
    escape_data(s).replace(':', "%3A").replace(',', "%2C")
}

/// One `::error`/`::warning` line (with its newline).
pub fn annotation(d: &Diagnostic) -> String {
    let kind = match d.severity {
        Severity::Error => "error",
        Severity::Warning => "warning",
    };
    let mut props = vec![
        format!("file={}", escape_property(&d.path)),
        format!("line={}", d.span.line.max(1)),
    ];
    let multi_line = d.span.end_line > d.span.line;
    if !multi_line {
        props.push(format!("col={}", d.span.column.max(1)));
    }
    props.push(format!(
        "endLine={}",
        d.span.end_line.max(d.span.line.max(1))
    ));
    if !multi_line {
        props.push(format!(
            "endColumn={}",
            d.span.end_column.max(d.span.column.max(1))
        ));
    }
    props.push(format!("title={}", escape_property(d.rule)));
    let mut message = d.message.clone();
    for n in &d.notes {
        message.push('\n');
        message.push_str(n);
    }
    format!("::{kind} {}::{}\n", props.join(","), escape_data(&message))
}

/// The whole `--format github` output: annotations, skipped files as notices, the summary line.
pub fn render(outcome: &Outcome) -> String {
    let mut out = String::new();
    for d in &outcome.diagnostics {
        out.push_str(&annotation(d));
    }
    for (p, reason) in &outcome.skipped {
        out.push_str(&format!(
            "::notice file={},title=channel-lint::{}\n",
            escape_property(p),
            escape_data(&format!("skipped: {reason}"))
        ));
    }
    out.push_str(&human::summary_line(outcome));
    out
}

/// Escape text for a markdown table cell: `|` always; outside `code spans` also HTML.
fn cell(text: &str) -> String {
    let mut out = String::new();
    for (i, part) in text.split('`').enumerate() {
        if i > 0 {
            out.push('`');
        }
        let in_code = i % 2 == 1;
        for c in part.chars() {
            match c {
                '|' => out.push_str("\\|"),
                '\n' => out.push_str("<br>"),
                '\r' => {}
                '<' if !in_code => out.push_str("&lt;"),
                '>' if !in_code => out.push_str("&gt;"),
                '&' if !in_code => out.push_str("&amp;"),
                c => out.push(c),
            }
        }
    }
    out
}

/// Where the table's locations link to: `{server}/{repo}/blob/{sha}/` (from the Actions
/// environment: `GITHUB_SERVER_URL`, `GITHUB_REPOSITORY`, `GITHUB_SHA`).
pub fn link_base_from_env() -> Option<String> {
    let server = std::env::var("GITHUB_SERVER_URL").ok()?;
    let repo = std::env::var("GITHUB_REPOSITORY").ok()?;
    let sha = std::env::var("GITHUB_SHA").ok()?;
    if server.is_empty() || repo.is_empty() || sha.is_empty() {
        return None;
    }
    Some(format!(
        "{}/{repo}/blob/{sha}/",
        server.trim_end_matches('/')
    ))
}

/// Markdown for `$GITHUB_STEP_SUMMARY`: the summary line and a table of every finding.
pub fn step_summary(outcome: &Outcome, link_base: Option<&str>) -> String {
    let mut out = String::from("### channel-lint\n\n");
    out.push_str(human::summary_line(outcome).trim_end());
    out.push_str("\n\n");
    if outcome.diagnostics.is_empty() {
        out.push_str("No findings.\n");
    } else {
        out.push_str("| Severity | Rule | Location | Message |\n|---|---|---|---|\n");
        for d in &outcome.diagnostics {
            let loc = format!("{}:{}:{}", d.path, d.span.line, d.span.column);
            let loc = match link_base {
                Some(base) => format!(
                    "[{}]({base}{}#L{})",
                    cell(&loc),
                    super::sarif::uri_path(&d.path),
                    d.span.line
                ),
                None => format!("`{}`", cell(&loc)),
            };
            out.push_str(&format!(
                "| {} | `{}` | {} | {} |\n",
                d.severity.as_str(),
                d.rule,
                loc,
                cell(&d.message)
            ));
        }
    }
    let c = counts(outcome);
    if c.errors + c.warnings > 10 {
        out.push_str(
            "\nGitHub shows at most 10 annotations of each kind per step: this table lists all.\n",
        );
    }
    out.push('\n');
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::Span;

    fn d(line: u32, col: u32, end_line: u32, end_col: u32) -> Diagnostic {
        Diagnostic::new(
            "banned-type",
            "src/a,b:c.rs",
            Span {
                line,
                column: col,
                end_line,
                end_column: end_col,
            },
            "100% `Arc<T>` | bad\r\nsecond: line, here",
        )
    }

    #[test]
    fn escapes_message_and_properties() {
        let mut x = d(3, 5, 3, 9);
        x.notes.push("note %0A".into());
        assert_eq!(
            annotation(&x),
            "::error file=src/a%2Cb%3Ac.rs,line=3,col=5,endLine=3,endColumn=9,title=banned-type::\
             100%25 `Arc<T>` | bad%0D%0Asecond: line, here%0Anote %250A\n"
        );
    }

    #[test]
    fn multi_line_span_has_no_columns() {
        let mut x = d(3, 5, 7, 2);
        x.severity = Severity::Warning;
        x.message = "m".into();
        assert_eq!(
            annotation(&x),
            "::warning file=src/a%2Cb%3Ac.rs,line=3,endLine=7,title=banned-type::m\n"
        );
    }

    #[test]
    fn render_and_summary() {
        let outcome = Outcome {
            diagnostics: vec![d(3, 5, 3, 9)],
            files_linted: 2,
            skipped: vec![("x.rs".into(), "symlink".into())],
            ..Outcome::default()
        };
        let text = render(&outcome);
        assert!(text.ends_with(
            "::notice file=x.rs,title=channel-lint::skipped: symlink\n\
             channel-lint: 1 error, 0 warnings in 2 files, 1 skipped\n"
        ));
        assert_eq!(
            step_summary(&outcome, None),
            "### channel-lint\n\nchannel-lint: 1 error, 0 warnings in 2 files, 1 skipped\n\n\
             | Severity | Rule | Location | Message |\n|---|---|---|---|\n\
             | error | `banned-type` | `src/a,b:c.rs:3:5` | 100% `Arc<T>` \\| bad<br>second: line, here |\n\n"
        );
        let linked = step_summary(&outcome, Some("https://github.com/o/r/blob/abc/"));
        assert!(linked.contains(
            "| [src/a,b:c.rs:3:5](https://github.com/o/r/blob/abc/src/a%2Cb%3Ac.rs#L3) |"
        ));
        let empty = Outcome::default();
        assert!(step_summary(&empty, None).contains("No findings."));
    }

    #[test]
    fn markdown_cells() {
        assert_eq!(cell("a <b> & `c<d>|e`"), "a &lt;b&gt; &amp; `c<d>\\|e`");
    }
}
