//! One task per established peer: reliable, fragmented messages over datagrams.
//!
//! When a handshake completes, [`PeerContext::establish`] creates a
//! [`PeerConnection`] task with two bounded inboxes (datagrams from the
//! listener, messages from the application) and registers their senders in
//! the [`ConnectionStateManager`]. The task then does everything for that peer:
//!
//! * **Sending.** An application message is split into fragments
//!   ([`fragment_message`]), sent, and kept until the peer acknowledges it.
//!   Unacknowledged messages are resent every `retransmit_timeout`. At most
//!   `window` messages are in flight; while the window is full the task stops
//!   reading its outbox, so the application feels backpressure instead of the
//!   network seeing a flood.
//! * **Receiving.** Data fragments go to a reassembly task that this task
//!   spawns. It keeps partial messages in bounded buffers (at most
//!   `max_partial_messages` and `max_reassembly_bytes` per peer,
//!   `max_reassembly_bytes_total` per node, evicted after
//!   `reassembly_timeout`, released when the peer task ends; the node-wide
//!   total is the gauge [`Metrics::reassembly_pending`]), delivers each
//!   complete message exactly once to the [`MessageStore`] and queues an
//!   acknowledgement (again for duplicates, so a lost ack is repaired by the
//!   retransmission), which this task sends. The reassembly task itself never
//!   touches the network or another bounded channel: it is a purely in-memory
//!   consumer, so forwarding fragments to it with `send().await` only ever
//!   waits for CPU work.
//! * **Liveness.** A keep-alive goes out when nothing was sent for
//!   `keepalive_interval`; if nothing is heard for `peer_timeout` the peer is
//!   dropped.
//!
//! None of this runs on the listener: the listener only `try_send`s into the
//! inbox. If this task falls behind, its inbox fills and the listener drops
//! *this peer's* datagrams (counted as `Full`); the peer's retransmissions
//! recover them later. Nobody else is slowed down.
//!
//! Sequence numbers are per connection and not wrapped: a connection carries
//! at most 2^32 messages, far more than any test or realistic session.

use std::collections::{BTreeMap, BTreeSet, HashMap};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use std::sync::Mutex;

use tokio::sync::{mpsc, watch, Notify};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::connection_state::{ConnectionStateManager, PeerHandle};
use super::packet::{fragment_message, Packet, PacketKind, MAX_MESSAGE_SIZE};
use super::socket::Socket;
use crate::messages::{MessageStore, ReceivedMessage};
use crate::metrics::Metrics;

/// Tuning of peer tasks. The defaults suit a LAN or loopback.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Capacity of the inbox the listener `try_send`s into, in datagrams.
    pub inbox_capacity: usize,
    /// Capacity of the application's outbox, in messages.
    pub outbox_capacity: usize,
    /// Capacity of the channel to the reassembly task, in fragments.
    pub reassembly_queue: usize,
    /// Most messages sent but not yet acknowledged.
    pub window: usize,
    /// Resend an unacknowledged message after this long.
    pub retransmit_timeout: Duration,
    /// Give up on a message after this many resends.
    pub max_retransmits: u32,
    /// Send a keep-alive when nothing was sent for this long.
    pub keepalive_interval: Duration,
    /// Drop the peer when nothing was heard from it for this long.
    pub peer_timeout: Duration,
    /// Drop a partial message after this long.
    pub reassembly_timeout: Duration,
    /// Most partial messages kept at once (per peer).
    pub max_partial_messages: usize,
    /// Most payload bytes held by one peer's partial messages. A fragment that
    /// would go over it drops its whole partial message (the sender retransmits
    /// it later); so a message larger than this can never be reassembled.
    pub max_reassembly_bytes: usize,
    /// Most payload bytes held by partial messages over all peers of the node
    /// (checked against the node-wide gauge, [`Metrics::reassembly_pending`]).
    pub max_reassembly_bytes_total: usize,
    /// Refuse message sequence numbers further than this ahead of the oldest undelivered one.
    pub max_sequence_ahead: u32,
    /// How often timers (retransmit, keep-alive, timeouts) are checked.
    pub tick: Duration,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            inbox_capacity: 512,
            outbox_capacity: 256,
            reassembly_queue: 256,
            window: 64,
            retransmit_timeout: Duration::from_millis(200),
            max_retransmits: 50,
            keepalive_interval: Duration::from_secs(1),
            peer_timeout: Duration::from_secs(10),
            reassembly_timeout: Duration::from_secs(5),
            max_partial_messages: 128,
            max_reassembly_bytes: 4 * MAX_MESSAGE_SIZE,
            max_reassembly_bytes_total: 64 << 20,
            max_sequence_ahead: 4096,
            tick: Duration::from_millis(20),
        }
    }
}

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
        }
    }
}

