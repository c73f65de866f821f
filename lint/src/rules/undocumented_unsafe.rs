//! # undocumented-unsafe
//!
//! Every `unsafe { }` block and `unsafe impl` must carry a `// SAFETY: <why>` comment where
//! clippy 1.95's `undocumented_unsafe_blocks` would look for one (the comment block directly
//! above the holding statement or item; for a block, the first comment on a code line directly
//! above if it starts with the tag, or a first comment inside the block that starts with it),
//! with an explanation in words after the tag. A comment on the keyword's own line is not read.
//! Blocks inside macro invocations and `macro_rules!` bodies and under any `#[cfg]` count.
//! Page: `docs/rules/undocumented-unsafe.md`.

use channel_lint_policy::{LoadedPolicy, PolicyError};

use super::{Context, LevelWords, Needs, Rule, RuleMeta, UnsafeToken};
use crate::cfg::{CfgEnv, Tri};
use crate::diagnostic::{Diagnostic, Sink};
use crate::facts::lint_level::{ClippyLevel, LevelKind, CLIPPY_GROUP, CLIPPY_LINT};
use crate::facts::{FileFacts, UnsafeKind, UnsafeSite};
use crate::index::FileId;
use crate::source::{Comment, Lexed};

pub const META: RuleMeta = RuleMeta {
    id: "undocumented-unsafe",
    default_level: channel_lint_policy::Level::Error,
    summary:
        "an `unsafe` block or `unsafe impl` has no `// SAFETY:` comment explaining why it is sound",
    doc: include_str!("../../../docs/rules/undocumented-unsafe.md"),
    rule: Some(&UndocumentedUnsafe),
};

/// The rule's entry in the registry.
pub struct UndocumentedUnsafe;

impl Rule for UndocumentedUnsafe {
    /// With `honour-clippy-allow`, the level a `mod` declaration or a crate root sets reaches
    /// the sites of the files it loads: the lint's and its group's names are the words of such
    /// an attribute.
    fn needs<'p>(&self, policy: &'p LoadedPolicy) -> Needs<'p> {
        Needs {
            unsafe_sites: true,
            module_levels: policy.policy.honours_clippy_allow().then_some(LevelWords {
                tool: "clippy",
                names: &[CLIPPY_LINT, CLIPPY_GROUP],
                allows: &["allow", "expect"],
            }),
            ..Needs::default()
        }
    }

    /// The checks that need no syntax tree ([`site_tags`]): when one of them finds an explained
    /// tag the site is never reported, since a site is reported only when none of its checks
    /// finds one.
    fn may_report_unsafe_site(&self, text: &str, comments: &Lexed, site: &UnsafeToken) -> bool {
        let inside = site.brace.and_then(|open| inside_comment(text, open + 1));
        !site_tags(comments, inside.as_deref(), site.line, site.kind).contains(&Tag::Explained)
    }

    /// The comment opening each `unsafe` block ([`inside_comment`]), read from the text.
    fn complete_facts(&self, text: &str, facts: &mut FileFacts) {
        if facts.unsafe_sites.is_empty() {
            return;
        }
        let idx = crate::source::LineIndex::new(text);
        for site in &mut facts.unsafe_sites {
            if let Some((l, c)) = site.open_brace {
                let off = idx.offset(text, l, c) + 1;
                site.inside_comment = inside_comment(text, off);
            }
        }
    }

    fn check(&self, cx: &Context, sink: &mut Sink) -> Result<(), PolicyError> {
        check(cx, sink);
        Ok(())
    }
}

/// Whether a comment text has the tag, and whether an explanation follows it.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
enum Tag {
    None,
    /// The tag with nothing after it but blanks.
    Empty,
    /// The tag followed only by symbols or punctuation (`// SAFETY: ∰`): no word of a reason.
    Symbols,
    Explained,
}

/// The tag anywhere in `text` (ASCII case-insensitive, as clippy matches it), and what follows.
fn safety_tag(text: &str) -> Tag {
    // ASCII lowercasing keeps every byte offset, so `i` indexes `text` too.
    match text.to_ascii_lowercase().find("safety:") {
        None => Tag::None,
        Some(i) => explanation(&text[i + "safety:".len()..]),
    }
}

/// The tag at the start of `text` (after blanks): clippy 1.95 reads a comment after code on the
/// line above and the first comment inside a block only when it starts with the tag.
fn leading_safety_tag(text: &str) -> Tag {
    let t = text.trim_start();
    match t.get(.."safety:".len()) {
        Some(head) if head.eq_ignore_ascii_case("safety:") => explanation(&t["safety:".len()..]),
        _ => Tag::None,
    }
}

fn explanation(after: &str) -> Tag {
    if after.chars().any(|c| c.is_alphanumeric()) {
        Tag::Explained
    } else if after.trim().is_empty() {
        Tag::Empty
    } else {
        Tag::Symbols
    }
}

