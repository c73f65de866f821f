//! Fixture (UI) tests: one libtest-mimic trial per `fixtures/<group>/<case>/`, named
//! `<group>/<case>`, so `cargo test -p cargo-channel-lint --test fixtures -- NAME` runs the cases
//! whose name contains NAME (`--exact` for one), in parallel like ordinary tests.
//!
//! A case's expected locations are marked in its sources (`//~ RULE` on the finding's line; a
//! location in a file that cannot hold a marker goes in an `expected-locations` sidecar), see
//! docs/fixtures.md. A trial copies the case to a temporary folder with every marker stripped
//! (each line keeps every byte before its marker, so no line or column moves), lints the copy
//! and checks, in order:
//! 1. the multiset of (file, line, rule) reported equals the one marked;
//! 2. a `pos-` case has a finding of its group's rule(s), a `neg-` case none, an `err-` case
//!    ends in a policy error (and only an `err-` case does);
//! 3. `expected.txt` (each finding's location line, message, notes and code frame) equals the
//!    output, and `expected.json`, where present, equals the JSON report byte for byte.
//!
//! `UPDATE_EXPECT=1` re-blesses 3. Invariant: blessing never writes a case whose check 1 or 2
//! fails, nor one whose column or severity of an already blessed finding changed, so a bless can
//! rewrite messages, notes and frames but never move, add or drop a location.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use channel_lint::{report, rules, Options, Outcome, RunError};
use libtest_mimic::{Arguments, Failed, Trial};

#[path = "support/markers.rs"]
mod markers;
use markers::{marker_start, split_eol};

/// Fewer cases than this means discovery broke (an empty run must not pass).
const MIN_CASES: usize = 100;

/// Files of a case folder that are expectations, not input to the lint.
const EXPECTED_TXT: &str = "expected.txt";
const EXPECTED_JSON: &str = "expected.json";
const EXPECTED_LOCATIONS: &str = "expected-locations";

/// The prefix of a code frame's lines in expected.txt (no message or note line starts with it).
const FRAME_GUTTER: &str = "  | ";

/// What `$DIR` stands for in the expected output: the (temporary) folder the case was linted in.
const DIR_PLACEHOLDER: &str = "$DIR";

struct Case {
    /// `<group>/<case>`: the trial's name.
    name: String,
    group: String,
    dir: PathBuf,
}

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .canonicalize()
        .expect("fixtures folder")
}

fn sorted_dirs(dir: &Path) -> Vec<PathBuf> {
    let mut out: Vec<PathBuf> = std::fs::read_dir(dir)
        .unwrap_or_else(|e| panic!("{}: {e}", dir.display()))
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    out.sort();
    out
}

fn discover() -> Vec<Case> {
    let mut cases = Vec::new();
    for group in sorted_dirs(&fixtures_root()) {
        let gname = file_name(&group);
        for dir in sorted_dirs(&group) {
            cases.push(Case {
                name: format!("{gname}/{}", file_name(&dir)),
                group: gname.clone(),
                dir,
            });
        }
    }
    cases
}

fn file_name(p: &Path) -> String {
    p.file_name().unwrap().to_string_lossy().into_owned()
}

fn main() {
    let args = Arguments::from_args();
    let cases = discover();
    // Checked whatever the filter: a run that found no corpus must never pass.
    if cases.len() < MIN_CASES {
        eprintln!(
            "expected the fixture corpus (>= {MIN_CASES} cases) under {}, found {}",
            fixtures_root().display(),
            cases.len()
        );
        std::process::exit(101);
    }
    let bless = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut trials: Vec<Trial> = cases
        .into_iter()
        .map(|case| {
            Trial::test(case.name.clone(), move || {
                check_case(&case, bless).map_err(Failed::from)
            })
        })
        .collect();
    trials.extend(self_checks());
    libtest_mimic::run(&args, trials).exit();
}

// ---------------------------------------------------------------------------------------------
// Markers

/// One expected finding: (path relative to the case, 1-based line, rule id). Ordered like the
/// lint's output (path, then line).
type Loc = (String, u32, String);

