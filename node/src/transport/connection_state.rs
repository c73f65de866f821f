//! Who the listener can hand a datagram to, and the non-blocking way it does so.
//!
//! [`ConnectionStateManager`] owns the routing table of the node: one
//! [`PeerHandle`] (a bounded inbox into that peer's task) per established peer
//! address, plus the inboxes of the gateway-handshake task and the
//! NAT-traversal task. It is shared between the listener (which routes), the
//! handshake tasks (which add peers) and the peer tasks (which remove
//! themselves when they end).
//!
//! The heart of the file is the three `try_send_*` methods. They are the only
//! way the listener hands work to anybody, and they never wait: each one is a
//! `try_send` on a bounded `tokio::sync::mpsc` channel that answers at once with
//! a [`SendOutcome`]. That is the fix for the original hang, where the listener
//! awaited `send()` into one wedged peer's channel and stopped serving everybody
//! else. Here a wedged peer only ever costs the listener one `Full` answer per
//! datagram addressed to it.
//!
//! The application's way in is here too: [`ConnectionStateManager::try_queue_message`]
//! (the HTTP API's send, never waiting) and [`ConnectionStateManager::outbox`].
//!
//! The table is behind a `std::sync::RwLock`, never held across an `.await`
//! (none of these methods is `async`), so taking it cannot stall the runtime.

use std::collections::HashMap;
use std::fmt;
use std::net::SocketAddr;
use std::sync::{RwLock, RwLockReadGuard, RwLockWriteGuard};
use std::time::Instant;

use tokio::sync::mpsc::{self, error::TrySendError};

use super::packet::{Packet, MAX_MESSAGE_SIZE};
use crate::proto::handshake::PeerTable;

/// What happened to a datagram the listener tried to hand over.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SendOutcome {
    /// The consumer's channel had room; the datagram is queued.
    Sent,
    /// The consumer's channel is full: the datagram is dropped (UDP semantics;
    /// the sender retries) and the listener moves on immediately.
    Full,
    /// The consumer has gone away (its receiver was dropped): the datagram is
    /// dropped and the caller should clean up the consumer's state entry.
    Closed,
}

impl SendOutcome {
    fn of<T>(result: Result<(), TrySendError<T>>) -> SendOutcome {
        match result {
            Ok(()) => SendOutcome::Sent,
            Err(TrySendError::Full(_)) => SendOutcome::Full,
            Err(TrySendError::Closed(_)) => SendOutcome::Closed,
        }
    }
}

/// A datagram for the handshake or NAT-traversal task, with its source address.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Inbound {
    /// Who sent it.
    pub from: SocketAddr,
    /// What they sent.
    pub packet: Packet,
}

/// Why a message could not be queued.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum SendMessageError {
    /// No connection to that address.
    UnknownPeer,
    /// The message exceeds [`MAX_MESSAGE_SIZE`].
    TooLarge,
    /// The peer's outbox is full (only from the non-waiting sends).
    Full,
    /// The peer task has ended.
    PeerGone,
}

impl fmt::Display for SendMessageError {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            SendMessageError::UnknownPeer => write!(f, "no connection to that peer"),
            SendMessageError::TooLarge => write!(f, "message larger than {MAX_MESSAGE_SIZE} bytes"),
            SendMessageError::Full => write!(f, "the peer's outbox is full; retry later"),
            SendMessageError::PeerGone => write!(f, "the peer connection has ended"),
        }
    }
}

impl std::error::Error for SendMessageError {}

/// The listener's and the application's way into one peer task.
#[derive(Debug, Clone)]
pub struct PeerHandle {
    /// The connection id agreed during the handshake.
    pub conn_id: u64,
    /// When the connection was established.
    pub established_at: Instant,
    inbox: mpsc::Sender<Packet>,
    outbox: mpsc::Sender<Vec<u8>>,
}

impl PeerHandle {
    /// A handle over a peer task's inbox (datagrams from the listener) and
    /// outbox (messages from the application), established at `established_at`.
    pub fn new(
        conn_id: u64,
        inbox: mpsc::Sender<Packet>,
        outbox: mpsc::Sender<Vec<u8>>,
        established_at: Instant,
    ) -> PeerHandle {
        PeerHandle {
            conn_id,
            established_at,
            inbox,
            outbox,
        }
    }

    /// The channel the application uses to send messages to this peer.
    pub fn outbox(&self) -> &mpsc::Sender<Vec<u8>> {
        &self.outbox
    }

    /// Free slots in the peer task's inbox (0 means the listener is dropping its datagrams).
    pub fn inbox_free(&self) -> usize {
        self.inbox.capacity()
    }

