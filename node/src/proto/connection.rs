//! One established peer, as plain state: reliable, fragmented messages over
//! datagrams, with no socket, channel, clock or task inside.
//!
//! The driver ([`transport::peer`](crate::transport::peer)) feeds it and
//! drains it, in quinn-proto's shape:
//!
//! * [`Connection::handle_packet`] / [`Connection::handle_datagram`]: a
//!   datagram from the peer arrived at `now`;
//! * [`Connection::send_message`]: the application queued a message (only
//!   while [`Connection::can_send`]: at most `window` in flight, which is
//!   where the application's backpressure comes from);
//! * [`Connection::poll_timeout`] / [`Connection::handle_timeout`]: the next
//!   instant a timer is due, and "it is now `now`";
//! * [`Connection::poll_transmit`]: the next datagram to send;
//! * [`Connection::poll_event`]: a message delivered, or the connection ended.
//!
//! What it does:
//!
//! * **Sending.** A message is split into fragments, sent, and kept until the
//!   peer acknowledges it. An unacknowledged message is resent
//!   `retransmit_timeout` (plus up to 1/8 of it as jitter, from the seeded
//!   generator the connection was given) after it was last sent, at most
//!   `max_retransmits` times, then abandoned.
//! * **Receiving.** `Data` fragments go to [`Reassembly`]; a complete message
//!   is delivered exactly once (an [`Event::Delivered`]) and acknowledged, a
//!   duplicate is acknowledged again (so a lost ack is repaired by the
//!   retransmission).
//! * **Liveness.** A keep-alive goes out when nothing was sent for
//!   `keepalive_interval`; if nothing is heard for `peer_timeout` the
//!   connection ends ([`Event::Closed`]).
//!
//! Timers are checked at most every `tick` (so retransmissions due within
//! one tick go out together). Sequence numbers are per connection and not
//! wrapped: a connection carries at most 2^32 messages.

use std::collections::{BTreeMap, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

use super::reassembly::{Fragment, Reassembly};
use super::rng::SplitMix64;
use super::Transmit;
use crate::metrics::Metrics;
use crate::transport::packet::{
    fragment_message, DecodeError, EncodeError, Packet, PacketKind, MAX_MESSAGE_SIZE,
};

/// Tuning of peer connections. The defaults suit a LAN or loopback.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Capacity of the inbox the listener `try_send`s into, in datagrams.
    pub inbox_capacity: usize,
    /// Capacity of the application's outbox, in messages.
    pub outbox_capacity: usize,
    /// Most messages sent but not yet acknowledged.
    pub window: usize,
    /// Resend an unacknowledged message after this long (plus up to 1/8 as jitter).
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
    /// Timers (retransmit, keep-alive, timeouts) are handled at most this often.
    pub tick: Duration,
}

impl Default for PeerConfig {
    fn default() -> Self {
        PeerConfig {
            inbox_capacity: 512,
            outbox_capacity: 256,
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

/// Why a connection ended on its own.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum CloseReason {
    /// The peer sent `Close`.
    ByPeer,
    /// Nothing was heard from the peer for `peer_timeout`.
    TimedOut,
}

impl CloseReason {
    /// For logs.
    pub fn label(self) -> &'static str {
        match self {
            CloseReason::ByPeer => "peer closed the connection",
            CloseReason::TimedOut => "peer timed out",
        }
    }
}

/// Something the application should know.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A complete message, delivered once.
    Delivered {
        /// The sender's sequence number.
        seq: u32,
        /// The message.
        data: Vec<u8>,
    },
    /// The connection ended; nothing more will happen on it.
    Closed(CloseReason),
}

/// A message waiting for its acknowledgement.
#[derive(Debug)]
struct InFlight {
    datagrams: Vec<Vec<u8>>,
    /// When it is resent if still unacknowledged.
    due: Instant,
    resends: u32,
}

/// One peer's connection state. See the module docs.
#[derive(Debug)]
pub struct Connection {
    addr: SocketAddr,
    conn_id: u64,
    config: PeerConfig,
    metrics: Arc<Metrics>,
    rng: SplitMix64,
    unacked: BTreeMap<u32, InFlight>,
    next_seq: u32,
    last_sent: Instant,
    last_heard: Instant,
    /// Timers are not handled before this (the `tick` granularity).
    not_before: Instant,
    reassembly: Reassembly,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
    closed: bool,
}