/// Strips the markers of a UTF-8 source and returns (stripped text, marked locations).
/// A marker runs from `//~` to the end of its line (a `\r` before the `\n` is kept):
/// `//~ rule-a rule-b` marks the marker's own line, `//~^ rule` the line above, `//~^^` two
/// above, and so on.
fn strip_markers(rel: &str, text: &str, known: &[&str]) -> Result<(String, Vec<Loc>), String> {
    let mut out = String::with_capacity(text.len());
    let mut locs = Vec::new();
    for (i, raw) in text.split_inclusive('\n').enumerate() {
        let lineno = i as u32 + 1;
        let (body, eol) = split_eol(raw);
        let Some((start, at)) = marker_start(body) else {
            out.push_str(raw);
            continue;
        };
        let spec = &body[at + 3..];
        let ups = spec.len() - spec.trim_start_matches('^').len();
        let ids = &spec[ups..];
        let at_line = lineno as i64 - ups as i64;
        let here = format!("{rel}:{lineno}: marker `{}`", &body[at..]);
        if at_line < 1 {
            return Err(format!("{here} points above the first line"));
        }
        if !ids.starts_with([' ', '\t']) || ids.trim().is_empty() {
            return Err(format!(
                "{here}: write `//~ RULE-ID` (a space, then one or more rule ids)"
            ));
        }
        for id in ids.split_whitespace() {
            if !known.contains(&id) {
                return Err(format!(
                    "{here}: `{id}` is not a rule id (known: {})",
                    known.join(", ")
                ));
            }
            locs.push((rel.to_string(), at_line as u32, id.to_string()));
        }
        out.push_str(&body[..start]);
        out.push_str(eol);
    }
    Ok((out, locs))
}

/// The `expected-locations` sidecar: `PATH:LINE RULE-ID...` per line (`#` comments), for
/// findings in files that cannot hold a `//~` marker (not UTF-8, not `.rs`).
fn sidecar_locations(
    case: &Path,
    markable: &BTreeMap<String, String>,
    known: &[&str],
) -> Result<Vec<Loc>, String> {
    let path = case.join(EXPECTED_LOCATIONS);
    let Ok(text) = std::fs::read_to_string(&path) else {
        return Ok(Vec::new());
    };
    let mut locs = Vec::new();
    for (i, line) in text.lines().enumerate() {
        let line = line.trim();
        if line.is_empty() || line.starts_with('#') {
            continue;
        }
        let here = format!("{EXPECTED_LOCATIONS}:{}: `{line}`", i + 1);
        let mut words = line.split_whitespace();
        let at = words.next().unwrap();
        let (file, lineno) = at
            .rsplit_once(':')
            .and_then(|(f, l)| Some((f, l.parse::<u32>().ok().filter(|&l| l > 0)?)))
            .ok_or_else(|| format!("{here}: write `PATH:LINE RULE-ID...`"))?;
        if !case.join(file).is_file() {
            return Err(format!("{here}: no file `{file}` in the case"));
        }
        if markable.contains_key(file) {
            return Err(format!(
                "{here}: `{file}` is UTF-8 Rust: mark the line with `//~` in the file instead"
            ));
        }
        let ids: Vec<&str> = words.collect();
        if ids.is_empty() {
            return Err(format!("{here}: no rule id"));
        }
        for id in ids {
            if !known.contains(&id) {
                return Err(format!("{here}: `{id}` is not a rule id"));
            }
            locs.push((file.to_string(), lineno, id.to_string()));
        }
    }
    Ok(locs)
}

/// The case's files relative to it, `/` separators, sorted; expectations left out.
fn input_files(case: &Path) -> Vec<String> {
    fn walk(root: &Path, dir: &Path, out: &mut Vec<String>) {
        for e in std::fs::read_dir(dir).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                walk(root, &p, out);
            } else {
                let rel = channel_lint::rel_path(root, &p);
                if ![EXPECTED_TXT, EXPECTED_JSON, EXPECTED_LOCATIONS].contains(&rel.as_str()) {
                    out.push(rel);
                }
            }
        }
    }
    let mut out = Vec::new();
    walk(case, case, &mut out);
    out.sort();
    out
}

