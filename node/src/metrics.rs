//! Counters for everything the node does, and their Prometheus text rendering.
//!
//! All counters are plain atomics, so recording one from the listener loop is a
//! single non-blocking instruction: metrics can never become the thing that
//! stalls the hot path. The most important ones are the per-path routing
//! outcomes: for each path the listener routes on (established peers, gateway
//! handshake, NAT traversal) it counts `sent`, `full` (the consumer was behind;
//! the datagram was dropped and the peer will retry) and `closed` (the consumer
//! task is gone; its state was cleaned up). A stuck peer shows up here as a
//! growing `full` count while everything else keeps moving.

use std::fmt::Write as _;
use std::sync::atomic::{AtomicU64, Ordering};

use crate::transport::connection_state::SendOutcome;
use crate::transport::packet::DecodeError;

/// The three places the listener routes datagrams to.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum RoutePath {
    /// A per-peer [`PeerConnection`](crate::transport::peer) inbox.
    Established,
    /// The gateway handshake task.
    GatewayHandshake,
    /// The NAT traversal task.
    NatTraversal,
}

impl RoutePath {
    /// Every path, in metrics order.
    pub const ALL: [RoutePath; 3] = [
        RoutePath::Established,
        RoutePath::GatewayHandshake,
        RoutePath::NatTraversal,
    ];

    /// The Prometheus label value.
    pub fn label(self) -> &'static str {
        match self {
            RoutePath::Established => "established",
            RoutePath::GatewayHandshake => "gateway_handshake",
            RoutePath::NatTraversal => "nat_traversal",
        }
    }

    fn index(self) -> usize {
        self as usize
    }
}

/// Sent/Full/Closed counts of one path.
#[derive(Debug, Default)]
pub struct PathCounters {
    /// Datagrams handed to the consumer.
    pub sent: AtomicU64,
    /// Datagrams dropped because the consumer's channel was full.
    pub full: AtomicU64,
    /// Datagrams dropped because the consumer had gone away.
    pub closed: AtomicU64,
}

/// A snapshot of one path's counters.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct PathSnapshot {
    /// See [`PathCounters::sent`].
    pub sent: u64,
    /// See [`PathCounters::full`].
    pub full: u64,
    /// See [`PathCounters::closed`].
    pub closed: u64,
}

impl PathSnapshot {
    /// Every datagram the listener routed on this path, whatever the outcome.
    pub fn total(&self) -> u64 {
        self.sent + self.full + self.closed
    }
}

/// Memory held by partially reassembled messages, node-wide (a gauge).
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReassemblyPending {
    /// Partial messages being reassembled, over all peers.
    pub buffers: u64,
    /// Payload bytes those partial messages hold.
    pub bytes: u64,
}

