//! Policy model, discovery and validation for `cargo channel-lint`.
//!
//! A policy says which lint rules run at which [`Level`], which paths are excluded,
//! which types are banned where, which functions are listener entry points, which
//! channel types have blocking methods and which extra in-source markers exempt a
//! finding. It is read from `channel-lint.toml` (in the lint root or its nearest
//! ancestor), else from `[workspace.metadata.channel-lint]` of the nearest workspace
//! `Cargo.toml`, else built-in [`defaults`] are used (see [`discover`]). Every
//! problem in the file is reported as a [`PolicyError`], a [`miette::Diagnostic`]
//! pointing at the offending key or value in the original text.
//!
//! This crate deliberately knows nothing about Rust syntax trees or the lint's rules:
//! the lint passes the list of rule ids it knows (`known_rules`) and interprets the
//! validated [`Policy`].
//!
//! # Format
//!
//! ```toml
//! exclude = ["fixtures/**", "vendor/**"]       # globs of paths not to lint
//!
//! [rules]                                      # "error" | "warn" | "off"
//! banned-type = "error"
//!
//! [rules.listener-blocking-call]               # the table form: level and the rule's settings
//! level = "warn"
//! scope = "async"                              # "listener" (default) | "async"
//!
//! [[blocking-call]]                            # more calls that block the thread
//! path = "crate::transport::fast_channel::FastSender::try_send"
//! reason = "crossbeam backoff can spin forever"  # required, non-empty
//!
//! [[blocking-insulator]]                       # more calls whose closure argument may block
//! path = "crate::executor::run_blocking"
//!
//! [[banned-type]]
//! path = "tokio::net::UdpSocket"               # required Rust path
//! reason = "core is generic over Socket"       # required, non-empty
//! within = ["node/src/**"]                     # optional; default: everywhere
//! except = ["node/src/transport/udp.rs"]       # optional
//! tests = "include"                            # "include" (default) | "exclude"
//!
//! [listener]
//! entry-points = ["UdpPacketsListener::listen", "gateway::serve"]
//!
//! [[channel-type]]
//! path = "crate::transport::fast_channel::FastSender"
//! blocking-methods = ["send_async"]            # required, non-empty
//!
//! [[exemption-marker]]
//! prefix = "channel-safety: ok"
//! rule = "listener-send-await"
//!
//! [analysis]
//! features = ["redb", "trace"]                 # the build analysed: these on, others off
//! test-attributes = ["freenet_test"]             # more attributes that make a fn a test
//! ```
//!
//! Globs are relative to the folder of the file that holds the policy and follow the
//! gitignore-like semantics documented on [`Globs`].

#![warn(missing_docs)]

use std::collections::BTreeMap;
use std::fmt;
use std::ops::Range;
use std::path::{Path, PathBuf};

mod discover;
mod error;
mod globs;
mod parse;

pub use discover::{discover, load_cargo_manifest, load_file, CONFIG_FILE_NAME};
pub use error::{ErrorKind, InvalidPolicy, PolicyError};
pub use globs::{GlobError, Globs};

use parse::Ctx;

/// Severity of a rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Level {
    /// Findings are errors (non-zero exit).
    Error,
    /// Findings are warnings.
    Warn,
    /// The rule does not run.
    Off,
}

impl Level {
    /// Parses `"error"`, `"warn"` or `"off"` (case-sensitive).
    pub(crate) fn parse(s: &str) -> Option<Level> {
        match s {
            "error" => Some(Level::Error),
            "warn" => Some(Level::Warn),
            "off" => Some(Level::Off),
            _ => None,
        }
    }

    /// The spelling used in the policy file.
    pub fn as_str(self) -> &'static str {
        match self {
            Level::Error => "error",
            Level::Warn => "warn",
            Level::Off => "off",
        }
    }
}

