//! The admin dashboard: the committed page is what its sources build, and in headless
//! Chromium, against the bank game under load from bots, it shows live figures that agree
//! with the admin API, and refuses to show any without the right token.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint};
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::load::{carry_lanes, drive, LoadStats, SessionLane, Workload};
use darkstar_runtime::{Config, Server};
use darkstar_tests::node;
use darkstar_tests::server_config::dev_server_config;

/// The files the server embeds, as `npm run build` writes them.
const ASSETS: [&str; 3] = ["index.html", "dashboard.js", "dashboard.css"];
/// The admin token of the test's server.
const TOKEN: &str = "dashboard-test-token-5f1c0b7e";
/// Long: a deadline costs time only when the test fails, and a loaded machine is slow.
const DEADLINE: Duration = Duration::from_secs(60);

/// Where the server's copy of the page lives.
fn assets_dir() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../darkstar-runtime/src/admin/assets")
}

/// The dashboard package, prepared, and the asset files as they were before its build
/// rewrote them (what is committed, and what the server was compiled with).
fn prepared() -> &'static node::Prepared {
    static PREPARED: OnceLock<node::Prepared> = OnceLock::new();
    PREPARED.get_or_init(|| node::prepare_keeping("dashboard", &assets_dir(), &ASSETS))
}

#[test]
fn the_committed_page_is_what_its_sources_build() {
    let prepared = prepared();
    let out = tempfile::tempdir().unwrap();
    node::run(
        Command::new("node")
            .arg("build.mjs")
            .arg(out.path())
            .current_dir(&prepared.dir),
        "the dashboard's build",
    );
    for (name, committed) in &prepared.committed {
        let fresh = std::fs::read(out.path().join(name)).unwrap();
        assert!(fresh.len() > 100, "the build wrote an empty {name}");
        assert!(
            fresh == *committed,
            "darkstar-runtime/src/admin/assets/{name} is not what web/dashboard builds \
             ({} bytes there, {} built): this test's build has just rewritten the three \
             files (as `npm run build` in web/dashboard does); commit them",
            committed.len(),
            fresh.len()
        );
        // And the build is deterministic: the one `prepare` ran wrote the same bytes.
        let rebuilt = std::fs::read(assets_dir().join(name)).unwrap();
        assert!(rebuilt == fresh, "two builds of {name} differ");
    }
}

/// An HTTP/1.0 GET (so the answer is never chunked): the status and the body.
fn get(addr: SocketAddr, path: &str, token: Option<&str>) -> (u16, String) {
    let mut stream = TcpStream::connect(addr).unwrap_or_else(|e| panic!("connect {addr}: {e}"));
    stream.set_read_timeout(Some(DEADLINE)).unwrap();
    let auth = token.map_or(String::new(), |t| format!("Authorization: Bearer {t}\r\n"));
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n{auth}\r\n").unwrap();
    let mut answer = String::new();
    stream
        .read_to_string(&mut answer)
        .unwrap_or_else(|e| panic!("GET {path}: {e}"));
    let (head, body) = answer
        .split_once("\r\n\r\n")
        .unwrap_or_else(|| panic!("GET {path}: no end of headers in {answer:?}"));
    let status = head
        .split(' ')
        .nth(1)
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| panic!("GET {path}: no status in {head:?}"));
    (status, body.to_owned())
}

fn json(path: &str, body: &str) -> serde_json::Value {
    serde_json::from_str(body).unwrap_or_else(|e| panic!("{path} answered no JSON ({e}): {body}"))
}

/// `$CARGO_TARGET_DIR/test-artifacts/dashboard.png`, or under the workspace's `target/`.
fn screenshot_path() -> PathBuf {
    let target = std::env::var_os("CARGO_TARGET_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| Path::new(env!("CARGO_MANIFEST_DIR")).join("../target"));
    target.join("test-artifacts/dashboard.png")
}

/// Logs `n` bots into the bank (development logins take any password).
async fn log_in(addr: SocketAddr, n: usize) -> Vec<SessionLane> {
    let mut bots = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("bot-{i:02}");
        let client = Client::connect(Endpoint::tcp(addr.to_string()), &name, "any password")
            .await
            .unwrap_or_else(|e| panic!("{name} cannot log in: {e}"));
        bots.push(SessionLane(client));
    }
    bots
}

/// Sets its flag when dropped.
struct StopOnDrop<'a>(&'a AtomicBool);

impl Drop for StopOnDrop<'_> {
    fn drop(&mut self) {
        self.0.store(true, Ordering::Relaxed);
    }
}

