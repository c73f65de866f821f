//! `cargo channel-lint init [--force]`: write a starter `channel-lint.toml` at the workspace root.
//!
//! The file lists every rule at its default level, a commented `[[banned-type]]` example, and
//! the listener entry points it can guess — event loops: a `loop`/`while` that awaits a socket
//! receive, a channel's `.recv()`, a timer's `.tick()`, a `Notify` or a stream's `.next()`,
//! directly or in a `select!` branch — each with its file:line and why it was guessed, the most
//! dispatching first, commented out for review (an entry point that matches nothing is an
//! error, and a guess may be wrong). An awaited call of the workspace's own function
//! (`self.connection.read_frame()`) is a receive when that function awaits (or returns) one,
//! followed through the call graph a few calls deep ([`Receives`]); a `for` loop and a loop
//! that hands a value back to its caller (`return Ok(frame)`) are not event loops, and a loop in
//! a `stream!` generator is listed as nested in it. Guessing reads the body IR
//! ([`crate::facts`]) and the semantic model; like the lint, it never builds or runs the code.
//!
//! Files are found, read and parsed by the lint's own front end ([`crate::discover`], then
//! [`crate::driver::with_index`]: every file in full, with recovery, on the pipeline's
//! large-stack threads, no cache), and test code is skipped by the lint's own rule
//! ([`crate::cfg`]): `tests/` and `benches/` folders (and `examples/`, no listener
//! lives there), `#![cfg(test)]` files, and items that are test code.

use std::collections::HashMap;
use std::ffi::OsString;
use std::path::{Path, PathBuf};
use std::process::ExitCode;

use clap::Parser;

use crate::cfg::CfgEnv;
use crate::diagnostic::Span;
use crate::facts::{Body, ExprId, ExprKind, MacroArgs};
use crate::index::resolve::TypeKey;
use crate::index::{FnId, Index};
use crate::rules;
use crate::semantics::callgraph::{Analyzer, FnSummary, Resolution};
use crate::semantics::known::known_receive;
use crate::semantics::ty::{peel_ref, Ty};
use crate::workspace::{absolute, find_root};

#[derive(Parser, Debug)]
#[command(
    name = "init",
    about = "Write a starter channel-lint.toml for the workspace (rules at their default levels, guessed listener entry points commented for review)"
)]
struct InitCli {
    /// Overwrite an existing channel-lint.toml.
    #[arg(long)]
    force: bool,
    /// Find the workspace root from this Cargo.toml instead of the current directory.
    #[arg(long, value_name = "PATH")]
    manifest_path: Option<PathBuf>,
    /// Print the file on stdout instead of writing it.
    #[arg(long)]
    stdout: bool,
}

/// A guessed listener event loop.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// An entry-point pattern for the function that holds the loop: the shortest suffix of
    /// its qualified name (`Type::method`, `module::fn`) that names no other function.
    pub pattern: String,
    /// Relative to the root, `/` separators.
    pub path: String,
    /// The function's name line.
    pub line: usize,
    /// The loop keyword's line.
    pub loop_line: usize,
    /// Why it was guessed: the loop's shape and what it awaits.
    pub why: String,
    /// How much the loop dispatches: `select!` branches, match arms and calls inside it.
    pub dispatch: usize,
    /// The loop sits in a spawned future, an async block or a closure of the function (not in
    /// its own body): naming the function does not make the loop an entry point.
    pub nested_in: Option<&'static str>,
}

/// The method names of the awaited receives that make a loop an event loop: (method, what it
/// receives from, when the receiver's type does not tell). A call of one of them is a receive
/// only when the semantic model does not rule it out ([`classify`]).
const RECEIVES: &[(&str, &str)] = &[
    ("recv_from", "a socket"),
    ("recv_buf_from", "a socket"),
    ("accept", "a listener socket"),
    ("recv", "a channel or socket"),
    ("recv_async", "a channel"),
    ("recv_many", "a channel"),
    ("changed", "a watch channel"),
    ("tick", "a timer"),
    ("next", "a stream"),
    ("try_next", "a stream"),
    ("next_message", "a connection"),
    ("read_frame", "a connection"),
];

/// Every sub-expression of `k` (its direct children).
fn children(k: &ExprKind) -> Vec<ExprId> {
    use ExprKind as K;
    let stmts = |stmts: &[crate::facts::Stmt]| -> Vec<ExprId> {
        let mut v = Vec::new();
        for st in stmts {
            match &st.kind {
                crate::facts::StmtKind::Let { init, diverge, .. } => {
                    v.extend(init.iter().chain(diverge.iter()).copied())
                }
                crate::facts::StmtKind::Expr(e) => v.push(*e),
                crate::facts::StmtKind::Item => {}
            }
        }
        v
    };
    match k {
        K::Block(st) => stmts(st),
        K::AsyncBlock(b) => vec![*b],
        K::Closure { body, .. } => vec![*body],
        K::Await { base, .. } => vec![*base],
        K::Spawn { call } => vec![*call],
        K::MethodCall { recv, args, .. } => {
            std::iter::once(*recv).chain(args.iter().copied()).collect()
        }
        K::Call { callee, args, .. } => {
            let mut v: Vec<ExprId> = args.clone();
            if let crate::facts::CallTarget::Expr(e) = callee {
                v.push(*e);
            }
            v
        }
        K::MacroCall { args, .. } => match args {
            MacroArgs::Select(arms) => arms
                .iter()
                .flat_map(|a| {
                    a.future
                        .iter()
                        .chain(a.guard.iter())
                        .chain([&a.handler])
                        .copied()
                })
                .collect(),
            MacroArgs::Exprs(xs) => xs.clone(),
            MacroArgs::Stmts(st) => stmts(st),
            MacroArgs::Tokens => Vec::new(),
        },
        K::Field { base, .. }
        | K::Ref(base)
        | K::Deref(base)
        | K::Unary(base)
        | K::Try(base)
        | K::Paren(base)
        | K::Cast(base) => vec![*base],
        K::Index { base, index } => vec![*base, *index],
        K::StructLit { fields, rest, .. } => fields.iter().chain(rest.iter()).copied().collect(),
        K::Tuple(xs) | K::Array(xs) => xs.clone(),
        K::Repeat { value, len } => vec![*value, *len],
        K::If { cond, then, els } => std::iter::once(*cond)
            .chain([*then])
            .chain(els.iter().copied())
            .collect(),
        K::Let { init, .. } => vec![*init],
        K::Loop { head, body, .. } => head.iter().copied().chain([*body]).collect(),
        K::Match { scrutinee, arms } => std::iter::once(*scrutinee)
            .chain(
                arms.iter()
                    .flat_map(|a| a.guard.iter().copied().chain([a.body])),
            )
            .collect(),
        K::Assign { lhs, rhs } | K::Binary { lhs, rhs } => vec![*lhs, *rhs],
        K::Range { start, end } => start.iter().chain(end.iter()).copied().collect(),
        K::Return(x) | K::Break(x) | K::Yield(x) => x.iter().copied().collect(),
        K::Path(_) | K::Lit | K::Other => Vec::new(),
    }
}

