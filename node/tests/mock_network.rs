//! Whole nodes on the in-memory mock network.
//!
//! The headline test: a hub node with 50 peers, one of which never drains its
//! inbox. Every message between the hub and the other 49 arrives intact, the
//! listener keeps routing, and the HTTP API answers, while the stuck peer's
//! datagrams pile up as `Full` drops. Further tests cover a lossy, reordering
//! network, gateway introduction plus NAT traversal, handshake deadlines, and
//! peer timeouts.
//!
//! Every test runs in virtual time (`start_paused`, one thread): the mock
//! network's delays, retransmit timers, handshake retries and timeouts advance
//! a paused tokio clock. The HTTP API is called in-process through its
//! `Router` (`common::call`), never over TCP, so nothing waits on a real socket.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use channel_node::api::{Health, MessageView, PeerView};
use channel_node::metrics::{Metrics, RoutePath};
use channel_node::transport::connection_state::PeerHandle;
use channel_node::transport::handshake::HandshakeError;
use channel_node::transport::mock::{MockConfig, MockNetwork, MockSocket};
use channel_node::transport::packet::{Packet, PacketKind, MAX_FRAGMENT_PAYLOAD};
use channel_node::transport::socket::Socket;
use channel_node::{Node, NodeConfig, SendMessageError};
use tokio::sync::mpsc;

const PEERS: usize = 50;
const MESSAGES_EACH_WAY: usize = 10;

fn body_len(i: usize) -> usize {
    if i % 4 == 0 {
        MAX_FRAGMENT_PAYLOAD * 2 + 5
    } else {
        64
    }
}

fn no_intro_config() -> NodeConfig {
    let mut config = common::test_config();
    config.handshake.punch_introduced_peers = false;
    config
}

