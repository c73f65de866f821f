//! Reassembly of fragmented messages for one peer: bounded buffers,
//! exactly-once delivery, expiry. Plain state, driven by
//! [`Connection`](super::connection::Connection).
//!
//! Bounded three ways: at most `max_partial_messages` partial messages and
//! `max_reassembly_bytes` per peer, and `max_reassembly_bytes_total` per node
//! (checked against the node-wide gauge [`Metrics::reassembly_pending`]). A
//! fragment that would go over a byte budget drops its whole partial message
//! (the sender retransmits it later). Partial messages expire
//! `reassembly_timeout` after their first fragment ([`Reassembly::poll_timeout`]
//! / [`Reassembly::handle_timeout`]), and everything still held is released
//! from the gauges when the value is dropped (the peer's connection ended).
//! A message that fits in one datagram never touches the partial-message table.

use std::collections::{BTreeMap, BTreeSet};
use std::sync::Arc;
use std::time::Instant;

use super::connection::PeerConfig;
use crate::metrics::Metrics;
use crate::transport::packet::Packet;

/// What one fragment did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fragment {
    /// It completed a message: deliver it (once) and acknowledge it.
    Complete(Vec<u8>),
    /// The message was delivered before: acknowledge it again (the peer lost our ack).
    Duplicate,
    /// Held, refused or dropped: nothing to do now.
    Pending,
}

/// A message whose fragments are still arriving.
#[derive(Debug)]
struct Partial {
    fragments: Vec<Option<Vec<u8>>>,
    received: usize,
    /// Payload bytes held in `fragments`.
    bytes: usize,
    started: Instant,
}

/// One peer's reassembly state. See the module docs.
#[derive(Debug)]
pub struct Reassembly {
    config: PeerConfig,
    metrics: Arc<Metrics>,
    partial: BTreeMap<u32, Partial>,
    /// Payload bytes held by `partial`, all messages together.
    pending_bytes: usize,
    /// Every sequence number below this has been delivered.
    delivered_below: u32,
    /// Delivered sequence numbers at or above `delivered_below`.
    delivered_ahead: BTreeSet<u32>,
}

impl Reassembly {
    /// Empty state; `metrics` holds the node-wide gauges this peer's buffers count in.
    pub fn new(config: PeerConfig, metrics: Arc<Metrics>) -> Reassembly {
        Reassembly {
            config,
            metrics,
            partial: BTreeMap::new(),
            pending_bytes: 0,
            delivered_below: 0,
            delivered_ahead: BTreeSet::new(),
        }
    }

    /// Partial messages held.
    pub fn partial_messages(&self) -> usize {
        self.partial.len()
    }

    /// Payload bytes held.
    pub fn pending_bytes(&self) -> usize {
        self.pending_bytes
    }

    /// Every sequence number below this has been delivered.
    pub fn delivered_below(&self) -> u32 {
        self.delivered_below
    }

    fn is_delivered(&self, seq: u32) -> bool {
        seq < self.delivered_below || self.delivered_ahead.contains(&seq)
    }

    /// Takes one `Data` fragment that arrived at `now`.
    pub fn handle_fragment(&mut self, now: Instant, packet: Packet) -> Fragment {
        let seq = packet.header.seq;
        let metrics = Arc::clone(&self.metrics);
        if self.is_delivered(seq) {
            if packet.header.frag_index == 0 {
                Metrics::inc(&metrics.duplicate_messages);
            }
            return Fragment::Duplicate;
        }
        // Not delivered, so `seq >= delivered_below`: no underflow.
        if seq - self.delivered_below > self.config.max_sequence_ahead {
            Metrics::inc(&metrics.reassembly_rejected);
            return Fragment::Pending;
        }
        let count = usize::from(packet.header.frag_count);
        let index = usize::from(packet.header.frag_index);
        let len = packet.payload.len();
        if count == 1 && !self.partial.contains_key(&seq) {
            // A whole message in one datagram needs no buffer (and no partial-message slot).
            self.mark_delivered(seq);
            return Fragment::Complete(packet.payload);
        }
        if !self.partial.contains_key(&seq) {
            if self.partial.len() >= self.config.max_partial_messages {
                Metrics::inc(&metrics.reassembly_rejected);
                return Fragment::Pending;
            }
            self.partial.insert(
                seq,
                Partial {
                    fragments: vec![None; count],
                    received: 0,
                    bytes: 0,
                    started: now,
                },
            );
            metrics.adjust_reassembly(1, 0);
        }
        let Some(entry) = self.partial.get(&seq) else {
            return Fragment::Pending;
        };
        if entry.fragments.len() != count || index >= count {
            // Same sequence number, different fragment count (or an index the
            // decoder would not have let through): not a fragment of this message.
            Metrics::inc(&metrics.reassembly_rejected);
            return Fragment::Pending;
        }
        if entry.fragments.get(index).is_some_and(Option::is_some) {
            return Fragment::Pending; // A duplicate fragment: already held.
        }
        if self.pending_bytes + len > self.config.max_reassembly_bytes
            || metrics.reassembly_pending().bytes + len as u64
                > self.config.max_reassembly_bytes_total as u64
        {
            // Over budget: give this message up entirely rather than hold a
            // part of it that may never complete. The sender retransmits it.
            Metrics::inc(&metrics.reassembly_over_budget);
            self.release(seq);
            return Fragment::Pending;
        }
        let Some(entry) = self.partial.get_mut(&seq) else {
            return Fragment::Pending;
        };
        let Some(slot) = entry.fragments.get_mut(index) else {
            return Fragment::Pending;
        };
        *slot = Some(packet.payload);
        entry.received += 1;
        entry.bytes += len;
        self.pending_bytes += len;
        metrics.adjust_reassembly(0, len as i64);
        if entry.received < count {
            return Fragment::Pending;
        }
        let Some(done) = self.release(seq) else {
            return Fragment::Pending;
        };
        self.mark_delivered(seq);
        Fragment::Complete(done.fragments.into_iter().flatten().flatten().collect())
    }

