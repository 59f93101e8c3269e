//! The TypeScript client (`web/client`), driven from here so that `cargo test` runs it:
//! its codec against the shared frame vectors and against scripted servers, in Node; end
//! to end in Node against a real chat server started by this test; and its browser chat
//! demo (`web/client/demo`, served by `chat --web`): the committed page is what its sources
//! build, the HTTP listener serves it with the right types, and in headless Chromium two
//! players chat through a real chat server and survive connections cut mid-session, with
//! every line delivered once, in order.

use std::collections::HashMap;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex, OnceLock};
use std::time::Duration;

use darkstar_examples::chat::ChatApp;
use darkstar_examples::web_demo::{self, CHAT_JS, INDEX_HTML, STYLE_CSS};
use darkstar_runtime::{Config, LoginMode, Server};
use darkstar_tests::node;
use darkstar_tests::server_config::dev_server_config;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::net::{TcpListener, TcpStream as AsyncTcpStream};
use tokio::sync::watch;

/// The files the chat binary embeds, as `npm run build` writes them, with what it embeds.
const FILES: [(&str, &str); 3] = [
    ("index.html", INDEX_HTML),
    ("chat.js", CHAT_JS),
    ("style.css", STYLE_CSS),
];
/// Long: a deadline costs time only when the test fails, and a loaded machine is slow.
const DEADLINE: Duration = Duration::from_secs(60);

/// Where the committed page lives.
fn dist_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../web/client/demo/dist")
}

/// The client package, prepared, and the demo page's files as they were before its build
/// rewrote them (what is committed). Every test prepares the package through this, so the
/// committed files are read before any build in this process.
fn prepared() -> &'static node::Prepared {
    static PREPARED: OnceLock<node::Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| {
        let names: Vec<&'static str> = FILES.iter().map(|(name, _)| *name).collect();
        node::prepare_keeping("client", &dist_dir(), &names)
    })
}

/// Runs Node's test runner on the compiled test files `files` of the package in `dir`,
/// with `env`, and fails with its report unless every test passed.
fn node_tests(dir: &Path, files: &[&str], env: &[(&str, String)]) {
    let mut command = Command::new("node");
    command
        .arg("--test")
        .arg("--test-reporter=spec")
        // A failed test may leave a server or a socket open: the run must end all the same,
        // and no test may wait for ever.
        .arg("--test-force-exit")
        .arg(format!("--test-timeout={}", 2 * DEADLINE.as_millis()))
        .args(files.iter().map(|f| format!("dist-test/test/{f}")))
        .current_dir(dir);
    for (key, value) in env {
        command.env(key, value);
    }
    let report = node::run(&mut command, "the TypeScript client's tests");
    // Shown with `--nocapture`.
    println!("{report}");
    // The runner's summary: a run that found no tests must not pass.
    assert!(report.contains("pass"), "no test ran:\n{report}");
}

#[test]
fn the_codec_matches_the_shared_vectors_and_follows_scripted_servers() {
    let dir = &prepared().dir;
    node_tests(
        dir,
        &[
            "frames.test.js",
            "events.test.js",
            "scripted.test.js",
            "flow.test.js",
            "resume.test.js",
        ],
        &[],
    );
}

#[test]
fn the_client_plays_against_a_real_chat_server() {
    let dir = &prepared().dir;
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        tcp_addr: None,
        ws_addr: Some("127.0.0.1:0".parse().unwrap()),
        login_mode: LoginMode::Password,
        register_on_login: true,
        // The test's player says 300 lines as fast as it can.
        session_messages_per_sec: 0,
        channel_messages_per_sec: 0,
        // Passwords are hashed only when game work leaves a CPU idle: on a machine busy
        // with other tests a login may wait for one for a while.
        login_timeout_ms: DEADLINE.as_millis() as u64,
        ..dev_server_config(data.path())
    };
    let server = Server::builder(ChatApp).config(config).start().unwrap();
    let url = format!("ws://{}/", server.ws_addr().unwrap());
    node_tests(dir, &["e2e.test.js"], &[("DARKSTAR_WS_URL", url)]);
    server.shutdown().unwrap();
}

