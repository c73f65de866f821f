//! The prefilter and the facts cache are optimisations: every mode must give the same
//! diagnostics. Every fixture case is linted four ways (prefilter on, `--no-prefilter`, a cold
//! cache, a warm cache) and compared; then the cache's robustness: a corrupt pack, a changed
//! file, a changed policy.

use std::path::{Path, PathBuf};

use channel_lint::{rules, run_tuned, Options, Outcome, Tuning};

#[path = "support/markers.rs"]
mod markers;
#[path = "support/tree.rs"]
mod tree;

/// The fixture cases, copied with their `//~` markers stripped (the markers are test
/// annotations, not input); the copy lives as long as the returned folder.
fn fixtures_copy() -> tempfile::TempDir {
    let tmp = tempfile::tempdir().unwrap();
    let from = Path::new(env!("CARGO_MANIFEST_DIR")).join("../fixtures");
    markers::copy_stripped(&from, tmp.path());
    tmp
}

fn options(case: &Path) -> Option<Options> {
    let known = rules::ids();
    let cfg = case.join("channel-lint.toml");
    let policy = if cfg.is_file() {
        channel_lint_policy::load_file(&cfg, &known).ok()?
    } else {
        channel_lint_policy::defaults(case)
    };
    Some(Options {
        root: case.to_path_buf(),
        inputs: vec![],
        policy,
        jobs: Some(1),
        explain_path: None,
        list_functions: None,
    })
}

/// Everything a report shows, in order (an error of the run as its message).
fn summary(r: Result<Outcome, channel_lint::RunError>) -> String {
    match r {
        Ok(o) => {
            let mut s = format!(
                "files {} left to clippy {}\n",
                o.files_linted, o.left_to_clippy
            );
            for d in &o.diagnostics {
                s.push_str(&format!("{d:?}\n"));
            }
            s
        }
        Err(e) => format!("error: {e}"),
    }
}

/// The CLI's settings: with the prefilter, bodies are parsed when a rule reads them.
fn tuned(prefilter: bool, cache: Option<&Path>) -> Tuning {
    Tuning {
        prefilter,
        lazy_bodies: prefilter,
        // Off: these tests are about the facts entries (the run record has tests of its own).
        run_record: false,
        cache: cache.map(Path::to_path_buf),
    }
}

/// The prefilter, every body of a parsed file parsed with it (`--eager-bodies`).
fn eager(cache: Option<&Path>) -> Tuning {
    Tuning {
        lazy_bodies: false,
        ..tuned(true, cache)
    }
}

fn cases(root: &Path) -> Vec<PathBuf> {
    let mut out = Vec::new();
    for g in std::fs::read_dir(root.canonicalize().unwrap()).unwrap() {
        let g = g.unwrap().path();
        if !g.is_dir() {
            continue;
        }
        for c in std::fs::read_dir(&g).unwrap() {
            let c = c.unwrap().path();
            if c.is_dir() {
                out.push(c);
            }
        }
    }
    out.sort();
    out
}

/// The diagnostics of a full run that a prefiltered run cannot give: the grammar error of a file
/// that is lexically sound and can hold no other finding is only found by parsing it, which the
/// prefilter exists to avoid (see docs/performance.md). Everything else must be identical.
fn without_unseen_grammar_errors(full: &Outcome, pre: &Outcome) -> Vec<String> {
    full.diagnostics
        .iter()
        .filter(|d| {
            d.rule != "parse-error"
                || pre
                    .diagnostics
                    .iter()
                    .any(|p| p.rule == "parse-error" && p.path == d.path)
        })
        .map(|d| format!("{d:?}"))
        .collect()
}