    fn mark_delivered(&mut self, seq: u32) {
        self.delivered_ahead.insert(seq);
        while self.delivered_ahead.remove(&self.delivered_below) {
            self.delivered_below = self.delivered_below.wrapping_add(1);
        }
    }

    /// Removes a partial message, releasing its share of the budgets and gauges.
    fn release(&mut self, seq: u32) -> Option<Partial> {
        let partial = self.partial.remove(&seq)?;
        self.pending_bytes -= partial.bytes;
        self.metrics.adjust_reassembly(-1, -(partial.bytes as i64));
        Some(partial)
    }

    /// When the oldest partial message expires, if any is held.
    pub fn poll_timeout(&self) -> Option<Instant> {
        self.partial
            .values()
            .map(|p| p.started + self.config.reassembly_timeout)
            .min()
    }

    /// Drops the partial messages that have expired by `now`; returns how many.
    pub fn handle_timeout(&mut self, now: Instant) -> usize {
        let timeout = self.config.reassembly_timeout;
        let expired: Vec<u32> = self
            .partial
            .iter()
            .filter(|(_, p)| now.saturating_duration_since(p.started) >= timeout)
            .map(|(seq, _)| *seq)
            .collect();
        for seq in &expired {
            self.release(*seq);
            Metrics::inc(&self.metrics.reassembly_timeouts);
        }
        expired.len()
    }
}

