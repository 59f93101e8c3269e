//! Three nodes, one world: bank transfers from clients connected to every node, through
//! the shared commit log in a real PostgreSQL, with membership in a real etcd (both
//! started on loopback with fresh data directories).
//!
//! Each node is a child process: this same test binary, re-run with `--ignored --exact
//! cluster_node_child` and its settings in environment variables. It prints `ready` once
//! it serves clients and, when told to stop (SIGTERM), the bank's audit and its log
//! position. After the load the nodes are stopped, started again (each catches up with
//! the log as it starts) and stopped again, so every replica ends at the log's head; then
//! every replica must hold the same state (the same digest at the same position), and no
//! money was created or lost.

use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, ChildStdout, Command, Stdio};
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint};
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::load::{carry_lanes, LoadStats, SessionLane, Workload};
use darkstar_runtime::Server;
use darkstar_storage::{Options, Store};
use darkstar_tests::engines::{Etcd, Postgres};
use darkstar_tests::server_config::dev_server_config;

const ACCOUNTS: u32 = 1000;
const INITIAL_BALANCE: i64 = 1_000_000;
const NODES: usize = 3;
/// Transfers acknowledged before the load stops.
const TRANSFERS: u64 = 3000;
/// How long the test waits for something that must happen: long, since it costs time
/// only when the test fails, and a loaded machine may be slow.
const PATIENCE: Duration = Duration::from_secs(120);

const DIR_VAR: &str = "DARKSTAR_CLUSTER_NODE_DIR";
const NAME_VAR: &str = "DARKSTAR_CLUSTER_NODE_NAME";
const ETCD_VAR: &str = "DARKSTAR_CLUSTER_NODE_ETCD";
const PG_VAR: &str = "DARKSTAR_CLUSTER_NODE_PG";

/// A node: this binary's `cluster_node_child`.
struct NodeProcess {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    addr: String,
    name: String,
    log: PathBuf,
}

fn start_node(name: &str, dir: &Path, etcd: &Etcd, pg: &Postgres) -> NodeProcess {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .args(["--ignored", "--exact", "cluster_node_child", "--nocapture"])
        .env(DIR_VAR, dir)
        .env(NAME_VAR, name)
        .env(ETCD_VAR, etcd.endpoint())
        .env(PG_VAR, pg.url())
        .stdout(Stdio::piped())
        .stderr(Stdio::from(
            std::fs::File::create(dir.with_extension("log")).expect("a log file"),
        ))
        .spawn()
        .expect("start a node");
    let lines = forward(child.stdout.take().expect("piped"));
    let mut node = NodeProcess {
        child,
        lines,
        addr: String::new(),
        name: name.to_owned(),
        log: dir.with_extension("log"),
    };
    let ready = node.wait_for("ready ");
    node.addr = ready.trim_start_matches("ready ").to_owned();
    node
}

/// Lines the child prints, as they come.
fn forward(out: ChildStdout) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if tx.send(line).is_err() {
                break;
            }
        }
    });
    rx
}

impl NodeProcess {
    /// The next line starting with `prefix`; other lines are skipped.
    fn wait_for(&mut self, prefix: &str) -> String {
        let deadline = Instant::now() + PATIENCE;
        loop {
            let left = deadline.saturating_duration_since(Instant::now());
            match self.lines.recv_timeout(left) {
                Ok(line) if line.starts_with(prefix) => return line,
                Ok(_) => {}
                Err(e) => panic!(
                    "{} never printed {prefix:?} ({e}); its log:\n{}",
                    self.name,
                    std::fs::read_to_string(&self.log).unwrap_or_default()
                ),
            }
        }
    }

    /// Stops the node (SIGTERM); returns its audit line and its final position.
    fn stop(&mut self) -> (String, u64) {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        let r = unsafe { libc::kill(self.child.id() as i32, libc::SIGTERM) };
        assert_eq!(r, 0, "signal a node");
        let audit = self.wait_for("audit ");
        let stopped = self.wait_for("stopped ");
        let status = self.child.wait().expect("wait for a node");
        assert!(status.success(), "a node failed: {status}");
        let position = stopped
            .trim_start_matches("stopped at ")
            .parse()
            .expect("a position");
        (audit, position)
    }
}

