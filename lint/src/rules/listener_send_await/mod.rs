//! # listener-send-await
//!
//! A `.send(..).await` on a bounded channel, anywhere the listener event loop runs
//! synchronously, blocks the loop when one receiver stops draining, and the whole node starves.
//! This rule builds a workspace call graph from the listener entry points (policy
//! `[listener] entry-points`, or `// channel-lint: listener-entry` above a `fn` or a spawned
//! task's statement), follows the calls that run as part of the caller (not work handed to
//! `tokio::spawn` and friends), and reports every awaited capacity-waiting method of a channel
//! type (`tokio::sync::mpsc::Sender::send` by default, plus the policy's `[[channel-type]]`s)
//! with the chain that reaches it.
//! Page: `docs/rules/listener-send-await.md` (`--explain listener-send-await`).
//!
//! The knowledge of the code this rule uses lives in [`crate::semantics`] (types, the call
//! graph, the table of known channel types); this file holds only the rule: entry points, the
//! search over the call graph, findings and `--explain-path`.

use channel_lint_policy::{Level, LoadedPolicy, PolicyError};

use super::chain::{
    call_site, chain_names, describe_chain, display_name, marked_root, push_steps, root_note,
    short_name,
};
use super::{Context, EveryFile, Needs, Rule, RuleMeta};
use crate::diagnostic::{Diagnostic, Sink, Span};
use crate::facts::Anchor;
use crate::index::Res;
use crate::index::{FileId, FnId};
use crate::semantics::callgraph::{Analyzer, EdgeKind, FnSummary, Resolution, Subject};
use crate::semantics::known::{
    default_channels, waiting_channel_method, ChannelSpec, QUIET_METHODS,
};
use crate::semantics::reach::{self, chain, chains, Entry, Reach};
use crate::semantics::ty;
use crate::semantics::walk::anchors_of;

pub const META: RuleMeta = RuleMeta {
    id: "listener-send-await",
    default_level: Level::Error,
    summary: "a channel send that waits for capacity (`.send(..).await`) is reachable from the listener loop",
    doc: include_str!("../../../../docs/rules/listener-send-await.md"),
    rule: Some(&ListenerSendAwait),
};

/// The rule's entry in the registry.
pub struct ListenerSendAwait;

impl Rule for ListenerSendAwait {
    /// The call graph from the entry points: its trait dispatch reaches impls in any crate, so
    /// every file, whenever there is an entry point (the policy's, or a marker in some file).
    fn needs<'p>(&self, policy: &'p LoadedPolicy) -> Needs<'p> {
        Needs {
            every_file: Some(if policy.policy.listener.entry_points.is_empty() {
                EveryFile::IfAnyFileContains("listener-entry")
            } else {
                EveryFile::Always
            }),
            ..Needs::default()
        }
    }

    fn group(&self) -> Option<&'static str> {
        Some("listener")
    }

    fn check(&self, cx: &Context, sink: &mut Sink) -> Result<(), PolicyError> {
        check(cx, sink)
    }

    fn explain_path(&self, cx: &Context, target: &str) -> Option<String> {
        Some(explain_path(cx, target))
    }
}

const HELP: &str = "use `try_send` and handle `TrySendError::Full` (drop and count it; the peer retries) and \
`TrySendError::Closed` (the receiver is gone; clean up) apart. If the receiver is a task spawned on the same \
runtime with no dependency back on the listener, exempt it";

/// The help of a finding: the fix, then the exemption forms the policy configures for this
/// rule, the project's own `[[exemption-marker]]`s first, then the built-in
/// `same-runtime-consumer` directive.
fn help(cx: &Context) -> String {
    let mut forms: Vec<String> = cx
        .policy
        .policy
        .exemption_markers_for(META.id)
        .map(|m| format!("`// {} -- REASON`", m.prefix.trim_end()))
        .collect();
    forms.push("`// channel-lint: same-runtime-consumer -- REASON`".into());
    if forms.len() == 1 {
        format!("{HELP}: {}", forms[0])
    } else {
        let (last, first) = forms.split_last().expect("two or more");
        format!(
            "{HELP} with the project's marker {} (or {last})",
            first.join(" or ")
        )
    }
}

fn channels(cx: &Context) -> Vec<ChannelSpec> {
    let mut c = default_channels();
    for ct in &cx.policy.policy.channel_types {
        c.push(ChannelSpec {
            path: ct.segments.clone(),
            methods: ct.blocking_methods.clone(),
        });
    }
    c
}

/// The call-graph edges on which a wait holds the listener: what runs as part of it
/// (everything but spawned work and deferred futures), except the branch futures of a
/// `select!` that has other branches (while one waits for capacity, the loop still serves the
/// others; tokio's `send` is cancel-safe: a lost race means the message was not sent).
fn followed(kind: EdgeKind) -> bool {
    kind.runs_in_caller() && kind != EdgeKind::Raced
}

