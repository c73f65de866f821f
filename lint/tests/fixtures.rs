//! UI tests: every `fixtures/<group>/<case>/` is linted and its output compared with the
//! `expected.txt` beside it (and `expected.json`, byte for byte, where present).
//! `UPDATE_EXPECT=1 cargo test -p cargo-channel-lint --test fixtures` re-blesses them.
//! See `docs/fixtures.md`.

use std::path::{Path, PathBuf};

use channel_lint::{rules, Options, Outcome, RunError};

fn fixtures_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("../fixtures")
        .canonicalize()
        .expect("fixtures folder")
}

/// The text format of expected.txt.
pub fn render_expected(outcome: &Outcome) -> String {
    let mut s = String::new();
    for d in &outcome.diagnostics {
        s.push_str(&format!(
            "{}:{}:{}: {}[{}]\n",
            d.path,
            d.span.line,
            d.span.column,
            d.severity.as_str(),
            d.rule
        ));
        s.push_str(&format!("  = {}\n", d.message));
        for n in &d.notes {
            for (i, line) in n.lines().enumerate() {
                s.push_str(if i == 0 { "  note: " } else { "        " });
                s.push_str(line);
                s.push('\n');
            }
        }
    }
    s
}

fn location_lines(s: &str) -> Vec<&str> {
    s.lines()
        .filter(|l| !l.starts_with(' ') && !l.is_empty())
        .collect()
}

fn run_case(case: &Path) -> Result<Outcome, String> {
    let known = rules::ids();
    let cfg = case.join("channel-lint.toml");
    let policy = if cfg.is_file() {
        channel_lint_policy::load_file(&cfg, &known).map_err(|e| format!("policy-error: {e}"))?
    } else {
        channel_lint_policy::defaults(case)
    };
    let opts = Options {
        root: case.to_path_buf(),
        inputs: vec![],
        policy,
        jobs: Some(1),
        explain_path: None,
    };
    channel_lint::run(&opts).map_err(|e| match e {
        RunError::Policy(e) => format!("policy-error: {e}"),
        RunError::Io(e) => format!("io-error: {e}"),
    })
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

#[test]
fn fixtures() {
    let root = fixtures_root();
    let bless = std::env::var_os("UPDATE_EXPECT").is_some();
    let mut failures = Vec::new();
    let mut count = 0;
    let mut groups: Vec<PathBuf> = std::fs::read_dir(&root)
        .unwrap()
        .map(|e| e.unwrap().path())
        .filter(|p| p.is_dir())
        .collect();
    groups.sort();
    for group in groups {
        let gname = group.file_name().unwrap().to_string_lossy().into_owned();
        let grules = group_rules(&gname);
        let mut cases: Vec<PathBuf> = std::fs::read_dir(&group)
            .unwrap()
            .map(|e| e.unwrap().path())
            .filter(|p| p.is_dir())
            .collect();
        cases.sort();
        for case in cases {
            count += 1;
            let name = format!("{}/{}", gname, case.file_name().unwrap().to_string_lossy());
            let expected_path = case.join("expected.txt");
            let expected = std::fs::read_to_string(&expected_path).unwrap_or_default();
            let cname = case.file_name().unwrap().to_string_lossy().into_owned();
            let outcome = match run_case(&case) {
                Ok(o) => o,
                Err(e) => {
                    if !(expected.trim() == "policy-error" && e.starts_with("policy-error")) {
                        failures.push(format!("{name}: run failed: {e}"));
                    }
                    continue;
                }
            };
            if expected.trim() == "policy-error" {
                failures.push(format!(
                    "{name}: expected a policy error, the run succeeded"
                ));
                continue;
            }
            let actual = render_expected(&outcome);
            let of_group = outcome
                .diagnostics
                .iter()
                .filter(|d| grules.contains(&d.rule))
                .count();
            if cname.starts_with("pos-") && of_group == 0 {
                failures.push(format!(
                    "{name}: a pos- case must produce a `{}` finding",
                    grules.join("`/`")
                ));
            }
            if cname.starts_with("neg-") && of_group > 0 {
                failures.push(format!(
                    "{name}: a neg- case must not produce a `{gname}` finding"
                ));
            }
            if actual != expected {
                if bless {
                    let (old, new) = (location_lines(&expected), location_lines(&actual));
                    if !old.is_empty() && old != new {
                        eprintln!(
                            "BLESS CHANGED LOCATIONS {name}:\n  was: {old:?}\n  now: {new:?}"
                        );
                    }
                    std::fs::write(&expected_path, &actual).unwrap();
                } else {
                    failures.push(format!(
                        "{name}: output differs\n--- expected\n{expected}--- actual\n{actual}"
                    ));
                }
            }
            let json_path = case.join("expected.json");
            if json_path.is_file() {
                let json = channel_lint::report::json::render(&outcome);
                let want = std::fs::read_to_string(&json_path).unwrap();
                if json != want {
                    if bless {
                        std::fs::write(&json_path, &json).unwrap();
                    } else {
                        failures.push(format!(
                            "{name}: JSON differs\n--- expected\n{want}--- actual\n{json}"
                        ));
                    }
                }
            }
        }
    }
    assert!(
        count >= 100,
        "expected the fixture corpus, found {count} cases"
    );
    if !failures.is_empty() {
        panic!(
            "{} of {count} fixture cases failed:\n\n{}",
            failures.len(),
            failures.join("\n\n")
        );
    }
}
