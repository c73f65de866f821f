//! The command line as users run it: exit codes, code frames, policy errors, `--explain`.

use std::path::{Path, PathBuf};
use std::process::Command;

fn bin() -> Command {
    Command::new(env!("CARGO_BIN_EXE_cargo-channel-lint"))
}

fn repo() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR"))
        .join("..")
        .canonicalize()
        .unwrap()
}

#[path = "support/markers.rs"]
mod markers;
#[path = "support/tree.rs"]
mod tree;

/// A fixture case as the lint should see it: copied, `//~` markers stripped, into a temporary
/// workspace at the same relative path (`fixtures/GROUP/CASE`), so paths in the output read as
/// they do in this repository. Returns (the workspace, the case folder in it).
fn fixture(rel: &str) -> (tempfile::TempDir, PathBuf) {
    let ws = tempfile::tempdir().unwrap();
    std::fs::write(ws.path().join("Cargo.toml"), "[workspace]\n").unwrap();
    let case = ws.path().canonicalize().unwrap().join(rel);
    markers::copy_stripped(&repo().join(rel), &case);
    (ws, case)
}

/// A temporary crate holding `files` (path relative to its root, text).
fn temp_crate(files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    tree::write_files(dir.path(), files);
    dir
}

fn run(args: &[&str], cwd: &Path) -> (i32, String, String) {
    let out = bin()
        .args(args)
        .current_dir(cwd)
        .env("NO_COLOR", "1")
        .output()
        .expect("run the binary");
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[test]
fn this_workspace_is_clean() {
    let (code, out, err) = run(&["channel-lint"], &repo());
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(out.contains("0 errors"), "{out}");
}

#[test]
fn fixture_with_findings_exits_1_with_frames_and_chain() {
    let (_ws, case) = fixture("fixtures/listener-send-await/pos-node-regression");
    let (code, out, _) = run(&["channel-lint", "."], &case);
    assert_eq!(code, 1, "{out}");
    assert!(out.contains("listener-send-await"), "{out}");
    assert!(out.contains("listen → route_packet → forward"), "{out}");
    // a miette frame: the source line and a label under it
    assert!(out.contains("handle.inbox.send(packet).await"), "{out}");
    assert!(out.contains("awaits channel capacity"), "{out}");
}

#[test]
fn broken_policy_exits_2_with_a_frame_on_the_toml() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("channel-lint.toml"),
        "[rules]\nbanned-type = \"loud\"\n",
    )
    .unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), "pub fn f() {}\n").unwrap();
    let (code, out, err) = run(&["."], dir.path());
    assert_eq!(code, 2, "stdout:\n{out}\nstderr:\n{err}");
    assert!(err.contains("banned-type = \"loud\""), "{err}");
    assert!(err.contains("channel-lint.toml"), "{err}");
}

#[test]
fn entry_point_matching_nothing_is_a_policy_error() {
    let (_ws, case) = fixture("fixtures/listener-send-await/err-entry-point-matches-nothing");
    let (code, _, err) = run(&["."], &case);
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("gateway::serve"), "{err}");
    assert!(err.contains("matches no function"), "{err}");
}

#[test]
fn json_output_is_stable() {
    // Paths are relative to the lint root (the workspace root, like cargo's own diagnostics).
    let (_ws, case) = fixture("fixtures/banned-type/pos-glob-import");
    let (code, out, _) = run(&["--format", "json", "."], &case);
    assert_eq!(code, 1);
    let want = std::fs::read_to_string(case.join("expected.json"))
        .unwrap()
        .replace(
            "\"path\": \"src/",
            "\"path\": \"fixtures/banned-type/pos-glob-import/src/",
        );
    assert_eq!(out, want);
}

