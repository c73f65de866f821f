//! An in-memory datagram network for tests and benchmarks.
//!
//! [`MockNetwork::bind`] hands out [`MockSocket`]s that implement the node's
//! [`Socket`] trait. A datagram sent to an address is put into the bound
//! socket's bounded queue, exactly like a kernel UDP receive buffer: when the
//! queue is full the datagram is dropped, never waited for. On top of that the
//! network can be told (see [`MockConfig`]) to
//!
//! * drop datagrams at random (`drop_probability`),
//! * delay them by a random amount (`delay`), and
//! * reorder them (`reorder_probability`: the datagram is held back by
//!   `reorder_delay`, so later ones overtake it).
//!
//! All random choices come from one seeded SplitMix64 generator, taken in the
//! order datagrams are sent, so a test that sends in a deterministic order sees
//! the same drops and reorderings on every run. Sending never blocks and never
//! awaits a channel: delayed datagrams are delivered by a spawned timer task.

use std::collections::HashMap;
use std::future::Future;
use std::io;
use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex, MutexGuard};
use std::time::Duration;

use tokio::sync::mpsc;

use super::socket::Socket;

/// How the mock network mistreats datagrams. The default is a perfect network.
#[derive(Debug, Clone)]
pub struct MockConfig {
    /// Probability in `[0, 1]` that a datagram is silently dropped.
    pub drop_probability: f64,
    /// If set, every datagram is delayed by a uniform random duration in `[min, max]`.
    pub delay: Option<(Duration, Duration)>,
    /// Probability in `[0, 1]` that a datagram is held back by `reorder_delay`.
    pub reorder_probability: f64,
    /// How long a reordered datagram is held back.
    pub reorder_delay: Duration,
    /// Capacity of each socket's receive queue, in datagrams.
    pub inbox_capacity: usize,
    /// Seed of the random generator behind every choice above.
    pub seed: u64,
}

impl Default for MockConfig {
    fn default() -> Self {
        MockConfig {
            drop_probability: 0.0,
            delay: None,
            reorder_probability: 0.0,
            reorder_delay: Duration::from_millis(5),
            inbox_capacity: 4096,
            seed: 0x5eed_cafe,
        }
    }
}

/// Counters describing what the network did with the datagrams it was given.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct MockStats {
    /// Datagrams handed to `send_to`.
    pub sent: u64,
    /// Datagrams put into a receive queue.
    pub delivered: u64,
    /// Dropped by the random drop rule.
    pub dropped_random: u64,
    /// Dropped because the receiver's queue was full.
    pub dropped_full: u64,
    /// Dropped because nothing is bound at the destination.
    pub dropped_unbound: u64,
    /// Delivered later through the delay rule.
    pub delayed: u64,
    /// Held back through the reorder rule.
    pub reordered: u64,
}

type Datagram = (Vec<u8>, SocketAddr);

#[derive(Default)]
struct Counters {
    sent: AtomicU64,
    delivered: AtomicU64,
    dropped_random: AtomicU64,
    dropped_full: AtomicU64,
    dropped_unbound: AtomicU64,
    delayed: AtomicU64,
    reordered: AtomicU64,
}

struct Inner {
    endpoints: Mutex<HashMap<SocketAddr, mpsc::Sender<Datagram>>>,
    config: Mutex<MockConfig>,
    rng: Mutex<SplitMix64>,
    next_port: Mutex<u16>,
    counters: Counters,
}

/// Locks a std mutex, recovering the data if a panicking thread poisoned it
/// (the maps here stay consistent whatever panicked).
fn lock<T>(m: &Mutex<T>) -> MutexGuard<'_, T> {
    m.lock().unwrap_or_else(|poisoned| poisoned.into_inner())
}

/// A shared in-memory network. Cloning it gives another handle to the same network.
#[derive(Clone)]
pub struct MockNetwork {
    inner: Arc<Inner>,
}

impl Default for MockNetwork {
    fn default() -> Self {
        MockNetwork::new()
    }
}

impl std::fmt::Debug for MockNetwork {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockNetwork")
            .field("stats", &self.stats())
            .finish()
    }
}

impl MockNetwork {
    /// A perfect network: no loss, no delay, no reordering.
    pub fn new() -> MockNetwork {
        MockNetwork::with_config(MockConfig::default())
    }

    /// A network that behaves as `config` says.
    pub fn with_config(config: MockConfig) -> MockNetwork {
        MockNetwork {
            inner: Arc::new(Inner {
                endpoints: Mutex::new(HashMap::new()),
                rng: Mutex::new(SplitMix64(config.seed)),
                config: Mutex::new(config),
                next_port: Mutex::new(40_000),
                counters: Counters::default(),
            }),
        }
    }

    /// Changes the behaviour for datagrams sent from now on (the seed is not reapplied).
    pub fn set_config(&self, config: MockConfig) {
        *lock(&self.inner.config) = config;
    }