impl Drop for Reassembly {
    fn drop(&mut self) {
        // The connection ended: whatever is still partial will never complete.
        // Release it from the node-wide gauges.
        let buffers = self.partial.len() as i64;
        self.metrics
            .adjust_reassembly(-buffers, -(self.pending_bytes as i64));
        self.partial.clear();
        self.pending_bytes = 0;
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::metrics::ReassemblyPending;
    use crate::transport::packet::{fragment_message, MAX_FRAGMENT_PAYLOAD};
    use std::time::Duration;

    fn reassembly(config: PeerConfig) -> Reassembly {
        Reassembly::new(config, Arc::new(Metrics::new()))
    }

    fn fragments(seq: u32, len: usize) -> Vec<Packet> {
        let message: Vec<u8> = (0..len).map(|i| (i % 251) as u8).collect();
        fragment_message(7, seq, &message).unwrap()
    }

    #[test]
    fn reassembles_out_of_order_and_delivers_once() {
        let now = Instant::now();
        let mut r = reassembly(PeerConfig::default());
        let mut frags = fragments(0, 3000);
        frags.reverse();
        let outcomes: Vec<Fragment> = frags
            .iter()
            .map(|f| r.handle_fragment(now, f.clone()))
            .collect();
        let expected: Vec<u8> = (0..3000).map(|i| (i % 251) as u8).collect();
        assert_eq!(
            outcomes,
            vec![
                Fragment::Pending,
                Fragment::Pending,
                Fragment::Complete(expected)
            ]
        );
        // A retransmission of the whole message: acknowledged again, not delivered again.
        for f in frags {
            assert_eq!(r.handle_fragment(now, f), Fragment::Duplicate);
        }
        assert_eq!(Metrics::get(&r.metrics.duplicate_messages), 1);
        assert_eq!(r.delivered_below(), 1);
        assert_eq!(r.partial_messages(), 0);
    }

    #[test]
    fn partial_buffers_are_bounded_and_expire_at_their_deadline() {
        let config = PeerConfig {
            max_partial_messages: 2,
            max_sequence_ahead: 100,
            reassembly_timeout: Duration::from_secs(5),
            ..PeerConfig::default()
        };
        let t0 = Instant::now();
        let mut r = reassembly(config);
        assert_eq!(r.poll_timeout(), None);
        for seq in 1..=3 {
            let at = t0 + Duration::from_secs(u64::from(seq));
            r.handle_fragment(at, fragments(seq, 2000).remove(0));
        }
        assert_eq!(r.partial_messages(), 2, "third partial message refused");
        r.handle_fragment(t0, fragments(500, 10).remove(0));
        assert_eq!(
            Metrics::get(&r.metrics.reassembly_rejected),
            2,
            "too far ahead refused"
        );
        // Same sequence number, different fragment count: refused, not mixed in.
        r.handle_fragment(t0, fragments(1, 5000).remove(1));
        assert_eq!(Metrics::get(&r.metrics.reassembly_rejected), 3);
        // The first expires 5 s after its first fragment, the second a second later.
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(6)));
        assert_eq!(r.handle_timeout(t0 + Duration::from_millis(5999)), 0);
        assert_eq!(r.handle_timeout(t0 + Duration::from_secs(6)), 1);
        assert_eq!(r.poll_timeout(), Some(t0 + Duration::from_secs(7)));
        assert_eq!(r.handle_timeout(t0 + Duration::from_secs(7)), 1);
        assert_eq!(r.partial_messages(), 0);
        assert_eq!(Metrics::get(&r.metrics.reassembly_timeouts), 2);
        assert_eq!(r.metrics.reassembly_pending(), ReassemblyPending::default());
    }

    #[test]
    fn byte_budget_drops_oversized_messages_and_gauges_follow() {
        let config = PeerConfig {
            max_reassembly_bytes: 3 * MAX_FRAGMENT_PAYLOAD,
            ..PeerConfig::default()
        };
        let now = Instant::now();
        let mut r = reassembly(config);
        // A 5-fragment message cannot fit in a 3-fragment budget: the fourth
        // fragment drops the whole partial message.
        let big = fragments(0, 5 * MAX_FRAGMENT_PAYLOAD);
        for f in big.iter().take(3).cloned() {
            r.handle_fragment(now, f);
        }
        assert_eq!(
            r.metrics.reassembly_pending(),
            ReassemblyPending {
                buffers: 1,
                bytes: 3 * MAX_FRAGMENT_PAYLOAD as u64
            }
        );
        r.handle_fragment(now, big[3].clone());
        assert_eq!(Metrics::get(&r.metrics.reassembly_over_budget), 1);
        assert_eq!(r.metrics.reassembly_pending(), ReassemblyPending::default());
        assert_eq!(r.partial_messages(), 0);
        // A message that fits still gets through afterwards.
        let done: Vec<Fragment> = fragments(1, 2 * MAX_FRAGMENT_PAYLOAD)
            .into_iter()
            .map(|f| r.handle_fragment(now, f))
            .collect();
        assert!(
            matches!(done.last(), Some(Fragment::Complete(d)) if d.len() == 2 * MAX_FRAGMENT_PAYLOAD)
        );
        // Partial messages still held when the state goes away are released.
        r.handle_fragment(now, fragments(2, 2000).remove(0));
        let metrics = Arc::clone(&r.metrics);
        assert_eq!(metrics.reassembly_pending().buffers, 1);
        drop(r);
        assert_eq!(metrics.reassembly_pending(), ReassemblyPending::default());
    }

    #[test]
    fn node_wide_budget_is_shared_between_peers() {
        let config = PeerConfig {
            max_reassembly_bytes_total: 2 * MAX_FRAGMENT_PAYLOAD,
            ..PeerConfig::default()
        };
        let now = Instant::now();
        let mut r = reassembly(config);
        // Another peer of the same node already holds one fragment's worth.
        r.metrics.adjust_reassembly(1, MAX_FRAGMENT_PAYLOAD as i64);
        let msg = fragments(0, 3 * MAX_FRAGMENT_PAYLOAD);
        r.handle_fragment(now, msg[0].clone());
        assert_eq!(r.partial_messages(), 1);
        r.handle_fragment(now, msg[1].clone());
        assert_eq!(r.partial_messages(), 0, "over the node-wide budget");
        assert_eq!(Metrics::get(&r.metrics.reassembly_over_budget), 1);
        assert_eq!(
            r.metrics.reassembly_pending().bytes,
            MAX_FRAGMENT_PAYLOAD as u64
        );
    }
}