#[test]
fn explain_prints_the_rule_page_and_list_rules_lists_all() {
    let (code, out, _) = run(&["--explain", "listener-send-await"], &repo());
    assert_eq!(code, 0);
    assert_eq!(
        out,
        std::fs::read_to_string(repo().join("docs/rules/listener-send-await.md")).unwrap()
    );
    let (code, out, _) = run(&["--list-rules"], &repo());
    assert_eq!(code, 0);
    for id in channel_lint::rules::ids() {
        assert!(out.contains(id), "{id} missing from --list-rules");
    }
    let (code, _, err) = run(&["--explain", "no-such-rule"], &repo());
    assert_eq!(code, 2, "{err}");
}

#[test]
fn explain_path_shows_the_chain_and_blind_spots() {
    let (_ws, case) = fixture("fixtures/listener-send-await/pos-node-regression");
    let (code, out, _) = run(
        &["--explain-path", "ConnectionStateManager::forward", "."],
        &case,
    );
    assert_eq!(code, 0, "{out}");
    assert!(out.contains("is on the listener path"), "{out}");
    assert!(
        out.contains("1. crate::listener::UdpPacketsListener::listen"),
        "{out}"
    );
    assert!(
        out.contains("unresolved calls on the paths to `ConnectionStateManager::forward`"),
        "{out}"
    );
    let (_ws, case) = fixture("fixtures/listener-send-await/neg-unreachable-fn");
    let (_, out, _) = run(&["--explain-path", "never_called", "."], &case);
    assert!(
        out.contains("not reached") || out.contains("no function matches"),
        "{out}"
    );
}

#[test]
fn unparsable_and_non_utf8_files_do_not_stop_the_run() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::create_dir(dir.path().join("src")).unwrap();
    std::fs::write(
        dir.path().join("src/lib.rs"),
        "mod a;\nmod b;\npub fn f() { unsafe { g() } }\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/a.rs"), "fn broken( {\n").unwrap();
    std::fs::write(dir.path().join("src/b.rs"), b"fn x() {}\n// \xff\xfe\n").unwrap();
    let (code, out, err) = run(&["--format", "json", "."], dir.path());
    assert_eq!(code, 1, "{err}");
    let v: serde_json::Value = serde_json::from_str(&out).unwrap();
    let rules: Vec<&str> = v["diagnostics"]
        .as_array()
        .unwrap()
        .iter()
        .map(|d| d["rule"].as_str().unwrap())
        .collect();
    assert_eq!(
        rules,
        vec!["parse-error", "parse-error", "undocumented-unsafe"],
        "{out}"
    );
    assert_eq!(v["summary"]["files"], 3);
}

/// A crate unpacked under another workspace's folder (here its `target/`) that the workspace's
/// `members` do not list is its own root, for `init` and the lint: `init` writes the policy
/// beside the crate's own Cargo.toml and guesses only the crate's loops, and the lint's paths
/// are relative to the crate.
#[test]
fn a_crate_nested_in_a_workspace_it_is_not_a_member_of_is_its_own_root() {
    let dir = temp_crate(&[
        ("Cargo.toml", "[workspace]\nmembers = [\"app\"]\n"),
        (
            "app/Cargo.toml",
            "[package]\nname = \"app\"\nversion = \"0.1.0\"\n",
        ),
        (
            "app/src/lib.rs",
            "pub async fn outer(s: Sock) { loop { s.recv_from(&mut b).await; } }\n",
        ),
        (
            "target/src/inner-1.0/Cargo.toml",
            "[package]\nname = \"inner\"\nversion = \"1.0.0\"\n",
        ),
        (
            "target/src/inner-1.0/src/lib.rs",
            "pub async fn inner(s: Sock) { loop { s.recv_from(&mut b).await; } }\n",
        ),
    ]);
    let krate = dir.path().join("target/src/inner-1.0");
    let (code, out, err) = run(&["channel-lint", "init"], &krate);
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let text = std::fs::read_to_string(krate.join("channel-lint.toml")).unwrap();
    assert!(text.contains("    # \"inner\",  # src/lib.rs:1:"), "{text}");
    assert!(!text.contains("outer"), "{text}");
    assert!(!dir.path().join("channel-lint.toml").exists());
    // From a member, the outer workspace is the root.
    let (code, out, err) = run(
        &["channel-lint", "init", "--stdout"],
        &dir.path().join("app/src"),
    );
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    assert!(
        out.contains("    # \"outer\",  # app/src/lib.rs:1:"),
        "{out}"
    );
}

