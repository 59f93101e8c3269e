//! The network side: listeners for TCP and WebSocket clients, on a tokio runtime of their
//! own, talking to the cores through their inboxes.
//!
//! A connection is admitted by address first (`admission`), then served (`connection`):
//! its password checked on the login threads (`login_pool`, `password`), its session
//! carried over frames (`transport`) at the session's inbound rate (`pace`). Whatever
//! a peer does wrong is counted and logged at a bounded rate (`incident`).

mod account_command;
mod admission;
mod auth;
mod budget;
mod connection;
mod incident;
mod login_pool;
mod pace;
mod password;
mod transport;

use std::net::SocketAddr;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use darkstar_protocol::{DisconnectReason, ServerFrame};
use tokio::io::AsyncReadExt;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_tungstenite::tungstenite::handshake::server::{ErrorResponse, Request, Response};
use tracing::{info, warn};

pub use account_command::{AccountCommand, AccountCommandError};
pub(crate) use auth::Account;
pub use auth::{AccountError, Accounts, Authenticator, DevelopmentAuthenticator, MAX_ACCOUNT_NAME};
pub(crate) use pace::SessionPace;

use crate::config::Config;
use crate::error::StartError;
use crate::net::admission::{Admission, Limit, Ticket};
use crate::net::budget::{Budget, Budgeted};
use crate::net::incident::{Incident, Incidents};
use crate::net::login_pool::LoginPool;
use crate::session::{Expiry, SessionLink};
use crate::shared::Shared;

/// The WebSocket subprotocol a client may ask for; the server agrees to it, and needs none.
pub const WEBSOCKET_SUBPROTOCOL: &str = "darkstar";

/// Connections turned away by a limit that may still linger a moment, reading what their
/// peer sent so the close is not a reset; past this many they are dropped at once.
const TURNED_AWAY_LINGERING: usize = 256;

/// How long a connection turned away by a limit lingers.
const TURNED_AWAY_LINGER: Duration = Duration::from_secs(1);

/// What every connection shares.
pub(crate) struct NetShared {
    pub config: Config,
    pub authenticator: Arc<dyn Authenticator>,
    pub admission: Arc<Admission>,
    pub logins: LoginPool,
    pub incidents: Incidents,
    turned_away: Arc<Semaphore>,
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
    /// unless a client resumed it meanwhile. One timer per session, however often it drops
    /// and resumes: a later drop only moves the deadline.
    pub fn await_resume(self: &Arc<Self>, shared: Arc<Shared>, link: Arc<SessionLink>) {
        let window = Duration::from_millis(u64::from(self.config.resume_window_ms));
        let deadline = std::time::Instant::now() + window;
        if !link.arm_expiry(deadline) {
            return;
        }
        tokio::spawn(async move {
            let mut at = deadline;
            loop {
                tokio::time::sleep_until(at.into()).await;
                match link.check_expiry(std::time::Instant::now()) {
                    Expiry::Resumed => return,
                    Expiry::Later(later) => at = later,
                    Expiry::Expired => {
                        // This link: a session that moved away and came back is another.
                        shared.end_link(
                            &link,
                            DisconnectReason::Expired,
                            "the client did not come back within the reconnection window",
                            false,
                        );
                        return;
                    }
                }
            }
        });
    }
}

