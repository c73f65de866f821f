//! [`NodeView`]: what the outside (the HTTP API, tests) may read of a running
//! node, and its non-waiting way to send.
//!
//! It exists so that `node.rs` and `api/` do not import each other: the node
//! hands out a view (`Node::view`), the API serves one. It holds shared
//! handles only (the routing table, the counters, the message store, the
//! node's clock), so it is cheap to clone into every request handler.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Instant;

use crate::messages::MessageStore;
use crate::metrics::Metrics;
use crate::transport::clock::SharedClock;
use crate::transport::connection_state::ConnectionStateManager;

/// Shared, read-mostly handles of a node. See the module docs.
#[derive(Clone)]
pub struct NodeView {
    /// The routing table.
    pub state: Arc<ConnectionStateManager>,
    /// Node counters.
    pub metrics: Arc<Metrics>,
    /// Received messages.
    pub messages: Arc<MessageStore>,
    /// The node's UDP address.
    pub udp_addr: SocketAddr,
    /// When the node started (by `clock`).
    pub started: Instant,
    /// The node's clock.
    pub clock: SharedClock,
}

impl std::fmt::Debug for NodeView {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("NodeView")
            .field("udp_addr", &self.udp_addr)
            .field("peers", &self.state.len())
            .finish_non_exhaustive()
    }
}