/// The tag of a comment block from [`Lexed::comment_block_above`]: the first comment on the code
/// line above (the only comment of the block on a line with code) must start with the tag; in a
/// block of comment lines the tag may stand anywhere.
fn block_tag(lexed: &Lexed, comments: &[&Comment]) -> Tag {
    if let [c] = comments {
        if lexed.line_has_code(c.line) {
            return leading_safety_tag(&c.text);
        }
    }
    let joined: String = comments
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    safety_tag(&joined)
}

/// The comment that opens an `unsafe` block (comments right after its `{`, `after_brace` the
/// byte offset past it), joined, when the first of them starts with the tag: clippy reads only
/// the first comment inside the block and wants the tag at its start, so neither `// Allocate ..`
/// then `// SAFETY: ..` nor `// Note. SAFETY: ..` counts (nor `/// SAFETY:`, a doc comment).
fn inside_comment(text: &str, after_brace: usize) -> Option<String> {
    let comments = crate::source::comments_right_after(text, after_brace);
    let first = comments.first()?;
    (leading_safety_tag(first) != Tag::None).then(|| comments.join("\n"))
}

/// The tags of the comments the rule reads for a site apart from the one above its statement:
/// the comment opening the block (`inside`, see [`inside_comment`]) and the comment block above
/// the keyword's line ([`Lexed::comment_block_above`]: blank and attribute lines passed over; for
/// a block, also the first comment on the line above when that line holds code). A comment on
/// the keyword's own line (`/* SAFETY: .. */ unsafe {`) is not read: clippy 1.95 reads only
/// lines above. These need no syntax tree: the prefilter skips a file when they explain every
/// site.
fn site_tags(lexed: &Lexed, inside: Option<&str>, line: u32, kind: UnsafeKind) -> Vec<Tag> {
    let mut tags = Vec::new();
    if let Some(inside) = inside {
        tags.push(leading_safety_tag(inside));
    }
    let trailing = kind == UnsafeKind::Block;
    tags.push(block_tag(lexed, &lexed.comment_block_above(line, trailing)));
    tags
}

/// A comment with the tag before the keyword on its own line (`/* SAFETY: .. */ unsafe {`),
/// which clippy and this rule do not read: said in a note.
fn tag_on_keyword_line(lexed: &Lexed, line: u32, column: u32) -> bool {
    lexed
        .comments_ending_on(line)
        .any(|c| c.line == line && c.end_column <= column && safety_tag(&c.text) != Tag::None)
}

/// The line where a statement or item that starts on `start` (its first outer attribute or doc
/// comment) has its first code after them: clippy reads the comment block above that line,
/// passing over the attribute lines, so a `// SAFETY:` between the doc comment and `pub const`
/// counts. Not below `site_line`.
fn keyword_line(lexed: &Lexed, start: u32, site_line: u32) -> u32 {
    let mut l = start;
    while l < site_line && (lexed.is_attr_line(l) || !lexed.line_has_code(l)) {
        l += 1;
    }
    l
}

/// The build clippy lints: `--cfg clippy` is set; `test`, features and the target are not known
/// here.
fn clippy_build() -> CfgEnv {
    CfgEnv {
        atoms: vec![("clippy".to_owned(), true)],
        ..CfgEnv::default()
    }
}

/// Whether clippy's `undocumented_unsafe_blocks` is silenced at a site by the level attributes
/// around it (`levels`, outermost first): lint levels are scoped, the innermost attribute that
/// applies wins (on one node, the later one), and nothing inside a `forbid` lowers it again
/// (rustc rejects such an `allow`, E0453). An `allow`/`expect` under `cfg_attr` applies only when
/// its predicate surely holds in the build clippy lints (`clippy` on, anything else unknown); a
/// `warn`/`deny`/`forbid` under `cfg_attr` applies unless its predicate is surely false: both
/// fail closed (a site is left to clippy only when clippy surely would not lint it).
fn silenced_by_clippy_attrs(levels: &[ClippyLevel], env: &CfgEnv) -> bool {
    let mut silenced = false;
    for l in levels {
        let truth = l
            .cfg
            .iter()
            .map(|c| c.eval(env))
            .fold(Tri::True, |acc, t| match (acc, t) {
                (Tri::False, _) | (_, Tri::False) => Tri::False,
                (Tri::Unknown, _) | (_, Tri::Unknown) => Tri::Unknown,
                _ => Tri::True,
            });
        if l.kind.silences() {
            if truth == Tri::True {
                silenced = true;
            }
        } else if truth != Tri::False {
            silenced = false;
            if l.kind == LevelKind::Forbid {
                return false;
            }
        }
    }
    silenced
}

