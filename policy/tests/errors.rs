//! Every error kind points at the right text.

use std::path::Path;

use channel_lint_policy::{parse_str, ErrorKind, Level, Policy, PolicyError, TestsMode};

const RULES: &[&str] = &["banned-type", "undocumented-unsafe", "listener-send-await"];

const VALID: &str = r#"
exclude = ["fixtures/**", "vendor/**"]

[rules]
banned-type = "error"
undocumented-unsafe = "warn"
listener-send-await = "off"

[[banned-type]]
path = "tokio::net::UdpSocket"
reason = "core is generic over Socket; tests use the mock socket"
within = ["node/src/**"]
except = ["node/src/transport/udp.rs"]
tests = "exclude"

[[banned-type]]
path = "std::rc::Rc"
reason = "not Send"

[listener]
entry-points = ["UdpPacketsListener::listen", "gateway::serve"]

[[channel-type]]
path = "crate::transport::fast_channel::FastSender"
blocking-methods = ["send_async", "reserve"]

[[exemption-marker]]
prefix = "channel-safety: ok"
rule = "listener-send-await"
"#;

fn parse(text: &str) -> Result<Policy, PolicyError> {
    parse_str(text, "channel-lint.toml", Path::new("/ws"), RULES)
}

/// Parses `text`, expects an error of `kind` and returns the text under its span.
fn err_text(text: &str, kind: ErrorKind) -> (String, PolicyError) {
    let err = parse(text).expect_err("expected an error");
    assert_eq!(err.kind(), Some(kind), "wrong kind for {err:?}");
    let span = err.span().expect("span");
    (text[span].to_owned(), err)
}

#[test]
fn valid_policy_parses() {
    let p = parse(VALID).unwrap();
    assert_eq!(p.level("banned-type", Level::Off), Level::Error);
    assert_eq!(p.level("undocumented-unsafe", Level::Error), Level::Warn);
    assert_eq!(p.level("listener-send-await", Level::Error), Level::Off);
    assert_eq!(p.level("other", Level::Warn), Level::Warn);
    assert_eq!(p.exclude.patterns(), ["fixtures/**", "vendor/**"]);
    assert!(p.exclude.is_match("fixtures/a/b.rs"));

    assert_eq!(p.banned_types.len(), 2);
    let bt = &p.banned_types[0];
    assert_eq!(bt.path, "tokio::net::UdpSocket");
    assert_eq!(bt.segments, ["tokio", "net", "UdpSocket"]);
    assert_eq!(bt.tests, TestsMode::Exclude);
    assert_eq!(&VALID[bt.span.clone()], "\"tokio::net::UdpSocket\"");
    assert!(bt.applies_to("node/src/core.rs"));
    assert!(!bt.applies_to("node/src/transport/udp.rs"));
    assert!(!bt.applies_to("lint/src/main.rs"));
    let rc = &p.banned_types[1];
    assert_eq!(rc.tests, TestsMode::Include);
    assert!(rc.within.is_empty());
    assert!(rc.applies_to("anything/at/all.rs"));

    let eps = &p.listener.entry_points;
    assert_eq!(eps.len(), 2);
    assert_eq!(eps[0].segments, ["UdpPacketsListener", "listen"]);
    assert_eq!(eps[1].pattern, "gateway::serve");
    assert_eq!(&VALID[eps[1].span.clone()], "\"gateway::serve\"");

    let ct = &p.channel_types[0];
    assert_eq!(ct.segments.last().unwrap(), "FastSender");
    assert_eq!(ct.blocking_methods, ["send_async", "reserve"]);

    let em = &p.exemption_markers[0];
    assert_eq!(em.prefix, "channel-safety: ok");
    assert_eq!(em.rule, "listener-send-await");
    assert_eq!(p.exemption_markers_for("listener-send-await").count(), 1);
    assert_eq!(p.exemption_markers_for("banned-type").count(), 0);
}

#[test]
fn empty_policy_is_valid() {
    let p = parse("").unwrap();
    assert!(p.rules.is_empty());
    assert!(p.exclude.is_empty());
    assert!(p.banned_types.is_empty());
}

