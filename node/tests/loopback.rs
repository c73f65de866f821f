//! Two nodes on real loopback UDP sockets exchange 12,000 messages (6,000
//! each way, every 10th one larger than a datagram), and every message arrives
//! exactly once and intact.
//!
//! Loopback UDP does lose datagrams under load (the receive buffer overflows
//! when a burst outruns the receiver), so the test relies on the node's own
//! reliability layer rather than hoping: each message is acknowledged, at most
//! `window` (64) messages are unacknowledged per peer and unacknowledged ones
//! are retransmitted, and the receiver deduplicates by sequence number. The
//! application side adds backpressure by awaiting `Node::send_message`, which
//! waits for room in the peer's bounded outbox. So loss costs time (a
//! retransmit timeout), never correctness, and the test stays deterministic on
//! a loaded machine.

mod common;

use std::collections::HashSet;
use std::net::SocketAddr;
use std::time::Duration;

use channel_node::metrics::Metrics;
use channel_node::transport::packet::MAX_FRAGMENT_PAYLOAD;
use channel_node::transport::udp::UdpTransport;
use channel_node::Node;

const PER_DIRECTION: usize = 6_000;

fn body_len(i: usize) -> usize {
    if i % 10 == 0 {
        // 2 to 4 datagrams' worth.
        MAX_FRAGMENT_PAYLOAD * (2 + i % 3) + 17
    } else {
        40 + i % 200
    }
}

async fn bind() -> UdpTransport {
    UdpTransport::bind(SocketAddr::from(([127, 0, 0, 1], 0)))
        .await
        .unwrap()
}

fn check_received(node: &Node<UdpTransport>, from: SocketAddr, tag: &str) {
    let received = node.messages().drain();
    assert_eq!(
        received.len(),
        PER_DIRECTION,
        "{tag}: wrong number of messages"
    );
    let mut seen = HashSet::new();
    for message in received {
        assert_eq!(message.from, from);
        let index = common::parse_index(&message.data, tag).expect("message header");
        assert!(seen.insert(index), "{tag}: message {index} delivered twice");
        assert_eq!(
            message.data,
            common::message_body(tag, index, body_len(index)),
            "{tag}: message {index} corrupted"
        );
    }
    assert_eq!(seen.len(), PER_DIRECTION);
}

async fn send_all(node: &Node<UdpTransport>, to: SocketAddr, tag: &'static str) {
    for i in 0..PER_DIRECTION {
        let message = common::message_body(tag, i, body_len(i));
        node.send_message(to, message)
            .await
            .expect("peer connected");
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn two_nodes_exchange_twelve_thousand_messages_over_udp() {
    let a = Node::start(bind().await, common::test_config()).unwrap();
    let b = Node::start(bind().await, common::test_config()).unwrap();
    let (a_addr, b_addr) = (a.local_addr(), b.local_addr());
    tokio::time::timeout(common::HANG, b.connect_gateway(a_addr))
        .await
        .expect("handshake hung")
        .expect("handshake failed");
    assert!(a.wait_for_peer(b_addr, common::HANG).await);

    let exchange = async {
        tokio::join!(send_all(&a, b_addr, "a2b"), send_all(&b, a_addr, "b2a"));
        let (got_a, got_b) = tokio::join!(
            a.messages()
                .wait_for_total(PER_DIRECTION as u64, common::HANG),
            b.messages()
                .wait_for_total(PER_DIRECTION as u64, common::HANG),
        );
        assert!(
            got_a && got_b,
            "a got {}, b got {}",
            a.messages().total(),
            b.messages().total()
        );
    };
    tokio::time::timeout(Duration::from_secs(120), exchange)
        .await
        .expect("exchange hung");
    // Let in-flight duplicates (retransmissions racing their acks) settle, then check exactly-once.
    tokio::time::sleep(Duration::from_millis(300)).await;
    check_received(&b, a_addr, "a2b");
    check_received(&a, b_addr, "b2a");
    assert_eq!(a.messages().total(), PER_DIRECTION as u64);
    assert_eq!(b.messages().total(), PER_DIRECTION as u64);
    for (name, node) in [("a", &a), ("b", &b)] {
        let m = node.metrics();
        eprintln!(
            "{name}: retransmissions={} duplicates={} full={} malformed={}",
            Metrics::get(&m.retransmissions),
            Metrics::get(&m.duplicate_messages),
            m.path(channel_node::metrics::RoutePath::Established).full,
            m.malformed_total()
        );
        assert_eq!(m.malformed_total(), 0);
        assert_eq!(Metrics::get(&m.messages_abandoned), 0);
    }
    a.shutdown().await.unwrap();
    b.shutdown().await.unwrap();
}
