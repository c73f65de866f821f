//! `--format json`: one object on stdout, a stable schema (version 1) checked byte for byte in tests.

use serde::Serialize;

use super::counts;
use crate::Outcome;

#[derive(Serialize)]
struct Doc<'a> {
    version: u32,
    diagnostics: Vec<Diag<'a>>,
    summary: Summary<'a>,
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
    };
    let mut s =
        serde_json::to_string_pretty(&doc).unwrap_or_else(|e| format!("{{\"error\":\"{e}\"}}"));
    s.push('\n');
    s
}
