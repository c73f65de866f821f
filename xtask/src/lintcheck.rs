//! The `lintcheck` task: how well `listener-send-await` and the blocking rules
//! ([`JUDGED_RULES`]) do on real code nobody here wrote (like clippy's lintcheck and ruff's
//! ecosystem check).
//!
//! `lintcheck/crates.toml` pins crate versions of crates.io by sha256. For each, this task
//! downloads the `.crate` (cached in `target/lintcheck/crates/`, the checksum verified on every
//! run), unpacks it into `target/lintcheck/src/<name>-<version>/`, copies the crate's committed
//! policy `lintcheck/<label>/channel-lint.toml` (its real event loops as `[listener]
//! entry-points`) into that folder as `lintcheck-policy.toml` (so its globs are relative to the
//! crate root), runs the release lint with `--format json --no-cache` on it, and compares the
//! findings of each judged rule with the committed judgement `lintcheck/<label>/judged.toml`:
//!
//! ```toml
//! [[finding]]                      # one per reported finding, keyed by (file, line, rule)
//! file = "src/transport/connection_handler.rs"
//! line = 790
//! rule = "listener-send-await"     # optional, this is the default
//! verdict = "tp"                   # "tp" | "fp"
//! reason = "why, from reading the code: the mechanism"
//!
//! [[miss]]                         # a real blocking send on the listener path, not reported
//! file = "src/router.rs"
//! line = 120
//! reason = "..."
//! ```
//!
//! Invariants of the arithmetic ([`Score`]): a reported finding judged `tp` counts as TP, one
//! judged `fp` as FP, an unjudged one as NEW and in neither (so precision is over judged findings
//! only, and NEW is printed so it cannot hide); a judged `tp` no longer reported (GONE) counts as a
//! miss, and a `[[miss]]` that is now reported (FOUND) counts as a TP, so that a change to the lint
//! moves the numbers the way it moves the truth without re-judging first. Precision is
//! TP/(TP+FP), recall TP/(TP+misses); with an empty denominator they are undefined (`n/a`), and the
//! overall figures are computed from the summed counts, not averaged.
//!
//! Exit status: 0 after a run, whatever the numbers; 2 on a usage, download, checksum, unpack or
//! lint error (the lint's exit 2); with `--check`, 1 when a finding is unjudged or a judged
//! finding is gone (the judgement file needs updating).
//!
//! Network: only `https://static.crates.io/crates/...` through `curl` (checked to exist), never
//! from CI: `.ci/run` does not run this task.

use std::collections::{BTreeMap, BTreeSet};
use std::fmt::Write as _;
use std::fs;
use std::path::{Path, PathBuf};
use std::process::{Command, ExitCode, Stdio};

use serde::Deserialize;
use serde_json::Value;
use sha2::{Digest, Sha256};

use crate::Result;

/// The rule this task judges; the other rules are only counted.
pub const RULE: &str = "listener-send-await";

/// Every rule whose findings are judged: [`RULE`] (the crates were chosen for it, and the main
/// table is its), then the blocking rules (issue 13), judged in the same files with `rule = ..`.
pub const JUDGED_RULES: &[&str] = &[RULE, "runtime-panic-call", "listener-blocking-call"];

/// Options of the `lintcheck` task.
#[derive(Debug, Default)]
pub struct Args {
    /// Only the crate with this label (or name).
    pub krate: Option<String>,
    pub lint_bin: Option<PathBuf>,
    /// Unjudged or gone findings make the exit status 1.
    pub check: bool,
    /// Also print the table as Markdown (for docs/evaluation.md).
    pub markdown: bool,
}

/// One line of `lintcheck/crates.toml`.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Pinned {
    pub name: String,
    pub version: String,
    /// Of the `.crate` file, as the crates.io index records it (`cksum`).
    pub sha256: String,
    /// The folder under `lintcheck/` (default: `name`): two versions of one crate need two.
    #[serde(default)]
    pub label: Option<String>,
    /// Why this crate and version: for the reader of the file, not used by the task.
    #[serde(default)]
    #[allow(dead_code)]
    pub why: Option<String>,
}