/// How many workspace calls deep a receive is looked for (`self.conn.read_frame()` →
/// `Connection::read_frame` → what it awaits → ...); bounded, so a cycle of calls ends.
const FOLLOW_DEPTH: u32 = 3;

/// Judges awaited futures with the semantic model: a known receive, a receive guessed by the
/// method's name ([`classify`]), or a call of a workspace function that itself awaits (or, not
/// being `async`, returns) one, followed [`FOLLOW_DEPTH`] calls deep.
struct Receives<'i, 'a> {
    an: Analyzer<'i, 'a>,
    /// (function, depth left) → the receive it awaits, described, if any.
    memo: HashMap<(FnId, u32), Option<String>>,
}

/// One receive a future makes: the call as written (`.recv()`, `read_all()`) and what it
/// receives from (why it is one).
type Receive = (String, String);

impl<'i, 'a> Receives<'i, 'a> {
    fn new(an: Analyzer<'i, 'a>) -> Self {
        Receives {
            an,
            memo: HashMap::new(),
        }
    }

    /// The receive the future expression `e` makes, looking through `?`, parentheses, `&mut`,
    /// adapters on the receive's result (`rx.recv().fuse()`) and `timeout(d, future)`.
    /// `depth`: how many more workspace calls may be followed.
    fn of_future(
        &mut self,
        summary: &FnSummary,
        body: &Body,
        mut e: ExprId,
        depth: u32,
    ) -> Option<Receive> {
        loop {
            let resolution = summary
                .calls
                .iter()
                .find(|c| c.call == e)
                .map(|c| &c.resolution);
            match &body.expr(e).kind {
                ExprKind::Paren(x) | ExprKind::Try(x) | ExprKind::Ref(x) => e = *x,
                ExprKind::MethodCall { method, recv, .. } => {
                    match resolution {
                        Some(Resolution::Fns { targets, .. }) => {
                            let why = self.follow(targets, depth)?;
                            return Some((format!(".{method}()"), why));
                        }
                        Some(Resolution::NotInBuild) => return None,
                        _ => {}
                    }
                    if let Some((what, t)) = summary
                        .receiver_ty(*recv)
                        .and_then(|ty| known_receive(ty, method))
                    {
                        return Some((format!(".{method}()"), format!("{what}: `{t}`")));
                    }
                    if let Some(&(m, from)) = RECEIVES.iter().find(|(m, _)| m == method) {
                        return classify(summary, body, (e, m, from))
                            .map(|(m, why)| (format!(".{m}()"), why));
                    }
                    // `rx.recv().fuse()`, `stream.next().boxed()`: the receive is the receiver.
                    e = *recv;
                }
                ExprKind::Call { callee, args, .. } => {
                    let name = match callee {
                        crate::facts::CallTarget::Path { path, .. } => path.join("::"),
                        crate::facts::CallTarget::Expr(_) => return None,
                    };
                    match resolution {
                        Some(Resolution::Fns { targets, .. }) => {
                            let why = self.follow(targets, depth)?;
                            return Some((format!("{name}()"), why));
                        }
                        // `timeout(d, future)` awaits the future.
                        _ if name.rsplit("::").next() == Some("timeout") && args.len() == 2 => {
                            e = args[1]
                        }
                        _ => return None,
                    }
                }
                _ => return None,
            }
        }
    }

    /// A call of workspace functions `targets` is a receive when one of them awaits one: why.
    fn follow(&mut self, targets: &[FnId], depth: u32) -> Option<String> {
        targets.iter().find_map(|&t| {
            let inner = self.fn_receive(t, depth)?;
            let q = self.an.index.qualified_fn_name(t);
            let name = q[q.len().saturating_sub(2).max(1.min(q.len()))..].join("::");
            Some(format!("the workspace's `{name}`, which awaits {inner}"))
        })
    }

    /// The first receive the body of `f` awaits in its own task (not in spawned work or a
    /// closure), or returns when `f` is not `async` (`fn recv(&mut self) -> Recv<'_> {
    /// self.rx.recv() }`), described; `None` past the depth bound.
    fn fn_receive(&mut self, f: FnId, depth: u32) -> Option<String> {
        if depth == 0 {
            return None;
        }
        if let Some(r) = self.memo.get(&(f, depth)) {
            return r.clone();
        }
        // A cycle of calls meets this entry at a smaller depth, so it ends at depth 0.
        self.memo.insert((f, depth), None);
        let summary = self.an.summary(f);
        let body = self.an.body(f);
        let mut futures = Vec::new();
        if let Some(root) = body.root {
            let mut stack = vec![root];
            while let Some(e) = stack.pop() {
                let k = &body.expr(e).kind;
                match k {
                    ExprKind::Await { base, .. } => futures.push(*base),
                    ExprKind::MacroCall {
                        args: MacroArgs::Select(arms),
                        ..
                    } => futures.extend(arms.iter().filter_map(|a| a.future)),
                    _ => {}
                }
                match k {
                    ExprKind::Spawn { .. } | ExprKind::Closure { .. } => {}
                    // What a stream generator awaits runs where the stream is polled.
                    _ if is_stream_generator(k) => {}
                    _ => stack.extend(children(k).into_iter().rev()),
                }
            }
            if !self.an.index.fn_facts(f).is_async {
                futures.extend(returned(body, root));
            }
        }
        let found = futures.into_iter().find_map(|x| {
            self.of_future(&summary, body, x, depth - 1)
                .map(|(call, why)| format!("`{call}` ({why})"))
        });
        self.memo.insert((f, depth), found.clone());
        found
    }
}

