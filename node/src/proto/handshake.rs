//! The gateway handshake and NAT traversal as plain state machines: no
//! socket, channel, clock or task inside (the driver is
//! [`transport::handshake`](crate::transport::handshake)).
//!
//! * **Gateway** ([`Role::Gateway`]). A joining node sends `Hello` (with a
//!   fresh connection id) to a gateway every `retry_interval` (plus jitter)
//!   until a matching `Welcome` arrives or `deadline` passes. The gateway side
//!   answers every `Hello` with a `Welcome` whose payload lists the other
//!   peers it knows, one address per line, and establishes the peer.
//!   Duplicate `Hello`s (our `Welcome` was lost) are answered again without a
//!   second connection; a `Hello` with a new id from a known address means the
//!   peer restarted, and replaces the old connection.
//! * **NAT traversal** ([`Role::Nat`]). `Punch` every `retry_interval` until a
//!   `PunchAck` arrives or `deadline` passes. The receiving side answers with
//!   `PunchAck` and establishes the peer. If both sides punch at once, the
//!   smaller connection id wins on both sides, so they agree on one connection.
//!
//! The state machine does not own the routing table; it reads it through
//! [`PeerTable`] and asks for changes with [`Event`]s.

use std::collections::{BTreeMap, VecDeque};
use std::fmt;
use std::net::SocketAddr;
use std::time::{Duration, Instant};

use super::rng::SplitMix64;
use super::Transmit;
use crate::transport::packet::{Packet, PacketKind, MAX_FRAGMENT_PAYLOAD};

/// Retry cadence and deadline of handshakes and NAT traversal.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// How often `Hello` / `Punch` is (re)sent while waiting for an answer
    /// (each retry is `retry_interval` plus up to a quarter of it as jitter).
    pub retry_interval: Duration,
    /// When to give up.
    pub deadline: Duration,
    /// Whether a joining node starts NAT traversal to the peers its gateway lists.
    pub punch_introduced_peers: bool,
}

impl Default for HandshakeConfig {
    fn default() -> Self {
        HandshakeConfig {
            retry_interval: Duration::from_millis(200),
            deadline: Duration::from_secs(3),
            punch_introduced_peers: true,
        }
    }
}

/// Why connecting failed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum HandshakeError {
    /// No answer before the deadline.
    Timeout,
    /// The node is shutting down (or its task is gone).
    NodeStopped,
    /// The command channel of the task is full; try again later.
    Busy,
}

impl fmt::Display for HandshakeError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            HandshakeError::Timeout => write!(f, "no answer before the deadline"),
            HandshakeError::NodeStopped => write!(f, "the node is shutting down"),
            HandshakeError::Busy => write!(f, "too many connection attempts in progress"),
        }
    }
}

impl std::error::Error for HandshakeError {}

/// Which of the two protocols a [`Handshake`] speaks.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Role {
    /// `Hello` / `Welcome`.
    Gateway,
    /// `Punch` / `PunchAck`.
    Nat,
}

impl Role {
    /// The probe an attempt sends first and again on every retry.
    pub fn probe(self) -> PacketKind {
        match self {
            Role::Gateway => PacketKind::Hello,
            Role::Nat => PacketKind::Punch,
        }
    }
}

/// What the state machine needs to know about the routing table.
pub trait PeerTable {
    /// The connection id of the peer established at `addr`, if any.
    fn conn_id_of(&self, addr: SocketAddr) -> Option<u64>;
    /// Every established peer's address, sorted.
    fn addrs(&self) -> Vec<SocketAddr>;
}

/// What the driver must do.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// Establish (or replace) a connection to `addr` with id `conn_id`.
    Establish {
        /// The peer.
        addr: SocketAddr,
        /// The agreed connection id.
        conn_id: u64,
    },
    /// An attempt to `addr` ended; report `result` to whoever asked.
    Finished {
        /// The peer.
        addr: SocketAddr,
        /// How it ended.
        result: Result<(), HandshakeError>,
    },
    /// The gateway listed `addr` in its `Welcome`: start NAT traversal to it.
    Introduce(SocketAddr),
}

/// An attempt in progress.
#[derive(Debug)]
struct Pending {
    conn_id: u64,
    deadline: Instant,
    next_probe: Instant,
}

/// One handshake protocol's state. See the module docs.
#[derive(Debug)]
pub struct Handshake {
    role: Role,
    config: HandshakeConfig,
    /// Our own address (a peer list naming it is not an introduction).
    local: Option<SocketAddr>,
    pending: BTreeMap<SocketAddr, Pending>,
    rng: SplitMix64,
    transmits: VecDeque<Transmit>,
    events: VecDeque<Event>,
}

