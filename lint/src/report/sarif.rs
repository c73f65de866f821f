//! `--format sarif`: SARIF 2.1.0 for GitHub code scanning (`github/codeql-action/upload-sarif`)
//! and other SARIF viewers.
//!
//! - every rule of [`rules::ALL`] is listed in `tool.driver.rules`, with its documentation as help
//!   and the policy's level as `defaultConfiguration.level`;
//! - locations are relative to `%SRCROOT%` (the lint root); columns are characters, 1-based,
//!   end exclusive (`columnKind: unicodeCodePoints`), which is our `Diagnostic` convention too;
//! - `partialFingerprints["channelLint/v1"]` is the baseline fingerprint ([`crate::baseline`]):
//!   it survives line shifts;
//! - a `listener-send-await` finding carries its call chain as a code flow (entry point first,
//!   ending at the send) and as related locations.

use std::path::Path;

use channel_lint_policy::{Level, LoadedPolicy};
use serde_json::{json, Value};

use crate::baseline::{self, Sources};
use crate::diagnostic::{Diagnostic, Fix, Related, Severity, Span};
use crate::rules::{self, RuleMeta};
use crate::Outcome;

pub const SCHEMA: &str = "https://json.schemastore.org/sarif-2.1.0.json";

/// Where to read about the tool: the package's `repository` (or `homepage`) when set.
pub fn information_uri() -> &'static str {
    const REPO: &str = env!("CARGO_PKG_REPOSITORY");
    const HOME: &str = env!("CARGO_PKG_HOMEPAGE");
    if !REPO.is_empty() {
        REPO
    } else if !HOME.is_empty() {
        HOME
    } else {
        "https://crates.io/crates/cargo-channel-lint"
    }
}