impl fmt::Display for Level {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// Whether a banned type is also banned in test code.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default)]
pub enum TestsMode {
    /// Test code is checked too (the default).
    #[default]
    Include,
    /// Test code (`#[cfg(test)]`, `#[test]`, `tests/`) is not checked.
    Exclude,
}

/// A validated policy.
#[derive(Debug, Clone, Default)]
pub struct Policy {
    /// Rule levels set by the policy (only those written; the lint merges them with its defaults).
    pub rules: BTreeMap<String, Level>,
    /// Paths not to lint.
    pub exclude: Globs,
    /// `[[banned-type]]` entries, in file order.
    pub banned_types: Vec<BannedType>,
    /// The `[listener]` table.
    pub listener: ListenerConfig,
    /// `[[channel-type]]` entries, in file order.
    pub channel_types: Vec<ChannelType>,
    /// `[[exemption-marker]]` entries, in file order.
    pub exemption_markers: Vec<ExemptionMarker>,
    /// The `[analysis]` table.
    pub analysis: AnalysisConfig,
    /// `[[blocking-call]]` entries, in file order.
    pub blocking_calls: Vec<BlockingCall>,
    /// `[[blocking-insulator]]` entries, in file order.
    pub blocking_insulators: Vec<BlockingInsulator>,
    /// `[rules.listener-blocking-call] scope`, if set.
    pub listener_blocking_scope: Option<BlockingScope>,
    /// `[rules.undocumented-unsafe] honour-clippy-allow`, if set (default: true).
    pub honour_clippy_allow: Option<bool>,
}

impl Policy {
    /// Whether undocumented-unsafe leaves a site to an enclosing
    /// `#[allow(clippy::undocumented_unsafe_blocks)]` (`[rules.undocumented-unsafe]
    /// honour-clippy-allow`, default true).
    pub fn honours_clippy_allow(&self) -> bool {
        self.honour_clippy_allow.unwrap_or(true)
    }
}

/// Where listener-blocking-call looks for blocking calls.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum BlockingScope {
    /// On the listener path (reached from the entry points): the default.
    #[default]
    Listener,
    /// In every async context.
    Async,
}

/// A `[[blocking-call]]` entry: a function or method that blocks the thread.
#[derive(Debug, Clone)]
pub struct BlockingCall {
    /// The path as written (`crate::transport::FastSender::try_send`, `std::sync::Mutex::lock`).
    pub path: String,
    /// The path split at `::` (a leading `::` is dropped).
    pub segments: Vec<String>,
    /// Why it blocks (non-empty).
    pub reason: String,
    /// Byte span of the `path` string in the policy source.
    pub span: Range<usize>,
}

/// A `[[blocking-insulator]]` entry: a function whose closure argument runs where blocking is
/// fine (another thread, a blocking pool).
#[derive(Debug, Clone)]
pub struct BlockingInsulator {
    /// The path as written.
    pub path: String,
    /// The path split at `::`.
    pub segments: Vec<String>,
    /// Byte span of the `path` string in the policy source.
    pub span: Range<usize>,
}

/// The `[analysis]` table: which build the analysis describes.
#[derive(Debug, Clone, Default)]
pub struct AnalysisConfig {
    /// `features`: the Cargo features of the analysed build. `None` (the key is absent): every
    /// feature is unknown, so code under any `feature = ".."` may be compiled and stays
    /// reachable (fail closed). `Some(list)`: these features are on and every other is off.
    pub features: Option<Vec<String>>,
    /// `test-attributes`: attributes that make a function a test besides the built-in ones
    /// (`#[test]`, `#[bench]`, `#[tokio::test]`, `#[rstest]`, any attribute whose last segment
    /// is `test`), as paths (`freenet_test`, `my_crate::sim_test`); an attribute matches when
    /// its path ends with the listed segments. A test function is not in the production build.
    pub test_attributes: Vec<Vec<String>>,
    /// `lint-generated`: report findings in files whose header marks them as generated
    /// (bindgen, prost, flatbuffers, `@generated`). Default false: they are indexed, their
    /// findings are counted in the summary but not shown.
    pub lint_generated: bool,
}