/// A case copied with its markers stripped.
struct Prepared {
    _tmp: tempfile::TempDir,
    root: PathBuf,
    /// The stripped text of every UTF-8 `.rs` file, by relative path (what the frames show).
    texts: BTreeMap<String, String>,
    /// Marked locations, sorted.
    marked: Vec<Loc>,
}

fn prepare(case: &Path, known: &[&str]) -> Result<Prepared, String> {
    let tmp = tempfile::tempdir().map_err(|e| format!("temp dir: {e}"))?;
    let root = tmp.path().canonicalize().map_err(|e| e.to_string())?;
    let mut texts = BTreeMap::new();
    let mut marked = Vec::new();
    for rel in input_files(case) {
        let bytes = std::fs::read(case.join(&rel)).map_err(|e| format!("{rel}: {e}"))?;
        let dest = root.join(&rel);
        std::fs::create_dir_all(dest.parent().unwrap()).map_err(|e| e.to_string())?;
        let is_rs = rel.ends_with(".rs");
        let out = match (is_rs, String::from_utf8(bytes)) {
            (true, Ok(text)) => {
                let (stripped, locs) = strip_markers(&rel, &text, known)?;
                marked.extend(locs);
                texts.insert(rel.clone(), stripped.clone());
                stripped.into_bytes()
            }
            (true, Err(e)) if e.as_bytes().windows(3).any(|w| w == b"//~") => {
                return Err(format!(
                    "{rel} is not UTF-8, its `//~` markers are not read: \
                     list its locations in {EXPECTED_LOCATIONS}"
                ));
            }
            (_, Ok(text)) => text.into_bytes(),
            (_, Err(e)) => e.into_bytes(),
        };
        std::fs::write(&dest, out).map_err(|e| format!("{rel}: {e}"))?;
    }
    marked.extend(sidecar_locations(case, &texts, known)?);
    marked.sort();
    Ok(Prepared {
        _tmp: tmp,
        root,
        texts,
        marked,
    })
}

// ---------------------------------------------------------------------------------------------
// Running and rendering

fn run_lint(root: &Path) -> Result<Outcome, String> {
    let known = rules::ids();
    let cfg = root.join("channel-lint.toml");
    let policy = if cfg.is_file() {
        channel_lint_policy::load_file(&cfg, &known).map_err(|e| format!("policy-error: {e}"))?
    } else {
        channel_lint_policy::defaults(root)
    };
    let opts = Options {
        root: root.to_path_buf(),
        inputs: vec![],
        policy,
        jobs: Some(1),
        explain_path: None,
        list_functions: None,
    };
    channel_lint::run(&opts).map_err(|e| match e {
        RunError::Policy(e) => format!("policy-error: {e}"),
        RunError::Io(e) => format!("io-error: {e}"),
    })
}

/// A finding's location line in expected.txt.
fn location_line(path: &str, line: u32, column: u32, severity: &str, rule: &str) -> String {
    format!("{path}:{line}:{column}: {severity}[{rule}]")
}

/// Parses a location line back: (path, line, column, severity, rule).
fn parse_location_line(l: &str) -> Option<(String, u32, u32, String, String)> {
    let (head, tail) = l.rsplit_once(": ")?;
    let (severity, rule) = tail.strip_suffix(']')?.split_once('[')?;
    let mut parts = head.rsplitn(3, ':');
    let column = parts.next()?.parse().ok()?;
    let line = parts.next()?.parse().ok()?;
    let path = parts.next()?;
    Some((path.into(), line, column, severity.into(), rule.into()))
}