/// `listener-send-await` → `ListenerSendAwait` (SARIF wants a Pascal-case rule name).
pub fn pascal_case(id: &str) -> String {
    id.split(|c: char| !c.is_ascii_alphanumeric())
        .filter(|p| !p.is_empty())
        .map(|p| {
            let mut c = p.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect()
}

/// A message as a SARIF sentence: trimmed, ending with a period.
pub fn sentence(text: &str) -> String {
    let t = text.trim_end();
    if t.ends_with(['.', '!', '?']) {
        t.to_string()
    } else {
        format!("{t}.")
    }
}

/// The first paragraph of the rule doc's "What it does" section (else of the doc).
pub fn full_description(doc: &str) -> String {
    let body = match doc.find("## What it does") {
        Some(i) => &doc[i + "## What it does".len()..],
        None => doc,
    };
    let para: Vec<&str> = body
        .lines()
        .map(str::trim)
        .skip_while(|l| l.is_empty() || l.starts_with('#'))
        .take_while(|l| !l.is_empty() && !l.starts_with('#'))
        .collect();
    sentence(&para.join(" "))
}

/// Percent-encode a relative path for a URI reference (keeps `/` and unreserved characters).
pub fn uri_path(path: &str) -> String {
    let mut out = String::new();
    for b in path.bytes() {
        match b {
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'.' | b'_' | b'~' | b'/' => {
                out.push(b as char)
            }
            _ => out.push_str(&format!("%{b:02X}")),
        }
    }
    out
}

/// The level a rule has under `policy` (`none` when off), SARIF spelling.
pub fn sarif_level(level: Level) -> &'static str {
    match level {
        Level::Error => "error",
        Level::Warn => "warning",
        Level::Off => "none",
    }
}

fn region(span: Span) -> Value {
    let mut r = json!({
        "startLine": span.line.max(1),
        "startColumn": span.column.max(1),
    });
    // An empty span (a whole-file problem at 1:1) is reported as the start position only.
    let end_line = span.end_line.max(span.line.max(1));
    let end_column = if end_line == span.line.max(1) {
        span.end_column.max(span.column.max(1))
    } else {
        span.end_column.max(1)
    };
    if (end_line, end_column) != (span.line.max(1), span.column.max(1)) {
        r["endLine"] = json!(end_line);
        r["endColumn"] = json!(end_column);
    }
    r
}

fn physical(path: &str, span: Span) -> Value {
    json!({
        "artifactLocation": { "uri": uri_path(path), "uriBaseId": "%SRCROOT%" },
        "region": region(span),
    })
}

fn related_span(r: &Related) -> Span {
    Span {
        line: r.line,
        column: r.column,
        end_line: r.end_line,
        end_column: r.end_column,
    }
}

fn rule_descriptor(r: &RuleMeta, policy: Option<&LoadedPolicy>) -> Value {
    let level = policy
        .map(|p| rules::Levels::decide(p, r))
        .unwrap_or(r.default_level);
    json!({
        "id": r.id,
        "name": pascal_case(r.id),
        "shortDescription": { "text": sentence(r.summary) },
        "fullDescription": { "text": full_description(r.doc) },
        "help": { "text": r.doc, "markdown": r.doc },
        "defaultConfiguration": { "level": sarif_level(level) },
        "properties": {
            "tags": ["channel-lint"],
            "precision": "high",
            "problem.severity": match level {
                Level::Error => "error",
                Level::Warn => "warning",
                Level::Off => "recommendation",
            },
        },
    })
}

/// The text of `span` in `lines` (1-based lines, character columns, end exclusive).
fn span_text(lines: &[&str], span: Span) -> Option<String> {
    let first = *lines.first()?;
    let last = *lines.last()?;
    if span.end_line < span.line || lines.len() != (span.end_line - span.line + 1) as usize {
        return None;
    }
    let from = span.column.max(1) as usize - 1;
    let to = span.end_column.max(1) as usize - 1;
    if lines.len() == 1 {
        let chars: Vec<char> = first.chars().collect();
        if from >= to || to > chars.len() {
            return None;
        }
        return Some(chars[from..to].iter().collect());
    }
    let mut out: String = first.chars().skip(from).collect();
    for l in &lines[1..lines.len() - 1] {
        out.push('\n');
        out.push_str(l);
    }
    out.push('\n');
    out.extend(last.chars().take(to));
    Some(out)
}

/// The primary location: region with its `snippet`, and the whole lines as `contextRegion`.
fn primary_location(d: &Diagnostic, sources: &mut Sources, root: &Path) -> Value {
    let mut loc = physical(&d.path, d.span);
    let mut lines: Vec<String> = Vec::new();
    if d.span.line >= 1 && d.span.end_line >= d.span.line && d.span.end_line - d.span.line < 50 {
        for l in d.span.line..=d.span.end_line {
            match sources.line(root, &d.path, l) {
                Some(t) => lines.push(t.to_string()),
                None => {
                    lines.clear();
                    break;
                }
            }
        }
    }
    if lines.is_empty() {
        return loc;
    }
    let refs: Vec<&str> = lines.iter().map(String::as_str).collect();
    if let Some(text) = span_text(&refs, d.span) {
        loc["region"]["snippet"] = json!({ "text": text });
    }
    loc["contextRegion"] = json!({
        "startLine": d.span.line,
        "endLine": d.span.end_line,
        "snippet": { "text": lines.join("\n") },
    });
    loc
}

/// `versionControlProvenance` from the GitHub Actions environment (`GITHUB_SERVER_URL`,
/// `GITHUB_REPOSITORY`, `GITHUB_SHA`, `GITHUB_REF`), when there.
pub fn version_control_from_env() -> Option<Value> {
    let var = |k: &str| std::env::var(k).ok().filter(|v| !v.is_empty());
    let server = var("GITHUB_SERVER_URL")?;
    let repo = var("GITHUB_REPOSITORY")?;
    let sha = var("GITHUB_SHA")?;
    let mut v = json!({
        "repositoryUri": format!("{}/{repo}", server.trim_end_matches('/')),
        "revisionId": sha,
        "mappedTo": { "uriBaseId": "%SRCROOT%" },
    });
    if let Some(r) = var("GITHUB_REF") {
        v["branch"] = json!(r);
    }
    Some(v)
}

/// A SARIF `fix`: one artifact change with a replacement per edit, by byte offset.
fn fix_value(path: &str, fix: &Fix) -> Value {
    let replacements: Vec<Value> = fix
        .edits
        .iter()
        .map(|e| {
            json!({
                "deletedRegion": { "byteOffset": e.range.start, "byteLength": e.range.len() },
                "insertedContent": { "text": e.replacement },
            })
        })
        .collect();
    json!({
        "description": { "text": sentence(&fix.message) },
        "artifactChanges": [ {
            "artifactLocation": { "uri": uri_path(path), "uriBaseId": "%SRCROOT%" },
            "replacements": replacements,
        } ],
        "properties": { "applicability": fix.applicability },
    })
}

fn result(d: &Diagnostic, fingerprint: &str) -> Value {
    let rule_index = rules::ALL.iter().position(|r| r.id == d.rule);
    let mut res = json!({
        "ruleId": d.rule,
        "level": match d.severity {
            Severity::Error => "error",
            Severity::Warning => "warning",
        },
        "message": { "text": sentence(&d.message) },
        "locations": [ { "physicalLocation": physical(&d.path, d.span) } ],
        "partialFingerprints": { "channelLint/v1": fingerprint },
    });
    if let Some(i) = rule_index {
        res["ruleIndex"] = json!(i);
    }
    if !d.notes.is_empty() {
        res["properties"] = json!({ "notes": d.notes });
    }
    if let Some(fix) = &d.fix {
        res["fixes"] = json!([fix_value(&d.path, fix)]);
    }
    if !d.related.is_empty() {
        let related: Vec<Value> = d
            .related
            .iter()
            .enumerate()
            .map(|(i, r)| {
                json!({
                    "id": i + 1,
                    "physicalLocation": physical(&r.path, related_span(r)),
                    "message": { "text": sentence(&r.message) },
                })
            })
            .collect();
        let mut steps: Vec<Value> = d
            .related
            .iter()
            .map(|r| {
                json!({
                    "location": {
                        "physicalLocation": physical(&r.path, related_span(r)),
                        "message": { "text": sentence(&r.message) },
                    },
                    "kinds": ["call"],
                })
            })
            .collect();
        steps.push(json!({
            "location": {
                "physicalLocation": physical(&d.path, d.span),
                "message": { "text": "Awaits channel capacity here." },
            },
            "kinds": ["exit"],
        }));
        res["relatedLocations"] = json!(related);
        res["codeFlows"] = json!([{
            "message": { "text": "Call chain from the listener entry point to the send." },
            "threadFlows": [ { "locations": steps } ],
        }]);
    }
    res
}

/// The SARIF log for `outcome`. `root` is the lint root (`%SRCROOT%`; the files are read for
/// fingerprints); `policy`, when given, sets each rule's `defaultConfiguration.level`.
pub fn render(outcome: &Outcome, root: &Path, policy: Option<&LoadedPolicy>) -> String {
    render_with(outcome, root, policy, None)
}

/// [`render`], with `versionControlProvenance` (see [`version_control_from_env`]).
pub fn render_with(
    outcome: &Outcome,
    root: &Path,
    policy: Option<&LoadedPolicy>,
    version_control: Option<Value>,
) -> String {
    let fps = baseline::fingerprints(&outcome.diagnostics, root);
    let mut sources = Sources::default();
    let results: Vec<Value> = outcome
        .diagnostics
        .iter()
        .zip(&fps)
        .map(|(d, fp)| {
            let mut r = result(d, &fp.id);
            r["locations"][0]["physicalLocation"] = primary_location(d, &mut sources, root);
            r
        })
        .collect();
    let notifications: Vec<Value> = outcome
        .skipped
        .iter()
        .map(|(p, reason)| {
            json!({
                "level": "warning",
                "message": { "text": sentence(&format!("Skipped {p}: {reason}")) },
                "locations": [ { "physicalLocation": {
                    "artifactLocation": { "uri": uri_path(p), "uriBaseId": "%SRCROOT%" }
                } } ],
            })
        })
        .collect();
    let mut invocation = json!({ "executionSuccessful": true });
    if !notifications.is_empty() {
        invocation["toolExecutionNotifications"] = json!(notifications);
    }
    let mut run = json!({
        "tool": { "driver": {
            "name": "channel-lint",
            "version": env!("CARGO_PKG_VERSION"),
            "semanticVersion": env!("CARGO_PKG_VERSION"),
            "informationUri": information_uri(),
            "rules": rules::ALL.iter().map(|r| rule_descriptor(r, policy)).collect::<Vec<_>>(),
        } },
        "invocations": [invocation],
        "columnKind": "unicodeCodePoints",
        "results": results,
    });
    if let Some(vc) = version_control {
        run["versionControlProvenance"] = json!([vc]);
    }
    if let Some(uri) = root_uri(root) {
        run["originalUriBaseIds"] = json!({ "%SRCROOT%": { "uri": uri } });
    }
    let log = json!({
        "$schema": SCHEMA,
        "version": "2.1.0",
        "runs": [run],
    });
    let mut s = serde_json::to_string_pretty(&log).unwrap_or_default();
    s.push('\n');
    s
}

/// `file:///abs/root/` for an absolute root (with a trailing slash, as SARIF requires).
fn root_uri(root: &Path) -> Option<String> {
    if !root.is_absolute() {
        return None;
    }
    let p = root.to_string_lossy().replace('\\', "/");
    let p = p.trim_end_matches('/');
    let p = if p.starts_with('/') {
        p.to_string()
    } else {
        format!("/{p}")
    };
    Some(format!("file://{}/", uri_path(&p)))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn outcome_with(d: Vec<Diagnostic>) -> Outcome {
        Outcome {
            diagnostics: d,
            files_linted: 1,
            ..Outcome::default()
        }
    }

    #[test]
    fn helpers() {
        assert_eq!(pascal_case("listener-send-await"), "ListenerSendAwait");
        assert_eq!(sentence("a b "), "a b.");
        assert_eq!(sentence("done."), "done.");
        assert_eq!(uri_path("src/a b/ü.rs"), "src/a%20b/%C3%BC.rs");
        assert_eq!(
            full_description("# x\n\n## What it does\n\nReports a\nthing\n\nMore.\n"),
            "Reports a thing."
        );
        assert_eq!(
            root_uri(Path::new("/work/my repo")).unwrap(),
            "file:///work/my%20repo/"
        );
    }

    #[test]
    fn every_rule_is_described() {
        let log: Value = serde_json::from_str(&render(
            &outcome_with(vec![]),
            Path::new("/nonexistent"),
            None,
        ))
        .unwrap();
        assert_eq!(log["version"], "2.1.0");
        assert_eq!(log["$schema"], SCHEMA);
        let driver = &log["runs"][0]["tool"]["driver"];
        assert_eq!(driver["name"], "channel-lint");
        assert_eq!(driver["version"], env!("CARGO_PKG_VERSION"));
        let rules_json = driver["rules"].as_array().unwrap();
        assert_eq!(rules_json.len(), rules::ALL.len());
        for (r, j) in rules::ALL.iter().zip(rules_json) {
            assert_eq!(j["id"], r.id);
            assert_eq!(j["help"]["markdown"], r.doc);
            assert!(j["shortDescription"]["text"]
                .as_str()
                .unwrap()
                .starts_with(&r.summary[..10]));
            assert!(!j["fullDescription"]["text"].as_str().unwrap().is_empty());
        }
        assert_eq!(
            rules_json[0]["defaultConfiguration"]["level"],
            sarif_level(rules::ALL[0].default_level)
        );
        assert_eq!(log["runs"][0]["results"], json!([]));
    }

    #[test]
    fn a_fix_becomes_a_sarif_fix() {
        use crate::diagnostic::{Applicability, Edit, TextRange};
        let d = Diagnostic::new("banned-type", "src/a b.rs", Span::default(), "m");
        let plain = result(&d, "fp");
        assert!(plain.get("fixes").is_none());
        let d = d.with_fix(Fix::new(
            "use `Sock`",
            vec![Edit {
                range: TextRange::new(4, 13),
                replacement: "Sock".into(),
            }],
            Applicability::DisplayOnly,
        ));
        assert_eq!(
            result(&d, "fp")["fixes"],
            json!([{
                "description": { "text": "use `Sock`." },
                "artifactChanges": [ {
                    "artifactLocation": { "uri": "src/a%20b.rs", "uriBaseId": "%SRCROOT%" },
                    "replacements": [ {
                        "deletedRegion": { "byteOffset": 4, "byteLength": 9 },
                        "insertedContent": { "text": "Sock" },
                    } ],
                } ],
                "properties": { "applicability": "display-only" },
            }])
        );
    }

    #[test]
    fn result_with_call_chain() {
        let dir = tempfile::tempdir().unwrap();
        std::fs::create_dir(dir.path().join("src")).unwrap();
        std::fs::write(
            dir.path().join("src/lib.rs"),
            "fn a() {\n    b();\n}\nasync fn b() {\n    tx.send(1).await;\n}\n",
        )
        .unwrap();
        let mut d = Diagnostic::new(
            "listener-send-await",
            "src/lib.rs",
            Span {
                line: 5,
                column: 8,
                end_line: 5,
                end_column: 12,
            },
            "blocks: a → b",
        );
        d.notes.push("n".into());
        d.related.push(Related {
            path: "src/lib.rs".into(),
            line: 2,
            column: 5,
            end_line: 2,
            end_column: 8,
            message: "`a` calls `b`".into(),
        });
        let mut w = Diagnostic::new(
            "parse-error",
            "src/lib.rs",
            Span {
                line: 1,
                column: 1,
                end_line: 1,
                end_column: 1,
            },
            "cannot read",
        );
        w.severity = Severity::Warning;
        let log: Value =
            serde_json::from_str(&render(&outcome_with(vec![d, w]), dir.path(), None)).unwrap();
        let res = &log["runs"][0]["results"][0];
        let fp = baseline::line_hash("listener-send-await", "src/lib.rs", "tx.send(1).await;");
        let expected = json!({
            "ruleId": "listener-send-await",
            "ruleIndex": 0,
            "level": "error",
            "message": { "text": "blocks: a → b." },
            "locations": [ { "physicalLocation": {
                "artifactLocation": { "uri": "src/lib.rs", "uriBaseId": "%SRCROOT%" },
                "region": {
                    "startLine": 5, "startColumn": 8, "endLine": 5, "endColumn": 12,
                    "snippet": { "text": "send" }
                },
                "contextRegion": {
                    "startLine": 5, "endLine": 5,
                    "snippet": { "text": "    tx.send(1).await;" }
                }
            } } ],
            "partialFingerprints": { "channelLint/v1": format!("{fp}:0") },
            "properties": { "notes": ["n"] },
            "relatedLocations": [ {
                "id": 1,
                "physicalLocation": {
                    "artifactLocation": { "uri": "src/lib.rs", "uriBaseId": "%SRCROOT%" },
                    "region": { "startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 8 }
                },
                "message": { "text": "`a` calls `b`." }
            } ],
            "codeFlows": [ {
                "message": { "text": "Call chain from the listener entry point to the send." },
                "threadFlows": [ { "locations": [
                    { "location": {
                        "physicalLocation": {
                            "artifactLocation": { "uri": "src/lib.rs", "uriBaseId": "%SRCROOT%" },
                            "region": { "startLine": 2, "startColumn": 5, "endLine": 2, "endColumn": 8 }
                        },
                        "message": { "text": "`a` calls `b`." }
                      }, "kinds": ["call"] },
                    { "location": {
                        "physicalLocation": {
                            "artifactLocation": { "uri": "src/lib.rs", "uriBaseId": "%SRCROOT%" },
                            "region": { "startLine": 5, "startColumn": 8, "endLine": 5, "endColumn": 12 }
                        },
                        "message": { "text": "Awaits channel capacity here." }
                      }, "kinds": ["exit"] }
                ] } ]
            } ]
        });
        assert_eq!(res, &expected);
        let whole = &log["runs"][0]["results"][1];
        assert_eq!(whole["level"], "warning");
        let parse_error = rules::ALL
            .iter()
            .position(|r| r.id == "parse-error")
            .unwrap();
        assert_eq!(whole["ruleIndex"], parse_error);
        assert_eq!(
            whole["locations"][0]["physicalLocation"]["region"],
            json!({ "startLine": 1, "startColumn": 1 })
        );
        assert_eq!(
            whole["locations"][0]["physicalLocation"]["contextRegion"]["snippet"]["text"],
            "fn a() {"
        );
        assert_eq!(
            span_text(
                &["ab", "cd", "ef"],
                Span {
                    line: 1,
                    column: 2,
                    end_line: 3,
                    end_column: 2
                }
            )
            .as_deref(),
            Some("b\ncd\ne")
        );
        assert!(whole.get("codeFlows").is_none());
    }
}
