//! Where complete application messages end up: a bounded in-memory store.
//!
//! Peer tasks push every reassembled message here; the HTTP API (`GET
//! /messages`) and tests read it. Pushing takes a `std::sync::Mutex` for a few
//! instructions and never waits for a reader, so a slow or absent reader can
//! never back up into the peer tasks (and, through them, the listener). When
//! the store is full the oldest message is evicted and counted.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Mutex, MutexGuard};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use tokio::sync::Notify;

/// One complete message received from a peer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ReceivedMessage {
    /// The peer that sent it.
    pub from: SocketAddr,
    /// The sender's sequence number for it (per connection).
    pub seq: u32,
    /// The message bytes.
    pub data: Vec<u8>,
    /// Arrival time, milliseconds since the Unix epoch.
    pub received_at_ms: u64,
}

impl ReceivedMessage {
    /// A message received now.
    pub fn now(from: SocketAddr, seq: u32, data: Vec<u8>) -> ReceivedMessage {
        let received_at_ms = SystemTime::now()
            .duration_since(UNIX_EPOCH)
            .map(|d| u64::try_from(d.as_millis()).unwrap_or(u64::MAX))
            .unwrap_or(0);
        ReceivedMessage {
            from,
            seq,
            data,
            received_at_ms,
        }
    }
}

/// A bounded FIFO of received messages. See the module docs.
#[derive(Debug)]
pub struct MessageStore {
    queue: Mutex<VecDeque<ReceivedMessage>>,
    capacity: usize,
    total: AtomicU64,
    evicted: AtomicU64,
    notify: Notify,
}

impl MessageStore {
    /// A store keeping at most `capacity` messages (at least 1).
    pub fn new(capacity: usize) -> MessageStore {
        MessageStore {
            queue: Mutex::new(VecDeque::new()),
            capacity: capacity.max(1),
            total: AtomicU64::new(0),
            evicted: AtomicU64::new(0),
            notify: Notify::new(),
        }
    }

    fn lock(&self) -> MutexGuard<'_, VecDeque<ReceivedMessage>> {
        self.queue
            .lock()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Adds a message, evicting the oldest one if the store is full. Never waits.
    pub fn push(&self, message: ReceivedMessage) {
        {
            let mut queue = self.lock();
            if queue.len() >= self.capacity {
                queue.pop_front();
                self.evicted.fetch_add(1, Ordering::Relaxed);
            }
            queue.push_back(message);
        }
        self.total.fetch_add(1, Ordering::Release);
        self.notify.notify_waiters();
    }

    /// A copy of the stored messages, oldest first.
    pub fn snapshot(&self) -> Vec<ReceivedMessage> {
        self.lock().iter().cloned().collect()
    }

    /// Removes and returns the stored messages, oldest first.
    pub fn drain(&self) -> Vec<ReceivedMessage> {
        self.lock().drain(..).collect()
    }

    /// Messages ever pushed.
    pub fn total(&self) -> u64 {
        self.total.load(Ordering::Acquire)
    }

    /// Messages evicted because the store was full.
    pub fn evicted(&self) -> u64 {
        self.evicted.load(Ordering::Relaxed)
    }

    /// Waits until at least `n` messages have ever been pushed, or `timeout`
    /// passes. Returns whether the count was reached.
    pub async fn wait_for_total(&self, n: u64, timeout: Duration) -> bool {
        let reached = async {
            loop {
                // Register interest *before* checking, so a push between the check
                // and the wait cannot be missed.
                let notified = self.notify.notified();
                tokio::pin!(notified);
                notified.as_mut().enable();
                if self.total() >= n {
                    return;
                }
                notified.await;
            }
        };
        tokio::time::timeout(timeout, reached).await.is_ok() || self.total() >= n
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[tokio::test]
    async fn bounded_and_waitable() {
        let store = std::sync::Arc::new(MessageStore::new(2));
        let from: SocketAddr = "127.0.0.1:1".parse().unwrap();
        let s = store.clone();
        let waiter = tokio::spawn(async move { s.wait_for_total(3, Duration::from_secs(5)).await });
        for i in 0..3 {
            store.push(ReceivedMessage::now(from, i, vec![i as u8]));
        }
        assert!(waiter.await.unwrap());
        assert_eq!(store.evicted(), 1);
        let seqs: Vec<u32> = store.drain().iter().map(|m| m.seq).collect();
        assert_eq!(seqs, vec![1, 2]);
        assert!(store.snapshot().is_empty());
        assert!(!store.wait_for_total(4, Duration::from_millis(10)).await);
    }
}
