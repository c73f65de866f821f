//! The `channel-node` binary: one node on a real UDP socket, with its HTTP API.
//!
//! ```text
//! channel-node --udp 127.0.0.1:7000 --http 127.0.0.1:8000
//! channel-node --udp 127.0.0.1:7001 --http 127.0.0.1:8001 --gateway 127.0.0.1:7000
//! ```
//!
//! Logs go to stderr through `tracing-subscriber`; set `RUST_LOG` (default
//! `info`) to change the level, e.g. `RUST_LOG=channel_node=debug`.
//! Ctrl-C stops the node cleanly.

use std::io::IsTerminal;
use std::net::SocketAddr;
use std::process::ExitCode;

use channel_node::transport::udp::UdpTransport;
use channel_node::{api, Node, NodeConfig};
use clap::Parser;
use tracing::{error, info};
use tracing_subscriber::EnvFilter;

/// A UDP peer node whose listener never waits on a peer.
#[derive(Debug, Parser)]
#[command(name = "channel-node", version)]
struct Args {
    /// UDP address to bind (peers talk to this).
    #[arg(long, value_name = "ADDR")]
    udp: SocketAddr,
    /// HTTP address of the API.
    #[arg(long, value_name = "ADDR")]
    http: SocketAddr,
    /// Gateway node to join through (its UDP address).
    #[arg(long, value_name = "ADDR")]
    gateway: Option<SocketAddr>,
}

#[tokio::main]
async fn main() -> ExitCode {
    tracing_subscriber::fmt()
        .with_env_filter(
            EnvFilter::try_from_default_env().unwrap_or_else(|_| EnvFilter::new("info")),
        )
        .with_writer(std::io::stderr)
        .with_ansi(std::io::stderr().is_terminal())
        .init();
    let args = Args::parse();
    match run(args).await {
        Ok(()) => ExitCode::SUCCESS,
        Err(error) => {
            error!(%error, "channel-node failed");
            ExitCode::FAILURE
        }
    }
}

async fn run(args: Args) -> std::io::Result<()> {
    let socket = UdpTransport::bind(args.udp).await?;
    let node = Node::start(socket, NodeConfig::default())?;
    let http = tokio::net::TcpListener::bind(args.http).await?;
    info!(udp = %node.local_addr(), http = %http.local_addr()?, "channel-node started");
    let server = tokio::spawn(api::serve(http, node.view(), node.shutdown_signal()));

    if let Some(gateway) = args.gateway {
        match node.connect_gateway(gateway).await {
            Ok(()) => info!(%gateway, "joined the network"),
            Err(error) => error!(%gateway, %error, "could not join through the gateway"),
        }
    }

    tokio::signal::ctrl_c().await?;
    info!("shutting down");
    let result = node.shutdown().await;
    match server.await {
        Ok(served) => served?,
        Err(join_error) => return Err(std::io::Error::other(join_error)),
    }
    result
}
