//! # runtime-panic-call
//!
//! A call that panics (or deadlocks) when it runs on an async runtime's thread, reached from
//! async context: tokio's `blocking_send` / `blocking_recv` / `blocking_lock` /
//! `blocking_read` / `blocking_write`, `Runtime::block_on`, `Handle::block_on`,
//! `futures::executor::block_on`. Async context is the body of every async fn (including
//! `#[tokio::main]` and `#[tokio::test]`) and every async block a sync fn runs in place or
//! returns, and everything they call in place through the call graph; the closures handed to
//! `spawn_blocking`, `block_in_place`, `std::thread::spawn`, `Builder::spawn`, a scope's
//! `spawn` (and the policy's `[[blocking-insulator]]`s) are not. A sync `fn main` that builds a
//! runtime and calls `block_on` is the correct use and is not reached.
//! Off by default (opt in with `[rules] runtime-panic-call = "error"`): see [`META`].
//! Page: `docs/rules/runtime-panic-call.md`.

use channel_lint_policy::{Level, LoadedPolicy, PolicyError};

use super::blocking::{self, async_roots};
use super::{Context, EveryFile, Needs, Rule, RuleMeta};
use crate::diagnostic::Sink;
use crate::semantics::callers::may_reach;
use crate::semantics::callgraph::Analyzer;
use crate::semantics::known::{BlockingKind, RUNTIME_PANIC_NAMES};

pub const META: RuleMeta = RuleMeta {
    id: "runtime-panic-call",
    // Off until it costs no more than the rules already on: its async roots are every async fn,
    // so it needs every file's item tree whenever a file names one of its calls. With skeletons
    // and the backward search that is cheap on a workspace (freenet without entry points: cold
    // 0.05 s -> 0.21 s) but not on the vendored tree (cold 1.0 s -> 4.5-5.2 s, 180 -> 700 MB):
    // see docs/rules/runtime-panic-call.md. Opt in with `[rules] runtime-panic-call = "error"`.
    default_level: Level::Off,
    summary: "a call that panics on an async runtime's thread (`blocking_send`, `blocking_lock`, `block_on`, ...) is reachable from async context",
    doc: include_str!("../../../docs/rules/runtime-panic-call.md"),
    rule: Some(&RuntimePanicCall),
};

pub struct RuntimePanicCall;

const HELP: &str = "in async code use the async form (`.send(..).await`, `.recv().await`, `.lock().await`, `.read().await`, or `.await` the future instead of `block_on`); code that must block belongs in `tokio::task::spawn_blocking(..)` (or `block_in_place` on a multi-threaded runtime)";

impl Rule for RuntimePanicCall {
    /// The call graph from every async context: trait dispatch reaches impls in any crate, so
    /// every file, whenever some file names one of the calls (a finding's call site, or the
    /// `use` that renames it, contains its name).
    fn needs<'p>(&self, _policy: &'p LoadedPolicy) -> Needs<'p> {
        Needs {
            every_file: Some(EveryFile::IfAnyFileContainsAny(RUNTIME_PANIC_NAMES)),
            ..Needs::default()
        }
    }

    fn check(&self, cx: &Context, sink: &mut Sink) -> Result<(), PolicyError> {
        let mut an = cx.analyzer(build(cx));
        // Only what may lead to one of the calls is searched (every async fn is a root, but few
        // reach a `block_on`): the functions that may reach a body naming one, or a body holding
        // a directive (an exemption the whole search would meet must be met).
        let with_directives = directive_fns(cx, &an);
        let relevant = may_reach(&mut an, RUNTIME_PANIC_NAMES, &with_directives);
        let (roots, restricted) = async_roots(&mut an, Some(&relevant));
        let found = blocking::search(
            cx,
            sink,
            &mut an,
            META.id,
            &roots,
            &restricted,
            Some(&relevant),
        );
        for &f in &found.reach.order {
            let sites = found.sites(cx, &mut an, f, &restricted, &|k| {
                k == BlockingKind::RuntimePanic
            });
            if sites.is_empty() {
                continue;
            }
            blocking::report(
                cx,
                sink,
                META.id,
                &found.reach,
                f,
                &sites,
                &|site, chain| {
                    format!(
                        "`{}` panics or deadlocks on an async runtime's thread, and async code reaches it: {chain}",
                        site.what
                    )
                },
                "async context starts in",
                HELP,
            );
        }
        Ok(())
    }
}

/// The functions whose bodies hold a directive's line.
fn directive_fns(cx: &Context, an: &Analyzer) -> Vec<crate::index::FnId> {
    let index = cx.index;
    let mut out = Vec::new();
    for (i, file) in index.files.iter().enumerate() {
        let lines: Vec<u32> = cx.directives(i).iter().map(|d| d.span.line).collect();
        if lines.is_empty() {
            continue;
        }
        for k in 0..file.facts.bodies.len() {
            let f =
                crate::index::FnId::new(crate::index::FileId::new(i), crate::facts::FnIdx::new(k));
            if an.in_build(f) && file.facts.bodies.may_hold_line(k, &lines) {
                out.push(f);
            }
        }
    }
    out
}

/// Any build: test code runs on runtimes too (`#[tokio::test]`); the policy's features.
pub(crate) fn build(cx: &Context) -> crate::cfg::CfgEnv {
    let a = &cx.policy.policy.analysis;
    crate::cfg::CfgEnv {
        test: None,
        features: a.features.clone(),
        ..Default::default()
    }
}