impl Drop for NodeProcess {
    fn drop(&mut self) {
        // A node left running by a failed test would hold its port and its store.
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn dirs(root: &Path) -> Vec<PathBuf> {
    (0..NODES).map(|i| root.join(format!("node-{i}"))).collect()
}

/// Starts every node at once: they take turns at the start-up lock.
fn start_all(dirs: &[PathBuf], etcd: &Etcd, pg: &Postgres) -> Vec<NodeProcess> {
    std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| s.spawn(move || start_node(&format!("node-{i}"), dir, etcd, pg)))
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a node started"))
            .collect()
    })
}

#[test]
fn three_nodes_apply_one_log_and_agree() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());

    let nodes = start_all(&dirs, &etcd, &pg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    // Two clients on every node, all moving money between the same accounts.
    let lanes: Vec<SessionLane> = runtime.block_on(async {
        let mut lanes = Vec::new();
        for (i, node) in nodes.iter().enumerate() {
            for j in 0..2 {
                let name = format!("player-{i}-{j}");
                let client = Client::connect(Endpoint::tcp(node.addr.clone()), &name, "")
                    .await
                    .unwrap_or_else(|e| panic!("{name} cannot log in: {e}"));
                lanes.push(SessionLane(client));
            }
        }
        lanes
    });
    let stats = Arc::new(LoadStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workload = Workload {
        alpha: 1.0,
        ..Workload::default()
    };
    let load = {
        let (stats, stop) = (stats.clone(), stop.clone());
        runtime.spawn(async move {
            carry_lanes(lanes, ACCOUNTS as u64, 8, &workload, &stats, &stop).await
        })
    };
    let deadline = Instant::now() + PATIENCE;
    while stats.committed.load(Ordering::Relaxed) < TRANSFERS {
        assert!(
            Instant::now() < deadline,
            "only {} transfers were acknowledged",
            stats.committed.load(Ordering::Relaxed)
        );
        std::thread::sleep(Duration::from_millis(20));
    }
    stop.store(true, Ordering::Relaxed);
    let errors = runtime.block_on(load).expect("the load ran");
    assert!(errors.is_empty(), "clients failed: {errors:?}");
    drop(runtime);
    for mut node in nodes {
        node.stop();
    }

    // Started again, every node catches up with the log; stopped, it stays at the head.
    let nodes = start_all(&dirs, &etcd, &pg);
    let ends: Vec<(String, u64)> = nodes.into_iter().map(|mut n| n.stop()).collect();
    for (audit, _) in &ends {
        let expected = ACCOUNTS as i128 * INITIAL_BALANCE as i128;
        assert_eq!(
            audit,
            &format!("audit total {expected} expected {expected} negative 0"),
            "money was created or lost"
        );
    }
    let digests: Vec<(u64, [u8; 32])> = dirs
        .iter()
        .map(|dir| {
            let store = Store::open(
                dir,
                Options {
                    replica: true,
                    ..Options::default()
                },
            )
            .expect("open a replica");
            let position = darkstar_runtime::cluster::applied_position(&store);
            (position, store.snapshot().digest())
        })
        .collect();
    for (i, (position, digest)) in digests.iter().enumerate() {
        assert_eq!(
            *position, ends[i].1,
            "node {i}'s store and its last word disagree"
        );
        assert_eq!(
            (*position, *digest),
            digests[0],
            "node {i}'s replica differs from node 0's"
        );
    }
    assert!(digests[0].0 > 0, "nothing reached the log");
}

/// One node of the cluster, run as a child process by the test above.
#[test]
#[ignore = "run as a child process by three_nodes_apply_one_log_and_agree"]
fn cluster_node_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    darkstar_runtime::init_logging("info");
    let var = |name: &str| std::env::var(name).expect("set by the parent");
    let mut config = dev_server_config(Path::new(&dir));
    config.cluster_etcd = Some(var(ETCD_VAR));
    config.cluster_postgres = Some(var(PG_VAR));
    config.node_name = Some(var(NAME_VAR));
    config.session_messages_per_sec = 0;
    config.session_kib_per_sec = 0;
    let app = BankApp {
        accounts: ACCOUNTS,
        initial_balance: INITIAL_BALANCE,
    };
    let server = Server::builder(app)
        .config(config)
        .start()
        .expect("the node starts");
    let addr = server.tcp_addr().expect("listens on TCP");
    println!("ready {addr}");
    let mut signals =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM]).expect("signals");
    signals.forever().next();
    let audit = server.query(bank::audit).expect("audit");
    println!(
        "audit total {} expected {} negative {}",
        audit.total, audit.expected, audit.negative
    );
    let position = server.log_position().expect("a cluster node");
    server.shutdown().expect("clean shutdown");
    println!("stopped at {position}");
}
