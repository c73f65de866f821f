//! Glob semantics (see `Globs` docs).

use channel_lint_policy::Globs;

fn globs(patterns: &[&str]) -> Globs {
    Globs::new(patterns).unwrap()
}

#[test]
fn empty_matches_nothing() {
    let g = Globs::default();
    assert!(g.is_empty());
    assert!(!g.is_match("a.rs"));
    assert!(!g.is_match(""));
    assert!(globs(&[]).is_empty());
}

#[test]
fn double_star_suffix_matches_below_and_the_dir_itself() {
    let g = globs(&["fixtures/**"]);
    assert!(!g.is_empty());
    assert!(g.is_match("fixtures/a.rs"));
    assert!(g.is_match("fixtures/deep/er/a.rs"));
    assert!(g.is_match("fixtures"));
    assert!(!g.is_match("src/fixtures/a.rs"), "anchored: has a slash");
    assert!(!g.is_match("fixtures2/a.rs"));
}

#[test]
fn pattern_without_slash_matches_at_any_depth() {
    let g = globs(&["target"]);
    assert!(g.is_match("target"));
    assert!(g.is_match("target/debug/x.rs"));
    assert!(g.is_match("crates/a/target/x.rs"));
    assert!(!g.is_match("targets/x.rs"));
    assert!(!g.is_match("my-target/x.rs"));

    let g = globs(&["*.gen.rs"]);
    assert!(g.is_match("a.gen.rs"));
    assert!(g.is_match("src/deep/a.gen.rs"));
    assert!(!g.is_match("src/a.rs"));
}

#[test]
fn pattern_with_slash_is_anchored() {
    let g = globs(&["node/src/*.rs"]);
    assert!(g.is_match("node/src/lib.rs"));
    assert!(!g.is_match("node/src/sub/lib.rs"), "`*` does not cross `/`");
    assert!(!g.is_match("x/node/src/lib.rs"));

    let g = globs(&["/target"]);
    assert!(g.is_match("target/x.rs"));
    assert!(!g.is_match("a/target/x.rs"));
}

#[test]
fn plain_directory_matches_contents() {
    let g = globs(&["vendor/"]);
    assert!(g.is_match("vendor"));
    assert!(g.is_match("vendor/x/y.rs"));
    let g = globs(&["node/src"]);
    assert!(g.is_match("node/src/transport/udp.rs"));
    assert!(!g.is_match("node/srcx/a.rs"));
}

#[test]
fn inner_double_star() {
    let g = globs(&["node/**/udp.rs"]);
    assert!(g.is_match("node/udp.rs"));
    assert!(g.is_match("node/src/transport/udp.rs"));
    assert!(!g.is_match("lint/udp.rs"));
    let g = globs(&["**/tests/**"]);
    assert!(g.is_match("tests/a.rs"));
    assert!(g.is_match("node/tests/a.rs"));
}

#[test]
fn exact_file() {
    let g = globs(&["node/src/transport/udp.rs"]);
    assert!(g.is_match("node/src/transport/udp.rs"));
    assert!(!g.is_match("node/src/transport/udp.rs.bak"));
}

#[test]
fn dot_slash_prefixes_ignored() {
    let g = globs(&["./fixtures/**"]);
    assert!(g.is_match("fixtures/a.rs"));
    assert!(g.is_match("./fixtures/a.rs"));
}

#[test]
fn alternation_and_classes() {
    let g = globs(&["{fixtures,vendor}/**", "src/[ab].rs"]);
    assert!(g.is_match("vendor/x.rs"));
    assert!(g.is_match("fixtures/x.rs"));
    assert!(g.is_match("src/a.rs"));
    assert!(!g.is_match("src/c.rs"));
}

#[test]
fn matching_patterns_reports_indices() {
    let g = globs(&["a/**", "*.rs", "b"]);
    assert_eq!(g.matching_patterns("a/x.rs"), vec![0, 1]);
    assert_eq!(g.matching_patterns("b/y.txt"), vec![2]);
    assert!(g.matching_patterns("c/y.txt").is_empty());
    assert_eq!(g.patterns(), ["a/**", "*.rs", "b"]);
    assert_eq!(g.spans().len(), 3);
}

#[test]
fn invalid_patterns_rejected() {
    for bad in ["[z-a]", "{a,b", "a[", "!x", "", "/", "a\\"] {
        assert!(Globs::new(&[bad]).is_err(), "{bad:?} accepted");
    }
}
