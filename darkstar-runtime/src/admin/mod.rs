//! The admin listener: a JSON API for operators and their tools, and the dashboard page
//! that reads it (`book/src/admin-api.md`, `book/src/operations.md`).
//!
//! Off unless `admin_addr` is set, and then only with `admin_token`, which every request
//! but `/health` and the page's own files must carry. It runs on a thread and runtime of
//! its own, apart from the game's listeners, and takes at most [`MAX_CONNECTIONS`]
//! connections, each given [`HEADER_TIMEOUT`] to send its request head and
//! [`CONNECTION_LIFETIME`] in all, so a peer without the token costs a bounded amount.

mod assets;
mod error;
mod routes;
mod status;
mod token;
mod view;

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hyper_util::rt::{TokioIo, TokioTimer};
use tokio::sync::{Notify, Semaphore};
use tracing::{info, warn};

pub use error::AdminError;
pub(crate) use view::View;

/// Most connections open at once; more are closed as soon as they are accepted.
pub(crate) const MAX_CONNECTIONS: usize = 64;
/// Time a connection has to send a request's head.
pub(crate) const HEADER_TIMEOUT: Duration = Duration::from_secs(10);
/// Longest a connection lives (a dashboard polling through one reconnects after it).
pub(crate) const CONNECTION_LIFETIME: Duration = Duration::from_secs(300);

/// The running admin listener. Dropping it stops it.
pub(crate) struct AdminListener {
    addr: SocketAddr,
    stop: Arc<Notify>,
    thread: Option<std::thread::JoinHandle<()>>,
}

impl AdminListener {
    /// Binds `addr` and serves the admin API for `view`, checked against `token`.
    pub fn start(
        addr: SocketAddr,
        token: Option<&str>,
        view: View,
    ) -> Result<AdminListener, AdminError> {
        let token = token
            .ok_or(AdminError::NoToken)
            .and_then(|t| token::AdminToken::new(t).map_err(AdminError::BadToken))?;
        let std_listener = std::net::TcpListener::bind(addr)
            .map_err(|source| AdminError::Bind { addr, source })?;
        let bound = std_listener
            .local_addr()
            .map_err(|source| AdminError::Bind { addr, source })?;
        std_listener
            .set_nonblocking(true)
            .map_err(|source| AdminError::Bind { addr, source })?;
        if !bound.ip().is_loopback() {
            warn!(admin_addr = %bound, "the admin API listens beyond loopback; keep it on a private network");
        }
        let runtime = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .map_err(AdminError::Start)?;
        let router = routes::router(Arc::new(routes::Admin { view, token }));
        let stop = Arc::new(Notify::new());
        let stopped = stop.clone();
        let thread = std::thread::Builder::new()
            .name("darkstar-admin".to_owned())
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(std_listener) {
                        Ok(listener) => serve(listener, router, stopped).await,
                        Err(e) => warn!(error = %e, "the admin listener cannot run"),
                    }
                });
                runtime.shutdown_timeout(Duration::from_secs(1));
            })
            .map_err(AdminError::Start)?;
        info!(admin_addr = %bound, "admin API listening");
        Ok(AdminListener {
            addr: bound,
            stop,
            thread: Some(thread),
        })
    }

    /// The bound address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for AdminListener {
    fn drop(&mut self) {
        self.stop.notify_one();
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

async fn serve(listener: tokio::net::TcpListener, router: axum::Router, stop: Arc<Notify>) {
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    loop {
        let accepted = tokio::select! {
            accepted = listener.accept() => accepted,
            () = stop.notified() => return,
        };
        let stream = match accepted {
            Ok((stream, _)) => stream,
            Err(e) => {
                // Out of file descriptors, say: wait a moment rather than spin.
                warn!(error = %e, "the admin listener cannot accept");
                tokio::time::sleep(Duration::from_millis(100)).await;
                continue;
            }
        };
        let Ok(slot) = slots.clone().try_acquire_owned() else {
            // Full: closed at once, costing nothing more.
            continue;
        };
        let service = hyper_util::service::TowerToHyperService::new(router.clone());
        tokio::spawn(async move {
            let _slot = slot;
            let connection = hyper::server::conn::http1::Builder::new()
                .timer(TokioTimer::new())
                .header_read_timeout(HEADER_TIMEOUT)
                .max_buf_size(64 * 1024)
                .serve_connection(TokioIo::new(stream), service);
            let _ = tokio::time::timeout(CONNECTION_LIFETIME, connection).await;
        });
    }
}
