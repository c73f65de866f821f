//! The single error type of the policy crate and its `miette` rendering.

use std::fmt;
use std::ops::Range;
use std::path::PathBuf;

use miette::{Diagnostic, LabeledSpan, NamedSource, SourceCode, SourceSpan};

/// What went wrong in a policy; also selects the diagnostic code
/// (`channel_lint::policy::<kind>`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum ErrorKind {
    /// The text is not valid TOML (or some other error reported by the TOML parser).
    Syntax,
    /// A key that the policy format does not know (`deny_unknown_fields`).
    UnknownKey,
    /// A required key is missing.
    MissingKey,
    /// A value has the wrong TOML type (e.g. a number where a string is expected).
    WrongType,
    /// A rule level that is not `"error"`, `"warn"` or `"off"`.
    InvalidLevel,
    /// A rule id (in `[rules]` or `exemption-marker.rule`) that the lint does not know.
    UnknownRule,
    /// A glob that does not compile or is not supported.
    InvalidGlob,
    /// A Rust path (`a::b::C`) that is malformed.
    InvalidPath,
    /// A method name that is not a Rust identifier.
    InvalidIdentifier,
    /// `banned-type.reason` is empty or only whitespace.
    EmptyReason,
    /// `channel-type.blocking-methods` is empty.
    EmptyBlockingMethods,
    /// `exemption-marker.prefix` is empty or only whitespace.
    EmptyPrefix,
    /// `banned-type.tests` is neither `"include"` nor `"exclude"`.
    InvalidTestsMode,
    /// A value outside the set a setting accepts (`[rules.<id>] scope`).
    InvalidValue,
    /// An error raised by a user of the crate through [`crate::LoadedPolicy::error_at`].
    Custom,
}

impl ErrorKind {
    /// The snake-case suffix used in the diagnostic code.
    pub fn as_str(self) -> &'static str {
        match self {
            ErrorKind::Syntax => "syntax",
            ErrorKind::UnknownKey => "unknown_key",
            ErrorKind::MissingKey => "missing_key",
            ErrorKind::WrongType => "wrong_type",
            ErrorKind::InvalidLevel => "invalid_level",
            ErrorKind::UnknownRule => "unknown_rule",
            ErrorKind::InvalidGlob => "invalid_glob",
            ErrorKind::InvalidPath => "invalid_path",
            ErrorKind::InvalidIdentifier => "invalid_identifier",
            ErrorKind::EmptyReason => "empty_reason",
            ErrorKind::EmptyBlockingMethods => "empty_blocking_methods",
            ErrorKind::EmptyPrefix => "empty_prefix",
            ErrorKind::InvalidTestsMode => "invalid_tests_mode",
            ErrorKind::InvalidValue => "invalid_value",
            ErrorKind::Custom => "custom",
        }
    }
}

impl fmt::Display for ErrorKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Details of an invalid policy: message, location in the source and optional help.
///
/// Obtained through [`PolicyError::Invalid`]; the accessors on [`PolicyError`]
/// forward to it.
#[derive(Debug)]
pub struct InvalidPolicy {
    pub(crate) kind: ErrorKind,
    pub(crate) message: String,
    pub(crate) label: String,
    pub(crate) span: Option<Range<usize>>,
    pub(crate) help: Option<String>,
    pub(crate) src: Option<NamedSource<String>>,
}

impl InvalidPolicy {
    /// The kind of error.
    pub fn kind(&self) -> ErrorKind {
        self.kind
    }

    /// The main message (without location).
    pub fn message(&self) -> &str {
        &self.message
    }

    /// Byte range in the policy source (the whole file text, also for `Cargo.toml`).
    pub fn span(&self) -> Option<Range<usize>> {
        self.span.clone()
    }

    /// Help text, if any.
    pub fn help(&self) -> Option<&str> {
        self.help.as_deref()
    }

    /// Name of the source (usually the file path).
    pub fn source_name(&self) -> Option<&str> {
        self.src.as_ref().map(|s| s.name())
    }
}

