//! A second login under a name that has a session, under each `duplicate_login` policy:
//! `replace` (the default) ends the old session first, even one whose client vanished
//! without its resume key; `refuse` keeps the first; `allow` keeps both.

use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Duration;

use darkstar_client::{Client, ClientError, DisconnectReason, Endpoint, Event};
use darkstar_protocol::{ClientFrame, Decoder, ServerFrame, PROTOCOL_VERSION};
use darkstar_runtime::{Config, DuplicateLogin, Server};
use darkstar_sdk::prelude::*;
use darkstar_tests::server_config::dev_server_config;

/// What the game saw, in commit order.
#[managed(name = "dup.Journal")]
struct Journal {
    entries: Vec<String>,
}

#[managed(name = "dup.Player")]
struct Player {
    name: String,
}

fn note(ctx: &mut Context<'_>, entry: String) -> TaskResult {
    let journal = ctx.lookup::<Journal>("journal")?;
    ctx.get_mut(journal)?.entries.push(entry);
    Ok(())
}

impl SessionListener for Player {
    fn received_message(
        ctx: &mut Context<'_>,
        _this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        ctx.send(session, message)
    }

    fn disconnected(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        _graceful: bool,
    ) -> TaskResult {
        let name = ctx.get(this)?.name.to_string();
        note(ctx, format!("out {name} {}", session.id()))?;
        ctx.remove(this)
    }
}

struct DupApp;

impl App for DupApp {
    fn register(&self, types: &mut Types) {
        types.object::<Journal>().session_listener::<Player>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        let journal = ctx.create(Journal {
            entries: Vec::new(),
        })?;
        ctx.bind("journal", journal)
    }

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        let name = ctx.get(session)?.name.to_string();
        note(ctx, format!("in {name} {}", session.id()))?;
        Ok(Login::accept(ctx.create(Player { name })?))
    }
}

fn start(policy: Option<DuplicateLogin>) -> (Server, tempfile::TempDir) {
    let dir = tempfile::tempdir().unwrap();
    let mut config = Config {
        resume_window_ms: 60_000,
        ..dev_server_config(dir.path())
    };
    if let Some(p) = policy {
        config.duplicate_login = p;
    }
    let server = Server::builder(DupApp).config(config).start().unwrap();
    (server, dir)
}

fn journal(server: &Server) -> Vec<String> {
    server
        .query(|ctx| {
            let j = ctx.lookup::<Journal>("journal")?;
            Ok(ctx
                .get(j)?
                .entries
                .iter()
                .map(|e| e.to_string())
                .collect::<Vec<_>>())
        })
        .unwrap()
}

/// Logs in over a raw connection and returns it with the session id, keeping no key: a
/// client that will vanish.
fn raw_login(server: &Server, name: &str) -> (TcpStream, u64) {
    let mut s = TcpStream::connect(server.tcp_addr().unwrap()).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    let mut wire = ClientFrame::Hello {
        min_version: PROTOCOL_VERSION,
        max_version: PROTOCOL_VERSION,
    }
    .to_bytes();
    wire.extend(
        ClientFrame::Login {
            name: name.to_owned(),
            password: String::new(),
        }
        .to_bytes(),
    );
    s.write_all(&wire).unwrap();
    let decoder = Decoder::new(1 << 20);
    let mut buf = Vec::new();
    loop {
        while let Ok(Some((frame, used))) = decoder.decode::<ServerFrame>(&buf) {
            buf.drain(..used);
            if let ServerFrame::LoginAccepted { session, .. } = frame {
                return (s, session);
            }
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).unwrap();
        assert!(n > 0, "the server closed before accepting the login");
        buf.extend_from_slice(&chunk[..n]);
    }
}

async fn next(c: &mut Client) -> Event {
    tokio::time::timeout(Duration::from_secs(30), c.next_event())
        .await
        .expect("an event within 30 s")
        .expect("the session is open")
}

async fn echo(c: &mut Client, text: &str) {
    c.send(text).await.unwrap();
    assert_eq!(next(c).await, Event::Message(text.as_bytes().to_vec()));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_login_replaces_a_vanished_client_at_once() {
    let (server, _dir) = start(None);
    let (vanished, old) = raw_login(&server, "ada");
    // Gone without its key: the old session waits out its 60 s reconnection window.
    drop(vanished);
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut ada = Client::connect(endpoint, "ada", "").await.unwrap();
    echo(&mut ada, "back").await;
    let new = ada.session_id();
    assert_eq!(
        journal(&server),
        [
            format!("in ada {old}"),
            format!("out ada {old}"),
            format!("in ada {new}")
        ],
        "the old session's disconnected ran before the new login"
    );
    server.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_new_login_tells_the_old_client_why() {
    let (server, _dir) = start(Some(DuplicateLogin::Replace));
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut first = Client::connect(endpoint.clone(), "ada", "").await.unwrap();
    let mut second = Client::connect(endpoint.clone(), "ada", "").await.unwrap();
    match next(&mut first).await {
        Event::Disconnected { reason, text } => {
            assert_eq!(reason, DisconnectReason::LoggedInElsewhere, "{text}")
        }
        other => panic!("expected the first session to end, got {other:?}"),
    }
    echo(&mut second, "still here").await;
    // Another name is not affected.
    let mut bob = Client::connect(endpoint, "bob", "").await.unwrap();
    echo(&mut bob, "hi").await;
    echo(&mut second, "and here").await;
    server.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refuse_keeps_the_first_session() {
    let (server, _dir) = start(Some(DuplicateLogin::Refuse));
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut first = Client::connect(endpoint.clone(), "ada", "").await.unwrap();
    match Client::connect(endpoint.clone(), "ada", "").await {
        Err(ClientError::LoginRefused(reason)) => assert_eq!(reason, "ada is already logged in"),
        other => panic!("expected a refusal, got {other:?}"),
    }
    echo(&mut first, "mine").await;
    first.logout().await.unwrap();
    // Once the first session has ended (which the server records before it says so), the
    // name is free.
    loop {
        if let Event::Disconnected { .. } = next(&mut first).await {
            break;
        }
    }
    let mut again = Client::connect(endpoint, "ada", "").await.unwrap();
    echo(&mut again, "mine again").await;
    server.shutdown().unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn allow_keeps_both() {
    let (server, _dir) = start(Some(DuplicateLogin::Allow));
    let endpoint = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut first = Client::connect(endpoint.clone(), "ada", "").await.unwrap();
    let mut second = Client::connect(endpoint, "ada", "").await.unwrap();
    echo(&mut first, "one").await;
    echo(&mut second, "two").await;
    assert_ne!(first.session_id(), second.session_id());
    server.shutdown().unwrap();
}
