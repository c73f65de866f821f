//! Discovery order and `Cargo.toml` metadata.

use std::fs;
use std::path::Path;

use channel_lint_policy::{
    defaults, discover, load_cargo_manifest, load_file, stable_hash, ErrorKind, Level, Origin,
    PolicyError,
};

const RULES: &[&str] = &["banned-type", "undocumented-unsafe", "listener-send-await"];

fn write(path: &Path, text: &str) {
    fs::create_dir_all(path.parent().unwrap()).unwrap();
    fs::write(path, text).unwrap();
}

#[test]
fn channel_lint_toml_in_start_dir() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let text = "[rules]\nbanned-type = \"warn\"\n";
    write(&root.join("channel-lint.toml"), text);
    write(
        &root.join("Cargo.toml"),
        "[workspace]\n[workspace.metadata.channel-lint]\nrules = { banned-type = \"off\" }\n",
    );
    let loaded = discover(root, RULES).unwrap();
    assert_eq!(loaded.origin, Origin::File(root.join("channel-lint.toml")));
    assert_eq!(loaded.base_dir, root);
    assert_eq!(
        loaded.policy.level("banned-type", Level::Error),
        Level::Warn
    );
    assert_eq!(loaded.source_text.as_deref(), Some(text));
    assert_eq!(loaded.hash, stable_hash(text));
    assert_ne!(loaded.hash, 0);
}

#[test]
fn channel_lint_toml_in_ancestor_beats_workspace_metadata() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        &root.join("channel-lint.toml"),
        "exclude = [\"fixtures/**\"]\n",
    );
    write(
        &root.join("ws/Cargo.toml"),
        "[workspace]\n[workspace.metadata.channel-lint]\nexclude = [\"x\"]\n",
    );
    let start = root.join("ws/crates/a");
    fs::create_dir_all(&start).unwrap();
    let loaded = discover(&start, RULES).unwrap();
    assert_eq!(loaded.origin, Origin::File(root.join("channel-lint.toml")));
    assert_eq!(loaded.base_dir, root, "globs relative to the policy folder");
    assert!(loaded.policy.exclude.is_match("fixtures/a.rs"));
    assert_eq!(
        loaded
            .relative_path(&root.join("ws/crates/a/src/lib.rs"))
            .as_deref(),
        Some("ws/crates/a/src/lib.rs")
    );
    assert_eq!(loaded.relative_path(Path::new("/elsewhere/x.rs")), None);
}

#[test]
fn workspace_metadata_used_and_spans_point_into_cargo_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let manifest = "[package]\nname = \"x\"\n\n[workspace]\nmembers = [\"a\"]\n\n\
                    [workspace.metadata.channel-lint]\nexclude = [\"vendor/**\"]\n\n\
                    [[workspace.metadata.channel-lint.banned-type]]\npath = \"std::rc::Rc\"\n\
                    reason = \"not Send\"\n";
    write(&root.join("Cargo.toml"), manifest);
    // A member manifest without [workspace] on the way up is skipped.
    write(&root.join("a/Cargo.toml"), "[package]\nname = \"a\"\n");
    let start = root.join("a/src");
    fs::create_dir_all(&start).unwrap();
    let loaded = discover(&start, RULES).unwrap();
    assert_eq!(
        loaded.origin,
        Origin::CargoMetadata(root.join("Cargo.toml"))
    );
    assert_eq!(loaded.base_dir, root);
    assert_eq!(loaded.source_text.as_deref(), Some(manifest));
    assert_eq!(loaded.hash, stable_hash(manifest));
    assert!(loaded.policy.exclude.is_match("vendor/a/b.rs"));
    let bt = &loaded.policy.banned_types[0];
    assert_eq!(&manifest[bt.span.clone()], "\"std::rc::Rc\"");
    assert_eq!(
        &manifest[loaded.policy.exclude.spans()[0].clone()],
        "\"vendor/**\""
    );

    // error_at points into Cargo.toml.
    let err = loaded.error_at(bt.span.clone(), "matches nothing", Some("remove it".into()));
    assert_eq!(err.kind(), Some(ErrorKind::Custom));
    assert_eq!(err.span(), Some(bt.span.clone()));
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &err)
        .unwrap();
    assert!(out.contains("path = \"std::rc::Rc\""), "{out}");
    assert!(out.contains("Cargo.toml"), "{out}");
    assert!(out.contains("remove it"), "{out}");
}

#[test]
fn workspace_metadata_errors_point_into_cargo_toml() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let manifest = "[workspace]\nmembers = []\n\n[workspace.metadata.channel-lint]\n\
                    exclude = [\"ok\", \"bad[\"]\n";
    write(&root.join("Cargo.toml"), manifest);
    let err = discover(root, RULES).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::InvalidGlob));
    assert_eq!(&manifest[err.span().unwrap()], "\"bad[\"");

    let manifest =
        "[workspace]\n\n[workspace.metadata.channel-lint.rules]\nbanned-type = \"error\"\n\
                    bogus = \"warn\"\n";
    write(&root.join("Cargo.toml"), manifest);
    let err = discover(root, RULES).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::UnknownRule));
    assert_eq!(&manifest[err.span().unwrap()], "bogus");

    let manifest = "[workspace]\n[workspace.metadata.channel-lint]\nexlude = []\n";
    write(&root.join("Cargo.toml"), manifest);
    let err = discover(root, RULES).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::UnknownKey));
    assert_eq!(&manifest[err.span().unwrap()], "exlude");
}

