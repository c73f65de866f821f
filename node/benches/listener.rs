//! Listener throughput, healthy vs one stuck peer (not a timed test: it prints figures).
//!
//! Run with `cargo bench -p channel-node --bench listener`.
//!
//! Setup per scenario: a `UdpPacketsListener` on the mock network, 64 peers
//! registered in its routing table, each with a bounded inbox (1024) drained
//! by a counting consumer task; a producer task sends pre-encoded `Data`
//! datagrams round-robin from the 64 peer sockets as fast as it can. In the
//! "stuck" scenario peer 0's consumer never reads, so every datagram for it is
//! answered `Full` by `try_send`. The figure is datagrams *routed* per second
//! (decoded and handed over or dropped as `Full`), measured over a fixed
//! window after a warm-up. Scenarios alternate over several rounds and the
//! median is reported, which evens out noise on a small machine. The claim to
//! check: a stuck peer does not slow the listener down (ratio ≥ 0.9).

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use channel_node::metrics::{Metrics, RoutePath};
use channel_node::transport::connection_state::{ConnectionStateManager, PeerHandle};
use channel_node::transport::listener::UdpPacketsListener;
use channel_node::transport::mock::{MockConfig, MockNetwork};
use channel_node::transport::packet::{Packet, PacketKind};
use channel_node::transport::socket::Socket;
use tokio::sync::{mpsc, watch};

const PEERS: u16 = 64;
const WARMUP: Duration = Duration::from_millis(300);
const WINDOW: Duration = Duration::from_millis(1500);
const ROUNDS: usize = 3;

struct Figures {
    routed_per_sec: f64,
    delivered_per_sec: f64,
    full: u64,
}

async fn scenario(stuck: bool) -> Figures {
    let net = MockNetwork::with_config(MockConfig {
        inbox_capacity: 16_384,
        ..MockConfig::default()
    });
    let socket = Arc::new(net.bind_port(7000).unwrap());
    let listener_addr = socket.local_addr().unwrap();
    let (gateway_tx, _gateway_rx) = mpsc::channel(1024);
    let (nat_tx, _nat_rx) = mpsc::channel(1024);
    let state = Arc::new(ConnectionStateManager::new(gateway_tx, nat_tx));
    let delivered = Arc::new(AtomicU64::new(0));
    let mut peers = Vec::new();
    // Receivers kept alive but never read: stuck peers' inboxes and every peer's outbox.
    let mut parked_inboxes = Vec::new();
    let mut parked_outboxes = Vec::new();
    for i in 0..PEERS {
        let peer = net.bind_port(8000 + i).unwrap();
        let addr: SocketAddr = peer.local_addr().unwrap();
        let (inbox_tx, mut inbox_rx) = mpsc::channel::<Packet>(1024);
        let (outbox_tx, outbox_rx) = mpsc::channel(1);
        state.insert_established(
            addr,
            PeerHandle::new(u64::from(i), inbox_tx, outbox_tx, std::time::Instant::now()),
        );
        parked_outboxes.push(outbox_rx);
        if stuck && i == 0 {
            parked_inboxes.push(inbox_rx);
        } else {
            let delivered = Arc::clone(&delivered);
            tokio::spawn(async move {
                let mut batch = Vec::with_capacity(64);
                while inbox_rx.recv_many(&mut batch, 64).await > 0 {
                    delivered.fetch_add(batch.len() as u64, Ordering::Relaxed);
                    batch.clear();
                }
            });
        }
        peers.push(peer);
    }

    let metrics = Arc::new(Metrics::new());
    let (stop, stop_rx) = watch::channel(false);
    let listener = UdpPacketsListener::new(
        Arc::clone(&socket),
        Arc::clone(&state),
        Arc::clone(&metrics),
        stop_rx,
    );
    let listener_task = tokio::spawn(listener.listen());

    let running = Arc::new(AtomicBool::new(true));
    let producer = {
        let running = Arc::clone(&running);
        tokio::spawn(async move {
            let datagram = Packet::control(PacketKind::Data, 1, 0, vec![0xab; 200])
                .encode()
                .unwrap();
            while running.load(Ordering::Relaxed) {
                for _ in 0..4 {
                    for peer in &peers {
                        let _ = peer.send_now(&datagram, listener_addr);
                    }
                }
                tokio::task::yield_now().await;
            }
        })
    };

    tokio::time::sleep(WARMUP).await;
    let (r0, d0, t0) = (
        metrics.routed_total(),
        delivered.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(WINDOW).await;
    let (r1, d1, elapsed) = (
        metrics.routed_total(),
        delivered.load(Ordering::Relaxed),
        t0.elapsed(),
    );
    running.store(false, Ordering::Relaxed);
    let _ = producer.await;
    let _ = stop.send(true);
    let _ = listener_task.await;
    drop((parked_inboxes, parked_outboxes));
    let secs = elapsed.as_secs_f64();
    Figures {
        routed_per_sec: (r1 - r0) as f64 / secs,
        delivered_per_sec: (d1 - d0) as f64 / secs,
        full: metrics.path(RoutePath::Established).full,
    }
}

fn median(mut values: Vec<f64>) -> f64 {
    values.sort_by(|a, b| a.total_cmp(b));
    values[values.len() / 2]
}

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("tokio runtime");
    let (mut healthy, mut stuck) = (Vec::new(), Vec::new());
    runtime.block_on(async {
        for round in 1..=ROUNDS {
            let h = scenario(false).await;
            let s = scenario(true).await;
            println!(
                "round {round}: healthy {:>10.0} routed/s ({:>10.0} delivered/s) | one stuck {:>10.0} routed/s ({:>10.0} delivered/s, {} Full)",
                h.routed_per_sec, h.delivered_per_sec, s.routed_per_sec, s.delivered_per_sec, s.full
            );
            healthy.push(h.routed_per_sec);
            stuck.push(s.routed_per_sec);
        }
    });
    let (h, s) = (median(healthy), median(stuck));
    println!("listener, {PEERS} peers, mock network, median of {ROUNDS} rounds:");
    println!("  healthy:        {h:>10.0} datagrams/s routed");
    println!("  one stuck peer: {s:>10.0} datagrams/s routed");
    println!("  ratio stuck/healthy: {:.3} (target >= 0.9)", s / h);
}