impl Handshake {
    /// A state machine for `role`; `seed` drives connection ids and jitter.
    pub fn new(
        role: Role,
        config: HandshakeConfig,
        local: Option<SocketAddr>,
        seed: u64,
    ) -> Handshake {
        Handshake {
            role,
            config,
            local,
            pending: BTreeMap::new(),
            rng: SplitMix64(seed),
            transmits: VecDeque::new(),
            events: VecDeque::new(),
        }
    }

    /// The role.
    pub fn role(&self) -> Role {
        self.role
    }

    /// True while an attempt to `addr` is in progress.
    pub fn is_pending(&self, addr: SocketAddr) -> bool {
        self.pending.contains_key(&addr)
    }

    /// Attempts in progress.
    pub fn pending(&self) -> usize {
        self.pending.len()
    }

    /// Starts an attempt to `addr` at `now` and queues its first probe;
    /// returns the new connection id, or `None` if one is already in progress
    /// (its result will be reported once, in one [`Event::Finished`]).
    pub fn connect(&mut self, now: Instant, addr: SocketAddr) -> Option<u64> {
        if self.pending.contains_key(&addr) {
            return None;
        }
        let conn_id = self.rng.next_u64() | 1; // never 0
        let next_probe = now + self.retry_delay();
        self.pending.insert(
            addr,
            Pending {
                conn_id,
                deadline: now + self.config.deadline,
                next_probe,
            },
        );
        self.send(self.role.probe(), conn_id, Vec::new(), addr);
        Some(conn_id)
    }

    /// Handles a handshake datagram from `from`, received at `now`.
    pub fn handle_packet(
        &mut self,
        _now: Instant,
        from: SocketAddr,
        packet: &Packet,
        table: &impl PeerTable,
    ) {
        let conn_id = packet.header.conn_id;
        let ours = self.pending.get(&from).map(|p| p.conn_id);
        match (self.role, packet.kind()) {
            (Role::Gateway, PacketKind::Hello) => {
                if table.conn_id_of(from) != Some(conn_id) {
                    self.events.push_back(Event::Establish {
                        addr: from,
                        conn_id,
                    });
                }
                // The peers it will know once established, itself left out.
                let others: Vec<SocketAddr> =
                    table.addrs().into_iter().filter(|a| *a != from).collect();
                self.send(
                    PacketKind::Welcome,
                    conn_id,
                    encode_peer_list(&others),
                    from,
                );
            }
            (Role::Gateway, PacketKind::Welcome) => {
                if ours != Some(conn_id) {
                    return; // Not ours (or answered before): ignored.
                }
                self.complete(from, conn_id);
                if !self.config.punch_introduced_peers {
                    return;
                }
                for peer in decode_peer_list(&packet.payload) {
                    if Some(peer) != self.local && table.conn_id_of(peer).is_none() {
                        self.events.push_back(Event::Introduce(peer));
                    }
                }
            }
            (Role::Nat, PacketKind::Punch) => {
                if table.conn_id_of(from) == Some(conn_id) {
                    // Our PunchAck was lost; answer again.
                } else if matches!(ours, Some(mine) if mine < conn_id) {
                    // Simultaneous open: our smaller id wins; the peer adopts it on our Punch.
                    return;
                } else {
                    self.complete(from, conn_id);
                }
                self.send(PacketKind::PunchAck, conn_id, Vec::new(), from);
            }
            (Role::Nat, PacketKind::PunchAck) if ours == Some(conn_id) => {
                self.complete(from, conn_id);
            }
            _ => {} // Not this protocol's packet.
        }
    }