/// An awaited call of a capacity-waiting channel method.
struct SendSite {
    span: Span,
    anchors: Vec<Anchor>,
    channel: String,
    method: String,
}

/// The sends of one function on the listener's path, in evaluation order.
fn sends(an: &Analyzer, f: FnId, s: &FnSummary, channels: &[ChannelSpec]) -> Vec<SendSite> {
    let mut out = Vec::new();
    for c in &s.calls {
        if !c.awaited || !followed(c.kind) {
            continue;
        }
        let body = an.body(f);
        let hit = match &c.subject {
            Subject::Method { recv } => match &body.expr(c.call).kind {
                crate::facts::ExprKind::MethodCall { method, .. } => {
                    let recv = s.receiver_ty(*recv).unwrap_or(&ty::Ty::Unknown);
                    waiting_channel_method(an.index, channels, recv, method)
                        .map(|ch| (ch, method.clone()))
                }
                _ => None,
            },
            // `Sender::send(&tx, x).await`: the method called through its type's path.
            Subject::Path {
                resolved: Some(Res::External(p)),
            } => p.split_last().and_then(|(method, ty_path)| {
                let t = ty::ext(&ty_path.join("::"), vec![]);
                waiting_channel_method(an.index, channels, &t, method)
                    .map(|ch| (ch, method.clone()))
            }),
            Subject::Path { .. } => None,
        };
        if let Some((channel, method)) = hit {
            out.push(SendSite {
                span: c.site,
                anchors: anchors_of(body, c.call),
                channel,
                method,
            });
        }
    }
    out
}

/// The entry points: from the policy (each must match something) and from source markers (a
/// marker that marks nothing goes to `sink`).
fn entries(cx: &Context, sink: &mut Sink) -> Result<Vec<Entry>, PolicyError> {
    cx.listener_entries(sink)
}

/// The search from the entries, and the exemption directives on call edges it did not follow
/// (file, directive index).
fn search(cx: &Context, an: &mut Analyzer, entries: &[Entry]) -> (Reach, Vec<(FileId, usize)>) {
    let mut exempt_edges = Vec::new();
    let reach = reach::search(an, entries, &mut |an, f, c| {
        if !followed(c.kind) {
            return false;
        }
        if let Some(d) = cx.edge_exemption(META.id, an.body(f), f, c) {
            exempt_edges.push((f.file, d));
            return false;
        }
        true
    });
    (reach, exempt_edges)
}

pub fn check(cx: &Context, sink: &mut Sink) -> Result<(), PolicyError> {
    if cx.level(&META) == Level::Off {
        return Ok(());
    }
    let entries = entries(cx, sink)?;
    if entries.is_empty() {
        return Ok(());
    }
    let index = cx.index;
    let channels = channels(cx);
    let mut an = cx.analyzer(build(cx));
    let (reach, exempt_edges) = search(cx, &mut an, &entries);
    let help = help(cx);
    for &(fid, d) in &exempt_edges {
        let file = &index.files[fid.idx()];
        sink.directive_used(&file.rel, cx.directives(fid.idx())[d].span);
    }
    for &f in &reach.order {
        let s = reach.summary(&mut an, f);
        let sends = sends(&an, f, &s, &channels);
        if sends.is_empty() {
            continue;
        }
        let (all_chains, more) = chains(&reach, f);
        let steps = all_chains[0].clone();
        let names = chain_names(index, &reach, &steps);
        let file = &index.files[f.file.idx()];
        for send in &sends {
            let mut d = Diagnostic::new(
                META.id,
                &file.rel,
                send.span,
                format!(
                    "`.{}(..).await` on a `{}` can block the listener loop: {}",
                    send.method,
                    send.channel,
                    names.join(" → ")
                ),
            );
            d.notes
                .push(root_note(index, &reach, steps[0].0, "listener entry point"));
            push_steps(index, &mut d, &steps);
            // The other loop call sites that reach it: each to fix or exempt on its own.
            for other in &all_chains[1..] {
                d.notes.push(format!(
                    "also reached: {}",
                    describe_chain(index, &reach, other)
                ));
                if let Some((caller, Some(site))) = other.iter().rev().nth(1).copied() {
                    d.related.push(call_site(
                        index,
                        caller,
                        site,
                        format!(
                            "`{}` also calls `{}`",
                            short_name(index, caller),
                            short_name(index, f)
                        ),
                    ));
                }
            }
            if more {
                d.notes.push(format!(
                    "also reached through more chains than the {} shown (`--explain-path {}` shows the first)",
                    all_chains.len(),
                    display_name(index, f)
                ));
            }
            d.notes.push(help.clone());
            d.anchors = send.anchors.clone();
            sink.push(d);
        }
    }
    Ok(())
}

