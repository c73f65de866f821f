//! Deserialization of the raw TOML and validation into a [`Policy`].

use std::collections::BTreeMap;
use std::ops::Range;

use serde::Deserialize;
use toml::Spanned;

use crate::error::{ErrorKind, PolicyError};
use crate::globs::Globs;
use crate::{
    BannedType, BlockingCall, BlockingInsulator, BlockingScope, ChannelType, EntryPoint,
    ExemptionMarker, Level, Policy, TestsMode,
};

/// The policy table exactly as written (shared by `channel-lint.toml` and `Cargo.toml` metadata).
#[derive(Debug, Default, Deserialize)]
#[serde(deny_unknown_fields)]
pub(crate) struct RawPolicy {
    exclude: Option<Vec<Spanned<String>>>,
    rules: Option<BTreeMap<Spanned<String>, Spanned<RawRule>>>,
    #[serde(default, rename = "banned-type")]
    banned_type: Vec<RawBannedType>,
    listener: Option<RawListener>,
    #[serde(default, rename = "channel-type")]
    channel_type: Vec<RawChannelType>,
    #[serde(default, rename = "exemption-marker")]
    exemption_marker: Vec<RawExemptionMarker>,
    analysis: Option<RawAnalysis>,
    #[serde(default, rename = "blocking-call")]
    blocking_call: Vec<RawBlockingCall>,
    #[serde(default, rename = "blocking-insulator")]
    blocking_insulator: Vec<RawBlockingInsulator>,
}

/// A `[rules]` entry: `id = "level"`, or a table `[rules.id] level = ".." scope = ".."`.
#[derive(Debug)]
pub(crate) enum RawRule {
    Level(String),
    /// The table's keys and values, in file order.
    Table(Vec<(Spanned<String>, Spanned<toml::Value>)>),
}

