//! In-source directives: suppressions, exemptions and listener entry markers.
//!
//! ```text
//! // channel-lint: allow(RULE[, RULE]) -- REASON
//! // channel-lint: same-runtime-consumer -- REASON      (exempts listener-send-await)
//! // channel-lint: listener-entry                       (marks the fn, spawned task, async block
//!                                                         or closure below as an entry point)
//! // <policy exemption-marker prefix> — REASON           (exempts the marker's rule)
//! ```
//! A directive on its own line applies to the statement or item that starts on the next line
//! (attributes may stand between; a blank line breaks it); a trailing one applies to the
//! statement or item on its line. Without a reason it does not apply and is reported; one that
//! suppresses nothing is reported as unused.

use channel_lint_policy::{ExemptionMarker, Level};
use serde::{Deserialize, Serialize};

use crate::diagnostic::{Diagnostic, Severity, Span};
use crate::source::{Comment, Lexed};

#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub enum DirectiveKind {
    /// Suppresses these rules.
    Allow(Vec<String>),
    ListenerEntry,
    /// Not a directive we know (`// channel-lint: frobnicate`).
    Unknown(String),
}

#[derive(Debug, Clone, Serialize, Deserialize)]
pub struct Directive {
    pub kind: DirectiveKind,
    pub reason: Option<String>,
    /// The comment's position (its first `/`).
    pub span: Span,
    /// Lines whose statement/item the directive is attached to.
    pub targets: Vec<u32>,
    pub trailing: bool,
}

impl Directive {
    fn applies_to(&self, d: &Diagnostic) -> bool {
        self.applies_at(d.span.line, &d.anchors)
    }

    /// Whether the directive is attached to something on `line` inside the statements and
    /// items `anchors` (their first and last lines).
    pub fn applies_at(&self, line: u32, anchors: &[(u32, u32)]) -> bool {
        if self.trailing {
            let l = self.span.line;
            line == l || anchors.iter().any(|&(s, e)| s == l || e == l)
        } else {
            self.targets
                .iter()
                .any(|&t| line == t || anchors.iter().any(|&(s, _)| s == t))
        }
    }

    /// An allow of `rule` that has a reason (one that applies).
    pub fn allows(&self, rule: &str) -> bool {
        self.reason.is_some()
            && matches!(&self.kind, DirectiveKind::Allow(rules) if rules.iter().any(|r| r == rule))
    }
}

const SEPARATORS: [&str; 5] = ["--", "—", "–", "-", ":"];

/// The reason after a separator, if any text follows.
fn reason_after(rest: &str) -> Option<String> {
    let rest = rest.trim();
    let rest = SEPARATORS
        .iter()
        .find_map(|s| rest.strip_prefix(s))
        .unwrap_or(rest)
        .trim();
    if rest.chars().any(|c| c.is_alphanumeric()) {
        Some(rest.to_string())
    } else {
        None
    }
}

fn parse_comment(
    c: &Comment,
    markers: &[ExemptionMarker],
) -> Option<(DirectiveKind, Option<String>)> {
    if c.block || c.doc {
        return None;
    }
    let text = c.text.trim();
    if let Some(rest) = text.strip_prefix("channel-lint:") {
        let rest = rest.trim();
        if let Some(args) = rest.strip_prefix("allow(") {
            let close = args.find(')')?;
            let rules = args[..close]
                .split(',')
                .map(|r| r.trim().to_string())
                .filter(|r| !r.is_empty())
                .collect();
            return Some((
                DirectiveKind::Allow(rules),
                reason_after(&args[close + 1..]),
            ));
        }
        if let Some(after) = rest.strip_prefix("same-runtime-consumer") {
            return Some((
                DirectiveKind::Allow(vec!["listener-send-await".into()]),
                reason_after(after),
            ));
        }
        if rest.starts_with("listener-entry") {
            return Some((DirectiveKind::ListenerEntry, None));
        }
        return Some((DirectiveKind::Unknown(rest.to_string()), None));
    }
    for m in markers {
        if let Some(after) = text.strip_prefix(m.prefix.as_str()) {
            return Some((
                DirectiveKind::Allow(vec![m.rule.clone()]),
                reason_after(after),
            ));
        }
    }
    None
}

