//! No input crashes the lint: arbitrary bytes, mutated real Rust, deep nesting.
//! Every case must finish with `Ok` and without an "internal error" diagnostic (a caught panic).

use std::path::{Path, PathBuf};

use channel_lint::{Options, Outcome};
use proptest::prelude::*;

#[path = "support/markers.rs"]
mod markers;

const POLICY: &str = r#"
[[banned-type]]
path = "tokio::net::UdpSocket"
reason = "test"
[[channel-type]]
path = "crate::Fast"
blocking-methods = ["push"]
[[exemption-marker]]
prefix = "ok:"
rule = "listener-send-await"
"#;

fn lint_tree(files: &[(&str, &[u8])]) -> Outcome {
    let dir = tempfile::tempdir().unwrap();
    for (name, bytes) in files {
        let p = dir.path().join(name);
        std::fs::create_dir_all(p.parent().unwrap()).unwrap();
        std::fs::write(p, bytes).unwrap();
    }
    let known = channel_lint::rules::ids();
    let policy =
        channel_lint_policy::parse_str(POLICY, "channel-lint.toml", dir.path(), &known).unwrap();
    let loaded = channel_lint_policy::LoadedPolicy {
        policy,
        origin: channel_lint_policy::Origin::Default,
        base_dir: dir.path().to_path_buf(),
        source_text: None,
        hash: 1,
    };
    let opts = Options {
        root: dir.path().to_path_buf(),
        inputs: vec![],
        policy: loaded,
        jobs: Some(1),
        explain_path: Some("f".into()),
        list_functions: None,
    };
    // As library callers run it (every body parsed), and as the CLI does (prefilter, bodies
    // parsed when a rule reads them).
    let cli = channel_lint::Tuning {
        prefilter: true,
        lazy_bodies: true,
        run_record: true,
        cache: None,
    };
    let lazy = channel_lint::run_tuned(&opts, &cli).expect("the run itself succeeds");
    let out = channel_lint::run(&opts).expect("the run itself succeeds");
    for d in out.diagnostics.iter().chain(&lazy.diagnostics) {
        assert!(!d.message.contains("internal error"), "{d:?}");
    }
    out
}

fn fixture_sources() -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    let mut out = Vec::new();
    let mut stack: Vec<PathBuf> = vec![root];
    while let Some(d) = stack.pop() {
        for e in std::fs::read_dir(d).unwrap() {
            let p = e.unwrap().path();
            if p.is_dir() {
                stack.push(p);
            } else if p.extension().is_some_and(|x| x == "rs") {
                out.push(markers::input_bytes(&p, std::fs::read(&p).unwrap()));
            }
        }
    }
    out.sort();
    out
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, .. ProptestConfig::default() })]

    #[test]
    fn arbitrary_bytes(bytes in proptest::collection::vec(any::<u8>(), 0..2000)) {
        lint_tree(&[("src/lib.rs", &bytes), ("src/main.rs", b"// channel-lint: listener-entry\nfn main() { f() }\n")]);
    }

    #[test]
    fn rust_looking_text(text in "(fn|unsafe|impl|mod|use|let|match|async|await|send|select!|\\{|\\}|\\(|\\)|::|;|,|=>|=|'a|\"|//|/\\*|\\*/|#\\[|\\]|[a-z_]{1,6}|[ \n]){0,200}") {
        lint_tree(&[("src/lib.rs", text.as_bytes())]);
    }

    #[test]
    fn mutated_fixture_files(pick in 0usize..10_000, edits in proptest::collection::vec((0usize..100_000, any::<u8>(), 0u8..3), 1..8)) {
        let sources = fixture_sources();
        let mut bytes = sources[pick % sources.len()].clone();
        for (pos, b, op) in edits {
            if bytes.is_empty() { bytes.push(b); continue; }
            let i = pos % bytes.len();
            match op {
                0 => { bytes.remove(i); }
                1 => bytes.insert(i, b),
                _ => bytes[i] = b,
            }
        }
        lint_tree(&[("src/lib.rs", &bytes), ("src/other.rs", &sources[(pick + 1) % sources.len()])]);
    }
}

#[test]
fn deep_nesting_does_not_overflow() {
    let depth = 5_000;
    let src = format!(
        "pub fn f() -> i32 {{ {}1{} }}\n",
        "(".repeat(depth),
        ")".repeat(depth)
    );
    let blocks = format!(
        "pub fn g() {{ {} unsafe {{ h() }} {} }}\n",
        "{".repeat(depth),
        "}".repeat(depth)
    );
    let out = lint_tree(&[
        ("src/lib.rs", src.as_bytes()),
        ("src/b.rs", blocks.as_bytes()),
    ]);
    assert_eq!(out.files_linted, 2);
}

#[test]
fn every_fixture_file_alone_and_with_all_rules() {
    // Each fixture source as the whole crate, with the listener entry marker on every fn.
    for src in fixture_sources() {
        let text =
            String::from_utf8_lossy(&src).replace("fn ", "// channel-lint: listener-entry\nfn ");
        lint_tree(&[("src/lib.rs", text.as_bytes())]);
    }
}
