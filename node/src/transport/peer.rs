//! The driver of one established peer: a task that owns the peer's channels
//! and timer and runs its [`Connection`] state machine.
//!
//! When a handshake completes, [`PeerContext::establish`] creates the
//! connection state ([`crate::proto::connection`]: send window, acks,
//! retransmissions, keep-alives, peer timeout, reassembly), two bounded
//! inboxes (datagrams from the listener, messages from the application),
//! registers their senders in the [`ConnectionStateManager`] and spawns
//! [`PeerConnection::run`]. The task's loop only moves things between the
//! world and the state machine:
//!
//! * a datagram from the inbox → `handle_packet(now, ..)`;
//! * a message from the outbox, read only while the window has room (so the
//!   application feels backpressure instead of the network seeing a flood) →
//!   `send_message(now, ..)`;
//! * the timer, set to `poll_timeout()` → `handle_timeout(now)`;
//! * then every `poll_transmit()` goes out on the socket and every
//!   `poll_event()` is acted on (a delivered message into the
//!   [`MessageStore`], the end of the connection).
//!
//! `now` and the timer come from the node's [`Clock`](super::clock::Clock).
//! None of this runs on the listener: the listener only `try_send`s into the
//! inbox. If this task falls behind, its inbox fills and the listener drops
//! *this peer's* datagrams (counted as `Full`); the peer's retransmissions
//! recover them later. Nobody else is slowed down.
//!
//! The `select!` is `biased` (shutdown, timer, inbox, outbox): tokio's random
//! branch choice would make runs with the same seed differ. The timer cannot
//! starve the others: after `handle_timeout` the next deadline is at least a
//! `tick` away.

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::{mpsc, watch};
use tracing::{debug, info, warn};

use super::clock::SharedClock;
use super::connection_state::{ConnectionStateManager, PeerHandle};
use super::packet::Packet;
use super::socket::Socket;
use crate::messages::{MessageStore, ReceivedMessage};
use crate::metrics::Metrics;
use crate::proto::connection::{Connection, Event};
use crate::proto::Transmit;

pub use crate::proto::connection::PeerConfig;

/// Everything needed to start peer tasks; cloned into the handshake tasks.
pub struct PeerContext<S: Socket> {
    /// The node's socket (peer tasks send on it directly).
    pub socket: Arc<S>,
    /// The routing table peer tasks are registered in.
    pub state: Arc<ConnectionStateManager>,
    /// Node counters.
    pub metrics: Arc<Metrics>,
    /// Where complete messages are delivered.
    pub messages: Arc<MessageStore>,
    /// Peer tuning.
    pub config: PeerConfig,
    /// Node shutdown signal.
    pub shutdown: watch::Receiver<bool>,
    /// The node's clock.
    pub clock: SharedClock,
    /// The node's seed; each connection's jitter is seeded from it and the connection id.
    pub seed: u64,
}

impl<S: Socket> Clone for PeerContext<S> {
    fn clone(&self) -> Self {
        PeerContext {
            socket: Arc::clone(&self.socket),
            state: Arc::clone(&self.state),
            metrics: Arc::clone(&self.metrics),
            messages: Arc::clone(&self.messages),
            config: self.config.clone(),
            shutdown: self.shutdown.clone(),
            clock: Arc::clone(&self.clock),
            seed: self.seed,
        }
    }
}

impl<S: Socket> PeerContext<S> {
    /// Starts a peer task for `addr` and registers it, replacing (and thereby
    /// ending) any previous connection to that address.
    pub fn establish(&self, addr: SocketAddr, conn_id: u64) -> PeerHandle {
        let now = self.clock.now();
        let (inbox_tx, inbox_rx) = mpsc::channel(self.config.inbox_capacity.max(1));
        let (outbox_tx, outbox_rx) = mpsc::channel(self.config.outbox_capacity.max(1));
        let handle = PeerHandle::new(conn_id, inbox_tx, outbox_tx, now);
        if let Some(old) = self.state.insert_established(addr, handle.clone()) {
            info!(peer = %addr, old = old.conn_id, new = conn_id, "connection replaced");
        }
        let seed = self.seed ^ conn_id.wrapping_mul(0x9E37_79B9_7F4A_7C15);
        let connection = PeerConnection {
            conn: Connection::new(
                addr,
                conn_id,
                self.config.clone(),
                Arc::clone(&self.metrics),
                now,
                seed,
            ),
            ctx: self.clone(),
            inbox: inbox_rx,
            outbox: outbox_rx,
        };
        tokio::spawn(connection.run());
        info!(peer = %addr, conn_id, "peer established");
        handle
    }

    /// Sends one datagram, counting (not propagating) socket errors: a lost
    /// datagram is repaired by retransmission, like any other loss.
    pub async fn send_transmit(&self, transmit: &Transmit) {
        if let Err(error) = self
            .socket
            .send_to(&transmit.contents, transmit.destination)
            .await
        {
            Metrics::inc(&self.metrics.send_errors);
            debug!(peer = %transmit.destination, %error, "send_to failed");
        }
    }
}

/// Waits for `sleep`, or forever if there is none.
pub(crate) async fn sleep_or_never(sleep: Option<super::clock::Sleep>) {
    match sleep {
        Some(sleep) => sleep.await,
        None => std::future::pending().await,
    }
}

/// The per-peer task. See the module docs.
pub struct PeerConnection<S: Socket> {
    conn: Connection,
    ctx: PeerContext<S>,
    inbox: mpsc::Receiver<Packet>,
    outbox: mpsc::Receiver<Vec<u8>>,
}

impl<S: Socket> PeerConnection<S> {
    async fn run(mut self) {
        let mut shutdown = self.ctx.shutdown.clone();
        let clock = Arc::clone(&self.ctx.clock);
        let (addr, conn_id) = (self.conn.addr(), self.conn.conn_id());
        let reason = loop {
            let timer = sleep_or_never(self.conn.poll_timeout().map(|t| clock.sleep_until(t)));
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        self.conn.close();
                        self.flush().await;
                        break "node shutting down";
                    }
                }
                () = timer => {
                    self.conn.handle_timeout(clock.now());
                }
                packet = self.inbox.recv() => {
                    let Some(packet) = packet else { break "removed from the routing table" };
                    self.conn.handle_packet(clock.now(), packet);
                }
                message = self.outbox.recv(), if self.conn.can_send() => {
                    let Some(message) = message else { break "removed from the routing table" };
                    if let Err(error) = self.conn.send_message(clock.now(), &message) {
                        warn!(peer = %addr, %error, "message refused");
                    }
                }
            }
            if let Some(reason) = self.flush().await {
                break reason.label();
            }
        };
        info!(peer = %addr, conn_id, reason, "peer connection ended");
        self.ctx.state.remove_if_conn(addr, conn_id);
    }

    /// Sends what the state machine queued and acts on its events; returns why
    /// the connection ended, if it did.
    /// Events first: a message is in the store before its acknowledgement leaves.
    async fn flush(&mut self) -> Option<crate::proto::connection::CloseReason> {
        let mut closed = None;
        while let Some(event) = self.conn.poll_event() {
            match event {
                Event::Delivered { seq, data } => {
                    let from = self.conn.addr();
                    self.ctx
                        .messages
                        .push(ReceivedMessage::now(from, seq, data));
                }
                Event::Closed(reason) => closed = Some(reason),
            }
        }
        while let Some(transmit) = self.conn.poll_transmit() {
            self.ctx.send_transmit(&transmit).await;
        }
        closed
    }
}