#[test]
fn unrelated_cargo_metadata_is_ignored() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let manifest = "[workspace]\n[workspace.metadata.other-tool]\nwhatever = 1\n\
                    [workspace.dependencies]\nserde = \"1\"\n";
    write(&root.join("Cargo.toml"), manifest);
    let loaded = discover(root, RULES).unwrap();
    assert_eq!(loaded.origin, Origin::Default);
}

#[test]
fn workspace_without_metadata_gives_defaults() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(&root.join("ws/Cargo.toml"), "[workspace]\nmembers = []\n");
    // A workspace further up is not consulted: the nearest one decides.
    write(
        &root.join("Cargo.toml"),
        "[workspace]\n[workspace.metadata.channel-lint]\nexclude = [\"x\"]\n",
    );
    let loaded = discover(&root.join("ws"), RULES).unwrap();
    assert_eq!(loaded.origin, Origin::Default);
    assert_eq!(loaded.base_dir, root.join("ws"));
    assert_eq!(loaded.hash, 0);
    assert!(loaded.source_text.is_none());
}

#[test]
fn empty_workspace_metadata_table() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    write(
        &root.join("Cargo.toml"),
        "[workspace]\n\n[workspace.metadata.channel-lint]\n# nothing\n",
    );
    let loaded = discover(root, RULES).unwrap();
    assert_eq!(
        loaded.origin,
        Origin::CargoMetadata(root.join("Cargo.toml"))
    );
    assert!(loaded.policy.rules.is_empty());
}

#[test]
fn root_package_metadata_accepted() {
    let tmp = tempfile::tempdir().unwrap();
    let root = tmp.path();
    let manifest = "[package]\nname = \"solo\"\n\n[package.metadata.channel-lint.rules]\n\
                    undocumented-unsafe = \"off\"\n";
    write(&root.join("Cargo.toml"), manifest);
    let loaded = discover(&root.join("src"), RULES).unwrap();
    assert_eq!(
        loaded.origin,
        Origin::CargoMetadata(root.join("Cargo.toml"))
    );
    assert_eq!(
        loaded.policy.level("undocumented-unsafe", Level::Error),
        Level::Off
    );
    // Same with an explicit [workspace] in that manifest.
    let manifest = format!("{manifest}\n[workspace]\n");
    write(&root.join("Cargo.toml"), &manifest);
    let loaded = load_cargo_manifest(&root.join("Cargo.toml"), RULES)
        .unwrap()
        .unwrap();
    assert_eq!(
        loaded.policy.level("undocumented-unsafe", Level::Error),
        Level::Off
    );
}

#[test]
fn defaults_when_nothing_found() {
    let tmp = tempfile::tempdir().unwrap();
    let loaded = discover(tmp.path(), RULES).unwrap();
    assert_eq!(loaded.origin, Origin::Default);
    assert_eq!(loaded.base_dir, tmp.path());
    assert!(loaded.policy.rules.is_empty());
    assert!(loaded.policy.exclude.is_empty());

    let d = defaults(Path::new("rel/dir"));
    assert_eq!(d.base_dir, Path::new("rel/dir"));
    assert_eq!(d.hash, 0);
    let err = d.error_at(0..3, "no source", None);
    assert_eq!(err.span(), None);
    let mut out = String::new();
    miette::GraphicalReportHandler::new_themed(miette::GraphicalTheme::unicode_nocolor())
        .render_report(&mut out, &err)
        .unwrap();
    assert!(out.contains("no source"));
}

#[test]
fn broken_cargo_toml_is_an_error_with_span() {
    let tmp = tempfile::tempdir().unwrap();
    let manifest = "[workspace\n";
    write(&tmp.path().join("Cargo.toml"), manifest);
    let err = discover(tmp.path(), RULES).unwrap_err();
    assert_eq!(err.kind(), Some(ErrorKind::Syntax));
    assert!(err.span().unwrap().end <= manifest.len());
}

#[test]
fn load_file_explicit_and_io_error() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("conf/custom.toml");
    write(&path, "exclude = [\"gen\"]\n");
    let loaded = load_file(&path, RULES).unwrap();
    assert_eq!(loaded.origin, Origin::File(path.clone()));
    assert_eq!(loaded.base_dir, tmp.path().join("conf"));
    assert!(loaded.policy.exclude.is_match("src/gen/x.rs"));

    let missing = tmp.path().join("nope.toml");
    let err = load_file(&missing, RULES).unwrap_err();
    assert!(matches!(err, PolicyError::Io { ref path, .. } if *path == missing));
    assert_eq!(err.kind(), None);
    assert_eq!(err.span(), None);
    use miette::Diagnostic;
    assert_eq!(err.code().unwrap().to_string(), "channel_lint::policy::io");
}

#[test]
fn load_file_error_names_the_file() {
    let tmp = tempfile::tempdir().unwrap();
    let path = tmp.path().join("channel-lint.toml");
    let text = "[rules]\nbanned-type = \"loud\"\n";
    write(&path, text);
    let err = discover(tmp.path(), RULES).unwrap_err();
    let PolicyError::Invalid(inv) = &err else {
        panic!("{err:?}")
    };
    assert_eq!(inv.source_name(), Some(path.display().to_string().as_str()));
    assert_eq!(&text[err.span().unwrap()], "\"loud\"");
}

#[test]
fn hash_is_stable() {
    // FNV-1a 64 reference values.
    assert_eq!(stable_hash(""), 0xcbf2_9ce4_8422_2325);
    assert_eq!(stable_hash("a"), 0xaf63_dc4c_8601_ec8c);
    assert_ne!(stable_hash("exclude = []"), stable_hash("exclude = [ ]"));
}
