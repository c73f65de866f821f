//! `--format json`: one object on stdout, a stable schema (version 1) checked byte for byte in tests.

use serde::Serialize;

use super::counts;
use crate::Outcome;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    diagnostics: Vec<Diag<'a>>,
    summary: Summary<'a>,
    /// Only with `--baseline` (an additive field; version stays 1).
    #[serde(skip_serializing_if = "Option::is_none")]
    baseline: Option<BaselineDoc<'a>>,
}

/// What `--baseline FILE` did, for `--format json`.
#[derive(Serialize)]
pub struct BaselineDoc<'a> {
    /// The baseline file as given on the command line.
    pub file: &'a str,
    /// Findings the baseline matched (not in `diagnostics`).
    pub suppressed: usize,
    /// Baseline entries that no longer occur: delete them (or regenerate the file).
    pub stale: &'a [crate::baseline::Entry],
}

#[derive(Serialize)]
struct Diag<'a> {
    rule: &'a str,
    severity: &'a str,
    path: &'a str,
    line: u32,
    column: u32,
    end_line: u32,
    end_column: u32,
    message: &'a str,
    notes: &'a [String],
    /// Only when the diagnostic has one (an additive field; version stays 1, and a diagnostic
    /// without a fix is written exactly as before).
    #[serde(skip_serializing_if = "Option::is_none")]
    fix: Option<FixDoc<'a>>,
}

#[derive(Serialize)]
struct FixDoc<'a> {
    message: &'a str,
    applicability: crate::diagnostic::Applicability,
    edits: Vec<EditDoc<'a>>,
}

/// An edit as byte offsets into the file (`start..end`, end exclusive).
#[derive(Serialize)]
struct EditDoc<'a> {
    start: u32,
    end: u32,
    replacement: &'a str,
}

fn fix_doc(fix: &crate::diagnostic::Fix) -> FixDoc<'_> {
    FixDoc {
        message: &fix.message,
        applicability: fix.applicability,
        edits: fix
            .edits
            .iter()
            .map(|e| EditDoc {
                start: e.range.start,
                end: e.range.end,
                replacement: &e.replacement,
            })
            .collect(),
    }
}

#[derive(Serialize)]
struct Summary<'a> {
    files: usize,
    errors: usize,
    warnings: usize,
    skipped: Vec<Skip<'a>>,
    excluded: usize,
    /// Findings in generated files that were not reported, and in how many files (present
    /// only when some were held back).
    #[serde(skip_serializing_if = "is_zero")]
    generated_findings: usize,
    #[serde(skip_serializing_if = "is_zero")]
    generated_files: usize,
    /// `unsafe` sites not reported because `clippy::undocumented_unsafe_blocks` is allowed
    /// around them (present only when some were).
    #[serde(skip_serializing_if = "is_zero")]
    left_to_clippy_allow: usize,
}

fn is_zero(n: &usize) -> bool {
    *n == 0
}

#[derive(Serialize)]
struct Skip<'a> {
    path: &'a str,
    reason: &'a str,
}

pub fn render(outcome: &Outcome) -> String {
    render_with_baseline(outcome, None)
}

/// [`render`] plus the `baseline` field.
pub fn render_with_baseline(outcome: &Outcome, baseline: Option<BaselineDoc>) -> String {
    let c = counts(outcome);
    let doc = Doc {
        version: 1,
        diagnostics: outcome
            .diagnostics
            .iter()
            .map(|d| Diag {
                rule: d.rule,
                severity: d.severity.as_str(),
                path: &d.path,
                line: d.span.line,
                column: d.span.column,
                end_line: d.span.end_line,
                end_column: d.span.end_column,
                message: &d.message,
                notes: &d.notes,
                fix: d.fix.as_deref().map(fix_doc),
            })
            .collect(),
        summary: Summary {
            files: outcome.files_linted,
            errors: c.errors,
            warnings: c.warnings,
            skipped: outcome
                .skipped
                .iter()
                .map(|(p, r)| Skip { path: p, reason: r })
                .collect(),
            excluded: outcome.excluded,
            generated_findings: outcome.generated_findings,
            left_to_clippy_allow: outcome.left_to_clippy,
            generated_files: if outcome.generated_findings > 0 {
                outcome.generated_files
            } else {
                0
            },
        },
        baseline,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Applicability, Diagnostic, Edit, Fix, Span, TextRange};

    #[test]
    fn a_fix_is_written_only_when_there_is_one() {
        let plain = Diagnostic::new("banned-type", "a.rs", Span::default(), "m");
        let fixed = plain.clone().with_fix(Fix::new(
            "use `Sock`",
            vec![Edit {
                range: TextRange::new(4, 13),
                replacement: "Sock".into(),
            }],
            Applicability::Safe,
        ));
        let out = |d: Diagnostic| {
            let o = Outcome {
                diagnostics: vec![d],
                ..Outcome::default()
            };
            serde_json::from_str::<serde_json::Value>(&render(&o)).unwrap()["diagnostics"][0]
                .clone()
        };
        let p = out(plain);
        assert!(p.get("fix").is_none(), "{p}");
        assert_eq!(
            p.as_object().unwrap().keys().cloned().collect::<Vec<_>>(),
            [
                "column",
                "end_column",
                "end_line",
                "line",
                "message",
                "notes",
                "path",
                "rule",
                "severity"
            ]
        );
        assert_eq!(
            out(fixed)["fix"],
            serde_json::json!({
                "message": "use `Sock`",
                "applicability": "safe",
                "edits": [{ "start": 4, "end": 13, "replacement": "Sock" }],
            })
        );
    }
}