/// Any error produced while locating, reading or validating a policy.
///
/// Implements [`miette::Diagnostic`]: [`PolicyError::Invalid`] carries the policy text
/// as a [`NamedSource`] and a label pointing at the offending key or value.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum PolicyError {
    /// A policy file (or `Cargo.toml`) exists but could not be read.
    #[error("cannot read policy file `{}`", path.display())]
    Io {
        /// The file that could not be read.
        path: PathBuf,
        /// The underlying IO error.
        #[source]
        source: std::io::Error,
    },
    /// The policy text is invalid (syntax, unknown keys, bad values, ...).
    #[error("{}", .0.message)]
    Invalid(Box<InvalidPolicy>),
}

impl PolicyError {
    pub(crate) fn invalid(
        kind: ErrorKind,
        text: &str,
        name: &str,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> PolicyError {
        let span = clamp_span(text, span);
        PolicyError::Invalid(Box::new(InvalidPolicy {
            kind,
            message: message.into(),
            label: label.into(),
            span: Some(span),
            help,
            src: Some(NamedSource::new(name, text.to_owned())),
        }))
    }

    pub(crate) fn without_source(
        kind: ErrorKind,
        message: impl Into<String>,
        help: Option<String>,
    ) -> PolicyError {
        PolicyError::Invalid(Box::new(InvalidPolicy {
            kind,
            message: message.into(),
            label: String::new(),
            span: None,
            help,
            src: None,
        }))
    }

    /// The error kind; `None` for [`PolicyError::Io`].
    pub fn kind(&self) -> Option<ErrorKind> {
        match self {
            PolicyError::Invalid(inv) => Some(inv.kind),
            PolicyError::Io { .. } => None,
        }
    }

    /// The byte range the error points at in the policy source, if any.
    pub fn span(&self) -> Option<Range<usize>> {
        match self {
            PolicyError::Invalid(inv) => inv.span.clone(),
            PolicyError::Io { .. } => None,
        }
    }

    /// The help text, if any.
    pub fn help_text(&self) -> Option<&str> {
        match self {
            PolicyError::Invalid(inv) => inv.help.as_deref(),
            PolicyError::Io { .. } => None,
        }
    }

    /// Replaces the label shown next to the highlighted source span.
    pub fn with_label(mut self, label: impl Into<String>) -> PolicyError {
        if let PolicyError::Invalid(inv) = &mut self {
            inv.label = label.into();
        }
        self
    }
}

impl Diagnostic for PolicyError {
    fn code<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        let suffix = match self {
            PolicyError::Io { .. } => "io",
            PolicyError::Invalid(inv) => inv.kind.as_str(),
        };
        Some(Box::new(format!("channel_lint::policy::{suffix}")))
    }

    fn help<'a>(&'a self) -> Option<Box<dyn fmt::Display + 'a>> {
        match self {
            PolicyError::Invalid(inv) => inv
                .help
                .as_ref()
                .map(|h| Box::new(h) as Box<dyn fmt::Display + 'a>),
            PolicyError::Io { .. } => None,
        }
    }

    fn source_code(&self) -> Option<&dyn SourceCode> {
        match self {
            PolicyError::Invalid(inv) => inv.src.as_ref().map(|s| s as &dyn SourceCode),
            PolicyError::Io { .. } => None,
        }
    }

    fn labels(&self) -> Option<Box<dyn Iterator<Item = LabeledSpan> + '_>> {
        match self {
            PolicyError::Invalid(inv) => {
                let span = inv.span.clone()?;
                inv.src.as_ref()?;
                let label = (!inv.label.is_empty()).then(|| inv.label.clone());
                let span: SourceSpan = (span.start, span.end - span.start).into();
                Some(Box::new(std::iter::once(LabeledSpan::new_with_span(
                    label, span,
                ))))
            }
            PolicyError::Io { .. } => None,
        }
    }
}

/// Clamps `span` into `text` and onto UTF-8 character boundaries, so rendering never panics.
pub(crate) fn clamp_span(text: &str, span: Range<usize>) -> Range<usize> {
    let mut start = span.start.min(text.len());
    let mut end = span.end.min(text.len()).max(start);
    while !text.is_char_boundary(start) {
        start -= 1;
    }
    while !text.is_char_boundary(end) {
        end += 1;
    }
    start..end
}