/// expected.txt: per finding its location line, message and notes (the lines blessed before the
/// frames existed, unchanged), then its code frame rendered against the stripped text, each line
/// behind [`FRAME_GUTTER`] (trailing whitespace and the frame's outer blank lines trimmed); then
/// skipped files. Blocks are separated by a blank line.
fn render_expected(outcome: &Outcome, texts: &BTreeMap<String, String>) -> String {
    let mut s = String::new();
    for d in &outcome.diagnostics {
        if !s.is_empty() {
            s.push('\n');
        }
        s.push_str(&location_line(
            &d.path,
            d.span.line,
            d.span.column,
            d.severity.as_str(),
            d.rule,
        ));
        s.push('\n');
        s.push_str(&format!("  = {}\n", d.message));
        for n in &d.notes {
            for (i, line) in n.lines().enumerate() {
                s.push_str(if i == 0 { "  note: " } else { "        " });
                s.push_str(line);
                s.push('\n');
            }
        }
        let frame = report::human::frame(d, texts.get(&d.path).map(String::as_str), false);
        let lines: Vec<&str> = frame.lines().map(str::trim_end).collect();
        let first = lines
            .iter()
            .position(|l| !l.is_empty())
            .unwrap_or(lines.len());
        let last = lines
            .iter()
            .rposition(|l| !l.is_empty())
            .map_or(first, |i| i + 1);
        for line in &lines[first..last] {
            s.push_str(FRAME_GUTTER.trim_end());
            if !line.is_empty() {
                s.push(' ');
                s.push_str(line);
            }
            s.push('\n');
        }
    }
    for (p, r) in &outcome.skipped {
        s.push_str(&format!("note: skipped {p}: {r}\n"));
    }
    s
}

/// The (file, line, rule) multiset of a run, sorted.
fn reported(outcome: &Outcome) -> Vec<Loc> {
    let mut v: Vec<Loc> = outcome
        .diagnostics
        .iter()
        .map(|d| (d.path.clone(), d.span.line, d.rule.to_string()))
        .collect();
    v.sort();
    v
}

/// `a - b` as multisets (both sorted).
fn multiset_minus<'a>(a: &'a [Loc], b: &[Loc]) -> Vec<&'a Loc> {
    let mut rest = b.to_vec();
    a.iter()
        .filter(|x| match rest.iter().position(|y| y == *x) {
            Some(i) => {
                rest.remove(i);
                false
            }
            None => true,
        })
        .collect()
}

fn marker_mismatch(marked: &[Loc], outcome: &Outcome) -> Option<String> {
    let got = reported(outcome);
    if got == marked {
        return None;
    }
    let mut s = String::from("the findings differ from the `//~` markers\n");
    for (p, l, r) in multiset_minus(marked, &got) {
        s.push_str(&format!("  marked, not reported:  {p}:{l} {r}\n"));
    }
    for (p, l, r) in multiset_minus(&got, marked) {
        let d = outcome
            .diagnostics
            .iter()
            .find(|d| &d.path == p && d.span.line == *l && d.rule == r)
            .unwrap();
        s.push_str(&format!(
            "  reported, not marked:  {}\n      = {}\n",
            location_line(p, *l, d.span.column, d.severity.as_str(), r),
            d.message
        ));
    }
    Some(s)
}

/// The rule ids a group's `pos-`/`neg-` prefix is about.
fn group_rules(group: &str) -> Vec<&'static str> {
    match group {
        "suppression" => vec!["suppression-without-reason", "unused-suppression"],
        other => rules::ALL
            .iter()
            .filter(|r| r.id == other)
            .map(|r| r.id)
            .collect(),
    }
}

/// Bless guard: a finding already in expected.txt, found again at the same (file, line, rule),
/// must keep its column and severity. Returns what changed.
fn moved_columns(old: &str, new: &str) -> Vec<String> {
    type Key = (String, u32, String);
    let by_key = |text: &str| {
        let mut m: BTreeMap<Key, Vec<(u32, String)>> = BTreeMap::new();
        for (p, l, c, sev, r) in text.lines().filter_map(parse_location_line) {
            m.entry((p, l, r)).or_default().push((c, sev));
        }
        m
    };
    let (old, new) = (by_key(old), by_key(new));
    let mut out = Vec::new();
    for (k, was) in &old {
        if let Some(now) = new.get(k) {
            if was.len() == now.len() && was != now {
                out.push(format!(
                    "{}:{} {}: (column, severity) was {was:?}, now {now:?}",
                    k.0, k.1, k.2
                ));
            }
        }
    }
    out
}

