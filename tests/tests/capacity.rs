//! Ten thousand concurrent sessions on one server. The server runs in a child process (this
//! test binary, started again as the server), because one process holding both ends of
//! 10,000 connections needs twice the file descriptors; each side raises its open-file
//! limit to the hard limit.

use std::net::TcpListener;
use std::sync::Arc;
use std::time::Duration;

use darkstar_client::{Client, Endpoint, Event, Options};
use darkstar_examples::attack::child::{announce, wait_for_parent, ChildServer};
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
        // Ten thousand clients from one address, all at once.
        max_connections_per_address: 0,
        connections_per_sec_per_address: 0,
        logins_per_sec_per_address: 0,
        max_unauthenticated: SESSIONS as u32 + 100,
        ..dev_server_config(dir.path())
    };
    let server = Server::builder(EchoApp).config(config).start().unwrap();
    announce("ADDR", server.tcp_addr().unwrap());
    wait_for_parent();
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
    let mut child = ChildServer::test("capacity_server", CHILD, &metrics.to_string());
    let addr = child.value("ADDR");

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
    child.stop();
}