/// `init` parses like the lint (recovery, large-stack threads): a 5,000-deep nested expression
/// (in a listener loop, and in a function of its own) must not overflow the stack. Run as a
/// subprocess, so a crash fails this test instead of the harness.
#[test]
fn init_survives_a_5000_deep_nested_expression() {
    let depth = 5000;
    let deep = format!("{}1{}", "(".repeat(depth), ")".repeat(depth));
    let lib = format!(
        "pub async fn serve(s: Sock) {{\n    loop {{\n        let _ = s.recv_from(&mut b).await;\n        let _ = {deep};\n    }}\n}}\n\npub fn deep() -> i32 {{\n    {deep}\n}}\n"
    );
    let dir = temp_crate(&[
        (
            "Cargo.toml",
            "[package]\nname = \"deep\"\nversion = \"0.1.0\"\n",
        ),
        ("src/lib.rs", &lib),
    ]);
    let (code, out, err) = run(&["channel-lint", "init"], dir.path());
    assert_eq!(code, 0, "stdout:\n{out}\nstderr:\n{err}");
    let text = std::fs::read_to_string(dir.path().join("channel-lint.toml")).unwrap();
    // The file was parsed and walked: its listener loop is the one guess.
    assert!(
        text.contains(
            "    # \"serve\",  # src/lib.rs:2: `loop` awaiting `.recv_from().await` (a socket, by the method's name: receiver type not known)"
        ),
        "{text}"
    );
    // The lint itself reads the same file without crashing.
    let (code, out, err) = run(&["channel-lint", "."], dir.path());
    assert!(code == 0 || code == 1, "stdout:\n{out}\nstderr:\n{err}");
}

