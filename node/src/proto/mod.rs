//! The node's protocol logic with no I/O in it (the split quinn makes between
//! `quinn-proto` and `quinn`).
//!
//! Everything here is a plain struct that is driven from outside: it is told
//! what arrived (`handle_packet(now, ..)` / `handle_datagram(now, bytes)`),
//! asked when it next wants to be woken (`poll_timeout()`), woken
//! (`handle_timeout(now)`), and asked what it wants to send
//! (`poll_transmit()`) and what happened (`poll_event()`). No socket, no
//! channel, no clock, no spawn: time is always a `now` argument and randomness
//! a seeded [`SplitMix64`](rng::SplitMix64) passed in. So every state machine
//! can be unit-tested without a runtime, stepped by hand through any schedule
//! (a peer stuck exactly while a retransmission fires), and replayed from a
//! seed.
//!
//! * [`connection`]: one established peer: send window, acknowledgements,
//!   retransmission timers, keep-alives, peer timeout, with [`reassembly`]
//!   of fragmented messages inside;
//! * [`handshake`]: the gateway handshake and NAT traversal state machines;
//! * [`rng`]: the seeded generator behind connection ids and jitter.
//!
//! The async drivers that own the sockets, channels and timers are in
//! [`crate::transport`] (`peer.rs`, `handshake.rs`).

use std::net::SocketAddr;

pub mod connection;
pub mod handshake;
pub mod reassembly;
pub mod rng;

/// One datagram a state machine wants sent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Transmit {
    /// Where to.
    pub destination: SocketAddr,
    /// The encoded datagram.
    pub contents: Vec<u8>,
}