/// Every directive in a file.
pub fn directives(lexed: &Lexed, markers: &[ExemptionMarker]) -> Vec<Directive> {
    let mut out = Vec::new();
    for c in &lexed.comments {
        let Some((kind, reason)) = parse_comment(c, markers) else {
            continue;
        };
        let span = Span {
            line: c.line,
            column: c.column,
            end_line: c.end_line,
            end_column: c.end_column,
        };
        let mut targets = Vec::new();
        if !c.trailing {
            // Skip the rest of the comment block, then attributes.
            let mut t = c.end_line + 1;
            while !lexed.line_has_code(t) && lexed.own_line_comments(t).next().is_some() {
                t += 1;
            }
            if lexed.line_has_code(t) {
                targets.push(t);
                while lexed.is_attr_line(t) {
                    t += 1;
                    if lexed.line_has_code(t) {
                        targets.push(t);
                    } else {
                        break;
                    }
                }
            }
        }
        out.push(Directive {
            kind,
            reason,
            span,
            targets,
            trailing: c.trailing,
        });
    }
    out
}

/// Apply the directives of each file to its diagnostics; add the directive diagnostics.
/// `level` gives each rule's configured level; `used`: directives a rule applied itself (an
/// exemption on a call edge), by path and comment position.
pub fn apply(
    diagnostics: Vec<Diagnostic>,
    files: &[(&str, &[Directive])],
    level: &dyn Fn(&str) -> Level,
    known_rules: &[&str],
    used: &[(String, Span)],
) -> Vec<Diagnostic> {
    let mut by_path: std::collections::HashMap<&str, Vec<(usize, &Directive, bool)>> =
        Default::default();
    for (path, ds) in files {
        let v = by_path.entry(path).or_default();
        for (i, d) in ds.iter().enumerate() {
            let applied = used.iter().any(|(p, s)| p == path && *s == d.span);
            v.push((i, d, applied));
        }
    }
    let mut kept = Vec::new();
    for d in diagnostics {
        let mut suppressed = false;
        if let Some(ds) = by_path.get_mut(d.path.as_str()) {
            for (_, dir, used) in ds.iter_mut() {
                if let DirectiveKind::Allow(rules) = &dir.kind {
                    if dir.reason.is_some()
                        && rules.iter().any(|r| r == d.rule)
                        && dir.applies_to(&d)
                    {
                        *used = true;
                        suppressed = true;
                    }
                }
            }
        }
        if !suppressed {
            kept.push(d);
        }
    }
    for (path, ds) in by_path {
        for (_, dir, used) in ds {
            let mut push = |rule: &'static str, msg: String, note: &str| {
                let mut d = Diagnostic::new(rule, path, dir.span, msg).with_note(note);
                d.severity = if rule == "unused-suppression" {
                    Severity::Warning
                } else {
                    Severity::Error
                };
                kept.push(d);
            };
            match &dir.kind {
                DirectiveKind::Allow(rules) => {
                    if dir.reason.is_none() {
                        push(
                            "suppression-without-reason",
                            format!("suppression of `{}` gives no reason, so it does not apply", rules.join(", ")),
                            "write the reason after `--`: `// channel-lint: allow(RULE) -- why this is safe`",
                        );
                    } else if !used {
                        if let Some(unknown) = rules.iter().find(|r| !known_rules.contains(&r.as_str())) {
                            push(
                                "unused-suppression",
                                format!("suppression names unknown rule `{unknown}`"),
                                "`cargo channel-lint --list-rules` lists the rule ids",
                            );
                        } else if rules.iter().any(|r| level(r) != Level::Off) {
                            push(
                                "unused-suppression",
                                format!("suppression of `{}` suppresses nothing", rules.join(", ")),
                                "remove it, or move it to the line directly above the statement it is meant for",
                            );
                        }
                    }
                }
                DirectiveKind::Unknown(text) => push(
                    "unused-suppression",
                    format!("unknown channel-lint directive `{}`", text.split_whitespace().next().unwrap_or("")),
                    "known directives: allow(RULE) -- REASON, same-runtime-consumer -- REASON, listener-entry",
                ),
                // What it marks (or that it marks nothing) is the rules' to say: they resolve
                // it (`semantics::reach::listener_entries`).
                DirectiveKind::ListenerEntry => {}
            }
        }
    }
    kept
}
