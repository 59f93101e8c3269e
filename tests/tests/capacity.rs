//! Ten thousand concurrent sessions on one server. The server runs in a child process (this
//! test binary, started again as the server), because one process holding both ends of
//! 10,000 connections needs twice the file descriptors; each side raises its open-file
//! limit to the hard limit.

use std::io::{BufRead, BufReader, Read, Write};
use std::net::TcpListener;
use std::process::{Command, Stdio};
use std::sync::Arc;
use std::time::Duration;

use darkstar_client::{Client, Endpoint, Event, Options};
use darkstar_runtime::{raise_open_file_limit, Config, Server};
use darkstar_sdk::prelude::*;
use darkstar_tests::prometheus::{sample, scrape};
use darkstar_tests::server_config::dev_server_config;

const SESSIONS: usize = 10_000;
const CHILD: &str = "DARKSTAR_CAPACITY_SERVER";

#[managed(name = "capacity.Echo")]
struct Echo {}

impl SessionListener for Echo {
    fn received_message(
        ctx: &mut Context<'_>,
        _this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        ctx.send(session, message)
    }
}

struct EchoApp;

impl App for EchoApp {
    fn register(&self, types: &mut Types) {
        types.session_listener::<Echo>();
    }

    fn logged_in(&self, ctx: &mut Context<'_>, _session: Ref<Session>) -> Result<Login, TaskError> {
        Ok(Login::accept(ctx.create(Echo {})?))
    }
}

/// The server side, when started as the child: prints its address, serves until its
/// standard input closes. Does nothing in a normal test run.
#[test]
fn capacity_server() {
    let Ok(metrics) = std::env::var(CHILD) else {
        return;
    };
    let dir = tempfile::tempdir().unwrap();
    let config = Config {
        metrics_addr: Some(metrics.parse().unwrap()),
        ..dev_server_config(dir.path())
    };
    let server = Server::builder(EchoApp).config(config).start().unwrap();
    println!("ADDR {}", server.tcp_addr().unwrap());
    std::io::stdout().flush().unwrap();
    let mut rest = Vec::new();
    let _ = std::io::stdin().read_to_end(&mut rest);
    server.shutdown().unwrap();
}

#[test]
fn ten_thousand_sessions_at_once() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let limit = raise_open_file_limit();
    assert!(
        limit >= SESSIONS as u64 + 1000,
        "the open-file limit ({limit}) must allow {SESSIONS} connections; raise the hard limit (ulimit -Hn)"
    );
    let metrics = TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let mut child = Command::new(std::env::current_exe().unwrap())
        .args([
            "--exact",
            "capacity_server",
            "--nocapture",
            "--test-threads",
            "1",
        ])
        .env(CHILD, metrics.to_string())
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(child.stdout.take().unwrap()).lines();
    let addr = loop {
        let line = lines
            .next()
            .expect("the server prints its address")
            .unwrap();
        // The test harness may print the test's name on the same line first.
        if let Some((_, a)) = line.split_once("ADDR ") {
            break a.trim().to_owned();
        }
    };

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let clients = runtime.block_on(async {
        // Connect a few hundred at a time, as a crowd arriving would, not all in one SYN burst.
        let gate = Arc::new(tokio::sync::Semaphore::new(256));
        let logins: Vec<_> = (0..SESSIONS)
            .map(|i| {
                let (gate, addr) = (gate.clone(), addr.clone());
                tokio::spawn(async move {
                    let _permit = gate.acquire().await.unwrap();
                    let options = Options {
                        reconnect: false,
                        ..Options::default()
                    };
                    Client::connect_with(Endpoint::tcp(addr), &format!("p{i}"), "", options)
                        .await
                        .unwrap_or_else(|e| panic!("session {i}: {e}"))
                })
            })
            .collect();
        let mut clients = Vec::with_capacity(SESSIONS);
        for l in logins {
            clients.push(l.await.unwrap());
        }
        // Every session is live: each gets its own echo.
        for (i, c) in clients.iter().enumerate() {
            c.send(format!("ping {i}")).await.unwrap();
        }
        for (i, c) in clients.iter_mut().enumerate() {
            let event = tokio::time::timeout(Duration::from_secs(60), c.next_event())
                .await
                .expect("an echo within 60 s");
            assert_eq!(
                event,
                Some(Event::Message(format!("ping {i}").into_bytes()))
            );
        }
        clients
    });
    let text = scrape(metrics);
    assert_eq!(
        sample(&text, "darkstar_sessions", ""),
        Some(SESSIONS as f64),
        "{text}"
    );
    drop(clients);
    drop(runtime);
    drop(child.stdin.take());
    assert!(
        child.wait().unwrap().success(),
        "the server shut down cleanly"
    );
}