    /// Binds a socket at `addr`. Port 0 picks a free port.
    pub fn bind(&self, addr: SocketAddr) -> io::Result<MockSocket> {
        let capacity = lock(&self.inner.config).inbox_capacity.max(1);
        let mut endpoints = lock(&self.inner.endpoints);
        let addr = if addr.port() == 0 {
            let mut next = lock(&self.inner.next_port);
            loop {
                let candidate = SocketAddr::new(addr.ip(), *next);
                *next = next.checked_add(1).unwrap_or(1024);
                if !endpoints.contains_key(&candidate) {
                    break candidate;
                }
            }
        } else {
            addr
        };
        if endpoints.contains_key(&addr) {
            return Err(io::Error::new(
                io::ErrorKind::AddrInUse,
                format!("{addr} is already bound"),
            ));
        }
        let (tx, rx) = mpsc::channel(capacity);
        endpoints.insert(addr, tx);
        Ok(MockSocket {
            addr,
            net: Arc::clone(&self.inner),
            rx: tokio::sync::Mutex::new(rx),
        })
    }

    /// Binds `127.0.0.1:port`.
    pub fn bind_port(&self, port: u16) -> io::Result<MockSocket> {
        self.bind(SocketAddr::new(IpAddr::V4(Ipv4Addr::LOCALHOST), port))
    }

    /// What the network has done so far.
    pub fn stats(&self) -> MockStats {
        let c = &self.inner.counters;
        MockStats {
            sent: c.sent.load(Ordering::Relaxed),
            delivered: c.delivered.load(Ordering::Relaxed),
            dropped_random: c.dropped_random.load(Ordering::Relaxed),
            dropped_full: c.dropped_full.load(Ordering::Relaxed),
            dropped_unbound: c.dropped_unbound.load(Ordering::Relaxed),
            delayed: c.delayed.load(Ordering::Relaxed),
            reordered: c.reordered.load(Ordering::Relaxed),
        }
    }
}

impl Inner {
    /// Decides the fate of one datagram: `None` = drop, `Some(delay)` = deliver after `delay`.
    fn decide(&self) -> Option<Duration> {
        let config = lock(&self.config);
        let mut rng = lock(&self.rng);
        if config.drop_probability > 0.0 && rng.next_f64() < config.drop_probability {
            self.counters.dropped_random.fetch_add(1, Ordering::Relaxed);
            return None;
        }
        let mut delay = Duration::ZERO;
        if let Some((min, max)) = config.delay {
            let span = max.saturating_sub(min);
            delay = min + span.mul_f64(rng.next_f64());
            self.counters.delayed.fetch_add(1, Ordering::Relaxed);
        }
        if config.reorder_probability > 0.0 && rng.next_f64() < config.reorder_probability {
            delay += config.reorder_delay;
            self.counters.reordered.fetch_add(1, Ordering::Relaxed);
        }
        Some(delay)
    }

    /// Puts a datagram into the destination's queue, dropping it if the queue is full.
    fn deliver(&self, to: SocketAddr, datagram: Datagram) {
        let target = lock(&self.endpoints).get(&to).cloned();
        let Some(target) = target else {
            self.counters
                .dropped_unbound
                .fetch_add(1, Ordering::Relaxed);
            return;
        };
        match target.try_send(datagram) {
            Ok(()) => {
                self.counters.delivered.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Full(_)) => {
                self.counters.dropped_full.fetch_add(1, Ordering::Relaxed);
            }
            Err(mpsc::error::TrySendError::Closed(_)) => {
                self.counters
                    .dropped_unbound
                    .fetch_add(1, Ordering::Relaxed);
            }
        }
    }
}

/// One endpoint of a [`MockNetwork`]. Dropping it unbinds the address.
pub struct MockSocket {
    addr: SocketAddr,
    net: Arc<Inner>,
    rx: tokio::sync::Mutex<mpsc::Receiver<Datagram>>,
}

impl std::fmt::Debug for MockSocket {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MockSocket")
            .field("addr", &self.addr)
            .finish()
    }
}

impl MockSocket {
    /// Sends synchronously (the mock never needs to wait).
    pub fn send_now(&self, buf: &[u8], target: SocketAddr) -> io::Result<usize> {
        if buf.len() > 65_507 {
            return Err(io::Error::new(
                io::ErrorKind::InvalidInput,
                "datagram larger than UDP allows",
            ));
        }
        self.net.counters.sent.fetch_add(1, Ordering::Relaxed);
        let Some(delay) = self.net.decide() else {
            return Ok(buf.len());
        };
        let datagram = (buf.to_vec(), self.addr);
        if delay.is_zero() {
            self.net.deliver(target, datagram);
        } else {
            let net = Arc::clone(&self.net);
            tokio::spawn(async move {
                tokio::time::sleep(delay).await;
                net.deliver(target, datagram);
            });
        }
        Ok(buf.len())
    }
}

