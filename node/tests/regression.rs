//! Regression tests for the original hang: a consumer channel that nobody
//! drains must never make the listener wait.
//!
//! Each test fills a channel, leaves its receiver alive but unread (exactly
//! what a wedged peer task looks like), and then routes 1000 more datagrams.
//! With `.send().await` the first of them would block forever; with `try_send`
//! all 1000 come back `Full` at once. The `tokio::time::timeout` around them
//! is a hang detector, not a performance assertion: it is generous on purpose.
//! The tests run in paused time: a listener stuck on an await leaves the
//! runtime idle, the clock jumps to the timeout at once, and the test fails
//! without waiting for it in real time.

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use channel_node::metrics::{Metrics, RoutePath};
use channel_node::transport::connection_state::{
    ConnectionStateManager, Inbound, PeerHandle, SendOutcome,
};
use channel_node::transport::listener::UdpPacketsListener;
use channel_node::transport::mock::MockNetwork;
use channel_node::transport::packet::{Packet, PacketKind};
use channel_node::transport::socket::Socket;
use tokio::sync::{mpsc, watch};

const CAPACITY: usize = 16;
const ATTEMPTS: usize = 1000;

fn packet(kind: PacketKind) -> Packet {
    Packet::control(kind, 7, 0, Vec::new())
}

fn addr(port: u16) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, 1], port))
}

/// A table whose three consumer channels are all alive and never drained.
struct Wedged {
    state: ConnectionStateManager,
    _gateway_rx: mpsc::Receiver<Inbound>,
    _nat_rx: mpsc::Receiver<Inbound>,
    _peer_rx: mpsc::Receiver<Packet>,
    _outbox_rx: mpsc::Receiver<Vec<u8>>,
}

fn wedged() -> Wedged {
    let (gateway_tx, gateway_rx) = mpsc::channel(CAPACITY);
    let (nat_tx, nat_rx) = mpsc::channel(CAPACITY);
    let state = ConnectionStateManager::new(gateway_tx, nat_tx);
    let (peer_tx, peer_rx) = mpsc::channel(CAPACITY);
    let (outbox_tx, outbox_rx) = mpsc::channel(CAPACITY);
    state.insert_established(
        addr(1),
        PeerHandle::new(7, peer_tx, outbox_tx, std::time::Instant::now()),
    );
    Wedged {
        state,
        _gateway_rx: gateway_rx,
        _nat_rx: nat_rx,
        _peer_rx: peer_rx,
        _outbox_rx: outbox_rx,
    }
}

/// Fills a channel through `try_send`, then checks that `ATTEMPTS` more calls all report `Full`.
async fn assert_never_waits(mut try_send: impl FnMut() -> SendOutcome) {
    for _ in 0..CAPACITY {
        assert_eq!(try_send(), SendOutcome::Sent);
    }
    tokio::time::timeout(common::HANG, async {
        let mut full = 0;
        for _ in 0..ATTEMPTS {
            match try_send() {
                SendOutcome::Full => full += 1,
                other => panic!("expected Full, got {other:?}"),
            }
        }
        full
    })
    .await
    .map(|full| assert_eq!(full, ATTEMPTS))
    .expect("try_send waited on a full channel: the listener would hang");
}

