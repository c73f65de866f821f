//! End-to-end tests of the integration features, through the real binary on throw-away crates:
//! `--format sarif|github`, `$GITHUB_STEP_SUMMARY`, `--statistics`, `--report-only`,
//! `--write-baseline`/`--baseline`, and `init`. (The exact output of each format is checked by
//! the unit tests in `src/report/`; here we check what the pieces do together.)

use std::path::{Path, PathBuf};
use std::process::{Command, Output};

use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_cargo-channel-lint");

fn write(root: &Path, rel: &str, text: &str) {
    let p = root.join(rel);
    std::fs::create_dir_all(p.parent().unwrap()).unwrap();
    std::fs::write(p, text).unwrap();
}

/// A crate whose listener loop reaches `tx.send(..).await` through two helper files.
fn listener_crate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let r = dir.path();
    write(
        r,
        "Cargo.toml",
        "[package]\nname = \"demo-node\"\nversion = \"0.1.0\"\nedition = \"2021\"\n",
    );
    write(
        r,
        "channel-lint.toml",
        "[listener]\nentry-points = [\"Listener::listen\"]\n",
    );
    write(
        r,
        "src/lib.rs",
        "pub mod deep;\npub mod helper;\npub mod listener;\n",
    );
    write(
        r,
        "src/listener.rs",
        "use tokio::net::UdpSocket;
use tokio::sync::mpsc::Sender;

pub struct Listener {
    sock: UdpSocket,
    tx: Sender<u8>,
}

impl Listener {
    pub async fn listen(&self) {
        let mut buf = [0u8; 64];
        loop {
            let (_n, _from) = self.sock.recv_from(&mut buf).await.unwrap();
            crate::helper::route(&self.tx, buf[0]).await;
        }
    }
}
",
    );
    write(
        r,
        "src/helper.rs",
        "use tokio::sync::mpsc::Sender;

pub async fn route(tx: &Sender<u8>, byte: u8) {
    crate::deep::forward(tx, byte).await;
}
",
    );
    write(
        r,
        "src/deep.rs",
        "use tokio::sync::mpsc::Sender;

pub async fn forward(tx: &Sender<u8>, byte: u8) {
    let _ = tx.send(byte).await;
}
",
    );
    dir
}

fn run(dir: &Path, args: &[&str]) -> Output {
    run_env(dir, args, &[])
}

fn run_env(dir: &Path, args: &[&str], env: &[(&str, &Path)]) -> Output {
    let mut c = Command::new(BIN);
    c.arg("channel-lint").args(args).current_dir(dir);
    for k in [
        "GITHUB_STEP_SUMMARY",
        "GITHUB_SERVER_URL",
        "GITHUB_REPOSITORY",
        "GITHUB_SHA",
    ] {
        c.env_remove(k);
    }
    for (k, v) in env {
        c.env(k, v);
    }
    c.output().unwrap()
}

fn stdout(o: &Output) -> String {
    String::from_utf8(o.stdout.clone()).unwrap()
}

fn stderr(o: &Output) -> String {
    String::from_utf8(o.stderr.clone()).unwrap()
}

#[test]
fn sarif_has_rules_results_and_call_chain() {
    let dir = listener_crate();
    let o = run(dir.path(), &["--format", "sarif"]);
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let log: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(log["version"], "2.1.0");
    let run0 = &log["runs"][0];
    let driver = &run0["tool"]["driver"];
    assert_eq!(driver["name"], "channel-lint");
    assert_eq!(
        driver["rules"].as_array().unwrap().len(),
        channel_lint::rules::ALL.len()
    );
    let results = run0["results"].as_array().unwrap();
    assert_eq!(results.len(), 1);
    let r = &results[0];
    assert_eq!(r["ruleId"], "listener-send-await");
    assert_eq!(
        driver["rules"][r["ruleIndex"].as_u64().unwrap() as usize]["id"],
        r["ruleId"]
    );
    assert_eq!(r["level"], "error");
    let loc = &r["locations"][0]["physicalLocation"];
    assert_eq!(loc["artifactLocation"]["uri"], "src/deep.rs");
    assert_eq!(loc["artifactLocation"]["uriBaseId"], "%SRCROOT%");
    assert_eq!(
        loc["region"],
        serde_json::json!({"startLine": 4, "startColumn": 16, "endLine": 4, "endColumn": 20,
                           "snippet": {"text": "send"}})
    );
    // The chain: listen → route (listener.rs), route → forward (helper.rs), then the send.
    let steps = r["codeFlows"][0]["threadFlows"][0]["locations"]
        .as_array()
        .unwrap();
    let uris: Vec<&str> = steps
        .iter()
        .map(|s| {
            s["location"]["physicalLocation"]["artifactLocation"]["uri"]
                .as_str()
                .unwrap()
        })
        .collect();
    assert_eq!(uris, ["src/listener.rs", "src/helper.rs", "src/deep.rs"]);
    assert_eq!(
        steps[2]["location"]["physicalLocation"]["region"]["startLine"],
        4
    );
    assert_eq!(r["relatedLocations"].as_array().unwrap().len(), 2);
    let fp = r["partialFingerprints"]["channelLint/v1"].as_str().unwrap();

    // The fingerprint survives a line shift.
    let deep = std::fs::read_to_string(dir.path().join("src/deep.rs")).unwrap();
    write(dir.path(), "src/deep.rs", &format!("// moved\n\n{deep}"));
    let o = run(dir.path(), &["--format", "sarif"]);
    let log: Value = serde_json::from_str(&stdout(&o)).unwrap();
    let r = &log["runs"][0]["results"][0];
    assert_eq!(
        r["locations"][0]["physicalLocation"]["region"]["startLine"],
        6
    );
    assert_eq!(r["partialFingerprints"]["channelLint/v1"], fp);
}

