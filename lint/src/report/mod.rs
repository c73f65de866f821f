//! Reporters: turn the run's outcome into text for people (miette frames) or tools (JSON,
//! SARIF, GitHub workflow commands).

pub mod github;
pub mod human;
pub mod json;
pub mod sarif;

use crate::diagnostic::Severity;
use crate::Outcome;

/// Output format of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
    /// SARIF 2.1.0 (GitHub code scanning).
    Sarif,
    /// GitHub Actions annotations (workflow commands).
    Github,
}

/// Counts shown in every format's summary.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct Counts {
    pub errors: usize,
    pub warnings: usize,
}

pub fn counts(outcome: &Outcome) -> Counts {
    let mut c = Counts::default();
    for d in &outcome.diagnostics {
        match d.severity {
            Severity::Error => c.errors += 1,
            Severity::Warning => c.warnings += 1,
        }
    }
    c
}

/// `--statistics`: findings per rule and severity, most frequent first.
pub fn statistics(outcome: &Outcome) -> String {
    let mut per: std::collections::BTreeMap<(&str, Severity), usize> = Default::default();
    for d in &outcome.diagnostics {
        *per.entry((d.rule, d.severity)).or_insert(0) += 1;
    }
    let mut rows: Vec<_> = per.into_iter().collect();
    rows.sort_by(|a, b| b.1.cmp(&a.1).then(a.0.cmp(&b.0)));
    let mut out = String::from("statistics:\n");
    if rows.is_empty() {
        out.push_str("  no findings\n");
    }
    for ((rule, sev), n) in rows {
        out.push_str(&format!("{n:>7}  {:<8} {rule}\n", sev.as_str()));
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::diagnostic::{Diagnostic, Span};

    #[test]
    fn statistics_per_rule() {
        let mk = |rule: &'static str, sev| {
            let mut d = Diagnostic::new(rule, "a.rs", Span::default(), "m");
            d.severity = sev;
            d
        };
        let outcome = Outcome {
            diagnostics: vec![
                mk("undocumented-unsafe", Severity::Error),
                mk("banned-type", Severity::Error),
                mk("undocumented-unsafe", Severity::Error),
                mk("unused-suppression", Severity::Warning),
            ],
            ..Outcome::default()
        };
        assert_eq!(
            statistics(&outcome),
            "statistics:\n      2  error    undocumented-unsafe\n      1  error    banned-type\n      1  warning  unused-suppression\n"
        );
        assert_eq!(
            statistics(&Outcome::default()),
            "statistics:\n  no findings\n"
        );
    }
}