/// The values a body returns: its block's last expression and every `return x` outside
/// closures.
fn returned(body: &Body, root: ExprId) -> Vec<ExprId> {
    let mut out = Vec::new();
    if let ExprKind::Block(stmts) = &body.expr(root).kind {
        if let Some(crate::facts::Stmt {
            kind: crate::facts::StmtKind::Expr(e),
            ..
        }) = stmts.last()
        {
            out.push(*e);
        }
    }
    let mut stack = vec![root];
    while let Some(e) = stack.pop() {
        let k = &body.expr(e).kind;
        match k {
            ExprKind::Return(Some(x)) => out.push(*x),
            ExprKind::Closure { .. } | ExprKind::AsyncBlock(_) => continue,
            _ => {}
        }
        stack.extend(children(k));
    }
    out
}

/// Whether the call `call` of `.method()` is a receive, from the function's call facts and the
/// receiver's inferred type: a method of a known receiving type ([`known_receive`]: a channel
/// receiver, a socket, a timer, a stream) is one, named with its type; a call that resolves to
/// a workspace function (a local type's own `recv`) is not one by its name (it is followed
/// instead: [`Receives::of_future`]), nor one on a std type, an iterator, a slice or a tuple;
/// a receiver whose type the model does not know (or an external type it has no table for) is
/// guessed by the method's name, and says so.
fn classify(
    summary: &FnSummary,
    body: &Body,
    (call, method, by_name): (ExprId, &'static str, &'static str),
) -> Option<(&'static str, String)> {
    if let Some(c) = summary.calls.iter().find(|c| c.call == call) {
        if matches!(
            c.resolution,
            Resolution::Fns { .. } | Resolution::NotInBuild
        ) {
            return None;
        }
    }
    let ExprKind::MethodCall { recv, .. } = &body.expr(call).kind else {
        return None;
    };
    let Some(ty) = summary.receiver_ty(*recv) else {
        return Some((
            method,
            format!("{by_name}, by the method's name: receiver type not known"),
        ));
    };
    if let Some((what, t)) = known_receive(ty, method) {
        return Some((method, format!("{what}: `{t}`")));
    }
    match peel_ref(ty) {
        // A one-segment external path is a name that did not resolve (no `use` for it).
        Ty::Unknown | Ty::Future(_) => Some((
            method,
            format!("{by_name}, by the method's name: receiver type not known"),
        )),
        Ty::Adt {
            key: TypeKey::External(p),
            ..
        } if !p.contains("::") => Some((
            method,
            format!("{by_name}, by the method's name: receiver type not known"),
        )),
        Ty::Adt {
            key: TypeKey::External(p),
            ..
        } if !["std::", "core::", "alloc::"]
            .iter()
            .any(|s| p.starts_with(s)) =>
        {
            Some((
                method,
                format!("{by_name}, by the method's name: `{p}` is not a known receiver"),
            ))
        }
        Ty::Channel { ty: p, .. } => Some((
            method,
            format!("{by_name}, by the method's name: `{p}` is not a known receiver"),
        )),
        // A workspace type whose method is not in the workspace (an extension trait's), by
        // name; std types, iterators, slices, tuples and trait objects do not receive so.
        Ty::Adt {
            key: TypeKey::Local(_),
            ..
        } => Some((
            method,
            format!("{by_name}, by the method's name: a workspace type's extension-trait method"),
        )),
        _ => None,
    }
}

/// `stream! { .. }` / `try_stream! { .. }` (async-stream): a generator whose body, loops
/// included, runs wherever the stream it makes is polled, not in the function that writes it
/// (like an async block it does not await).
fn is_stream_generator(k: &ExprKind) -> bool {
    matches!(k, ExprKind::MacroCall { name, .. } if name == "stream" || name == "try_stream")
}

/// What one loop waits on and dispatches, from the body IR.
#[derive(Default)]
struct LoopScan {
    /// The awaited receives (from an `.await` or a `select!` branch future), in order.
    receives: Vec<Receive>,
    select_branches: usize,
    match_arms: usize,
    calls: usize,
}

/// Judges a future expression of the body: the receive it makes, if any.
type Judge<'a> = dyn FnMut(ExprId) -> Option<Receive> + 'a;

fn scan_loop(body: &Body, e: ExprId, cls: &mut Judge, out: &mut LoopScan) {
    // An explicit stack: a body nests as deep as its source (no recursion on the main thread).
    let mut stack = vec![e];
    while let Some(e) = stack.pop() {
        let k = &body.expr(e).kind;
        match k {
            ExprKind::Await { base, .. } => {
                if let Some(r) = cls(*base) {
                    out.receives.push(r);
                }
            }
            ExprKind::MacroCall {
                args: MacroArgs::Select(arms),
                ..
            } => {
                for a in arms {
                    if let Some(f) = a.future {
                        out.select_branches += 1;
                        if let Some(r) = cls(f) {
                            out.receives.push(r);
                        }
                    }
                }
            }
            ExprKind::Match { arms, .. } => out.match_arms += arms.len(),
            ExprKind::MethodCall { .. } | ExprKind::Call { .. } => out.calls += 1,
            _ => {}
        }
        match k {
            // Work handed elsewhere is not the loop's: a spawned future, a closure, an async
            // block it does not await in place, a stream generator are each judged as loops of
            // their own.
            ExprKind::Spawn { .. } | ExprKind::Closure { .. } | ExprKind::AsyncBlock(_) => {}
            _ if is_stream_generator(k) => {}
            _ => stack.extend(children(k).into_iter().rev()),
        }
    }
}