#[tokio::test(start_paused = true)]
async fn established_path_reports_full_instead_of_waiting() {
    let w = wedged();
    assert_never_waits(|| {
        w.state
            .try_send_established(addr(1), packet(PacketKind::Data))
            .expect("peer is established")
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn gateway_handshake_path_reports_full_instead_of_waiting() {
    let w = wedged();
    assert_never_waits(|| {
        w.state
            .try_send_gateway_handshake(addr(2), packet(PacketKind::Hello))
    })
    .await;
}

#[tokio::test(start_paused = true)]
async fn nat_traversal_path_reports_full_instead_of_waiting() {
    let w = wedged();
    assert_never_waits(|| {
        w.state
            .try_send_nat_traversal(addr(3), packet(PacketKind::Punch))
    })
    .await;
}

/// The same guarantee end to end: a running listener fed by the mock network
/// keeps routing to a healthy peer while another peer's inbox is wedged, and
/// counts every dropped datagram as `Full` on the right path.
#[tokio::test(start_paused = true)]
async fn running_listener_keeps_routing_past_a_wedged_peer() {
    let net = MockNetwork::new();
    let socket = Arc::new(net.bind_port(7000).unwrap());
    let stuck = net.bind_port(7001).unwrap();
    let healthy = net.bind_port(7002).unwrap();

    let w = wedged();
    let state = Arc::new(w.state);
    // Move the wedged peer to the stuck socket's address and add a healthy, drained one.
    let (stuck_tx, _stuck_rx) = mpsc::channel(CAPACITY);
    let (stuck_out, _stuck_out_rx) = mpsc::channel(1);
    state.insert_established(
        stuck.local_addr().unwrap(),
        PeerHandle::new(1, stuck_tx, stuck_out, std::time::Instant::now()),
    );
    let (healthy_tx, mut healthy_rx) = mpsc::channel(CAPACITY);
    let (healthy_out, _healthy_out_rx) = mpsc::channel(1);
    state.insert_established(
        healthy.local_addr().unwrap(),
        PeerHandle::new(2, healthy_tx, healthy_out, std::time::Instant::now()),
    );

    let metrics = Arc::new(Metrics::new());
    let (stop, stop_rx) = watch::channel(false);
    let listener = UdpPacketsListener::new(
        Arc::clone(&socket),
        Arc::clone(&state),
        Arc::clone(&metrics),
        stop_rx,
    );
    let task = tokio::spawn(listener.listen());

    let to = socket.local_addr().unwrap();
    let data = packet(PacketKind::Data).encode().unwrap();
    let rounds = (CAPACITY + ATTEMPTS) / 10;
    let mut healthy_received = 0;
    for round in 0..rounds {
        for _ in 0..10 {
            stuck.send_to(&data, to).await.unwrap();
        }
        healthy.send_to(&data, to).await.unwrap();
        let got = tokio::time::timeout(common::HANG, healthy_rx.recv()).await;
        assert!(
            matches!(got, Ok(Some(_))),
            "healthy peer starved at round {round}"
        );
        healthy_received += 1;
    }
    // Gateway and NAT paths are wedged too (their receivers live in `w`), and still nothing waits.
    for kind in [PacketKind::Hello, PacketKind::Punch] {
        for _ in 0..CAPACITY + 100 {
            stuck
                .send_to(&packet(kind).encode().unwrap(), to)
                .await
                .unwrap();
        }
    }
    healthy.send_to(&data, to).await.unwrap();
    assert!(tokio::time::timeout(common::HANG, healthy_rx.recv())
        .await
        .unwrap()
        .is_some());

    let established = metrics.path(RoutePath::Established);
    assert_eq!(established.sent, (healthy_received + 1 + CAPACITY) as u64);
    assert_eq!(established.full, (rounds * 10 - CAPACITY) as u64);
    assert_eq!(metrics.path(RoutePath::GatewayHandshake).full, 100);
    assert_eq!(metrics.path(RoutePath::NatTraversal).full, 100);

    stop.send(true).unwrap();
    tokio::time::timeout(common::HANG, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}

/// `Closed` is handled apart from `Full`: the datagram is counted as closed and
/// the dead peer's routing entry is removed, so later datagrams are unroutable.
#[tokio::test(start_paused = true)]
async fn closed_peer_is_counted_and_cleaned_up() {
    let net = MockNetwork::new();
    let socket = Arc::new(net.bind_port(7100).unwrap());
    let gone = net.bind_port(7101).unwrap();
    let (gateway_tx, _g) = mpsc::channel(1);
    let (nat_tx, _n) = mpsc::channel(1);
    let state = Arc::new(ConnectionStateManager::new(gateway_tx, nat_tx));
    let (peer_tx, peer_rx) = mpsc::channel(4);
    let (out_tx, _out_rx) = mpsc::channel(1);
    state.insert_established(
        gone.local_addr().unwrap(),
        PeerHandle::new(3, peer_tx, out_tx, std::time::Instant::now()),
    );
    drop(peer_rx); // the peer task has ended

    let metrics = Arc::new(Metrics::new());
    let (stop, stop_rx) = watch::channel(false);
    let task = tokio::spawn(
        UdpPacketsListener::new(
            Arc::clone(&socket),
            Arc::clone(&state),
            Arc::clone(&metrics),
            stop_rx,
        )
        .listen(),
    );
    let to = socket.local_addr().unwrap();
    let data = packet(PacketKind::Data).encode().unwrap();
    gone.send_to(&data, to).await.unwrap();
    gone.send_to(&data, to).await.unwrap();
    tokio::time::timeout(common::HANG, async {
        while Metrics::get(&metrics.unroutable) < 1 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(metrics.path(RoutePath::Established).closed, 1);
    assert_eq!(metrics.path(RoutePath::Established).full, 0);
    assert!(state.is_empty());
    stop.send(true).unwrap();
    tokio::time::timeout(common::HANG, task)
        .await
        .unwrap()
        .unwrap()
        .unwrap();
}