impl<S: Socket> PeerContext<S> {
    /// Starts a peer task for `addr` and registers it, replacing (and thereby
    /// ending) any previous connection to that address.
    pub fn establish(&self, addr: SocketAddr, conn_id: u64) -> PeerHandle {
        let (inbox_tx, inbox_rx) = mpsc::channel(self.config.inbox_capacity.max(1));
        let (outbox_tx, outbox_rx) = mpsc::channel(self.config.outbox_capacity.max(1));
        let handle = PeerHandle::new(conn_id, inbox_tx, outbox_tx);
        if let Some(old) = self.state.insert_established(addr, handle.clone()) {
            info!(peer = %addr, old = old.conn_id, new = conn_id, "connection replaced");
        }
        let connection = PeerConnection {
            addr,
            conn_id,
            ctx: self.clone(),
            inbox: inbox_rx,
            outbox: outbox_rx,
            unacked: BTreeMap::new(),
            next_seq: 0,
            last_sent: Instant::now(),
        };
        tokio::spawn(connection.run());
        info!(peer = %addr, conn_id, "peer established");
        handle
    }

    /// Sends one packet to `to`, counting (not propagating) socket errors: a
    /// lost datagram is repaired by retransmission, like any other loss.
    pub async fn send_packet(&self, packet: &Packet, to: SocketAddr) {
        match packet.encode() {
            Ok(bytes) => self.send_raw(&bytes, to).await,
            Err(error) => warn!(%error, "could not encode packet"),
        }
    }

    async fn send_raw(&self, bytes: &[u8], to: SocketAddr) {
        if let Err(error) = self.socket.send_to(bytes, to).await {
            Metrics::inc(&self.metrics.send_errors);
            debug!(peer = %to, %error, "send_to failed");
        }
    }
}

/// Acknowledgements queued by the reassembly task for the peer task to send.
/// A `std` mutex plus a `Notify` rather than a channel: pushing never waits,
/// and `notify_one` keeps a permit if the peer task is busy, so none is lost.
#[derive(Default)]
struct AckQueue {
    seqs: Mutex<Vec<u32>>,
    ready: Notify,
}

impl AckQueue {
    fn push(&self, seq: u32) {
        self.seqs
            .lock()
            .unwrap_or_else(|p| p.into_inner())
            .push(seq);
        self.ready.notify_one();
    }

    fn take(&self) -> Vec<u32> {
        std::mem::take(&mut *self.seqs.lock().unwrap_or_else(|p| p.into_inner()))
    }
}

/// A message waiting for its acknowledgement.
struct InFlight {
    datagrams: Vec<Vec<u8>>,
    last_sent: Instant,
    resends: u32,
}

/// The per-peer task. See the module docs.
pub struct PeerConnection<S: Socket> {
    addr: SocketAddr,
    conn_id: u64,
    ctx: PeerContext<S>,
    inbox: mpsc::Receiver<Packet>,
    outbox: mpsc::Receiver<Vec<u8>>,
    unacked: BTreeMap<u32, InFlight>,
    next_seq: u32,
    last_sent: Instant,
}

