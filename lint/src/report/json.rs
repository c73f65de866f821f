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
}

#[derive(Serialize)]
struct Summary<'a> {
    files: usize,
    errors: usize,
    warnings: usize,
    skipped: Vec<Skip<'a>>,
    excluded: usize,
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
        },
        baseline,
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