impl Drop for MockSocket {
    fn drop(&mut self) {
        lock(&self.net.endpoints).remove(&self.addr);
    }
}

impl Socket for MockSocket {
    fn send_to(
        &self,
        buf: &[u8],
        target: SocketAddr,
    ) -> impl Future<Output = io::Result<usize>> + Send {
        std::future::ready(self.send_now(buf, target))
    }

    async fn recv_from(&self, buf: &mut [u8]) -> io::Result<(usize, SocketAddr)> {
        // Only one task (the listener) receives, so this lock is uncontended. Both the
        // lock and `Receiver::recv` are cancel-safe, as the `Socket` trait requires.
        let mut rx = self.rx.lock().await;
        match rx.recv().await {
            Some((data, from)) => {
                let n = data.len().min(buf.len());
                buf[..n].copy_from_slice(&data[..n]);
                Ok((n, from))
            }
            None => Err(io::Error::new(
                io::ErrorKind::NotConnected,
                "mock socket unbound",
            )),
        }
    }

    fn local_addr(&self) -> io::Result<SocketAddr> {
        Ok(self.addr)
    }
}

pub use crate::proto::rng::SplitMix64;

#[cfg(test)]
mod tests {
    use super::*;

    async fn recv_all(sock: &MockSocket, max_wait: Duration) -> Vec<Vec<u8>> {
        let mut out = Vec::new();
        let mut buf = [0u8; 64];
        while let Ok(Ok((n, _))) = tokio::time::timeout(max_wait, sock.recv_from(&mut buf)).await {
            out.push(buf[..n].to_vec());
        }
        out
    }

    #[tokio::test(start_paused = true)]
    async fn perfect_network_delivers_in_order() {
        let net = MockNetwork::new();
        let a = net.bind_port(1).unwrap();
        let b = net.bind_port(2).unwrap();
        for i in 0..10u8 {
            a.send_to(&[i], b.local_addr().unwrap()).await.unwrap();
        }
        let got = recv_all(&b, Duration::from_millis(20)).await;
        assert_eq!(got, (0..10u8).map(|i| vec![i]).collect::<Vec<_>>());
        assert!(net.bind_port(1).is_err(), "address in use");
    }

    #[tokio::test(start_paused = true)]
    async fn drops_are_deterministic_for_a_seed() {
        let run = || async {
            let net = MockNetwork::with_config(MockConfig {
                drop_probability: 0.3,
                seed: 42,
                ..MockConfig::default()
            });
            let a = net.bind_port(1).unwrap();
            let b = net.bind_port(2).unwrap();
            for i in 0..100u8 {
                a.send_to(&[i], b.local_addr().unwrap()).await.unwrap();
            }
            recv_all(&b, Duration::from_millis(20)).await
        };
        let first = run().await;
        let second = run().await;
        assert_eq!(first, second);
        assert!(
            first.len() > 50 && first.len() < 95,
            "{} delivered",
            first.len()
        );
    }

    #[tokio::test(start_paused = true)]
    async fn reorder_and_delay_hold_datagrams_back() {
        let net = MockNetwork::with_config(MockConfig {
            reorder_probability: 0.5,
            reorder_delay: Duration::from_millis(30),
            delay: Some((Duration::from_millis(1), Duration::from_millis(2))),
            seed: 7,
            ..MockConfig::default()
        });
        let a = net.bind_port(1).unwrap();
        let b = net.bind_port(2).unwrap();
        for i in 0..20u8 {
            a.send_to(&[i], b.local_addr().unwrap()).await.unwrap();
        }
        let got = recv_all(&b, Duration::from_millis(200)).await;
        assert_eq!(got.len(), 20, "delay and reorder lose nothing");
        let order: Vec<u8> = got.iter().map(|d| d[0]).collect();
        assert_ne!(
            order,
            (0..20u8).collect::<Vec<_>>(),
            "some datagrams were overtaken"
        );
        assert!(net.stats().reordered > 0);
    }

    #[tokio::test(start_paused = true)]
    async fn full_queue_drops_instead_of_blocking() {
        let net = MockNetwork::with_config(MockConfig {
            inbox_capacity: 4,
            ..MockConfig::default()
        });
        let a = net.bind_port(1).unwrap();
        let b = net.bind_port(2).unwrap();
        for i in 0..10u8 {
            a.send_to(&[i], b.local_addr().unwrap()).await.unwrap();
        }
        assert_eq!(net.stats().dropped_full, 6);
        drop(b);
        a.send_to(&[1], "127.0.0.1:2".parse().unwrap())
            .await
            .unwrap();
        assert_eq!(net.stats().dropped_unbound, 1);
    }
}