#[test]
fn every_mode_gives_the_same_diagnostics_on_every_fixture() {
    let mut failures = Vec::new();
    let mut unseen = Vec::new();
    let mut n = 0;
    let copy = fixtures_copy();
    for case in cases(copy.path()) {
        let Some(opts) = options(&case) else {
            continue; // a policy-error case: nothing to compare
        };
        n += 1;
        let cache = tempfile::tempdir().unwrap();
        let full_run = run_tuned(&opts, &tuned(false, None));
        let pre_run = run_tuned(&opts, &tuned(true, None));
        if let (Ok(full), Ok(pre)) = (&full_run, &pre_run) {
            let expect = without_unseen_grammar_errors(full, pre);
            let got: Vec<String> = pre.diagnostics.iter().map(|d| format!("{d:?}")).collect();
            if expect != got {
                failures.push(format!(
                    "{}: prefilter differs from --no-prefilter\n{expect:#?}\n{got:#?}",
                    case.display()
                ));
            }
            if expect.len() != full.diagnostics.len() {
                unseen.push(case.display().to_string());
            }
            if pre.files_linted != full.files_linted {
                failures.push(format!("{}: files linted differ", case.display()));
            }
            if pre.left_to_clippy != full.left_to_clippy {
                failures.push(format!("{}: sites left to clippy differ", case.display()));
            }
        }
        let full = summary(full_run);
        let pre = summary(pre_run);
        if (full.starts_with("error") || pre.starts_with("error")) && full != pre {
            failures.push(format!("{}: {full} vs {pre}", case.display()));
        }
        // With every body of a parsed file parsed (the prefilter as it was before demand-driven
        // bodies), the only difference may be a grammar error in a body no rule reads.
        let eager_cache = tempfile::tempdir().unwrap();
        let eager_run = run_tuned(&opts, &eager(None));
        let lazy_run = run_tuned(&opts, &tuned(true, None));
        if let (Ok(e), Ok(p)) = (&eager_run, &lazy_run) {
            let expect = without_unseen_grammar_errors(e, p);
            let got: Vec<String> = p.diagnostics.iter().map(|d| format!("{d:?}")).collect();
            if expect != got {
                failures.push(format!(
                    "{}: lazy bodies differ from eager bodies\n{expect:#?}\n{got:#?}",
                    case.display()
                ));
            }
            if expect.len() != e.diagnostics.len() {
                unseen.push(case.display().to_string());
            }
        }
        let eager_sum = summary(eager_run);
        let modes = [
            (
                "eager bodies, cold cache",
                eager_sum.clone(),
                summary(run_tuned(&opts, &eager(Some(eager_cache.path())))),
            ),
            (
                "lazy bodies, warm cache filled by eager bodies",
                eager_sum.clone(),
                summary(run_tuned(&opts, &tuned(true, Some(eager_cache.path())))),
            ),
            (
                "cold cache",
                pre.clone(),
                summary(run_tuned(&opts, &tuned(true, Some(cache.path())))),
            ),
            (
                "warm cache",
                pre.clone(),
                summary(run_tuned(&opts, &tuned(true, Some(cache.path())))),
            ),
            (
                "warm cache, no prefilter",
                full.clone(),
                summary(run_tuned(&opts, &tuned(false, Some(cache.path())))),
            ),
            (
                "warm cache again",
                pre.clone(),
                summary(run_tuned(&opts, &tuned(true, Some(cache.path())))),
            ),
        ];
        // A lazy run that finds the whole parse's entry in the cache (written by the run
        // without the prefilter) reports that parse's grammar errors too.
        let grammar = |s: &str| -> String {
            s.lines()
                .filter(|l| !l.contains("rule: \"parse-error\""))
                .map(|l| format!("{l}\n"))
                .collect()
        };
        for (name, want, got) in modes {
            let after_whole =
                name == "warm cache again" && case.to_string_lossy().contains("/parse-error/");
            if after_whole && grammar(&got) == grammar(&want) {
                continue;
            }
            if got != want {
                failures.push(format!(
                    "{}: {name} differs\n--- want\n{want}--- {name}\n{got}",
                    case.display()
                ));
            }
        }
    }
    assert!(n > 50, "only {n} fixture cases found");
    assert!(failures.is_empty(), "{}", failures.join("\n"));
    // Only grammar errors in files no rule needs may go unseen, and only in parse-error cases.
    for c in &unseen {
        assert!(c.contains("/parse-error/"), "{c}: a diagnostic was lost");
    }
}

const UNSAFE_SRC: &str = "pub fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n";
const BAN_POLICY: &str =
    "[[banned-type]]\npath = \"tokio::net::UdpSocket\"\nreason = \"use the transport\"\n";

