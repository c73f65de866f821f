//! The one table of external APIs the analysis knows by name: channel types and the methods of
//! them that wait for capacity, the functions and macros that await the futures they are given, the iterator and
//! `Option` adapters whose closure receives an element of the receiver, and the std method names
//! too common to be worth listing as unresolved.
//!
//! Everything here is a name match on what the source writes; nothing is compiled or guessed.
//! Rules and the call graph read these tables. The spawners (the functions that run their
//! argument on another task or thread) are not here: a spawn is a node of the body IR, so the
//! lowering that makes it owns their names (`facts::body::is_spawn_name`).

use crate::index::resolve::TypeKey;
use crate::index::Index;
use crate::semantics::qualname::QualName;
use crate::semantics::ty::{peel_ref, Ty};

/// A channel type and the methods of it that wait for capacity.
#[derive(Debug, Clone)]
pub struct ChannelSpec {
    /// `tokio::sync::mpsc::Sender`, or a workspace path (`crate::x::FastSender`).
    pub path: Vec<String>,
    pub methods: Vec<String>,
}

/// tokio's bounded sender: each waits for capacity (`reserve_owned` consumes the sender).
const TOKIO: &[&str] = &["send", "reserve", "reserve_many", "reserve_owned"];
/// A `Sink` driven through `futures::SinkExt`: `send`, `feed` and `send_all` wait until the
/// sink accepts the items (a bounded channel: until it has capacity).
const SINK: &[&str] = &["send", "feed", "send_all"];

pub fn default_channels() -> Vec<ChannelSpec> {
    let spec = |p: &str, m: &[&str]| ChannelSpec {
        path: p.split("::").map(str::to_string).collect(),
        methods: m.iter().map(|s| s.to_string()).collect(),
    };
    vec![
        spec("tokio::sync::mpsc::Sender", TOKIO),
        spec("tokio::sync::mpsc::bounded::Sender", TOKIO),
        spec("async_channel::Sender", &["send"]),
        spec("flume::Sender", &["send_async"]),
        spec("futures::channel::mpsc::Sender", SINK),
        spec("futures_channel::mpsc::Sender", SINK),
        spec("kanal::AsyncSender", &["send"]),
        spec("tokio_util::sync::PollSender", SINK),
    ]
}

/// Is `ty` a channel whose `method` waits for capacity? Returns the channel's display name
/// (`crate::` first for a workspace type).
pub fn waiting_channel_method(
    index: &Index,
    channels: &[ChannelSpec],
    ty: &Ty,
    method: &str,
) -> Option<String> {
    if !channels
        .iter()
        .any(|c| c.methods.iter().any(|m| m == method))
    {
        return None;
    }
    let external;
    let key = match peel_ref(ty) {
        Ty::Adt { key, .. } => key,
        // An unbounded channel's send never waits for capacity.
        Ty::Channel { bounded: false, .. } => return None,
        Ty::Channel { ty, bounded: true } => {
            external = TypeKey::External(ty.clone());
            &external
        }
        _ => return None,
    };
    let (full, display): (Vec<String>, String) = match key {
        TypeKey::External(p) => (p.split("::").map(str::to_string).collect(), p.clone()),
        TypeKey::Local(it) => {
            let item = index.item(*it);
            let mut q = index.module_info_of(it.file, item.scope).path;
            q.push(item.name.clone());
            let mut disp = q.clone();
            disp[0] = "crate".into();
            (q, disp.join("::"))
        }
    };
    let name = match key {
        TypeKey::Local(_) => QualName::local(&full),
        TypeKey::External(_) => QualName::external(&full),
    };
    channels
        .iter()
        .find(|c| c.methods.iter().any(|m| m == method) && name.is_type(&c.path))
        .map(|_| display)
}

/// What a known blocking call does when it runs on an async runtime's worker thread.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BlockingKind {
    /// It panics there ("Cannot block the current thread from within a runtime") or
    /// deadlocks: tokio's `blocking_*` methods, `block_on`.
    RuntimePanic,
    /// It blocks the thread until something else happens (a sleep, a std or crossbeam channel,
    /// blocking I/O, a join).
    Blocks,
}

