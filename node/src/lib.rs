//! `channel-node`: a small UDP peer node that never lets one slow peer stall
//! the others.
//!
//! It is the reference implementation of the rules `cargo channel-lint`
//! enforces. The bug it is built around: a node's UDP listener loop forwarded
//! packets to per-peer channels with `.send(..).await`; one peer's channel
//! wedged, the loop blocked on it, and every other peer and the HTTP API
//! starved. Here the listener hands datagrams over with `try_send` on bounded
//! `tokio::sync::mpsc` channels only, and deals with `Full` and `Closed` at once
//! (see [`transport::listener`] and [`transport::connection_state`]).
//!
//! Map of the crate:
//!
//! * [`proto`]: the protocol state machines (connection reliability,
//!   reassembly, handshake, NAT traversal) with no I/O, clock or task inside;
//! * [`transport`]: socket abstraction, wire format, listener, the async
//!   drivers of the state machines, the clock;
//! * [`node`]: wiring it all into a running [`Node`];
//! * [`view`]: what a running node shows the outside ([`NodeView`]);
//! * [`api`]: the HTTP API (health, peers, messages, Prometheus metrics)
//!   over a [`NodeView`];
//! * [`metrics`], [`messages`]: counters and the received-message store.
//!
//! ```no_run
//! # async fn demo() -> std::io::Result<()> {
//! use channel_node::{Node, NodeConfig, transport::udp::UdpTransport};
//! let socket = UdpTransport::bind("127.0.0.1:0".parse().unwrap()).await?;
//! let node = Node::start(socket, NodeConfig::default())?;
//! node.connect_gateway("127.0.0.1:7000".parse().unwrap()).await.ok();
//! # Ok(()) }
//! ```

pub mod api;
pub mod messages;
pub mod metrics;
pub mod node;
pub mod proto;
pub mod transport;
pub mod view;

pub use node::{Node, NodeConfig, SendMessageError};
pub use view::NodeView;
