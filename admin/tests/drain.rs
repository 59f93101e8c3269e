//! Draining a cluster node through the admin API and the admin tool: its slots go to the
//! other node, logins there are sent on, and ending the drain brings its share back.
//! Two nodes in this process, on real PostgreSQL and etcd.

use std::net::SocketAddr;
use std::process::Command;
use std::time::{Duration, Instant};

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
        cluster_etcd: Some(etcd.endpoint()),
        cluster_postgres: Some(pg.url()),
        node_name: Some(name.to_owned()),
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

#[test]
fn a_drained_node_hands_its_slots_over_and_takes_them_back() {
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

    assert!(tool(admin, &["drain", "node-c"])
        .unwrap_err()
        .contains("no node \"node-c\""));
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

    tool(admin, &["undrain", "node-b"]).unwrap();
    wait_for(admin, "node-b takes its share back", |t| {
        t.iter().all(|(_, s, d)| *s >= total / 2 - 1 && !*d)
    });
    b.shutdown().unwrap();
    a.shutdown().unwrap();
}