impl Pinned {
    pub fn label(&self) -> &str {
        self.label.as_deref().unwrap_or(&self.name)
    }
    pub fn stem(&self) -> String {
        format!("{}-{}", self.name, self.version)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct CratesFile {
    #[serde(rename = "crate")]
    crates: Vec<Pinned>,
}

#[derive(Debug, Deserialize, Clone, Copy, PartialEq, Eq)]
#[serde(rename_all = "lowercase")]
pub enum Verdict {
    Tp,
    Fp,
}

fn default_rule() -> String {
    RULE.to_string()
}

/// A judged finding.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct JudgedFinding {
    pub file: String,
    pub line: u32,
    #[serde(default = "default_rule")]
    pub rule: String,
    pub verdict: Verdict,
    pub reason: String,
    /// Optional: the cause class used in docs/evaluation.md (free text).
    #[serde(default)]
    pub cause: Option<String>,
}

/// A real blocking send on the listener path that the lint does not report.
#[derive(Debug, Deserialize, Clone)]
#[serde(deny_unknown_fields)]
pub struct Miss {
    pub file: String,
    pub line: u32,
    #[serde(default = "default_rule")]
    pub rule: String,
    pub reason: String,
    #[serde(default)]
    pub cause: Option<String>,
}

/// `lintcheck/<label>/judged.toml`.
#[derive(Debug, Deserialize, Default)]
#[serde(deny_unknown_fields)]
pub struct Judgement {
    #[serde(default, rename = "finding")]
    pub findings: Vec<JudgedFinding>,
    #[serde(default, rename = "miss")]
    pub misses: Vec<Miss>,
}

/// (file, line, rule): how a finding is recognised from one run to the next.
pub type Key = (String, u32, String);

impl Judgement {
    /// Parses and checks the file: a reason is never empty, and no key is judged twice or is both
    /// a finding and a miss.
    pub fn parse(text: &str, origin: &str) -> Result<Judgement> {
        let j: Judgement = toml::from_str(text).map_err(|e| format!("{origin}: {e}"))?;
        let mut seen = BTreeSet::new();
        let keys = j
            .findings
            .iter()
            .map(|f| (f.file.clone(), f.line, f.rule.clone(), &f.reason))
            .chain(
                j.misses
                    .iter()
                    .map(|m| (m.file.clone(), m.line, m.rule.clone(), &m.reason)),
            );
        for (file, line, rule, reason) in keys {
            if reason.trim().is_empty() {
                return Err(format!(
                    "{origin}: {file}:{line} ({rule}) has an empty reason"
                ));
            }
            if !seen.insert((file.clone(), line, rule.clone())) {
                return Err(format!("{origin}: {file}:{line} ({rule}) is judged twice"));
            }
        }
        Ok(j)
    }
}

/// A finding of the lint, as read from its JSON report.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Found {
    pub file: String,
    pub line: u32,
    pub rule: String,
    pub message: String,
}

impl Found {
    fn key(&self) -> Key {
        (self.file.clone(), self.line, self.rule.clone())
    }
}

/// The column heads of a [`Score`]'s table cells ([`Score::cells`]).
const SCORE_HEAD: [&str; 7] = [
    "findings",
    "TP",
    "FP",
    "misses",
    "precision",
    "recall",
    "unjudged",
];

/// The counts of one crate (or of all of them).
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct Score {
    /// Reported `RULE` findings (distinct keys).
    pub findings: usize,
    pub tp: usize,
    pub fp: usize,
    /// Judged misses still not reported, plus judged TPs no longer reported.
    pub misses: usize,
    /// Reported, not in the judgement file.
    pub new: usize,
    /// Judged (tp or fp), no longer reported.
    pub gone: usize,
}

impl Score {
    pub fn precision(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.fp)
    }
    pub fn recall(&self) -> Option<f64> {
        ratio(self.tp, self.tp + self.misses)
    }
    /// The table cells, under [`SCORE_HEAD`].
    fn cells(&self) -> [String; 7] {
        [
            self.findings.to_string(),
            self.tp.to_string(),
            self.fp.to_string(),
            self.misses.to_string(),
            fmt_ratio(self.precision()),
            fmt_ratio(self.recall()),
            self.new.to_string(),
        ]
    }

    /// The per-crate line: `N findings, TP .., FP .., misses .., precision .., recall ..`.
    fn line(&self) -> String {
        format!(
            "{} findings, TP {}, FP {}, misses {}, precision {}, recall {}",
            self.findings,
            self.tp,
            self.fp,
            self.misses,
            fmt_ratio(self.precision()),
            fmt_ratio(self.recall())
        )
    }

    pub fn add(&mut self, o: &Score) {
        self.findings += o.findings;
        self.tp += o.tp;
        self.fp += o.fp;
        self.misses += o.misses;
        self.new += o.new;
        self.gone += o.gone;
    }
}

fn ratio(a: usize, b: usize) -> Option<f64> {
    (b > 0).then(|| a as f64 / b as f64)
}

pub fn fmt_ratio(r: Option<f64>) -> String {
    r.map_or_else(|| "n/a".to_string(), |r| format!("{r:.2}"))
}

/// One line of the diff against the judgement.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Change {
    /// Reported, unjudged.
    New(Found),
    /// Judged, no longer reported.
    Gone { key: Key, verdict: Verdict },
    /// A judged miss that is now reported.
    Found(Key),
}

/// Compares the `RULE` findings of one run with the judgement. `found` may hold other rules:
/// they are ignored here.
pub fn score(found: &[Found], judged: &Judgement) -> (Score, Vec<Change>) {
    score_rule(found, judged, RULE)
}