    /// The inbox's total capacity.
    pub fn inbox_capacity(&self) -> usize {
        self.inbox.max_capacity()
    }

    /// True once the peer task has ended.
    pub fn is_closed(&self) -> bool {
        self.inbox.is_closed()
    }
}

/// The node's routing table. See the module docs.
#[derive(Debug)]
pub struct ConnectionStateManager {
    established: RwLock<HashMap<SocketAddr, PeerHandle>>,
    gateway_handshake: mpsc::Sender<Inbound>,
    nat_traversal: mpsc::Sender<Inbound>,
}

impl ConnectionStateManager {
    /// A table with no peers, routing handshakes and NAT-traversal datagrams to
    /// the given (bounded) channels.
    pub fn new(
        gateway_handshake: mpsc::Sender<Inbound>,
        nat_traversal: mpsc::Sender<Inbound>,
    ) -> ConnectionStateManager {
        ConnectionStateManager {
            established: RwLock::new(HashMap::new()),
            gateway_handshake,
            nat_traversal,
        }
    }

    fn read(&self) -> RwLockReadGuard<'_, HashMap<SocketAddr, PeerHandle>> {
        self.established
            .read()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    fn write(&self) -> RwLockWriteGuard<'_, HashMap<SocketAddr, PeerHandle>> {
        self.established
            .write()
            .unwrap_or_else(|poisoned| poisoned.into_inner())
    }

    /// Hands a datagram to the established peer at `from` without waiting.
    /// `None` if no peer is established at that address.
    pub fn try_send_established(&self, from: SocketAddr, packet: Packet) -> Option<SendOutcome> {
        let table = self.read();
        let handle = table.get(&from)?;
        Some(SendOutcome::of(handle.inbox.try_send(packet)))
    }

    /// Hands a datagram to the gateway-handshake task without waiting.
    pub fn try_send_gateway_handshake(&self, from: SocketAddr, packet: Packet) -> SendOutcome {
        SendOutcome::of(self.gateway_handshake.try_send(Inbound { from, packet }))
    }

    /// Hands a datagram to the NAT-traversal task without waiting.
    pub fn try_send_nat_traversal(&self, from: SocketAddr, packet: Packet) -> SendOutcome {
        SendOutcome::of(self.nat_traversal.try_send(Inbound { from, packet }))
    }

    /// The outbox of the peer at `addr`, for a message of `len` bytes (the
    /// application's waiting send awaits room in it; never the listener).
    pub fn outbox(
        &self,
        peer: SocketAddr,
        len: usize,
    ) -> Result<mpsc::Sender<Vec<u8>>, SendMessageError> {
        if len > MAX_MESSAGE_SIZE {
            return Err(SendMessageError::TooLarge);
        }
        let table = self.read();
        let handle = table.get(&peer).ok_or(SendMessageError::UnknownPeer)?;
        Ok(handle.outbox.clone())
    }

    /// Queues `message` for `peer` without waiting (the HTTP API's send).
    pub fn try_queue_message(
        &self,
        peer: SocketAddr,
        message: Vec<u8>,
    ) -> Result<(), SendMessageError> {
        let outbox = self.outbox(peer, message.len())?;
        outbox.try_send(message).map_err(|e| match e {
            TrySendError::Full(_) => SendMessageError::Full,
            TrySendError::Closed(_) => SendMessageError::PeerGone,
        })
    }

    /// Registers (or replaces) the peer at `addr`; returns the handle it replaced.
    /// Dropping the old handle closes the old task's channels, which ends it.
    pub fn insert_established(&self, addr: SocketAddr, handle: PeerHandle) -> Option<PeerHandle> {
        self.write().insert(addr, handle)
    }

    /// Removes the peer at `addr` only if its task has ended (the listener's
    /// cleanup after a `Closed` outcome: a freshly re-established peer is kept).
    pub fn remove_if_closed(&self, addr: SocketAddr) -> bool {
        let mut table = self.write();
        match table.get(&addr) {
            Some(handle) if handle.is_closed() => table.remove(&addr).is_some(),
            _ => false,
        }
    }

    /// Removes the peer at `addr` only if it still is connection `conn_id`
    /// (a peer task cleaning up after itself must not remove its successor).
    pub fn remove_if_conn(&self, addr: SocketAddr, conn_id: u64) -> bool {
        let mut table = self.write();
        match table.get(&addr) {
            Some(handle) if handle.conn_id == conn_id => table.remove(&addr).is_some(),
            _ => false,
        }
    }

    /// Removes every peer (node shutdown), returning their handles.
    pub fn clear(&self) -> Vec<(SocketAddr, PeerHandle)> {
        self.write().drain().collect()
    }

    /// The handle of the peer at `addr`, if established.
    pub fn get(&self, addr: SocketAddr) -> Option<PeerHandle> {
        self.read().get(&addr).cloned()
    }

    /// True if a peer is established at `addr`.
    pub fn is_established(&self, addr: SocketAddr) -> bool {
        self.read().contains_key(&addr)
    }

    /// All established peers, sorted by address.
    pub fn peers(&self) -> Vec<(SocketAddr, PeerHandle)> {
        let mut peers: Vec<_> = self.read().iter().map(|(a, h)| (*a, h.clone())).collect();
        peers.sort_by_key(|(a, _)| *a);
        peers
    }

    /// Number of established peers.
    pub fn len(&self) -> usize {
        self.read().len()
    }

    /// True if no peer is established.
    pub fn is_empty(&self) -> bool {
        self.read().is_empty()
    }
}