/// A line diff (LCS) of two texts with three lines of context, for failure messages.
fn diff(want: &str, got: &str) -> String {
    let a: Vec<&str> = want.lines().collect();
    let b: Vec<&str> = got.lines().collect();
    let (n, m) = (a.len(), b.len());
    let mut lcs = vec![vec![0u32; m + 1]; n + 1];
    for i in (0..n).rev() {
        for j in (0..m).rev() {
            lcs[i][j] = if a[i] == b[j] {
                lcs[i + 1][j + 1] + 1
            } else {
                lcs[i + 1][j].max(lcs[i][j + 1])
            };
        }
    }
    let mut ops: Vec<(char, &str)> = Vec::new();
    let (mut i, mut j) = (0, 0);
    while i < n || j < m {
        if i < n && j < m && a[i] == b[j] {
            ops.push((' ', a[i]));
            i += 1;
            j += 1;
        } else if i < n && (j == m || lcs[i + 1][j] >= lcs[i][j + 1]) {
            ops.push(('-', a[i]));
            i += 1;
        } else {
            ops.push(('+', b[j]));
            j += 1;
        }
    }
    let near = |k: usize| {
        ops[k.saturating_sub(3)..(k + 4).min(ops.len())]
            .iter()
            .any(|(c, _)| *c != ' ')
    };
    let mut out = String::from("--- expected.txt\n+++ actual\n");
    let mut skipped = false;
    for (k, (c, line)) in ops.iter().enumerate() {
        if near(k) {
            if skipped {
                out.push_str("  ...\n");
                skipped = false;
            }
            out.push_str(&format!("{c} {line}\n"));
        } else {
            skipped = true;
        }
    }
    out
}

// ---------------------------------------------------------------------------------------------
// One case

fn check_case(case: &Case, bless: bool) -> Result<(), String> {
    let known = rules::ids();
    let prep = prepare(&case.dir, &known)?;
    let cname = file_name(&case.dir);
    let kind = ["pos-", "neg-", "err-"]
        .into_iter()
        .find(|p| cname.starts_with(p))
        .ok_or_else(|| format!("a case name starts with `pos-`, `neg-` or `err-`: {cname}"))?;
    let normalize = |s: String| s.replace(&*prep.root.to_string_lossy(), DIR_PLACEHOLDER);
    let expected_path = case.dir.join(EXPECTED_TXT);
    let expected = std::fs::read_to_string(&expected_path).ok();

    let (actual, json) = match run_lint(&prep.root) {
        Err(e) if e.starts_with("policy-error") => {
            if kind != "err-" {
                return Err(format!("the run failed: {}", normalize(e)));
            }
            if !prep.marked.is_empty() {
                return Err(format!(
                    "an `err-` case ends in a policy error: it can have no `//~` marker \
                     ({} found)",
                    prep.marked.len()
                ));
            }
            (normalize(e) + "\n", None)
        }
        Err(e) => return Err(format!("the run failed: {}", normalize(e))),
        Ok(outcome) => {
            if kind == "err-" {
                return Err("an `err-` case must end in a policy error; the run succeeded".into());
            }
            if let Some(m) = marker_mismatch(&prep.marked, &outcome) {
                return Err(m + if bless { "(nothing blessed)\n" } else { "" });
            }
            let grules = group_rules(&case.group);
            let of_group = outcome
                .diagnostics
                .iter()
                .filter(|d| grules.contains(&d.rule))
                .count();
            if kind == "pos-" && of_group == 0 {
                return Err(format!(
                    "a pos- case must produce a `{}` finding",
                    grules.join("`/`")
                ));
            }
            if kind == "neg-" && of_group > 0 {
                return Err(format!(
                    "a neg- case must not produce a `{}` finding",
                    grules.join("`/`")
                ));
            }
            let json = case
                .dir
                .join(EXPECTED_JSON)
                .is_file()
                .then(|| normalize(report::json::render(&outcome)));
            (normalize(render_expected(&outcome, &prep.texts)), json)
        }
    };

    let mut failures = Vec::new();
    let txt_differs = expected.as_deref() != Some(actual.as_str());
    let json_path = case.dir.join(EXPECTED_JSON);
    let want_json = json
        .as_ref()
        .map(|_| std::fs::read_to_string(&json_path).unwrap());
    let json_differs = json.is_some() && json != want_json;
    if bless {
        if let Some(old) = &expected {
            let moved = moved_columns(old, &actual);
            if !moved.is_empty() {
                return Err(format!(
                    "bless refused (nothing written): a blessed finding would move; if that is \
                     intended, edit its location line in {EXPECTED_TXT} by hand first\n  {}",
                    moved.join("\n  ")
                ));
            }
        }
        if txt_differs {
            std::fs::write(&expected_path, &actual).map_err(|e| e.to_string())?;
        }
        if json_differs {
            std::fs::write(&json_path, json.as_ref().unwrap()).map_err(|e| e.to_string())?;
        }
        return Ok(());
    }
    if txt_differs {
        match &expected {
            None => failures.push(format!(
                "no {EXPECTED_TXT}: bless it with UPDATE_EXPECT=1\n{actual}"
            )),
            Some(want) => failures.push(format!(
                "{EXPECTED_TXT} differs from the output (UPDATE_EXPECT=1 re-blesses it)\n{}",
                diff(want, &actual)
            )),
        }
    }
    if json_differs {
        failures.push(format!(
            "{EXPECTED_JSON} differs\n--- expected\n{}--- actual\n{}",
            want_json.unwrap(),
            json.unwrap()
        ));
    }
    if failures.is_empty() {
        Ok(())
    } else {
        Err(failures.join("\n"))
    }
}