impl<S: Socket> PeerConnection<S> {
    async fn run(mut self) {
        let config = self.ctx.config.clone();
        let (fragments_tx, fragments_rx) = mpsc::channel(config.reassembly_queue.max(1));
        let acks = Arc::new(AckQueue::default());
        let reassembler = Reassembler {
            addr: self.addr,
            ctx: self.ctx.clone(),
            acks: Arc::clone(&acks),
            partial: HashMap::new(),
            pending_bytes: 0,
            delivered_below: 0,
            delivered_ahead: BTreeSet::new(),
        };
        let reassembly = tokio::spawn(reassembler.run(fragments_rx));
        let mut shutdown = self.ctx.shutdown.clone();
        let mut tick = tokio::time::interval(config.tick);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        let mut last_heard = Instant::now();

        let reason = loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() {
                        let close = Packet::control(PacketKind::Close, self.conn_id, 0, Vec::new());
                        self.ctx.send_packet(&close, self.addr).await;
                        break "node shutting down";
                    }
                }
                packet = self.inbox.recv() => {
                    let Some(packet) = packet else { break "removed from the routing table" };
                    last_heard = Instant::now();
                    match packet.kind() {
                        PacketKind::Data => {
                            // Waiting here is fine: this task runs on its own (spawned), not on the
                            // listener, and the consumer is the in-memory reassembly task we spawned
                            // above. If it is slow, only this peer's inbox fills, and the listener
                            // drops this peer's datagrams with `try_send`.
                            let forwarded = fragments_tx.send(packet).await;
                            if forwarded.is_err() {
                                break "reassembly task ended";
                            }
                        }
                        PacketKind::Ack => {
                            self.unacked.remove(&packet.header.seq);
                        }
                        PacketKind::Close => break "peer closed the connection",
                        _ => {}
                    }
                }
                () = acks.ready.notified() => {
                    for seq in acks.take() {
                        let ack = Packet::control(PacketKind::Ack, self.conn_id, seq, Vec::new());
                        self.ctx.send_packet(&ack, self.addr).await;
                    }
                }
                message = self.outbox.recv(), if self.unacked.len() < config.window => {
                    let Some(message) = message else { break "removed from the routing table" };
                    self.send_message_now(message).await;
                }
                _ = tick.tick() => {
                    let now = Instant::now();
                    if now.duration_since(last_heard) >= config.peer_timeout {
                        Metrics::inc(&self.ctx.metrics.peers_timed_out);
                        break "peer timed out";
                    }
                    self.retransmit_overdue(now).await;
                    if now.duration_since(self.last_sent) >= config.keepalive_interval {
                        let keepalive = Packet::control(PacketKind::KeepAlive, self.conn_id, 0, Vec::new());
                        self.ctx.send_packet(&keepalive, self.addr).await;
                        self.last_sent = now;
                    }
                }
            }
        };
        info!(peer = %self.addr, conn_id = self.conn_id, reason, "peer connection ended");
        self.ctx.state.remove_if_conn(self.addr, self.conn_id);
        drop(fragments_tx);
        let _ = reassembly.await;
    }

    /// Fragments, sends and remembers one application message.
    async fn send_message_now(&mut self, message: Vec<u8>) {
        let seq = self.next_seq;
        let packets = match fragment_message(self.conn_id, seq, &message) {
            Ok(packets) => packets,
            Err(error) => {
                warn!(peer = %self.addr, %error, "message refused");
                return;
            }
        };
        self.next_seq = self.next_seq.wrapping_add(1);
        let datagrams: Vec<Vec<u8>> = packets.iter().filter_map(|p| p.encode().ok()).collect();
        for datagram in &datagrams {
            self.ctx.send_raw(datagram, self.addr).await;
        }
        Metrics::inc(&self.ctx.metrics.messages_sent);
        let now = Instant::now();
        self.last_sent = now;
        self.unacked.insert(
            seq,
            InFlight {
                datagrams,
                last_sent: now,
                resends: 0,
            },
        );
    }

    async fn retransmit_overdue(&mut self, now: Instant) {
        let rto = self.ctx.config.retransmit_timeout;
        let max = self.ctx.config.max_retransmits;
        let mut abandoned = Vec::new();
        for (seq, flight) in self.unacked.iter_mut() {
            if now.duration_since(flight.last_sent) < rto {
                continue;
            }
            if flight.resends >= max {
                abandoned.push(*seq);
                continue;
            }
            flight.resends += 1;
            flight.last_sent = now;
            Metrics::inc(&self.ctx.metrics.retransmissions);
            for datagram in &flight.datagrams {
                self.ctx.send_raw(datagram, self.addr).await;
            }
            self.last_sent = now;
        }
        for seq in abandoned {
            self.unacked.remove(&seq);
            Metrics::inc(&self.ctx.metrics.messages_abandoned);
            warn!(peer = %self.addr, seq, "message abandoned after {max} resends");
        }
    }
}

