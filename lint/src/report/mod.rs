//! Reporters: turn the run's outcome into text for people (miette frames) or tools (JSON).

pub mod human;
pub mod json;

use crate::diagnostic::Severity;
use crate::Outcome;

/// Output format of `--format`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum Format {
    Human,
    Json,
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