#[test]
fn the_committed_demo_is_what_its_sources_build() {
    let prepared = prepared();
    let out = tempfile::tempdir().unwrap();
    node::run(
        Command::new("node")
            .arg("demo/build.mjs")
            .arg(out.path())
            .current_dir(&prepared.dir),
        "the chat demo's build",
    );
    for ((name, committed), (_, embedded)) in prepared.committed.iter().zip(FILES) {
        let fresh = std::fs::read(out.path().join(name)).unwrap();
        assert!(fresh.len() > 500, "the build wrote a near-empty {name}");
        assert!(
            fresh == *committed,
            "web/client/demo/dist/{name} is not what web/client/demo builds ({} bytes there, \
             {} built): this test's build has just rewritten the files (as `npm run build` in \
             web/client does); commit them",
            committed.len(),
            fresh.len()
        );
        assert!(
            fresh == embedded.as_bytes(),
            "the chat binary embeds another {name} than the sources build: build it again"
        );
        // And the build is deterministic: the one `prepare` ran wrote the same bytes.
        let rebuilt = std::fs::read(dist_dir().join(name)).unwrap();
        assert!(rebuilt == fresh, "two builds of {name} differ");
    }
}

/// An answer read off the wire: status, headers (names in lower case), body.
struct Answer {
    status: u16,
    headers: HashMap<String, String>,
    body: Vec<u8>,
}

/// An HTTP/1.1 GET on a connection of its own, closed after the answer.
fn get(addr: SocketAddr, path: &str) -> Answer {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    write!(
        stream,
        "GET {path} HTTP/1.1\r\nHost: {addr}\r\nConnection: close\r\n\r\n"
    )
    .unwrap();
    let mut raw = Vec::new();
    stream
        .read_to_end(&mut raw)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let end = raw
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .unwrap_or_else(|| panic!("GET {path}: no end of headers in {raw:?}"));
    let head = String::from_utf8(raw[..end].to_vec()).expect("an ASCII head");
    let mut lines = head.split("\r\n");
    let status_line = lines.next().unwrap_or_default();
    assert!(
        status_line.starts_with("HTTP/1.1 "),
        "GET {path}: {status_line:?}"
    );
    let status = status_line
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: no status in {status_line:?}"));
    let headers: HashMap<String, String> = lines
        .filter_map(|line| line.split_once(':'))
        .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_owned()))
        .collect();
    let body = raw[end + 4..].to_vec();
    if let Some(length) = headers.get("content-length") {
        assert_eq!(
            length.parse::<usize>().ok(),
            Some(body.len()),
            "GET {path}: content-length"
        );
    }
    Answer {
        status,
        headers,
        body,
    }
}

#[test]
fn the_demo_listener_serves_the_page_the_script_and_where_the_server_is() {
    let ws = "ws://127.0.0.1:7491/";
    let demo = web_demo::serve("127.0.0.1:0".parse().unwrap(), ws.to_owned()).unwrap();
    let addr = demo.addr();
    assert_ne!(addr.port(), 0, "the bound port is reported");

    for (path, content_type, body) in [
        ("/", "text/html; charset=utf-8", INDEX_HTML),
        ("/index.html", "text/html; charset=utf-8", INDEX_HTML),
        ("/chat.js", "text/javascript; charset=utf-8", CHAT_JS),
        ("/style.css", "text/css; charset=utf-8", STYLE_CSS),
    ] {
        let answer = get(addr, path);
        assert_eq!(answer.status, 200, "GET {path}");
        assert_eq!(
            answer.headers.get("content-type").map(String::as_str),
            Some(content_type),
            "GET {path}"
        );
        assert_eq!(
            answer
                .headers
                .get("x-content-type-options")
                .map(String::as_str),
            Some("nosniff"),
            "GET {path}"
        );
        assert!(answer.body == body.as_bytes(), "GET {path}: another body");
    }
    let page = get(addr, "/");
    let csp = page.headers.get("content-security-policy").expect("a CSP");
    assert!(csp.contains("default-src 'self'"), "{csp}");
    let html = String::from_utf8(page.body).unwrap();
    for needle in [
        "id=\"login-form\"",
        "id=\"log\"",
        "id=\"status\"",
        "src=\"chat.js\"",
    ] {
        assert!(html.contains(needle), "the page has no {needle}");
    }

    let config = get(addr, "/config.json");
    assert_eq!(config.status, 200);
    assert_eq!(
        config.headers.get("content-type").map(String::as_str),
        Some("application/json")
    );
    let json: serde_json::Value = serde_json::from_slice(&config.body).unwrap();
    assert_eq!(json, serde_json::json!({ "ws": ws }));

    let missing = get(addr, "/nothing-here");
    assert_eq!(missing.status, 404);
    let text = String::from_utf8(missing.body).unwrap();
    assert!(
        text.contains("/nothing-here") && text.contains("/config.json"),
        "{text}"
    );

    drop(demo);
    assert!(
        TcpStream::connect(addr).is_err(),
        "the listener still answers on {addr} after WebDemo was dropped"
    );

    let refused = web_demo::serve("127.0.0.1:0".parse().unwrap(), "http://x/".to_owned())
        .expect_err("an http:// server URL");
    assert_eq!(refused.kind(), std::io::ErrorKind::InvalidInput);
    assert!(refused.to_string().contains("\"http://x/\""), "{refused}");
}

