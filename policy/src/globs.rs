//! Gitignore-like path globs ([`Globs`]).

use std::fmt;
use std::ops::Range;

use globset::{GlobBuilder, GlobSet, GlobSetBuilder};

/// A set of gitignore-like path globs, matched against paths relative to the policy folder.
///
/// # Semantics
///
/// Paths given to [`Globs::is_match`] are relative to the folder that holds the policy
/// and use `/` as separator (a leading `./` is ignored; on Windows `\` is also accepted).
/// Each pattern is interpreted as follows:
///
/// * `*` and `?` never match `/`; `**` as a whole path component matches any number of
///   components (including none); `[abc]`, `{a,b}` and `\` escapes work as in `globset`.
/// * A pattern **without** `/` (after removing a trailing `/`), such as `target` or
///   `*.rs`, matches a path component at **any depth**: `target` matches `target`,
///   `a/target` and everything below them (`a/target/x.rs`).
/// * A pattern **with** a `/` is anchored at the policy folder: `node/src/*.rs` matches
///   `node/src/lib.rs` but not `x/node/src/lib.rs`. A leading `/` (`/target`) only
///   anchors and is otherwise ignored; a leading `./` is ignored too.
/// * Every pattern also matches everything **below** what it matches: `fixtures`
///   and `fixtures/` match `fixtures/a/b.rs`, and `dir/**` matches `dir/a/b.rs`.
///   `dir/**` additionally matches `dir` itself, so callers can prune directories.
/// * A trailing `/` is accepted but does not restrict the match to directories.
/// * Negated patterns (`!pat`) and empty patterns are rejected.
#[derive(Clone, Default)]
pub struct Globs {
    patterns: Vec<String>,
    spans: Vec<Range<usize>>,
    set: Option<GlobSet>,
    /// For every glob in `set`, the index of the user pattern it came from.
    owners: Vec<usize>,
}

impl fmt::Debug for Globs {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.debug_struct("Globs")
            .field("patterns", &self.patterns)
            .finish()
    }
}

/// Why a glob pattern was rejected.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GlobError {
    /// The pattern as written.
    pub pattern: String,
    /// Human-readable reason (the `globset` message for syntax errors).
    pub message: String,
    /// Optional hint on how to fix it.
    pub help: Option<String>,
}

impl fmt::Display for GlobError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "invalid glob `{}`: {}", self.pattern, self.message)
    }
}

impl std::error::Error for GlobError {}

impl Globs {
    /// Compiles `patterns` (see the type-level docs for the semantics).
    pub fn new<S: AsRef<str>>(patterns: &[S]) -> Result<Globs, GlobError> {
        Globs::with_spans(patterns.iter().map(|p| (p.as_ref(), 0..0))).map_err(|(_, e)| e)
    }

    /// Compiles patterns each with the byte span of its string in the policy source.
    /// On error, returns the index of the failing pattern.
    pub(crate) fn with_spans<'a>(
        patterns: impl IntoIterator<Item = (&'a str, Range<usize>)>,
    ) -> Result<Globs, (usize, GlobError)> {
        let mut globs = Globs::default();
        let mut builder = GlobSetBuilder::new();
        for (index, (pattern, span)) in patterns.into_iter().enumerate() {
            for expanded in expand(pattern).map_err(|e| (index, e))? {
                let glob = compile(&expanded).map_err(|message| {
                    (
                        index,
                        GlobError {
                            pattern: pattern.to_owned(),
                            message,
                            help: None,
                        },
                    )
                })?;
                builder.add(glob);
                globs.owners.push(index);
            }
            globs.patterns.push(pattern.to_owned());
            globs.spans.push(span);
        }
        if !globs.patterns.is_empty() {
            let set = builder.build().map_err(|e| {
                (
                    0,
                    GlobError {
                        pattern: globs.patterns[0].clone(),
                        message: e.kind().to_string(),
                        help: None,
                    },
                )
            })?;
            globs.set = Some(set);
        }
        Ok(globs)
    }

    /// `true` if there are no patterns.
    pub fn is_empty(&self) -> bool {
        self.patterns.is_empty()
    }

    /// `true` if `rel_path` (relative to the policy folder, `/`-separated) matches any pattern.
    pub fn is_match(&self, rel_path: &str) -> bool {
        match &self.set {
            Some(set) => set.is_match(normalize(rel_path).as_ref()),
            None => false,
        }
    }

    /// Indices (into [`Globs::patterns`]) of all patterns matching `rel_path`, ascending.
    pub fn matching_patterns(&self, rel_path: &str) -> Vec<usize> {
        let Some(set) = &self.set else {
            return Vec::new();
        };
        let mut out: Vec<usize> = set
            .matches(normalize(rel_path).as_ref())
            .into_iter()
            .map(|i| self.owners[i])
            .collect();
        out.dedup();
        out
    }

    /// The patterns as written in the policy.
    pub fn patterns(&self) -> &[String] {
        &self.patterns
    }

    /// Byte spans of the pattern strings in the policy source (parallel to
    /// [`Globs::patterns`]; `0..0` for globs built with [`Globs::new`]).
    pub fn spans(&self) -> &[Range<usize>] {
        &self.spans
    }
}

fn normalize(rel_path: &str) -> std::borrow::Cow<'_, str> {
    let mut path = std::borrow::Cow::Borrowed(rel_path);
    if cfg!(windows) && path.contains('\\') {
        path = std::borrow::Cow::Owned(path.replace('\\', "/"));
    }
    let mut trimmed: &str = &path;
    while let Some(rest) = trimmed.strip_prefix("./") {
        trimmed = rest;
    }
    if trimmed.len() != path.len() {
        return std::borrow::Cow::Owned(trimmed.to_owned());
    }
    path
}

fn compile(pattern: &str) -> Result<globset::Glob, String> {
    GlobBuilder::new(pattern)
        .literal_separator(true)
        .backslash_escape(true)
        .build()
        .map_err(|e| e.kind().to_string())
}

/// Turns one user pattern into the globset patterns implementing the documented semantics.
fn expand(pattern: &str) -> Result<Vec<String>, GlobError> {
    let err = |message: &str, help: Option<&str>| GlobError {
        pattern: pattern.to_owned(),
        message: message.to_owned(),
        help: help.map(str::to_owned),
    };
    if pattern.starts_with('!') {
        return Err(err(
            "negated patterns are not supported",
            Some("list the paths to exclude instead, or use `except` on a banned-type"),
        ));
    }
    // Validate the pattern as written first so errors read naturally.
    compile(pattern).map_err(|m| err(&m, None))?;

    let mut p = pattern;
    while let Some(rest) = p.strip_prefix("./") {
        p = rest;
    }
    let anchored_by_slash = p.starts_with('/');
    let p = p.trim_start_matches('/');
    let p = p.trim_end_matches('/');
    if p.is_empty() {
        return Err(err(
            "empty pattern",
            Some("write a path such as `fixtures/**` or `target`"),
        ));
    }
    let anchored = anchored_by_slash || p.contains('/');
    let base = if anchored {
        p.to_owned()
    } else {
        format!("**/{p}")
    };
    let mut out = vec![base.clone()];
    if let Some(dir) = base.strip_suffix("/**") {
        // `dir/**` also matches `dir` itself.
        if !dir.is_empty() && dir != "**" {
            out.push(dir.to_owned());
        }
    } else if base != "**" {
        out.push(format!("{base}/**"));
    }
    Ok(out)
}