impl Connection {
    /// A connection to `addr` established at `now`; `seed` drives its jitter.
    pub fn new(
        addr: SocketAddr,
        conn_id: u64,
        config: PeerConfig,
        metrics: Arc<Metrics>,
        now: Instant,
        seed: u64,
    ) -> Connection {
        Connection {
            addr,
            conn_id,
            reassembly: Reassembly::new(config.clone(), Arc::clone(&metrics)),
            config,
            metrics,
            rng: SplitMix64(seed),
            unacked: BTreeMap::new(),
            next_seq: 0,
            last_sent: now,
            last_heard: now,
            not_before: now,
            transmits: VecDeque::new(),
            events: VecDeque::new(),
            closed: false,
        }
    }

    /// The peer's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The connection id.
    pub fn conn_id(&self) -> u64 {
        self.conn_id
    }

    /// Messages sent and not yet acknowledged.
    pub fn in_flight(&self) -> usize {
        self.unacked.len()
    }

    /// The reassembly state (for inspection).
    pub fn reassembly(&self) -> &Reassembly {
        &self.reassembly
    }

    /// True once the connection has ended (closed by either side or timed out).
    pub fn is_closed(&self) -> bool {
        self.closed
    }

    /// Whether [`Connection::send_message`] may be called: the window has room.
    pub fn can_send(&self) -> bool {
        !self.closed && self.unacked.len() < self.config.window
    }

    /// Decodes a datagram from the peer and handles it.
    pub fn handle_datagram(&mut self, now: Instant, datagram: &[u8]) -> Result<(), DecodeError> {
        let packet = Packet::decode(datagram)?;
        self.handle_packet(now, packet);
        Ok(())
    }

    /// Handles a decoded datagram from the peer, received at `now`.
    pub fn handle_packet(&mut self, now: Instant, packet: Packet) {
        if self.closed {
            return;
        }
        self.last_heard = now;
        match packet.kind() {
            PacketKind::Data => {
                let seq = packet.header.seq;
                match self.reassembly.handle_fragment(now, packet) {
                    Fragment::Complete(data) => {
                        Metrics::inc(&self.metrics.messages_delivered);
                        self.events.push_back(Event::Delivered { seq, data });
                        self.queue_control(PacketKind::Ack, seq);
                    }
                    Fragment::Duplicate => self.queue_control(PacketKind::Ack, seq),
                    Fragment::Pending => {}
                }
            }
            PacketKind::Ack => {
                self.unacked.remove(&packet.header.seq);
            }
            PacketKind::Close => self.end(CloseReason::ByPeer),
            _ => {}
        }
    }

    /// Fragments, queues and remembers one application message sent at `now`;
    /// returns its sequence number. Call only while [`Connection::can_send`]
    /// (otherwise the window is exceeded, which is allowed but defeats it).
    pub fn send_message(&mut self, now: Instant, message: &[u8]) -> Result<u32, EncodeError> {
        let seq = self.next_seq;
        let packets = fragment_message(self.conn_id, seq, message)?;
        let mut datagrams = Vec::with_capacity(packets.len());
        for packet in &packets {
            datagrams.push(packet.encode()?);
        }
        self.next_seq = self.next_seq.wrapping_add(1);
        for datagram in &datagrams {
            self.transmit(datagram.clone());
        }
        Metrics::inc(&self.metrics.messages_sent);
        self.last_sent = now;
        let due = now + self.retransmit_delay();
        self.unacked.insert(
            seq,
            InFlight {
                datagrams,
                due,
                resends: 0,
            },
        );
        Ok(seq)
    }

    /// Ends the connection from our side (node shutdown): queues a `Close`.
    /// No [`Event::Closed`] follows; the caller knows.
    pub fn close(&mut self) {
        if !self.closed {
            self.queue_control(PacketKind::Close, 0);
            self.closed = true;
        }
    }