/// A small package in a temp folder: Cargo.toml, src/lib.rs, channel-lint.toml.
fn project(lib: &str, policy: &str) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(
        dir.path().join("Cargo.toml"),
        "[package]\nname = \"demo\"\nversion = \"0.1.0\"\n",
    )
    .unwrap();
    std::fs::create_dir_all(dir.path().join("src")).unwrap();
    std::fs::write(dir.path().join("src/lib.rs"), lib).unwrap();
    std::fs::write(dir.path().join("channel-lint.toml"), policy).unwrap();
    dir
}

fn opts_of(dir: &Path) -> Options {
    options(dir).expect("valid policy")
}

fn rules_of(r: Result<Outcome, channel_lint::RunError>) -> Vec<&'static str> {
    r.unwrap().diagnostics.iter().map(|d| d.rule).collect()
}

#[test]
fn a_corrupt_cache_is_ignored() {
    let dir = project(UNSAFE_SRC, BAN_POLICY);
    let cache = tempfile::tempdir().unwrap();
    let opts = opts_of(dir.path());
    let want = summary(run_tuned(&opts, &tuned(false, None)));
    assert_eq!(
        summary(run_tuned(&opts, &tuned(true, Some(cache.path())))),
        want
    );
    let pack = cache.path().join("facts.bin");
    assert!(pack.is_file(), "the cache was written");
    assert!(cache.path().join("CACHEDIR.TAG").is_file());
    let tag = std::fs::read_to_string(cache.path().join("CACHEDIR.TAG")).unwrap();
    assert!(tag.starts_with("Signature: 8a477f597d28d172789f06886806bc55"));
    let good = std::fs::read(&pack).unwrap();
    // Every single-byte corruption, and truncations, of the pack: never a panic, same result.
    let mut variants: Vec<Vec<u8>> = Vec::new();
    for i in (0..good.len()).step_by((good.len() / 40).max(1)) {
        let mut b = good.clone();
        b[i] ^= 0x5a;
        variants.push(b);
    }
    variants.push(good[..good.len() / 2].to_vec());
    variants.push(b"garbage".to_vec());
    variants.push(Vec::new());
    for b in variants {
        std::fs::write(&pack, &b).unwrap();
        assert_eq!(
            summary(run_tuned(&opts, &tuned(true, Some(cache.path())))),
            want
        );
    }
}

#[test]
fn a_changed_file_invalidates_its_entry() {
    let dir = project(UNSAFE_SRC, BAN_POLICY);
    let cache = tempfile::tempdir().unwrap();
    let opts = opts_of(dir.path());
    let t = tuned(true, Some(cache.path()));
    assert_eq!(rules_of(run_tuned(&opts, &t)), vec!["undocumented-unsafe"]);
    assert_eq!(rules_of(run_tuned(&opts, &t)), vec!["undocumented-unsafe"]);
    let documented =
        "pub fn f(p: *const u8) -> u8 {\n    // SAFETY: the caller passes a valid pointer\n    unsafe { *p }\n}\n";
    std::fs::write(dir.path().join("src/lib.rs"), documented).unwrap();
    assert!(rules_of(run_tuned(&opts, &t)).is_empty());
    std::fs::write(
        dir.path().join("src/lib.rs"),
        format!("{UNSAFE_SRC}pub fn g(s: tokio::net::UdpSocket) {{ drop(s) }}\n"),
    )
    .unwrap();
    assert_eq!(
        rules_of(run_tuned(&opts, &t)),
        vec!["undocumented-unsafe", "banned-type"]
    );
    assert_eq!(
        summary(run_tuned(&opts, &t)),
        summary(run_tuned(&opts, &tuned(false, None)))
    );
}