/// A message whose fragments are still arriving.
struct Partial {
    fragments: Vec<Option<Vec<u8>>>,
    received: usize,
    /// Payload bytes held in `fragments`.
    bytes: usize,
    started: Instant,
}

/// The reassembly task of one peer. See the module docs.
///
/// Every partial message and every payload byte it holds is also counted in
/// the node-wide gauges ([`Metrics::reassembly_pending`]); they are released
/// when the message completes, expires or is dropped, and all at once when
/// the reassembler itself is dropped (the peer task ended), so the gauges
/// always show what is really held.
struct Reassembler<S: Socket> {
    addr: SocketAddr,
    ctx: PeerContext<S>,
    acks: Arc<AckQueue>,
    partial: HashMap<u32, Partial>,
    /// Payload bytes held by `partial`, all messages together.
    pending_bytes: usize,
    /// Every sequence number below this has been delivered.
    delivered_below: u32,
    /// Delivered sequence numbers at or above `delivered_below`.
    delivered_ahead: BTreeSet<u32>,
}

impl<S: Socket> Reassembler<S> {
    async fn run(mut self, mut fragments: mpsc::Receiver<Packet>) {
        let mut tick =
            tokio::time::interval(self.ctx.config.tick.max(Duration::from_millis(10)) * 5);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                fragment = fragments.recv() => match fragment {
                    Some(fragment) => self.on_fragment(fragment),
                    None => break,
                },
                _ = tick.tick() => self.evict_expired(),
            }
        }
    }

    fn is_delivered(&self, seq: u32) -> bool {
        seq < self.delivered_below || self.delivered_ahead.contains(&seq)
    }

    fn on_fragment(&mut self, packet: Packet) {
        let seq = packet.header.seq;
        let metrics = Arc::clone(&self.ctx.metrics);
        if self.is_delivered(seq) {
            if packet.header.frag_index == 0 {
                Metrics::inc(&metrics.duplicate_messages);
            }
            self.acks.push(seq);
            return;
        }
        // Not delivered, so `seq >= delivered_below`: no underflow.
        if seq - self.delivered_below > self.ctx.config.max_sequence_ahead {
            Metrics::inc(&metrics.reassembly_rejected);
            return;
        }
        let count = usize::from(packet.header.frag_count);
        let index = usize::from(packet.header.frag_index);
        let len = packet.payload.len();
        if count == 1 && !self.partial.contains_key(&seq) {
            // A whole message in one datagram needs no buffer (and no partial-message slot).
            self.deliver(seq, packet.payload);
            return;
        }
        if !self.partial.contains_key(&seq) {
            if self.partial.len() >= self.ctx.config.max_partial_messages {
                Metrics::inc(&metrics.reassembly_rejected);
                debug!(peer = %self.addr, seq, "too many partial messages; fragment dropped");
                return;
            }
            self.partial.insert(
                seq,
                Partial {
                    fragments: vec![None; count],
                    received: 0,
                    bytes: 0,
                    started: Instant::now(),
                },
            );
            metrics.adjust_reassembly(1, 0);
        }
        let Some(entry) = self.partial.get(&seq) else {
            return;
        };
        if entry.fragments.len() != count || index >= count {
            // Same sequence number, different fragment count (or an index the
            // decoder would not have let through): not a fragment of this message.
            Metrics::inc(&metrics.reassembly_rejected);
            return;
        }
        if entry.fragments.get(index).is_some_and(Option::is_some) {
            return; // A duplicate fragment: already held.
        }
        if self.pending_bytes + len > self.ctx.config.max_reassembly_bytes
            || metrics.reassembly_pending().bytes + len as u64
                > self.ctx.config.max_reassembly_bytes_total as u64
        {
            // Over budget: give this message up entirely rather than hold a
            // part of it that may never complete. The sender retransmits it.
            Metrics::inc(&metrics.reassembly_over_budget);
            debug!(peer = %self.addr, seq, "reassembly byte budget exceeded; partial message dropped");
            self.release(seq);
            return;
        }
        let Some(entry) = self.partial.get_mut(&seq) else {
            return;
        };
        let Some(slot) = entry.fragments.get_mut(index) else {
            return;
        };
        *slot = Some(packet.payload);
        entry.received += 1;
        entry.bytes += len;
        self.pending_bytes += len;
        metrics.adjust_reassembly(0, len as i64);
        if entry.received < count {
            return;
        }
        let Some(done) = self.release(seq) else {
            return;
        };
        let data: Vec<u8> = done.fragments.into_iter().flatten().flatten().collect();
        self.deliver(seq, data);
    }

    /// Hands a complete message to the application, once, and acknowledges it.
    fn deliver(&mut self, seq: u32, data: Vec<u8>) {
        self.ctx
            .messages
            .push(ReceivedMessage::now(self.addr, seq, data));
        Metrics::inc(&self.ctx.metrics.messages_delivered);
        self.delivered_ahead.insert(seq);
        while self.delivered_ahead.remove(&self.delivered_below) {
            self.delivered_below = self.delivered_below.wrapping_add(1);
        }
        self.acks.push(seq);
    }

    /// Removes a partial message, releasing its share of the budgets and gauges.
    fn release(&mut self, seq: u32) -> Option<Partial> {
        let partial = self.partial.remove(&seq)?;
        self.pending_bytes -= partial.bytes;
        self.ctx
            .metrics
            .adjust_reassembly(-1, -(partial.bytes as i64));
        Some(partial)
    }

    fn evict_expired(&mut self) {
        let timeout = self.ctx.config.reassembly_timeout;
        let expired: Vec<u32> = self
            .partial
            .iter()
            .filter(|(_, p)| p.started.elapsed() >= timeout)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in expired {
            self.release(seq);
            Metrics::inc(&self.ctx.metrics.reassembly_timeouts);
        }
    }
}