#[test]
fn syntax_error() {
    let text = "exclude = [\"a\"\n[rules]\n";
    let err = parse(text).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Syntax));
    let span = err.span().unwrap();
    assert!(span.start <= text.len() && span.end <= text.len());
    // Points at the line after the unterminated array.
    assert!(span.start >= text.find('\n').unwrap(), "{span:?}");
}

#[test]
fn duplicate_key_is_syntax_error() {
    let text = "[rules]\nbanned-type = \"error\"\nbanned-type = \"warn\"\n";
    let (t, err) = err_text(text, ErrorKind::Syntax);
    assert_eq!(t, "banned-type");
    assert_eq!(
        err.span().unwrap().start,
        text.rfind("banned-type").unwrap()
    );
}

#[test]
fn unknown_top_level_key() {
    let text = "exclude = []\nexclud = [\"x\"]\n";
    let (t, err) = err_text(text, ErrorKind::UnknownKey);
    assert_eq!(t, "exclud");
    assert!(err.to_string().contains("exclud"));
}

#[test]
fn unknown_key_in_banned_type() {
    let text = "[[banned-type]]\npath = \"a::B\"\nreason = \"r\"\nwhere = [\"x\"]\n";
    let (t, _) = err_text(text, ErrorKind::UnknownKey);
    assert_eq!(t, "where");
}

#[test]
fn unknown_key_in_listener() {
    let text = "[listener]\nentry-point = [\"a::b\"]\n";
    let (t, _) = err_text(text, ErrorKind::UnknownKey);
    assert_eq!(t, "entry-point");
}

#[test]
fn unknown_key_in_channel_type_and_marker() {
    let text = "[[channel-type]]\npath = \"a::B\"\nblocking-methods = [\"x\"]\nasync = true\n";
    assert_eq!(err_text(text, ErrorKind::UnknownKey).0, "async");
    let text = "[[exemption-marker]]\nprefix = \"ok\"\nrule = \"banned-type\"\nrules = 1\n";
    assert_eq!(err_text(text, ErrorKind::UnknownKey).0, "rules");
}

#[test]
fn bad_level() {
    let text = "[rules]\nbanned-type = \"deny\"\n";
    let (t, err) = err_text(text, ErrorKind::InvalidLevel);
    assert_eq!(t, "\"deny\"");
    assert!(err.help_text().unwrap().contains("\"warn\""));
}

#[test]
fn level_of_wrong_type() {
    let text = "[rules]\nbanned-type = 2\n";
    let (t, _) = err_text(text, ErrorKind::WrongType);
    assert_eq!(t, "2");
}

#[test]
fn unknown_rule_in_rules() {
    let text = "[rules]\nbaned-type = \"error\"\n";
    let (t, err) = err_text(text, ErrorKind::UnknownRule);
    assert_eq!(t, "baned-type");
    assert!(err
        .help_text()
        .unwrap()
        .contains("did you mean `banned-type`"));
}

#[test]
fn unknown_rule_in_marker() {
    let text = "[[exemption-marker]]\nprefix = \"ok\"\nrule = \"send-await\"\n";
    let (t, _) = err_text(text, ErrorKind::UnknownRule);
    assert_eq!(t, "\"send-await\"");
}

#[test]
fn invalid_glob_in_exclude() {
    let text = "exclude = [\"ok/**\", \"bad[glob\"]\n";
    let (t, err) = err_text(text, ErrorKind::InvalidGlob);
    assert_eq!(t, "\"bad[glob\"");
    assert!(err.to_string().contains("bad[glob"));
}

#[test]
fn invalid_glob_in_within_and_except() {
    let text = "[[banned-type]]\npath = \"a::B\"\nreason = \"r\"\nwithin = [\"[z-a]\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidGlob).0, "\"[z-a]\"");
    let text = "[[banned-type]]\npath = \"a::B\"\nreason = \"r\"\nexcept = [\"{a,b\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidGlob).0, "\"{a,b\"");
}

#[test]
fn negated_and_empty_globs_rejected() {
    let text = "exclude = [\"!keep\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidGlob).0, "\"!keep\"");
    let text = "exclude = [\"\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidGlob).0, "\"\"");
    let text = "exclude = [\"/\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidGlob).0, "\"/\"");
}

