//! The drivers of getting connected: the gateway-handshake task and the
//! NAT-traversal task.
//!
//! The protocols themselves (`Hello` → `Welcome` with the list of known
//! peers; `Punch` → `PunchAck`; retries, deadlines, simultaneous open) are the
//! plain state machine [`Handshake`] in [`crate::proto::handshake`]. This file
//! owns what it must not: the two long-lived tasks, each fed by the listener
//! through a bounded channel (`try_send_gateway_handshake` /
//! `try_send_nat_traversal`) and by the node through a command channel, the
//! timer (from the node's [`Clock`](super::clock::Clock)), the socket sends,
//! the reply channels of callers waiting for a result, and the hand-over of
//! introduced peers from the gateway task to the NAT-traversal task.
//!
//! Real NAT hole punching also needs the gateway to tell the *existing* peer
//! to punch back; on loopback and open networks one direction is enough, and
//! that is what this reference node implements.
//!
//! Both tasks send on the socket directly and only ever hand work to the
//! listener-independent peer tasks, so nothing here can block the listener.
//! If either task falls behind, its inbound channel fills, the listener drops
//! (and counts) further handshake datagrams, and the retries recover.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::sync::atomic::AtomicU64;
use std::sync::Arc;

use tokio::sync::{mpsc, oneshot, watch};
use tracing::{info, warn};

use super::connection_state::Inbound;
use super::peer::{sleep_or_never, PeerContext};
use super::socket::Socket;
use crate::metrics::Metrics;
use crate::proto::handshake::{Event, Handshake, Role};

pub use crate::proto::handshake::{
    decode_peer_list, encode_peer_list, HandshakeConfig, HandshakeError,
};

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

/// A handshake task: the state machine, its inboxes, the callers waiting on it.
struct Task<S: Socket> {
    ctx: PeerContext<S>,
    handshake: Handshake,
    packets: mpsc::Receiver<Inbound>,
    commands: mpsc::Receiver<Connect>,
    replies: BTreeMap<SocketAddr, Vec<ConnectReply>>,
    /// Where introduced peers go (the gateway task only).
    introduce: Option<mpsc::Sender<Connect>>,
}

impl<S: Socket> Task<S> {
    fn new(
        ctx: PeerContext<S>,
        role: Role,
        config: HandshakeConfig,
        packets: mpsc::Receiver<Inbound>,
        commands: mpsc::Receiver<Connect>,
        introduce: Option<mpsc::Sender<Connect>>,
    ) -> Task<S> {
        let salt = match role {
            Role::Gateway => 0x6a7e,
            Role::Nat => 0x9a7,
        };
        let local = ctx.socket.local_addr().ok();
        let seed = ctx.seed ^ salt;
        Task {
            handshake: Handshake::new(role, config, local, seed),
            ctx,
            packets,
            commands,
            replies: BTreeMap::new(),
            introduce,
        }
    }

    fn failed(&self) -> &AtomicU64 {
        match self.handshake.role() {
            Role::Gateway => &self.ctx.metrics.handshakes_failed,
            Role::Nat => &self.ctx.metrics.nat_traversals_failed,
        }
    }

    fn completed(&self) -> &AtomicU64 {
        match self.handshake.role() {
            Role::Gateway => &self.ctx.metrics.handshakes_completed,
            Role::Nat => &self.ctx.metrics.nat_traversals_completed,
        }
    }

    /// Runs until node shutdown: starts attempts on command, hands datagrams
    /// and timer expiries to the state machine, and carries out what it asks.
    async fn run(mut self) {
        let mut shutdown: watch::Receiver<bool> = self.ctx.shutdown.clone();
        let clock = Arc::clone(&self.ctx.clock);
        loop {
            let timer = sleep_or_never(self.handshake.poll_timeout().map(|t| clock.sleep_until(t)));
            // Biased: the same seed must give the same run (see `transport::peer`).
            tokio::select! {
                biased;
                changed = shutdown.changed() => {
                    if changed.is_err() || *shutdown.borrow() { break; }
                }
                () = timer => self.handshake.handle_timeout(clock.now()),
                Some(Inbound { from, packet }) = self.packets.recv() => {
                    let table = Arc::clone(&self.ctx.state);
                    self.handshake.handle_packet(clock.now(), from, &packet, &*table);
                }
                Some(command) = self.commands.recv() => self.on_connect(command),
            }
            self.flush().await;
        }
        self.handshake.stop();
        self.flush().await;
    }

    fn on_connect(&mut self, command: Connect) {
        if self.ctx.state.is_established(command.addr) {
            if let Some(reply) = command.reply {
                let _ = reply.send(Ok(()));
            }
            return;
        }
        let addr = command.addr;
        self.replies.entry(addr).or_default().extend(command.reply);
        if let Some(conn_id) = self.handshake.connect(self.ctx.clock.now(), addr) {
            let what = match self.handshake.role() {
                Role::Gateway => "joining through gateway",
                Role::Nat => "starting NAT traversal",
            };
            info!(peer = %addr, conn_id, "{what}");
        }
    }

    /// Sends what the state machine queued and carries out its events.
    async fn flush(&mut self) {
        while let Some(transmit) = self.handshake.poll_transmit() {
            self.ctx.send_transmit(&transmit).await;
        }
        while let Some(event) = self.handshake.poll_event() {
            match event {
                Event::Establish { addr, conn_id } => {
                    self.ctx.establish(addr, conn_id);
                    Metrics::inc(self.completed());
                }
                Event::Finished { addr, result } => {
                    if result == Err(HandshakeError::Timeout) {
                        warn!(peer = %addr, "connection attempt timed out");
                        Metrics::inc(self.failed());
                    }
                    for reply in self.replies.remove(&addr).unwrap_or_default() {
                        let _ = reply.send(result);
                    }
                }
                Event::Introduce(peer) => {
                    let Some(nat) = &self.introduce else { continue };
                    if nat
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
        }
    }
}

/// The gateway-handshake task. See the module docs.
pub struct GatewayHandshake<S: Socket> {
    task: Task<S>,
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
        GatewayHandshake {
            task: Task::new(ctx, Role::Gateway, config, packets, commands, Some(nat)),
        }
    }

    /// Runs until node shutdown.
    pub async fn run(self) {
        self.task.run().await;
    }
}

/// The NAT-traversal task. See the module docs.
pub struct NatTraversal<S: Socket> {
    task: Task<S>,
}

impl<S: Socket> NatTraversal<S> {
    /// A task punching holes on request and answering punches.
    pub fn new(
        ctx: PeerContext<S>,
        config: HandshakeConfig,
        packets: mpsc::Receiver<Inbound>,
        commands: mpsc::Receiver<Connect>,
    ) -> NatTraversal<S> {
        NatTraversal {
            task: Task::new(ctx, Role::Nat, config, packets, commands, None),
        }
    }

    /// Runs until node shutdown.
    pub async fn run(self) {
        self.task.run().await;
    }
}