impl<S: Socket> Drop for Reassembler<S> {
    fn drop(&mut self) {
        // The peer task ended (or the runtime is going away): whatever is still
        // partial will never complete. Release it from the node-wide gauges.
        let buffers = self.partial.len() as i64;
        self.ctx
            .metrics
            .adjust_reassembly(-buffers, -(self.pending_bytes as i64));
        self.partial.clear();
        self.pending_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::mock::MockNetwork;

    fn reassembler(
        config: PeerConfig,
    ) -> (
        Reassembler<crate::transport::mock::MockSocket>,
        watch::Sender<bool>,
    ) {
        let net = MockNetwork::new();
        let (gw, _) = mpsc::channel(1);
        let (nat, _) = mpsc::channel(1);
        let (stop, shutdown) = watch::channel(false);
        let ctx = PeerContext {
            socket: Arc::new(net.bind_port(1).unwrap()),
            state: Arc::new(ConnectionStateManager::new(gw, nat)),
            metrics: Arc::new(Metrics::new()),
            messages: Arc::new(MessageStore::new(100)),
            config,
            shutdown,
        };
        let r = Reassembler {
            addr: "127.0.0.1:2".parse().unwrap(),
            ctx,
            acks: Arc::new(AckQueue::default()),
            partial: HashMap::new(),
            pending_bytes: 0,
            delivered_below: 0,
            delivered_ahead: BTreeSet::new(),
        };
        (r, stop)
    }

    fn fragments(seq: u32, len: usize) -> Vec<Packet> {
        let message: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        fragment_message(7, seq, &message).unwrap()
    }

    #[test]
    fn reassembles_out_of_order_and_delivers_once() {
        let (mut r, _stop) = reassembler(PeerConfig::default());
        let mut frags = fragments(0, 3000);
        frags.reverse();
        for f in frags.clone() {
            r.on_fragment(f);
        }
        assert_eq!(r.ctx.messages.total(), 1);
        assert_eq!(r.ctx.messages.snapshot()[0].data.len(), 3000);
        // A retransmission of the whole message: acknowledged again, not delivered again.
        for f in frags {
            r.on_fragment(f);
        }
        assert_eq!(r.ctx.messages.total(), 1);
        assert_eq!(Metrics::get(&r.ctx.metrics.duplicate_messages), 1);
        assert_eq!(r.acks.take().len(), 1 + 3);
        assert_eq!(r.delivered_below, 1);
        assert!(r.partial.is_empty());
    }

    #[test]
    fn partial_buffers_are_bounded_and_expire() {
        let config = PeerConfig {
            max_partial_messages: 2,
            max_sequence_ahead: 100,
            reassembly_timeout: Duration::ZERO,
            ..PeerConfig::default()
        };
        let (mut r, _stop) = reassembler(config);
        for seq in 1..=3 {
            r.on_fragment(fragments(seq, 2000).remove(0));
        }
        assert_eq!(r.partial.len(), 2, "third partial message refused");
        r.on_fragment(fragments(500, 10).remove(0));
        assert_eq!(
            Metrics::get(&r.ctx.metrics.reassembly_rejected),
            2,
            "too far ahead refused"
        );
        // Same sequence number, different fragment count: refused, not mixed in.
        r.on_fragment(fragments(1, 5000).remove(1));
        assert_eq!(Metrics::get(&r.ctx.metrics.reassembly_rejected), 3);
        r.evict_expired();
        assert!(r.partial.is_empty());
        assert_eq!(Metrics::get(&r.ctx.metrics.reassembly_timeouts), 2);
        assert_eq!(r.ctx.messages.total(), 0);
    }

    #[test]
    fn byte_budget_drops_oversized_messages_and_gauges_follow() {
        use crate::metrics::ReassemblyPending;
        use crate::transport::packet::MAX_FRAGMENT_PAYLOAD;
        let config = PeerConfig {
            max_reassembly_bytes: 3 * MAX_FRAGMENT_PAYLOAD,
            ..PeerConfig::default()
        };
        let (mut r, _stop) = reassembler(config);
        // A 5-fragment message cannot fit in a 3-fragment budget: the fourth
        // fragment drops the whole partial message.
        let big = fragments(0, 5 * MAX_FRAGMENT_PAYLOAD);
        for f in big.iter().take(3).cloned() {
            r.on_fragment(f);
        }
        assert_eq!(
            r.ctx.metrics.reassembly_pending(),
            ReassemblyPending {
                buffers: 1,
                bytes: 3 * MAX_FRAGMENT_PAYLOAD as u64
            }
        );
        r.on_fragment(big[3].clone());
        assert_eq!(Metrics::get(&r.ctx.metrics.reassembly_over_budget), 1);
        assert_eq!(
            r.ctx.metrics.reassembly_pending(),
            ReassemblyPending::default()
        );
        assert!(r.partial.is_empty());
        // A message that fits still gets through afterwards.
        for f in fragments(1, 2 * MAX_FRAGMENT_PAYLOAD) {
            r.on_fragment(f);
        }
        assert_eq!(r.ctx.messages.total(), 1);
        // Partial messages still held when the reassembler goes away are released.
        r.on_fragment(fragments(2, 2000).remove(0));
        let metrics = Arc::clone(&r.ctx.metrics);
        assert_eq!(metrics.reassembly_pending().buffers, 1);
        drop(r);
        assert_eq!(metrics.reassembly_pending(), ReassemblyPending::default());
    }

    #[test]
    fn node_wide_budget_is_shared_between_peers() {
        use crate::transport::packet::MAX_FRAGMENT_PAYLOAD;
        let config = PeerConfig {
            max_reassembly_bytes_total: 2 * MAX_FRAGMENT_PAYLOAD,
            ..PeerConfig::default()
        };
        let (mut r, _stop) = reassembler(config);
        // Another peer of the same node already holds one fragment's worth.
        r.ctx
            .metrics
            .adjust_reassembly(1, MAX_FRAGMENT_PAYLOAD as i64);
        let msg = fragments(0, 3 * MAX_FRAGMENT_PAYLOAD);
        r.on_fragment(msg[0].clone());
        assert_eq!(r.partial.len(), 1);
        r.on_fragment(msg[1].clone());
        assert!(r.partial.is_empty(), "over the node-wide budget");
        assert_eq!(Metrics::get(&r.ctx.metrics.reassembly_over_budget), 1);
        assert_eq!(
            r.ctx.metrics.reassembly_pending().bytes,
            MAX_FRAGMENT_PAYLOAD as u64
        );
    }
}