impl<'de> Deserialize<'de> for RawRule {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = RawRule;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str(
                    "a level (\"error\", \"warn\", \"off\") or a table of the rule's settings",
                )
            }
            fn visit_str<E: serde::de::Error>(self, v: &str) -> Result<RawRule, E> {
                Ok(RawRule::Level(v.to_owned()))
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(
                self,
                mut m: A,
            ) -> Result<RawRule, A::Error> {
                let mut out = Vec::new();
                while let Some(k) = m.next_key::<Spanned<String>>()? {
                    let v = m.next_value::<Spanned<toml::Value>>()?;
                    out.push((k, v));
                }
                Ok(RawRule::Table(out))
            }
        }
        d.deserialize_any(V)
    }
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlockingCall {
    path: Spanned<String>,
    reason: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBlockingInsulator {
    path: Spanned<String>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawAnalysis {
    features: Option<Vec<Spanned<String>>>,
    #[serde(rename = "test-attributes")]
    test_attributes: Option<Vec<Spanned<String>>>,
    #[serde(rename = "lint-generated")]
    lint_generated: Option<bool>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawBannedType {
    path: Spanned<String>,
    reason: Spanned<String>,
    within: Option<Vec<Spanned<String>>>,
    except: Option<Vec<Spanned<String>>>,
    tests: Option<Spanned<String>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawListener {
    #[serde(rename = "entry-points")]
    entry_points: Option<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawChannelType {
    path: Spanned<String>,
    #[serde(rename = "blocking-methods")]
    blocking_methods: Spanned<Vec<Spanned<String>>>,
}

#[derive(Debug, Deserialize)]
#[serde(deny_unknown_fields)]
struct RawExemptionMarker {
    prefix: Spanned<String>,
    rule: Spanned<String>,
}

/// `Cargo.toml` shape used to reach `[workspace.metadata.channel-lint]` with spans
/// relative to the whole manifest.
#[derive(Debug, Deserialize)]
pub(crate) struct WorkspaceManifest {
    workspace: Option<MetadataHolder>,
}

/// `Cargo.toml` shape used to reach `[package.metadata.channel-lint]`.
#[derive(Debug, Deserialize)]
pub(crate) struct PackageManifest {
    package: Option<MetadataHolder>,
}

#[derive(Debug, Deserialize)]
struct MetadataHolder {
    metadata: Option<Metadata>,
}

#[derive(Debug, Deserialize)]
struct Metadata {
    #[serde(rename = "channel-lint")]
    channel_lint: Option<RawPolicy>,
}

impl WorkspaceManifest {
    pub(crate) fn into_raw(self) -> Option<RawPolicy> {
        self.workspace?.metadata?.channel_lint
    }
}

impl PackageManifest {
    pub(crate) fn into_raw(self) -> Option<RawPolicy> {
        self.package?.metadata?.channel_lint
    }
}

/// Source text plus name, to build errors.
pub(crate) struct Ctx<'a> {
    pub(crate) text: &'a str,
    pub(crate) name: &'a str,
    pub(crate) known_rules: &'a [&'a str],
}

impl Ctx<'_> {
    fn err(
        &self,
        kind: ErrorKind,
        span: Range<usize>,
        message: impl Into<String>,
        label: impl Into<String>,
        help: Option<String>,
    ) -> PolicyError {
        PolicyError::invalid(kind, self.text, self.name, span, message, label, help)
    }

    /// Converts a TOML deserialization error into a [`PolicyError`].
    pub(crate) fn toml_error(&self, e: &toml::de::Error) -> PolicyError {
        let message = e.message().trim_end().to_owned();
        let mut span = e.span().unwrap_or(0..0);
        if message.starts_with("duplicate key") && span.end <= self.text.len() {
            // toml reports only the first character of the key; widen to the bare key.
            let rest = &self.text[span.start..];
            let len = rest
                .find(|c: char| !(c.is_ascii_alphanumeric() || c == '-' || c == '_'))
                .unwrap_or(rest.len());
            span.end = span.end.max(span.start + len);
        }
        let (kind, label, help) = if message.starts_with("unknown field") {
            (
                ErrorKind::UnknownKey,
                "unknown key",
                Some("remove the key or fix its spelling".to_owned()),
            )
        } else if message.starts_with("missing field") {
            (
                ErrorKind::MissingKey,
                "in this table",
                Some("add the required key to this table".to_owned()),
            )
        } else if message.starts_with("invalid type") {
            (ErrorKind::WrongType, "wrong type", None)
        } else {
            (ErrorKind::Syntax, "here", None)
        };
        self.err(kind, span, message, label, help)
    }

    pub(crate) fn deserialize<T: serde::de::DeserializeOwned>(&self) -> Result<T, PolicyError> {
        toml::from_str(self.text).map_err(|e| self.toml_error(&e))
    }

    fn globs(&self, list: Option<Vec<Spanned<String>>>) -> Result<Globs, PolicyError> {
        let list = list.unwrap_or_default();
        Globs::with_spans(list.iter().map(|s| (s.get_ref().as_str(), s.span()))).map_err(
            |(index, e)| {
                self.err(
                    ErrorKind::InvalidGlob,
                    list[index].span(),
                    format!("invalid glob `{}`: {}", e.pattern, e.message),
                    "invalid glob",
                    e.help.or_else(|| {
                        Some(
                            "globs use `*`, `?`, `**`, `[..]` and `{a,b}`; paths are relative \
                             to the folder of the policy file"
                                .to_owned(),
                        )
                    }),
                )
            },
        )
    }

    fn level(&self, id: &str, value: &str, span: Range<usize>) -> Result<Level, PolicyError> {
        Level::parse(value).ok_or_else(|| {
            let help = match suggest(value, &["error", "warn", "off"]) {
                Some(s) if s != value => {
                    format!("did you mean \"{s}\"? expected one of \"error\", \"warn\" or \"off\"")
                }
                _ => "expected one of \"error\", \"warn\" or \"off\"".to_owned(),
            };
            self.err(
                ErrorKind::InvalidLevel,
                span,
                format!("invalid level `{}` for rule `{id}`", value.escape_debug()),
                "invalid level",
                Some(help),
            )
        })
    }

    fn rule(&self, rule: &Spanned<String>, what: &str) -> Result<String, PolicyError> {
        let id = rule.get_ref();
        if self.known_rules.contains(&id.as_str()) {
            return Ok(id.clone());
        }
        let known = self.known_rules.join(", ");
        let help = match suggest(id, self.known_rules) {
            Some(s) => format!("did you mean `{s}`? known rules: {known}"),
            None if known.is_empty() => "no rules are known".to_owned(),
            None => format!("known rules: {known}"),
        };
        Err(self.err(
            ErrorKind::UnknownRule,
            rule.span(),
            format!("unknown rule `{id}` in {what}"),
            "unknown rule",
            Some(help),
        ))
    }

    /// An `[[table]]` entry's `reason` must say something: the error sits on the reason's span.
    fn nonempty_reason(
        &self,
        table: &str,
        path: &Spanned<String>,
        reason: &Spanned<String>,
        help: &str,
    ) -> Result<(), PolicyError> {
        if reason.get_ref().trim().is_empty() {
            return Err(self.err(
                ErrorKind::EmptyReason,
                reason.span(),
                format!("{table} `{}` has an empty reason", path.get_ref()),
                "empty reason",
                Some(help.to_owned()),
            ));
        }
        Ok(())
    }

    fn rust_path(&self, path: &Spanned<String>, what: &str) -> Result<Vec<String>, PolicyError> {
        parse_rust_path(path.get_ref()).map_err(|(reason, help)| {
            self.err(
                ErrorKind::InvalidPath,
                path.span(),
                format!("invalid {what} `{}`: {reason}", path.get_ref()),
                "not a valid Rust path",
                Some(help.unwrap_or_else(|| {
                    "write a path of identifiers separated by `::`, e.g. `tokio::net::UdpSocket`"
                        .to_owned()
                })),
            )
        })
    }

    pub(crate) fn validate(&self, raw: RawPolicy) -> Result<Policy, PolicyError> {
        let mut policy = Policy::default();

        for (key, value) in raw.rules.unwrap_or_default() {
            let id = self.rule(&key, "`[rules]`")?;
            let span = value.span();
            match value.into_inner() {
                RawRule::Level(level) => {
                    let level = self.level(&id, &level, span)?;
                    policy.rules.insert(id, level);
                }
                RawRule::Table(entries) => {
                    let options = options_of(&id);
                    for (k, v) in entries {
                        let key = k.get_ref().as_str();
                        let is_option = key == "level" || options.contains(&key);
                        if is_option && key != "honour-clippy-allow" && !v.get_ref().is_str() {
                            return Err(self.wrong_type(&id, key, "a string", &v));
                        }
                        let text = v.get_ref().as_str().unwrap_or_default();
                        match key {
                            "level" => {
                                let level = self.level(&id, text, v.span())?;
                                policy.rules.insert(id.clone(), level);
                            }
                            "honour-clippy-allow" if options.contains(&key) => {
                                let Some(b) = v.get_ref().as_bool() else {
                                    return Err(self.wrong_type(&id, key, "`true` or `false`", &v));
                                };
                                policy.honour_clippy_allow = Some(b);
                            }
                            "scope" if options.contains(&"scope") => {
                                let scope = match text {
                                    "listener" => BlockingScope::Listener,
                                    "async" => BlockingScope::Async,
                                    other => {
                                        let help = match suggest(other, &["listener", "async"]) {
                                            Some(s) => format!("did you mean \"{s}\"? expected \"listener\" or \"async\""),
                                            None => "expected \"listener\" (the listener path) or \"async\" (every async context)".to_owned(),
                                        };
                                        return Err(self.err(
                                            ErrorKind::InvalidValue,
                                            v.span(),
                                            format!(
                                                "invalid scope `{}` for rule `{id}`",
                                                other.escape_debug()
                                            ),
                                            "invalid scope",
                                            Some(help),
                                        ));
                                    }
                                };
                                policy.listener_blocking_scope = Some(scope);
                            }
                            other => {
                                let mut valid = vec!["level"];
                                valid.extend(options.iter().copied());
                                let list = valid
                                    .iter()
                                    .map(|k| format!("`{k}`"))
                                    .collect::<Vec<_>>()
                                    .join(", ");
                                let help = match suggest(other, &valid) {
                                    Some(s) => format!(
                                        "did you mean `{s}`? the settings of `{id}`: {list}"
                                    ),
                                    None => format!("the settings of `{id}`: {list}"),
                                };
                                return Err(self.err(
                                    ErrorKind::UnknownKey,
                                    k.span(),
                                    format!("unknown setting `{other}` for rule `{id}`"),
                                    "unknown key",
                                    Some(help),
                                ));
                            }
                        }
                    }
                }
            }
        }

        for bc in raw.blocking_call {
            let segments = self.rust_path(&bc.path, "blocking-call path")?;
            self.nonempty_reason(
                "blocking-call",
                &bc.path,
                &bc.reason,
                "say how the call blocks the thread, e.g. \"crossbeam backoff can spin forever\"",
            )?;
            policy.blocking_calls.push(BlockingCall {
                span: bc.path.span(),
                path: bc.path.into_inner(),
                segments,
                reason: bc.reason.into_inner(),
            });
        }
        for bi in raw.blocking_insulator {
            let segments = self.rust_path(&bi.path, "blocking-insulator path")?;
            policy.blocking_insulators.push(BlockingInsulator {
                span: bi.path.span(),
                path: bi.path.into_inner(),
                segments,
            });
        }

        policy.exclude = self.globs(raw.exclude)?;

        for bt in raw.banned_type {
            let segments = self.rust_path(&bt.path, "banned-type path")?;
            self.nonempty_reason(
                "banned-type",
                &bt.path,
                &bt.reason,
                "explain why the type is banned and what to use instead",
            )?;
            let tests = match bt.tests {
                None => TestsMode::Include,
                Some(t) => match t.get_ref().as_str() {
                    "include" => TestsMode::Include,
                    "exclude" => TestsMode::Exclude,
                    other => {
                        return Err(self.err(
                            ErrorKind::InvalidTestsMode,
                            t.span(),
                            format!("invalid tests mode `{}`", other.escape_debug()),
                            "invalid tests mode",
                            Some("expected \"include\" or \"exclude\"".to_owned()),
                        ))
                    }
                },
            };
            policy.banned_types.push(BannedType {
                span: bt.path.span(),
                path: bt.path.into_inner(),
                segments,
                reason: bt.reason.into_inner(),
                within: self.globs(bt.within)?,
                except: self.globs(bt.except)?,
                tests,
            });
        }

        if let Some(listener) = raw.listener {
            for ep in listener.entry_points.unwrap_or_default() {
                let segments = self.rust_path(&ep, "listener entry point")?;
                policy.listener.entry_points.push(EntryPoint {
                    span: ep.span(),
                    pattern: ep.into_inner(),
                    segments,
                });
            }
        }

        if let Some(analysis) = raw.analysis {
            if let Some(features) = analysis.features {
                let mut names = Vec::with_capacity(features.len());
                for f in features {
                    let ok = !f.get_ref().is_empty()
                        && f.get_ref()
                            .chars()
                            .all(|c| c.is_alphanumeric() || c == '_' || c == '-');
                    if !ok {
                        return Err(self.err(
                            ErrorKind::InvalidIdentifier,
                            f.span(),
                            format!("`{}` is not a Cargo feature name", f.get_ref()),
                            "not a feature name",
                            Some("feature names are letters, digits, `_` and `-`, e.g. \"simulation_tests\"".to_owned()),
                        ));
                    }
                    names.push(f.into_inner());
                }
                policy.analysis.features = Some(names);
            }
            policy.analysis.lint_generated = analysis.lint_generated.unwrap_or(false);
            for a in analysis.test_attributes.unwrap_or_default() {
                let segments = self.rust_path(&a, "test attribute")?;
                policy.analysis.test_attributes.push(segments);
            }
        }

        for ct in raw.channel_type {
            let segments = self.rust_path(&ct.path, "channel-type path")?;
            let methods_span = ct.blocking_methods.span();
            let methods = ct.blocking_methods.into_inner();
            if methods.is_empty() {
                return Err(self.err(
                    ErrorKind::EmptyBlockingMethods,
                    methods_span,
                    format!(
                        "channel-type `{}` has no blocking methods",
                        ct.path.get_ref()
                    ),
                    "empty list",
                    Some(
                        "list the methods that may block or wait, e.g. [\"send_async\"]".to_owned(),
                    ),
                ));
            }
            let mut blocking_methods = Vec::with_capacity(methods.len());
            for m in methods {
                if !is_ident(m.get_ref()) {
                    return Err(self.err(
                        ErrorKind::InvalidIdentifier,
                        m.span(),
                        format!("invalid method name `{}`", m.get_ref().escape_debug()),
                        "not an identifier",
                        Some("write only the method name, e.g. \"send_async\"".to_owned()),
                    ));
                }
                blocking_methods.push(m.into_inner());
            }
            policy.channel_types.push(ChannelType {
                span: ct.path.span(),
                path: ct.path.into_inner(),
                segments,
                blocking_methods,
            });
        }

        for em in raw.exemption_marker {
            if em.prefix.get_ref().trim().is_empty() {
                return Err(self.err(
                    ErrorKind::EmptyPrefix,
                    em.prefix.span(),
                    "exemption-marker has an empty prefix",
                    "empty prefix",
                    Some(
                        "an empty prefix would exempt every comment; write the marker text, \
                         e.g. \"channel-safety: ok\""
                            .to_owned(),
                    ),
                ));
            }
            let rule = self.rule(&em.rule, "exemption-marker")?;
            policy.exemption_markers.push(ExemptionMarker {
                span: em.prefix.span(),
                prefix: em.prefix.into_inner().trim_start().to_owned(),
                rule,
            });
        }

        Ok(policy)
    }
}

impl Ctx<'_> {
    /// A rule setting given a value of the wrong TOML type.
    fn wrong_type(
        &self,
        id: &str,
        key: &str,
        expected: &str,
        v: &Spanned<toml::Value>,
    ) -> PolicyError {
        self.err(
            ErrorKind::InvalidValue,
            v.span(),
            format!(
                "invalid value for `{key}` of rule `{id}`: expected {expected}, found {}",
                v.get_ref().type_str()
            ),
            "wrong type",
            Some(format!(
                "write `{key} = {}`",
                if key == "honour-clippy-allow" {
                    "false"
                } else {
                    "\"..\""
                }
            )),
        )
    }
}

/// The settings a rule's `[rules.<id>]` table takes besides `level`.
fn options_of(id: &str) -> &'static [&'static str] {
    match id {
        "listener-blocking-call" => &["scope"],
        "undocumented-unsafe" => &["honour-clippy-allow"],
        _ => &[],
    }
}