#[test]
fn exclude_of_wrong_type() {
    let text = "exclude = \"fixtures/**\"\n";
    let (t, _) = err_text(text, ErrorKind::WrongType);
    assert_eq!(t, "\"fixtures/**\"");
}

#[test]
fn invalid_banned_type_paths() {
    for bad in ["tokio::net::", "tokio net", "Vec<u8>", "a:b", "9a::B", ""] {
        let text = format!("[[banned-type]]\npath = \"{bad}\"\nreason = \"r\"\n");
        let (t, _) = err_text(&text, ErrorKind::InvalidPath);
        assert_eq!(t, format!("\"{bad}\""));
    }
}

#[test]
fn missing_required_keys() {
    let text = "[[banned-type]]\npath = \"a::B\"\n";
    let (_, err) = err_text(text, ErrorKind::MissingKey);
    assert!(err.to_string().contains("reason"), "{err}");
    let text = "[[channel-type]]\npath = \"a::B\"\n";
    let (_, err) = err_text(text, ErrorKind::MissingKey);
    assert!(err.to_string().contains("blocking-methods"), "{err}");
}

#[test]
fn empty_reason() {
    let text = "[[banned-type]]\npath = \"a::B\"\nreason = \"  \"\n";
    assert_eq!(err_text(text, ErrorKind::EmptyReason).0, "\"  \"");
}

#[test]
fn bad_tests_mode() {
    let text = "[[banned-type]]\npath = \"a::B\"\nreason = \"r\"\ntests = \"only\"\n";
    assert_eq!(err_text(text, ErrorKind::InvalidTestsMode).0, "\"only\"");
}

#[test]
fn empty_blocking_methods() {
    let text = "[[channel-type]]\npath = \"a::B\"\nblocking-methods = [ ]\n";
    assert_eq!(err_text(text, ErrorKind::EmptyBlockingMethods).0, "[ ]");
}

#[test]
fn bad_blocking_method_name() {
    let text = "[[channel-type]]\npath = \"a::B\"\nblocking-methods = [\"send()\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidIdentifier).0, "\"send()\"");
}

#[test]
fn bad_channel_type_path_and_entry_point() {
    let text = "[[channel-type]]\npath = \"a::<B>\"\nblocking-methods = [\"x\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidPath).0, "\"a::<B>\"");
    let text = "[listener]\nentry-points = [\"ok::fine\", \"not ok\"]\n";
    assert_eq!(err_text(text, ErrorKind::InvalidPath).0, "\"not ok\"");
}

#[test]
fn empty_marker_prefix() {
    let text = "[[exemption-marker]]\nprefix = \"\"\nrule = \"banned-type\"\n";
    assert_eq!(err_text(text, ErrorKind::EmptyPrefix).0, "\"\"");
}

#[test]
fn wrong_type_for_table() {
    let text = "listener = 3\n";
    assert_eq!(err_text(text, ErrorKind::WrongType).0, "3");
}

#[test]
fn diagnostic_code_and_source() {
    use miette::Diagnostic;
    let err = parse("[rules]\nnope = \"error\"\n").unwrap_err();
    assert_eq!(
        err.code().unwrap().to_string(),
        "channel_lint::policy::unknown_rule"
    );
    assert!(err.source_code().is_some());
    assert_eq!(err.labels().unwrap().count(), 1);
    assert!(err.help().is_some());
}

#[test]
fn renders_with_graphical_handler() {
    let text = "exclude = [\"fixtures/**\"]\n\n[rules]\nbanned-type = \"loud\"\n";
    let err = parse(text).unwrap_err();
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &err)
        .unwrap();
    assert!(out.contains("banned-type = \"loud\""), "{out}");
    assert!(out.contains("channel-lint.toml"), "{out}");
    assert!(out.contains("invalid level"), "{out}");
    assert!(out.contains("channel_lint::policy::invalid_level"), "{out}");
}