/// [`score`] for the findings of `rule`.
pub fn score_rule(found: &[Found], judged: &Judgement, rule: &str) -> (Score, Vec<Change>) {
    let verdicts: BTreeMap<Key, Verdict> = judged
        .findings
        .iter()
        .filter(|f| f.rule == rule)
        .map(|f| ((f.file.clone(), f.line, f.rule.clone()), f.verdict))
        .collect();
    let missed: BTreeSet<Key> = judged
        .misses
        .iter()
        .filter(|m| m.rule == rule)
        .map(|m| (m.file.clone(), m.line, m.rule.clone()))
        .collect();
    let mut reported: BTreeMap<Key, &Found> = BTreeMap::new();
    for f in found.iter().filter(|f| f.rule == rule) {
        reported.entry(f.key()).or_insert(f);
    }

    let mut s = Score {
        findings: reported.len(),
        ..Score::default()
    };
    let mut changes = Vec::new();
    for (key, f) in &reported {
        match verdicts.get(key) {
            Some(Verdict::Tp) => s.tp += 1,
            Some(Verdict::Fp) => s.fp += 1,
            None if missed.contains(key) => {
                s.tp += 1;
                changes.push(Change::Found(key.clone()));
            }
            None => {
                s.new += 1;
                changes.push(Change::New((*f).clone()));
            }
        }
    }
    for (key, &verdict) in &verdicts {
        if !reported.contains_key(key) {
            s.gone += 1;
            if verdict == Verdict::Tp {
                s.misses += 1;
            }
            changes.push(Change::Gone {
                key: key.clone(),
                verdict,
            });
        }
    }
    s.misses += missed.iter().filter(|k| !reported.contains_key(*k)).count();
    (s, changes)
}

/// Every judged finding and miss names a file of the unpacked crate and a line inside it: a
/// typo would otherwise count as a miss (or a GONE finding) forever.
pub fn check_locations(judged: &Judgement, src: &Path) -> Result<()> {
    let locations = judged
        .findings
        .iter()
        .map(|f| (&f.file, f.line))
        .chain(judged.misses.iter().map(|m| (&m.file, m.line)));
    let mut lines: BTreeMap<&String, usize> = BTreeMap::new();
    for (file, line) in locations {
        let n = match lines.get(file) {
            Some(&n) => n,
            None => {
                let text = fs::read(src.join(file))
                    .map_err(|e| format!("{file}:{line}: not a file of the crate ({e})"))?;
                let n = crate::corpus::count_lines(&text) as usize;
                lines.insert(file, n);
                n
            }
        };
        if line == 0 || line as usize > n {
            return Err(format!("{file}:{line}: the file has {n} lines"));
        }
    }
    Ok(())
}

/// How many of the reported FPs and of the still-missed misses have each `cause`.
pub fn causes(found: &[Found], judged: &Judgement) -> BTreeMap<String, usize> {
    causes_rule(found, judged, RULE)
}

/// [`causes`] for the findings of `rule`.
pub fn causes_rule(found: &[Found], judged: &Judgement, rule: &str) -> BTreeMap<String, usize> {
    let reported: BTreeSet<Key> = found
        .iter()
        .filter(|f| f.rule == rule)
        .map(Found::key)
        .collect();
    let mut out = BTreeMap::new();
    let name = |c: &Option<String>| c.clone().unwrap_or_else(|| "unclassified".into());
    for f in judged.findings.iter().filter(|f| f.rule == rule) {
        let key = (f.file.clone(), f.line, f.rule.clone());
        if f.verdict == Verdict::Fp && reported.contains(&key) {
            *out.entry(format!("fp: {}", name(&f.cause))).or_insert(0) += 1;
        }
    }
    for m in judged.misses.iter().filter(|m| m.rule == rule) {
        if !reported.contains(&(m.file.clone(), m.line, m.rule.clone())) {
            *out.entry(format!("miss: {}", name(&m.cause))).or_insert(0) += 1;
        }
    }
    out
}

/// Reads the lint's JSON report: every diagnostic as a [`Found`].
pub fn parse_report(json: &str) -> Result<Vec<Found>> {
    let v: Value = serde_json::from_str(json).map_err(|e| format!("lint JSON: {e}"))?;
    let diags = v["diagnostics"]
        .as_array()
        .ok_or("lint JSON has no `diagnostics` array")?;
    diags
        .iter()
        .map(|d| {
            Ok(Found {
                file: d["path"].as_str().ok_or("diagnostic without path")?.into(),
                line: d["line"].as_u64().ok_or("diagnostic without line")? as u32,
                rule: d["rule"].as_str().ok_or("diagnostic without rule")?.into(),
                message: d["message"].as_str().unwrap_or("").into(),
            })
        })
        .collect()
}

/// A report path made relative to the unpacked crate. The lint's root is the nearest ancestor
/// workspace, which for a crate unpacked under `target/lintcheck/src/` is this repository, so
/// its paths read `target/lintcheck/src/<name>-<version>/src/lib.rs`: everything up to and
/// including the `<name>-<version>/` segment is dropped. A path without that segment (a lint
/// that reports relative to the crate) is kept as it is.
pub fn crate_relative<'a>(path: &'a str, stem: &str) -> &'a str {
    let seg = format!("{stem}/");
    if let Some(rest) = path.strip_prefix(&seg) {
        return rest;
    }
    match path.find(&format!("/{seg}")) {
        Some(i) => &path[i + 1 + seg.len()..],
        None => path,
    }
}

