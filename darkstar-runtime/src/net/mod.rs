//! The network side: listeners for TCP and WebSocket clients, on a tokio runtime of their
//! own, talking to the cores through their inboxes.

mod account_command;
mod auth;
mod connection;
mod transport;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use darkstar_protocol::DisconnectReason;
use tokio::net::TcpListener;
use tracing::{info, warn};

pub use account_command::{AccountCommand, AccountCommandError};
pub(crate) use auth::Account;
pub use auth::{AccountError, Accounts, Authenticator, DevelopmentAuthenticator, MAX_ACCOUNT_NAME};

use crate::config::Config;
use crate::error::StartError;
use crate::session::SessionLink;
use crate::shared::Shared;

/// What every connection shares.
pub(crate) struct NetShared {
    pub config: Config,
    pub authenticator: Arc<dyn Authenticator>,
    next_connection: AtomicU64,
}

impl NetShared {
    /// A fresh connection number (never 0).
    pub fn next_connection(&self) -> u64 {
        self.next_connection.fetch_add(1, Ordering::Relaxed)
    }

    /// How long a begun frame may take to complete.
    pub fn stall(&self) -> Duration {
        Duration::from_millis(self.config.frame_timeout_ms)
    }

    /// The outgoing queue bound of a session, in bytes.
    pub fn queue_bytes(&self) -> usize {
        self.config.session_queue_kib as usize * 1024
    }

    /// Waits out the reconnection window of a session whose connection dropped; ends it
    /// unless a client resumed it meanwhile.
    pub fn await_resume(self: &Arc<Self>, shared: Arc<Shared>, link: Arc<SessionLink>) {
        let window = Duration::from_millis(u64::from(self.config.resume_window_ms));
        let resumes = link.resumes();
        tokio::spawn(async move {
            tokio::time::sleep(window).await;
            if link.attached() == 0 && link.resumes() == resumes {
                shared.end_session(
                    link.id,
                    DisconnectReason::Expired,
                    "the client did not come back within the reconnection window",
                    false,
                );
            }
        });
    }
}

/// The running listeners.
#[derive(Default)]
pub(crate) struct Network {
    runtime: Option<tokio::runtime::Runtime>,
    /// The bound addresses: TCP, WebSocket.
    pub tcp_addr: Option<SocketAddr>,
    pub ws_addr: Option<SocketAddr>,
}

impl Network {
    /// Binds the configured listeners and starts serving.
    pub fn start(
        shared: Arc<Shared>,
        config: &Config,
        authenticator: Arc<dyn Authenticator>,
    ) -> Result<Network, StartError> {
        if config.tcp_addr.is_none() && config.ws_addr.is_none() {
            return Ok(Network {
                runtime: None,
                tcp_addr: None,
                ws_addr: None,
            });
        }
        raise_open_file_limit();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.network_threads)
            .thread_name("darkstar-net")
            .enable_all()
            .build()
            .map_err(|e| StartError::Network(format!("cannot start the network threads: {e}")))?;
        let net = Arc::new(NetShared {
            config: config.clone(),
            authenticator,
            next_connection: AtomicU64::new(1),
        });
        let bind = |addr: SocketAddr, what: &str| {
            let std = std::net::TcpListener::bind(addr).map_err(|e| {
                StartError::Network(format!("cannot listen for {what} clients on {addr}: {e}"))
            })?;
            std.set_nonblocking(true)
                .map_err(|e| StartError::Network(e.to_string()))?;
            let local = std
                .local_addr()
                .map_err(|e| StartError::Network(e.to_string()))?;
            let _guard = runtime.enter();
            let listener =
                TcpListener::from_std(std).map_err(|e| StartError::Network(e.to_string()))?;
            Ok::<_, StartError>((listener, local))
        };
        let mut tcp_addr = None;
        let mut ws_addr = None;
        if let Some(addr) = config.tcp_addr {
            let (listener, local) = bind(addr, "TCP")?;
            tcp_addr = Some(local);
            runtime.spawn(accept_tcp(listener, shared.clone(), net.clone()));
            info!(addr = %local, "listening for TCP clients");
        }
        if let Some(addr) = config.ws_addr {
            let (listener, local) = bind(addr, "WebSocket")?;
            ws_addr = Some(local);
            runtime.spawn(accept_ws(listener, shared.clone(), net.clone()));
            info!(addr = %local, "listening for WebSocket clients");
        }
        Ok(Network {
            runtime: Some(runtime),
            tcp_addr,
            ws_addr,
        })
    }

    /// Tells every client the server is stopping, gives them a moment to hear it, and
    /// stops the listeners. Sessions stay stored; the next start ends them properly.
    pub fn stop(&mut self, shared: &Shared) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let links = shared.sessions.all();
        for link in &links {
            link.end(DisconnectReason::Shutdown, "the server is shutting down");
        }
        if !links.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
        // A runtime cannot be shut down from inside another one (a server stopped from
        // async code): do it on a thread of its own.
        let stopper = std::thread::spawn(move || runtime.shutdown_timeout(Duration::from_secs(1)));
        let _ = stopper.join();
    }
}

