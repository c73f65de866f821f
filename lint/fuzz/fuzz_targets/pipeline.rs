//! Arbitrary bytes through the whole pipeline, in memory, by the one entry point
//! (`channel_lint::driver::analyze` on a `MemoryVfs`): lex, directives, the planner and its byte
//! checks, parse (with recovery), facts, the index, every rule with a policy that turns
//! everything on, suppressions, byte ranges, `--explain-path` and every output format; with the
//! prefilter (and demand-driven bodies) on and off. Also: the text a file is parsed as for its `unsafe` sites keeps every
//! position. Run: `cd lint/fuzz && cargo +nightly fuzz run pipeline`.
#![no_main]

use std::path::PathBuf;

use channel_lint::driver::{analyze, MemoryVfs, Request};
use channel_lint::{report, rules};
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
    if let Some(blanked) = channel_lint::testing::unsafe_parse_text(&text) {
        let lines = |t: &str| t.split('\n').map(|l| l.chars().count()).collect::<Vec<_>>();
        assert_eq!(lines(&blanked), lines(&text), "blanking moved a position");
    }
    let root = PathBuf::from("/fuzz");
    let policy =
        channel_lint_policy::parse_str(POLICY, "channel-lint.toml", &root, &rules::ids()).unwrap();
    let policy = channel_lint_policy::LoadedPolicy {
        policy,
        origin: channel_lint_policy::Origin::Default,
        base_dir: root.clone(),
        source_text: None,
        hash: 0,
    };
    let mut vfs = MemoryVfs::new();
    vfs.insert(root.join("src/lib.rs"), text.as_bytes());
    // The raw bytes too: not UTF-8 is a diagnostic, never a panic.
    vfs.insert(root.join("src/raw.rs"), data);
    let files = vfs.paths();
    for (prefilter, explain) in [(true, None), (false, Some("f"))] {
        let req = Request {
            prefilter,
            // as the CLI: with the prefilter, bodies are parsed when a rule reads them
            lazy_bodies: prefilter,
            explain_path: explain,
            jobs: Some(1),
            ..Request::new(&root, &files, &policy)
        };
        let outcome = analyze(&req, &vfs, None).expect("the analysis itself succeeds");
        // A panic in the per-file stage is caught and reported: here it is a finding.
        assert!(
            !outcome
                .diagnostics
                .iter()
                .any(|d| d.message.starts_with("internal error")),
            "{:?}",
            outcome.diagnostics
        );
        let _ = report::json::render(&outcome);
        let _ = report::github::render(&outcome);
        let _ = report::sarif::render(&outcome, &root, Some(&policy));
        for d in &outcome.diagnostics {
            let _ = report::human::frame(d, Some(&text), false);
        }
    }
});
