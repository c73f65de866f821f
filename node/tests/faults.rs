//! Fault injection against a whole node on the mock network: peers that
//! vanish mid-stream, duplicated and reordered fragments, fragment counts that
//! lie, and streams larger than the reassembly budget.
//!
//! The faulty peers are raw sockets speaking the wire format by hand (a
//! `Hello` handshake, then hand-made `Data` fragments), so every fault is
//! exactly the one intended. Each test checks two things: the node reclaims
//! what the fault made it hold (the node-wide reassembly gauges,
//! [`Metrics::reassembly_pending`], go back to zero through completion,
//! timeout, budget or peer timeout), and a healthy peer (a whole node) keeps
//! exchanging messages with it in both directions throughout.
//!
//! Every test runs in virtual time (`start_paused`): the reassembly and peer
//! timeouts, retransmissions and polling waits advance a paused tokio clock,
//! so the whole file takes milliseconds and no timer races a loaded machine.

mod common;

use std::collections::{HashMap, HashSet};
use std::net::SocketAddr;
use std::time::Duration;

use channel_node::metrics::{Metrics, ReassemblyPending};
use channel_node::transport::mock::{MockNetwork, MockSocket, SplitMix64};
use channel_node::transport::packet::{
    fragment_message, Header, Packet, PacketKind, HEADER_LEN, MAX_FRAGMENT_PAYLOAD, VERSION,
};
use channel_node::transport::socket::Socket;
use channel_node::{Node, NodeConfig};

/// A hub, one healthy peer node joined to it, and the network they share.
struct Setup {
    net: MockNetwork,
    hub: Node<MockSocket>,
    healthy: Node<MockSocket>,
    rounds: usize,
}

fn base_config() -> NodeConfig {
    let mut config = common::test_config();
    config.handshake.punch_introduced_peers = false;
    config
}

impl Setup {
    async fn new(hub_config: NodeConfig) -> Setup {
        let net = MockNetwork::new();
        let hub = Node::start(net.bind_port(7000).unwrap(), hub_config.clone()).unwrap();
        let healthy = Node::start(net.bind_port(7001).unwrap(), hub_config).unwrap();
        tokio::time::timeout(common::HANG, healthy.connect_gateway(hub.local_addr()))
            .await
            .expect("join hung")
            .expect("join failed");
        assert!(hub.wait_for_peer(healthy.local_addr(), common::HANG).await);
        Setup {
            net,
            hub,
            healthy,
            rounds: 0,
        }
    }

    /// A raw peer on `port` that has completed the handshake with the hub.
    async fn raw_peer(&self, port: u16, conn_id: u64) -> RawPeer {
        let socket = self.net.bind_port(port).unwrap();
        let peer = RawPeer {
            socket,
            hub: self.hub.local_addr(),
            conn_id,
        };
        peer.join().await;
        assert!(self.hub.wait_for_peer(peer.addr(), common::HANG).await);
        peer
    }

    /// Both directions between the hub and the healthy peer still work: three
    /// messages each way (one of them fragmented) arrive, intact.
    async fn assert_serving(&mut self) {
        self.rounds += 1;
        let (hub, healthy) = (&self.hub, &self.healthy);
        let (hub_addr, healthy_addr) = (hub.local_addr(), healthy.local_addr());
        let tag = format!("round{}", self.rounds);
        let lens = [10, MAX_FRAGMENT_PAYLOAD * 2 + 3, 300];
        let hub_before = from_count(hub, healthy_addr);
        let healthy_before = healthy.messages().total();
        for (i, len) in lens.iter().enumerate() {
            let body = common::message_body(&tag, i, *len);
            tokio::time::timeout(common::HANG, hub.send_message(healthy_addr, body.clone()))
                .await
                .unwrap()
                .unwrap();
            tokio::time::timeout(common::HANG, healthy.send_message(hub_addr, body))
                .await
                .unwrap()
                .unwrap();
        }
        wait_until("hub hears the healthy peer", || {
            from_count(hub, healthy_addr) >= hub_before + lens.len()
        })
        .await;
        assert!(
            healthy
                .messages()
                .wait_for_total(healthy_before + lens.len() as u64, common::HANG)
                .await
        );
        for node in [hub, healthy] {
            let got: Vec<_> = node
                .messages()
                .snapshot()
                .into_iter()
                .filter(|m| common::parse_index(&m.data, &tag).is_some())
                .collect();
            assert_eq!(got.len(), lens.len(), "{tag}: exactly once");
            for m in got {
                let i = common::parse_index(&m.data, &tag).unwrap();
                assert_eq!(
                    m.data,
                    common::message_body(&tag, i, lens[i]),
                    "{tag}: intact"
                );
            }
        }
    }

