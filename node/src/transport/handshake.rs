//! Getting connected: the gateway handshake and NAT traversal.
//!
//! Two long-lived tasks, each fed by the listener through a bounded channel
//! (`try_send_gateway_handshake` / `try_send_nat_traversal`) and by the node
//! through a command channel:
//!
//! * [`GatewayHandshake`]. A node joining the network sends `Hello` (with a
//!   fresh connection id) to a gateway every `retry_interval` until a matching
//!   `Welcome` arrives or `deadline` passes. The gateway side answers every
//!   `Hello` with a `Welcome` whose payload lists the other peers it knows, one
//!   address per line, and starts a peer task. Duplicate `Hello`s (our
//!   `Welcome` was lost) are answered again without creating a second
//!   connection; a `Hello` with a new id from a known address means the peer
//!   restarted, and replaces the old connection.
//! * [`NatTraversal`]. After joining, the new node punches a hole towards
//!   each listed peer: `Punch` every `retry_interval` until a `PunchAck`
//!   arrives or `deadline` passes. The receiving side answers with `PunchAck`
//!   and starts a peer task. If both sides punch at once, the smaller
//!   connection id wins on both sides, so they agree on one connection.
//!
//! Real NAT hole punching also needs the gateway to tell the *existing* peer
//! to punch back; on loopback and open networks one direction is enough, and
//! that is what this reference node implements.
//!
//! Both tasks send on the socket directly and only ever hand work to the
//! listener-independent peer tasks, so nothing here can block the listener.
//! If either task falls behind, its inbound channel fills, the listener drops
//! (and counts) further handshake datagrams, and the retries recover.

use std::collections::HashMap;
use std::fmt;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use tokio::sync::{mpsc, oneshot, watch};
use tokio::time::{Instant, MissedTickBehavior};
use tracing::{debug, info, warn};

use super::connection_state::Inbound;
use super::mock::SplitMix64;
use super::packet::{Packet, PacketKind, MAX_FRAGMENT_PAYLOAD};
use super::peer::PeerContext;
use super::socket::Socket;
use crate::metrics::Metrics;

/// Retry cadence and deadline of handshakes and NAT traversal.
#[derive(Debug, Clone)]
pub struct HandshakeConfig {
    /// How often `Hello` / `Punch` is (re)sent while waiting for an answer.
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

/// Reply channel of a connection attempt.
pub type ConnectReply = oneshot::Sender<Result<(), HandshakeError>>;

/// A request to one of the connection tasks.
#[derive(Debug)]
pub struct Connect {
    /// Who to connect to.
    pub addr: SocketAddr,
    /// Where to report the result, if anybody cares.
    pub reply: Option<ConnectReply>,
}

/// An attempt in progress.
struct Pending {
    conn_id: u64,
    deadline: Instant,
    last_probe: Instant,
    replies: Vec<ConnectReply>,
}

impl Pending {
    fn finish(self, result: Result<(), HandshakeError>) {
        for reply in self.replies {
            let _ = reply.send(result);
        }
    }
}

/// State and retry machinery shared by both tasks.
struct Attempts {
    config: HandshakeConfig,
    pending: HashMap<SocketAddr, Pending>,
    ids: SplitMix64,
}

impl Attempts {
    fn new(config: HandshakeConfig, seed: u64) -> Attempts {
        Attempts {
            config,
            pending: HashMap::new(),
            ids: SplitMix64(seed),
        }
    }

    /// Starts (or joins) an attempt; returns the new connection id if a first probe must go out.
    fn start(&mut self, request: Connect) -> Option<u64> {
        if let Some(existing) = self.pending.get_mut(&request.addr) {
            existing.replies.extend(request.reply);
            return None;
        }
        let conn_id = self.ids.next_u64() | 1; // never 0
        self.pending.insert(
            request.addr,
            Pending {
                conn_id,
                deadline: Instant::now() + self.config.deadline,
                last_probe: Instant::now(),
                replies: request.reply.into_iter().collect(),
            },
        );
        Some(conn_id)
    }

    /// Removes expired attempts (failing them) and lists the rest, to be re-probed.
    fn expire(&mut self, now: Instant) -> (usize, Vec<(SocketAddr, u64)>) {
        let expired: Vec<SocketAddr> = self
            .pending
            .iter()
            .filter(|(_, p)| now >= p.deadline)
            .map(|(a, _)| *a)
            .collect();
        for addr in &expired {
            if let Some(p) = self.pending.remove(addr) {
                warn!(peer = %addr, "connection attempt timed out");
                p.finish(Err(HandshakeError::Timeout));
            }
        }
        // Re-probe only attempts whose last probe is at least half a period old, so the
        // first retry never follows the initial probe immediately.
        let min_gap = self.config.retry_interval / 2;
        let retry = self
            .pending
            .iter_mut()
            .filter(|(_, p)| now.duration_since(p.last_probe) >= min_gap)
            .map(|(a, p)| {
                p.last_probe = now;
                (*a, p.conn_id)
            })
            .collect();
        (expired.len(), retry)
    }
}

fn seed_from(addr: Option<SocketAddr>, salt: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| d.subsec_nanos() as u64 ^ d.as_secs())
        .unwrap_or(0);
    let port = addr.map(|a| u64::from(a.port())).unwrap_or(0);
    nanos ^ (port << 32) ^ salt
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

/// What the two tasks do differently. The loop around it, with the retries and the
/// shutdown, is [`Task::run`]; the tasks themselves are [`GatewayHandshake`] and
/// [`NatTraversal`].
trait Protocol<S: Socket>: Send + Sized + 'static {
    /// The probe an attempt sends first and again every `retry_interval`.
    const PROBE: PacketKind;
    /// What the task logs when an attempt starts.
    const STARTING: &'static str;
    /// The counter of attempts that ran out of time.
    fn failed(metrics: &Metrics) -> &AtomicU64;
    /// A datagram the listener routed to this task.
    fn on_packet(
        &mut self,
        ctx: &PeerContext<S>,
        attempts: &mut Attempts,
        inbound: Inbound,
    ) -> impl Future<Output = ()> + Send;
}