#[test]
fn the_dashboard_shows_the_bank_under_load_and_only_with_the_token() {
    let package = prepared().dir.clone();
    let data = tempfile::tempdir().unwrap();
    let config = Config {
        admin_addr: Some("127.0.0.1:0".parse().unwrap()),
        admin_token: Some(TOKEN.to_owned()),
        // The bots pipeline far more than the limits against hostile clients let a player.
        session_messages_per_sec: 0,
        session_kib_per_sec: 0,
        channel_messages_per_sec: 0,
        login_queue_per_address: 0,
        ..dev_server_config(data.path())
    };
    let app = BankApp {
        accounts: 2000,
        initial_balance: 1_000_000,
    };
    let server = Server::builder(app).config(config).start().unwrap();
    let admin = server.admin_addr().expect("the admin listener is on");
    let tcp = server.tcp_addr().expect("the bank listens on TCP");
    let accounts = server.query(bank::accounts).unwrap();

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let bots = runtime.block_on(log_in(tcp, 8));
    let stats = Arc::new(LoadStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    // Contended, so that placement finds hot objects for its table.
    let workload = Workload {
        alpha: 1.2,
        in_flight: 128,
        ..Workload::default()
    };
    let lanes = {
        let (stats, stop, workload) = (stats.clone(), stop.clone(), workload.clone());
        runtime.spawn(async move { carry_lanes(bots, 2000, 16, &workload, &stats, &stop).await })
    };

    let driven = Arc::new(LoadStats::default());
    let browser = std::thread::scope(|scope| {
        // Stops the load however this block ends, so that a failed check cannot leave the
        // scope waiting for the driver forever.
        let _stop = StopOnDrop(&stop);
        // Transfers submitted in-process too, so that the bank's own task type
        // (`bank.transfer`) has commits beside the bots' session messages.
        scope.spawn(|| drive(&server, &accounts, &workload, &driven, &stop));
        let started = Instant::now();
        while server.stats().committed == 0 && started.elapsed() < DEADLINE {
            std::thread::sleep(Duration::from_millis(10));
        }

        // The API from Rust: the health check is open, the rest needs the token.
        let (code, body) = get(admin, "/health", None);
        assert_eq!(
            (code, json("/health", &body)["status"].as_str()),
            (200, Some("ok"))
        );
        let (code, body) = get(admin, "/api/v1/status", None);
        assert_eq!(code, 401, "/api/v1/status without a token: {body}");
        assert!(json("/api/v1/status", &body)["error"].is_string(), "{body}");
        let (code, _) = get(admin, "/api/v1/status", Some("not-the-token-0123456789"));
        assert_eq!(code, 401, "/api/v1/status with a wrong token");
        let (code, body) = get(admin, "/api/v1/status", Some(TOKEN));
        assert_eq!(code, 200, "/api/v1/status with the token: {body}");
        let status = json("/api/v1/status", &body);
        let committed = status["totals"]["committed"].as_u64().unwrap_or(0);
        assert!(committed > 0, "nothing committed yet: {body}");
        let (code, page) = get(admin, "/", None);
        assert_eq!(code, 200, "the page is served without a token");
        assert!(page.contains("dashboard.js"), "{page}");

        // The browser.
        let shot = screenshot_path();
        let _ = std::fs::remove_file(&shot);
        let report = node::run(
            Command::new("node")
                .arg("test/dashboard.mjs")
                .current_dir(&package)
                .env("CHROMIUM", node::chromium())
                .env("DASHBOARD_URL", format!("http://{admin}"))
                .env("DASHBOARD_TOKEN", TOKEN)
                .env("DASHBOARD_SCREENSHOT", &shot)
                .env("DASHBOARD_TASK", "bank.transfer"),
            "the dashboard's browser test",
        );
        (report, shot)
    });
    let (report, shot) = browser;
    println!("{report}");
    let errors = runtime.block_on(lanes).unwrap();
    assert!(errors.is_empty(), "the bots failed: {errors:?}");
    assert!(
        stats.committed.load(Ordering::Relaxed) > 0,
        "no bot transfer answered"
    );
    assert_eq!(driven.failed.load(Ordering::Relaxed), 0);

    let png = std::fs::read(&shot).unwrap_or_else(|e| panic!("{}: {e}", shot.display()));
    assert!(
        png.starts_with(b"\x89PNG\r\n\x1a\n"),
        "{} is no PNG",
        shot.display()
    );
    assert!(
        png.len() > 50_000,
        "the screenshot {} is only {} bytes: a blank page?",
        shot.display(),
        png.len()
    );
    let audit = server.query(bank::audit).unwrap();
    assert_eq!(audit.total, audit.expected, "{audit:?}");
    server.shutdown().unwrap();
}
