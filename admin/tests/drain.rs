//! Draining a cluster node through the admin API and the admin tool: its slots go to the
//! other node, a player's session there moves with them (`Relocate`) with nothing lost or
//! repeated, and ending the drain brings the node's share back. Two nodes in this
//! process, on real PostgreSQL and etcd.

use std::net::SocketAddr;
use std::process::Command;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint, Event};
use darkstar_examples::chat::ChatApp;
use darkstar_examples::engines::{Etcd, Postgres};
use darkstar_runtime::{Config, Server};
use darkstar_tests::server_config::dev_server_config;
use serde_json::Value;

const TOKEN: &str = "an-admin-token-for-the-drain-test";

fn node(dir: &std::path::Path, name: &str, etcd: &Etcd, pg: &Postgres) -> Server {
    let config = Config {
        cores: 1,
        admin_addr: Some("127.0.0.1:0".parse().unwrap()),
        admin_token: Some(TOKEN.to_owned()),
        ws_addr: Some("127.0.0.1:0".parse().unwrap()),
        cluster_etcd: Some(etcd.endpoint()),
        cluster_postgres: Some(pg.url()),
        node_name: Some(name.to_owned()),
        // The player below chats faster than a player's rates allow.
        session_messages_per_sec: 0,
        channel_messages_per_sec: 0,
        ..dev_server_config(dir)
    };
    Server::builder(ChatApp).config(config).start().unwrap()
}

/// The admin tool's JSON answer to `args`, or its error text.
fn tool(admin: SocketAddr, args: &[&str]) -> Result<Value, String> {
    let out = Command::new(env!("CARGO_BIN_EXE_darkstar-admin"))
        .arg("--url")
        .arg(format!("http://{admin}"))
        .arg("--json")
        .args(args)
        .env("DARKSTAR_ADMIN_TOKEN", TOKEN)
        .output()
        .unwrap();
    if !out.status.success() {
        return Err(String::from_utf8_lossy(&out.stderr).into_owned());
    }
    Ok(serde_json::from_slice(&out.stdout).unwrap())
}

/// Slots per node name, as the node at `admin` sees the table.
fn slots(admin: SocketAddr) -> Vec<(String, u64, bool)> {
    let nodes = tool(admin, &["nodes"]).unwrap();
    nodes["nodes"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                n["name"].as_str().unwrap().to_owned(),
                n["slots"].as_u64().unwrap(),
                n["draining"].as_bool().unwrap(),
            )
        })
        .collect()
}

/// Waits (a minute at most) until the table seen at `admin` satisfies `done`.
fn wait_for(admin: SocketAddr, what: &str, done: impl Fn(&[(String, u64, bool)]) -> bool) {
    let deadline = Instant::now() + Duration::from_secs(60);
    loop {
        let seen = slots(admin);
        if done(&seen) {
            return;
        }
        assert!(Instant::now() < deadline, "{what}: still {seen:?}");
        std::thread::sleep(Duration::from_millis(100));
    }
}

async fn next(player: &mut Client) -> Event {
    tokio::time::timeout(Duration::from_secs(60), player.next_event())
        .await
        .expect("an event within a minute")
        .expect("the client is live")
}

/// Reads the player's events until `heard` holds `until` lobby lines of the player's;
/// other events go to `seen`.
async fn hear(player: &mut Client, heard: &mut Vec<String>, seen: &mut Vec<String>, until: usize) {
    while heard.len() < until {
        match next(player).await {
            Event::ChannelMessage { body, .. } => {
                let text = String::from_utf8(body).unwrap();
                if let Some((_, line)) = text.split_once(": ") {
                    heard.push(line.to_owned());
                }
            }
            Event::Disconnected { reason, text } => panic!("the session ended: {reason} {text}"),
            other => seen.push(format!("{other:?}")),
        }
    }
}

/// Hears the player talk until its session is carried by `to`, then 50 lines more.
async fn talk_until_on(
    player: &mut Client,
    to: &Endpoint,
    heard: &mut Vec<String>,
    seen: &mut Vec<String>,
) {
    while player.endpoint() != *to {
        let more = heard.len() + 1;
        hear(player, heard, seen, more).await;
    }
    let more = heard.len() + 50;
    hear(player, heard, seen, more).await;
}

