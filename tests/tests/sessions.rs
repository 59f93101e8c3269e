//! Clients end to end: logins, session and channel messages in order, nothing sent by a
//! task that aborts, a session resumed across a cut connection with nothing lost or
//! repeated, senders in other tasks, and sessions that outlive a restart of the server.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use darkstar_client::{Client, DisconnectReason, Endpoint, Event};
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;
use darkstar_tests::server_config::dev_server_config;

#[managed(name = "tests.Player")]
struct Player {
    name: String,
}

impl SessionListener for Player {
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        let name = ctx.get(this)?.name.to_string();
        if message == b"abort" {
            ctx.send(session, "sent by a task that aborts")?;
            return Err(TaskError::abort("asked to"));
        }
        let mut reply = format!("{name}:").into_bytes();
        reply.extend_from_slice(message);
        ctx.send(session, reply)
    }
}

struct Chat;

impl App for Chat {
    fn register(&self, types: &mut Types) {
        types.session_listener::<Player>();
    }

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        let name = ctx.get(session)?.name.to_string();
        if name.starts_with("banned") {
            return Ok(Login::refuse("banned players stay out"));
        }
        let player = ctx.create(Player { name: name.clone() })?;
        let lobby = ctx.channel("lobby")?;
        ctx.join(lobby, session)?;
        ctx.send(session, format!("welcome {name}"))?;
        Ok(Login::accept(player))
    }
}

fn server(dir: &std::path::Path) -> Server {
    let config = Config {
        ws_addr: Some("127.0.0.1:0".parse().unwrap()),
        ..dev_server_config(dir)
    };
    Server::builder(Chat).config(config).start().unwrap()
}

async fn next(client: &mut Client) -> Event {
    // Long: it costs time only when the test fails, and a loaded machine may be slow.
    tokio::time::timeout(Duration::from_secs(60), client.next_event())
        .await
        .expect("an event within 60 s")
        .expect("the session is open")
}

/// The next event that is not about reconnecting.
async fn next_data(client: &mut Client) -> Event {
    loop {
        match next(client).await {
            Event::Reconnecting { .. } | Event::Reconnected => {}
            e => return e,
        }
    }
}