impl Policy {
    /// The level configured for `rule`, or `default` if the policy does not set it.
    pub fn level(&self, rule: &str, default: Level) -> Level {
        self.rules.get(rule).copied().unwrap_or(default)
    }

    /// The exemption markers that apply to `rule`.
    pub fn exemption_markers_for<'a>(
        &'a self,
        rule: &'a str,
    ) -> impl Iterator<Item = &'a ExemptionMarker> + 'a {
        self.exemption_markers
            .iter()
            .filter(move |m| m.rule == rule)
    }
}

/// A `[[banned-type]]` entry.
#[derive(Debug, Clone)]
pub struct BannedType {
    /// The path as written, e.g. `tokio::net::UdpSocket`.
    pub path: String,
    /// The path split at `::` (a leading `::` is dropped), e.g. `["tokio", "net", "UdpSocket"]`.
    pub segments: Vec<String>,
    /// Why the type is banned (non-empty).
    pub reason: String,
    /// Where the ban applies; empty means everywhere.
    pub within: Globs,
    /// Where the ban does not apply (takes precedence over `within`).
    pub except: Globs,
    /// Whether test code is checked.
    pub tests: TestsMode,
    /// Byte span of the `path` string in the policy source.
    pub span: Range<usize>,
}

impl BannedType {
    /// `true` if the ban applies to `rel_path` (relative to the policy folder): it
    /// matches `within` (or `within` is empty) and does not match `except`.
    pub fn applies_to(&self, rel_path: &str) -> bool {
        (self.within.is_empty() || self.within.is_match(rel_path))
            && !self.except.is_match(rel_path)
    }
}

/// The `[listener]` table.
#[derive(Debug, Clone, Default)]
pub struct ListenerConfig {
    /// Functions whose bodies are listener loops (suffix-matched by the lint).
    pub entry_points: Vec<EntryPoint>,
}

/// One `listener.entry-points` element.
#[derive(Debug, Clone)]
pub struct EntryPoint {
    /// The pattern as written, e.g. `UdpPacketsListener::listen`.
    pub pattern: String,
    /// The pattern split at `::`, e.g. `["UdpPacketsListener", "listen"]`.
    pub segments: Vec<String>,
    /// Byte span of the string in the policy source.
    pub span: Range<usize>,
}

/// A `[[channel-type]]` entry.
#[derive(Debug, Clone)]
pub struct ChannelType {
    /// The type path as written.
    pub path: String,
    /// The path split at `::` (a leading `::` is dropped).
    pub segments: Vec<String>,
    /// Method names that may block or wait (non-empty, each an identifier).
    pub blocking_methods: Vec<String>,
    /// Byte span of the `path` string in the policy source.
    pub span: Range<usize>,
}

/// An `[[exemption-marker]]` entry.
#[derive(Debug, Clone)]
pub struct ExemptionMarker {
    /// The marker text with leading whitespace removed; a `//` comment whose text
    /// (leading whitespace trimmed) starts with it exempts a finding of `rule`.
    pub prefix: String,
    /// The rule id the marker exempts (a known rule).
    pub rule: String,
    /// Byte span of the `prefix` string in the policy source.
    pub span: Range<usize>,
}

/// Where a [`LoadedPolicy`] came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Origin {
    /// A `channel-lint.toml`-format file.
    File(PathBuf),
    /// The `[workspace.metadata.channel-lint]` (or root `[package.metadata.channel-lint]`)
    /// table of this `Cargo.toml`.
    CargoMetadata(PathBuf),
    /// No policy was found; built-in defaults.
    Default,
}

impl Origin {
    /// The file the policy was read from, if any.
    pub fn path(&self) -> Option<&Path> {
        match self {
            Origin::File(p) | Origin::CargoMetadata(p) => Some(p),
            Origin::Default => None,
        }
    }
}