/// `true` for a Rust identifier (`r#` raw identifiers allowed, `_` alone is not).
pub(crate) fn is_ident(s: &str) -> bool {
    let s = s.strip_prefix("r#").unwrap_or(s);
    let mut chars = s.chars();
    match chars.next() {
        Some(c) if c == '_' || c.is_alphabetic() => {}
        _ => return false,
    }
    s != "_" && chars.all(|c| c == '_' || c.is_alphanumeric())
}

/// Splits `a::b::C` (optionally with a leading `::`) into identifier segments.
/// On error returns a reason and an optional specific help.
pub(crate) fn parse_rust_path(path: &str) -> Result<Vec<String>, (String, Option<String>)> {
    if path.trim().is_empty() {
        return Err(("the path is empty".to_owned(), None));
    }
    if path.chars().any(char::is_whitespace) {
        return Err((
            "it contains whitespace".to_owned(),
            Some("remove the spaces, e.g. `tokio::net::UdpSocket`".to_owned()),
        ));
    }
    if path.contains('<') || path.contains('>') {
        return Err((
            "generic arguments are not supported".to_owned(),
            Some("write the path without `<...>`; all instantiations are matched".to_owned()),
        ));
    }
    let body = path.strip_prefix("::").unwrap_or(path);
    let mut segments = Vec::new();
    for segment in body.split("::") {
        if segment.is_empty() {
            return Err(("it has an empty segment".to_owned(), None));
        }
        if !is_ident(segment) {
            return Err((
                format!("`{}` is not an identifier", segment.escape_debug()),
                None,
            ));
        }
        segments.push(segment.to_owned());
    }
    Ok(segments)
}

