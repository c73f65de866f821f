//! The one qualified-name type every rule matches paths with.
//!
//! A [`QualName`] is a path as the analysis resolved it: for a workspace item its module path
//! with the crate name first (`my_crate::transport::Listener`), for anything else the external
//! path as far as it is known (`tokio::sync::mpsc::Sender`). A pattern is a path as a user or a
//! built-in table writes it (`tokio::sync::mpsc::Sender`, `crate::x::FastSender`,
//! `Dispatcher::poll_loop`).
//!
//! Invariants:
//! - a leading empty segment (a path written with a leading `::`) is not part of the name;
//! - `crate` as a pattern's first segment stands for the crate name of a workspace item, and
//!   anchors the pattern at the crate root (it never matches an external name).

/// A resolved path, and whether it names a workspace item.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct QualName<'a> {
    segments: &'a [String],
    local: bool,
}

impl<'a> QualName<'a> {
    /// A workspace item's path, crate name first.
    pub fn local(segments: &'a [String]) -> Self {
        QualName {
            segments: strip_root(segments),
            local: true,
        }
    }

    /// A path outside the workspace.
    pub fn external(segments: &'a [String]) -> Self {
        QualName {
            segments: strip_root(segments),
            local: false,
        }
    }

    pub fn segments(&self) -> &'a [String] {
        self.segments
    }

    /// The pattern names exactly this path (`crate::a::T` names `my_crate::a::T`).
    pub fn is(&self, pattern: &[String]) -> bool {
        self.segments == pattern || (self.local && self.crate_anchored(pattern))
    }

    /// The pattern is a suffix of this path (`Type::method` matches `c::m::Type::method`), or,
    /// starting with `crate`, names exactly this workspace path.
    pub fn ends_with(&self, pattern: &[String]) -> bool {
        if pattern.first().is_some_and(|s| s == "crate") {
            return self.local && self.crate_anchored(pattern);
        }
        self.segments.ends_with(pattern)
    }

    /// A type pattern of a table (a channel type): an exact name, or for a workspace type also
    /// a suffix of its path.
    pub fn is_type(&self, pattern: &[String]) -> bool {
        self.is(pattern) || (self.local && self.ends_with(pattern))
    }

    fn crate_anchored(&self, pattern: &[String]) -> bool {
        pattern.first().is_some_and(|s| s == "crate")
            && !self.segments.is_empty()
            && pattern[1..] == self.segments[1..]
    }
}

fn strip_root(segments: &[String]) -> &[String] {
    match segments.first() {
        Some(s) if s.is_empty() => &segments[1..],
        _ => segments,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn p(s: &str) -> Vec<String> {
        s.split("::").map(str::to_string).collect()
    }

    #[test]
    fn exact_names_ignore_a_leading_root() {
        let name = p("::tokio::net::UdpSocket");
        assert!(QualName::external(&name).is(&p("tokio::net::UdpSocket")));
        assert!(!QualName::external(&name).is(&p("net::UdpSocket")));
    }

    #[test]
    fn crate_patterns_name_workspace_items_only() {
        let name = p("my_crate::x::FastSender");
        assert!(QualName::local(&name).is(&p("crate::x::FastSender")));
        assert!(!QualName::external(&name).is(&p("crate::x::FastSender")));
        assert!(QualName::local(&name).ends_with(&p("crate::x::FastSender")));
        assert!(!QualName::local(&name).ends_with(&p("crate::FastSender")));
    }

    #[test]
    fn suffixes_match_whole_segments() {
        let name = p("node::dispatch::Dispatcher::poll_loop");
        assert!(QualName::local(&name).ends_with(&p("Dispatcher::poll_loop")));
        assert!(!QualName::local(&name).ends_with(&p("patcher::poll_loop")));
        // A table's type pattern is a suffix only for workspace types.
        let ext = p("tokio::sync::mpsc::Sender");
        assert!(!QualName::external(&ext).is_type(&p("mpsc::Sender")));
        assert!(QualName::local(&name).is_type(&p("dispatch::Dispatcher::poll_loop")));
    }
}