/// A known blocking call: a method of a type (`ty` is the type's path) or a function (`ty`
/// empty, `name` the whole path).
#[derive(Debug, Clone, Copy)]
pub struct BlockingApi {
    pub ty: &'static str,
    pub methods: &'static [&'static str],
    pub kind: BlockingKind,
}

const fn m(ty: &'static str, methods: &'static [&'static str], kind: BlockingKind) -> BlockingApi {
    BlockingApi { ty, methods, kind }
}

use BlockingKind::{Blocks, RuntimePanic};

const SOCKET_IO: &[&str] = &[
    "recv_from",
    "send_to",
    "recv",
    "send",
    "peek",
    "peek_from",
    "read",
    "read_exact",
    "read_to_end",
    "read_to_string",
    "write",
    "write_all",
    "flush",
    "accept",
    "connect",
];

/// The methods that block, by receiver type (matched by the whole resolved path of the
/// receiver's type: a workspace type with a method of the same name is not one of these).
pub const BLOCKING_METHODS: &[BlockingApi] = &[
    m(
        "tokio::sync::mpsc::Sender",
        &["blocking_send"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::mpsc::bounded::Sender",
        &["blocking_send"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::mpsc::Receiver",
        &["blocking_recv"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::mpsc::bounded::Receiver",
        &["blocking_recv"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::mpsc::UnboundedReceiver",
        &["blocking_recv"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::mpsc::unbounded::UnboundedReceiver",
        &["blocking_recv"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::oneshot::Receiver",
        &["blocking_recv"],
        RuntimePanic,
    ),
    m(
        "tokio::sync::broadcast::Receiver",
        &["blocking_recv"],
        RuntimePanic,
    ),
    m("tokio::sync::Mutex", &["blocking_lock"], RuntimePanic),
    m(
        "tokio::sync::RwLock",
        &["blocking_read", "blocking_write"],
        RuntimePanic,
    ),
    m("tokio::runtime::Runtime", &["block_on"], RuntimePanic),
    m("tokio::runtime::Handle", &["block_on"], RuntimePanic),
    m(
        "std::sync::mpsc::Receiver",
        &["recv", "recv_timeout"],
        Blocks,
    ),
    m("std::sync::mpsc::SyncSender", &["send"], Blocks),
    m(
        "crossbeam_channel::Sender",
        &["send", "send_timeout"],
        Blocks,
    ),
    m(
        "crossbeam_channel::Receiver",
        &["recv", "recv_timeout"],
        Blocks,
    ),
    m(
        "crossbeam::channel::Sender",
        &["send", "send_timeout"],
        Blocks,
    ),
    m(
        "crossbeam::channel::Receiver",
        &["recv", "recv_timeout"],
        Blocks,
    ),
    m(
        "flume::Sender",
        &["send", "send_timeout", "send_deadline"],
        Blocks,
    ),
    m(
        "flume::Receiver",
        &["recv", "recv_timeout", "recv_deadline"],
        Blocks,
    ),
    m("std::net::UdpSocket", SOCKET_IO, Blocks),
    m("std::net::TcpStream", SOCKET_IO, Blocks),
    m("std::net::TcpListener", &["accept", "incoming"], Blocks),
    m("std::thread::JoinHandle", &["join"], Blocks),
    m(
        "std::sync::Condvar",
        &["wait", "wait_while", "wait_timeout", "wait_timeout_while"],
        Blocks,
    ),
    m(
        "std::io::Stdin",
        &[
            "read_line",
            "read",
            "read_to_string",
            "read_to_end",
            "read_exact",
        ],
        Blocks,
    ),
];

/// The functions that block, by their whole path (`Type::method` for an associated function
/// called by its path).
pub const BLOCKING_FNS: &[BlockingApi] = &[
    m("", &["futures::executor::block_on"], RuntimePanic),
    m("", &["futures_executor::block_on"], RuntimePanic),
    m("", &["std::thread::sleep"], Blocks),
    m(
        "",
        &["std::fs::File::open", "std::fs::File::create"],
        Blocks,
    ),
    m(
        "",
        &[
            "std::net::TcpStream::connect",
            "std::net::TcpStream::connect_timeout",
        ],
        Blocks,
    ),
];

/// The names of every known runtime-panicking call (what a file must contain to hold one).
pub const RUNTIME_PANIC_NAMES: &[&str] = &[
    "blocking_send",
    "blocking_recv",
    "blocking_lock",
    "blocking_read",
    "blocking_write",
    "block_on",
];

/// The functions whose closure argument runs where blocking is fine: a blocking pool or
/// another thread (`tokio::task::block_in_place` moves the runtime's other tasks off the
/// thread). The spawners (`spawn_blocking`, `std::thread::spawn`, `Builder::spawn`, a scope's
/// `spawn`) are spawn nodes of the body IR already; their closures are not on the caller's path.
pub const INSULATOR_FNS: &[&str] = &["tokio::task::block_in_place"];

/// A known blocking method of the receiver type `ty` or of a type it wraps (`Arc<Mutex<T>>`:
/// the `Mutex`, then `T`): (display, kind).
pub fn blocking_method(ty: &Ty, method: &str) -> Option<(String, BlockingKind)> {
    let mut t = ty;
    for _ in 0..16 {
        if let Some(hit) = blocking_method_of(t, method) {
            return Some(hit);
        }
        t = crate::semantics::ty::unwrap_one(t)?;
    }
    None
}

fn blocking_method_of(ty: &Ty, method: &str) -> Option<(String, BlockingKind)> {
    let path = match ty {
        Ty::Adt {
            key: TypeKey::External(p),
            ..
        } => p,
        // An unbounded channel's sender never blocks on `send`.
        Ty::Channel { ty, bounded } => {
            if !bounded && method.starts_with("send") {
                return None;
            }
            ty
        }
        _ => return None,
    };
    // Most calls are of no blocking method's name: no need to look at the type's path.
    if !BLOCKING_METHODS.iter().any(|b| b.methods.contains(&method)) {
        return None;
    }
    let segs: Vec<String> = path.split("::").map(str::to_string).collect();
    let name = QualName::external(&segs);
    BLOCKING_METHODS
        .iter()
        .find(|b| b.methods.contains(&method) && name.is(&split(b.ty)))
        .map(|b| (format!("{}::{method}", b.ty), b.kind))
}

/// A known blocking function, by the external path a call resolved to: (display, kind).
/// Every function of `std::fs` (`read`, `write`, `read_to_string`, `create_dir_all`, ...)
/// blocks on the file system.
pub fn blocking_fn(path: &[String]) -> Option<(String, BlockingKind)> {
    let name = QualName::external(path);
    let segs = name.segments();
    let joined = segs.join("::");
    if let Some(b) = BLOCKING_FNS
        .iter()
        .find(|b| b.methods.contains(&joined.as_str()))
    {
        return Some((joined, b.kind));
    }
    if segs.len() == 3
        && segs[0] == "std"
        && segs[1] == "fs"
        && segs[2]
            .chars()
            .next()
            .is_some_and(|c| c.is_ascii_lowercase())
    {
        return Some((joined, BlockingKind::Blocks));
    }
    // `Type::method(recv, ..)`: a blocking method called by its path.
    let (method, ty) = segs.split_last()?;
    let t = crate::semantics::ty::ext(&ty.join("::"), vec![]);
    blocking_method(&t, method)
}

/// Is this external path a known insulator?
pub fn is_insulator_fn(path: &[String]) -> bool {
    let name = QualName::external(path);
    INSULATOR_FNS.iter().any(|i| name.is(&split(i)))
}

fn split(p: &str) -> Vec<String> {
    p.split("::").map(str::to_string).collect()
}

/// Result types of a few external functions and methods the blocking rules' receivers come
/// from (a runtime, its handle, a thread's join handle, stdin): `None` when not listed.
pub fn external_fn_ret(path: &str) -> Option<Ty> {
    use crate::semantics::ty::ext;
    let ok = |t: &str| ext("Result", vec![ext(t, vec![])]);
    Some(match path {
        "tokio::runtime::Runtime::new" => ok("tokio::runtime::Runtime"),
        "tokio::runtime::Handle::current" => ext("tokio::runtime::Handle", vec![]),
        "tokio::runtime::Handle::try_current" => ok("tokio::runtime::Handle"),
        "tokio::runtime::Builder::new_multi_thread"
        | "tokio::runtime::Builder::new_current_thread" => ext("tokio::runtime::Builder", vec![]),
        "std::thread::spawn" => ext("std::thread::JoinHandle", vec![]),
        "std::net::UdpSocket::bind" => ok("std::net::UdpSocket"),
        "std::net::TcpListener::bind" => ok("std::net::TcpListener"),
        "std::net::TcpStream::connect" => ok("std::net::TcpStream"),
        "std::io::stdin" => ext("std::io::Stdin", vec![]),
        "crossbeam_channel::bounded" | "crossbeam::channel::bounded" => Ty::Tuple(vec![
            Ty::Channel {
                ty: "crossbeam_channel::Sender".into(),
                bounded: true,
            },
            ext("crossbeam_channel::Receiver", vec![]),
        ]),
        "crossbeam_channel::unbounded" | "crossbeam::channel::unbounded" => Ty::Tuple(vec![
            Ty::Channel {
                ty: "crossbeam_channel::Sender".into(),
                bounded: false,
            },
            ext("crossbeam_channel::Receiver", vec![]),
        ]),
        "std::sync::mpsc::sync_channel" => Ty::Tuple(vec![
            ext("std::sync::mpsc::SyncSender", vec![]),
            ext("std::sync::mpsc::Receiver", vec![]),
        ]),
        _ => return None,
    })
}

/// Result types of a few methods of external types (see [`external_fn_ret`]).
pub fn external_method_ret(ty: &str, method: &str) -> Option<Ty> {
    use crate::semantics::ty::ext;
    match (ty, method) {
        ("tokio::runtime::Builder", "build") => {
            Some(ext("Result", vec![ext("tokio::runtime::Runtime", vec![])]))
        }
        ("tokio::runtime::Builder", _)
            if method.starts_with("enable")
                || method.starts_with("worker")
                || method.starts_with("thread") =>
        {
            Some(ext("tokio::runtime::Builder", vec![]))
        }
        ("tokio::runtime::Runtime", "handle") => Some(ext("tokio::runtime::Handle", vec![])),
        ("std::thread::Builder", "spawn") => {
            Some(ext("Result", vec![ext("std::thread::JoinHandle", vec![])]))
        }
        ("std::io::Stdin", "lock") => Some(ext("std::io::Stdin", vec![])),
        _ => None,
    }
}

/// A known channel constructor: the types of the two ends it returns.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChannelConstructor {
    pub sender: &'static str,
    pub receiver: &'static str,
    /// Whether the channel has a capacity, where the ends' type does not tell (the same
    /// `async_channel::Sender` comes from `bounded` and `unbounded`); `None`: the type tells.
    pub bounded: Option<bool>,
}

/// The channel constructor a resolved external path names, if it is one we know.
pub fn channel_constructor(path: &str) -> Option<ChannelConstructor> {
    let c = |sender, receiver, bounded| {
        Some(ChannelConstructor {
            sender,
            receiver,
            bounded,
        })
    };
    match path {
        "tokio::sync::mpsc::channel" => c(
            "tokio::sync::mpsc::Sender",
            "tokio::sync::mpsc::Receiver",
            None,
        ),
        "tokio::sync::mpsc::unbounded_channel" => c(
            "tokio::sync::mpsc::UnboundedSender",
            "tokio::sync::mpsc::UnboundedReceiver",
            None,
        ),
        "tokio::sync::oneshot::channel" => c(
            "tokio::sync::oneshot::Sender",
            "tokio::sync::oneshot::Receiver",
            None,
        ),
        "tokio::sync::broadcast::channel" => c(
            "tokio::sync::broadcast::Sender",
            "tokio::sync::broadcast::Receiver",
            None,
        ),
        "tokio::sync::watch::channel" => c(
            "tokio::sync::watch::Sender",
            "tokio::sync::watch::Receiver",
            None,
        ),
        "async_channel::bounded" => c(
            "async_channel::Sender",
            "async_channel::Receiver",
            Some(true),
        ),
        "async_channel::unbounded" => c(
            "async_channel::Sender",
            "async_channel::Receiver",
            Some(false),
        ),
        "flume::bounded" => c("flume::Sender", "flume::Receiver", Some(true)),
        "flume::unbounded" => c("flume::Sender", "flume::Receiver", Some(false)),
        "futures::channel::mpsc::channel" | "futures_channel::mpsc::channel" => c(
            "futures::channel::mpsc::Sender",
            "futures::channel::mpsc::Receiver",
            None,
        ),
        "std::sync::mpsc::channel" => {
            c("std::sync::mpsc::Sender", "std::sync::mpsc::Receiver", None)
        }
        _ => None,
    }
}

/// Iterator and `Option` adapters whose closure receives an element of the receiver.
pub fn takes_element_closure(name: &str) -> bool {
    matches!(
        name,
        "map"
            | "for_each"
            | "filter"
            | "filter_map"
            | "flat_map"
            | "any"
            | "all"
            | "find"
            | "find_map"
            | "position"
            | "inspect"
            | "take_while"
            | "skip_while"
            | "map_while"
            | "try_for_each"
            | "and_then"
            | "is_some_and"
            | "is_none_or"
            | "then"
            | "partition"
            | "max_by_key"
            | "min_by_key"
    )
}

/// Functions that await every future of the collection they are given.
pub fn awaits_collection(name: &str) -> bool {
    matches!(
        name,
        "join_all" | "try_join_all" | "select_all" | "select_ok"
    )
}

/// Macros whose expression arguments are futures polled (awaited) by the macro itself.
pub fn macro_awaits_arguments(name: &str) -> bool {
    matches!(name, "join" | "try_join" | "join_all")
}

/// Method names so common on std/library types that an unknown receiver is not worth listing.
pub const QUIET_METHODS: &[&str] = &[
    "clone",
    "unwrap",
    "expect",
    "into",
    "to_string",
    "to_owned",
    "len",
    "is_empty",
    "push",
    "insert",
    "get",
    "as_ref",
    "map",
    "and_then",
    "ok",
    "err",
    "is_some",
    "is_none",
    "is_ok",
    "is_err",
    "iter",
    "collect",
    "as_str",
    "as_slice",
    "unwrap_or",
    "unwrap_or_else",
    "unwrap_or_default",
    "map_err",
    "contains",
    "extend",
    "fmt",
    "eq",
    "cmp",
    "min",
    "max",
    "elapsed",
    "now",
    "lock",
    "read",
    "write",
    "borrow",
    "borrow_mut",
    "take",
    "remove",
    "as_mut",
    "ok_or",
    "ok_or_else",
    "context",
    "with_context",
    "checked_add",
    "checked_sub",
    "saturating_sub",
    "saturating_add",
    "wrapping_add",
    "to_vec",
    "from",
    "parse",
    "entry",
    "or_insert",
    "or_default",
    "drain",
    "retain",
    "sort",
    "pop",
    "values",
    "keys",
    "next",
    "filter",
    "enumerate",
    "zip",
    "chain",
    "rev",
    "any",
    "all",
    "find",
    "count",
    "sum",
    "copied",
    "cloned",
    "first",
    "last",
    "split",
    "trim",
    "starts_with",
    "ends_with",
    "await",
    "as_bytes",
    "join",
    "recv",
    "try_recv",
    "try_send",
    "send_to",
    "recv_from",
    "elapsed",
    "duration_since",
    "fetch_add",
    "load",
    "store",
];

/// The external types whose awaited methods receive the events an event loop dispatches:
/// (type path, methods, what it receives from). Streams are matched apart ([`known_receive`]).
const RECEIVERS: &[(&str, &[&str], &str)] = &[
    (
        "tokio::sync::mpsc::Receiver",
        &["recv", "recv_many"],
        "a channel",
    ),
    (
        "tokio::sync::mpsc::UnboundedReceiver",
        &["recv", "recv_many"],
        "a channel",
    ),
    (
        "tokio::sync::broadcast::Receiver",
        &["recv"],
        "a broadcast channel",
    ),
    (
        "tokio::sync::watch::Receiver",
        &["changed"],
        "a watch channel",
    ),
    ("async_channel::Receiver", &["recv"], "a channel"),
    ("flume::Receiver", &["recv_async"], "a channel"),
    ("kanal::AsyncReceiver", &["recv"], "a channel"),
    (
        "futures::channel::mpsc::Receiver",
        &["next", "try_next"],
        "a channel",
    ),
    (
        "futures::channel::mpsc::UnboundedReceiver",
        &["next", "try_next"],
        "a channel",
    ),
    (
        "futures_channel::mpsc::Receiver",
        &["next", "try_next"],
        "a channel",
    ),
    (
        "futures_channel::mpsc::UnboundedReceiver",
        &["next", "try_next"],
        "a channel",
    ),
    (
        "tokio::net::UdpSocket",
        &["recv_from", "recv", "recv_buf_from"],
        "a socket",
    ),
    (
        "tokio::net::UnixDatagram",
        &["recv_from", "recv"],
        "a socket",
    ),
    ("tokio::net::TcpListener", &["accept"], "a listener socket"),
    ("tokio::net::UnixListener", &["accept"], "a listener socket"),
    ("tokio::time::Interval", &["tick"], "a timer"),
    ("tokio::sync::Notify", &["notified"], "a notification"),
];

/// The byte streams whose awaited reads receive what a connection's loop dispatches (socket
/// types and their read halves), read through `tokio::io::AsyncReadExt` ([`STREAM_READS`]).
const BYTE_STREAMS: &[&str] = &[
    "tokio::net::TcpStream",
    "tokio::net::UnixStream",
    "tokio::net::tcp::OwnedReadHalf",
    "tokio::net::tcp::ReadHalf",
    "tokio::net::unix::OwnedReadHalf",
    "tokio::net::unix::ReadHalf",
    "tokio::io::ReadHalf",
];

/// Buffering wrappers a byte stream is read through (their first type argument is the stream).
const STREAM_WRAPPERS: &[&str] = &[
    "tokio::io::BufReader",
    "tokio::io::BufWriter",
    "tokio::io::BufStream",
];

/// The `tokio::io::AsyncReadExt` methods that wait for bytes to arrive.
const STREAM_READS: &[&str] = &[
    "read",
    "read_buf",
    "read_exact",
    "read_to_end",
    "read_to_string",
    "read_u8",
    "read_u16",
    "read_u32",
    "read_u64",
];

/// What an awaited `.method()` on a value of type `ty` receives from, when the type is known
/// to receive through that method: a channel receiver, a socket or listener socket, a timer, a
/// `Notify` ([`RECEIVERS`]), a read of a socket's byte stream (directly or through a buffering
/// wrapper: [`STREAM_READS`]), or a stream's `.next()` /
/// `.try_next()` (an external type named `*Stream`, such as
/// `tokio_stream::wrappers::ReceiverStream`, or a `Stream` bound). `None` when the type says
/// nothing of it (a workspace type, an unknown type, another external type).
pub fn known_receive(ty: &Ty, method: &str) -> Option<(&'static str, String)> {
    if STREAM_READS.contains(&method) {
        if let Some(hit) = byte_stream_read(ty) {
            return Some(hit);
        }
    }
    let streamish = |p: &str| {
        let last = p.rsplit("::").next().unwrap_or(p);
        last.ends_with("Stream") && !last.starts_with("Tcp") && !last.starts_with("Unix")
    };
    let is_next = matches!(method, "next" | "try_next");
    match peel_ref(ty) {
        Ty::Adt {
            key: TypeKey::External(p),
            ..
        }
        | Ty::Channel { ty: p, .. } => {
            if let Some(&(_, _, what)) = RECEIVERS.iter().find(|(t, ms, _)| {
                QualName::external(&split(p)).is_type(&split(t)) && ms.contains(&method)
            }) {
                return Some((what, p.clone()));
            }
            (is_next && streamish(p)).then(|| ("a stream", p.clone()))
        }
        Ty::Traits(bounds) if is_next => bounds.iter().find_map(|b| match b {
            TypeKey::External(p) if streamish(p) => Some(("a stream", format!("impl {p}"))),
            _ => None,
        }),
        _ => None,
    }
}

/// A read of [`STREAM_READS`] on `ty` waits for a socket's bytes: `ty` is a byte stream or a
/// buffering wrapper of one, behind `Box`/`Pin`/`&mut` (not behind a lock: a `RwLock`'s `read`
/// is the lock's). An `AsyncRead` bound is not one: as often a file or the caller's data (a
/// log read back, an upload) as a socket.
fn byte_stream_read(ty: &Ty) -> Option<(&'static str, String)> {
    let is = |p: &str, table: &[&str]| {
        let segs = split(p);
        table
            .iter()
            .any(|t| QualName::external(&segs).is_type(&split(t)))
    };
    let mut t = ty;
    for _ in 0..8 {
        match t {
            Ty::Adt {
                key: TypeKey::External(p),
                args,
            } => {
                if is(p, BYTE_STREAMS) {
                    return Some(("a socket", p.clone()));
                }
                let last = p.rsplit("::").next().unwrap_or(p);
                if !is(p, STREAM_WRAPPERS) && !matches!(last, "Box" | "Pin") {
                    return None;
                }
                t = args.first()?;
            }
            _ => return None,
        }
    }
    None
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn socket_reads_and_notifies_are_receives() {
        use crate::semantics::ty::ext;
        let tcp = ext("tokio::net::TcpStream", vec![]);
        let buffered = ext("tokio::io::BufWriter", vec![tcp.clone()]);
        assert_eq!(
            known_receive(&buffered, "read_buf"),
            Some(("a socket", "tokio::net::TcpStream".to_string()))
        );
        assert!(known_receive(&tcp, "read_exact").is_some());
        // A write is not a receive; a buffer of something that is not a socket is not one.
        assert_eq!(known_receive(&buffered, "write_all"), None);
        let file = ext("tokio::io::BufReader", vec![ext("tokio::fs::File", vec![])]);
        assert_eq!(known_receive(&file, "read_buf"), None);
        // A lock's `read` is not a socket's, whatever it guards.
        let lock = ext("tokio::sync::RwLock", vec![tcp.clone()]);
        assert_eq!(known_receive(&lock, "read"), None);
        assert_eq!(known_receive(&ext("Arc", vec![lock]), "read"), None);
        let boxed = ext("Box", vec![ext("Pin", vec![tcp.clone()])]);
        assert!(known_receive(&boxed, "read").is_some());
        // An `AsyncRead` bound may be a file or the caller's data.
        let bound = Ty::Traits(vec![TypeKey::External("tokio::io::AsyncRead".into())]);
        assert_eq!(known_receive(&bound, "read"), None);
        assert_eq!(
            known_receive(&ext("tokio::sync::Notify", vec![]), "notified").map(|x| x.0),
            Some("a notification")
        );
    }

    #[test]
    fn awaiters_are_told_apart() {
        assert!(awaits_collection("join_all"));
        assert!(!awaits_collection("join"));
        assert!(macro_awaits_arguments("join"));
        assert!(!macro_awaits_arguments("select"));
        assert!(takes_element_closure("for_each"));
        assert!(!takes_element_closure("spawn"));
    }

    #[test]
    fn default_channels_name_their_waiting_methods() {
        let c = default_channels();
        let tokio = c
            .iter()
            .find(|c| c.path.join("::") == "tokio::sync::mpsc::Sender")
            .expect("tokio mpsc is a default channel");
        assert!(tokio.methods.iter().any(|m| m == "reserve"));
        assert!(tokio.methods.iter().any(|m| m == "reserve_owned"));
        let sink = c
            .iter()
            .find(|c| c.path.join("::") == "futures::channel::mpsc::Sender")
            .expect("futures mpsc is a default channel");
        for m in ["send", "feed", "send_all"] {
            assert!(sink.methods.iter().any(|x| x == m), "{m}");
        }
        assert!(!tokio.methods.iter().any(|m| m == "try_send"));
        assert!(QUIET_METHODS.contains(&"clone"));
    }
}