#[test]
fn a_changed_policy_invalidates_everything() {
    let src = "pub fn g(s: tokio::net::UdpSocket, t: std::net::TcpStream) { drop((s, t)) }\n";
    let dir = project(src, BAN_POLICY);
    let cache = tempfile::tempdir().unwrap();
    let t = tuned(true, Some(cache.path()));
    assert_eq!(
        rules_of(run_tuned(&opts_of(dir.path()), &t)),
        vec!["banned-type"]
    );
    // The same file, another ban: the cached facts (paths trimmed to `UdpSocket`) must not be used.
    std::fs::write(
        dir.path().join("channel-lint.toml"),
        "[[banned-type]]\npath = \"std::net::TcpStream\"\nreason = \"r\"\n",
    )
    .unwrap();
    let opts = opts_of(dir.path());
    let now = run_tuned(&opts, &t).unwrap();
    assert_eq!(now.diagnostics.len(), 1);
    assert!(now.diagnostics[0].message.contains("TcpStream"));
    assert_eq!(
        summary(run_tuned(&opts, &t)),
        summary(run_tuned(&opts, &tuned(false, None)))
    );
    // And back: the rule switched off.
    std::fs::write(
        dir.path().join("channel-lint.toml"),
        format!("{BAN_POLICY}[rules]\nbanned-type = \"off\"\n"),
    )
    .unwrap();
    assert!(rules_of(run_tuned(&opts_of(dir.path()), &t)).is_empty());
}

/// A crate with `lib`, `src/net.rs` renaming `UdpSocket` to `Sock`, and `src/user.rs` (the
/// only file the ban covers) holding `user`.
fn alias_project(lib: &str, user: &str) -> tempfile::TempDir {
    let dir = project(
        lib,
        "[[banned-type]]\npath = \"tokio::net::UdpSocket\"\nreason = \"r\"\nwithin = [\"src/user.rs\"]\n",
    );
    std::fs::write(
        dir.path().join("src/net.rs"),
        "pub use tokio::net::UdpSocket as Sock;\n",
    )
    .unwrap();
    std::fs::write(dir.path().join("src/user.rs"), user).unwrap();
    dir
}

#[test]
fn an_alias_in_another_file_makes_its_users_triggers() {
    // `Sock` never spells `UdpSocket`: it is found through the alias fixpoint.
    let dir = alias_project(
        "mod net;\nmod user;\n",
        "use crate::net::Sock;\npub fn f(_s: Sock) {}\n",
    );
    let opts = opts_of(dir.path());
    let full = summary(run_tuned(&opts, &tuned(false, None)));
    assert!(full.contains("banned-type"), "{full}");
    assert_eq!(summary(run_tuned(&opts, &tuned(true, None))), full);
}

/// A file read as a skeleton before an alias was found (its package holds the trigger, so it
/// is parsed in the first round) has a body that names only the alias: it is parsed again once
/// the alias is a trigger, and the occurrence in the body is found, as in a whole parse.
#[test]
fn a_body_naming_an_alias_found_later_is_parsed_again() {
    let dir = alias_project(
        "mod net;\nmod user;\npub fn uses_the_trigger(_: tokio::net::UdpSocket) {}\n",
        "pub fn f() {\n    let s: Option<crate::net::Sock> = None;\n    drop(s);\n}\n",
    );
    let opts = opts_of(dir.path());
    let full = summary(run_tuned(&opts, &tuned(false, None)));
    assert!(full.contains("src/user.rs"), "{full}");
    assert_eq!(summary(run_tuned(&opts, &tuned(true, None))), full);
    let cache = tempfile::tempdir().unwrap();
    for _ in 0..2 {
        assert_eq!(
            summary(run_tuned(&opts, &tuned(true, Some(cache.path())))),
            full
        );
    }
}

/// Packages in these folders of a temp folder (no workspace manifest), with these files.
fn packages(dirs: &[&str], files: &[(&str, &str)]) -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    for (i, rel) in dirs.iter().enumerate() {
        std::fs::create_dir_all(dir.path().join(rel).join("src")).unwrap();
        std::fs::write(
            dir.path().join(rel).join("Cargo.toml"),
            format!("[package]\nname = \"p{i}\"\nversion = \"0.1.0\"\n"),
        )
        .unwrap();
    }
    tree::write_files(dir.path(), files);
    dir
}