/// The closest known rule, if reasonably close.
fn suggest<'a>(id: &str, known: &[&'a str]) -> Option<&'a str> {
    known
        .iter()
        .map(|k| (levenshtein(id, k), *k))
        .filter(|(d, k)| *d <= 3.max(k.len() / 3))
        .min_by_key(|(d, _)| *d)
        .map(|(_, k)| k)
}

fn levenshtein(a: &str, b: &str) -> usize {
    let b: Vec<char> = b.chars().collect();
    let mut prev: Vec<usize> = (0..=b.len()).collect();
    for (i, ca) in a.chars().enumerate() {
        let mut cur = vec![i + 1; b.len() + 1];
        for (j, cb) in b.iter().enumerate() {
            let cost = usize::from(ca != *cb);
            cur[j + 1] = (prev[j] + cost).min(prev[j + 1] + 1).min(cur[j] + 1);
        }
        prev = cur;
    }
    prev[b.len()]
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn rust_paths() {
        assert_eq!(
            parse_rust_path("tokio::net::UdpSocket").unwrap(),
            ["tokio", "net", "UdpSocket"]
        );
        assert_eq!(
            parse_rust_path("::std::rc::Rc").unwrap(),
            ["std", "rc", "Rc"]
        );
        assert_eq!(parse_rust_path("Rc").unwrap(), ["Rc"]);
        assert_eq!(parse_rust_path("r#type::X").unwrap(), ["r#type", "X"]);
        for bad in [
            "", "a::", "::", "a::::b", "a b", "Vec<u8>", "a:b", "1a::b", "_", "a::-b", "a.b",
        ] {
            assert!(parse_rust_path(bad).is_err(), "{bad:?} accepted");
        }
    }

    #[test]
    fn suggestions() {
        let known = ["banned-type", "undocumented-unsafe", "listener-send-await"];
        assert_eq!(suggest("baned-type", &known), Some("banned-type"));
        assert_eq!(suggest("zzz", &known), None);
    }
}