/// What a proxied connection may do.
#[derive(Clone, Copy, PartialEq, Eq, Debug)]
enum Link {
    /// Bytes go through both ways.
    Open,
    /// What the client sends waits in the proxy, as in a network that stopped delivering.
    Stalled,
    /// Dropped, with a reset both ways.
    Cut,
}

/// The proxy's state, shared by its tasks.
#[derive(Default)]
struct ProxyState {
    links: Mutex<Vec<watch::Sender<Link>>>,
    /// Whether new connections are turned away (after a cut, until restored).
    holding: Mutex<bool>,
    /// Connections carried to the server.
    carried: AtomicUsize,
    /// Connections turned away while holding.
    refused: AtomicUsize,
}

impl ProxyState {
    /// Sets every open link to `to`; returns how many there were.
    fn set_all(&self, to: Link) -> usize {
        let mut links = self.links.lock().unwrap();
        links.retain(|l| !l.is_closed());
        for link in links.iter() {
            link.send_replace(to);
        }
        links.len()
    }
}

/// A TCP proxy in front of the chat server's WebSocket listener, which the browser test
/// stalls and cuts through a small HTTP listener of its own (`POST /stall`, `/cut`,
/// `/restore`). Dropping it stops it.
struct Proxy {
    addr: SocketAddr,
    control: SocketAddr,
    state: Arc<ProxyState>,
    _runtime: tokio::runtime::Runtime,
}

impl Proxy {
    fn start(target: SocketAddr) -> Proxy {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .enable_all()
            .build()
            .unwrap();
        let state = Arc::new(ProxyState::default());
        let (listener, control) = runtime.block_on(async {
            (
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
                TcpListener::bind("127.0.0.1:0").await.unwrap(),
            )
        });
        let (addr, control_addr) = (
            listener.local_addr().unwrap(),
            control.local_addr().unwrap(),
        );
        runtime.spawn(accept(listener, target, state.clone()));
        runtime.spawn(answer_orders(control, state.clone()));
        Proxy {
            addr,
            control: control_addr,
            state,
            _runtime: runtime,
        }
    }
}

async fn accept(listener: TcpListener, target: SocketAddr, state: Arc<ProxyState>) {
    loop {
        let Ok((client, _)) = listener.accept().await else {
            continue;
        };
        if *state.holding.lock().unwrap() {
            // Turned away: reset at once, as a network that is still down.
            let _ = client.set_zero_linger();
            state.refused.fetch_add(1, Ordering::Relaxed);
            continue;
        }
        let (link, watched) = watch::channel(Link::Open);
        state.links.lock().unwrap().push(link);
        state.carried.fetch_add(1, Ordering::Relaxed);
        tokio::spawn(carry(client, target, watched));
    }
}

/// Carries one connection until either side ends it, or it is cut.
async fn carry(client: AsyncTcpStream, target: SocketAddr, mut link: watch::Receiver<Link>) {
    let Ok(server) = AsyncTcpStream::connect(target).await else {
        return;
    };
    let (mut client_in, mut client_out) = client.into_split();
    let (mut server_in, mut server_out) = server.into_split();
    let watched = link.clone();
    let up = async {
        pump_up(&mut client_in, &mut server_out, watched).await;
        let _ = server_out.shutdown().await;
    };
    let down = async {
        let _ = tokio::io::copy(&mut server_in, &mut client_out).await;
        let _ = client_out.shutdown().await;
    };
    let cut = tokio::select! {
        biased;
        _ = link.wait_for(|l| *l == Link::Cut) => true,
        _ = async { tokio::join!(up, down) } => false,
    };
    if cut {
        // Both ends reset when the halves drop: nothing more goes either way.
        let _ = AsRef::<AsyncTcpStream>::as_ref(&client_in).set_zero_linger();
        let _ = AsRef::<AsyncTcpStream>::as_ref(&server_in).set_zero_linger();
    }
}

/// Client to server, holding what comes while the link is stalled.
async fn pump_up(
    from: &mut OwnedReadHalf,
    to: &mut OwnedWriteHalf,
    mut link: watch::Receiver<Link>,
) {
    let mut buf = vec![0u8; 16 * 1024];
    loop {
        let n = match from.read(&mut buf).await {
            Ok(0) | Err(_) => return,
            Ok(n) => n,
        };
        let open = matches!(
            link.wait_for(|l| *l != Link::Stalled).await.map(|l| *l),
            Ok(Link::Open)
        );
        if !open || to.write_all(&buf[..n]).await.is_err() {
            return;
        }
    }
}