    /// The next instant [`Connection::handle_timeout`] has work to do; `None` once closed.
    pub fn poll_timeout(&self) -> Option<Instant> {
        if self.closed {
            return None;
        }
        let mut next = (self.last_heard + self.config.peer_timeout)
            .min(self.last_sent + self.config.keepalive_interval);
        if let Some(due) = self.unacked.values().map(|f| f.due).min() {
            next = next.min(due);
        }
        if let Some(expiry) = self.reassembly.poll_timeout() {
            next = next.min(expiry);
        }
        Some(next.max(self.not_before))
    }

    /// Runs every timer due at `now`: the peer timeout, retransmissions
    /// (abandoning messages resent too often), the keep-alive and the
    /// reassembly timeout.
    pub fn handle_timeout(&mut self, now: Instant) {
        if self.closed || now < self.not_before {
            return;
        }
        self.not_before = now + self.config.tick;
        if now.saturating_duration_since(self.last_heard) >= self.config.peer_timeout {
            Metrics::inc(&self.metrics.peers_timed_out);
            self.end(CloseReason::TimedOut);
            return;
        }
        self.retransmit_overdue(now);
        if now.saturating_duration_since(self.last_sent) >= self.config.keepalive_interval {
            self.queue_control(PacketKind::KeepAlive, 0);
            self.last_sent = now;
        }
        self.reassembly.handle_timeout(now);
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next event for the application.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn retransmit_delay(&mut self) -> Duration {
        let rto = self.config.retransmit_timeout;
        rto + self.rng.jitter(rto / 8)
    }

    fn retransmit_overdue(&mut self, now: Instant) {
        let max = self.config.max_retransmits;
        let mut abandoned = Vec::new();
        let mut resend = Vec::new();
        for (seq, flight) in &self.unacked {
            if now < flight.due {
                continue;
            }
            if flight.resends >= max {
                abandoned.push(*seq);
            } else {
                resend.push(*seq);
            }
        }
        for seq in resend {
            let due = now + self.retransmit_delay();
            let Some(flight) = self.unacked.get_mut(&seq) else {
                continue;
            };
            flight.resends += 1;
            flight.due = due;
            Metrics::inc(&self.metrics.retransmissions);
            let datagrams = flight.datagrams.clone();
            for datagram in datagrams {
                self.transmit(datagram);
            }
            self.last_sent = now;
        }
        for seq in abandoned {
            self.unacked.remove(&seq);
            Metrics::inc(&self.metrics.messages_abandoned);
            tracing::warn!(peer = %self.addr, seq, "message abandoned after {max} resends");
        }
    }

    fn end(&mut self, reason: CloseReason) {
        self.closed = true;
        self.events.push_back(Event::Closed(reason));
    }

    fn transmit(&mut self, contents: Vec<u8>) {
        self.transmits.push_back(Transmit {
            destination: self.addr,
            contents,
        });
    }

    fn queue_control(&mut self, kind: PacketKind, seq: u32) {
        match Packet::control(kind, self.conn_id, seq, Vec::new()).encode() {
            Ok(bytes) => self.transmit(bytes),
            Err(error) => tracing::warn!(%error, "could not encode a control packet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    const PEER: &str = "127.0.0.1:9";

    fn config() -> PeerConfig {
        PeerConfig {
            retransmit_timeout: Duration::from_millis(200),
            keepalive_interval: Duration::from_secs(1),
            peer_timeout: Duration::from_secs(3),
            tick: Duration::from_millis(10),
            max_retransmits: 2,
            window: 2,
            ..PeerConfig::default()
        }
    }

    fn conn(now: Instant) -> Connection {
        Connection::new(
            PEER.parse().unwrap(),
            5,
            config(),
            Arc::new(Metrics::new()),
            now,
            1,
        )
    }

    fn drain(c: &mut Connection) -> Vec<Packet> {
        std::iter::from_fn(|| c.poll_transmit())
            .map(|t| Packet::decode(&t.contents).unwrap())
            .collect()
    }

    fn kinds(packets: &[Packet]) -> Vec<(PacketKind, u32)> {
        packets.iter().map(|p| (p.kind(), p.header.seq)).collect()
    }

    #[test]
    fn send_window_acks_and_retransmission_timer() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        let seq = c.send_message(t0, b"hello").unwrap();
        assert_eq!(seq, 0);
        assert_eq!(kinds(&drain(&mut c)), vec![(PacketKind::Data, 0)]);
        c.send_message(t0, &vec![1; 3000]).unwrap();
        assert_eq!(drain(&mut c).len(), 3, "three fragments");
        assert!(!c.can_send(), "window of 2 is full");
        // The retransmission is due between 200 and 225 ms (jitter up to 1/8).
        let due = c.poll_timeout().unwrap();
        assert!(due >= t0 + Duration::from_millis(200) && due < t0 + Duration::from_millis(225));
        c.handle_timeout(t0 + Duration::from_millis(199));
        assert!(drain(&mut c).is_empty(), "nothing is due before 200 ms");
        // An ack for message 1 arrives; only message 0 is resent.
        let ack = Packet::control(PacketKind::Ack, 5, 1, Vec::new());
        c.handle_packet(t0 + Duration::from_millis(100), ack);
        assert!(c.can_send());
        c.handle_timeout(t0 + Duration::from_millis(230));
        assert_eq!(kinds(&drain(&mut c)), vec![(PacketKind::Data, 0)]);
        assert_eq!(Metrics::get(&c.metrics.retransmissions), 1);
        // Resent at most twice, then abandoned.
        c.handle_timeout(t0 + Duration::from_millis(500));
        assert_eq!(drain(&mut c).len(), 1);
        c.handle_timeout(t0 + Duration::from_millis(800));
        assert!(drain(&mut c).iter().all(|p| p.kind() != PacketKind::Data));
        assert_eq!(c.in_flight(), 0);
        assert_eq!(Metrics::get(&c.metrics.messages_abandoned), 1);
    }

    #[test]
    fn receiving_delivers_once_and_acks_every_copy() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        let data = Packet::control(PacketKind::Data, 5, 0, b"x".to_vec());
        c.handle_datagram(t0, &data.encode().unwrap()).unwrap();
        c.handle_packet(t0, data);
        assert_eq!(
            c.poll_event(),
            Some(Event::Delivered {
                seq: 0,
                data: b"x".to_vec()
            })
        );
        assert_eq!(c.poll_event(), None, "the duplicate is not delivered");
        assert_eq!(
            kinds(&drain(&mut c)),
            vec![(PacketKind::Ack, 0), (PacketKind::Ack, 0)]
        );
        assert_eq!(
            c.handle_datagram(t0, b"junk"),
            Err(DecodeError::TooShort { len: 4 })
        );
    }

    #[test]
    fn keepalive_when_idle_and_timeout_when_silent() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(1)));
        c.handle_timeout(t0 + Duration::from_secs(1));
        assert_eq!(kinds(&drain(&mut c)), vec![(PacketKind::KeepAlive, 0)]);
        // Heard from the peer at 2 s: the timeout moves to 5 s.
        let keepalive = Packet::control(PacketKind::KeepAlive, 5, 0, Vec::new());
        c.handle_packet(t0 + Duration::from_secs(2), keepalive);
        c.handle_timeout(t0 + Duration::from_millis(4990));
        assert!(!c.is_closed());
        assert_eq!(c.poll_timeout(), Some(t0 + Duration::from_secs(5)));
        c.handle_timeout(t0 + Duration::from_secs(5));
        assert_eq!(c.poll_event(), Some(Event::Closed(CloseReason::TimedOut)));
        assert_eq!(c.poll_timeout(), None);
        assert_eq!(Metrics::get(&c.metrics.peers_timed_out), 1);
    }

    #[test]
    fn timers_wait_a_tick_and_close_is_sent_once() {
        let t0 = Instant::now();
        let mut c = conn(t0);
        c.handle_timeout(t0 + Duration::from_secs(1));
        // Handled at 1 s: nothing runs again before 1 s + tick.
        assert!(c.poll_timeout().unwrap() >= t0 + Duration::from_millis(1010));
        drain(&mut c);
        c.close();
        c.close();
        assert_eq!(kinds(&drain(&mut c)), vec![(PacketKind::Close, 0)]);
        assert!(!c.can_send());
        let close = Packet::control(PacketKind::Close, 5, 0, Vec::new());
        let mut d = conn(t0);
        d.handle_packet(t0, close);
        assert_eq!(d.poll_event(), Some(Event::Closed(CloseReason::ByPeer)));
    }
}
