//! Property tests: arbitrary input either loads or yields a `PolicyError`; never panics,
//! and every reported span can be rendered.

use std::path::Path;

use channel_lint_policy::{load_cargo_manifest, parse_str, Policy, PolicyError};
use proptest::prelude::*;

const RULES: &[&str] = &["banned-type", "undocumented-unsafe", "listener-send-await"];

const VALID: &str = r#"exclude = ["fixtures/**", "vendor/**", "target"]

[rules]
banned-type = "error"
undocumented-unsafe = "error"
listener-send-await = "warn"

[[banned-type]]
path = "tokio::net::UdpSocket"
reason = "core is generic over Socket; tests use the mock socket"
within = ["node/src/**"]
except = ["node/src/transport/udp.rs"]
tests = "include"

[listener]
entry-points = ["UdpPacketsListener::listen", "gateway::serve"]

[[channel-type]]
path = "crate::transport::fast_channel::FastSender"
blocking-methods = ["send_async"]

[[exemption-marker]]
prefix = "channel-safety: ok"
rule = "listener-send-await"
"#;

const TOKENS: &[&str] = &[
    "\"",
    "'",
    "[",
    "]",
    "[[",
    "]]",
    "{",
    "}",
    "=",
    "\n",
    ",",
    "::",
    ":",
    "#",
    "!",
    "*",
    "**",
    "/",
    "\\",
    "\"error\"",
    "\"warn\"",
    "\"off\"",
    "\"\"",
    "x",
    "banned-type",
    "rules",
    "1",
    "true",
    "é",
    "日本",
    "\u{0}",
    " ",
    ".",
    "<u8>",
    "\"[\"",
    "tests",
    "within",
    "except",
];

#[derive(Debug, Clone)]
enum Mutation {
    Delete { at: usize, len: usize },
    Insert { at: usize, token: usize },
    InsertText { at: usize, text: String },
}

fn mutation() -> impl Strategy<Value = Mutation> {
    prop_oneof![
        (any::<usize>(), 1usize..12).prop_map(|(at, len)| Mutation::Delete { at, len }),
        (any::<usize>(), 0..TOKENS.len()).prop_map(|(at, token)| Mutation::Insert { at, token }),
        (any::<usize>(), ".{0,8}").prop_map(|(at, text)| Mutation::InsertText { at, text }),
    ]
}

fn boundary(text: &str, at: usize) -> usize {
    let mut at = at % (text.len() + 1);
    while !text.is_char_boundary(at) {
        at -= 1;
    }
    at
}

fn apply(mut text: String, mutations: &[Mutation]) -> String {
    for m in mutations {
        match m {
            Mutation::Delete { at, len } => {
                let start = boundary(&text, *at);
                let end = boundary(&text, (start + len).min(text.len()));
                if end > start {
                    text.replace_range(start..end, "");
                }
            }
            Mutation::Insert { at, token } => {
                let at = boundary(&text, *at);
                text.insert_str(at, TOKENS[*token]);
            }
            Mutation::InsertText { at, text: t } => {
                let at = boundary(&text, *at);
                text.insert_str(at, t);
            }
        }
    }
    text
}

/// `VALID` moved into `[workspace.metadata.channel-lint]` of a `Cargo.toml`.
fn cargo_manifest() -> String {
    let policy: String = VALID
        .lines()
        .map(|l| {
            if let Some(rest) = l.strip_prefix("[[") {
                format!("[[workspace.metadata.channel-lint.{rest}")
            } else if let Some(rest) = l.strip_prefix('[') {
                format!("[workspace.metadata.channel-lint.{rest}")
            } else {
                l.to_owned()
            }
        })
        .collect::<Vec<_>>()
        .join("\n");
    format!("[workspace]\nmembers = []\n\n[workspace.metadata.channel-lint]\n{policy}\n")
}

fn render(err: &PolicyError) -> String {
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, err)
        .expect("render");
    out
}