/// Simple counters, declared once so that rendering and snapshots cannot drift apart.
macro_rules! simple_counters {
    ($($(#[doc = $doc:literal])* $name:ident,)*) => {
        /// All node counters.
        #[derive(Debug, Default)]
        pub struct Metrics {
            paths: [PathCounters; 3],
            malformed: [AtomicU64; DecodeError::LABELS.len()],
            reassembly_buffers: AtomicU64,
            reassembly_bytes: AtomicU64,
            $($(#[doc = $doc])* pub $name: AtomicU64,)*
        }

        impl Metrics {
            fn render_simple(&self, out: &mut String) {
                $(
                    let help = concat!($($doc),*).trim();
                    let name = concat!("channel_node_", stringify!($name), "_total");
                    let _ = writeln!(out, "# HELP {name} {help}");
                    let _ = writeln!(out, "# TYPE {name} counter");
                    let _ = writeln!(out, "{name} {}", self.$name.load(Ordering::Relaxed));
                )*
            }
        }
    };
}

simple_counters! {
    /// Datagrams read from the socket.
    datagrams_received,
    /// Well-formed datagrams with no route (e.g. data from an unknown address).
    unroutable,
    /// Errors returned by the socket when receiving.
    recv_errors,
    /// Errors returned by the socket when sending.
    send_errors,
    /// Application messages queued to peers and sent.
    messages_sent,
    /// Complete application messages delivered to the local application.
    messages_delivered,
    /// Messages received again after delivery (retransmissions; acked, not redelivered).
    duplicate_messages,
    /// Message retransmissions after an acknowledgement timeout.
    retransmissions,
    /// Messages abandoned after too many retransmissions.
    messages_abandoned,
    /// Partial messages evicted by the reassembly timeout.
    reassembly_timeouts,
    /// Fragments refused by the reassembly bounds.
    reassembly_rejected,
    /// Partial messages dropped because they would exceed a reassembly byte budget.
    reassembly_over_budget,
    /// Gateway handshakes completed (either side).
    handshakes_completed,
    /// Gateway handshakes that hit their deadline.
    handshakes_failed,
    /// NAT traversals completed (either side).
    nat_traversals_completed,
    /// NAT traversals that hit their deadline.
    nat_traversals_failed,
    /// Peers dropped after the peer timeout.
    peers_timed_out,
}

impl Metrics {
    /// A fresh set of zeroed counters.
    pub fn new() -> Metrics {
        Metrics::default()
    }

    /// Records the outcome of one routing attempt of the listener.
    pub fn record_route(&self, path: RoutePath, outcome: SendOutcome) {
        let c = &self.paths[path.index()];
        let counter = match outcome {
            SendOutcome::Sent => &c.sent,
            SendOutcome::Full => &c.full,
            SendOutcome::Closed => &c.closed,
        };
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Records one datagram that failed to decode.
    pub fn record_malformed(&self, error: &DecodeError) {
        self.malformed[error.label_index()].fetch_add(1, Ordering::Relaxed);
    }

    /// Adds one to a simple counter (`metrics.inc(&metrics.unroutable)`).
    pub fn inc(counter: &AtomicU64) {
        counter.fetch_add(1, Ordering::Relaxed);
    }

    /// Current counts of one path.
    pub fn path(&self, path: RoutePath) -> PathSnapshot {
        let c = &self.paths[path.index()];
        PathSnapshot {
            sent: c.sent.load(Ordering::Relaxed),
            full: c.full.load(Ordering::Relaxed),
            closed: c.closed.load(Ordering::Relaxed),
        }
    }

    /// All datagrams the listener has routed, on every path and with any outcome.
    pub fn routed_total(&self) -> u64 {
        RoutePath::ALL.iter().map(|p| self.path(*p).total()).sum()
    }

    /// Malformed datagrams, all reasons together.
    pub fn malformed_total(&self) -> u64 {
        self.malformed
            .iter()
            .map(|c| c.load(Ordering::Relaxed))
            .sum()
    }

    /// Partial messages and their payload bytes currently held by reassembly,
    /// over all peers. Goes back to zero when messages complete, expire, are
    /// dropped for exceeding a budget, or when their peer's task ends.
    pub fn reassembly_pending(&self) -> ReassemblyPending {
        ReassemblyPending {
            buffers: self.reassembly_buffers.load(Ordering::Relaxed),
            bytes: self.reassembly_bytes.load(Ordering::Relaxed),
        }
    }

    /// Bookkeeping of the reassembly gauges: `buffers` and `bytes` are added
    /// (positive) or released (negative). Used only by the peer tasks, which
    /// release exactly what they added.
    pub(crate) fn adjust_reassembly(&self, buffers: i64, bytes: i64) {
        adjust(&self.reassembly_buffers, buffers);
        adjust(&self.reassembly_bytes, bytes);
    }

    /// Reads a simple counter.
    pub fn get(counter: &AtomicU64) -> u64 {
        counter.load(Ordering::Relaxed)
    }

    /// Renders every counter in the Prometheus text exposition format (version 0.0.4).
    pub fn render_prometheus(&self) -> String {
        let mut out = String::with_capacity(4096);
        out.push_str("# HELP channel_node_route_total Datagrams routed by the listener, by path and outcome.\n");
        out.push_str("# TYPE channel_node_route_total counter\n");
        for path in RoutePath::ALL {
            let s = self.path(path);
            for (outcome, value) in [("sent", s.sent), ("full", s.full), ("closed", s.closed)] {
                let _ = writeln!(
                    out,
                    "channel_node_route_total{{path=\"{}\",outcome=\"{outcome}\"}} {value}",
                    path.label()
                );
            }
        }
        out.push_str("# HELP channel_node_malformed_datagrams_total Datagrams that failed to decode, by reason.\n");
        out.push_str("# TYPE channel_node_malformed_datagrams_total counter\n");
        for (label, counter) in DecodeError::LABELS.iter().zip(&self.malformed) {
            let _ = writeln!(
                out,
                "channel_node_malformed_datagrams_total{{reason=\"{label}\"}} {}",
                counter.load(Ordering::Relaxed)
            );
        }
        let pending = self.reassembly_pending();
        for (name, help, value) in [
            (
                "channel_node_reassembly_pending_buffers",
                "Partial messages being reassembled, over all peers.",
                pending.buffers,
            ),
            (
                "channel_node_reassembly_pending_bytes",
                "Payload bytes held by partial messages, over all peers.",
                pending.bytes,
            ),
        ] {
            let _ = writeln!(out, "# HELP {name} {help}");
            let _ = writeln!(out, "# TYPE {name} gauge");
            let _ = writeln!(out, "{name} {value}");
        }
        self.render_simple(&mut out);
        out
    }
}

/// Adds a signed amount to a gauge, saturating at zero.
fn adjust(gauge: &AtomicU64, delta: i64) {
    let magnitude = delta.unsigned_abs();
    if delta >= 0 {
        gauge.fetch_add(magnitude, Ordering::Relaxed);
    } else {
        let _ = gauge.fetch_update(Ordering::Relaxed, Ordering::Relaxed, |v| {
            Some(v.saturating_sub(magnitude))
        });
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn renders_every_path_and_outcome() {
        let m = Metrics::new();
        m.record_route(RoutePath::Established, SendOutcome::Full);
        m.record_route(RoutePath::NatTraversal, SendOutcome::Closed);
        m.record_malformed(&DecodeError::TooShort { len: 1 });
        Metrics::inc(&m.unroutable);
        let text = m.render_prometheus();
        assert!(text.contains("channel_node_route_total{path=\"established\",outcome=\"full\"} 1"));
        assert!(
            text.contains("channel_node_route_total{path=\"nat_traversal\",outcome=\"closed\"} 1")
        );
        assert!(text
            .contains("channel_node_route_total{path=\"gateway_handshake\",outcome=\"sent\"} 0"));
        assert!(text.contains("channel_node_malformed_datagrams_total{reason=\"too_short\"} 1"));
        assert!(text.contains(
            "# TYPE channel_node_unroutable_total counter\nchannel_node_unroutable_total 1"
        ));
        assert_eq!(m.routed_total(), 2);
        assert_eq!(m.malformed_total(), 1);
        m.adjust_reassembly(2, 3000);
        m.adjust_reassembly(-1, -1000);
        assert_eq!(
            m.reassembly_pending(),
            ReassemblyPending {
                buffers: 1,
                bytes: 2000
            }
        );
        let text = m.render_prometheus();
        assert!(text.contains(
            "# TYPE channel_node_reassembly_pending_bytes gauge\nchannel_node_reassembly_pending_bytes 2000"
        ));
        assert!(text.contains("channel_node_reassembly_pending_buffers 1\n"));
    }
}