#[test]
fn github_annotations_and_step_summary() {
    let dir = listener_crate();
    let summary = dir.path().join("summary.md");
    std::fs::write(&summary, "previous step\n").unwrap();
    let o = run_env(
        dir.path(),
        &["--format", "github", "--statistics"],
        &[("GITHUB_STEP_SUMMARY", &summary)],
    );
    assert_eq!(o.status.code(), Some(1));
    let out = stdout(&o);
    let first = out.lines().next().unwrap();
    assert!(
        first.starts_with(
            "::error file=src/deep.rs,line=4,col=16,endLine=4,endColumn=20,title=listener-send-await::`.send(..).await`"
        ),
        "{first}"
    );
    assert!(first.contains("%0A"), "notes follow on escaped new lines");
    assert_eq!(out.lines().count(), 4, "{out}");
    assert!(out.contains("\nchannel-lint: 1 error, 0 warnings in 4 files\n"));
    assert!(out.ends_with("statistics:\n      1  error    listener-send-await\n"));
    let md = std::fs::read_to_string(&summary).unwrap();
    assert!(
        md.starts_with("previous step\n### channel-lint\n"),
        "appended: {md}"
    );
    assert!(md.contains("| error | `listener-send-await` | `src/deep.rs:4:16` | `.send(..).await`"));
}

#[test]
fn statistics_go_to_stderr_for_machine_formats() {
    let dir = listener_crate();
    let o = run(dir.path(), &["--format", "json", "--statistics"]);
    let _: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(stderr(&o).contains("      1  error    listener-send-await"));
}

#[test]
fn report_only_analyses_the_whole_workspace() {
    let dir = listener_crate();
    // Linting the helper alone cannot see the entry point.
    let o = run(dir.path(), &["src/deep.rs"]);
    assert_eq!(o.status.code(), Some(2));
    // With --report-only the call graph still runs through listener.rs and helper.rs.
    let o = run(
        dir.path(),
        &["--report-only", "--format", "json", "src/deep.rs"],
    );
    assert_eq!(o.status.code(), Some(1), "{}", stderr(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["diagnostics"][0]["path"], "src/deep.rs");
    assert_eq!(j["summary"]["files"], 4);
    // Findings outside the given paths are not reported.
    let o = run(
        dir.path(),
        &["--report-only", "src/listener.rs", "src/helper.rs"],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    // A folder covers the files below it; run from a sub-folder, paths are relative to it.
    let o = run(&dir.path().join("src"), &["--report-only", "."]);
    assert_eq!(o.status.code(), Some(1));
}

/// A crate with two undocumented `unsafe` blocks.
fn unsafe_crate() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    write(
        dir.path(),
        "Cargo.toml",
        "[package]\nname = \"legacy\"\nversion = \"0.1.0\"\n",
    );
    write(
        dir.path(),
        "src/lib.rs",
        "pub fn a(p: *const u8) -> u8 {
    unsafe { *p }
}

pub fn b(p: *const u8) -> u8 {
    unsafe { *p.add(1) }
}
",
    );
    dir
}

