//! The run record: a whole run's result, kept in the facts cache under a hash of every input
//! the result is a function of, so that a run whose inputs are all unchanged (a re-run, a
//! pre-commit hook or an editor save that changed nothing the lint reads) returns it without
//! parsing a file, building the index or running a rule.
//!
//! The key ([`run_key`]) covers, in order and each with its length, so no two inputs hash
//! alike by running together:
//! - the lint root, the policy's origin, folder and hash (the cache pack is keyed by the tool's
//!   version and schema and the policy hash already);
//! - the settings that can change a result: the prefilter and demand-driven bodies (each may
//!   leave a grammar error in a body no rule reads unreported);
//! - the packages (name, folder), from discovery;
//! - every file, by absolute path and the xxh3 hash of its bytes, or the error reading it.
//!
//! Invariant this rests on: a run's diagnostics are a function of these inputs alone. The
//! analysis reads no file outside the request's list (only through the [`Vfs`]), no clock and
//! no environment variable. An input added to the analysis must be added to the key.
//!
//! A run asking for something else than diagnostics (`--explain-path`, `--list-functions`, a
//! plan printout) neither reads nor writes the record. The record holds what [`analyze`]
//! returns (after levels, suppressions and the generated-file filter, with byte ranges); the
//! CLI's baseline, `--report-only` and output format are applied to it afterwards, as to a
//! result computed afresh.
//!
//! [`analyze`]: super::analyze

use std::borrow::Cow;

use bincode::Options as _;
use serde::{Deserialize, Serialize};

use super::{Request, Vfs};
use crate::diagnostic::{Diagnostic, Fix, Related, Severity, Span, TextRange};
use crate::Outcome;

/// A file as read for the run: its text, or the diagnostic saying why it cannot be read.
pub(crate) type Read<'v> = Result<Cow<'v, str>, Box<Diagnostic>>;

/// Read every file of `req` (in parallel on `pool`), in the request's order.
pub(crate) fn read_all<'v>(
    req: &Request,
    vfs: &'v dyn Vfs,
    pool: &rayon::ThreadPool,
) -> Vec<Read<'v>> {
    use rayon::prelude::*;
    pool.install(|| {
        req.files
            .par_iter()
            .map(|p| super::vfs::read_source(vfs, p, &crate::rel_path(req.root, p)))
            .collect()
    })
}

/// The hash of every input a run's result depends on (see the module doc).
pub(crate) fn run_key(req: &Request, texts: &[Read]) -> u64 {
    let mut h = xxhash_rust::xxh3::Xxh3::new();
    let mut put = |bytes: &[u8]| {
        h.update(&(bytes.len() as u64).to_le_bytes());
        h.update(bytes);
    };
    let path = |p: &std::path::Path| p.to_string_lossy().into_owned();
    put(b"channel-lint run record 1");
    put(path(req.root).as_bytes());
    put(format!("{:?}", req.policy.origin).as_bytes());
    put(path(&req.policy.base_dir).as_bytes());
    put(&req.policy.hash.to_le_bytes());
    put(&[u8::from(req.prefilter), u8::from(req.lazy_bodies)]);
    put(&(req.packages.len() as u64).to_le_bytes());
    for p in req.packages {
        put(p.name.as_bytes());
        put(path(&p.dir).as_bytes());
    }
    put(&(req.files.len() as u64).to_le_bytes());
    for (p, t) in req.files.iter().zip(texts) {
        put(path(p).as_bytes());
        match t {
            Ok(text) => put(&crate::cache::content_hash(text.as_bytes()).to_le_bytes()),
            Err(d) => put(format!("unreadable: {}", d.message).as_bytes()),
        }
    }
    h.digest()
}

/// A [`Diagnostic`] as the record keeps it (the rule by its id).
#[derive(Serialize, Deserialize)]
struct StoredDiagnostic {
    rule: String,
    severity: Severity,
    path: String,
    span: Span,
    message: String,
    notes: Vec<String>,
    related: Vec<Related>,
    anchors: Vec<(u32, u32)>,
    range: Option<TextRange>,
    fix: Option<Fix>,
}

/// What a run record holds: the parts of [`Outcome`] that [`super::analyze`] computes from its
/// inputs (not the timings, nor the cache's own note).
#[derive(Serialize, Deserialize)]
struct Record {
    diagnostics: Vec<StoredDiagnostic>,
    files_linted: u64,
    generated_files: u64,
    generated_findings: u64,
    left_to_clippy: u64,
}

fn opts(limit: u64) -> impl bincode::Options {
    bincode::DefaultOptions::new().with_limit(limit)
}

/// The record of `outcome`, whose diagnostics are `diags`.
pub(crate) fn encode(outcome: &Outcome, diags: &[Diagnostic]) -> Vec<u8> {
    let record = Record {
        diagnostics: diags
            .iter()
            .map(|d| StoredDiagnostic {
                rule: d.rule.to_string(),
                severity: d.severity,
                path: d.path.clone(),
                span: d.span,
                message: d.message.clone(),
                notes: d.notes.clone(),
                related: d.related.clone(),
                anchors: d.anchors.clone(),
                range: d.range,
                fix: d.fix.as_deref().cloned(),
            })
            .collect(),
        files_linted: outcome.files_linted as u64,
        generated_files: outcome.generated_files as u64,
        generated_findings: outcome.generated_findings as u64,
        left_to_clippy: outcome.left_to_clippy as u64,
    };
    opts(u64::MAX).serialize(&record).unwrap_or_default()
}

/// Fill `outcome` from a record; false (and `outcome` untouched) when the record does not
/// decode or names a rule this build does not have.
pub(crate) fn restore(blob: &[u8], outcome: &mut Outcome) -> bool {
    let Ok(record) = opts(blob.len() as u64 * 64 + 4096).deserialize::<Record>(blob) else {
        return false;
    };
    let mut diags = Vec::with_capacity(record.diagnostics.len());
    for d in record.diagnostics {
        let Some(rule) = crate::rules::find(&d.rule) else {
            return false;
        };
        diags.push(Diagnostic {
            rule: rule.id,
            severity: d.severity,
            path: d.path,
            span: d.span,
            message: d.message,
            notes: d.notes,
            related: d.related,
            anchors: d.anchors,
            range: d.range,
            fix: d.fix.map(Box::new),
        });
    }
    outcome.diagnostics = diags;
    outcome.files_linted = record.files_linted as usize;
    outcome.generated_files = record.generated_files as usize;
    outcome.generated_findings = record.generated_findings as usize;
    outcome.left_to_clippy = record.left_to_clippy as usize;
    true
}