/// Lowercase hex sha256 of `bytes`.
pub fn sha256_hex(bytes: &[u8]) -> String {
    let digest = Sha256::digest(bytes);
    digest.iter().fold(String::with_capacity(64), |mut s, b| {
        let _ = write!(s, "{b:02x}");
        s
    })
}

/// Every pinned crate of `lintcheck/crates.toml` (also the source of the bench's listener case).
pub fn pins(root: &Path) -> Result<Vec<Pinned>> {
    let list_path = root.join("lintcheck").join("crates.toml");
    let list_text = fs::read_to_string(&list_path)
        .map_err(|e| format!("reading {}: {e}", list_path.display()))?;
    let list: CratesFile =
        toml::from_str(&list_text).map_err(|e| format!("{}: {e}", list_path.display()))?;
    Ok(list.crates)
}

/// The folder downloaded `.crate` files are kept in (shared by lintcheck and the bench).
pub fn crate_cache(root: &Path) -> PathBuf {
    root.join("target").join("lintcheck").join("crates")
}

/// The `.crate` file of `p`, from the cache or downloaded, with its checksum verified.
pub fn fetch(p: &Pinned, cache: &Path) -> Result<Vec<u8>> {
    let file = cache.join(format!("{}.crate", p.stem()));
    if let Ok(bytes) = fs::read(&file) {
        if sha256_hex(&bytes) == p.sha256 {
            return Ok(bytes);
        }
        eprintln!(
            "lintcheck: {} in the cache has the wrong checksum: downloading again",
            file.display()
        );
    }
    fs::create_dir_all(cache).map_err(|e| format!("creating {}: {e}", cache.display()))?;
    let url = format!(
        "https://static.crates.io/crates/{0}/{0}-{1}.crate",
        p.name, p.version
    );
    let part = cache.join(format!("{}.crate.part", p.stem()));
    eprintln!("lintcheck: downloading {url}");
    let status = Command::new("curl")
        .args(["--silent", "--show-error", "--fail", "--location"])
        .args(["--retry", "2", "--max-time", "300", "--output"])
        .arg(&part)
        .arg(&url)
        .stdin(Stdio::null())
        .status()
        .map_err(|e| {
            format!(
                "running curl (needed to download crates; install it or fill {} by hand): {e}",
                cache.display()
            )
        })?;
    if !status.success() {
        let _ = fs::remove_file(&part);
        return Err(format!("downloading {url} failed ({status})"));
    }
    let bytes = fs::read(&part).map_err(|e| format!("reading {}: {e}", part.display()))?;
    let got = sha256_hex(&bytes);
    if got != p.sha256 {
        let _ = fs::remove_file(&part);
        return Err(format!(
            "{url}: sha256 {got}, but lintcheck/crates.toml pins {}",
            p.sha256
        ));
    }
    fs::rename(&part, &file).map_err(|e| format!("moving {}: {e}", file.display()))?;
    Ok(bytes)
}

/// Unpacks the `.crate` (a gzipped tar whose entries are under `<name>-<version>/`) into
/// `<src>/<name>-<version>/`, unless a marker there says it already holds exactly this
/// checksum. The marker is written last, so a half-unpacked folder is unpacked again.
/// `fresh`: unpack even over a complete folder (a caller that edits the sources wants them as
/// the archive has them).
pub fn unpack(p: &Pinned, bytes: &[u8], src: &Path, fresh: bool) -> Result<PathBuf> {
    let dir = src.join(p.stem());
    let marker = dir.join(".lintcheck-unpacked");
    if !fresh && fs::read_to_string(&marker).is_ok_and(|m| m.trim() == p.sha256) {
        return Ok(dir);
    }
    if dir.exists() {
        fs::remove_dir_all(&dir).map_err(|e| format!("removing {}: {e}", dir.display()))?;
    }
    fs::create_dir_all(src).map_err(|e| format!("creating {}: {e}", src.display()))?;
    let mut archive = tar::Archive::new(flate2::read::GzDecoder::new(bytes));
    let prefix = PathBuf::from(p.stem());
    for entry in archive
        .entries()
        .map_err(|e| format!("{}: {e}", p.stem()))?
    {
        let mut entry = entry.map_err(|e| format!("{}: {e}", p.stem()))?;
        let path = entry
            .path()
            .map_err(|e| format!("{}: {e}", p.stem()))?
            .into_owned();
        if !path.starts_with(&prefix) {
            return Err(format!(
                "{}: entry {} is outside {}/",
                p.stem(),
                path.display(),
                prefix.display()
            ));
        }
        // `unpack_in` refuses `..` and absolute paths.
        entry
            .unpack_in(src)
            .map_err(|e| format!("{}: unpacking {}: {e}", p.stem(), path.display()))?;
    }
    fs::write(&marker, &p.sha256).map_err(|e| format!("writing {}: {e}", marker.display()))?;
    Ok(dir)
}

