//! Everything between the socket and the application.
//!
//! * [`socket`]: the [`Socket`](socket::Socket) trait the core is generic over;
//! * [`udp`]: the real UDP implementation, [`mock`]: the in-memory one;
//! * [`packet`]: the wire format (pure, no I/O);
//! * [`listener`]: the socket-reading event loop that routes datagrams;
//! * [`connection_state`]: the routing table and its non-blocking `try_send_*` methods;
//! * [`peer`]: one task per peer, driving its [`Connection`](crate::proto::connection::Connection);
//! * [`handshake`]: the tasks driving the gateway handshake and NAT traversal
//!   state machines ([`crate::proto::handshake`]);
//! * [`clock`]: the [`Clock`](clock::Clock) trait the drivers take time and timers from.
//!
//! Data flows one way through the listener: socket → [`listener`] →
//! (`try_send`) → peer / handshake tasks. Those tasks send on the socket
//! themselves; the listener never sends and never waits on a channel.

pub mod clock;
pub mod connection_state;
pub mod handshake;
pub mod listener;
pub mod mock;
pub mod packet;
pub mod peer;
pub mod socket;
pub mod udp;