/// A handshake task: the shared state, the two inboxes and the protocol.
struct Task<S: Socket, P> {
    ctx: PeerContext<S>,
    attempts: Attempts,
    packets: mpsc::Receiver<Inbound>,
    commands: mpsc::Receiver<Connect>,
    protocol: P,
}

impl<S: Socket, P: Protocol<S>> Task<S, P> {
    /// Runs until node shutdown: starts attempts on command, hands datagrams to the
    /// protocol, and every `retry_interval` fails expired attempts and re-probes the rest.
    async fn run(mut self) {
        let mut shutdown: watch::Receiver<bool> = self.ctx.shutdown.clone();
        let mut tick = tokio::time::interval(self.attempts.config.retry_interval);
        tick.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                Some(command) = self.commands.recv() => self.on_connect(command).await,
                Some(inbound) = self.packets.recv() => {
                    self.protocol.on_packet(&self.ctx, &mut self.attempts, inbound).await;
                }
                _ = tick.tick() => {
                    let (expired, retry) = self.attempts.expire(Instant::now());
                    for _ in 0..expired {
                        Metrics::inc(P::failed(&self.ctx.metrics));
                    }
                    for (addr, conn_id) in retry {
                        send_control(&self.ctx, P::PROBE, conn_id, Vec::new(), addr).await;
                    }
                }
            }
        }
        for (_, pending) in self.attempts.pending.drain() {
            pending.finish(Err(HandshakeError::NodeStopped));
        }
    }

    async fn on_connect(&mut self, command: Connect) {
        if self.ctx.state.is_established(command.addr) {
            if let Some(reply) = command.reply {
                let _ = reply.send(Ok(()));
            }
            return;
        }
        let addr = command.addr;
        if let Some(conn_id) = self.attempts.start(command) {
            info!(peer = %addr, conn_id, "{}", P::STARTING);
            send_control(&self.ctx, P::PROBE, conn_id, Vec::new(), addr).await;
        }
    }
}

/// Sends one control packet on the node's socket.
async fn send_control<S: Socket>(
    ctx: &PeerContext<S>,
    kind: PacketKind,
    conn_id: u64,
    payload: Vec<u8>,
    to: SocketAddr,
) {
    ctx.send_packet(&Packet::control(kind, conn_id, 0, payload), to)
        .await;
}

/// The gateway-handshake task. See the module docs.
pub struct GatewayHandshake<S: Socket> {
    task: Task<S, Gateway>,
}

/// The gateway handshake's side of [`Protocol`]: introduced peers go to `nat`.
struct Gateway {
    nat: mpsc::Sender<Connect>,
}

impl<S: Socket> GatewayHandshake<S> {
    /// A task answering and making handshakes; introduced peers are handed to `nat`.
    pub fn new(
        ctx: PeerContext<S>,
        config: HandshakeConfig,
        packets: mpsc::Receiver<Inbound>,
        commands: mpsc::Receiver<Connect>,
        nat: mpsc::Sender<Connect>,
    ) -> GatewayHandshake<S> {
        let seed = seed_from(ctx.socket.local_addr().ok(), 0x6a7e);
        GatewayHandshake {
            task: Task {
                ctx,
                attempts: Attempts::new(config, seed),
                packets,
                commands,
                protocol: Gateway { nat },
            },
        }
    }

    /// Runs until node shutdown.
    pub async fn run(self) {
        self.task.run().await;
    }
}

impl<S: Socket> Protocol<S> for Gateway {
    const PROBE: PacketKind = PacketKind::Hello;
    const STARTING: &'static str = "joining through gateway";

    fn failed(metrics: &Metrics) -> &AtomicU64 {
        &metrics.handshakes_failed
    }

