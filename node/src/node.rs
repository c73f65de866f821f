//! [`Node`]: the pieces of the transport wired together and started.
//!
//! Starting a node spawns three long-lived tasks on the current tokio
//! runtime: the [`UdpPacketsListener`], the [`GatewayHandshake`] task and the
//! [`NatTraversal`] task (peer tasks are spawned later, as connections are
//! made). They share one socket, one [`ConnectionStateManager`], one
//! [`Metrics`] and one [`MessageStore`], and all stop on one `watch` shutdown
//! signal. The node itself is a handle: it lets the application (the binary,
//! tests) connect, send messages, and inspect state, and hands out a
//! [`NodeView`] for the HTTP API (this module does not know `crate::api`).
//!
//! The node owns its time source and its randomness: a [`Clock`] (tokio's by
//! default, virtual under `tokio::time::pause`) and a seed
//! ([`NodeConfig::seed`]) from which connection ids and every timer's jitter
//! are drawn, so a test that fixes the seeds replays the same run.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use tokio::sync::{mpsc, oneshot, watch};
use tokio::task::JoinHandle;

use crate::messages::MessageStore;
use crate::metrics::Metrics;
use crate::transport::clock::{entropy_seed, tokio_clock, SharedClock};
use crate::transport::connection_state::ConnectionStateManager;
pub use crate::transport::connection_state::SendMessageError;
use crate::transport::handshake::{
    Connect, GatewayHandshake, HandshakeConfig, HandshakeError, NatTraversal,
};
use crate::transport::listener::UdpPacketsListener;
use crate::transport::peer::{PeerConfig, PeerContext};
use crate::transport::socket::Socket;
use crate::view::NodeView;

/// Everything tunable about a node.
#[derive(Debug, Clone)]
pub struct NodeConfig {
    /// Peer task tuning.
    pub peer: PeerConfig,
    /// Handshake / NAT traversal cadence and deadline.
    pub handshake: HandshakeConfig,
    /// Capacity of the listener → handshake and listener → NAT-traversal channels.
    pub control_channel_capacity: usize,
    /// How many received messages are kept for the application.
    pub message_store_capacity: usize,
    /// Seed of the node's randomness (connection ids, timer jitter). `None`:
    /// drawn from the wall clock at start. Tests set it to replay a run.
    pub seed: Option<u64>,
}

impl Default for NodeConfig {
    fn default() -> Self {
        NodeConfig {
            peer: PeerConfig::default(),
            handshake: HandshakeConfig::default(),
            control_channel_capacity: 256,
            message_store_capacity: 4096,
            seed: None,
        }
    }
}

/// A running node. See the module docs.
pub struct Node<S: Socket> {
    local_addr: SocketAddr,
    state: Arc<ConnectionStateManager>,
    metrics: Arc<Metrics>,
    messages: Arc<MessageStore>,
    gateway_commands: mpsc::Sender<Connect>,
    nat_commands: mpsc::Sender<Connect>,
    shutdown: watch::Sender<bool>,
    listener: JoinHandle<io::Result<()>>,
    background: Vec<JoinHandle<()>>,
    started: Instant,
    clock: SharedClock,
    _socket: Arc<S>,
}

impl<S: Socket> Node<S> {
    /// Starts a node on `socket` with tokio's clock. Must be called inside a tokio runtime.
    pub fn start(socket: S, config: NodeConfig) -> io::Result<Node<S>> {
        Node::start_with_clock(socket, config, tokio_clock())
    }

    /// Starts a node on `socket` whose tasks take the time and their timers from `clock`.
    pub fn start_with_clock(
        socket: S,
        config: NodeConfig,
        clock: SharedClock,
    ) -> io::Result<Node<S>> {
        let local_addr = socket.local_addr()?;
        let seed = config
            .seed
            .unwrap_or_else(|| entropy_seed(u64::from(local_addr.port())));
        let socket = Arc::new(socket);
        let capacity = config.control_channel_capacity.max(1);
        let (gateway_tx, gateway_rx) = mpsc::channel(capacity);
        let (nat_tx, nat_rx) = mpsc::channel(capacity);
        let (gateway_cmd_tx, gateway_cmd_rx) = mpsc::channel(64);
        let (nat_cmd_tx, nat_cmd_rx) = mpsc::channel(256);
        let state = Arc::new(ConnectionStateManager::new(gateway_tx, nat_tx));
        let metrics = Arc::new(Metrics::new());
        let messages = Arc::new(MessageStore::new(config.message_store_capacity));
        let (shutdown, shutdown_rx) = watch::channel(false);

        let ctx = PeerContext {
            socket: Arc::clone(&socket),
            state: Arc::clone(&state),
            metrics: Arc::clone(&metrics),
            messages: Arc::clone(&messages),
            config: config.peer.clone(),
            shutdown: shutdown_rx.clone(),
            clock: Arc::clone(&clock),
            seed,
        };
        let gateway = GatewayHandshake::new(
            ctx.clone(),
            config.handshake.clone(),
            gateway_rx,
            gateway_cmd_rx,
            nat_cmd_tx.clone(),
        );
        let nat = NatTraversal::new(ctx, config.handshake.clone(), nat_rx, nat_cmd_rx);
        let listener = UdpPacketsListener::new(
            Arc::clone(&socket),
            Arc::clone(&state),
            Arc::clone(&metrics),
            shutdown_rx,
        );
        Ok(Node {
            local_addr,
            state,
            metrics,
            messages,
            gateway_commands: gateway_cmd_tx,
            nat_commands: nat_cmd_tx,
            shutdown,
            listener: tokio::spawn(listener.listen()),
            background: vec![tokio::spawn(gateway.run()), tokio::spawn(nat.run())],
            started: clock.now(),
            clock,
            _socket: socket,
        })
    }