/// The loops of one body that wait on a receive: (loop keyword, scan, what it is nested in).
fn event_loops(
    body: &Body,
    cls: &mut Judge,
) -> Vec<(Span, LoopScan, Option<&'static str>, &'static str)> {
    let mut out = Vec::new();
    let Some(root) = body.root else {
        return out;
    };
    // Depth-first with the innermost enclosing spawn / async block / closure; an event loop
    // inside another one (a reconnect loop around a select! loop) is reported once, outermost.
    let mut stack: Vec<(ExprId, Option<&'static str>, bool)> = vec![(root, None, false)];
    while let Some((e, nested, in_loop)) = stack.pop() {
        let k = &body.expr(e).kind;
        let mut in_loop = in_loop;
        if let ExprKind::Loop { kind, span, .. } = k {
            // A `for` loop walks what its iterator was given (an iterator cannot await): the
            // receives in its body are one per element, it serves nothing. A loop that hands
            // a value back to its caller reads one item for it (a frame, an accepted socket):
            // it is a receive its callers' loops follow, not an event loop.
            if !in_loop && *kind != crate::facts::LoopKind::For && !hands_back_value(body, e) {
                let mut scan = LoopScan::default();
                scan_loop(body, e, cls, &mut scan);
                if !scan.receives.is_empty() {
                    let kw = match kind {
                        crate::facts::LoopKind::Loop => "loop",
                        crate::facts::LoopKind::While => "while",
                        crate::facts::LoopKind::For => "for",
                    };
                    out.push((*span, scan, nested, kw));
                    in_loop = true;
                }
            }
        }
        let nested = match k {
            ExprKind::Spawn { .. } => Some("a spawned task"),
            ExprKind::AsyncBlock(_) => nested.or(Some("an async block")),
            ExprKind::Closure { .. } => nested.or(Some("a closure")),
            _ if is_stream_generator(k) => nested.or(Some("a stream generator (`stream!`)")),
            _ => nested,
        };
        let in_loop = in_loop
            && !matches!(
                k,
                ExprKind::Spawn { .. } | ExprKind::Closure { .. } | ExprKind::AsyncBlock(_)
            )
            && !is_stream_generator(k);
        for c in children(k).into_iter().rev() {
            stack.push((c, nested, in_loop));
        }
    }
    out
}

/// Whether the loop `e` ends by handing a value to the caller: a `return x` or `break x` in it
/// (outside closures and async blocks) whose `x` is a success carrying a value (`Ok(frame)`,
/// `Some(socket)`, `Ok(Some(frame))`), not `Ok(())`, `None`, `Ok(None)` or an error. A bare
/// value (`return e.into()`, `break 'outer Error::Closed`) is how event loops report why they
/// ended, so it does not count.
fn hands_back_value(body: &Body, e: ExprId) -> bool {
    /// `x` is `Ok(..)`/`Some(..)` of something that carries a value.
    fn success(body: &Body, x: ExprId) -> bool {
        match &body.expr(x).kind {
            ExprKind::Paren(x) => success(body, *x),
            ExprKind::Call {
                callee: crate::facts::CallTarget::Path { path, .. },
                args,
                ..
            } if matches!(path.last().map(String::as_str), Some("Ok" | "Some")) => {
                args.iter().any(|a| carries(body, *a))
            }
            _ => false,
        }
    }
    fn carries(body: &Body, x: ExprId) -> bool {
        match &body.expr(x).kind {
            ExprKind::Tuple(xs) => !xs.is_empty(),
            ExprKind::Paren(x) => carries(body, *x),
            ExprKind::Path(p) => p.last().map(String::as_str) != Some("None"),
            ExprKind::Call {
                callee: crate::facts::CallTarget::Path { path, .. },
                ..
            } if matches!(path.last().map(String::as_str), Some("Ok" | "Some" | "Err")) => {
                success(body, x)
            }
            _ => true,
        }
    }
    // (expression, inside a loop nested in `e`: a `break` there ends that loop, not `e`).
    let mut stack = vec![(e, false)];
    while let Some((x, inner)) = stack.pop() {
        let k = &body.expr(x).kind;
        match k {
            ExprKind::Return(Some(v)) if success(body, *v) => return true,
            ExprKind::Break(Some(v)) if !inner && success(body, *v) => return true,
            ExprKind::Closure { .. } | ExprKind::AsyncBlock(_) | ExprKind::Spawn { .. } => continue,
            _ => {}
        }
        let inner = inner || (x != e && matches!(k, ExprKind::Loop { .. }));
        stack.extend(children(k).into_iter().map(|c| (c, inner)));
    }
    false
}

fn describe(kw: &str, scan: &LoopScan) -> String {
    let mut seen: Vec<String> = Vec::new();
    for (call, from) in &scan.receives {
        let s = format!("`{call}.await` ({from})");
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    let shape = if scan.select_branches > 0 {
        format!(
            "`{kw}` around a `select!` of {} branches",
            scan.select_branches
        )
    } else {
        format!("`{kw}`")
    };
    format!(
        "{shape} awaiting {}; dispatches {} (branches {}, match arms {}, calls {})",
        seen.join(", "),
        scan.select_branches + scan.match_arms + scan.calls,
        scan.select_branches,
        scan.match_arms,
        scan.calls
    )
}

/// The shortest suffix of `q` (at least the last two segments when there are two, the crate
/// name left out) that no other function's qualified name ends with.
fn unique_suffix(q: &[String], all: &[Vec<String>]) -> String {
    let local = &q[1.min(q.len())..];
    let min = if local.len() >= 2 { 2 } else { local.len() };
    for n in min..=local.len() {
        let suffix = &local[local.len() - n..];
        let hits = all
            .iter()
            .filter(|o| o[1.min(o.len())..].ends_with(suffix))
            .count();
        if hits <= 1 {
            return suffix.join("::");
        }
    }
    local.join("::")
}

/// The event loops under `root`, most dispatching first (then by path and line). Test code
/// (the production build's cfg, test-harness attributes and the policy's `test-attributes`,
/// `tests/` and `benches/`) and `examples/` are skipped.
pub fn guess_entry_points(root: &Path) -> Result<Vec<Candidate>, String> {
    let policy = match channel_lint_policy::discover(root, &rules::ids()) {
        Ok(p) => p,
        Err(_) => channel_lint_policy::defaults(root),
    };
    let found = crate::discover::discover(&[root.to_path_buf()], &policy);
    let a = &policy.policy.analysis;
    let env =
        CfgEnv::production(a.features.clone()).with_test_attributes(a.test_attributes.clone());
    let req = crate::driver::Request {
        packages: &found.packages,
        ..crate::driver::Request::new(root, &found.files, &policy)
    };
    // The files are read and parsed as the lint parses them (the driver's front end); the
    // typing walk recurses as deep as a body nests, so `guess` runs on its large-stack pool.
    let guess = |index: &Index| guess_in(index, &env);
    let mut out = crate::driver::with_index(&req, &crate::driver::DiskVfs, guess)
        .map_err(|e| format!("error: {e}"))?;
    out.sort_by(|a, b| {
        b.dispatch
            .cmp(&a.dispatch)
            .then_with(|| (&a.path, a.loop_line).cmp(&(&b.path, b.loop_line)))
    });
    Ok(out)
}

/// A file under an `examples/` folder (no listener lives there).
fn in_examples(rel: &str) -> bool {
    rel.split('/').rev().skip(1).any(|c| c == "examples")
}

/// The event loops of the indexed workspace, in index order.
fn guess_in(index: &Index, env: &CfgEnv) -> Vec<Candidate> {
    // A pattern is made unique among the functions outside `examples/` (what `init` has
    // always named them against).
    let all: Vec<Vec<String>> = index
        .all_fns()
        .filter(|f| !in_examples(&index.files[f.file.idx()].rel))
        .map(|f| index.qualified_fn_name(f))
        .collect();
    let mut rx = Receives::new(Analyzer::for_build(index, env.clone()));
    let mut out = Vec::new();
    for f in index.all_fns() {
        let file = &index.files[f.file.idx()];
        if file.is_test_path
            || file.facts.file_is_test
            || in_examples(&file.rel)
            || !index.fn_in_build(f, env)
        {
            continue;
        }
        let q = &index.qualified_fn_name(f);
        let body = &file.facts.bodies[f.idx.idx()];
        let facts = index.fn_facts(f);
        if !body
            .exprs
            .iter()
            .any(|x| matches!(x.kind, ExprKind::Loop { .. }))
        {
            continue;
        }
        let summary = rx.an.summary(f);
        let mut cls = |e| rx.of_future(&summary, body, e, FOLLOW_DEPTH);
        for (span, scan, nested, kw) in event_loops(body, &mut cls) {
            out.push(Candidate {
                pattern: unique_suffix(q, &all),
                path: file.rel.clone(),
                line: facts.span.line as usize,
                loop_line: span.line as usize,
                dispatch: scan.select_branches + scan.match_arms + scan.calls,
                why: describe(kw, &scan),
                nested_in: nested,
            });
        }
    }
    out
}

fn toml_str(s: &str) -> String {
    let mut out = String::from("\"");
    for c in s.chars() {
        match c {
            '"' => out.push_str("\\\""),
            '\\' => out.push_str("\\\\"),
            c => out.push(c),
        }
    }
    out.push('"');
    out
}

/// The text of the starter policy.
pub fn starter_policy(candidates: &[Candidate], bin_name: &str) -> String {
    let mut s = String::new();
    s.push_str(&format!(
        "# channel-lint policy, written by `{bin_name} init`: review it, then commit it.\n\
         # Keys: docs/policy.md in the channel-lint repository. A rule's documentation:\n\
         # `{bin_name} --explain RULE`.\n\n\
         # Paths not to lint (globs relative to this file; `target/` and hidden folders are never\n\
         # walked).\n\
         # exclude = [\"vendor/**\"]\n\n\
         [rules]\n\
         # \"error\" (fails the run), \"warn\" or \"off\"; these are the defaults.\n"
    ));
    for r in rules::ALL {
        s.push_str(&format!("# {}\n", r.summary.replace('\n', " ")));
        s.push_str(&format!("{} = \"{}\"\n", r.id, r.default_level.as_str()));
    }
    s.push_str(
        "\n[listener]\n\
         # Functions whose body is a listener event loop: `Type::method` or `function`, matched\n\
         # as a suffix of the function's path. Every entry must match a function.\n",
    );
    if candidates.is_empty() {
        s.push_str(
            "# No event loop found (a `loop`/`while` awaiting a socket receive, a channel's `.recv()`,\n\
             # a timer's `.tick()` or a stream's `.next()`, directly or in a `select!`): name your\n\
             # listener loops, e.g.\n\
             # entry-points = [\"UdpPacketsListener::listen\"]\n\
             entry-points = []\n",
        );
    } else {
        s.push_str(
            "# Guessed event loops, the most dispatching first, each with why it was guessed:\n\
             # review each one, then uncomment it. A loop inside a spawned task, an async block or\n\
             # a closure is listed with the function that holds it, which does not cover it: put\n\
             # `// channel-lint: listener-entry` on the line above the statement that spawns or\n\
             # holds it (`tokio::spawn(async move { loop { .. } })`) instead.\n\
             entry-points = [\n",
        );
        let mut seen = std::collections::BTreeSet::new();
        for c in candidates {
            let key = (c.pattern.clone(), c.loop_line, c.path.clone());
            if !seen.insert(key) {
                continue;
            }
            let nested = match c.nested_in {
                Some(n) => format!(" (inside {n})"),
                None => String::new(),
            };
            s.push_str(&format!(
                "    # {},  # {}:{}: {}{}\n",
                toml_str(&c.pattern),
                c.path,
                c.loop_line,
                c.why,
                nested
            ));
        }
        s.push_str("]\n");
    }
    s.push_str(
        "\n# A type that must not be used in some files (repeat the table for more):\n\
         # [[banned-type]]\n\
         # path = \"tokio::net::UdpSocket\"\n\
         # reason = \"core code is generic over the Socket trait; tests use the mock socket\"\n\
         # within = [\"src/**\"]                 # optional: only these files\n\
         # except = [\"src/transport/udp.rs\"]   # optional: not these\n\
         # tests = \"exclude\"                   # optional: test code is exempt\n",
    );
    s
}

pub fn main(bin_name: &str, args: Vec<OsString>) -> ExitCode {
    let cli = match InitCli::command_with_name(bin_name).try_get_matches_from(args) {
        Ok(m) => match <InitCli as clap::FromArgMatches>::from_arg_matches(&m) {
            Ok(c) => c,
            Err(e) => {
                let _ = e.print();
                return ExitCode::from(2);
            }
        },
        Err(e) => {
            let code = if e.use_stderr() { 2 } else { 0 };
            let _ = e.print();
            return ExitCode::from(code);
        }
    };
    match run(&cli, bin_name) {
        Ok(()) => ExitCode::SUCCESS,
        Err(msg) => {
            eprintln!("{msg}");
            ExitCode::from(2)
        }
    }
}

impl InitCli {
    fn command_with_name(bin_name: &str) -> clap::Command {
        <InitCli as clap::CommandFactory>::command().bin_name(format!("{bin_name} init"))
    }
}

fn run(cli: &InitCli, bin_name: &str) -> Result<(), String> {
    let cwd = std::env::current_dir()
        .map_err(|e| format!("error: cannot read the current directory: {e}"))?;
    let root = match &cli.manifest_path {
        Some(m) => {
            let m = absolute(m, &cwd);
            if !m.is_file() {
                return Err(format!("error: manifest `{}` does not exist", m.display()));
            }
            find_root(m.parent().unwrap_or(&cwd))
        }
        None => find_root(&cwd),
    };
    let target = root.join("channel-lint.toml");
    if !cli.stdout && target.exists() && !cli.force {
        return Err(format!(
            "error: `{}` already exists; use --force to overwrite it (or --stdout to print a starter policy)",
            target.display()
        ));
    }
    let candidates = guess_entry_points(&root)?;
    let text = starter_policy(&candidates, bin_name);
    // What we write must load: check it with the real policy parser.
    channel_lint_policy::parse_str(&text, "channel-lint.toml", &root, &rules::ids())
        .map_err(|e| format!("internal error: the starter policy does not parse: {e}"))?;
    if cli.stdout {
        print!("{text}");
        return Ok(());
    }
    std::fs::write(&target, &text)
        .map_err(|e| format!("error: cannot write `{}`: {e}", target.display()))?;
    eprintln!(
        "channel-lint: wrote {} ({} listener entry point candidate{} commented for review)",
        target.display(),
        candidates.len(),
        if candidates.len() == 1 { "" } else { "s" }
    );
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A temporary folder holding `files` (path relative to it, text).
    fn temp_crate(files: &[(&str, &str)]) -> tempfile::TempDir {
        let dir = tempfile::tempdir().unwrap();
        for (rel, text) in files {
            let path = dir.path().join(rel);
            std::fs::create_dir_all(path.parent().unwrap()).unwrap();
            std::fs::write(path, text).unwrap();
        }
        dir
    }

    #[test]
    fn finds_loops_around_recv_from() {
        let dir = temp_crate(&[
            (
                "Cargo.toml",
                "[package]\nname = \"t\"\nversion = \"0.1.0\"\n",
            ),
            (
                "src/lib.rs",
                r#"
pub struct Listener;
impl Listener {
    pub async fn listen(&self) {
        loop {
            let (n, a) = self.sock.recv_from(&mut buf).await.unwrap();
        }
    }
    pub async fn once(&self) { self.sock.recv_from(&mut buf).await; }
}
pub async fn serve(s: Sock) {
    while let Ok((n, a)) = s.recv_from(&mut b).await {}
}
pub async fn select_loop(s: Sock) {
    loop { tokio::select! { r = s.recv_from(&mut b) => {} } }
}
pub async fn other() { loop { recv(); } }
#[cfg(test)]
mod tests { async fn t(s: S) { loop { s.recv_from(&mut b).await; } } }
"#,
            ),
        ]);
        let c = guess_entry_points(dir.path()).unwrap();
        let names: Vec<&str> = c.iter().map(|c| c.pattern.as_str()).collect();
        // Ranked by dispatch: `listen` and `select_loop` make two calls each (tie: by line),
        // `serve` one. `other` awaits nothing; `once` has no loop; the test module is skipped.
        assert_eq!(names, ["Listener::listen", "select_loop", "serve"]);
        assert_eq!(c[0].path, "src/lib.rs");
        assert_eq!((c[0].line, c[0].loop_line), (4, 5));
        assert_eq!(c[0].dispatch, 2);
        assert_eq!((c[1].line, c[1].loop_line, c[1].dispatch), (14, 15, 2));
        assert_eq!((c[2].line, c[2].loop_line, c[2].dispatch), (11, 12, 1));
        let text = starter_policy(&c, "cargo channel-lint");
        assert!(
            text.contains(
                "    # \"Listener::listen\",  # src/lib.rs:5: `loop` awaiting `.recv_from().await` (a socket, by the method's name: receiver type not known); dispatches 2 (branches 0, match arms 0, calls 2)\n"
            ),
            "{text}"
        );
        assert!(
            text.contains(
                "# \"select_loop\",  # src/lib.rs:15: `loop` around a `select!` of 1 branch"
            ),
            "{text}"
        );
        channel_lint_policy::parse_str(&text, "x", dir.path(), &rules::ids()).unwrap();
        let empty = starter_policy(&[], "cargo channel-lint");
        channel_lint_policy::parse_str(&empty, "x", dir.path(), &rules::ids()).unwrap();
        for r in rules::ALL {
            assert!(text.contains(&format!("\n{} = \"{}\"\n", r.id, r.default_level.as_str())));
        }
    }

    /// Every shape of event loop: `while let` over a channel, `loop` + `select!` over a channel
    /// and a timer, `loop` + a stream's `.next()`, a loop in a spawned task (listed with the
    /// function that holds it, marked as nested), a reconnect loop around an event loop (one
    /// guess, the outer loop); examples are skipped.
    #[test]
    fn finds_select_while_let_and_stream_loops_ranked_by_dispatch() {
        let dir = temp_crate(&[
            (
                "Cargo.toml",
                "[package]\nname = \"t\"\nversion = \"0.1.0\"\n",
            ),
            (
                "examples/demo.rs",
                "async fn demo(mut rx: R) { while let Some(m) = rx.recv().await { m.go(); } }\n",
            ),
            (
                "src/lib.rs",
                r#"pub struct Actor { inbox: tokio::sync::mpsc::Receiver<u8>, ticker: tokio::time::Interval }
impl Actor {
    pub async fn run(mut self) {
        loop {
            tokio::select! {
                Some(m) = self.inbox.recv() => match m { A => self.a(), B => self.b() },
                _ = self.ticker.tick() => self.tick(),
            }
        }
    }
}
pub async fn drain(mut rx: tokio::sync::mpsc::UnboundedReceiver<u8>) {
    while let Some(m) = rx.recv().await {
        handle(m);
    }
}
pub async fn frames(mut s: tokio_stream::wrappers::ReceiverStream<u8>) {
    loop {
        let f = s.next().await;
    }
}
pub fn start(mut rx: R) {
    tokio::spawn(async move {
        while let Some(m) = rx.recv().await {}
    });
}
pub async fn reconnect(mut rx: R) {
    loop {
        while let Some(m) = rx.recv().await {}
    }
}
"#,
            ),
        ]);
        let c = guess_entry_points(dir.path()).unwrap();
        let got: Vec<(&str, usize, Option<&str>)> = c
            .iter()
            .map(|c| (c.pattern.as_str(), c.loop_line, c.nested_in))
            .collect();
        assert_eq!(
            got,
            [
                ("Actor::run", 4, None),
                ("drain", 13, None),
                ("frames", 18, None),
                ("start", 24, Some("a spawned task")),
                ("reconnect", 28, None),
            ]
        );
        // select!: 2 branches, 2 match arms, calls recv, tick, a, b, tick.
        assert_eq!(c[0].dispatch, 9);
        assert!(
            c[0].why.starts_with("`loop` around a `select!` of 2 branches awaiting `.recv().await` (a channel: `tokio::sync::mpsc::Receiver`), `.tick().await` (a timer: `tokio::time::Interval`)"),
            "{}",
            c[0].why
        );
        let text = starter_policy(&c, "cargo channel-lint");
        assert!(text.contains("src/lib.rs:24: `while` awaiting `.recv().await` (a channel or socket, by the method's name: receiver type not known); dispatches 1 (branches 0, match arms 0, calls 1) (inside a spawned task)\n"), "{text}");
        channel_lint_policy::parse_str(&text, "x", dir.path(), &rules::ids()).unwrap();
    }

    /// The receiver's type decides where the model knows it: a workspace type's own `recv`
    /// (a call resolved into the workspace) and a std iterator's `next` are not receives; a
    /// known receiver is named with its type; an unknown type is guessed by name, and says so.
    /// A `#[freenet_test]` function (the policy's `test-attributes`) is test code.
    #[test]
    fn receives_are_judged_by_the_receivers_type() {
        let dir = temp_crate(&[
            (
                "Cargo.toml",
                "[package]\nname = \"t\"\nversion = \"0.1.0\"\n",
            ),
            (
                "channel-lint.toml",
                "[analysis]\ntest-attributes = [\"freenet_test\"]\n",
            ),
            (
                "src/lib.rs",
                r#"pub struct Queue;
impl Queue { pub async fn recv(&mut self) -> Option<u8> { None } }
pub async fn local(mut q: Queue) {
    while let Some(x) = q.recv().await {}
}
pub async fn iter(v: Vec<u8>) {
    let mut it = v.iter();
    loop { it.next().await; }
}
pub async fn typed(mut rx: tokio::sync::broadcast::Receiver<u8>) {
    loop { rx.recv().await; }
}
pub async fn untyped(mut rx: Inbox) {
    loop { rx.recv().await; }
}
#[freenet_test]
async fn harness(mut rx: tokio::sync::broadcast::Receiver<u8>) {
    loop { rx.recv().await; }
}
"#,
            ),
        ]);
        let c = guess_entry_points(dir.path()).unwrap();
        let got: Vec<(&str, &str)> = c
            .iter()
            .map(|c| (c.pattern.as_str(), c.why.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "typed",
                    "`loop` awaiting `.recv().await` (a broadcast channel: `tokio::sync::broadcast::Receiver`); dispatches 1 (branches 0, match arms 0, calls 1)"
                ),
                (
                    "untyped",
                    "`loop` awaiting `.recv().await` (a channel or socket, by the method's name: receiver type not known); dispatches 1 (branches 0, match arms 0, calls 1)"
                ),
            ]
        );
    }

    /// A call into the workspace is followed: a wrapper whose body awaits a known receive (a
    /// socket read through a buffer, a broadcast channel) or that returns one is a receive,
    /// and the reason says which and through what. A local type's `recv` that awaits nothing, a
    /// cycle of calls and a receive more than [`FOLLOW_DEPTH`] calls away are not; a loop that
    /// hands its value back (`read_frame`'s read-until-a-frame loop) and a `for` loop over a
    /// collection are not event loops.
    #[test]
    fn workspace_wrappers_of_receives_are_followed() {
        let dir = temp_crate(&[
            (
                "Cargo.toml",
                "[package]\nname = \"t\"\nversion = \"0.1.0\"\n",
            ),
            (
                "src/lib.rs",
                r#"pub struct Shutdown { notify: tokio::sync::broadcast::Receiver<()> }
impl Shutdown {
    pub async fn recv(&mut self) { let _ = self.notify.recv().await; }
}
pub struct Connection { stream: tokio::io::BufWriter<tokio::net::TcpStream> }
impl Connection {
    pub async fn read_frame(&mut self) -> Option<u8> {
        loop {
            if let Some(f) = parse() { return Some(f); }
            if 0 == self.stream.read_buf(&mut b).await.ok()? { return None; }
        }
    }
}
pub struct Handler { connection: Connection, shutdown: Shutdown }
impl Handler {
    pub async fn run(&mut self) {
        loop {
            tokio::select! {
                f = self.connection.read_frame() => handle(f),
                _ = self.shutdown.recv() => return,
            }
        }
    }
}
pub struct Queue;
impl Queue {
    pub async fn recv(&mut self) -> Option<u8> { None }
    pub fn pop(&mut self) -> Option<u8> { None }
}
pub async fn local(mut q: Queue) {
    while let Some(x) = q.recv().await {}
    loop { q.pop(); }
}
pub struct Ping;
impl Ping {
    pub async fn a(&mut self) { self.b().await }
    pub async fn b(&mut self) { Box::pin(self.a()).await }
}
pub async fn cycle(mut p: Ping) { loop { p.a().await; } }
pub struct Inbox { rx: tokio::sync::mpsc::Receiver<u8> }
impl Inbox {
    pub fn next_msg(&mut self) -> impl std::future::Future<Output = Option<u8>> + '_ { self.rx.recv() }
}
pub async fn drain(mut i: Inbox) { while let Some(m) = i.next_msg().await { go(m); } }
pub async fn l0(i: &mut Inbox) { l1(i).await }
pub async fn l1(i: &mut Inbox) { l2(i).await }
pub async fn l2(i: &mut Inbox) { l3(i).await }
pub async fn l3(i: &mut Inbox) { i.rx.recv().await; }
pub async fn near(mut i: Inbox) { loop { l2(&mut i).await; } }
pub async fn far(mut i: Inbox) { loop { l1(&mut i).await; } }
pub async fn too_far(mut i: Inbox) { loop { l0(&mut i).await; } }
pub async fn each(mut c: Connection, peers: Vec<u8>) { for p in peers { c.read_frame().await; } }
pub async fn serve(mut rx: tokio::sync::mpsc::Receiver<u8>) -> Error {
    loop { match rx.recv().await { Some(m) => go(m), None => return Error::Closed } }
}
"#,
            ),
        ]);
        let c = guess_entry_points(dir.path()).unwrap();
        let got: Vec<(&str, &str)> = c
            .iter()
            .map(|c| (c.pattern.as_str(), c.why.as_str()))
            .collect();
        assert_eq!(
            got,
            [
                (
                    "Handler::run",
                    "`loop` around a `select!` of 2 branches awaiting `.read_frame().await` (the workspace's `Connection::read_frame`, which awaits `.read_buf()` (a socket: `tokio::net::TcpStream`)), `.recv().await` (the workspace's `Shutdown::recv`, which awaits `.recv()` (a broadcast channel: `tokio::sync::broadcast::Receiver`)); dispatches 5 (branches 2, match arms 0, calls 3)"
                ),
                // Returning why it ended (a bare value) does not make a loop a read of one.
                (
                    "serve",
                    "`loop` awaiting `.recv().await` (a channel: `tokio::sync::mpsc::Receiver`); dispatches 4 (branches 0, match arms 2, calls 2)"
                ),
                (
                    "drain",
                    "`while` awaiting `.next_msg().await` (the workspace's `Inbox::next_msg`, which awaits `.recv()` (a channel: `tokio::sync::mpsc::Receiver`)); dispatches 2 (branches 0, match arms 0, calls 2)"
                ),
                (
                    "near",
                    "`loop` awaiting `l2().await` (the workspace's `l2`, which awaits `l3()` (the workspace's `l3`, which awaits `.recv()` (a channel: `tokio::sync::mpsc::Receiver`))); dispatches 1 (branches 0, match arms 0, calls 1)"
                ),
                // Three workspace calls deep: found; `too_far`'s four are past the bound.
                (
                    "far",
                    "`loop` awaiting `l1().await` (the workspace's `l1`, which awaits `l2()` (the workspace's `l2`, which awaits `l3()` (the workspace's `l3`, which awaits `.recv()` (a channel: `tokio::sync::mpsc::Receiver`)))); dispatches 1 (branches 0, match arms 0, calls 1)"
                ),
            ]
        );
    }

    /// A loop in a `stream!`/`try_stream!` generator runs where the stream is polled: it is
    /// listed as nested in the generator, and a function that only builds such a stream is not
    /// a receive for the loops that call it.
    #[test]
    fn stream_generator_loops_are_nested_and_not_followed() {
        let dir = temp_crate(&[
            (
                "Cargo.toml",
                "[package]\nname = \"t\"\nversion = \"0.1.0\"\n",
            ),
            (
                "src/lib.rs",
                r#"pub struct Sub { rx: tokio::sync::broadcast::Receiver<u8> }
impl Sub {
    pub fn open() -> Sub { todo!() }
    pub async fn mirror(mut self) -> S {
        async_stream::stream! {
            loop { match self.rx.recv().await { Ok(m) => yield m, Err(_) => break } }
        }
    }
}
pub async fn subscribe_all() {
    loop { let s = Sub::open().mirror().await; keep(s); }
}
"#,
            ),
        ]);
        let c = guess_entry_points(dir.path()).unwrap();
        let got: Vec<(&str, usize, Option<&str>)> = c
            .iter()
            .map(|c| (c.pattern.as_str(), c.loop_line, c.nested_in))
            .collect();
        assert_eq!(
            got,
            [("Sub::mirror", 6, Some("a stream generator (`stream!`)"))]
        );
    }
}
