//! Arbitrary bytes through the whole per-file pipeline, in memory: lex, directives, parse (with
//! recovery), the prefilter's byte checks and item blanking, facts, the index, every rule with a policy that turns everything on, suppressions
//! and every output format. Run: `cd lint/fuzz && cargo +nightly fuzz run pipeline`.
#![no_main]

use std::path::PathBuf;

use channel_lint::diagnostic::Sink;
use channel_lint::index::{FileData, Index};
use channel_lint::{facts, parse, prefilter, report, rules, source, suppress, Outcome};
use libfuzzer_sys::fuzz_target;

const POLICY: &str = r#"
[listener]
entry-points = []
[[banned-type]]
path = "tokio::net::UdpSocket"
reason = "fuzz"
[[channel-type]]
path = "crate::Fast"
blocking-methods = ["push"]
[[exemption-marker]]
prefix = "ok:"
rule = "listener-send-await"
"#;

fuzz_target!(|data: &[u8]| {
    let text = String::from_utf8_lossy(data);
    // Mark every fn as a listener entry point so the call graph is exercised too.
    let text = text.replace("fn ", "// channel-lint: listener-entry\nfn ");
    let root = PathBuf::from("/fuzz");
    let known = rules::ids();
    let policy =
        channel_lint_policy::parse_str(POLICY, "channel-lint.toml", &root, &known).unwrap();
    let policy = channel_lint_policy::LoadedPolicy {
        policy,
        origin: channel_lint_policy::Origin::Default,
        base_dir: root.clone(),
        source_text: None,
        hash: 0,
    };
    let lexed = source::lex(&text);
    // The prefilter's path: its verdict, and the text with items blanked keeps every position.
    let _ = prefilter::check_file(&text, true);
    if let Some(blanked) = prefilter::unsafe_items_text(&text, &lexed) {
        let lines = |t: &str| t.split('\n').map(|l| l.chars().count()).collect::<Vec<_>>();
        assert_eq!(lines(&blanked), lines(&text), "blanking moved a position");
        if let (Some(f), _) = parse::parse_file(&blanked) {
            let _ = facts::extract_unsafe_only(&f);
        }
    }
    let directives = suppress::directives(&lexed, &policy.policy.exemption_markers);
    let (file, _err) = parse::parse_file(&text);
    let facts = match file {
        Some(f) => facts::extract(
            &f,
            facts::ExtractOptions {
                collect_paths: true,
            },
        ),
        None => facts::FileFacts::empty(),
    };
    let files = vec![FileData {
        rel: "src/lib.rs".into(),
        abs: root.join("src/lib.rs"),
        facts,
        lexed,
        is_test_path: false,
        directives,
    }];
    let index = Index::build(&files, &[], &root);
    let policy_rel = vec![Some("src/lib.rs".to_string())];
    let cx = rules::Context {
        index: &index,
        policy: &policy,
        policy_rel: &policy_rel,
    };
    let mut sink = Sink::default();
    let _ = rules::run_all(&cx, &mut sink);
    let _ = rules::listener_send_await::explain_path(&cx, "f");
    let dirs = vec![("src/lib.rs", files[0].directives.as_slice())];
    let level = |_: &str| channel_lint_policy::Level::Error;
    let diagnostics = suppress::apply(sink.diagnostics, &dirs, &level, &known);
    let outcome = Outcome {
        diagnostics,
        files_linted: 1,
        ..Default::default()
    };
    let _ = report::json::render(&outcome);
    let _ = report::github::render(&outcome);
    let _ = report::sarif::render(&outcome, &root, Some(&policy));
    for d in &outcome.diagnostics {
        let _ = report::human::frame(d, Some(&text), false);
    }
});
