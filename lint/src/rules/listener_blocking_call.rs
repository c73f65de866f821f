//! # listener-blocking-call
//!
//! A call that blocks the thread (`std::thread::sleep`, a std or crossbeam channel's
//! `send`/`recv`, blocking `std::net` socket I/O, `std::fs`, `JoinHandle::join`,
//! `Condvar::wait`, stdin reads, and the policy's `[[blocking-call]]`s) on the listener path:
//! the same reachability as listener-send-await, from the listener entry points along the calls
//! the listener runs itself (spawned work and insulated closures are off the path). With
//! `[rules.listener-blocking-call] scope = "async"` every async context is checked instead.
//! The calls of runtime-panic-call are reported by that rule (when it is on), not twice.
//! Page: `docs/rules/listener-blocking-call.md`.

use std::collections::HashSet;

use channel_lint_policy::{BlockingScope, Level, LoadedPolicy, PolicyError};

use super::blocking::{self, async_roots};
use super::{Context, EveryFile, Needs, Rule, RuleMeta};
use crate::diagnostic::Sink;
use crate::semantics::known::BlockingKind;

pub const META: RuleMeta = RuleMeta {
    id: "listener-blocking-call",
    default_level: Level::Error,
    summary: "a call that blocks the thread (`std::thread::sleep`, std/crossbeam channel `recv`, blocking I/O, ...) is reachable from the listener loop",
    doc: include_str!("../../../docs/rules/listener-blocking-call.md"),
    rule: Some(&ListenerBlockingCall),
};

pub struct ListenerBlockingCall;

const HELP: &str = "move the blocking work off the listener: `tokio::task::spawn_blocking(..)` or a task fed by a channel; or use the async form (`tokio::time::sleep(..).await`, `tokio::fs`, `tokio::net`, a tokio channel's `.recv().await` / `try_send`)";

fn scope(policy: &LoadedPolicy) -> BlockingScope {
    policy.policy.listener_blocking_scope.unwrap_or_default()
}

impl Rule for ListenerBlockingCall {
    /// Like listener-send-await: every file whenever there is an entry point; with scope
    /// "async", every file (the calls it looks for have common names: `read`, `send`, `recv`).
    fn needs<'p>(&self, policy: &'p LoadedPolicy) -> Needs<'p> {
        let every = if scope(policy) == BlockingScope::Async
            || !policy.policy.listener.entry_points.is_empty()
        {
            EveryFile::Always
        } else {
            EveryFile::IfAnyFileContains("listener-entry")
        };
        Needs {
            every_file: Some(every),
            ..Needs::default()
        }
    }

    fn group(&self) -> Option<&'static str> {
        Some("listener")
    }

    fn check(&self, cx: &Context, sink: &mut Sink) -> Result<(), PolicyError> {
        let async_scope = scope(cx.policy) == BlockingScope::Async;
        let (mut an, roots, restricted) = if async_scope {
            let mut an = cx.analyzer(super::runtime_panic_call::build(cx));
            let (roots, restricted) = async_roots(&mut an, None);
            (an, roots, restricted)
        } else {
            let roots = cx.listener_entries(sink)?;
            let an = cx.analyzer(listener_build(cx));
            (an, roots, HashSet::new())
        };
        if roots.is_empty() {
            return Ok(());
        }
        let panic_rule_on = cx.levels.is_on(&super::runtime_panic_call::META);
        let found = blocking::search(cx, sink, &mut an, META.id, &roots, &restricted, None);
        for &f in &found.reach.order {
            let sites = found.sites(cx, &mut an, f, &restricted, &|k| {
                k == BlockingKind::Blocks || !panic_rule_on
            });
            if sites.is_empty() {
                continue;
            }
            let (what, root) = if async_scope {
                ("async code", "async context starts in")
            } else {
                ("the listener loop", "listener entry point")
            };
            blocking::report(
                cx,
                sink,
                META.id,
                &found.reach,
                f,
                &sites,
                &|site, chain| {
                    format!(
                        "`{}` blocks the thread, and {what} reaches it: {chain}",
                        site.what
                    )
                },
                root,
                HELP,
            );
        }
        Ok(())
    }
}

/// The build the listener runs in (as listener-send-await): production, the policy's features.
fn listener_build(cx: &Context) -> crate::cfg::CfgEnv {
    let a = &cx.policy.policy.analysis;
    crate::cfg::CfgEnv::production(a.features.clone())
        .with_test_attributes(a.test_attributes.clone())
}