    async fn on_packet(
        &mut self,
        ctx: &PeerContext<S>,
        attempts: &mut Attempts,
        Inbound { from, packet }: Inbound,
    ) {
        let conn_id = packet.header.conn_id;
        match packet.kind() {
            PacketKind::Hello => {
                let known = ctx.state.get(from).map(|h| h.conn_id);
                if known != Some(conn_id) {
                    ctx.establish(from, conn_id);
                    Metrics::inc(&ctx.metrics.handshakes_completed);
                } else {
                    debug!(peer = %from, "duplicate Hello; answering again");
                }
                let others: Vec<SocketAddr> = ctx
                    .state
                    .peers()
                    .into_iter()
                    .map(|(a, _)| a)
                    .filter(|a| *a != from)
                    .collect();
                let list = encode_peer_list(&others);
                send_control(ctx, PacketKind::Welcome, conn_id, list, from).await;
            }
            PacketKind::Welcome => {
                let matches = attempts.pending.get(&from).map(|p| p.conn_id) == Some(conn_id);
                if !matches {
                    debug!(peer = %from, "unexpected Welcome ignored");
                    return;
                }
                if let Some(pending) = attempts.pending.remove(&from) {
                    ctx.establish(from, conn_id);
                    Metrics::inc(&ctx.metrics.handshakes_completed);
                    pending.finish(Ok(()));
                }
                if !attempts.config.punch_introduced_peers {
                    return;
                }
                let me = ctx.socket.local_addr().ok();
                for peer in decode_peer_list(&packet.payload) {
                    if Some(peer) == me || ctx.state.is_established(peer) {
                        continue;
                    }
                    if self
                        .nat
                        .try_send(Connect {
                            addr: peer,
                            reply: None,
                        })
                        .is_err()
                    {
                        warn!(%peer, "NAT traversal queue full or gone; peer not introduced");
                    }
                }
            }
            other => debug!(?other, "not a handshake packet"),
        }
    }
}

/// The NAT-traversal task. See the module docs.
pub struct NatTraversal<S: Socket> {
    task: Task<S, Nat>,
}

/// NAT traversal's side of [`Protocol`].
struct Nat;

impl<S: Socket> NatTraversal<S> {
    /// A task punching holes on request and answering punches.
    pub fn new(
        ctx: PeerContext<S>,
        config: HandshakeConfig,
        packets: mpsc::Receiver<Inbound>,
        commands: mpsc::Receiver<Connect>,
    ) -> NatTraversal<S> {
        let seed = seed_from(ctx.socket.local_addr().ok(), 0x9a7);
        NatTraversal {
            task: Task {
                ctx,
                attempts: Attempts::new(config, seed),
                packets,
                commands,
                protocol: Nat,
            },
        }
    }

    /// Runs until node shutdown.
    pub async fn run(self) {
        self.task.run().await;
    }
}

impl Nat {
    fn complete<S: Socket>(
        ctx: &PeerContext<S>,
        attempts: &mut Attempts,
        from: SocketAddr,
        conn_id: u64,
    ) {
        ctx.establish(from, conn_id);
        Metrics::inc(&ctx.metrics.nat_traversals_completed);
        if let Some(pending) = attempts.pending.remove(&from) {
            pending.finish(Ok(()));
        }
    }
}

impl<S: Socket> Protocol<S> for Nat {
    const PROBE: PacketKind = PacketKind::Punch;
    const STARTING: &'static str = "starting NAT traversal";

    fn failed(metrics: &Metrics) -> &AtomicU64 {
        &metrics.nat_traversals_failed
    }

    async fn on_packet(
        &mut self,
        ctx: &PeerContext<S>,
        attempts: &mut Attempts,
        Inbound { from, packet }: Inbound,
    ) {
        let conn_id = packet.header.conn_id;
        let ours = attempts.pending.get(&from).map(|p| p.conn_id);
        match packet.kind() {
            PacketKind::Punch => {
                let known = ctx.state.get(from).map(|h| h.conn_id);
                if known == Some(conn_id) {
                    // Our PunchAck was lost; answer again.
                } else if matches!(ours, Some(mine) if mine < conn_id) {
                    // Simultaneous open: our smaller id wins; the peer adopts it on our Punch.
                    return;
                } else {
                    Nat::complete(ctx, attempts, from, conn_id);
                }
                send_control(ctx, PacketKind::PunchAck, conn_id, Vec::new(), from).await;
            }
            PacketKind::PunchAck => {
                if ours == Some(conn_id) {
                    Nat::complete(ctx, attempts, from, conn_id);
                } else {
                    debug!(peer = %from, "unexpected PunchAck ignored");
                }
            }
            other => debug!(?other, "not a NAT traversal packet"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn peer_list_round_trips_and_ignores_junk() {
        let peers: Vec<SocketAddr> =
            vec!["127.0.0.1:1".parse().unwrap(), "[::1]:2".parse().unwrap()];
        assert_eq!(decode_peer_list(&encode_peer_list(&peers)), peers);
        assert_eq!(
            decode_peer_list(b"nonsense\n\xff\n127.0.0.1:5"),
            vec!["127.0.0.1:5".parse().unwrap()]
        );
        let many: Vec<SocketAddr> = (1..2000)
            .map(|p| SocketAddr::from(([127, 0, 0, 1], p)))
            .collect();
        assert!(encode_peer_list(&many).len() <= MAX_FRAGMENT_PAYLOAD);
    }
}