#[test]
fn baseline_shift_new_and_stale() {
    let dir = unsafe_crate();
    let root = dir.path();
    let o = run(root, &["--write-baseline", "channel-lint-baseline.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    assert!(stderr(&o).contains("wrote 2 findings"));
    let b: Value = serde_json::from_str(
        &std::fs::read_to_string(root.join("channel-lint-baseline.json")).unwrap(),
    )
    .unwrap();
    assert_eq!(b["version"], 1);
    assert_eq!(b["findings"].as_array().unwrap().len(), 2);
    assert_eq!(b["findings"][0]["rule"], "undocumented-unsafe");
    assert_eq!(b["findings"][0]["path"], "src/lib.rs");

    // Lines shift: still matched, nothing reported, exit 0.
    let text = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    write(root, "src/lib.rs", &format!("//! Legacy.\n\n\n{text}"));
    let o = run(root, &["--baseline", "channel-lint-baseline.json"]);
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    assert!(stdout(&o).contains("channel-lint: 0 errors, 0 warnings in 1 file"));
    assert!(stderr(&o).contains("2 known findings not reported"));

    // A new finding is reported (and decides the exit code).
    let text = std::fs::read_to_string(root.join("src/lib.rs")).unwrap();
    write(
        root,
        "src/lib.rs",
        &format!("{text}\npub fn c(p: *const u8) -> u8 {{\n    unsafe {{ *p.add(2) }}\n}}\n"),
    );
    let o = run(
        root,
        &[
            "--baseline",
            "channel-lint-baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(1));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["diagnostics"].as_array().unwrap().len(), 1);
    assert_eq!(j["diagnostics"][0]["line"], 13);
    assert_eq!(j["baseline"]["suppressed"], 2);
    assert_eq!(j["baseline"]["stale"], serde_json::json!([]));

    // A fixed finding is listed as stale (stderr and JSON); the run passes.
    let text = std::fs::read_to_string(root.join("src/lib.rs"))
        .unwrap()
        .replace(
            "    unsafe { *p.add(1) }",
            "    // SAFETY: the caller passes two bytes.\n    unsafe { *p.add(1) }",
        )
        .replace(
            "\npub fn c(p: *const u8) -> u8 {\n    unsafe { *p.add(2) }\n}\n",
            "",
        );
    write(root, "src/lib.rs", &text);
    let o = run(
        root,
        &[
            "--baseline",
            "channel-lint-baseline.json",
            "--format",
            "json",
        ],
    );
    assert_eq!(o.status.code(), Some(0), "{}", stdout(&o));
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert_eq!(j["baseline"]["suppressed"], 1);
    let stale = j["baseline"]["stale"].as_array().unwrap();
    assert_eq!(stale.len(), 1);
    assert_eq!(stale[0]["code"], "unsafe { *p.add(1) }");
    let err = stderr(&o);
    assert!(err.contains("1 entry no longer occurs"), "{err}");
    assert!(err.contains("stale: src/lib.rs [undocumented-unsafe] `unsafe { *p.add(1) }`"));

    // The JSON without --baseline is unchanged (no `baseline` key).
    let o = run(root, &["--format", "json"]);
    let j: Value = serde_json::from_str(&stdout(&o)).unwrap();
    assert!(j.get("baseline").is_none());

    // A missing or broken baseline is a tool error.
    assert_eq!(
        run(root, &["--baseline", "nope.json"]).status.code(),
        Some(2)
    );
    write(root, "bad.json", "{}");
    assert_eq!(
        run(root, &["--baseline", "bad.json"]).status.code(),
        Some(2)
    );
}

#[test]
fn init_writes_a_starter_policy() {
    let dir = listener_crate();
    let root: PathBuf = dir.path().to_path_buf();
    std::fs::remove_file(root.join("channel-lint.toml")).unwrap();
    let o = run(&root.join("src"), &["init"]);
    assert_eq!(o.status.code(), Some(0), "{}", stderr(&o));
    let text = std::fs::read_to_string(root.join("channel-lint.toml")).unwrap();
    assert!(
        text.contains("    # \"Listener::listen\",  # src/listener.rs:12: `loop` awaiting `.recv_from().await` (a socket: `tokio::net::UdpSocket`)"),
        "{text}"
    );
    assert!(text.contains("\nlistener-send-await = \"error\"\n"));
    assert!(text.contains("\nunused-suppression = \"warn\"\n"));
    assert!(text.contains("# [[banned-type]]\n"));
    // The starter policy is valid: the lint runs with it (the entry point is still commented).
    let o = run(&root, &[]);
    assert_eq!(o.status.code(), Some(0), "{}{}", stdout(&o), stderr(&o));
    // Refuses to overwrite without --force.
    std::fs::write(root.join("channel-lint.toml"), "# mine\n").unwrap();
    let o = run(&root, &["init"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("already exists"));
    assert_eq!(
        std::fs::read_to_string(root.join("channel-lint.toml")).unwrap(),
        "# mine\n"
    );
    let o = run(&root, &["init", "--force"]);
    assert_eq!(o.status.code(), Some(0));
    // Uncommenting the guess turns the rule on.
    let text = std::fs::read_to_string(root.join("channel-lint.toml"))
        .unwrap()
        .replace("    # \"Listener::listen\",", "    \"Listener::listen\",");
    std::fs::write(root.join("channel-lint.toml"), text).unwrap();
    let o = run(&root, &["-q"]);
    assert_eq!(o.status.code(), Some(1), "{}", stdout(&o));
}
