//! Helpers shared by the integration tests: a fast node configuration, a
//! tiny raw-TCP HTTP/1.1 client (no extra dependency), an API server
//! started on an ephemeral loopback port (real-time tests), and an
//! in-process API call through the axum `Router` (paused-time tests: no
//! socket, so virtual time cannot jump while a request is in flight).

#![allow(dead_code)]

use std::net::SocketAddr;
use std::time::Duration;

use channel_node::api::{self, ApiState};
use channel_node::transport::handshake::HandshakeConfig;
use channel_node::transport::peer::PeerConfig;
use channel_node::NodeConfig;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::watch;

/// Upper bound for any single wait in the tests: a hang detector, not a performance target.
pub const HANG: Duration = Duration::from_secs(60);

/// Node settings for tests: short handshake cadence, generous timeouts for a loaded CI box.
pub fn test_config() -> NodeConfig {
    NodeConfig {
        peer: PeerConfig {
            retransmit_timeout: Duration::from_millis(150),
            peer_timeout: Duration::from_secs(30),
            tick: Duration::from_millis(25),
            ..PeerConfig::default()
        },
        handshake: HandshakeConfig {
            retry_interval: Duration::from_millis(50),
            deadline: Duration::from_secs(10),
            ..HandshakeConfig::default()
        },
        message_store_capacity: 50_000,
        ..NodeConfig::default()
    }
}

/// A parsed HTTP response.
#[derive(Debug)]
pub struct HttpResponse {
    pub status: u16,
    pub body: String,
}

/// Sends one HTTP/1.1 request with `Connection: close` and reads the whole response.
pub async fn http(addr: SocketAddr, method: &str, path: &str, body: Option<&str>) -> HttpResponse {
    let mut stream = TcpStream::connect(addr).await.expect("connect to API");
    let mut request = format!("{method} {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n");
    if let Some(body) = body {
        request.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
            body.len()
        ));
    } else {
        request.push_str("\r\n");
    }
    stream
        .write_all(request.as_bytes())
        .await
        .expect("write request");
    let mut raw = Vec::new();
    stream.read_to_end(&mut raw).await.expect("read response");
    let text = String::from_utf8_lossy(&raw).into_owned();
    let (head, body) = text.split_once("\r\n\r\n").expect("HTTP head");
    let status = head
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .expect("status code");
    HttpResponse {
        status,
        body: body.to_string(),
    }
}

/// GET with a hang detector.
pub async fn get(addr: SocketAddr, path: &str) -> HttpResponse {
    tokio::time::timeout(HANG, http(addr, "GET", path, None))
        .await
        .expect("API did not answer in time")
}

/// Serves the API of a node on 127.0.0.1:0; returns its address and a stop switch.
pub async fn serve_api(state: ApiState) -> (SocketAddr, watch::Sender<bool>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let (stop, stopped) = watch::channel(false);
    tokio::spawn(api::serve(listener, state, stopped));
    (addr, stop)
}

/// Calls the API in-process: `router` as a `tower::Service`, no TCP. Paused-time
/// tests use this instead of [`http`]: tokio advances virtual time whenever the
/// runtime is idle, so a real socket round trip could see a timer fire mid-request.
pub async fn call(
    router: &axum::Router,
    method: &str,
    path: &str,
    body: Option<&str>,
) -> HttpResponse {
    use tower::ServiceExt;
    let mut request = axum::http::Request::builder().method(method).uri(path);
    if body.is_some() {
        request = request.header("content-type", "application/json");
    }
    let request = request
        .body(axum::body::Body::from(body.unwrap_or("").to_string()))
        .expect("request");
    let response = router.clone().oneshot(request).await.expect("infallible");
    let status = response.status().as_u16();
    let bytes = axum::body::to_bytes(response.into_body(), usize::MAX)
        .await
        .expect("response body");
    HttpResponse {
        status,
        body: String::from_utf8_lossy(&bytes).into_owned(),
    }
}

/// A deterministic message body: a header naming it, then a byte pattern.
pub fn message_body(tag: &str, index: usize, len: usize) -> Vec<u8> {
    let mut body = format!("{tag}:{index}:").into_bytes();
    let mut x = (index as u32).wrapping_mul(2_654_435_761);
    while body.len() < len {
        x ^= x << 13;
        x ^= x >> 17;
        x ^= x << 5;
        body.push(x as u8);
    }
    body
}

/// Parses `tag:index:` back out of a body made by [`message_body`].
pub fn parse_index(body: &[u8], tag: &str) -> Option<usize> {
    let prefix = format!("{tag}:");
    let rest = body.strip_prefix(prefix.as_bytes())?;
    let end = rest.iter().position(|b| *b == b':')?;
    std::str::from_utf8(&rest[..end]).ok()?.parse().ok()
}

/// Runs futures concurrently on the current task and collects their outputs
/// in order (a tiny `join_all`, to avoid a `futures` dependency).
pub async fn join_all<F: std::future::Future>(
    futures: impl IntoIterator<Item = F>,
) -> Vec<F::Output> {
    let mut set: Vec<_> = futures.into_iter().map(Box::pin).collect();
    let mut outputs: Vec<Option<F::Output>> = set.iter().map(|_| None).collect();
    std::future::poll_fn(|cx| {
        let mut pending = false;
        for (f, out) in set.iter_mut().zip(outputs.iter_mut()) {
            if out.is_none() {
                match f.as_mut().poll(cx) {
                    std::task::Poll::Ready(v) => *out = Some(v),
                    std::task::Poll::Pending => pending = true,
                }
            }
        }
        if pending {
            std::task::Poll::Pending
        } else {
            std::task::Poll::Ready(())
        }
    })
    .await;
    outputs.into_iter().map(|o| o.expect("completed")).collect()
}