#[test]
fn a_drained_node_hands_its_slots_and_sessions_over_and_takes_them_back() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().unwrap();
    let a = node(&root.path().join("a"), "node-a", &etcd, &pg);
    let b = node(&root.path().join("b"), "node-b", &etcd, &pg);
    let admin = a.admin_addr().unwrap();
    let total = darkstar_runtime::placement::SLOTS as u64;
    wait_for(admin, "both nodes share the slots", |t| {
        t.len() == 2 && t.iter().all(|(_, s, _)| *s > 0)
    });

    let status = tool(admin, &["status"]).unwrap();
    assert_eq!(status["node"], "node-a");
    assert_eq!(status["cluster"]["nodes"].as_array().unwrap().len(), 2);
    assert!(status["cluster"]["log_position"].as_u64().unwrap() > 0);
    let unknown = tool(admin, &["drain", "node-c"]).unwrap_err();
    assert!(unknown.contains("no node \"node-c\""), "{unknown}");

    // A player whose session lives on node-b, chatting in the lobby while node-b drains.
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    let (a_addr, b_addr) = (a.tcp_addr().unwrap(), b.tcp_addr().unwrap());
    let (player, lobby) = runtime.block_on(async {
        for i in 0.. {
            // A login at node-a is redirected to the owner of the name's slot.
            let name = format!("player-{i}");
            let mut client = Client::connect(Endpoint::tcp(a_addr.to_string()), &name, "")
                .await
                .unwrap();
            if client.endpoint() != Endpoint::tcp(b_addr.to_string()) {
                client.logout().await.unwrap();
                continue;
            }
            loop {
                let event = tokio::time::timeout(Duration::from_secs(60), client.next_event())
                    .await
                    .expect("an event within a minute")
                    .expect("the client is live");
                if let Event::JoinedChannel { channel, .. } = event {
                    return (client, channel);
                }
            }
        }
        unreachable!("names without end")
    });
    // Over WebSocket the same name is sent to node-b's WebSocket listener.
    runtime.block_on(async {
        let url = |addr: SocketAddr| format!("ws://{addr}/");
        let name = format!("ws-{}", player.session_id());
        for i in 0.. {
            let name = format!("{name}-{i}");
            let client = Client::connect(Endpoint::websocket(url(a.ws_addr().unwrap())), &name, "")
                .await
                .unwrap();
            let at = client.endpoint();
            client.logout().await.unwrap();
            if at != Endpoint::websocket(url(a.ws_addr().unwrap())) {
                assert_eq!(at, Endpoint::websocket(url(b.ws_addr().unwrap())));
                break;
            }
        }
    });
    let session = player.session_id();
    let mut player = player;
    let sender = player.sender();
    // It talks until told to stop, and says how many lines it sent.
    let stop = Arc::new(AtomicBool::new(false));
    let chat = {
        let stop = stop.clone();
        runtime.spawn(async move {
            let mut n = 0;
            while !stop.load(Ordering::Relaxed) {
                sender
                    .send_to_channel(lobby, format!("line {n}"))
                    .await
                    .unwrap();
                n += 1;
            }
            (sender, n)
        })
    };
    let (mut heard, mut seen) = (Vec::new(), Vec::new());
    runtime.block_on(hear(&mut player, &mut heard, &mut seen, 50));
    let b_ep = Endpoint::tcp(b_addr.to_string());
    let a_ep = Endpoint::tcp(a_addr.to_string());

    // Drained, node-b hands its slots and the player's session to node-a.
    let drained = tool(admin, &["drain", "node-b"]).unwrap();
    assert_eq!(drained["draining"], true);
    wait_for(admin, "node-b hands every slot to node-a", |t| {
        t.iter().any(|(n, s, d)| n == "node-b" && *s == 0 && *d)
            && t.iter().any(|(n, s, _)| n == "node-a" && *s == total)
    });
    // node-b follows the same table: it owns nothing now.
    let seen_at_b = slots(b.admin_addr().unwrap());
    assert!(
        seen_at_b.iter().any(|(n, s, _)| n == "node-b" && *s == 0),
        "{seen_at_b:?}"
    );
    runtime.block_on(talk_until_on(&mut player, &a_ep, &mut heard, &mut seen));
    let listed = tool(admin, &["sessions", "list"]).unwrap();
    let moved =
        listed["sessions"].as_array().unwrap().iter().any(|s| {
            s["id"].as_str() == Some(session.to_string().as_str()) && s["connected"] == true
        });
    assert!(moved, "node-a holds the session now: {listed}");

    // Back again, within the window in which node-b still keeps the link it let go of:
    // node-b takes the session over anew rather than resume that stale link.
    tool(admin, &["undrain", "node-b"]).unwrap();
    tool(admin, &["drain", "node-a"]).unwrap();
    wait_for(admin, "node-a hands every slot to node-b", |t| {
        t.iter().any(|(n, s, d)| n == "node-a" && *s == 0 && *d)
            && t.iter()
                .any(|(n, s, d)| n == "node-b" && *s == total && !*d)
    });
    runtime.block_on(talk_until_on(&mut player, &b_ep, &mut heard, &mut seen));

    stop.store(true, Ordering::Relaxed);
    let (sender, sent) = runtime.block_on(chat).unwrap();
    runtime.block_on(hear(&mut player, &mut heard, &mut seen, sent));
    let expected: Vec<String> = (0..sent).map(|n| format!("line {n}")).collect();
    assert_eq!(
        heard, expected,
        "every line once, in order, across both moves"
    );
    assert!(
        seen.iter().filter(|e| e.contains("Reconnected")).count() >= 2,
        "the session moved twice: {seen:?}"
    );
    assert_eq!(sender.session_id(), session, "the same session");

    tool(admin, &["undrain", "node-a"]).unwrap();
    wait_for(admin, "node-a takes its share back", |t| {
        t.iter().all(|(_, s, d)| *s >= total / 2 - 1 && !*d)
    });
    drop((sender, player));
    b.shutdown().unwrap();
    a.shutdown().unwrap();
}