impl fmt::Display for Origin {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            Origin::File(p) => write!(f, "{}", p.display()),
            Origin::CargoMetadata(p) => {
                write!(f, "{} (metadata.channel-lint)", p.display())
            }
            Origin::Default => f.write_str("built-in defaults"),
        }
    }
}

/// A validated policy together with where it came from.
#[derive(Debug, Clone)]
pub struct LoadedPolicy {
    /// The validated policy.
    pub policy: Policy,
    /// Where it came from.
    pub origin: Origin,
    /// The folder globs are relative to (the policy file's folder; for
    /// [`Origin::Default`] the start directory).
    pub base_dir: PathBuf,
    /// The whole text of the file that held the policy; `None` for defaults.
    pub source_text: Option<String>,
    /// Stable 64-bit FNV-1a hash of `source_text` (0 for defaults); identical text
    /// gives the identical hash across runs, builds and platforms.
    pub hash: u64,
}

impl LoadedPolicy {
    /// An error pointing at `span` of the policy source (used by the lint, e.g. for
    /// "entry point matches nothing"). For [`Origin::Default`] the error has no source.
    pub fn error_at(
        &self,
        span: Range<usize>,
        message: impl Into<String>,
        help: Option<String>,
    ) -> PolicyError {
        match (&self.source_text, self.origin.path()) {
            (Some(text), Some(path)) => PolicyError::invalid(
                ErrorKind::Custom,
                text,
                &path.display().to_string(),
                span,
                message,
                "here",
                help,
            ),
            _ => PolicyError::without_source(ErrorKind::Custom, message, help),
        }
    }

    /// `path` relative to [`LoadedPolicy::base_dir`], with `/` separators, ready for
    /// [`Globs::is_match`]. Relative paths are taken to be relative to the current
    /// directory; both sides are canonicalized if a plain prefix match fails.
    /// `None` if `path` is not below `base_dir`.
    pub fn relative_path(&self, path: &Path) -> Option<String> {
        let abs = std::path::absolute(path).unwrap_or_else(|_| path.to_path_buf());
        let rel = match abs.strip_prefix(&self.base_dir) {
            Ok(rel) => rel.to_path_buf(),
            Err(_) => {
                let base = self.base_dir.canonicalize().ok()?;
                let canon = abs.canonicalize().ok()?;
                canon.strip_prefix(&base).ok()?.to_path_buf()
            }
        };
        let parts: Vec<String> = rel
            .components()
            .map(|c| c.as_os_str().to_string_lossy().into_owned())
            .collect();
        Some(parts.join("/"))
    }
}

/// Parses and validates a `channel-lint.toml`-format text. `name` is used as the source
/// name in diagnostics; `base_dir` is the folder globs are relative to (globs are kept
/// relative, so it is not consulted while parsing). Rule ids not in `known_rules` are
/// rejected.
pub fn parse_str(
    text: &str,
    name: &str,
    base_dir: &Path,
    known_rules: &[&str],
) -> Result<Policy, PolicyError> {
    let _ = base_dir;
    let ctx = Ctx {
        text,
        name,
        known_rules,
    };
    let raw: parse::RawPolicy = ctx.deserialize()?;
    ctx.validate(raw)
}

/// The built-in defaults: an empty policy (no rule overrides, nothing excluded) with
/// `base_dir` as given.
pub fn defaults(base_dir: &Path) -> LoadedPolicy {
    LoadedPolicy {
        policy: Policy::default(),
        origin: Origin::Default,
        base_dir: base_dir.to_path_buf(),
        source_text: None,
        hash: 0,
    }
}

/// 64-bit FNV-1a hash of `text`, used for [`LoadedPolicy::hash`].
pub fn stable_hash(text: &str) -> u64 {
    const OFFSET: u64 = 0xcbf2_9ce4_8422_2325;
    const PRIME: u64 = 0x0000_0100_0000_01b3;
    text.bytes()
        .fold(OFFSET, |h, b| (h ^ u64::from(b)).wrapping_mul(PRIME))
}