/// The running listeners.
#[derive(Default)]
pub(crate) struct Network {
    runtime: Option<tokio::runtime::Runtime>,
    net: Option<Arc<NetShared>>,
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
        restored: Vec<Arc<SessionLink>>,
    ) -> Result<Network, StartError> {
        if config.tcp_addr.is_none() && config.ws_addr.is_none() {
            // No client can come back for them.
            for link in restored {
                shared.end_link(
                    &link,
                    DisconnectReason::Expired,
                    "no client listener is configured",
                    false,
                );
            }
            return Ok(Network::default());
        }
        raise_open_file_limit();
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(config.network_threads)
            .thread_name("darkstar-net")
            .enable_all()
            .build()
            .map_err(|e| StartError::Network(format!("cannot start the network threads: {e}")))?;
        let logins = LoginPool::start(
            config.effective_login_threads(),
            config.login_queue as usize,
            config.login_queue_per_address as usize,
        )
        .map_err(|e| StartError::Network(format!("cannot start the login threads: {e}")))?;
        let net = Arc::new(NetShared {
            config: config.clone(),
            authenticator,
            admission: Arc::new(Admission::new(config)),
            logins,
            incidents: Incidents::new(),
            turned_away: Arc::new(Semaphore::new(TURNED_AWAY_LINGERING)),
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
            runtime.spawn(accept(
                listener,
                Transport::Tcp,
                shared.clone(),
                net.clone(),
            ));
            info!(addr = %local, "listening for TCP clients");
        }
        if let Some(addr) = config.ws_addr {
            let (listener, local) = bind(addr, "WebSocket")?;
            ws_addr = Some(local);
            runtime.spawn(accept(
                listener,
                Transport::WebSocket,
                shared.clone(),
                net.clone(),
            ));
            info!(addr = %local, "listening for WebSocket clients");
        }
        // Sessions restored from the store wait out a window of their own from now.
        {
            let _guard = runtime.enter();
            for link in restored {
                net.await_resume(shared.clone(), link);
            }
        }
        Ok(Network {
            runtime: Some(runtime),
            net: Some(net),
            tcp_addr,
            ws_addr,
        })
    }

    /// Tells every client the server is stopping, gives them a moment to hear it, and
    /// stops the listeners. Sessions stay stored; the next start restores them, for their
    /// clients to resume.
    pub fn stop(&mut self, shared: &Shared) {
        let Some(runtime) = self.runtime.take() else {
            return;
        };
        let links = shared.sessions.all();
        for link in &links {
            // Ended here, not through `end_session`: the sessions stay stored, and the next
            // start restores them.
            if link.end(DisconnectReason::Shutdown, "the server is shutting down") {
                crate::metrics::session_ended(DisconnectReason::Shutdown, link.was_started());
            }
        }
        if !links.is_empty() {
            std::thread::sleep(Duration::from_millis(200));
        }
        if let Some(net) = self.net.take() {
            net.logins.stop();
        }
        // A runtime cannot be shut down from inside another one (a server stopped from
        // async code): do it on a thread of its own. Its tasks hold the server's state, the
        // store among it: the wait lets them go before the store is closed, however loaded
        // the machine (it ends as soon as they are gone).
        let stopper = std::thread::spawn(move || runtime.shutdown_timeout(Duration::from_secs(30)));
        let _ = stopper.join();
    }
}

#[derive(Clone, Copy, PartialEq, Eq)]
enum Transport {
    Tcp,
    WebSocket,
}

impl Transport {
    fn name(self) -> &'static str {
        match self {
            Transport::Tcp => "tcp",
            Transport::WebSocket => "websocket",
        }
    }
}

async fn accept(
    listener: TcpListener,
    transport: Transport,
    shared: Arc<Shared>,
    net: Arc<NetShared>,
) {
    loop {
        match listener.accept().await {
            Ok((stream, peer)) => {
                crate::metrics::connection_accepted(transport.name());
                match net.admission.admit(peer.ip()) {
                    Ok(ticket) => {
                        tokio::spawn(serve(
                            shared.clone(),
                            net.clone(),
                            transport,
                            stream,
                            peer,
                            ticket,
                        ));
                    }
                    Err(limit) => turn_away(&net, transport, stream, peer, limit),
                }
            }
            Err(e) => accept_failed(e).await,
        }
    }
}