    async fn shutdown(self) {
        self.healthy.shutdown().await.unwrap();
        self.hub.shutdown().await.unwrap();
    }
}

fn from_count(node: &Node<MockSocket>, from: SocketAddr) -> usize {
    node.messages()
        .snapshot()
        .iter()
        .filter(|m| m.from == from)
        .count()
}

/// Polls `condition` every few milliseconds; fails after [`common::HANG`] (a hang detector).
async fn wait_until(what: &str, mut condition: impl FnMut() -> bool) {
    let deadline = tokio::time::Instant::now() + common::HANG;
    while !condition() {
        assert!(tokio::time::Instant::now() < deadline, "timed out: {what}");
        tokio::time::sleep(Duration::from_millis(5)).await;
    }
}

/// A peer that speaks the wire format by hand.
struct RawPeer {
    socket: MockSocket,
    hub: SocketAddr,
    conn_id: u64,
}

impl RawPeer {
    fn addr(&self) -> SocketAddr {
        self.socket.local_addr().unwrap()
    }

    async fn join(&self) {
        let hello = Packet::control(PacketKind::Hello, self.conn_id, 0, Vec::new());
        let welcomed = async {
            loop {
                self.send(&hello);
                let answer = tokio::time::timeout(Duration::from_millis(100), self.recv()).await;
                if let Ok(p) = answer {
                    if p.kind() == PacketKind::Welcome && p.header.conn_id == self.conn_id {
                        return;
                    }
                }
            }
        };
        tokio::time::timeout(common::HANG, welcomed)
            .await
            .expect("no Welcome");
    }

    fn send(&self, packet: &Packet) {
        self.send_bytes(&packet.encode().unwrap());
    }

    fn send_bytes(&self, bytes: &[u8]) {
        self.socket.send_now(bytes, self.hub).unwrap();
    }

    async fn recv(&self) -> Packet {
        let mut buf = vec![0u8; 2048];
        loop {
            let (n, from) = self.socket.recv_from(&mut buf).await.unwrap();
            if from == self.hub {
                if let Ok(p) = Packet::decode(&buf[..n]) {
                    return p;
                }
            }
        }
    }

    /// Reads until every sequence number in `seqs` has been acknowledged.
    async fn expect_acks(&self, seqs: impl IntoIterator<Item = u32>) {
        let mut missing: HashSet<u32> = seqs.into_iter().collect();
        let acked = async {
            while !missing.is_empty() {
                let p = self.recv().await;
                if p.kind() == PacketKind::Ack {
                    missing.remove(&p.header.seq);
                }
            }
        };
        tokio::time::timeout(common::HANG, acked)
            .await
            .expect("acknowledgements missing");
    }

    fn fragments(&self, seq: u32, message: &[u8]) -> Vec<Packet> {
        fragment_message(self.conn_id, seq, message).unwrap()
    }
}

/// A `Data` datagram with arbitrary (possibly invalid) fragment fields.
fn raw_data(conn_id: u64, seq: u32, index: u16, count: u16, payload: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(HEADER_LEN + payload.len());
    out.push(VERSION);
    out.push(PacketKind::Data as u8);
    out.extend_from_slice(&conn_id.to_be_bytes());
    out.extend_from_slice(&seq.to_be_bytes());
    out.extend_from_slice(&index.to_be_bytes());
    out.extend_from_slice(&count.to_be_bytes());
    out.extend_from_slice(&(payload.len() as u16).to_be_bytes());
    out.extend_from_slice(payload);
    out
}

fn pattern(seq: u32, len: usize) -> Vec<u8> {
    common::message_body(&format!("raw{seq}"), seq as usize, len)
}

fn pending(node: &Node<MockSocket>) -> ReassemblyPending {
    node.metrics().reassembly_pending()
}