/// Answers `POST /stall`, `/cut` and `/restore`, one request per connection.
async fn answer_orders(listener: TcpListener, state: Arc<ProxyState>) {
    loop {
        let Ok((mut stream, _)) = listener.accept().await else {
            continue;
        };
        let state = state.clone();
        tokio::spawn(async move {
            let mut head = Vec::new();
            let mut buf = [0u8; 1024];
            while !head.windows(4).any(|w| w == b"\r\n\r\n") && head.len() < 16 * 1024 {
                match stream.read(&mut buf).await {
                    Ok(0) | Err(_) => return,
                    Ok(n) => head.extend_from_slice(&buf[..n]),
                }
            }
            let head = String::from_utf8_lossy(&head);
            let request = head.lines().next().unwrap_or_default();
            let (status, body) = match request.split(' ').take(2).collect::<Vec<_>>()[..] {
                ["POST", "/stall"] => (
                    200,
                    format!("{{\"stalled\":{}}}", state.set_all(Link::Stalled)),
                ),
                ["POST", "/cut"] => {
                    *state.holding.lock().unwrap() = true;
                    let cut = state.set_all(Link::Cut);
                    state.links.lock().unwrap().clear();
                    (200, format!("{{\"cut\":{cut}}}"))
                }
                ["POST", "/restore"] => {
                    *state.holding.lock().unwrap() = false;
                    (200, "{\"restored\":true}".to_owned())
                }
                _ => (
                    404,
                    format!(
                        "{{\"error\":\"{} is not an order: POST /stall, /cut or /restore\"}}",
                        request.escape_default()
                    ),
                ),
            };
            let answer = format!(
                "HTTP/1.1 {status} {}\r\nContent-Type: application/json\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
                if status == 200 { "OK" } else { "Not Found" },
                body.len()
            );
            let _ = stream.write_all(answer.as_bytes()).await;
            let _ = stream.shutdown().await;
        });
    }
}

/// `$CARGO_TARGET_DIR/test-artifacts/chat-demo.png`, or under the workspace's `target/`.
fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("test-artifacts/chat-demo.png")
}

#[test]
fn two_players_chat_in_the_browser_through_cut_connections() {
    let package = prepared().dir.clone();
    let data = tempfile::tempdir().unwrap();
    // As the demo's command runs it: password accounts, signed up on first login.
    let config = Config {
        tcp_addr: None,
        ws_addr: Some("127.0.0.1:0".parse().unwrap()),
        login_mode: LoginMode::Password,
        register_on_login: true,
        // A machine busy with other builds can take seconds to hash a password or resume:
        // the test's deadlines, not the defaults meant for hostile clients, bound them.
        login_timeout_ms: DEADLINE.as_millis() as u64,
        resume_window_ms: DEADLINE.as_millis() as u32,
        ..dev_server_config(data.path())
    };
    let server = Server::builder(ChatApp).config(config).start().unwrap();
    let ws = server.ws_addr().expect("the chat listens for WebSocket");
    let proxy = Proxy::start(ws);
    // The page connects through the proxy, which the browser test cuts.
    let demo = web_demo::serve(
        "127.0.0.1:0".parse().unwrap(),
        format!("ws://{}/", proxy.addr),
    )
    .unwrap();

    let shot = screenshot_path();
    let _ = std::fs::remove_file(&shot);
    let control = format!("http://{}", proxy.control);
    let report = node::run(
        Command::new("node")
            .arg("test/browser.mjs")
            .current_dir(&package)
            .env("CHROMIUM", node::chromium())
            .env("DEMO_URL", format!("http://{}/", demo.addr()))
            .env("PROXY_STALL_URL", format!("{control}/stall"))
            .env("PROXY_CUT_URL", format!("{control}/cut"))
            .env("PROXY_RESTORE_URL", format!("{control}/restore"))
            .env("SCREENSHOT", &shot),
        "the chat demo's browser test",
    );
    println!("{report}");

    // Both players' sessions went through the proxy twice (logged in, then resumed), and
    // at least one attempt in between was turned away.
    let carried = proxy.state.carried.load(Ordering::Relaxed);
    let refused = proxy.state.refused.load(Ordering::Relaxed);
    assert!(
        carried >= 4,
        "{carried} connections through the proxy: not a login and a resume for each player"
    );
    assert!(refused >= 1, "no connection was turned away while cut off");
    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is no PNG",
        shot.display()
    );
    assert!(
        png.len() > 10_000,
        "the screenshot {} is only {} bytes: a blank page?",
        shot.display(),
        png.len()
    );
    drop(demo);
    drop(proxy);
    server.shutdown().unwrap();
}