fn check_ok(text: &str, policy: &Policy) {
    let mut spans = Vec::new();
    spans.extend(policy.exclude.spans().iter().cloned());
    for bt in &policy.banned_types {
        spans.push(bt.span.clone());
        spans.extend(bt.within.spans().iter().cloned());
        spans.extend(bt.except.spans().iter().cloned());
        assert!(!bt.segments.is_empty());
        assert!(!bt.reason.trim().is_empty());
    }
    for ep in &policy.listener.entry_points {
        spans.push(ep.span.clone());
    }
    for ct in &policy.channel_types {
        spans.push(ct.span.clone());
        assert!(!ct.blocking_methods.is_empty());
    }
    for em in &policy.exemption_markers {
        spans.push(em.span.clone());
        assert!(RULES.contains(&em.rule.as_str()));
    }
    for rule in policy.rules.keys() {
        assert!(RULES.contains(&rule.as_str()));
    }
    for s in spans {
        assert!(text.get(s.clone()).is_some(), "span {s:?} out of bounds");
    }
}

fn check(text: &str, result: Result<Policy, PolicyError>) {
    match result {
        Ok(policy) => check_ok(text, &policy),
        Err(err) => {
            let span = err.span().expect("parse errors carry a span");
            assert!(text.get(span.clone()).is_some(), "bad span {span:?}");
            let out = render(&err);
            assert!(!out.is_empty());
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 512, ..ProptestConfig::default() })]

    #[test]
    fn arbitrary_strings_never_panic(text in ".{0,200}") {
        let result = parse_str(&text, "channel-lint.toml", Path::new("."), RULES);
        check(&text, result);
    }

    #[test]
    fn toml_looking_strings_never_panic(
        text in r#"(\[\[?[a-z-]{0,12}\]\]?\n|[a-z-]{1,12} = (\[("[^"]{0,8}",? ?){0,3}\]|"[^"\n]{0,10}"|[0-9]{1,3}|true)\n){0,8}"#
    ) {
        let result = parse_str(&text, "channel-lint.toml", Path::new("."), RULES);
        check(&text, result);
    }

    #[test]
    fn mutated_valid_policy_never_panics(mutations in proptest::collection::vec(mutation(), 1..6)) {
        let text = apply(VALID.to_owned(), &mutations);
        let result = parse_str(&text, "channel-lint.toml", Path::new("."), RULES);
        check(&text, result);
    }
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 64, ..ProptestConfig::default() })]

    #[test]
    fn mutated_cargo_metadata_never_panics(mutations in proptest::collection::vec(mutation(), 1..4)) {
        let manifest = cargo_manifest();
        let text = apply(manifest, &mutations);
        let tmp = tempfile::tempdir().unwrap();
        let path = tmp.path().join("Cargo.toml");
        std::fs::write(&path, &text).unwrap();
        match load_cargo_manifest(&path, RULES) {
            Ok(Some(loaded)) => check_ok(&text, &loaded.policy),
            Ok(None) => {}
            Err(err) => {
                let span = err.span().expect("span");
                prop_assert!(text.get(span.clone()).is_some(), "bad span {:?}", span);
                render(&err);
            }
        }
    }
}

#[test]
fn unmutated_inputs_are_valid() {
    let policy = parse_str(VALID, "channel-lint.toml", Path::new("."), RULES).unwrap();
    check_ok(VALID, &policy);
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("Cargo.toml");
    let manifest = cargo_manifest();
    std::fs::write(&path, &manifest).unwrap();
    let loaded = load_cargo_manifest(&path, RULES).unwrap().unwrap();
    check_ok(&manifest, &loaded.policy);
    assert_eq!(loaded.policy.banned_types.len(), 1);
    assert_eq!(loaded.policy.listener.entry_points.len(), 2);
    assert_eq!(loaded.policy.rules.len(), 3);
}