/// A lint level set in one file reaches the `unsafe` sites of the files its `mod` declarations
/// load, also into another package: through a `#[path]` (down from the level, or on the way from
/// the crate root to it), or into a package nested in the crate's folder. The prefilter parses
/// the chain, so every mode leaves the same sites to clippy.
#[test]
fn a_level_reaches_across_packages() {
    let below = (
        "b/src/below.rs",
        "pub fn g(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n",
    );
    // The level in `a`'s root, the sites in `b`'s files loaded from it.
    let down = packages(&["a", "b"], &[
        (
            "a/src/lib.rs",
            "#![allow(clippy::undocumented_unsafe_blocks)]\n#[path = \"../../b/src/shared.rs\"]\nmod shared;\n",
        ),
        ("b/src/lib.rs", "pub fn x() {}\n"),
        ("b/src/shared.rs", &format!("mod below;\n{UNSAFE_SRC}")),
        below,
    ]);
    // The level in `b`'s file, which `a`'s root (no word, no `unsafe`) loads.
    let up = packages(
        &["a", "b"],
        &[
            (
                "a/src/lib.rs",
                "#[path = \"../../b/src/shared.rs\"]\nmod shared;\n",
            ),
            ("b/src/lib.rs", "pub fn x() {}\n"),
            (
                "b/src/shared.rs",
                "#[allow(clippy::undocumented_unsafe_blocks)]\nmod below;\n",
            ),
            below,
        ],
    );
    // No `#[path]`: the level in `a`'s root, the site in a package nested in `a`'s `src/`.
    let nested = packages(
        &["a", "a/src/inner"],
        &[
            (
                "a/src/lib.rs",
                "#![allow(clippy::undocumented_unsafe_blocks)]\nmod inner;\n",
            ),
            ("a/src/inner/mod.rs", "mod leaf;\n"),
            ("a/src/inner/leaf.rs", UNSAFE_SRC),
            ("a/src/inner/src/lib.rs", "pub fn x() {}\n"),
        ],
    );
    for (dir, left) in [(&down, 2), (&up, 1), (&nested, 1)] {
        let opts = opts_of(dir.path());
        let full = summary(run_tuned(&opts, &tuned(false, None)));
        assert!(
            full.starts_with(&format!("files 4 left to clippy {left}\n")),
            "{full}"
        );
        assert!(!full.contains("undocumented-unsafe"), "{full}");
        assert_eq!(summary(run_tuned(&opts, &tuned(true, None))), full);
    }
}

/// Files parsed for their `unsafe` sites only have every item without an undocumented site
/// blanked before parsing (`prefilter::unsafe_items_text`). Sources where the byte-level item
/// split is wrong or tricky must still give exactly the diagnostics of a whole parse.
#[test]
fn blanked_items_give_the_diagnostics_of_a_whole_parse() {
    let documented = "pub fn ok(p: *const u8) -> u8 {\n    // SAFETY: the caller passes a valid pointer\n    unsafe { *p }\n}\n";
    let sources = [
        // A `}` at the top level of an item that goes on (const generic argument).
        "pub struct X;\npub trait Tr<const N: usize> { fn f(&self); }\nimpl Tr<{ 1 }> for X {\n    fn f(&self) {\n        unsafe { g() }\n    }\n}\nunsafe fn g() {}\n",
        // Struct literal and block initializers ending in `}` then `;`, or going on.
        "pub struct S { a: u8 }\npub const C: S = S { a: unsafe { h() } };\npub const D: u32 = { 1 }.count_ones();\nconst fn h() -> u8 { 1 }\n",
        "pub static E: u32 = { 2 } + unsafe { f() };\nconst unsafe fn f() -> u32 { 1 }\n",
        // Macro items with braces and with parentheses; a `macro_rules!` holding unsafe.
        "macro_rules! m { ($e:expr) => { unsafe { $e } }; }\nm!(1);\nother! { unsafe { x() } }\nfn y() { m!(2); }\n",
        // Attributes and doc comments before the undocumented item.
        "/// docs\n#[inline]\n#[cfg(all())]\npub fn z(p: *const u8) -> u8 { unsafe { *p } }\n",
        // Inner attributes, a byte order mark, a shebang line: at the start of the file.
        "#![allow(unused)]\n//! crate docs\npub fn i(p: *const u8) -> u8 { unsafe { *p } }\n",
        "\u{feff}pub fn bom(p: *const u8) -> u8 { unsafe { *p } }\n",
        "\u{feff}#![allow(unused)] pub fn bom(p: *const u8) -> u8 { unsafe { *p } }\n",
        "#!/usr/bin/env run-cargo-script\nfn main() { unsafe { q() } }\nunsafe fn q() {}\n",
        // Everything on one line, mixing documented and undocumented items.
        "pub fn b(p: *const u8) -> u8 { unsafe { *p } } pub fn a(p: *const u8) -> u8 { /* SAFETY: valid */ unsafe { *p } } unsafe impl Send for W {} pub struct W;\n",
        // Tabs, CRLF and multi-byte characters before the kept item on its line.
        "pub const É: &str = \"é→\"; pub fn c(p: *const u8) -> u8 {\r\n\tunsafe { *p }\r\n}\r\n",
        // A grammar error inside a kept item: the whole file is parsed and reports it.
        "pub fn bad() -> u8 { unsafe { let = 1; } }\n",
        // Nested modules and an `unsafe impl` inside one.
        "mod inner {\n    pub struct T;\n    unsafe impl Sync for T {}\n    pub fn f(p: *const u8) -> u8 {\n        // SAFETY: fine\n        unsafe { *p }\n    }\n}\n",
    ];
    for (i, body) in sources.iter().enumerate() {
        let src = if body.starts_with(['#', '\u{feff}']) {
            format!("{body}{documented}")
        } else {
            format!("{documented}{body}{documented}")
        };
        let dir = project(&src, "");
        let opts = opts_of(dir.path());
        let whole = summary(run_tuned(&opts, &tuned(false, None)));
        let pre = summary(run_tuned(&opts, &tuned(true, None)));
        assert_eq!(pre, whole, "source {i}:\n{src}");
        assert!(
            whole.contains("undocumented-unsafe") || whole.contains("parse-error"),
            "source {i} reports something"
        );
    }
}

