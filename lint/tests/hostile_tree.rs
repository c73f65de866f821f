//! A tree built to break linters: every file gets a clear diagnostic or is skipped with a note,
//! the rest is still linted, and the run still succeeds (exit 2 is only for the tool itself).

use std::os::unix::fs::symlink;
use std::process::Command;

#[test]
fn hostile_tree_is_linted_or_explained() {
    let outside = tempfile::tempdir().unwrap();
    std::fs::write(
        outside.path().join("secret.rs"),
        "pub fn s() { unsafe { x() } }\n",
    )
    .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let src = dir.path().join("src");
    std::fs::create_dir(&src).unwrap();
    let w = |name: &str, bytes: &[u8]| std::fs::write(src.join(name), bytes).unwrap();
    w("lib.rs", b"pub fn f() { unsafe { g() } }\n");
    w("empty.rs", b"");
    w("latin1.rs", b"// caf\xe9\nfn x() {}\n");
    let depth = 5_000;
    w(
        "deep.rs",
        format!(
            "pub fn d() -> i32 {{ {}1{} }}\n",
            "(".repeat(depth),
            ")".repeat(depth)
        )
        .as_bytes(),
    );
    // ~20 MB of generated code.
    let mut big = String::with_capacity(21_000_000);
    for i in 0..400_000 {
        big.push_str(&format!(
            "pub fn f{i}(x: u32) -> u32 {{ x.wrapping_add({i}) }}\n"
        ));
    }
    assert!(big.len() >= 20_000_000);
    w("big.rs", big.as_bytes());
    std::fs::create_dir(src.join("folder.rs")).unwrap();
    symlink(src.join("loop_a"), src.join("loop_b")).unwrap();
    symlink(src.join("loop_b"), src.join("loop_a")).unwrap();
    symlink(src.join("loop_a"), src.join("loop.rs")).unwrap();
    symlink(outside.path().join("secret.rs"), src.join("outside.rs")).unwrap();
    symlink(outside.path(), src.join("outside_dir")).unwrap();
    let fifo = src.join("pipe.rs");
    assert!(Command::new("mkfifo")
        .arg(&fifo)
        .status()
        .unwrap()
        .success());

    let out = Command::new(env!("CARGO_BIN_EXE_cargo-channel-lint"))
        .args(["--format", "json", "."])
        .current_dir(dir.path())
        .output()
        .unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert_eq!(
        out.status.code(),
        Some(1),
        "{stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let v: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    let diags = v["diagnostics"].as_array().unwrap();
    let has = |path: &str, rule: &str| diags.iter().any(|d| d["path"] == path && d["rule"] == rule);
    assert!(has("src/lib.rs", "undocumented-unsafe"), "{stdout}");
    assert!(has("src/latin1.rs", "parse-error"), "{stdout}");
    assert!(
        !stdout.contains("secret"),
        "a file outside the root was read: {stdout}"
    );
    // linted: lib, empty, latin1 (reported), deep, big
    assert_eq!(v["summary"]["files"], 5, "{stdout}");
    let skipped: Vec<String> = v["summary"]["skipped"]
        .as_array()
        .unwrap()
        .iter()
        .map(|s| {
            format!(
                "{} {}",
                s["path"].as_str().unwrap(),
                s["reason"].as_str().unwrap()
            )
        })
        .collect();
    let skipped = skipped.join("\n");
    for name in ["src/loop.rs", "src/outside.rs", "src/pipe.rs"] {
        assert!(
            skipped.contains(name),
            "{name} not listed as skipped:\n{skipped}"
        );
    }
    assert!(
        skipped.contains("outside the root") || skipped.contains("looping"),
        "{skipped}"
    );
}