#[tokio::test(start_paused = true)]
async fn one_stuck_peer_among_fifty_stalls_nobody() {
    let net = MockNetwork::new();
    let hub = Node::start(net.bind_port(7000).unwrap(), no_intro_config()).unwrap();
    let hub_addr = hub.local_addr();
    let api = channel_node::api::router(hub.view());

    // Peer 0 is stuck: the hub has a connection to it whose task never drains its inbox.
    let stuck = net.bind_port(8000).unwrap();
    let stuck_addr = stuck.local_addr().unwrap();
    let (stuck_inbox, _never_drained) = mpsc::channel(32);
    let (stuck_outbox, _never_read) = mpsc::channel(8);
    hub.state().insert_established(
        stuck_addr,
        PeerHandle::new(99, stuck_inbox, stuck_outbox, hub.clock().now()),
    );

    // Peers 1..50 are whole nodes joining through the hub.
    let mut peers = Vec::new();
    for i in 1..PEERS {
        let node = Node::start(net.bind_port(8000 + i as u16).unwrap(), no_intro_config()).unwrap();
        peers.push(node);
    }
    let joins = peers.iter().map(|p| p.connect_gateway(hub_addr));
    let results = tokio::time::timeout(common::HANG, common::join_all(joins))
        .await
        .expect("joins hung");
    assert!(results.iter().all(Result::is_ok), "{results:?}");
    assert_eq!(hub.state().len(), PEERS);

    // The stuck peer floods the hub for the whole test.
    let flood = tokio::spawn(async move {
        let data = Packet::control(PacketKind::KeepAlive, 99, 0, Vec::new())
            .encode()
            .unwrap();
        for i in 0..3_000 {
            stuck.send_to(&data, hub_addr).await.unwrap();
            if i % 100 == 0 {
                tokio::time::sleep(Duration::from_millis(1)).await;
            }
        }
        stuck
    });

    // Hub → every healthy peer, and every healthy peer → hub, concurrently.
    let exchange = async {
        let hub_sends = async {
            for i in 0..MESSAGES_EACH_WAY {
                for peer in &peers {
                    let tag = format!("hub-{}", peer.local_addr().port());
                    hub.send_message(
                        peer.local_addr(),
                        common::message_body(&tag, i, body_len(i)),
                    )
                    .await
                    .unwrap();
                }
            }
        };
        let peer_sends = common::join_all(peers.iter().map(|peer| async move {
            let tag = format!("peer-{}", peer.local_addr().port());
            for i in 0..MESSAGES_EACH_WAY {
                peer.send_message(hub_addr, common::message_body(&tag, i, body_len(i)))
                    .await
                    .unwrap();
            }
        }));
        // The API answers while the stuck peer is stuck and traffic flows.
        let api_checks = async {
            for _ in 0..5 {
                let health = common::call(&api, "GET", "/health", None).await;
                assert_eq!(health.status, 200);
                let health: Health = serde_json::from_str(&health.body).unwrap();
                assert_eq!(health.peers, PEERS);
                tokio::time::sleep(Duration::from_millis(20)).await;
            }
        };
        tokio::join!(hub_sends, peer_sends, api_checks);
    };
    tokio::time::timeout(common::HANG, exchange)
        .await
        .expect("exchange hung");

    let expected = ((PEERS - 1) * MESSAGES_EACH_WAY) as u64;
    assert!(
        hub.messages().wait_for_total(expected, common::HANG).await,
        "hub got {}",
        hub.messages().total()
    );
    for peer in &peers {
        assert!(
            peer.messages()
                .wait_for_total(MESSAGES_EACH_WAY as u64, common::HANG)
                .await
        );
        let tag = format!("hub-{}", peer.local_addr().port());
        let mut seen = HashSet::new();
        for m in peer.messages().drain() {
            assert_eq!(m.from, hub_addr);
            let i = common::parse_index(&m.data, &tag).expect("from the hub, for this peer");
            assert_eq!(m.data, common::message_body(&tag, i, body_len(i)));
            assert!(seen.insert(i), "duplicate");
        }
        assert_eq!(seen.len(), MESSAGES_EACH_WAY);
    }
    let mut per_sender: std::collections::HashMap<SocketAddr, HashSet<usize>> = Default::default();
    for m in hub.messages().drain() {
        let tag = format!("peer-{}", m.from.port());
        let i = common::parse_index(&m.data, &tag).expect("well-formed");
        assert_eq!(m.data, common::message_body(&tag, i, body_len(i)));
        assert!(per_sender.entry(m.from).or_default().insert(i), "duplicate");
    }
    assert_eq!(per_sender.len(), PEERS - 1);
    assert!(per_sender.values().all(|s| s.len() == MESSAGES_EACH_WAY));
    assert!(!per_sender.contains_key(&stuck_addr));

    // The stuck peer really was stuck, and it showed as `Full`, not as a stall.
    let _stuck = tokio::time::timeout(common::HANG, flood)
        .await
        .unwrap()
        .unwrap();
    let handle = hub
        .state()
        .get(stuck_addr)
        .expect("stuck peer still registered");
    assert_eq!(handle.inbox_free(), 0);
    let established = hub.metrics().path(RoutePath::Established);
    assert!(established.full > 0, "{established:?}");
    // Its outbox is never read either: the application gets `Full` back, it does not wait.
    let outcomes: Vec<_> = (0..9)
        .map(|_| hub.try_send_message(stuck_addr, vec![1]))
        .collect();
    assert_eq!(outcomes.last(), Some(&Err(SendMessageError::Full)));

    // And the API still answers, reporting it.
    let peers_view: Vec<PeerView> =
        serde_json::from_str(&common::call(&api, "GET", "/peers", None).await.body).unwrap();
    let stuck_view = peers_view
        .iter()
        .find(|p| p.addr == stuck_addr.to_string())
        .unwrap();
    assert_eq!(stuck_view.inbox_free, 0);
    let metrics = common::call(&api, "GET", "/metrics", None).await;
    assert_eq!(metrics.status, 200);
    let full_line = format!(
        "channel_node_route_total{{path=\"established\",outcome=\"full\"}} {}",
        established.full
    );
    assert!(metrics.body.contains(&full_line), "{}", metrics.body);

    for peer in peers {
        peer.shutdown().await.unwrap();
    }
    hub.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn messages_survive_loss_delay_and_reordering() {
    let net = MockNetwork::with_config(MockConfig {
        drop_probability: 0.1,
        delay: Some((Duration::from_millis(0), Duration::from_millis(3))),
        reorder_probability: 0.1,
        reorder_delay: Duration::from_millis(10),
        seed: 1234,
        ..MockConfig::default()
    });
    let a = Node::start(net.bind_port(1).unwrap(), common::test_config()).unwrap();
    let b = Node::start(net.bind_port(2).unwrap(), common::test_config()).unwrap();
    tokio::time::timeout(common::HANG, b.connect_gateway(a.local_addr()))
        .await
        .unwrap()
        .unwrap();
    assert!(a.wait_for_peer(b.local_addr(), common::HANG).await);
    const N: usize = 300;
    let send = async {
        for i in 0..N {
            let len = if i % 3 == 0 {
                MAX_FRAGMENT_PAYLOAD * 3
            } else {
                100
            };
            a.send_message(b.local_addr(), common::message_body("lossy", i, len))
                .await
                .unwrap();
        }
    };
    tokio::time::timeout(common::HANG, send).await.unwrap();
    assert!(
        b.messages().wait_for_total(N as u64, common::HANG).await,
        "got {}",
        b.messages().total()
    );
    let mut seen = HashSet::new();
    for m in b.messages().drain() {
        let i = common::parse_index(&m.data, "lossy").unwrap();
        let len = if i % 3 == 0 {
            MAX_FRAGMENT_PAYLOAD * 3
        } else {
            100
        };
        assert_eq!(m.data, common::message_body("lossy", i, len));
        assert!(seen.insert(i));
    }
    assert_eq!(seen.len(), N);
    let stats = net.stats();
    assert!(stats.dropped_random > 0 && stats.reordered > 0, "{stats:?}");
    assert!(Metrics::get(&a.metrics().retransmissions) > 0);
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn gateway_introduces_peers_and_nat_traversal_connects_them() {
    let net = MockNetwork::new();
    let gateway = Node::start(net.bind_port(100).unwrap(), common::test_config()).unwrap();
    let first = Node::start(net.bind_port(101).unwrap(), common::test_config()).unwrap();
    let second = Node::start(net.bind_port(102).unwrap(), common::test_config()).unwrap();
    first.connect_gateway(gateway.local_addr()).await.unwrap();
    second.connect_gateway(gateway.local_addr()).await.unwrap();
    // `second` learned about `first` from the Welcome and punched through to it.
    assert!(second.wait_for_peer(first.local_addr(), common::HANG).await);
    assert!(first.wait_for_peer(second.local_addr(), common::HANG).await);
    assert!(Metrics::get(&second.metrics().nat_traversals_completed) >= 1);
    second
        .send_message(first.local_addr(), b"direct".to_vec())
        .await
        .unwrap();
    assert!(first.messages().wait_for_total(1, common::HANG).await);
    assert_eq!(first.messages().snapshot()[0].data, b"direct");
    assert_eq!(first.messages().snapshot()[0].from, second.local_addr());

    // An explicit NAT traversal to an already-connected peer succeeds at once.
    assert_eq!(first.connect_peer(second.local_addr()).await, Ok(()));
    for node in [gateway, first, second] {
        node.shutdown().await.unwrap();
    }
}

#[tokio::test(start_paused = true)]
async fn handshake_and_nat_traversal_give_up_at_the_deadline() {
    let net = MockNetwork::new();
    let mut config = common::test_config();
    config.handshake.retry_interval = Duration::from_millis(20);
    config.handshake.deadline = Duration::from_millis(200);
    let node = Node::start(net.bind_port(1).unwrap(), config).unwrap();
    // Something is bound there, but it never answers.
    let silent: MockSocket = net.bind_port(2).unwrap();
    let started = tokio::time::Instant::now();
    let result = tokio::time::timeout(
        common::HANG,
        node.connect_gateway(silent.local_addr().unwrap()),
    )
    .await;
    assert_eq!(result.unwrap(), Err(HandshakeError::Timeout));
    assert!(started.elapsed() >= Duration::from_millis(200));
    let result = tokio::time::timeout(
        common::HANG,
        node.connect_peer(silent.local_addr().unwrap()),
    )
    .await;
    assert_eq!(result.unwrap(), Err(HandshakeError::Timeout));
    // Retries went out at the configured cadence (several Hellos and Punches, not one each).
    let mut buf = [0u8; 1500];
    let (mut hellos, mut punches) = (0, 0);
    while let Ok(Ok((n, _))) =
        tokio::time::timeout(Duration::from_millis(50), silent.recv_from(&mut buf)).await
    {
        match Packet::decode(&buf[..n]).unwrap().kind() {
            PacketKind::Hello => hellos += 1,
            PacketKind::Punch => punches += 1,
            _ => {}
        }
    }
    assert!(
        hellos >= 3 && punches >= 3,
        "hellos={hellos} punches={punches}"
    );
    assert_eq!(Metrics::get(&node.metrics().handshakes_failed), 1);
    assert_eq!(Metrics::get(&node.metrics().nat_traversals_failed), 1);
    node.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn silent_peer_times_out_and_keepalives_keep_live_ones() {
    let net = MockNetwork::new();
    let mut config = common::test_config();
    config.peer.keepalive_interval = Duration::from_millis(50);
    config.peer.peer_timeout = Duration::from_millis(800);
    let a = Node::start(net.bind_port(1).unwrap(), config.clone()).unwrap();
    let b = Node::start(net.bind_port(2).unwrap(), config).unwrap();
    b.connect_gateway(a.local_addr()).await.unwrap();
    assert!(a.wait_for_peer(b.local_addr(), common::HANG).await);
    // Idle for longer than the timeout: keep-alives keep the connection up.
    tokio::time::sleep(Duration::from_millis(1600)).await;
    assert!(a.state().is_established(b.local_addr()));
    assert!(b.state().is_established(a.local_addr()));
    // b goes away without a word: a drops it after the timeout.
    let b_addr = b.local_addr();
    b.shutdown().await.unwrap();
    tokio::time::timeout(common::HANG, async {
        while a.state().is_established(b_addr) {
            tokio::time::sleep(Duration::from_millis(10)).await;
        }
    })
    .await
    .unwrap();
    assert_eq!(
        a.send_message(b_addr, vec![1]).await,
        Err(SendMessageError::UnknownPeer)
    );
    a.shutdown().await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn api_sends_and_lists_messages() {
    let net = MockNetwork::new();
    let a = Node::start(net.bind_port(1).unwrap(), common::test_config()).unwrap();
    let b = Node::start(net.bind_port(2).unwrap(), common::test_config()).unwrap();
    b.connect_gateway(a.local_addr()).await.unwrap();
    assert!(a.wait_for_peer(b.local_addr(), common::HANG).await);
    let api_a = channel_node::api::router(a.view());
    let api_b = channel_node::api::router(b.view());

    let body = format!(
        r#"{{"peer":"{}","text":"hello over the API"}}"#,
        b.local_addr()
    );
    let sent = common::call(&api_a, "POST", "/messages", Some(&body)).await;
    assert_eq!(sent.status, 202, "{}", sent.body);
    assert!(b.messages().wait_for_total(1, common::HANG).await);
    let listed: Vec<MessageView> =
        serde_json::from_str(&common::call(&api_b, "GET", "/messages", None).await.body).unwrap();
    assert_eq!(listed.len(), 1);
    assert_eq!(listed[0].text, "hello over the API");
    assert_eq!(listed[0].from, a.local_addr().to_string());

    let unknown = common::call(
        &api_a,
        "POST",
        "/messages",
        Some(r#"{"peer":"127.0.0.1:9","text":"x"}"#),
    )
    .await;
    assert_eq!(unknown.status, 404);
    let bad = common::call(
        &api_a,
        "POST",
        "/messages",
        Some(r#"{"peer":"nope","text":"x"}"#),
    )
    .await;
    assert_eq!(bad.status, 400);
    assert_eq!(
        common::call(&api_a, "GET", "/nowhere", None).await.status,
        404
    );
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