// ---------------------------------------------------------------------------------------------
// Self-checks of the harness (trials named `harness/...`): the checks above must be able to fail.

fn self_checks() -> Vec<Trial> {
    vec![
        Trial::test("harness/strip-markers", || {
            strip_markers_check().map_err(Failed::from)
        }),
        Trial::test("harness/bad-markers-are-errors", || {
            bad_markers_check().map_err(Failed::from)
        }),
        Trial::test("harness/bless-guard-sees-moved-columns", || {
            moved_columns_check().map_err(Failed::from)
        }),
        Trial::test(
            "harness/wrong-marker-fails-and-bless-writes-nothing",
            || synthetic_case_check().map_err(Failed::from),
        ),
    ]
}

fn ensure(ok: bool, what: impl FnOnce() -> String) -> Result<(), String> {
    if ok {
        Ok(())
    } else {
        Err(what())
    }
}

fn strip_markers_check() -> Result<(), String> {
    let known = rules::ids();
    let text = "let a = 1; //~ banned-type\n\tb(); \t//~^ parse-error banned-type\r\nc //~ parse-error\n//~^^ unused-suppression";
    let (stripped, locs) = strip_markers("src/x.rs", text, &known)?;
    ensure(stripped == "let a = 1;\n\tb();\r\nc\n", || {
        format!("stripped: {stripped:?}")
    })?;
    // The other tests' stripping (support/markers.rs) gives the same text.
    let plain = markers::strip(text);
    ensure(plain == stripped, || format!("markers::strip: {plain:?}"))?;
    let l = |line, rule: &str| ("src/x.rs".to_string(), line, rule.to_string());
    let want = vec![
        l(1, "banned-type"),
        l(1, "parse-error"),
        l(1, "banned-type"),
        l(3, "parse-error"),
        l(2, "unused-suppression"),
    ];
    ensure(locs == want, || format!("locations: {locs:?}"))
}

fn bad_markers_check() -> Result<(), String> {
    let known = rules::ids();
    for bad in [
        "x //~banned-type\n",
        "x //~\n",
        "x //~^ \n",
        "x //~ banned_type\n",
        "x //~ ERROR banned-type\n",
        "x //~^ banned-type\n",
    ] {
        ensure(strip_markers("src/x.rs", bad, &known).is_err(), || {
            format!("{bad:?} was accepted")
        })?;
    }
    Ok(())
}

fn moved_columns_check() -> Result<(), String> {
    let old =
        "src/a.rs:3:5: error[banned-type]\n  = m\nsrc/a.rs:7:1: warning[unused-suppression]\n";
    let same = "src/a.rs:3:5: error[banned-type]\n  = other message\n  | frame\nsrc/a.rs:7:1: warning[unused-suppression]\n";
    ensure(moved_columns(old, same).is_empty(), || {
        "a message change was seen as a move".into()
    })?;
    let added = "src/a.rs:3:5: error[banned-type]\nsrc/a.rs:4:2: error[banned-type]\n";
    ensure(moved_columns(old, added).is_empty(), || {
        "a new or dropped key was seen as a move".into()
    })?;
    for moved in [
        "src/a.rs:3:6: error[banned-type]\nsrc/a.rs:7:1: warning[unused-suppression]\n",
        "src/a.rs:3:5: error[banned-type]\nsrc/a.rs:7:1: error[unused-suppression]\n",
    ] {
        ensure(!moved_columns(old, moved).is_empty(), || {
            format!("not seen as a move: {moved:?}")
        })?;
    }
    Ok(())
}