    /// The node's UDP address.
    pub fn local_addr(&self) -> SocketAddr {
        self.local_addr
    }

    /// The routing table (peers).
    pub fn state(&self) -> &Arc<ConnectionStateManager> {
        &self.state
    }

    /// The node's counters.
    pub fn metrics(&self) -> &Arc<Metrics> {
        &self.metrics
    }

    /// Messages received from peers.
    pub fn messages(&self) -> &Arc<MessageStore> {
        &self.messages
    }

    /// The node's clock.
    pub fn clock(&self) -> &SharedClock {
        &self.clock
    }

    /// What the HTTP API (or any other reader) needs to serve this node.
    pub fn view(&self) -> NodeView {
        NodeView {
            state: Arc::clone(&self.state),
            metrics: Arc::clone(&self.metrics),
            messages: Arc::clone(&self.messages),
            udp_addr: self.local_addr,
            started: self.started,
            clock: Arc::clone(&self.clock),
        }
    }

    /// Joins the network through `gateway` (retrying until the handshake deadline).
    pub async fn connect_gateway(&self, gateway: SocketAddr) -> Result<(), HandshakeError> {
        Self::request(&self.gateway_commands, gateway).await
    }

    /// Connects directly to `peer` by NAT traversal.
    pub async fn connect_peer(&self, peer: SocketAddr) -> Result<(), HandshakeError> {
        Self::request(&self.nat_commands, peer).await
    }

    async fn request(
        commands: &mpsc::Sender<Connect>,
        addr: SocketAddr,
    ) -> Result<(), HandshakeError> {
        let (reply, result) = oneshot::channel();
        commands
            .try_send(Connect {
                addr,
                reply: Some(reply),
            })
            .map_err(|e| match e {
                mpsc::error::TrySendError::Full(_) => HandshakeError::Busy,
                mpsc::error::TrySendError::Closed(_) => HandshakeError::NodeStopped,
            })?;
        result.await.unwrap_or(Err(HandshakeError::NodeStopped))
    }

    /// Queues a message for `peer`, waiting for room in its outbox (backpressure
    /// for the application; this never runs on the listener).
    pub async fn send_message(
        &self,
        peer: SocketAddr,
        message: Vec<u8>,
    ) -> Result<(), SendMessageError> {
        let outbox = self.state.outbox(peer, message.len())?;
        outbox
            .send(message)
            .await
            .map_err(|_| SendMessageError::PeerGone)
    }

    /// Queues a message for `peer` without waiting.
    pub fn try_send_message(
        &self,
        peer: SocketAddr,
        message: Vec<u8>,
    ) -> Result<(), SendMessageError> {
        self.state.try_queue_message(peer, message)
    }

    /// Waits until `peer` is established, or `timeout` passes.
    pub async fn wait_for_peer(&self, peer: SocketAddr, timeout: Duration) -> bool {
        let deadline = self.clock.now() + timeout;
        while !self.state.is_established(peer) {
            let now = self.clock.now();
            if now >= deadline {
                return false;
            }
            self.clock
                .sleep_until((now + Duration::from_millis(5)).min(deadline))
                .await;
        }
        true
    }

    /// A receiver of the node's shutdown signal (e.g. for the HTTP server).
    pub fn shutdown_signal(&self) -> watch::Receiver<bool> {
        self.shutdown.subscribe()
    }

    /// Stops every task of the node and waits for the listener to end.
    pub async fn shutdown(self) -> io::Result<()> {
        let _ = self.shutdown.send(true);
        let result = match self.listener.await {
            Ok(result) => result,
            Err(join_error) => Err(io::Error::other(join_error)),
        };
        for task in self.background {
            let _ = task.await;
        }
        self.state.clear();
        result
    }
}