#[test]
fn analysis_features_parse_and_are_checked() {
    let p =
        parse("[analysis]\nfeatures = [\"redb\", \"simulation_tests\", \"wasmtime-backend\"]\n")
            .unwrap();
    assert_eq!(
        p.analysis.features.as_deref(),
        Some(
            &[
                "redb".to_string(),
                "simulation_tests".into(),
                "wasmtime-backend".into()
            ][..]
        )
    );
    assert!(parse("").unwrap().analysis.features.is_none());
    let (t, _) = err_text(
        "[analysis]\nfeatures = [\"a b\"]\n",
        ErrorKind::InvalidIdentifier,
    );
    assert_eq!(t, "\"a b\"");
    let p = parse("[analysis]\ntest-attributes = [\"freenet_test\", \"sim::case\"]\n").unwrap();
    assert_eq!(
        p.analysis.test_attributes,
        vec![
            vec!["freenet_test".to_string()],
            vec!["sim".into(), "case".into()]
        ]
    );
    assert!(parse("").unwrap().analysis.test_attributes.is_empty());
    assert_eq!(
        err_text(
            "[analysis]\ntest-attributes = [\"not ok\"]\n",
            ErrorKind::InvalidPath
        )
        .0,
        "\"not ok\""
    );
    let (t, err) = err_text(
        "[analysis]\ntest-attribute = [\"x\"]\n",
        ErrorKind::UnknownKey,
    );
    assert_eq!(t, "test-attribute");
    assert!(err.to_string().contains("test-attributes"), "{err}");
    let (t, err) = err_text("[analysis]\nfeature = [\"x\"]\n", ErrorKind::UnknownKey);
    assert_eq!(t, "feature");
    assert!(err.to_string().contains("features"), "{err}");
}

const BLOCKING_RULES: &[&str] = &[
    "runtime-panic-call",
    "listener-blocking-call",
    "banned-type",
];

fn parse_blocking(text: &str) -> Result<Policy, PolicyError> {
    parse_str(text, "channel-lint.toml", Path::new("/ws"), BLOCKING_RULES)
}

#[test]
fn rules_table_form_and_blocking_keys() {
    let p = parse_blocking(
        r#"
[rules]
banned-type = "warn"

[rules.listener-blocking-call]
level = "warn"
scope = "async"

[rules.runtime-panic-call]
level = "off"

[[blocking-call]]
path = "crate::transport::fast_channel::FastSender::try_send"
reason = "crossbeam backoff can spin forever"

[[blocking-insulator]]
path = "crate::executor::run_blocking"
"#,
    )
    .unwrap();
    assert_eq!(p.level("banned-type", Level::Error), Level::Warn);
    assert_eq!(p.level("listener-blocking-call", Level::Error), Level::Warn);
    assert_eq!(p.level("runtime-panic-call", Level::Error), Level::Off);
    assert_eq!(
        p.listener_blocking_scope,
        Some(channel_lint_policy::BlockingScope::Async)
    );
    assert_eq!(p.blocking_calls.len(), 1);
    assert_eq!(
        p.blocking_calls[0].segments,
        [
            "crate",
            "transport",
            "fast_channel",
            "FastSender",
            "try_send"
        ]
    );
    assert_eq!(
        p.blocking_insulators[0].segments,
        ["crate", "executor", "run_blocking"]
    );
    // A table without `level` keeps the default level.
    let p = parse_blocking("[rules.listener-blocking-call]\nscope = \"listener\"\n").unwrap();
    assert_eq!(
        p.level("listener-blocking-call", Level::Error),
        Level::Error
    );
    assert_eq!(
        p.listener_blocking_scope,
        Some(channel_lint_policy::BlockingScope::Listener)
    );
}