/// `[listener] entry-points` of a policy, for the table.
fn entry_points(policy: &str) -> Vec<String> {
    let v: toml::Value = match toml::from_str(policy) {
        Ok(v) => v,
        Err(_) => return Vec::new(),
    };
    v.get("listener")
        .and_then(|l| l.get("entry-points"))
        .and_then(|e| e.as_array())
        .map(|a| {
            a.iter()
                .filter_map(|s| s.as_str().map(str::to_string))
                .collect()
        })
        .unwrap_or_default()
}

/// What one crate came to.
struct CrateRun {
    pinned: Pinned,
    entry_points: Vec<String>,
    score: Score,
    /// The scores of the other [`JUDGED_RULES`].
    by_rule: BTreeMap<&'static str, Score>,
    other_rules: BTreeMap<String, usize>,
    /// "fp: cause" / "miss: cause" -> count, over the FPs still reported and the misses still
    /// missed (entries without a `cause` count as "unclassified").
    causes: BTreeMap<String, usize>,
}

fn run_one(p: &Pinned, root: &Path, bin: &Path, work: &Path) -> Result<(CrateRun, Vec<Change>)> {
    let dir = root.join("lintcheck").join(p.label());
    let policy_path = dir.join("channel-lint.toml");
    let policy = fs::read_to_string(&policy_path)
        .map_err(|e| format!("reading {}: {e}", policy_path.display()))?;
    let judged_path = dir.join("judged.toml");
    let judged = match fs::read_to_string(&judged_path) {
        Ok(text) => Judgement::parse(&text, &judged_path.display().to_string())?,
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => Judgement::default(),
        Err(e) => return Err(format!("reading {}: {e}", judged_path.display())),
    };

    let bytes = fetch(p, &crate_cache(root))?;
    let src = unpack(p, &bytes, &work.join("src"), false)?;
    check_locations(&judged, &src).map_err(|e| format!("{}: {e}", judged_path.display()))?;
    let copied = src.join("lintcheck-policy.toml");
    fs::write(&copied, &policy).map_err(|e| format!("writing {}: {e}", copied.display()))?;

    let out = Command::new(bin)
        .arg("channel-lint")
        .args(["--format", "json", "--no-cache", "--config"])
        .arg(&copied)
        .arg(&src)
        .current_dir(&src)
        .stdin(Stdio::null())
        .output()
        .map_err(|e| format!("running {}: {e}", bin.display()))?;
    let out_dir = work.join("out");
    fs::create_dir_all(&out_dir).map_err(|e| format!("creating {}: {e}", out_dir.display()))?;
    let _ = fs::write(out_dir.join(format!("{}.json", p.label())), &out.stdout);
    if !matches!(out.status.code(), Some(0 | 1)) {
        return Err(format!(
            "the lint failed on {} ({}): {}",
            p.stem(),
            out.status,
            crate::lint::excerpt(&String::from_utf8_lossy(&out.stderr))
        ));
    }
    let mut found = parse_report(&String::from_utf8_lossy(&out.stdout))
        .map_err(|e| format!("{}: {e}", p.stem()))?;
    for f in &mut found {
        f.file = crate_relative(&f.file, &p.stem()).to_string();
    }
    let mut other_rules = BTreeMap::new();
    for f in found
        .iter()
        .filter(|f| !JUDGED_RULES.contains(&f.rule.as_str()))
    {
        *other_rules.entry(f.rule.clone()).or_insert(0) += 1;
    }
    let (score, mut changes) = score(&found, &judged);
    let mut causes = causes(&found, &judged);
    let mut by_rule = BTreeMap::new();
    for &rule in &JUDGED_RULES[1..] {
        let (s, c) = score_rule(&found, &judged, rule);
        changes.extend(c);
        by_rule.insert(rule, s);
        for (cause, n) in causes_rule(&found, &judged, rule) {
            causes.insert(format!("{rule} {cause}"), n);
        }
    }
    Ok((
        CrateRun {
            pinned: p.clone(),
            entry_points: entry_points(&policy),
            score,
            by_rule,
            other_rules,
            causes,
        },
        changes,
    ))
}

fn show_key(k: &Key) -> String {
    format!("{}:{} {}", k.0, k.1, k.2)
}

/// The table: one row per crate, then the overall row.
fn table(runs: &[CrateRun], total: &Score, markdown: bool) -> String {
    let head: Vec<&str> = ["crate", "version", "entry points"]
        .into_iter()
        .chain(SCORE_HEAD)
        .collect();
    let mut rows: Vec<Vec<String>> = runs
        .iter()
        .map(|r| {
            let s = &r.score;
            let mut row = vec![
                r.pinned.label().to_string(),
                r.pinned.version.clone(),
                r.entry_points.len().to_string(),
            ];
            row.extend(s.cells());
            row
        })
        .collect();
    let entry_points: usize = runs.iter().map(|r| r.entry_points.len()).sum();
    let mut overall = vec!["overall".into(), String::new(), entry_points.to_string()];
    overall.extend(total.cells());
    rows.push(overall);
    render(&head, &rows, markdown)
}