    /// The next instant [`Handshake::handle_timeout`] has work to do.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.pending
            .values()
            .map(|p| p.next_probe.min(p.deadline))
            .min()
    }

    /// Fails the attempts whose deadline passed by `now` and re-probes the rest that are due.
    pub fn handle_timeout(&mut self, now: Instant) {
        let expired: Vec<SocketAddr> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(a, _)| *a)
            .collect();
        for addr in expired {
            self.pending.remove(&addr);
            self.events.push_back(Event::Finished {
                addr,
                result: Err(HandshakeError::Timeout),
            });
        }
        let due: Vec<(SocketAddr, u64)> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.next_probe)
            .map(|(a, p)| (*a, p.conn_id))
            .collect();
        for (addr, conn_id) in due {
            let next = now + self.retry_delay();
            if let Some(p) = self.pending.get_mut(&addr) {
                p.next_probe = next;
            }
            self.send(self.role.probe(), conn_id, Vec::new(), addr);
        }
    }

    /// Ends every attempt (node shutdown), each with [`HandshakeError::NodeStopped`].
    pub fn stop(&mut self) {
        for addr in std::mem::take(&mut self.pending).into_keys() {
            self.events.push_back(Event::Finished {
                addr,
                result: Err(HandshakeError::NodeStopped),
            });
        }
    }

    /// The next datagram to send.
    pub fn poll_transmit(&mut self) -> Option<Transmit> {
        self.transmits.pop_front()
    }

    /// The next thing the driver must do.
    pub fn poll_event(&mut self) -> Option<Event> {
        self.events.pop_front()
    }

    fn complete(&mut self, addr: SocketAddr, conn_id: u64) {
        self.events.push_back(Event::Establish { addr, conn_id });
        if self.pending.remove(&addr).is_some() {
            self.events.push_back(Event::Finished {
                addr,
                result: Ok(()),
            });
        }
    }

    fn retry_delay(&mut self) -> Duration {
        let every = self.config.retry_interval;
        every + self.rng.jitter(every / 4)
    }

    fn send(&mut self, kind: PacketKind, conn_id: u64, payload: Vec<u8>, to: SocketAddr) {
        match Packet::control(kind, conn_id, 0, payload).encode() {
            Ok(contents) => self.transmits.push_back(Transmit {
                destination: to,
                contents,
            }),
            Err(error) => tracing::warn!(%error, "could not encode a handshake packet"),
        }
    }
}

/// Encodes a peer list for a `Welcome` payload (as many as fit in one datagram).
pub fn encode_peer_list(peers: &[SocketAddr]) -> Vec<u8> {
    let mut out = Vec::new();
    for peer in peers {
        let line = format!("{peer}\n");
        if out.len() + line.len() > MAX_FRAGMENT_PAYLOAD {
            break;
        }
        out.extend_from_slice(line.as_bytes());
    }
    out
}