/// Whether a site is left to clippy: the levels from the `mod` declarations that load its file
/// (`outer`, [`crate::index::Index::file_levels`]) come first, then the site's own (its file's
/// inner attributes, the items and statements around it), so the nearest one wins across files as
/// within one.
fn silenced(outer: &[ClippyLevel], site: &UnsafeSite, env: &CfgEnv) -> bool {
    if outer.is_empty() {
        return silenced_by_clippy_attrs(&site.clippy_levels, env);
    }
    let all: Vec<ClippyLevel> = outer.iter().chain(&site.clippy_levels).cloned().collect();
    silenced_by_clippy_attrs(&all, env)
}

fn check(cx: &Context, sink: &mut Sink) {
    let honour = cx.policy.policy.honours_clippy_allow();
    let env = clippy_build();
    for (fid, file) in cx.index.files.iter().enumerate() {
        let lexed = cx.comments(fid);
        for site in &file.facts.unsafe_sites {
            let mut tags = site_tags(
                lexed,
                site.inside_comment.as_deref(),
                site.span.line,
                site.kind,
            );
            if let Some(&(start, _)) = site.anchors.first() {
                let keyword = keyword_line(lexed, start, site.span.line);
                if keyword != site.span.line && site.stmt_comment {
                    let trailing = site.kind == UnsafeKind::Block;
                    tags.push(block_tag(
                        lexed,
                        &lexed.comment_block_above(keyword, trailing),
                    ));
                }
            }
            if tags.contains(&Tag::Explained) {
                continue;
            }
            // Counted only when it would be a finding: the prefilter keeps exactly those sites,
            // so the count is the same in every mode.
            if honour && silenced(cx.index.file_levels(FileId::new(fid)), site, &env) {
                sink.left_to_clippy += 1;
                continue;
            }
            let what = match site.kind {
                UnsafeKind::Block => "`unsafe` block",
                UnsafeKind::Impl => "`unsafe impl`",
            };
            let mut d = if tags.contains(&Tag::Symbols) {
                Diagnostic::new(
                    META.id,
                    &file.rel,
                    site.span,
                    format!("{what} has a `SAFETY:` comment with no reason: only symbols follow the tag"),
                )
                .with_note(
                    "say in words why the invariants hold: `// SAFETY: <why this is sound>`",
                )
            } else if tags.contains(&Tag::Empty) {
                Diagnostic::new(
                    META.id,
                    &file.rel,
                    site.span,
                    format!("{what} has an empty `SAFETY:` comment"),
                )
                .with_note(
                    "say why the invariants hold after the tag: `// SAFETY: <why this is sound>`",
                )
            } else {
                Diagnostic::new(
                    META.id,
                    &file.rel,
                    site.span,
                    format!("{what} without a `// SAFETY:` comment"),
                )
                .with_note(if site.stmt_comment {
                    "add `// SAFETY: <why this is sound>` on the line above the statement or item"
                } else {
                    // a struct field, match arm, condition or macro argument: clippy reads only
                    // the comment at the block itself there
                    "add `// SAFETY: <why this is sound>` on the line right above the `unsafe` block"
                })
            };
            if tag_on_keyword_line(lexed, site.span.line, site.span.column) {
                d = d.with_note(
                    "a comment on the `unsafe` keyword's own line is not read (nor by clippy): move it to the line above",
                );
            }
            d.span.end_line = d.span.line;
            d.span.end_column = d.span.column + "unsafe".len() as u32;
            d.anchors = site.anchors.clone();
            sink.push(d);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::cfg::CfgPred;

    fn level(kind: LevelKind, cfg: Vec<CfgPred>) -> ClippyLevel {
        ClippyLevel {
            kind,
            cfg,
            group: false,
            line: 1,
        }
    }

    #[test]
    fn innermost_applying_level_wins_and_cfg_attr_fails_closed() {
        use LevelKind::*;
        let env = clippy_build();
        let unix = || vec![CfgPred::Atom("unix".into())];
        let clippy = || vec![CfgPred::Atom("clippy".into())];
        let never = || vec![CfgPred::Any(vec![])];
        let silenced = |ls: &[ClippyLevel]| silenced_by_clippy_attrs(ls, &env);
        assert!(!silenced(&[]));
        assert!(silenced(&[level(Allow, vec![])]));
        assert!(silenced(&[level(Expect, clippy())]));
        // An allow under an unknown or false predicate does not count.
        assert!(!silenced(&[level(Allow, unix())]));
        assert!(!silenced(&[level(Allow, never())]));
        // A warn inside re-enables, even under an unknown predicate; not under a false one.
        assert!(!silenced(&[level(Allow, vec![]), level(Warn, vec![])]));
        assert!(!silenced(&[level(Allow, vec![]), level(Deny, unix())]));
        assert!(silenced(&[level(Allow, vec![]), level(Warn, never())]));
        // An allow inside a warn silences again; inside a forbid it does not.
        assert!(silenced(&[level(Warn, vec![]), level(Allow, vec![])]));
        assert!(!silenced(&[level(Forbid, vec![]), level(Allow, vec![])]));
        assert!(silenced(&[level(Forbid, never()), level(Allow, vec![])]));
    }
}