impl PeerTable for ConnectionStateManager {
    fn conn_id_of(&self, addr: SocketAddr) -> Option<u64> {
        self.read().get(&addr).map(|h| h.conn_id)
    }

    fn addrs(&self) -> Vec<SocketAddr> {
        let mut addrs: Vec<SocketAddr> = self.read().keys().copied().collect();
        addrs.sort();
        addrs
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::transport::packet::PacketKind;

    fn pkt() -> Packet {
        Packet::control(PacketKind::KeepAlive, 1, 0, vec![])
    }

    #[test]
    fn outcomes_distinguish_full_and_closed() {
        let (gw_tx, gw_rx) = mpsc::channel(1);
        let (nat_tx, nat_rx) = mpsc::channel(1);
        let state = ConnectionStateManager::new(gw_tx, nat_tx);
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        assert_eq!(state.try_send_established(addr, pkt()), None);
        let (in_tx, in_rx) = mpsc::channel(1);
        let (out_tx, _out_rx) = mpsc::channel(1);
        state.insert_established(addr, PeerHandle::new(5, in_tx, out_tx, Instant::now()));
        assert_eq!(
            state.try_send_established(addr, pkt()),
            Some(SendOutcome::Sent)
        );
        assert_eq!(
            state.try_send_established(addr, pkt()),
            Some(SendOutcome::Full)
        );
        drop(in_rx);
        assert_eq!(
            state.try_send_established(addr, pkt()),
            Some(SendOutcome::Closed)
        );
        assert!(!state.remove_if_conn(addr, 6));
        assert!(state.remove_if_closed(addr));
        assert!(state.is_empty());
        assert_eq!(
            state.try_queue_message(addr, vec![1]),
            Err(SendMessageError::UnknownPeer)
        );

        assert_eq!(
            state.try_send_gateway_handshake(addr, pkt()),
            SendOutcome::Sent
        );
        assert_eq!(
            state.try_send_gateway_handshake(addr, pkt()),
            SendOutcome::Full
        );
        drop(gw_rx);
        assert_eq!(
            state.try_send_gateway_handshake(addr, pkt()),
            SendOutcome::Closed
        );
        assert_eq!(state.try_send_nat_traversal(addr, pkt()), SendOutcome::Sent);
        assert_eq!(state.try_send_nat_traversal(addr, pkt()), SendOutcome::Full);
        drop(nat_rx);
        assert_eq!(
            state.try_send_nat_traversal(addr, pkt()),
            SendOutcome::Closed
        );
    }

    #[test]
    fn queueing_a_message_never_waits() {
        let (gw_tx, _gw_rx) = mpsc::channel(1);
        let (nat_tx, _nat_rx) = mpsc::channel(1);
        let state = ConnectionStateManager::new(gw_tx, nat_tx);
        let addr: SocketAddr = "127.0.0.1:9".parse().unwrap();
        let (in_tx, _in_rx) = mpsc::channel(1);
        let (out_tx, out_rx) = mpsc::channel(2);
        state.insert_established(addr, PeerHandle::new(5, in_tx, out_tx, Instant::now()));
        assert_eq!(state.try_queue_message(addr, vec![1]), Ok(()));
        assert_eq!(state.try_queue_message(addr, vec![2]), Ok(()));
        assert_eq!(
            state.try_queue_message(addr, vec![3]),
            Err(SendMessageError::Full)
        );
        assert_eq!(
            state.try_queue_message(addr, vec![0; MAX_MESSAGE_SIZE + 1]),
            Err(SendMessageError::TooLarge)
        );
        drop(out_rx);
        assert_eq!(
            state.try_queue_message(addr, vec![4]),
            Err(SendMessageError::PeerGone)
        );
        assert_eq!(state.conn_id_of(addr), Some(5));
        assert_eq!(state.addrs(), vec![addr]);
    }
}
