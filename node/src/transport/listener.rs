//! The listener: the one task that reads the node's socket and routes every
//! datagram to whoever handles it.
//!
//! Everything else in the node depends on this loop making progress: peers'
//! data, their acknowledgements, handshakes and NAT-traversal probes all come
//! through it. So the loop obeys one rule above all others: **it never awaits
//! anything but the socket and the shutdown signal.** In particular it never
//! awaits a channel send. Routing happens in [`UdpPacketsListener::route_datagram`],
//! a plain synchronous function (so it *cannot* await), which hands the
//! decoded packet over with the `try_send_*` methods of
//! [`ConnectionStateManager`] and then deals with the answer:
//!
//! * `Sent`: done;
//! * `Full`: the consumer is behind. The datagram is dropped (this is UDP: the
//!   sender retransmits) and counted, and the loop reads the next datagram;
//! * `Closed`: the consumer task is gone. The datagram is dropped and counted,
//!   and for an established peer its stale routing entry is removed.
//!
//! A malformed datagram is a value ([`DecodeError`]), counted per reason,
//! never a panic. The loop ends when the shutdown `watch` channel says so (or
//! its sender is dropped), which is how tests and the binary stop it.

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::sync::watch;
use tracing::{debug, info, trace, warn};

use super::connection_state::{ConnectionStateManager, SendOutcome};
use super::packet::{DecodeError, Packet, PacketKind};
use super::socket::Socket;
use crate::metrics::{Metrics, RoutePath};

/// Receive buffer size: the largest UDP payload, so oversized datagrams are
/// seen whole and rejected as `TooLong` rather than silently truncated.
const RECV_BUFFER_SIZE: usize = 65_536;

/// The node's socket-reading event loop. See the module docs.
pub struct UdpPacketsListener<S: Socket> {
    socket: Arc<S>,
    state: Arc<ConnectionStateManager>,
    metrics: Arc<Metrics>,
    shutdown: watch::Receiver<bool>,
}

impl<S: Socket> UdpPacketsListener<S> {
    /// A listener reading `socket` and routing through `state`. It stops when
    /// `shutdown` turns `true` or its sender is dropped.
    pub fn new(
        socket: Arc<S>,
        state: Arc<ConnectionStateManager>,
        metrics: Arc<Metrics>,
        shutdown: watch::Receiver<bool>,
    ) -> UdpPacketsListener<S> {
        UdpPacketsListener {
            socket,
            state,
            metrics,
            shutdown,
        }
    }

    /// Runs the event loop until shutdown. Returns an error only if the socket
    /// fails in a way that retrying cannot fix.
    pub async fn listen(mut self) -> io::Result<()> {
        let mut buf = vec![0u8; RECV_BUFFER_SIZE];
        if *self.shutdown.borrow() {
            return Ok(());
        }
        loop {
            tokio::select! {
                // Shutdown first, so a busy socket cannot delay stopping.
                biased;
                changed = self.shutdown.changed() => {
                    if changed.is_err() || *self.shutdown.borrow() {
                        debug!("listener shutting down");
                        return Ok(());
                    }
                }
                received = self.socket.recv_from(&mut buf) => match received {
                    Ok((len, from)) => {
                        let datagram = buf.get(..len).unwrap_or_default();
                        self.route_datagram(datagram, from);
                    }
                    Err(error) => {
                        Metrics::inc(&self.metrics.recv_errors);
                        if is_fatal(&error) {
                            warn!(%error, "listener socket failed; stopping");
                            return Err(error);
                        }
                        // E.g. ICMP port-unreachable reported as ConnectionReset: harmless for UDP.
                        debug!(%error, "transient receive error");
                    }
                },
            }
        }
    }