fn messages_from(node: &Node<MockSocket>, from: SocketAddr) -> HashMap<u32, Vec<Vec<u8>>> {
    let mut out: HashMap<u32, Vec<Vec<u8>>> = HashMap::new();
    for m in node.messages().snapshot() {
        if m.from == from {
            out.entry(m.seq).or_default().push(m.data);
        }
    }
    out
}

#[tokio::test(start_paused = true)]
async fn partial_messages_of_a_vanished_peer_expire() {
    let mut config = base_config();
    config.peer.reassembly_timeout = Duration::from_millis(1500);
    let mut s = Setup::new(config).await;
    let ghost = s.raw_peer(9000, 0x6057).await;

    // Two messages, each cut off mid-stream; then the peer is never heard from again.
    let first = ghost.fragments(0, &pattern(0, MAX_FRAGMENT_PAYLOAD * 4));
    let second = ghost.fragments(1, &pattern(1, MAX_FRAGMENT_PAYLOAD * 2 + 100));
    ghost.send(&first[0]);
    ghost.send(&first[2]);
    ghost.send(&second[1]);
    wait_until("both partial messages held", || {
        pending(&s.hub)
            == ReassemblyPending {
                buffers: 2,
                bytes: 3 * MAX_FRAGMENT_PAYLOAD as u64,
            }
    })
    .await;
    assert_eq!(
        s.hub
            .metrics()
            .render_prometheus()
            .lines()
            .find(|l| l.starts_with("channel_node_reassembly_pending_buffers "))
            .unwrap(),
        "channel_node_reassembly_pending_buffers 2"
    );
    drop(ghost);
    s.assert_serving().await;

    // The reassembly timeout reclaims both buffers.
    wait_until("partial messages expired", || {
        pending(&s.hub) == ReassemblyPending::default()
    })
    .await;
    assert_eq!(Metrics::get(&s.hub.metrics().reassembly_timeouts), 2);
    assert_eq!(from_count(&s.hub, "127.0.0.1:9000".parse().unwrap()), 0);
    s.assert_serving().await;
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn a_timed_out_peer_releases_its_reassembly_buffers() {
    let mut config = base_config();
    // Reassembly would hold the partial messages for a minute; the peer timeout
    // ends the vanished peer's task much sooner, and that must release them.
    config.peer.reassembly_timeout = Duration::from_secs(60);
    config.peer.peer_timeout = Duration::from_millis(1500);
    config.peer.keepalive_interval = Duration::from_millis(100);
    let mut s = Setup::new(config).await;
    let ghost = s.raw_peer(9000, 0x6057).await;
    let ghost_addr = ghost.addr();
    for seq in 0..5 {
        let frags = ghost.fragments(seq, &pattern(seq, MAX_FRAGMENT_PAYLOAD * 3));
        ghost.send(&frags[1]);
    }
    wait_until("five partial messages held", || {
        pending(&s.hub).buffers == 5
    })
    .await;
    assert_eq!(pending(&s.hub).bytes, 5 * MAX_FRAGMENT_PAYLOAD as u64);
    drop(ghost);

    wait_until("ghost timed out", || {
        !s.hub.state().is_established(ghost_addr)
    })
    .await;
    wait_until("buffers released", || {
        pending(&s.hub) == ReassemblyPending::default()
    })
    .await;
    let m = s.hub.metrics();
    assert_eq!(Metrics::get(&m.peers_timed_out), 1);
    assert_eq!(Metrics::get(&m.reassembly_timeouts), 0);
    // The healthy peer kept its connection (keep-alives) and is still served.
    assert!(s.hub.state().is_established(s.healthy.local_addr()));
    s.assert_serving().await;
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn duplicated_and_reordered_fragments_deliver_each_message_once() {
    let mut s = Setup::new(base_config()).await;
    let peer = s.raw_peer(9000, 0xd0d0).await;
    const MESSAGES: u32 = 12;
    let lens: Vec<usize> = (0..MESSAGES)
        .map(|seq| match seq % 3 {
            0 => 50,
            1 => MAX_FRAGMENT_PAYLOAD * 2 + 7,
            _ => MAX_FRAGMENT_PAYLOAD * 5,
        })
        .collect();
    // Every fragment of every message, each one to three times, in a seeded shuffle.
    let mut rng = SplitMix64(42);
    let mut datagrams = Vec::new();
    for seq in 0..MESSAGES {
        for fragment in peer.fragments(seq, &pattern(seq, lens[seq as usize])) {
            for _ in 0..=(rng.next_u64() % 3) {
                datagrams.push(fragment.clone());
            }
        }
    }
    for i in (1..datagrams.len()).rev() {
        let j = (rng.next_u64() % (i as u64 + 1)) as usize;
        datagrams.swap(i, j);
    }
    for datagram in &datagrams {
        peer.send(datagram);
    }
    peer.expect_acks(0..MESSAGES).await;
    let got = messages_from(&s.hub, peer.addr());
    assert_eq!(got.len(), MESSAGES as usize);
    for seq in 0..MESSAGES {
        assert_eq!(got[&seq].len(), 1, "message {seq} delivered once");
        assert_eq!(got[&seq][0], pattern(seq, lens[seq as usize]), "intact");
    }
    assert_eq!(pending(&s.hub), ReassemblyPending::default());

    // The whole set again (a retransmission storm): acknowledged, not redelivered.
    let duplicates_before = Metrics::get(&s.hub.metrics().duplicate_messages);
    for datagram in &datagrams {
        peer.send(datagram);
    }
    peer.expect_acks(0..MESSAGES).await;
    wait_until("duplicates counted", || {
        Metrics::get(&s.hub.metrics().duplicate_messages) > duplicates_before
    })
    .await;
    s.assert_serving().await;
    assert_eq!(messages_from(&s.hub, peer.addr()).len(), MESSAGES as usize);
    assert_eq!(
        s.hub.messages().total() as usize,
        MESSAGES as usize + 3 * s.rounds
    );
    assert_eq!(pending(&s.hub), ReassemblyPending::default());
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn lying_fragment_counts_are_refused_without_harm() {
    let mut s = Setup::new(base_config()).await;
    let peer = s.raw_peer(9000, 0x1e1e).await;
    let id = peer.conn_id;
    let m = std::sync::Arc::clone(s.hub.metrics());

    // Index >= count, count 0, count above the protocol maximum: malformed, counted.
    let piece = vec![7u8; 100];
    let lies = [
        raw_data(id, 0, 3, 3, &piece),
        raw_data(id, 0, 9, 2, &piece),
        raw_data(id, 0, 0, 0, &piece),
        raw_data(id, 0, 256, 256, &piece),
        raw_data(id, 0, 0, 257, &piece),
        raw_data(id, 0, u16::MAX, u16::MAX, &piece),
    ];
    for lie in &lies {
        peer.send_bytes(lie);
    }
    wait_until("lies counted as malformed", || {
        m.malformed_total() == lies.len() as u64
    })
    .await;
    let text = m.render_prometheus();
    assert!(text.contains(&format!(
        "channel_node_malformed_datagrams_total{{reason=\"invalid_fragment\"}} {}",
        lies.len()
    )));

    // The count changes between fragments of one message: the fragments that
    // disagree with the first one are refused, never mixed in.
    let message = pattern(0, MAX_FRAGMENT_PAYLOAD * 2 + 10);
    let truth = peer.fragments(0, &message);
    assert_eq!(truth.len(), 3);
    peer.send(&truth[0]);
    let rejected_before = Metrics::get(&m.reassembly_rejected);
    let liar = |seq: u32, index: u16, count: u16| Packet {
        header: Header {
            kind: PacketKind::Data,
            conn_id: id,
            seq,
            frag_index: index,
            frag_count: count,
        },
        payload: vec![0xee; 500],
    };
    for (index, count) in [(1, 5), (0, 2), (1, 2), (0, 1), (4, 200)] {
        peer.send(&liar(0, index, count));
    }
    wait_until("changed counts refused", || {
        Metrics::get(&m.reassembly_rejected) == rejected_before + 5
    })
    .await;
    assert_eq!(pending(&s.hub).buffers, 1);
    assert_eq!(pending(&s.hub).bytes, MAX_FRAGMENT_PAYLOAD as u64);
    peer.send(&truth[2]);
    peer.send(&truth[1]);
    peer.expect_acks([0]).await;
    let got = messages_from(&s.hub, peer.addr());
    assert_eq!(
        got[&0],
        vec![message],
        "delivered once, intact, no lie mixed in"
    );
    assert_eq!(pending(&s.hub), ReassemblyPending::default());

    // A partial message that starts with a lying count (256 fragments, only one
    // ever sent) and a correct message with the next sequence number: the
    // correct one is delivered; the lie waits for the reassembly timeout.
    peer.send(&liar(1, 0, 256));
    let next = pattern(1, 40);
    for f in peer.fragments(2, &next) {
        peer.send(&f);
    }
    peer.expect_acks([2]).await;
    assert_eq!(messages_from(&s.hub, peer.addr())[&2], vec![next]);
    assert_eq!(pending(&s.hub).buffers, 1);
    s.assert_serving().await;
    s.shutdown().await;
}

#[tokio::test(start_paused = true)]
async fn oversized_streams_are_bounded_and_memory_is_reclaimed() {
    const BUDGET_FRAGMENTS: usize = 8;
    const MAX_PARTIALS: usize = 4;
    let mut config = base_config();
    config.peer.max_reassembly_bytes = BUDGET_FRAGMENTS * MAX_FRAGMENT_PAYLOAD;
    config.peer.max_partial_messages = MAX_PARTIALS;
    config.peer.reassembly_timeout = Duration::from_millis(500);
    let mut s = Setup::new(config).await;
    let peer = s.raw_peer(9000, 0xb16).await;
    let m = std::sync::Arc::clone(s.hub.metrics());
    let budget = (BUDGET_FRAGMENTS * MAX_FRAGMENT_PAYLOAD) as u64;

    // A 20-fragment message against an 8-fragment budget, sent three times over
    // (as a retransmitting sender would): it never completes, and the node
    // never holds more than the budget for it.
    let huge = pattern(0, MAX_FRAGMENT_PAYLOAD * 20);
    let frags = peer.fragments(0, &huge);
    let mut peak = 0;
    for _ in 0..3 {
        for f in &frags {
            peer.send(f);
            peak = peak.max(pending(&s.hub).bytes);
        }
    }
    // A small message after it on the same connection is delivered in order of arrival.
    let small = pattern(1, 64);
    for f in peer.fragments(1, &small) {
        peer.send(&f);
    }
    peer.expect_acks([1]).await;
    assert!(peak <= budget, "peak {peak} > budget {budget}");
    assert!(
        Metrics::get(&m.reassembly_over_budget) >= 3,
        "each copy of the stream overflowed"
    );
    assert!(pending(&s.hub).bytes <= budget);
    let got = messages_from(&s.hub, peer.addr());
    assert!(
        !got.contains_key(&0),
        "the oversized message is never delivered"
    );
    assert_eq!(got[&1], vec![small]);

    // Many partial streams at once: at most `max_partial_messages` are held, and
    // never more bytes than the budget (what is left of the oversized stream still
    // counts against it, so some new streams are refused by the budget instead).
    let refused = || Metrics::get(&m.reassembly_rejected) + Metrics::get(&m.reassembly_over_budget);
    let refused_before = refused();
    for seq in 10..60 {
        peer.send(&peer.fragments(seq, &pattern(seq, MAX_FRAGMENT_PAYLOAD + 1))[0]);
    }
    // A one-datagram message needs no partial slot, so it still gets through; the
    // path is in order, so once it is acknowledged the 50 fragments before it were seen.
    peer.send(&peer.fragments(61, &pattern(61, 20))[0]);
    peer.expect_acks([61]).await;
    assert!(
        refused() >= refused_before + 50 - MAX_PARTIALS as u64,
        "surplus partial streams refused"
    );
    assert!(pending(&s.hub).buffers <= MAX_PARTIALS as u64);
    assert!(pending(&s.hub).bytes <= budget);
    s.assert_serving().await;

    // Everything left over expires, and the peer can use its connection again.
    wait_until("all reclaimed", || {
        pending(&s.hub) == ReassemblyPending::default()
    })
    .await;
    let later = pattern(60, MAX_FRAGMENT_PAYLOAD * 3);
    for f in peer.fragments(60, &later) {
        peer.send(&f);
    }
    peer.expect_acks([60]).await;
    assert_eq!(messages_from(&s.hub, peer.addr())[&60], vec![later]);
    s.assert_serving().await;
    s.shutdown().await;
}