/// Logs in as `name` and takes the lobby join and the welcome every login gets.
async fn welcomed(endpoint: Endpoint, name: &str) -> Client {
    let mut c = Client::connect(endpoint, name, "").await.unwrap();
    assert!(matches!(
        next_data(&mut c).await,
        Event::JoinedChannel { .. }
    ));
    assert!(matches!(next_data(&mut c).await, Event::Message(_)));
    c
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn clients_exchange_session_and_channel_messages_in_order() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let tcp = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let ws = Endpoint::websocket(format!("ws://{}/", server.ws_addr().unwrap()));
    let mut clients = Vec::new();
    let mut lobby = 0;
    for i in 0..12 {
        let endpoint = if i % 3 == 0 { ws.clone() } else { tcp.clone() };
        let mut c = Client::connect(endpoint, &format!("p{i}"), "")
            .await
            .unwrap();
        let Event::JoinedChannel { name, channel } = next_data(&mut c).await else {
            panic!("joined first")
        };
        assert_eq!(name, "lobby");
        lobby = channel;
        assert_eq!(
            next_data(&mut c).await,
            Event::Message(format!("welcome p{i}").into())
        );
        clients.push(c);
    }
    assert_eq!(server.sessions(), 12);

    // Each client's messages are handled in order; the aborted one sends nothing.
    for c in &clients {
        for n in 0..40 {
            let body = if n == 20 {
                "abort".to_owned()
            } else {
                n.to_string()
            };
            c.send(body).await.unwrap();
        }
    }
    for (i, c) in clients.iter_mut().enumerate() {
        for n in (0..40).filter(|&n| n != 20) {
            assert_eq!(
                next_data(c).await,
                Event::Message(format!("p{i}:{n}").into_bytes()),
                "client {i}, message {n}"
            );
        }
    }

    // Channel messages reach every member, in one order for all.
    for (i, c) in clients.iter().enumerate().take(3) {
        c.send_to_channel(lobby, format!("hello from {i}"))
            .await
            .unwrap();
    }
    let senders: Vec<u64> = clients.iter().take(3).map(|c| c.session_id()).collect();
    let mut orders = Vec::new();
    for c in clients.iter_mut() {
        let mut order = Vec::new();
        for _ in 0..3 {
            let Event::ChannelMessage {
                channel,
                sender,
                body,
            } = next_data(c).await
            else {
                panic!("a channel message")
            };
            assert_eq!(channel, lobby);
            let i = senders.iter().position(|&s| s == sender).expect("a sender");
            assert_eq!(body, format!("hello from {i}").into_bytes());
            order.push(i);
        }
        orders.push(order);
    }
    assert!(orders.windows(2).all(|w| w[0] == w[1]), "{orders:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn refused_logins_get_the_reason() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let tcp = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let err = Client::connect(tcp, "banned-7", "").await.unwrap_err();
    assert_eq!(err.to_string(), "login refused: banned players stay out");
    assert_eq!(server.sessions(), 0);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_resumed_session_loses_and_repeats_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let tcp = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let mut c = welcomed(tcp, "roamer").await;
    for n in 0..300 {
        c.send(n.to_string()).await.unwrap();
        if n % 100 == 50 {
            c.reconnect().await.unwrap();
        }
    }
    let mut reconnected = 0;
    let mut n = 0;
    while n < 300 {
        match next(&mut c).await {
            Event::Reconnected => reconnected += 1,
            Event::Reconnecting { .. } => {}
            Event::Message(body) => {
                assert_eq!(String::from_utf8(body).unwrap(), format!("roamer:{n}"));
                n += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert!(reconnected >= 1, "the connection was cut and resumed");
    assert_eq!(server.sessions(), 1);
}

/// A TCP proxy between clients and the server that can cut every connection it carries,
/// as a network failure would, without the client knowing beforehand. Its upstream can be
/// taken away (connections are then closed at once, as if nothing listened) and pointed at
/// another server.
struct Proxy {
    addr: SocketAddr,
    cut: tokio::sync::watch::Sender<u64>,
    upstream: Arc<Mutex<Option<SocketAddr>>>,
    /// Connections accepted from clients.
    accepted: Arc<AtomicUsize>,
    /// Connections carried through to a server.
    carried: Arc<AtomicUsize>,
}

impl Proxy {
    async fn start(upstream: SocketAddr) -> Proxy {
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let (cut, generation) = tokio::sync::watch::channel(0u64);
        let upstream = Arc::new(Mutex::new(Some(upstream)));
        let accepted = Arc::new(AtomicUsize::new(0));
        let carried = Arc::new(AtomicUsize::new(0));
        let proxy = Proxy {
            addr,
            cut,
            upstream: upstream.clone(),
            accepted: accepted.clone(),
            carried: carried.clone(),
        };
        tokio::spawn(async move {
            while let Ok((mut client, _)) = listener.accept().await {
                accepted.fetch_add(1, Ordering::SeqCst);
                let Some(upstream) = *upstream.lock().unwrap() else {
                    continue;
                };
                let mut generation = generation.clone();
                generation.mark_unchanged();
                let carried = carried.clone();
                tokio::spawn(async move {
                    let Ok(mut server) = tokio::net::TcpStream::connect(upstream).await else {
                        return;
                    };
                    carried.fetch_add(1, Ordering::SeqCst);
                    tokio::select! {
                        _ = tokio::io::copy_bidirectional(&mut client, &mut server) => {}
                        _ = generation.changed() => {}
                    }
                    // Both sockets are dropped here: the cut.
                });
            }
        });
        proxy
    }

    fn cut(&self) {
        self.cut.send_modify(|g| *g += 1);
    }

    /// Where new connections go; `None`: nowhere, they are closed at once.
    fn point_to(&self, upstream: Option<SocketAddr>) {
        *self.upstream.lock().unwrap() = upstream;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_connection_cut_by_the_network_resumes_with_nothing_lost_or_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let proxy = Proxy::start(server.tcp_addr().unwrap()).await;
    let mut c = welcomed(Endpoint::tcp(proxy.addr.to_string()), "traveller").await;
    const N: usize = 600;
    let mut sent = 0;
    let mut got = 0;
    let mut cuts = 0;
    let mut reconnected = 0;
    while got < N {
        // Keep messages in flight both ways while the network fails under them.
        while sent < N && sent < got + 50 {
            c.send(sent.to_string()).await.unwrap();
            sent += 1;
        }
        if got >= 150 * (cuts + 1) && cuts < 3 {
            proxy.cut();
            cuts += 1;
        }
        match next(&mut c).await {
            Event::Reconnected => reconnected += 1,
            Event::Reconnecting { .. } => {}
            Event::Message(body) => {
                assert_eq!(String::from_utf8(body).unwrap(), format!("traveller:{got}"));
                got += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    assert_eq!(cuts, 3);
    assert_eq!(reconnected, 3, "each cut was noticed and resumed");
    assert_eq!(server.sessions(), 1);
}

/// Sends until `sent` reaches `upto`, keeping at most 40 unanswered, and checks each reply
/// is the next one expected: `traveller:<n>`, each once, in order.
async fn exchange(c: &mut Client, sent: &mut usize, got: &mut usize, upto: usize) {
    while *got < upto {
        while *sent < upto && *sent < *got + 40 {
            c.send(sent.to_string()).await.unwrap();
            *sent += 1;
        }
        match next_data(c).await {
            Event::Message(body) => {
                assert_eq!(String::from_utf8(body).unwrap(), format!("sleeper:{got}"));
                *got += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
}

/// Reads replies until `got` reaches `sent`, each the next one expected, while the client
/// resumes; how many times it resumed.
async fn replies_through_resume(c: &mut Client, got: &mut usize, sent: usize) -> usize {
    let mut reconnected = 0;
    while *got < sent {
        match next(c).await {
            Event::Reconnected => reconnected += 1,
            Event::Reconnecting { .. } => {}
            Event::Message(body) => {
                assert_eq!(String::from_utf8(body).unwrap(), format!("sleeper:{got}"));
                *got += 1;
            }
            other => panic!("unexpected {other:?}"),
        }
    }
    reconnected
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_outlives_a_server_restart_with_nothing_lost_or_repeated() {
    let dir = tempfile::tempdir().unwrap();
    let first = server(dir.path());
    let proxy = Proxy::start(first.tcp_addr().unwrap()).await;
    let endpoint = Endpoint::tcp(proxy.addr.to_string());
    let mut c = welcomed(endpoint.clone(), "sleeper").await;
    let (mut sent, mut got) = (0, 0);
    exchange(&mut c, &mut sent, &mut got, 100).await;

    // Messages in flight both ways when the server goes down: some handled and their
    // replies unread, some not handled yet. The client hears the shutdown; while the
    // server is down nothing answers.
    for n in sent..sent + 40 {
        c.send(n.to_string()).await.unwrap();
    }
    sent += 40;
    proxy.point_to(None);
    tokio::task::spawn_blocking(move || first.shutdown().unwrap())
        .await
        .unwrap();
    let dir_path = dir.path().to_owned();
    let second = tokio::task::spawn_blocking(move || server(&dir_path))
        .await
        .unwrap();
    assert_eq!(second.sessions(), 1, "the session was restored");
    proxy.point_to(second.tcp_addr());

    // Every reply, to messages handled before the restart and after, once and in order.
    let reconnected = replies_through_resume(&mut c, &mut got, sent).await;
    assert_eq!(reconnected, 1, "resumed once, on the restarted server");
    assert_eq!(
        proxy.carried.load(Ordering::SeqCst),
        2,
        "the login, and the resume that reached the restarted server"
    );
    assert!(proxy.accepted.load(Ordering::SeqCst) >= 2);
    exchange(&mut c, &mut sent, &mut got, 300).await;
    assert_eq!(second.sessions(), 1);
    // The channel the login joined is still joined: a logout leaves it.
    c.logout().await.unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_restored_session_nobody_resumes_ends_after_its_window() {
    let dir = tempfile::tempdir().unwrap();
    let short = |dir: &std::path::Path| {
        let config = Config {
            resume_window_ms: 500,
            ..dev_server_config(dir)
        };
        Server::builder(Chat).config(config).start().unwrap()
    };
    let first = short(dir.path());
    let tcp = Endpoint::tcp(first.tcp_addr().unwrap().to_string());
    let c = welcomed(tcp, "leaver").await;
    tokio::task::spawn_blocking(move || first.shutdown().unwrap())
        .await
        .unwrap();
    drop(c);
    let dir_path = dir.path().to_owned();
    let second = tokio::task::spawn_blocking(move || short(&dir_path))
        .await
        .unwrap();
    assert_eq!(second.sessions(), 1, "restored, waiting for its client");
    // Nobody comes back: the window ends it, and its listener hears `disconnected`.
    let deadline = std::time::Instant::now() + Duration::from_secs(60);
    while second.sessions() != 0 {
        assert!(std::time::Instant::now() < deadline, "ended within 60 s");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let dir_path = dir.path().to_owned();
    tokio::task::spawn_blocking(move || second.shutdown().unwrap())
        .await
        .unwrap();
    let third = tokio::task::spawn_blocking(move || short(&dir_path))
        .await
        .unwrap();
    assert_eq!(third.sessions(), 0, "an ended session is not restored");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn senders_in_other_tasks_and_events_in_a_select_loop_lose_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let tcp = Endpoint::tcp(server.tcp_addr().unwrap().to_string());
    let c = welcomed(tcp, "juggler").await;
    let (sender, mut events) = c.split();
    const TASKS: usize = 4;
    const EACH: usize = 50;
    let tasks: Vec<_> = (0..TASKS)
        .map(|t| {
            let sender = sender.clone();
            tokio::spawn(async move {
                for n in 0..EACH {
                    sender.send(format!("{t}.{n}")).await.unwrap();
                }
            })
        })
        .collect();
    // A timer that fires far more often than replies come, so that many `next_event`
    // futures are dropped unfinished.
    let mut tick = tokio::time::interval(Duration::from_micros(200));
    let mut ticks = 0;
    let mut next_of = [0; TASKS];
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while next_of.iter().sum::<usize>() < TASKS * EACH {
        assert!(
            tokio::time::Instant::now() < deadline,
            "every reply within 30 s"
        );
        tokio::select! {
            event = events.next_event() => {
                let Some(Event::Message(body)) = event else {
                    panic!("a reply, not {event:?}");
                };
                let body = String::from_utf8(body).unwrap();
                let (t, n) = body
                    .strip_prefix("juggler:")
                    .and_then(|rest| rest.split_once('.'))
                    .expect("a reply");
                let (t, n): (usize, usize) = (t.parse().unwrap(), n.parse().unwrap());
                assert_eq!(n, next_of[t], "task {t}'s replies in order, once each");
                next_of[t] += 1;
            }
            _ = tick.tick() => ticks += 1,
        }
    }
    for task in tasks {
        task.await.unwrap();
    }
    assert!(ticks > 0);
    sender.logout().await.unwrap();
    let Some(Event::Disconnected { reason, .. }) = events.next_event().await else {
        panic!("the session ends");
    };
    assert_eq!(reason, DisconnectReason::LoggedOut);
}

const CHILD_DIR_VAR: &str = "DARKSTAR_SESSIONS_CHILD_DIR";

/// The server of the test below, in a process of its own so that it can be killed: it
/// prints `ready <addr>` and serves until it is.
#[test]
#[ignore = "run as a child process by a_session_outlives_kill_9_of_its_server"]
fn session_server_child() {
    let Ok(dir) = std::env::var(CHILD_DIR_VAR) else {
        return;
    };
    let server = server(std::path::Path::new(&dir));
    println!("ready {}", server.tcp_addr().expect("listens on TCP"));
    // Until killed; a parent that died without killing it ends it by closing stdin.
    let _ = std::io::stdin().read_line(&mut String::new());
}

/// Starts `session_server_child` on `dir`; the child and its address.
fn spawn_server(dir: &std::path::Path) -> (std::process::Child, SocketAddr) {
    use std::io::BufRead;
    let mut child = std::process::Command::new(std::env::current_exe().unwrap())
        .args([
            "--ignored",
            "--exact",
            "session_server_child",
            "--nocapture",
        ])
        .env(CHILD_DIR_VAR, dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::null())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let mut lines = std::io::BufReader::new(stdout).lines();
    let addr = loop {
        let line = lines.next().expect("the child prints its address").unwrap();
        if let Some(addr) = line.strip_prefix("ready ") {
            break addr.parse().unwrap();
        }
    };
    (child, addr)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_session_outlives_kill_9_of_its_server() {
    let dir = tempfile::tempdir().unwrap();
    let (mut first, addr) = spawn_server(dir.path());
    let proxy = Proxy::start(addr).await;
    let endpoint = Endpoint::tcp(proxy.addr.to_string());
    let mut c = welcomed(endpoint, "sleeper").await;
    let (mut sent, mut got) = (0, 0);
    exchange(&mut c, &mut sent, &mut got, 100).await;
    // Killed with messages in flight both ways, without a word to the client.
    for n in sent..sent + 40 {
        c.send(n.to_string()).await.unwrap();
    }
    sent += 40;
    proxy.point_to(None);
    first.kill().unwrap();
    first.wait().unwrap();
    proxy.cut();
    let path = dir.path().to_owned();
    let (mut second, addr) = tokio::task::spawn_blocking(move || spawn_server(&path))
        .await
        .unwrap();
    proxy.point_to(Some(addr));
    // Every reply, to messages handled before the kill and after, once and in order.
    let reconnected = replies_through_resume(&mut c, &mut got, sent).await;
    assert_eq!(reconnected, 1, "resumed once, on the restarted server");
    exchange(&mut c, &mut sent, &mut got, 300).await;
    c.logout().await.unwrap();
    second.kill().unwrap();
    second.wait().unwrap();
}