/// A throwaway case linted end to end: bless fills a new expected.txt; a marker on the wrong
/// line, of the wrong rule or missing fails, and bless then writes nothing; a hand-moved column
/// fails and bless refuses it; a changed message fails and bless restores it.
fn synthetic_case_check() -> Result<(), String> {
    let tmp = tempfile::tempdir().map_err(|e| e.to_string())?;
    let dir = tmp.path().join("undocumented-unsafe/pos-synthetic");
    std::fs::create_dir_all(dir.join("src")).map_err(|e| e.to_string())?;
    let case = Case {
        name: "undocumented-unsafe/pos-synthetic".into(),
        group: "undocumented-unsafe".into(),
        dir: dir.clone(),
    };
    let src = dir.join("src/lib.rs");
    let exp = dir.join(EXPECTED_TXT);
    let write = |text: &str| std::fs::write(&src, text).map_err(|e| e.to_string());
    let read_exp = || std::fs::read_to_string(&exp).unwrap_or_default();
    let good = "pub fn f(p: *const u8) -> u8 {\n    unsafe { *p } //~ undocumented-unsafe\n}\n";
    write(good)?;
    let e = check_case(&case, false).err().unwrap_or_default();
    ensure(e.contains("no expected.txt"), || {
        format!("no expected.txt: {e}")
    })?;
    check_case(&case, true)?;
    let blessed = read_exp();
    ensure(
        blessed.starts_with("src/lib.rs:2:5: error[undocumented-unsafe]\n")
            && blessed.contains("  |  2 │     unsafe { *p }\n")
            && !blessed.contains("//~"),
        || format!("blessed:\n{blessed}"),
    )?;
    check_case(&case, false)?;
    for wrong in [
        "pub fn f(p: *const u8) -> u8 { //~ undocumented-unsafe\n    unsafe { *p }\n}\n",
        "pub fn f(p: *const u8) -> u8 {\n    unsafe { *p } //~ banned-type\n}\n",
        "pub fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n",
        "pub fn f(p: *const u8) -> u8 {\n    unsafe { *p } //~ undocumented-unsafe undocumented-unsafe\n}\n",
    ] {
        write(wrong)?;
        std::fs::write(&exp, "").map_err(|e| e.to_string())?;
        for bless in [false, true] {
            let e = check_case(&case, bless).err().unwrap_or_default();
            ensure(e.contains("differ from the `//~` markers"), || {
                format!("{wrong:?} (bless {bless}): {e}")
            })?;
            ensure(read_exp().is_empty(), || {
                format!("{wrong:?}: bless wrote expected.txt")
            })?;
        }
    }
    write(good)?;
    let moved = blessed.replacen("src/lib.rs:2:5:", "src/lib.rs:2:6:", 1);
    std::fs::write(&exp, &moved).map_err(|e| e.to_string())?;
    let e = check_case(&case, false).err().unwrap_or_default();
    ensure(e.contains("expected.txt differs"), || {
        format!("moved column: {e}")
    })?;
    let e = check_case(&case, true).err().unwrap_or_default();
    ensure(e.contains("bless refused") && read_exp() == moved, || {
        format!("moved column, bless: {e}")
    })?;
    let reworded = blessed.replacen("  = `unsafe` block", "  = an `unsafe` block", 1);
    ensure(reworded != blessed, || "message line not found".into())?;
    std::fs::write(&exp, &reworded).map_err(|e| e.to_string())?;
    ensure(check_case(&case, false).is_err(), || {
        "a changed message passed".into()
    })?;
    check_case(&case, true)?;
    ensure(read_exp() == blessed, || {
        "bless did not restore the message".into()
    })
}