/// Decodes a `Welcome` payload, ignoring anything that is not an address.
pub fn decode_peer_list(payload: &[u8]) -> Vec<SocketAddr> {
    String::from_utf8_lossy(payload)
        .lines()
        .filter_map(|line| line.trim().parse().ok())
        .take(256)
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::collections::BTreeMap;

    #[derive(Default)]
    struct Table(BTreeMap<SocketAddr, u64>);

    impl PeerTable for Table {
        fn conn_id_of(&self, addr: SocketAddr) -> Option<u64> {
            self.0.get(&addr).copied()
        }
        fn addrs(&self) -> Vec<SocketAddr> {
            self.0.keys().copied().collect()
        }
    }

    fn addr(port: u16) -> SocketAddr {
        SocketAddr::from(([127, 0, 0, 1], port))
    }

    fn config() -> HandshakeConfig {
        HandshakeConfig {
            retry_interval: Duration::from_millis(100),
            deadline: Duration::from_secs(1),
            punch_introduced_peers: true,
        }
    }

    fn sent(h: &mut Handshake) -> Vec<(PacketKind, SocketAddr, Packet)> {
        std::iter::from_fn(|| h.poll_transmit())
            .map(|t| {
                let p = Packet::decode(&t.contents).unwrap();
                (p.kind(), t.destination, p)
            })
            .collect()
    }

    #[test]
    fn peer_list_round_trips_and_ignores_junk() {
        let peers: Vec<SocketAddr> =
            vec!["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()];
        assert_eq!(decode_peer_list(&encode_peer_list(&peers)), peers);
        assert_eq!(
            decode_peer_list(b"nonsense\n\xff\n127.0.0.1:5"),
            vec!["127.0.0.1:5".parse().unwrap()]
        );
        let many: Vec<SocketAddr> = (1..2000).map(addr).collect();
        assert!(encode_peer_list(&many).len() <= MAX_FRAGMENT_PAYLOAD);
    }

    #[test]
    fn hello_retries_with_jitter_until_the_deadline() {
        let t0 = Instant::now();
        let mut h = Handshake::new(Role::Gateway, config(), Some(addr(1)), 7);
        let id = h.connect(t0, addr(2)).unwrap();
        assert_eq!(h.connect(t0, addr(2)), None, "joined, not restarted");
        assert_eq!(sent(&mut h).len(), 1);
        let mut now = t0;
        let mut probes = 0;
        while let Some(next) = h.poll_timeout() {
            assert!(next > now, "time moves forward");
            let gap = next - now;
            if next < t0 + Duration::from_secs(1) {
                assert!(gap >= Duration::from_millis(100) && gap < Duration::from_millis(125));
            }
            now = next;
            h.handle_timeout(now);
            probes += sent(&mut h)
                .iter()
                .filter(|(k, _, p)| *k == PacketKind::Hello && p.header.conn_id == id)
                .count();
        }
        assert!((7..=9).contains(&probes), "{probes} retries in 1 s");
        assert_eq!(now, t0 + Duration::from_secs(1));
        assert_eq!(
            h.poll_event(),
            Some(Event::Finished {
                addr: addr(2),
                result: Err(HandshakeError::Timeout)
            })
        );
    }

    #[test]
    fn gateway_welcomes_and_joiner_is_introduced() {
        let t0 = Instant::now();
        let mut gateway = Handshake::new(Role::Gateway, config(), Some(addr(1)), 1);
        let mut joiner = Handshake::new(Role::Gateway, config(), Some(addr(3)), 2);
        let mut gateway_table = Table::default();
        gateway_table.0.insert(addr(2), 77);
        let id = joiner.connect(t0, addr(1)).unwrap();
        let (_, _, hello) = sent(&mut joiner).remove(0);
        gateway.handle_packet(t0, addr(3), &hello, &gateway_table);
        assert_eq!(
            gateway.poll_event(),
            Some(Event::Establish {
                addr: addr(3),
                conn_id: id
            })
        );
        let (kind, to, welcome) = sent(&mut gateway).remove(0);
        assert_eq!((kind, to), (PacketKind::Welcome, addr(3)));
        assert_eq!(decode_peer_list(&welcome.payload), vec![addr(2)]);
        // A duplicate Hello once established: answered again, no second connection.
        gateway_table.0.insert(addr(3), id);
        gateway.handle_packet(t0, addr(3), &hello, &gateway_table);
        assert_eq!(gateway.poll_event(), None);
        assert_eq!(sent(&mut gateway).len(), 1);

        joiner.handle_packet(t0, addr(1), &welcome, &Table::default());
        let events: Vec<Event> = std::iter::from_fn(|| joiner.poll_event()).collect();
        assert_eq!(
            events,
            vec![
                Event::Establish {
                    addr: addr(1),
                    conn_id: id
                },
                Event::Finished {
                    addr: addr(1),
                    result: Ok(())
                },
                Event::Introduce(addr(2)),
            ]
        );
        assert_eq!(joiner.poll_timeout(), None, "nothing pending");
        // A second (late) Welcome is ignored.
        joiner.handle_packet(t0, addr(1), &welcome, &Table::default());
        assert_eq!(joiner.poll_event(), None);
    }

    #[test]
    fn simultaneous_punches_agree_on_the_smaller_id() {
        let t0 = Instant::now();
        let mut a = Handshake::new(Role::Nat, config(), Some(addr(1)), 10);
        let mut b = Handshake::new(Role::Nat, config(), Some(addr(2)), 20);
        let ida = a.connect(t0, addr(2)).unwrap();
        let idb = b.connect(t0, addr(1)).unwrap();
        let (_, _, punch_a) = sent(&mut a).remove(0);
        let (_, _, punch_b) = sent(&mut b).remove(0);
        a.handle_packet(t0, addr(2), &punch_b, &Table::default());
        b.handle_packet(t0, addr(1), &punch_a, &Table::default());
        let winner = ida.min(idb);
        let established = |h: &mut Handshake| -> Vec<u64> {
            std::iter::from_fn(|| h.poll_event())
                .filter_map(|e| match e {
                    Event::Establish { conn_id, .. } => Some(conn_id),
                    _ => None,
                })
                .collect()
        };
        let (ea, eb) = (established(&mut a), established(&mut b));
        // Exactly one side adopted the other's (smaller) id; the other waits for its PunchAck.
        assert_eq!(ea.len() + eb.len(), 1);
        assert!(ea.iter().chain(&eb).all(|id| *id == winner));
        let (mut acks_a, mut acks_b) = (sent(&mut a), sent(&mut b));
        let ack = acks_a.pop().or(acks_b.pop()).unwrap();
        assert_eq!(ack.0, PacketKind::PunchAck);
        let (loser, peer) = if ida < idb {
            (&mut a, addr(2))
        } else {
            (&mut b, addr(1))
        };
        loser.handle_packet(t0, peer, &ack.2, &Table::default());
        assert_eq!(established(loser), vec![winner]);
        assert_eq!(loser.pending(), 0);
    }

    #[test]
    fn stop_fails_every_attempt() {
        let t0 = Instant::now();
        let mut h = Handshake::new(Role::Nat, config(), None, 3);
        h.connect(t0, addr(5));
        h.connect(t0, addr(6));
        h.stop();
        let results: Vec<Event> = std::iter::from_fn(|| h.poll_event()).collect();
        assert_eq!(results.len(), 2);
        assert!(results.iter().all(|e| matches!(
            e,
            Event::Finished {
                result: Err(HandshakeError::NodeStopped),
                ..
            }
        )));
    }
}
