//! # listener-send-await (work in progress)

use super::{Context, RuleMeta};
use crate::diagnostic::Sink;

pub const META: RuleMeta = RuleMeta {
    id: "listener-send-await",
    default_level: channel_lint_policy::Level::Error,
    summary: "a channel send that waits for capacity (`.send(..).await`) is reachable from the listener loop",
    doc: include_str!("../../../../docs/rules/listener-send-await.md"),
};

pub fn check(_cx: &Context, _sink: &mut Sink) -> Result<(), channel_lint_policy::PolicyError> {
    Ok(())
}

pub fn explain_path(_cx: &Context, f: &str) -> String {
    format!("{f}: not analysed yet")
}
