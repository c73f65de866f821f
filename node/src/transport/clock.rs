//! Time as an input: the [`Clock`] trait the drivers read and sleep on, and
//! the node's source of seed entropy.
//!
//! The protocol state machines in [`crate::proto`] never read a clock: they
//! are given `now`. Their async drivers (`transport::peer`,
//! `transport::handshake`, the node's waits) get `now` and their timers from
//! a [`Clock`]. The production clock, [`TokioClock`], is tokio's: under
//! `tokio::time::pause` (the tests' `start_paused`) it is virtual time, so a
//! test with minutes of retransmissions and timeouts runs in milliseconds,
//! deterministically.
//!
//! This module is the only place in `node/src` allowed to call
//! `Instant::now` (std's and tokio's) and, with the mock network's delivery
//! timers, `tokio::time::sleep`; `std::thread::sleep` and `rand::thread_rng`
//! are banned everywhere in `node/src` (the `banned-type` bans in the root
//! `channel-lint.toml`).

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::time::Instant;

/// A sleep returned by [`Clock::sleep_until`].
pub type Sleep = Pin<Box<dyn Future<Output = ()> + Send + 'static>>;

/// Where the drivers get the time and their timers from.
pub trait Clock: Send + Sync + 'static {
    /// The current instant.
    fn now(&self) -> Instant;
    /// A future that completes at `deadline` (at once if it has passed).
    fn sleep_until(&self, deadline: Instant) -> Sleep;
}

/// A shared clock, as the node's tasks hold it.
pub type SharedClock = Arc<dyn Clock>;

/// tokio's clock: real time, or virtual time under `tokio::time::pause`.
#[derive(Debug, Clone, Copy, Default)]
pub struct TokioClock;

impl Clock for TokioClock {
    fn now(&self) -> Instant {
        tokio::time::Instant::now().into_std()
    }

    fn sleep_until(&self, deadline: Instant) -> Sleep {
        Box::pin(tokio::time::sleep_until(tokio::time::Instant::from_std(
            deadline,
        )))
    }
}

/// The shared tokio clock.
pub fn tokio_clock() -> SharedClock {
    Arc::new(TokioClock)
}

/// A seed for a node that was given none: the wall clock's nanoseconds mixed
/// with `salt` (the node's address). Tests pass a seed instead.
pub fn entropy_seed(salt: u64) -> u64 {
    let nanos = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .map(|d| u64::from(d.subsec_nanos()) ^ d.as_secs())
        .unwrap_or(0);
    nanos ^ salt.rotate_left(32)
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::time::Duration;

    #[tokio::test(start_paused = true)]
    async fn tokio_clock_follows_paused_time() {
        let clock = tokio_clock();
        let t0 = clock.now();
        clock.sleep_until(t0 + Duration::from_secs(3600)).await;
        let slept = clock.now() - t0;
        assert!(slept >= Duration::from_secs(3600) && slept < Duration::from_secs(3601));
        // A deadline in the past completes at once.
        clock.sleep_until(t0).await;
        assert!(clock.now() - t0 < Duration::from_secs(3601));
    }
}