/// A table as aligned columns, or as Markdown.
fn render(head: &[&str], rows: &[Vec<String>], markdown: bool) -> String {
    let mut out = String::new();
    if markdown {
        let _ = writeln!(out, "| {} |", head.join(" | "));
        let _ = writeln!(out, "|{}", "---|".repeat(head.len()));
        for r in rows {
            let _ = writeln!(out, "| {} |", r.join(" | "));
        }
        return out;
    }
    let widths: Vec<usize> = (0..head.len())
        .map(|i| {
            rows.iter()
                .map(|r| r[i].chars().count())
                .chain([head[i].len()])
                .max()
                .unwrap_or(0)
        })
        .collect();
    let line = |cells: Vec<&str>| {
        let mut l = String::new();
        for (i, c) in cells.iter().enumerate() {
            if i == 0 {
                let _ = write!(l, "{c:<w$}", w = widths[i]);
            } else {
                let _ = write!(l, "  {c:>w$}", w = widths[i]);
            }
        }
        l.trim_end().to_string()
    };
    let _ = writeln!(out, "{}", line(head.to_vec()));
    for r in rows {
        let _ = writeln!(out, "{}", line(r.iter().map(String::as_str).collect()));
    }
    out
}

/// The other judged rules over every crate: one row per rule.
fn rule_table(totals: &BTreeMap<&'static str, Score>, markdown: bool) -> String {
    let head: Vec<&str> = ["rule"].into_iter().chain(SCORE_HEAD).collect();
    let rows: Vec<Vec<String>> = totals
        .iter()
        .map(|(rule, s)| {
            let mut row = vec![rule.to_string()];
            row.extend(s.cells());
            row
        })
        .collect();
    render(&head, &rows, markdown)
}

pub fn run(args: &Args) -> Result<ExitCode> {
    let root = crate::bench::workspace_root();
    let crates = pins(&root)?;
    let selected: Vec<&Pinned> = match &args.krate {
        Some(want) => {
            let s: Vec<&Pinned> = crates
                .iter()
                .filter(|p| p.label() == want || p.name == *want)
                .collect();
            if s.is_empty() {
                let known: Vec<&str> = crates.iter().map(Pinned::label).collect();
                return Err(format!(
                    "--crate {want}: not in lintcheck/crates.toml (known: {})",
                    known.join(", ")
                ));
            }
            s
        }
        None => crates.iter().collect(),
    };
    let bin = match &args.lint_bin {
        Some(p) => std::path::absolute(p).map_err(|e| format!("{}: {e}", p.display()))?,
        None => crate::lint::build(&root)?,
    };
    let work = root.join("target").join("lintcheck");

    let mut runs = Vec::new();
    let mut total = Score::default();
    let mut rule_totals: BTreeMap<&'static str, Score> = BTreeMap::new();
    let mut dirty = false;
    for p in selected {
        let (r, changes) = run_one(p, &root, &bin, &work)?;
        let title = if r.pinned.label() == r.pinned.name {
            format!("{} {}", r.pinned.name, r.pinned.version)
        } else {
            format!(
                "{} ({} {})",
                r.pinned.label(),
                r.pinned.name,
                r.pinned.version
            )
        };
        println!("== {title} (entry points: {})", r.entry_points.join(", "));
        let s = &r.score;
        println!("   {RULE}: {}", s.line());
        for (rule, s) in &r.by_rule {
            if s.findings + s.misses + s.gone > 0 {
                println!("   {rule}: {}", s.line());
            }
            rule_totals.entry(*rule).or_default().add(s);
        }
        if !r.other_rules.is_empty() {
            let others: Vec<String> = r
                .other_rules
                .iter()
                .map(|(rule, n)| format!("{rule} {n}"))
                .collect();
            println!("   other rules (not judged): {}", others.join(", "));
        }
        if !r.causes.is_empty() {
            let causes: Vec<String> = r.causes.iter().map(|(c, n)| format!("{c} ({n})")).collect();
            println!("   causes: {}", causes.join(", "));
        }
        for c in &changes {
            match c {
                Change::New(f) => {
                    dirty = true;
                    println!(
                        "   NEW   {}:{} {} (unjudged): {}",
                        f.file, f.line, f.rule, f.message
                    );
                }
                Change::Gone { key, verdict } => {
                    dirty = true;
                    let v = if *verdict == Verdict::Tp {
                        "tp: now a miss"
                    } else {
                        "fp: fixed"
                    };
                    println!("   GONE  {} (judged {v})", show_key(key));
                }
                Change::Found(key) => {
                    dirty = true;
                    println!("   FOUND {} (a judged miss, now reported)", show_key(key));
                }
            }
        }
        total.add(&r.score);
        runs.push(r);
    }
    println!();
    print!("{}", table(&runs, &total, false));
    println!();
    print!("{}", rule_table(&rule_totals, false));
    if args.markdown {
        println!();
        print!("{}", table(&runs, &total, true));
        println!();
        print!("{}", rule_table(&rule_totals, true));
    }
    let unjudged = total.new + rule_totals.values().map(|s| s.new).sum::<usize>();
    if unjudged > 0 {
        println!(
            "\n{} unjudged finding(s): precision is over judged findings only; \
             judge them in lintcheck/<crate>/judged.toml",
            unjudged
        );
    }
    if args.check && dirty {
        eprintln!(
            "lintcheck: --check: the judgement files do not match this run (NEW/GONE/FOUND above)"
        );
        return Ok(ExitCode::from(1));
    }
    Ok(ExitCode::SUCCESS)
}

