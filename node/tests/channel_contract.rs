//! The contract of `tokio::sync::mpsc` that the transport relies on, pinned
//! down as tests, so that a tokio upgrade that changed any of it would fail
//! here first rather than as a hang in production.
//!
//! What the node assumes, one test each: bounded channels hold exactly their
//! capacity; `try_send` answers `Full` and `Closed` at once and distinctly, and
//! gives the value back; clones share one capacity; disconnection is visible
//! on both ends; a burst drains in order; many producers lose nothing; a slow
//! receiver only costs `Full` answers; dropping the last sender wakes a parked
//! receiver; and a parked receiver is not woken (or polled) without reason, so
//! idle peers cost no CPU. The last test documents the hazard itself:
//! `send().await` on a full channel waits for as long as the receiver does.

use std::future::Future;
use std::pin::pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Wake, Waker};
use std::time::Duration;

use tokio::sync::mpsc::{self, error::TryRecvError, error::TrySendError};

const HANG: Duration = Duration::from_secs(30);

/// A waker that counts how often it is woken.
#[derive(Default)]
struct CountingWaker(AtomicUsize);

impl Wake for CountingWaker {
    fn wake(self: Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
    fn wake_by_ref(self: &Arc<Self>) {
        self.0.fetch_add(1, Ordering::SeqCst);
    }
}

impl CountingWaker {
    fn count(&self) -> usize {
        self.0.load(Ordering::SeqCst)
    }
}

#[test]
fn bounded_channel_holds_exactly_its_capacity() {
    let (tx, mut rx) = mpsc::channel::<u32>(4);
    assert_eq!(tx.max_capacity(), 4);
    for i in 0..4 {
        assert_eq!(tx.capacity(), 4 - i as usize);
        tx.try_send(i).unwrap();
    }
    assert_eq!(tx.capacity(), 0);
    assert!(matches!(tx.try_send(4), Err(TrySendError::Full(4))));
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(tx.capacity(), 1, "receiving frees exactly one slot");
    tx.try_send(5).unwrap();
    assert!(matches!(tx.try_send(6), Err(TrySendError::Full(6))));
    assert!(matches!(tx.try_reserve(), Err(TrySendError::Full(()))));
}

#[test]
fn full_and_closed_are_distinct_and_return_the_value() {
    let (tx, rx) = mpsc::channel::<String>(1);
    tx.try_send("a".into()).unwrap();
    match tx.try_send("b".into()) {
        Err(TrySendError::Full(v)) => assert_eq!(v, "b"),
        other => panic!("expected Full, got {other:?}"),
    }
    drop(rx);
    // Closed wins over Full: a dead consumer is reported as dead even if its buffer was full.
    match tx.try_send("c".into()) {
        Err(TrySendError::Closed(v)) => assert_eq!(v, "c"),
        other => panic!("expected Closed, got {other:?}"),
    }
}

#[test]
fn clones_share_one_capacity_and_keep_the_channel_open() {
    let (tx, mut rx) = mpsc::channel::<u8>(2);
    let tx2 = tx.clone();
    assert!(tx.same_channel(&tx2));
    tx.try_send(1).unwrap();
    tx2.try_send(2).unwrap();
    assert!(matches!(tx.try_send(3), Err(TrySendError::Full(_))));
    assert!(matches!(tx2.try_send(3), Err(TrySendError::Full(_))));
    drop(tx);
    assert_eq!(rx.try_recv(), Ok(1));
    assert_eq!(rx.try_recv(), Ok(2));
    assert_eq!(
        rx.try_recv(),
        Err(TryRecvError::Empty),
        "one clone still alive"
    );
    drop(tx2);
    assert_eq!(rx.try_recv(), Err(TryRecvError::Disconnected));
}

#[tokio::test]
async fn disconnection_is_visible_on_both_ends() {
    let (tx, mut rx) = mpsc::channel::<u8>(4);
    tx.try_send(7).unwrap();
    assert!(!tx.is_closed());
    let watcher = tx.clone();
    let closed = tokio::spawn(async move { watcher.closed().await });
    drop(tx);
    // Buffered values are still delivered after the senders are gone...
    assert_eq!(rx.recv().await, Some(7));
    assert!(!closed.is_finished());
    rx.close();
    tokio::time::timeout(HANG, closed).await.unwrap().unwrap();
    // ...and then the end of the stream is reported.
    assert_eq!(rx.recv().await, None);

    let (tx, rx) = mpsc::channel::<u8>(1);
    drop(rx);
    assert!(tx.is_closed());
    tokio::time::timeout(HANG, tx.closed()).await.unwrap();
}

#[tokio::test]
async fn a_burst_drains_in_order() {
    let (tx, mut rx) = mpsc::channel::<u32>(256);
    for i in 0..256 {
        tx.try_send(i).unwrap();
    }
    let mut batch = Vec::new();
    let n = rx.recv_many(&mut batch, 1000).await;
    assert_eq!(n, 256);
    assert_eq!(batch, (0..256).collect::<Vec<_>>());
    assert_eq!(rx.try_recv(), Err(TryRecvError::Empty));
    assert_eq!(tx.capacity(), 256);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn many_producers_lose_nothing_and_keep_per_producer_order() {
    const PRODUCERS: u32 = 8;
    const EACH: u32 = 2_000;
    let (tx, mut rx) = mpsc::channel::<(u32, u32)>(16);
    for p in 0..PRODUCERS {
        let tx = tx.clone();
        tokio::spawn(async move {
            for i in 0..EACH {
                // Test producers may wait; the listener may not (that is the point of the crate).
                tx.send((p, i)).await.unwrap();
            }
        });
    }
    drop(tx);
    let mut next = vec![0u32; PRODUCERS as usize];
    let drained = tokio::time::timeout(HANG, async {
        while let Some((p, i)) = rx.recv().await {
            assert_eq!(next[p as usize], i, "producer {p} out of order");
            next[p as usize] += 1;
        }
    })
    .await;
    assert!(drained.is_ok());
    assert!(next.iter().all(|n| *n == EACH));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_receiver_only_costs_full_answers() {
    let (tx, mut rx) = mpsc::channel::<u32>(8);
    let receiver = tokio::spawn(async move {
        let mut got = Vec::new();
        while let Some(v) = rx.recv().await {
            got.push(v);
            tokio::time::sleep(Duration::from_millis(1)).await;
        }
        got
    });
    let (mut sent, mut full) = (Vec::new(), 0);
    let start = std::time::Instant::now();
    for i in 0..5_000u32 {
        match tx.try_send(i) {
            Ok(()) => sent.push(i),
            Err(TrySendError::Full(_)) => full += 1,
            Err(TrySendError::Closed(_)) => panic!("receiver alive"),
        }
        if i % 500 == 0 {
            tokio::time::sleep(Duration::from_millis(2)).await;
        }
    }
    assert!(start.elapsed() < HANG);
    assert!(full > 0, "the receiver is slower than the producer");
    assert_eq!(sent.len() + full, 5_000);
    drop(tx);
    let got = tokio::time::timeout(HANG, receiver).await.unwrap().unwrap();
    assert_eq!(got, sent, "everything accepted is delivered, in order");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropping_the_last_sender_wakes_a_parked_receiver() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let (parked_tx, parked_rx) = tokio::sync::oneshot::channel();
    let receiver = tokio::spawn(async move {
        let _ = parked_tx.send(());
        rx.recv().await
    });
    parked_rx.await.unwrap();
    tokio::time::sleep(Duration::from_millis(20)).await; // let it park inside recv()
    assert!(!receiver.is_finished());
    drop(tx);
    let result = tokio::time::timeout(HANG, receiver)
        .await
        .expect("receiver never woke");
    assert_eq!(result.unwrap(), None);
}

#[test]
fn a_parked_receiver_is_woken_once_per_event_and_never_spuriously() {
    let (tx, mut rx) = mpsc::channel::<u8>(4);
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut recv = pin!(rx.recv());
    assert!(recv.as_mut().poll(&mut cx).is_pending());
    assert!(
        recv.as_mut().poll(&mut cx).is_pending(),
        "re-polling is harmless"
    );
    assert_eq!(counter.count(), 0, "nothing happened, so nobody was woken");
    tx.try_send(1).unwrap();
    assert_eq!(counter.count(), 1, "one send, one wake-up");
    tx.try_send(2).unwrap();
    assert!(counter.count() <= 2);
    assert_eq!(recv.as_mut().poll(&mut cx), Poll::Ready(Some(1)));

    // A full channel with a sender parked in reserve(): woken once when a slot frees up.
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    tx.try_send(0).unwrap();
    let counter = Arc::new(CountingWaker::default());
    let waker = Waker::from(Arc::clone(&counter));
    let mut cx = Context::from_waker(&waker);
    let mut reserve = pin!(tx.reserve());
    assert!(reserve.as_mut().poll(&mut cx).is_pending());
    assert_eq!(counter.count(), 0);
    assert_eq!(rx.try_recv(), Ok(0));
    assert_eq!(counter.count(), 1);
    assert!(reserve.as_mut().poll(&mut cx).is_ready());
}

/// Counts how often the wrapped future is polled.
struct CountPolls<F> {
    inner: std::pin::Pin<Box<F>>,
    polls: Arc<AtomicUsize>,
}

impl<F: Future> Future for CountPolls<F> {
    type Output = F::Output;
    fn poll(mut self: std::pin::Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<F::Output> {
        self.polls.fetch_add(1, Ordering::SeqCst);
        self.inner.as_mut().poll(cx)
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn an_idle_receiver_task_is_not_polled_in_a_loop() {
    let (tx, mut rx) = mpsc::channel::<u8>(1);
    let polls = Arc::new(AtomicUsize::new(0));
    let task = tokio::spawn(CountPolls {
        inner: Box::pin(async move { rx.recv().await }),
        polls: Arc::clone(&polls),
    });
    tokio::time::sleep(Duration::from_millis(200)).await;
    let idle_polls = polls.load(Ordering::SeqCst);
    assert!(
        idle_polls <= 2,
        "an idle receiver was polled {idle_polls} times: busy loop"
    );
    tx.try_send(9).unwrap();
    assert_eq!(
        tokio::time::timeout(HANG, task).await.unwrap().unwrap(),
        Some(9)
    );
    assert!(polls.load(Ordering::SeqCst) <= idle_polls + 2);
}

/// The hazard the crate exists to avoid: on a full channel whose receiver is
/// alive but not reading, `send().await` does not complete. (Bounded by a short
/// timeout; in the original bug there was none.)
#[tokio::test]
async fn send_await_on_a_full_channel_waits_for_the_receiver() {
    let (tx, _rx_alive_but_never_read) = mpsc::channel::<u8>(1);
    tx.try_send(0).unwrap();
    let waited = tokio::time::timeout(Duration::from_millis(50), tx.send(1)).await;
    assert!(
        waited.is_err(),
        "send().await blocked, as the listener did in the original hang"
    );
    assert!(
        matches!(tx.try_send(1), Err(TrySendError::Full(1))),
        "try_send answers at once"
    );
}