#[test]
fn rules_table_errors_point_at_the_value_with_the_nearest_spelling() {
    let text = "[rules.listener-blocking-call]\nscope = \"asnyc\"\n";
    let err = parse_blocking(text).expect_err("bad scope");
    assert_eq!(err.kind(), Some(ErrorKind::InvalidValue));
    assert_eq!(&text[err.span().unwrap()], "\"asnyc\"");
    assert!(
        format!("{err:?}").contains("did you mean \\\"async\\\""),
        "{err:?}"
    );

    let text = "[rules.listener-blocking-call]\nscpoe = \"async\"\n";
    let err = parse_blocking(text).expect_err("bad key");
    assert_eq!(err.kind(), Some(ErrorKind::UnknownKey));
    assert_eq!(&text[err.span().unwrap()], "scpoe");
    assert!(
        format!("{err:?}").contains("did you mean `scope`"),
        "{err:?}"
    );

    // `scope` is a setting of listener-blocking-call only.
    let text = "[rules.runtime-panic-call]\nscope = \"async\"\n";
    let err = parse_blocking(text).expect_err("scope on another rule");
    assert_eq!(err.kind(), Some(ErrorKind::UnknownKey));
    assert_eq!(&text[err.span().unwrap()], "scope");

    let text = "[rules.runtime-panic-call]\nlevel = \"eror\"\n";
    let err = parse_blocking(text).expect_err("bad level");
    assert_eq!(err.kind(), Some(ErrorKind::InvalidLevel));
    assert_eq!(&text[err.span().unwrap()], "\"eror\"");
    assert!(
        format!("{err:?}").contains("did you mean \\\"error\\\""),
        "{err:?}"
    );

    let text = "[rules.runtme-panic-call]\nlevel = \"warn\"\n";
    let err = parse_blocking(text).expect_err("bad rule");
    assert_eq!(err.kind(), Some(ErrorKind::UnknownRule));
    assert_eq!(&text[err.span().unwrap()], "runtme-panic-call");

    let text = "[[blocking-call]]\npath = \"a::b\"\nreason = \" \"\n";
    let err = parse_blocking(text).expect_err("empty reason");
    assert_eq!(err.kind(), Some(ErrorKind::EmptyReason));
    assert_eq!(&text[err.span().unwrap()], "\" \"");

    let text = "[[blocking-call]]\npath = \"a::b\"\n";
    let err = parse_blocking(text).expect_err("missing reason");
    assert_eq!(err.kind(), Some(ErrorKind::MissingKey));

    let text = "[[blocking-insulator]]\npath = \"a b\"\n";
    let err = parse_blocking(text).expect_err("bad path");
    assert_eq!(err.kind(), Some(ErrorKind::InvalidPath));
    assert_eq!(&text[err.span().unwrap()], "\"a b\"");

    let text = "[[blocking-insulator]]\npath = \"a\"\nreason = \"x\"\n";
    let err = parse_blocking(text).expect_err("unknown key");
    assert_eq!(err.kind(), Some(ErrorKind::UnknownKey));
}

#[test]
fn honour_clippy_allow_is_a_bool_of_undocumented_unsafe_only() {
    // Default: honoured.
    let p = parse("").unwrap();
    assert!(p.honours_clippy_allow());
    assert_eq!(p.honour_clippy_allow, None);
    let p = parse("[rules.undocumented-unsafe]\nhonour-clippy-allow = false\n").unwrap();
    assert!(!p.honours_clippy_allow());
    let p = parse("[rules.undocumented-unsafe]\nlevel = \"warn\"\nhonour-clippy-allow = true\n")
        .unwrap();
    assert!(p.honours_clippy_allow());
    assert_eq!(p.level("undocumented-unsafe", Level::Error), Level::Warn);

    // A string is not a bool: the error points at the value.
    let text = "[rules.undocumented-unsafe]\nhonour-clippy-allow = \"false\"\n";
    let (under, err) = err_text(text, ErrorKind::InvalidValue);
    assert_eq!(under, "\"false\"");
    assert!(
        format!("{err:?}").contains("expected `true` or `false`"),
        "{err:?}"
    );

    // A misspelt key gets the nearest setting.
    let text = "[rules.undocumented-unsafe]\nhonor-clippy-allow = false\n";
    let (under, err) = err_text(text, ErrorKind::UnknownKey);
    assert_eq!(under, "honor-clippy-allow");
    assert!(
        format!("{err:?}").contains("did you mean `honour-clippy-allow`"),
        "{err:?}"
    );

    // Not a setting of another rule.
    let text = "[rules.banned-type]\nhonour-clippy-allow = false\n";
    let (under, _) = err_text(text, ErrorKind::UnknownKey);
    assert_eq!(under, "honour-clippy-allow");

    // `level` must still be a string.
    let text = "[rules.undocumented-unsafe]\nlevel = false\n";
    let (under, err) = err_text(text, ErrorKind::InvalidValue);
    assert_eq!(under, "false");
    assert!(format!("{err:?}").contains("expected a string"), "{err:?}");
}