async fn serve(
    shared: Arc<Shared>,
    net: Arc<NetShared>,
    transport: Transport,
    stream: TcpStream,
    peer: SocketAddr,
    ticket: Ticket,
) {
    let _ = stream.set_nodelay(true);
    let (reader, writer) = match transport {
        Transport::Tcp => transport::tcp(stream),
        Transport::WebSocket => {
            let max = net.config.max_frame as usize + darkstar_protocol::HEADER_LEN;
            // Small buffers: a connection that has not logged in holds little memory.
            let ws_config = tokio_tungstenite::tungstenite::protocol::WebSocketConfig::default()
                .read_buffer_size(4096)
                .write_buffer_size(transport::WRITE_BUFFER)
                .max_message_size(Some(max))
                .max_frame_size(Some(max));
            let timeout = Duration::from_millis(net.config.login_timeout_ms);
            let budget = Budget::prelogin();
            let handshake = tokio_tungstenite::accept_hdr_async_with_config(
                Budgeted::new(stream, budget.clone()),
                agree_subprotocol,
                Some(ws_config),
            );
            match tokio::time::timeout(timeout, handshake).await {
                Ok(Ok(ws)) => transport::websocket(ws, budget),
                Ok(Err(e)) => {
                    crate::metrics::connection_refused(DisconnectReason::ProtocolError);
                    net.incidents.report(
                        Incident::Handshake,
                        peer,
                        &format!("WebSocket handshake failed: {e}"),
                    );
                    return;
                }
                Err(_) => {
                    crate::metrics::connection_refused(DisconnectReason::LoginTimeout);
                    net.incidents.report(
                        Incident::LoginTimeout,
                        peer,
                        "no WebSocket handshake within the login timeout",
                    );
                    return;
                }
            }
        }
    };
    connection::serve(shared, net, peer, ticket, reader, writer).await;
}

/// Agrees to the `darkstar` subprotocol when a client asks for it among others; a client
/// that asks for none gets none.
#[allow(clippy::result_large_err)]
fn agree_subprotocol(request: &Request, mut response: Response) -> Result<Response, ErrorResponse> {
    let offered = request
        .headers()
        .get_all("sec-websocket-protocol")
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|p| p.trim() == WEBSOCKET_SUBPROTOCOL);
    if offered {
        response.headers_mut().insert(
            "sec-websocket-protocol",
            WEBSOCKET_SUBPROTOCOL.parse().expect("a valid header value"),
        );
    }
    Ok(response)
}

/// Turns away a connection a limit refused, without a task of its own unless one is to
/// spare: tells it why if its socket takes the bytes at once (a `Disconnect` frame, or an
/// HTTP 503 before a WebSocket handshake), and closes.
fn turn_away(
    net: &NetShared,
    transport: Transport,
    stream: TcpStream,
    peer: SocketAddr,
    limit: Limit,
) {
    crate::metrics::connection_refused(limit.reason());
    net.incidents
        .report(Incident::Refused(limit), peer, limit.text());
    let bytes = match transport {
        Transport::Tcp => ServerFrame::Disconnect {
            reason: limit.reason(),
            text: limit.text().to_owned(),
        }
        .to_bytes(),
        Transport::WebSocket => {
            let body = format!("{}: {}", limit.reason().name(), limit.text());
            format!(
                "HTTP/1.1 503 Service Unavailable\r\nConnection: close\r\nContent-Type: text/plain\r\nRetry-After: 1\r\nContent-Length: {}\r\n\r\n{body}",
                body.len()
            )
            .into_bytes()
        }
    };
    let _ = stream.try_write(&bytes);
    let Ok(permit) = net.turned_away.clone().try_acquire_owned() else {
        return;
    };
    tokio::spawn(async move {
        let _permit = permit;
        let mut stream = stream;
        let (mut rd, mut wr) = stream.split();
        let _ = tokio::io::AsyncWriteExt::shutdown(&mut wr).await;
        let mut sink = [0u8; 1024];
        let _ = tokio::time::timeout(TURNED_AWAY_LINGER, async {
            while let Ok(n) = rd.read(&mut sink).await {
                if n == 0 {
                    break;
                }
            }
        })
        .await;
    });
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