async fn accept_tcp(listener: TcpListener, shared: Arc<Shared>, net: Arc<NetShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                crate::metrics::connection_accepted("tcp");
                let (reader, writer) = transport::tcp(stream);
                tokio::spawn(connection::serve(
                    shared.clone(),
                    net.clone(),
                    reader,
                    writer,
                ));
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

async fn accept_ws(listener: TcpListener, shared: Arc<Shared>, net: Arc<NetShared>) {
    loop {
        match listener.accept().await {
            Ok((stream, _)) => {
                crate::metrics::connection_accepted("websocket");
                let shared = shared.clone();
                let net = net.clone();
                tokio::spawn(async move {
                    let _ = stream.set_nodelay(true);
                    let max = net.config.max_frame as usize + darkstar_protocol::HEADER_LEN;
                    let ws_config =
                        tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                            .max_message_size(Some(max))
                            .max_frame_size(Some(max));
                    let timeout = Duration::from_millis(net.config.login_timeout_ms);
                    let handshake =
                        tokio_tungstenite::accept_async_with_config(stream, Some(ws_config));
                    match tokio::time::timeout(timeout, handshake).await {
                        Ok(Ok(ws)) => {
                            let (reader, writer) = transport::websocket(ws);
                            connection::serve(shared, net, reader, writer).await;
                        }
                        _ => crate::metrics::connection_refused(DisconnectReason::ProtocolError),
                    }
                });
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

/// Out of file descriptors, most likely: log it and pause rather than spin.
async fn accept_failed(e: std::io::Error) {
    warn!(error = %e, "cannot accept a connection");
    tokio::time::sleep(Duration::from_millis(50)).await;
}

/// Raises this process's open-file limit to its hard limit, and returns the limit now in
/// force (0 if it cannot be read). Every connection is a file descriptor, and the usual soft
/// limit of 1024 is far below what a server holds; the server calls this when it starts
/// listening, and a load generator or test holding many client connections can call it too.
pub fn raise_open_file_limit() -> u64 {
    let mut lim = libc::rlimit {
        rlim_cur: 0,
        rlim_max: 0,
    };
    // SAFETY: getrlimit only writes the struct passed to it.
    if unsafe { libc::getrlimit(libc::RLIMIT_NOFILE, &mut lim) } != 0 {
        return 0;
    }
    if lim.rlim_cur < lim.rlim_max {
        let wanted = libc::rlimit {
            rlim_cur: lim.rlim_max,
            rlim_max: lim.rlim_max,
        };
        // SAFETY: setrlimit only reads the struct passed to it.
        if unsafe { libc::setrlimit(libc::RLIMIT_NOFILE, &wanted) } == 0 {
            info!(
                from = lim.rlim_cur,
                to = lim.rlim_max,
                "raised the open-file limit"
            );
            return lim.rlim_max;
        }
    }
    lim.rlim_cur
}