#[test]
fn explain_path_lists_unresolved_calls_that_cannot_reach_workspace_code_last() {
    let dir = temp_crate(&[
        (
            "channel-lint.toml",
            "[listener]\nentry-points = [\"listen\"]\n",
        ),
        (
            "src/lib.rs",
            "pub struct Peer;\nimpl Peer { pub fn forward(&self) {} }\n\
             pub async fn listen() {\n let (a, b, c) = mystery();\n\
             a.forward();\n b.as_nanos_total();\n c.send(1).await;\n}\n",
        ),
    ]);
    let (code, out, err) = run(&["--explain-path", "listen", "."], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    let matter = out
        .find("unresolved calls on the paths to `listen` (3)")
        .expect(&out);
    let foreign = out
        .find("unresolved calls that cannot reach workspace code (1)")
        .expect(&out);
    assert!(matter < foreign, "{out}");
    let forward = out.find("`.forward(..)`").expect(&out);
    let send = out.find("`.send(..)`").expect(&out);
    let nanos = out.find("`.as_nanos_total(..)`").expect(&out);
    assert!(
        forward < foreign && send < foreign && nanos > foreign,
        "{out}"
    );
}

/// `--explain-path FN` lists the unresolved calls on the paths to FN only: not those of a
/// function of the listener path that does not lead to FN; for an FN not reached, the
/// unresolved calls that could be the missing call of it (same name).
#[test]
fn explain_path_lists_only_the_unresolved_calls_on_the_paths_to_fn() {
    let dir = temp_crate(&[
        (
            "channel-lint.toml",
            "[listener]\nentry-points = [\"listen\"]\n",
        ),
        (
            "src/lib.rs",
            "pub struct Peer;\nimpl Peer { pub fn forward(&self) {} pub fn lost(&self) {} }\n\
             pub async fn listen(p: Peer) {\n route(&p);\n side();\n}\n\
             pub fn route(p: &Peer) {\n p.forward();\n let a = mystery_a();\n a.forward();\n}\n\
             pub fn side() {\n let b = mystery_b();\n b.forward();\n b.lost();\n}\n",
        ),
    ]);
    let (code, out, err) = run(&["--explain-path", "route", "."], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(
        out.contains("unresolved calls on the paths to `route` (2)"),
        "{out}"
    );
    assert!(out.contains("in `route`"), "{out}");
    assert!(!out.contains("in `side`"), "{out}");
    // Reached through `route`: the unresolved call in `side` is not on its paths either.
    let (_, out, _) = run(&["--explain-path", "Peer::forward", "."], dir.path());
    assert!(
        out.contains("unresolved calls on the paths to `Peer::forward` (2)"),
        "{out}"
    );
    assert!(!out.contains("in `side`"), "{out}");
    // `lost` is not reached: the only unresolved call named `lost` may be its missing call.
    let (_, out, _) = run(&["--explain-path", "Peer::lost", "."], dir.path());
    assert!(out.contains("is not reached"), "{out}");
    assert!(
        out.contains("unresolved calls on the paths to `Peer::lost` (1)"),
        "{out}"
    );
    assert!(out.contains("`.lost(..)`"), "{out}");
    assert!(!out.contains("`.forward(..)`"), "{out}");
}

/// A `listener-entry` marker above a spawn statement: `--explain-path` lists the marked block
/// as the entry point, chains start from it, and the enclosing fn is on the path only there.
#[test]
fn explain_path_names_a_marked_spawned_block_as_the_entry() {
    let dir = temp_crate(&[(
        "src/lib.rs",
        "pub fn handle() {}
pub fn setup_only() {}
         pub fn setup() {
    setup_only();
    // channel-lint: listener-entry
             tokio::spawn(async move {
        loop { handle(); }
    });
}
",
    )]);
    let (code, out, err) = run(&["--explain-path", "handle", "."], dir.path());
    assert_eq!(code, 0, "{out}{err}");
    assert!(out.contains("listener entry points (1):\n  the async block at src/lib.rs:6 in crate::setup (marked; the rest of the function is not an entry)"), "{out}");
    assert!(out.contains("`crate::handle` (src/lib.rs:1) is on the listener path:\n  1. the async block at src/lib.rs:6 in `crate::setup`, calls the next step at src/lib.rs:7:16\n  2. crate::handle"), "{out}");
    let (_, out, _) = run(&["--explain-path", "setup", "."], dir.path());
    assert!(out.contains("is on the listener path only in the async block at src/lib.rs:6 in `crate::setup`, a marked entry point"), "{out}");
    // The enclosing fn's own calls are not on the path.
    let (_, out, _) = run(&["--explain-path", "setup_only", "."], dir.path());
    assert!(
        out.contains("`crate::setup_only` (src/lib.rs:2) is not reached"),
        "{out}"
    );
}

#[test]
fn findings_in_generated_files_are_counted_not_shown() {
    let (_ws, case) = fixture("fixtures/undocumented-unsafe/neg-generated-file-not-reported");
    let (code, out, _) = run(&["channel-lint", "."], &case);
    assert_eq!(code, 0, "{out}");
    assert!(
        out.contains("0 errors")
            && out.contains("1 finding in 1 generated file not shown (`[analysis] lint-generated = true` shows them)"),
        "{out}"
    );
    let (_, json, _) = run(&["channel-lint", "--format", "json", "."], &case);
    let v: serde_json::Value = serde_json::from_str(&json).unwrap();
    assert_eq!(v["summary"]["generated_findings"], 1, "{json}");
    assert_eq!(v["summary"]["generated_files"], 1, "{json}");
    // The same file, told to be linted, has its finding.
    std::fs::write(
        case.join("channel-lint.toml"),
        "[analysis]\nlint-generated = true\n",
    )
    .unwrap();
    let (code, out, _) = run(&["channel-lint", "."], &case);
    assert_eq!(code, 1, "{out}");
    assert!(!out.contains("generated file"), "{out}");
}

/// A crate with two `Actor::run`s in two modules and one `listen`, and a policy naming `ep`.
fn two_actors(ep: &str) -> tempfile::TempDir {
    let policy = format!("[listener]\nentry-points = [\"{ep}\"]\n");
    temp_crate(&[
        (
            "Cargo.toml",
            "[package]\nname = \"svc\"\nversion = \"0.1.0\"\n",
        ),
        ("channel-lint.toml", &policy),
        (
            "src/lib.rs",
            "pub mod a {\n    pub struct Actor;\n    impl Actor {\n        pub async fn run(&self) {}\n    }\n}\n\
             pub mod b {\n    pub struct Actor;\n    impl Actor {\n        pub async fn run(&self) {}\n    }\n    pub async fn listen() {}\n}\n",
        ),
    ])
}

/// An entry point matching several functions is an error listing each with file:line and the
/// suffix that picks it; the longer suffix is accepted.
#[test]
fn ambiguous_entry_point_lists_every_match_and_the_suffix_that_picks_it() {
    let dir = two_actors("Actor::run");
    let (code, out, err) = run(&["channel-lint", "."], dir.path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("listener entry point `Actor::run` matches 2 functions"),
        "{err}"
    );
    assert!(
        err.contains("`svc::a::Actor::run` (src/lib.rs:4): write `a::Actor::run`"),
        "{err}"
    );
    assert!(
        err.contains("`svc::b::Actor::run` (src/lib.rs:10): write `b::Actor::run`"),
        "{err}"
    );
    let dir = two_actors("b::Actor::run");
    let (code, out, err) = run(&["channel-lint", "."], dir.path());
    assert_eq!(code, 0, "{out}{err}");
}

/// An unmatched entry point lists the nearest existing names: the same last segment on
/// another path, and near spellings.
#[test]
fn unmatched_entry_point_lists_the_nearest_names() {
    let dir = two_actors("connection_handler::listen");
    let (code, out, err) = run(&["channel-lint", "."], dir.path());
    assert_eq!(code, 2, "{out}{err}");
    assert!(
        err.contains("matches no function in the linted files"),
        "{err}"
    );
    assert!(err.contains("the nearest existing names:"), "{err}");
    assert!(err.contains("`svc::b::listen` (src/lib.rs:12)"), "{err}");
    assert!(!err.contains("Actor::run"), "{err}");
    let dir = two_actors("Actr::rn");
    let (_, _, err) = run(&["channel-lint", "."], dir.path());
    assert!(err.contains("`svc::a::Actor::run` (src/lib.rs:4)"), "{err}");
    assert!(
        err.contains("`svc::b::Actor::run` (src/lib.rs:10)"),
        "{err}"
    );
    assert!(err.contains("--list-functions PATTERN"), "{err}");
    let dir = two_actors("zzzzzzzzzz");
    let (_, _, err) = run(&["channel-lint", "."], dir.path());
    assert!(!err.contains("nearest"), "{err}");
    assert!(err.contains("check the spelling"), "{err}");
}

/// `--list-functions PATTERN` prints what the pattern matches, qualified, with file:line, even
/// when the policy's own entry points are wrong.
#[test]
fn list_functions_prints_the_matches_with_file_and_line() {
    let dir = two_actors("Actor::run");
    let (code, out, err) = run(
        &["channel-lint", "--list-functions", "Actor::run", "."],
        dir.path(),
    );
    assert_eq!(code, 0, "{out}{err}");
    assert_eq!(
        out,
        "svc::a::Actor::run  src/lib.rs:4\nsvc::b::Actor::run  src/lib.rs:10\n"
    );
    let (code, out, _) = run(
        &["channel-lint", "--list-functions", "b::Actor::run", "."],
        dir.path(),
    );
    assert_eq!(code, 0);
    assert_eq!(out, "svc::b::Actor::run  src/lib.rs:10\n");
    let (code, out, _) = run(
        &["channel-lint", "--list-functions", "lisen", "."],
        dir.path(),
    );
    assert_eq!(code, 0);
    assert!(out.starts_with("no function matches `lisen`"), "{out}");
    assert!(
        out.contains("nearest: `svc::b::listen` (src/lib.rs:12)"),
        "{out}"
    );
}
