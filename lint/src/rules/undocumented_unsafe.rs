//! # undocumented-unsafe
//!
//! Every `unsafe { }` block and `unsafe impl` must carry a `// SAFETY: <why>` comment where
//! clippy's `undocumented_unsafe_blocks` would look for one (the comment block directly above
//! the holding statement or item, a trailing comment before the keyword, or a comment opening
//! the block), with an explanation after the tag. Blocks inside macro invocations and
//! `macro_rules!` bodies and under any `#[cfg]` count. Page: `docs/rules/undocumented-unsafe.md`.

use super::{Context, RuleMeta};
use crate::diagnostic::{Diagnostic, Sink};
use crate::facts::UnsafeKind;
use crate::source::Comment;

pub const META: RuleMeta = RuleMeta {
    id: "undocumented-unsafe",
    default_level: channel_lint_policy::Level::Error,
    summary:
        "an `unsafe` block or `unsafe impl` has no `// SAFETY:` comment explaining why it is sound",
    doc: include_str!("../../../docs/rules/undocumented-unsafe.md"),
};

/// Whether a comment text has the tag, and whether an explanation follows it.
#[derive(Debug, PartialEq, Eq, Clone, Copy)]
pub(crate) enum Tag {
    None,
    Empty,
    Explained,
}

pub(crate) fn safety_tag(text: &str) -> Tag {
    let lower = text.to_lowercase();
    match lower.find("safety:") {
        None => Tag::None,
        Some(i) => {
            let after = &text[i + "safety:".len()..];
            if after.chars().any(|c| c.is_alphanumeric()) {
                Tag::Explained
            } else {
                Tag::Empty
            }
        }
    }
}

pub(crate) fn block_tag(comments: &[&Comment]) -> Tag {
    let joined: String = comments
        .iter()
        .map(|c| c.text.as_str())
        .collect::<Vec<_>>()
        .join("\n");
    safety_tag(&joined)
}

pub fn check(cx: &Context, sink: &mut Sink) {
    for file in cx.index.files {
        let lexed = &file.lexed;
        for site in &file.facts.unsafe_sites {
            let mut tags = Vec::new();
            if let Some(inside) = &site.inside_comment {
                tags.push(safety_tag(inside));
            }
            let trailing: Vec<&Comment> = lexed
                .comments
                .iter()
                .filter(|c| c.end_line == site.span.line && c.end_column <= site.span.column)
                .collect();
            if !trailing.is_empty() {
                tags.push(block_tag(&trailing));
            }
            tags.push(block_tag(&lexed.comment_block_above(site.span.line)));
            if let Some(&(start, _)) = site.anchors.first() {
                if start != site.span.line {
                    tags.push(block_tag(&lexed.comment_block_above(start)));
                }
            }
            if tags.contains(&Tag::Explained) {
                continue;
            }
            let what = match site.kind {
                UnsafeKind::Block => "`unsafe` block",
                UnsafeKind::Impl => "`unsafe impl`",
            };
            let mut d = if tags.contains(&Tag::Empty) {
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
                .with_note(
                    "add `// SAFETY: <why this is sound>` on the line above the statement or item",
                )
            };
            d.span.end_line = d.span.line;
            d.span.end_column = d.span.column + "unsafe".len() as u32;
            d.anchors = site.anchors.clone();
            sink.push(d);
        }
    }
}
