//! The chat lobby in the browser: the page built from `web/client/demo` (the TypeScript
//! client and a small chat page, bundled) and committed under `web/client/demo/dist`, served
//! over HTTP beside the chat server, with `config.json` naming the server's WebSocket URL.
//! The `chat` binary starts it with `--web ADDR`; a test rebuilds the page and checks the
//! committed files are what the sources make.
//!
//! ```no_run
//! let demo = darkstar_examples::web_demo::serve(
//!     "127.0.0.1:7492".parse().unwrap(),
//!     "ws://127.0.0.1:7491/".to_owned(),
//! )?;
//! println!("chat demo: http://{}/", demo.addr());
//! # Ok::<(), std::io::Error>(())
//! ```

use std::io;
use std::net::SocketAddr;
use std::sync::Arc;
use std::thread::JoinHandle;
use std::time::Duration;

use axum::extract::State;
use axum::http::{header, HeaderValue, StatusCode, Uri};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use axum::{Json, Router};
use tokio::sync::oneshot;

/// The page.
pub const INDEX_HTML: &str = include_str!("../../web/client/demo/dist/index.html");
/// The page's script: the chat and the TypeScript client, bundled.
pub const CHAT_JS: &str = include_str!("../../web/client/demo/dist/chat.js");
/// The page's styles.
pub const STYLE_CSS: &str = include_str!("../../web/client/demo/dist/style.css");

/// What the page may load: its own files, and WebSocket connections to any server (the
/// chat server listens on another port, or another host). Nothing inline, so a line that
/// somehow became markup still could not run.
const CONTENT_SECURITY_POLICY: &str = "default-src 'self'; connect-src 'self' ws: wss:; \
     object-src 'none'; base-uri 'none'; form-action 'self'; frame-ancestors 'none'";

/// The demo's HTTP listener, running on a thread of its own. Dropping it stops it.
#[derive(Debug)]
pub struct WebDemo {
    addr: SocketAddr,
    stop: Option<oneshot::Sender<()>>,
    thread: Option<JoinHandle<()>>,
}

impl WebDemo {
    /// The address it listens on (with the port the system chose, if `addr` had port 0).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }
}

impl Drop for WebDemo {
    fn drop(&mut self) {
        if let Some(stop) = self.stop.take() {
            let _ = stop.send(());
        }
        if let Some(thread) = self.thread.take() {
            let _ = thread.join();
        }
    }
}

/// Binds `addr` and serves the chat demo there: `/` (the page), `/chat.js`, `/style.css`,
/// and `/config.json`, which tells the page to connect to `ws_url` (`ws://host:port/`).
///
/// Fails if `ws_url` is not a `ws://` or `wss://` URL, or if `addr` cannot be bound.
pub fn serve(addr: SocketAddr, ws_url: String) -> io::Result<WebDemo> {
    if !(ws_url.starts_with("ws://") || ws_url.starts_with("wss://")) {
        return Err(io::Error::new(
            io::ErrorKind::InvalidInput,
            format!("the chat demo's server URL must be a ws:// or wss:// URL, not {ws_url:?}"),
        ));
    }
    let bind_error =
        |e: io::Error| io::Error::new(e.kind(), format!("chat demo: cannot listen on {addr}: {e}"));
    let listener = std::net::TcpListener::bind(addr).map_err(bind_error)?;
    listener.set_nonblocking(true).map_err(bind_error)?;
    let bound = listener.local_addr().map_err(bind_error)?;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let app = router(Arc::new(ws_url));
    let (stop, stopped) = oneshot::channel::<()>();
    let thread = std::thread::Builder::new()
        .name("chat-web-demo".to_owned())
        .spawn(move || {
            runtime.block_on(async move {
                let listener = match tokio::net::TcpListener::from_std(listener) {
                    Ok(l) => l,
                    Err(e) => {
                        tracing::warn!(error = %e, "the chat demo's listener cannot run");
                        return;
                    }
                };
                // Stopping drops the server; the runtime's end below drops its connections.
                tokio::select! {
                    served = axum::serve(listener, app) => {
                        if let Err(e) = served {
                            tracing::warn!(error = %e, "the chat demo's listener stopped");
                        }
                    }
                    _ = stopped => {}
                }
            });
            runtime.shutdown_timeout(Duration::from_secs(1));
        })?;
    Ok(WebDemo {
        addr: bound,
        stop: Some(stop),
        thread: Some(thread),
    })
}

/// The demo's routes, for the server WebSocket URL `ws_url`.
fn router(ws_url: Arc<String>) -> Router {
    Router::new()
        .route(
            "/",
            get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/index.html",
            get(|| async { page("text/html; charset=utf-8", INDEX_HTML) }),
        )
        .route(
            "/chat.js",
            get(|| async { page("text/javascript; charset=utf-8", CHAT_JS) }),
        )
        .route(
            "/style.css",
            get(|| async { page("text/css; charset=utf-8", STYLE_CSS) }),
        )
        .route("/config.json", get(config))
        .fallback(not_found)
        .with_state(ws_url)
}

/// One of the embedded files, as `content_type`.
fn page(content_type: &'static str, body: &'static str) -> Response {
    let mut response = (
        [
            (header::CONTENT_TYPE, content_type),
            // Always asked for again: a rebuilt binary serves a rebuilt page.
            (header::CACHE_CONTROL, "no-cache"),
            (header::X_CONTENT_TYPE_OPTIONS, "nosniff"),
        ],
        body,
    )
        .into_response();
    response.headers_mut().insert(
        header::CONTENT_SECURITY_POLICY,
        HeaderValue::from_static(CONTENT_SECURITY_POLICY),
    );
    response
}

/// `{"ws": "ws://host:port/"}`: where the page connects.
async fn config(State(ws_url): State<Arc<String>>) -> Response {
    let body = Json(serde_json::json!({ "ws": ws_url.as_str() }));
    ([(header::CACHE_CONTROL, "no-store")], body).into_response()
}

async fn not_found(uri: Uri) -> Response {
    (
        StatusCode::NOT_FOUND,
        [(header::CONTENT_TYPE, "text/plain; charset=utf-8")],
        format!(
            "{} is not here: the chat demo serves /, /chat.js, /style.css and /config.json\n",
            uri.path()
        ),
    )
        .into_response()
}
