//! The production transport: a thin adapter from `tokio::net::UdpSocket` to
//! the node's [`Socket`] trait.
//!
//! This is the only file in the crate allowed to name the tokio socket type
//! (the `banned-type` lint rule): everything else is generic over [`Socket`],
//! which keeps the core testable on the in-memory mock network and makes it
//! obvious where real I/O happens.

use std::future::Future;
use std::io;
use std::net::SocketAddr;

use tokio::net::UdpSocket;

use super::socket::Socket;

/// A bound UDP socket.
#[derive(Debug)]
pub struct UdpTransport {
    inner: UdpSocket,
}

impl UdpTransport {
    /// Binds a UDP socket to `addr` (use port 0 for an ephemeral port).
    pub async fn bind(addr: SocketAddr) -> io::Result<UdpTransport> {
        let inner = UdpSocket::bind(addr).await?;
        Ok(UdpTransport { inner })
    }
}

impl Socket for UdpTransport {
    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        self.inner.send_to(buf, target)
    }

    fn recv_from(
        &self,
        buf: &mut [u8],
    ) -> impl Future<Output = io::Result<(usize, SocketAddr)>> + Send {
        // `UdpSocket::recv_from` is documented as cancel-safe, as the trait requires.
        self.inner.recv_from(buf)
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        self.inner.local_addr()
    }
}
