//! The [`Socket`] trait: the only thing the node's core knows about the network.
//!
//! The listener, peer tasks and handshakes are generic over `S: Socket`, so the
//! same code runs over a real UDP socket (`transport::udp`) in production and
//! over the in-memory [`MockNetwork`](crate::transport::mock::MockNetwork) in
//! tests and benchmarks, where datagrams can be dropped, delayed and reordered
//! on purpose. Keeping the concrete socket type out of the core is also what
//! the `banned-type` lint rule enforces.
//!
//! The methods return `impl Future + Send` (return-position `impl Trait` in a
//! trait, stable since Rust 1.75) rather than using `async fn`, because a plain
//! `async fn` in a trait does not promise a `Send` future, and the node spawns
//! the code that awaits these futures onto a multi-threaded runtime.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

/// A datagram socket: unreliable, unordered, message-oriented, like UDP.
///
/// Implementations must be cancel-safe in `recv_from` (the listener races it
/// against its shutdown signal in `tokio::select!`): dropping the future before
/// it completes must not lose a datagram that was already taken off the queue.
pub trait Socket: Send + Sync + 'static {
    /// Sends one datagram to `target`. Like UDP, success means "handed to the
    /// network", not "delivered".
    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send;

    /// Waits for one datagram, copies it into `buf` (truncating if `buf` is too
    /// short, like UDP) and returns its length and the sender's address.
    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send;

    /// The address this socket is bound to.
    fn local_addr(&self) -> io::Result<SocketAddr>;
}