/// Reads all of a reader: used by the tests on the gzip layer.
#[cfg(test)]
fn read_all(mut r: impl std::io::Read) -> Vec<u8> {
    let mut v = Vec::new();
    r.read_to_end(&mut v).unwrap();
    v
}

#[cfg(test)]
mod tests {
    use super::*;

    fn found(file: &str, line: u32, rule: &str) -> Found {
        Found {
            file: file.into(),
            line,
            rule: rule.into(),
            message: String::new(),
        }
    }

    const JUDGED: &str = r#"
[[finding]]
file = "src/a.rs"
line = 10
verdict = "tp"
reason = "awaited inline in the loop"

[[finding]]
file = "src/a.rs"
line = 20
verdict = "fp"
reason = "pushed into FuturesUnordered"

[[finding]]
file = "src/b.rs"
line = 5
verdict = "tp"
reason = "inline"

[[miss]]
file = "src/c.rs"
line = 7
reason = "send_all on futures mpsc"

[[miss]]
file = "src/c.rs"
line = 9
reason = "generic V not substituted"
"#;

    #[test]
    fn parses_judgement_with_default_rule() {
        let j = Judgement::parse(JUDGED, "t").unwrap();
        assert_eq!(j.findings.len(), 3);
        assert_eq!(j.misses.len(), 2);
        assert_eq!(j.findings[0].rule, RULE);
        assert_eq!(j.findings[1].verdict, Verdict::Fp);
    }

    #[test]
    fn rejects_bad_judgements() {
        let twice = "[[finding]]\nfile='a'\nline=1\nverdict='tp'\nreason='x'\n\
                     [[miss]]\nfile='a'\nline=1\nreason='y'\n";
        assert!(Judgement::parse(twice, "t")
            .unwrap_err()
            .contains("judged twice"));
        let empty = "[[finding]]\nfile='a'\nline=1\nverdict='fp'\nreason=' '\n";
        assert!(Judgement::parse(empty, "t")
            .unwrap_err()
            .contains("empty reason"));
        let verdict = "[[finding]]\nfile='a'\nline=1\nverdict='maybe'\nreason='x'\n";
        assert!(Judgement::parse(verdict, "t").is_err());
        let unknown = "[[finding]]\nfile='a'\nline=1\nverdict='tp'\nreason='x'\ncolour='red'\n";
        assert!(Judgement::parse(unknown, "t").is_err());
    }

    #[test]
    fn scores_exact_match() {
        let j = Judgement::parse(JUDGED, "t").unwrap();
        let run = [
            found("src/a.rs", 10, RULE),
            found("src/a.rs", 20, RULE),
            found("src/b.rs", 5, RULE),
            // Another rule: not scored.
            found("src/a.rs", 10, "undocumented-unsafe"),
        ];
        let (s, changes) = score(&run, &j);
        assert_eq!(
            (s.findings, s.tp, s.fp, s.misses, s.new, s.gone),
            (3, 2, 1, 2, 0, 0)
        );
        assert!(changes.is_empty());
        assert_eq!(fmt_ratio(s.precision()), "0.67");
        assert_eq!(fmt_ratio(s.recall()), "0.50");
    }

    #[test]
    fn scores_a_changed_run() {
        let j = Judgement::parse(JUDGED, "t").unwrap();
        // The FP fixed, one TP lost, one miss found, one new unjudged finding; a duplicate
        // finding on the same line counts once.
        let run = [
            found("src/a.rs", 10, RULE),
            found("src/a.rs", 10, RULE),
            found("src/c.rs", 7, RULE),
            found("src/d.rs", 1, RULE),
        ];
        let (s, changes) = score(&run, &j);
        assert_eq!(s.findings, 3);
        assert_eq!(s.tp, 2, "a.rs:10 and the found miss c.rs:7");
        assert_eq!(s.fp, 0);
        assert_eq!(s.misses, 2, "the lost TP b.rs:5 and the miss c.rs:9");
        assert_eq!((s.new, s.gone), (1, 2));
        assert_eq!(s.precision(), Some(1.0));
        assert_eq!(s.recall(), Some(0.5));
        assert!(changes.contains(&Change::Found(("src/c.rs".into(), 7, RULE.into()))));
        assert!(changes.contains(&Change::Gone {
            key: ("src/b.rs".into(), 5, RULE.into()),
            verdict: Verdict::Tp
        }));
        assert!(matches!(&changes[..], [.., Change::Gone { .. }]));
        assert!(changes
            .iter()
            .any(|c| matches!(c, Change::New(f) if f.file == "src/d.rs")));
    }