    /// Decodes one datagram and hands it to its consumer. Synchronous on
    /// purpose: nothing in here can wait.
    pub fn route_datagram(&self, datagram: &[u8], from: SocketAddr) {
        Metrics::inc(&self.metrics.datagrams_received);
        let packet = match Packet::decode(datagram) {
            Ok(packet) => packet,
            Err(error) => {
                self.record_malformed(from, &error);
                return;
            }
        };
        match packet.kind() {
            PacketKind::Hello | PacketKind::Welcome => {
                let outcome = self.state.try_send_gateway_handshake(from, packet);
                self.record(RoutePath::GatewayHandshake, from, outcome);
            }
            PacketKind::Punch | PacketKind::PunchAck => {
                let outcome = self.state.try_send_nat_traversal(from, packet);
                self.record(RoutePath::NatTraversal, from, outcome);
            }
            PacketKind::Data | PacketKind::Ack | PacketKind::KeepAlive | PacketKind::Close => {
                match self.state.try_send_established(from, packet) {
                    Some(outcome) => {
                        self.record(RoutePath::Established, from, outcome);
                        if outcome == SendOutcome::Closed && self.state.remove_if_closed(from) {
                            info!(peer = %from, "removed state of a peer whose task has ended");
                        }
                    }
                    None => {
                        Metrics::inc(&self.metrics.unroutable);
                        trace!(peer = %from, "datagram from a peer with no connection; dropped");
                    }
                }
            }
        }
    }

    fn record(&self, path: RoutePath, from: SocketAddr, outcome: SendOutcome) {
        self.metrics.record_route(path, outcome);
        match outcome {
            SendOutcome::Sent => {}
            SendOutcome::Full => {
                debug!(peer = %from, path = path.label(), "consumer channel full; datagram dropped, sender will retry");
            }
            SendOutcome::Closed => {
                info!(peer = %from, path = path.label(), "consumer task gone; datagram dropped");
            }
        }
    }

    fn record_malformed(&self, from: SocketAddr, error: &DecodeError) {
        self.metrics.record_malformed(error);
        debug!(peer = %from, %error, "malformed datagram dropped");
    }
}

/// Errors after which the socket is unusable.
fn is_fatal(error: &io::Error) -> bool {
    matches!(
        error.kind(),
        io::ErrorKind::NotConnected | io::ErrorKind::BrokenPipe | io::ErrorKind::InvalidInput
    )
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::connection_state::PeerHandle;
    use crate::transport::mock::MockNetwork;
    use std::time::Duration;
    use tokio::sync::mpsc;

    #[tokio::test]
    async fn routes_by_kind_counts_malformed_and_stops_on_shutdown() {
        let net = MockNetwork::new();
        let socket = Arc::new(net.bind_port(1).unwrap());
        let client = net.bind_port(2).unwrap();
        let (gw_tx, mut gw_rx) = mpsc::channel(8);
        let (nat_tx, mut nat_rx) = mpsc::channel(8);
        let state = Arc::new(ConnectionStateManager::new(gw_tx, nat_tx));
        let (in_tx, mut in_rx) = mpsc::channel(8);
        let (out_tx, _out_rx) = mpsc::channel(8);
        let peer = client.local_addr().unwrap();
        state.insert_established(
            peer,
            PeerHandle::new(1, in_tx, out_tx, std::time::Instant::now()),
        );
        let metrics = Arc::new(Metrics::new());
        let (stop_tx, stop_rx) = watch::channel(false);
        let listener = UdpPacketsListener::new(socket.clone(), state, metrics.clone(), stop_rx);
        let task = tokio::spawn(listener.listen());

        let to = socket.local_addr().unwrap();
        for kind in [PacketKind::Hello, PacketKind::Punch, PacketKind::KeepAlive] {
            let bytes = Packet::control(kind, 1, 0, vec![]).encode().unwrap();
            client.send_to(&bytes, to).await.unwrap();
        }
        client.send_to(b"garbage", to).await.unwrap();
        let wait = Duration::from_secs(5);
        assert_eq!(
            tokio::time::timeout(wait, gw_rx.recv())
                .await
                .unwrap()
                .unwrap()
                .from,
            peer
        );
        assert_eq!(
            tokio::time::timeout(wait, nat_rx.recv())
                .await
                .unwrap()
                .unwrap()
                .from,
            peer
        );
        assert_eq!(
            tokio::time::timeout(wait, in_rx.recv())
                .await
                .unwrap()
                .unwrap()
                .kind(),
            PacketKind::KeepAlive
        );
        while metrics.malformed_total() == 0 {
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        stop_tx.send(true).unwrap();
        tokio::time::timeout(wait, task)
            .await
            .unwrap()
            .unwrap()
            .unwrap();
        assert_eq!(metrics.routed_total(), 3);
    }
}