/// What the blanking gives up, and nothing more: a grammar error in an item without an
/// undocumented `unsafe` site is not seen (as in a file no rule needs); the findings are the same.
#[test]
fn a_grammar_error_in_a_blanked_item_is_the_only_difference() {
    let src =
        "pub fn bad() -> u8 { let = 1; 0 }\npub fn f(p: *const u8) -> u8 {\n    unsafe { *p }\n}\n";
    let dir = project(src, "");
    let opts = opts_of(dir.path());
    let whole = run_tuned(&opts, &tuned(false, None)).unwrap();
    let pre = run_tuned(&opts, &tuned(true, None)).unwrap();
    let rules: Vec<&str> = whole.diagnostics.iter().map(|d| d.rule).collect();
    assert_eq!(rules, ["parse-error", "undocumented-unsafe"]);
    assert_eq!(
        without_unseen_grammar_errors(&whole, &pre),
        pre.diagnostics
            .iter()
            .map(|d| format!("{d:?}"))
            .collect::<Vec<_>>()
    );
}

/// The in-memory entry point is the disk run without the disk: every fixture case, read into a
/// `MemoryVfs`, gives exactly the diagnostics (byte ranges included) of `run_tuned`, with the
/// prefilter on and off.
#[test]
fn the_in_memory_analysis_gives_the_disk_run() {
    use channel_lint::driver::{analyze, MemoryVfs, Request};
    let mut checked = 0;
    let copy = fixtures_copy();
    for case in cases(copy.path()) {
        let Some(opts) = options(&case) else {
            continue;
        };
        let found = channel_lint::discover::discover(std::slice::from_ref(&case), &opts.policy);
        let mut vfs = MemoryVfs::new();
        for f in &found.files {
            vfs.insert(f.clone(), std::fs::read(f).unwrap());
        }
        for prefilter in [false, true] {
            let disk = run_tuned(&opts, &tuned(prefilter, None));
            let req = Request {
                packages: &found.packages,
                prefilter,
                lazy_bodies: prefilter,
                jobs: Some(1),
                ..Request::new(&case, &found.files, &opts.policy)
            };
            let mem = analyze(&req, &vfs, None);
            if let Ok(o) = &mem {
                assert!(
                    o.diagnostics
                        .iter()
                        .all(|d| d.range.is_some() || d.message.starts_with("cannot read")),
                    "{}: a diagnostic without a byte range",
                    case.display()
                );
            }
            assert_eq!(
                summary(mem),
                summary(disk),
                "{} (prefilter {prefilter})",
                case.display()
            );
        }
        checked += 1;
    }
    assert!(checked > 10, "only {checked} fixture cases");
}