/// `listen → route → shared (`listen` calls `route` at src/a.rs:3:5, `route` calls `shared` at
/// The build the listener runs in: production (`test` off), with the policy's
/// `[analysis] features` when it names them (else every feature unknown, so reachable).
fn build(cx: &Context) -> crate::cfg::CfgEnv {
    let a = &cx.policy.policy.analysis;
    crate::cfg::CfgEnv::production(a.features.clone())
        .with_test_attributes(a.test_attributes.clone())
}

/// The reached functions from which one of `targets` is reached through followed edges
/// (the targets included): every function on some path from an entry point to them.
fn ancestors(
    reach: &Reach,
    targets: impl Iterator<Item = FnId>,
) -> std::collections::HashSet<FnId> {
    let mut seen: std::collections::HashSet<FnId> = targets.collect();
    let mut stack: Vec<FnId> = seen.iter().copied().collect();
    while let Some(f) = stack.pop() {
        for &(caller, _) in reach.incoming.get(&f).map(Vec::as_slice).unwrap_or(&[]) {
            if seen.insert(caller) {
                stack.push(caller);
            }
        }
    }
    seen
}

/// `--explain-path FN`: how FN is reached from the entry points, or why not; and the
/// unresolved calls on the listener path.
pub fn explain_path(cx: &Context, target: &str) -> String {
    use std::fmt::Write;
    let index = cx.index;
    let mut out = String::new();
    let entries = match entries(cx, &mut Sink::default()) {
        Ok(e) => e,
        Err(e) => return format!("error: {e}\n"),
    };
    let mut an = cx.analyzer(build(cx));
    let (reach, _) = search(cx, &mut an, &entries);
    let (order, preds) = (&reach.order, &reach.preds);
    let pattern: Vec<String> = target.split("::").map(str::to_string).collect();
    let _ = writeln!(out, "listener entry points ({}):", entries.len());
    for e in &entries {
        let rel = &index.files[e.f.file.idx()].rel;
        let _ = match e.block {
            None => writeln!(
                out,
                "  {} ({rel}:{})",
                display_name(index, e.f),
                index.fn_facts(e.f).span.line
            ),
            Some(b) => writeln!(
                out,
                "  the {} at {rel}:{} in {} (marked; the rest of the function is not an entry)",
                match b.kind {
                    reach::BlockKind::AsyncBlock => "async block",
                    reach::BlockKind::Closure => "closure",
                },
                b.line,
                display_name(index, e.f)
            ),
        };
    }
    if entries.is_empty() {
        let _ = writeln!(out, "  none: set `[listener] entry-points` in the policy or mark a fn or a spawned task with `// channel-lint: listener-entry`");
    }
    let _ = writeln!(out);
    let matches: Vec<FnId> = index
        .all_fns()
        .filter(|f| reach::fn_matches(&index.qualified_fn_name(*f), &pattern))
        .collect();
    if matches.is_empty() {
        let _ = writeln!(out, "no function matches `{target}` (matched as a suffix of `module::fn` or `Type::method`)");
    }
    for &f in &matches {
        let name = display_name(index, f);
        let rel = &index.files[f.file.idx()].rel;
        if let Some(marked) = marked_root(index, &reach, f) {
            let _ = writeln!(
                out,
                "`{name}` ({rel}:{}) is on the listener path only in {marked}, a marked entry point; the rest of it is not reached.",
                index.fn_facts(f).span.line
            );
        } else if preds.contains_key(&f) {
            let _ = writeln!(
                out,
                "`{name}` ({rel}:{}) is on the listener path:",
                index.fn_facts(f).span.line
            );
            for (i, (g, site)) in chain(preds, f).into_iter().enumerate() {
                let at = match site {
                    Some(s) => format!(
                        ", calls the next step at {}:{}:{}",
                        index.files[g.file.idx()].rel,
                        s.line,
                        s.column
                    ),
                    None => String::new(),
                };
                let name = marked_root(index, &reach, g).unwrap_or_else(|| display_name(index, g));
                let _ = writeln!(out, "  {}. {name}{at}", i + 1);
            }
        } else {
            let _ = writeln!(
                out,
                "`{name}` ({rel}:{}) is not reached from any listener entry point.",
                index.fn_facts(f).span.line
            );
            let callers: Vec<(FnId, Span)> = index
                .all_fns()
                .flat_map(|g| {
                    let s = an.summary(g);
                    s.edges(followed)
                        .filter(|c| c.targets().contains(&f))
                        .map(|c| (g, c.site))
                        .collect::<Vec<_>>()
                })
                .collect();
            if callers.is_empty() {
                let _ = writeln!(
                    out,
                    "  nothing in the linted files calls it synchronously (spawned tasks, stored closures, function pointers and macro-generated code are not followed)"
                );
            }
            for (g, site) in callers {
                let why = if reach.within.contains_key(&g) {
                    "outside the marked entry point in it"
                } else {
                    "itself not reached"
                };
                let _ = writeln!(
                    out,
                    "  called by {} at {}:{}:{} ({why})",
                    display_name(index, g),
                    index.files[g.file.idx()].rel,
                    site.line,
                    site.column
                );
            }
        }
        let _ = writeln!(out);
    }
    // A method call on a receiver of unknown type can only reach workspace code (or be a
    // channel send) if the workspace defines a method of that name (or a channel's waiting
    // method is called so); the others are a dependency's or std's, listed after.
    let mut workspace_methods: std::collections::HashSet<&str> = index
        .all_fns()
        .filter(|&f| !matches!(index.fn_facts(f).owner, crate::facts::FnOwner::Free))
        .map(|f| index.fn_facts(f).name.as_str())
        .collect();
    for file in index.files {
        for item in &file.facts.items {
            if let crate::facts::ItemKind::Trait { methods } = &item.kind {
                workspace_methods.extend(methods.iter().map(|m| m.0.as_str()));
            }
        }
    }
    let channel_specs = channels(cx);
    let may_matter = |method: &str| {
        workspace_methods.contains(method)
            || channel_specs
                .iter()
                .any(|c| c.methods.iter().any(|m| m == method))
    };
    // Only the unresolved calls that matter for FN: those in the functions on the paths from
    // the entry points to FN (when it is reached: an unresolved call there may hide a send on
    // the way), and, for an FN not reached, those on the listener path that could be a call of
    // it (same method or function name: one of them may be the missing edge).
    let on_paths = ancestors(
        &reach,
        matches.iter().copied().filter(|f| preds.contains_key(f)),
    );
    let missing_names: std::collections::HashSet<&str> = matches
        .iter()
        .filter(|f| !preds.contains_key(f))
        .map(|&f| index.fn_facts(f).name.as_str())
        .collect();
    let mut unresolved = Vec::new();
    let mut foreign = Vec::new();
    for &f in order {
        let body = an.body(f);
        for c in reach
            .summary(&mut an, f)
            .calls
            .iter()
            .filter(|c| followed(c.kind))
        {
            let Resolution::Unresolved(why) = c.resolution else {
                continue;
            };
            let named = match &body.expr(c.call).kind {
                crate::facts::ExprKind::MethodCall { method, .. } => Some(method.as_str()),
                crate::facts::ExprKind::Call {
                    callee: crate::facts::CallTarget::Path { path, .. },
                    ..
                } => path.last().map(String::as_str),
                _ => None,
            };
            if !on_paths.contains(&f) && !named.is_some_and(|n| missing_names.contains(n)) {
                continue;
            }
            let mut list = &mut unresolved;
            if let crate::facts::ExprKind::MethodCall { method, .. } = &body.expr(c.call).kind {
                if QUIET_METHODS.contains(&method.as_str()) {
                    continue;
                }
                if !may_matter(method) {
                    list = &mut foreign;
                }
            }
            let site = c.site;
            let why = why.describe(body, c.call);
            list.push(format!(
                "  {}:{}:{} in `{}`: {}",
                index.files[f.file.idx()].rel,
                site.line,
                site.column,
                short_name(index, f),
                why
            ));
        }
    }
    unresolved.sort();
    let _ = writeln!(out, "unresolved calls on the paths to `{target}` ({}): not followed, so sends behind them are not seen", unresolved.len());
    for u in unresolved {
        let _ = writeln!(out, "{u}");
    }
    if !foreign.is_empty() {
        foreign.sort();
        let _ = writeln!(out, "unresolved calls that cannot reach workspace code ({}): no workspace item defines the method and no channel's waiting method is named so (a dependency's or std's)", foreign.len());
        for u in foreign {
            let _ = writeln!(out, "{u}");
        }
    }
    // Deferred futures are known, not unknown: say which were left to whoever polls them.
    let mut deferred = Vec::new();
    for &f in order {
        for c in reach.summary(&mut an, f).calls.iter() {
            if c.kind != EdgeKind::Deferred || c.targets().is_empty() {
                continue;
            }
            let names: Vec<String> = c.targets().iter().map(|&t| short_name(index, t)).collect();
            deferred.push(format!(
                "  {}:{}:{} in `{}`: the future of `{}` is not awaited here",
                index.files[f.file.idx()].rel,
                c.site.line,
                c.site.column,
                short_name(index, f),
                names.join("` / `")
            ));
        }
    }
    if !deferred.is_empty() {
        deferred.sort();
        deferred.dedup();
        let _ = writeln!(out, "deferred futures on the listener path ({}): not followed, they run where they are polled (a set, a field, another task)", deferred.len());
        for d in deferred {
            let _ = writeln!(out, "{d}");
        }
    }
    out
}
