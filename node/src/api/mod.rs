//! The node's HTTP API (axum 0.7).
//!
//! | route | what it does |
//! |---|---|
//! | `GET /health` | liveness: `{"status":"ok","udp":..,"peers":N,"uptime_secs":..}` |
//! | `GET /peers` | established peers with their inbox fill level |
//! | `POST /messages` | `{"peer":"ADDR","text":"..."}`: queue a message (202), 404 unknown peer, 503 outbox full |
//! | `GET /messages` | messages received so far (the last `message_store_capacity`) |
//! | `GET /metrics` | every counter, Prometheus text format |
//!
//! The handlers only read shared state or `try_send` into a peer's outbox, so
//! the API never waits on the transport: it keeps answering while a peer is
//! stuck, which the integration tests check. The API state is not generic over
//! the socket type: it is a [`NodeView`] (the routing table, the counters, the
//! message store and the clock), nothing else. This module does not know
//! `crate::node` (nor the node this one), so the API can be served over any
//! view, e.g. in-process in the simulation test.

use std::io;
use std::net::SocketAddr;

use axum::extract::State;
use axum::http::{header, StatusCode};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;
use tokio::sync::watch;

use crate::transport::connection_state::SendMessageError;
pub use crate::view::NodeView;

/// What the handlers share: a view of the node.
pub type ApiState = NodeView;

/// `GET /health` body.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct Health {
    /// Always `"ok"` when the API answers.
    pub status: String,
    /// The node's UDP address.
    pub udp: String,
    /// Established peers.
    pub peers: usize,
    /// Seconds since start.
    pub uptime_secs: u64,
}

/// One entry of `GET /peers`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct PeerView {
    /// The peer's UDP address.
    pub addr: String,
    /// Connection id.
    pub conn_id: u64,
    /// Free slots in the peer task's inbox.
    pub inbox_free: usize,
    /// Inbox capacity.
    pub inbox_capacity: usize,
    /// Seconds since the connection was established.
    pub connected_secs: u64,
}

/// `POST /messages` body.
#[derive(Debug, Serialize, Deserialize)]
pub struct SendRequest {
    /// The peer's UDP address.
    pub peer: String,
    /// The message (UTF-8).
    pub text: String,
}

/// One entry of `GET /messages`.
#[derive(Debug, Serialize, Deserialize, PartialEq, Eq)]
pub struct MessageView {
    /// The sender's UDP address.
    pub from: String,
    /// The sender's sequence number.
    pub seq: u32,
    /// The message, decoded as UTF-8 (lossily).
    pub text: String,
    /// Size in bytes.
    pub bytes: usize,
    /// Arrival, ms since the Unix epoch.
    pub received_at_ms: u64,
}

/// The API's routes over `api`.
pub fn router(api: ApiState) -> Router {
    Router::new()
        .route("/health", get(health))
        .route("/peers", get(peers))
        .route("/messages", get(list_messages).post(post_message))
        .route("/metrics", get(metrics))
        .with_state(api)
}

/// Serves the API on `listener` until `shutdown` turns `true` (or its sender is dropped).
pub async fn serve(
    listener: TcpListener,
    api: ApiState,
    mut shutdown: watch::Receiver<bool>,
) -> io::Result<()> {
    axum::serve(listener, router(api))
        .with_graceful_shutdown(async move {
            while !*shutdown.borrow() {
                if shutdown.changed().await.is_err() {
                    break;
                }
            }
        })
        .await
}

async fn health(State(api): State<ApiState>) -> Json<Health> {
    Json(Health {
        status: "ok".to_string(),
        udp: api.udp_addr.to_string(),
        peers: api.state.len(),
        uptime_secs: api
            .clock
            .now()
            .saturating_duration_since(api.started)
            .as_secs(),
    })
}

async fn peers(State(api): State<ApiState>) -> Json<Vec<PeerView>> {
    let now = api.clock.now();
    let peers = api
        .state
        .peers()
        .into_iter()
        .map(|(addr, handle)| PeerView {
            addr: addr.to_string(),
            conn_id: handle.conn_id,
            inbox_free: handle.inbox_free(),
            inbox_capacity: handle.inbox_capacity(),
            connected_secs: now
                .saturating_duration_since(handle.established_at)
                .as_secs(),
        })
        .collect();
    Json(peers)
}

async fn list_messages(State(api): State<ApiState>) -> Json<Vec<MessageView>> {
    let messages = api
        .messages
        .snapshot()
        .into_iter()
        .map(|m| MessageView {
            from: m.from.to_string(),
            seq: m.seq,
            text: String::from_utf8_lossy(&m.data).into_owned(),
            bytes: m.data.len(),
            received_at_ms: m.received_at_ms,
        })
        .collect();
    Json(messages)
}

fn error(status: StatusCode, message: impl Into<String>) -> Response {
    (status, Json(serde_json::json!({ "error": message.into() }))).into_response()
}

async fn post_message(State(api): State<ApiState>, Json(request): Json<SendRequest>) -> Response {
    let Ok(peer) = request.peer.parse::<SocketAddr>() else {
        return error(
            StatusCode::BAD_REQUEST,
            format!("not a socket address: {}", request.peer),
        );
    };
    let bytes = request.text.len();
    match api.state.try_queue_message(peer, request.text.into_bytes()) {
        Ok(()) => (
            StatusCode::ACCEPTED,
            Json(serde_json::json!({ "queued": true, "peer": peer.to_string(), "bytes": bytes })),
        )
            .into_response(),
        Err(e @ SendMessageError::UnknownPeer) => error(StatusCode::NOT_FOUND, e.to_string()),
        Err(e @ SendMessageError::TooLarge) => error(StatusCode::PAYLOAD_TOO_LARGE, e.to_string()),
        Err(e @ (SendMessageError::Full | SendMessageError::PeerGone)) => {
            error(StatusCode::SERVICE_UNAVAILABLE, e.to_string())
        }
    }
}

async fn metrics(State(api): State<ApiState>) -> impl IntoResponse {
    (
        [(
            header::CONTENT_TYPE,
            "text/plain; version=0.0.4; charset=utf-8",
        )],
        api.metrics.render_prometheus(),
    )
}