    #[test]
    fn judged_locations_must_exist() {
        let tmp = std::env::temp_dir().join(format!("xtask-lintcheck-loc-{}", std::process::id()));
        fs::create_dir_all(tmp.join("src")).unwrap();
        fs::write(tmp.join("src/a.rs"), "a\nb\nc\n").unwrap();
        let j = |file: &str, line: u32| {
            Judgement::parse(
                &format!("[[miss]]\nfile = '{file}'\nline = {line}\nreason = 'r'\n"),
                "t",
            )
            .unwrap()
        };
        assert!(check_locations(&j("src/a.rs", 3), &tmp).is_ok());
        assert!(check_locations(&j("src/a.rs", 4), &tmp)
            .unwrap_err()
            .contains("has 3 lines"));
        assert!(check_locations(&j("src/b.rs", 1), &tmp)
            .unwrap_err()
            .contains("not a file"));
        let _ = fs::remove_dir_all(&tmp);
    }

    #[test]
    fn paths_relative_to_the_crate() {
        let stem = "demo-0.1.0";
        assert_eq!(
            crate_relative("target/lintcheck/src/demo-0.1.0/src/a.rs", stem),
            "src/a.rs"
        );
        assert_eq!(crate_relative("demo-0.1.0/src/a.rs", stem), "src/a.rs");
        assert_eq!(crate_relative("src/a.rs", stem), "src/a.rs");
        assert_eq!(
            crate_relative("x/ademo-0.1.0/src/a.rs", stem),
            "x/ademo-0.1.0/src/a.rs"
        );
    }

    #[test]
    fn counts_causes_of_what_is_left() {
        let mut j = Judgement::parse(JUDGED, "t").unwrap();
        j.findings[1].cause = Some("deferred future".into());
        let run = [
            found("src/a.rs", 10, RULE),
            found("src/a.rs", 20, RULE),
            found("src/c.rs", 7, RULE),
        ];
        let c = causes(&run, &j);
        assert_eq!(c.get("fp: deferred future"), Some(&1));
        assert_eq!(
            c.get("miss: unclassified"),
            Some(&1),
            "c.rs:9 only: c.rs:7 is found"
        );
        assert_eq!(c.len(), 2);
    }

    #[test]
    fn empty_denominators_are_undefined() {
        let s = Score::default();
        assert_eq!(s.precision(), None);
        assert_eq!(fmt_ratio(s.recall()), "n/a");
        let mut t = Score {
            tp: 1,
            ..Score::default()
        };
        t.add(&Score {
            fp: 1,
            misses: 3,
            ..Score::default()
        });
        assert_eq!(t.precision(), Some(0.5));
        assert_eq!(t.recall(), Some(0.25));
    }

    #[test]
    fn reads_the_lint_report() {
        let json = r#"{"version":1,"diagnostics":[{"rule":"listener-send-await","severity":"error",
            "path":"src/a.rs","line":3,"column":5,"end_line":3,"end_column":9,"message":"m","notes":[]}],
            "summary":{}}"#;
        assert_eq!(
            parse_report(json).unwrap(),
            vec![Found {
                message: "m".into(),
                ..found("src/a.rs", 3, RULE)
            }]
        );
        assert!(parse_report("{}").is_err());
    }

    #[test]
    fn sha256_and_unpack() {
        assert_eq!(
            sha256_hex(b"abc"),
            "ba7816bf8f01cfea414140de5dae2223b00361a396177a9cb410ff61f20015ad"
        );
        // A .crate made here: a gzipped tar with one file under `demo-0.1.0/`.
        let mut tar_bytes = Vec::new();
        {
            let mut b = tar::Builder::new(&mut tar_bytes);
            let data = b"fn main() {}\n";
            let mut h = tar::Header::new_gnu();
            h.set_size(data.len() as u64);
            h.set_mode(0o644);
            h.set_cksum();
            b.append_data(&mut h, "demo-0.1.0/src/main.rs", &data[..])
                .unwrap();
            b.finish().unwrap();
        }
        let mut gz = flate2::write::GzEncoder::new(Vec::new(), flate2::Compression::fast());
        std::io::Write::write_all(&mut gz, &tar_bytes).unwrap();
        let crate_bytes = gz.finish().unwrap();
        assert_eq!(
            read_all(flate2::read::GzDecoder::new(&crate_bytes[..])),
            tar_bytes
        );
        let p = Pinned {
            name: "demo".into(),
            version: "0.1.0".into(),
            sha256: sha256_hex(&crate_bytes),
            label: None,
            why: None,
        };
        let tmp = std::env::temp_dir().join(format!("xtask-lintcheck-{}", std::process::id()));
        let dir = unpack(&p, &crate_bytes, &tmp, false).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("src/main.rs")).unwrap(),
            "fn main() {}\n"
        );
        // The marker makes a second call a no-op.
        assert_eq!(unpack(&p, &crate_bytes, &tmp, false).unwrap(), dir);
        // `fresh` unpacks again: an edit is undone.
        fs::write(dir.join("src/main.rs"), "edited").unwrap();
        unpack(&p, &crate_bytes, &tmp, true).unwrap();
        assert_eq!(
            fs::read_to_string(dir.join("src/main.rs")).unwrap(),
            "fn main() {}\n"
        );
        let _ = fs::remove_dir_all(&tmp);
    }
}
