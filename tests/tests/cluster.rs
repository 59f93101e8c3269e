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
use std::sync::atomic::{AtomicBool, AtomicI64, AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use darkstar_client::{Client, Endpoint};
use darkstar_client::{Event, Options as ClientOptions};
use darkstar_examples::bank::request::{Outcome, TransferReply, TransferRequest};
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::load::{carry_lanes, LoadStats, SessionLane, Workload};
use darkstar_runtime::Server;
use darkstar_sdk::prelude::*;
use darkstar_storage::{Options, Store};
use darkstar_tests::engines::{Etcd, Postgres};
use darkstar_tests::server_config::dev_server_config;

const ACCOUNTS: u32 = 1000;
const INITIAL_BALANCE: i64 = 1_000_000;
const NODES: usize = 3;
/// Clients of the kill test, each paying from its own account (account `c` for client
/// `c`) into the others, so its account's balance tells how many of its transfers
/// committed.
const CLIENTS: usize = 6;
/// Transfers acknowledged before the load stops.
const TRANSFERS: u64 = 3000;
/// How long the test waits for something that must happen: long, since it costs time
/// only when the test fails, and a loaded machine may be slow.
const PATIENCE: Duration = Duration::from_secs(120);

/// The heartbeat's period: a stored periodic task, which must keep running on whichever
/// node owns its slot.
const HEARTBEAT_MS: u64 = 50;

const DIR_VAR: &str = "DARKSTAR_CLUSTER_NODE_DIR";
const NAME_VAR: &str = "DARKSTAR_CLUSTER_NODE_NAME";
const ETCD_VAR: &str = "DARKSTAR_CLUSTER_NODE_ETCD";
const PG_VAR: &str = "DARKSTAR_CLUSTER_NODE_PG";
/// `chat` runs the chat example instead of the bank.
const APP_VAR: &str = "DARKSTAR_CLUSTER_NODE_APP";
/// Records between checkpoints (unset: the default).
const CHECKPOINT_VAR: &str = "DARKSTAR_CLUSTER_NODE_CHECKPOINT";

// ---------------------------------------------------------------------------------------
// The app: the bank, and a periodic heartbeat.

/// Heartbeat count, bound to `beats`.
#[managed(name = "cluster.Beats")]
#[derive(Debug)]
pub struct Beats {
    pub count: u64,
    /// Asked to stop: the next run cancels the heartbeat.
    pub stop: bool,
    /// Stopped: no run is left.
    pub ended: bool,
}

#[task(name = "cluster.heartbeat")]
pub fn heartbeat(ctx: &mut Context, beats: Ref<Beats>) -> TaskResult {
    let mut b = ctx.get_mut(beats)?;
    if b.stop {
        b.ended = true;
        drop(b);
        if let Some(me) = ctx.current_task() {
            ctx.cancel(me)?;
        }
        return Ok(());
    }
    b.count += 1;
    Ok(())
}

/// One of the one-shot tasks of the zombie test: each must run exactly once.
#[managed(name = "cluster.Shot")]
#[derive(Debug)]
pub struct Shot {
    pub runs: u64,
}

/// Every shot planted, bound to `shots`.
#[managed(name = "cluster.Shots")]
#[derive(Debug)]
pub struct Shots {
    pub all: Vec<Ref<Shot>>,
}

#[task(name = "cluster.shot")]
pub fn fire(ctx: &mut Context, shot: Ref<Shot>) -> TaskResult {
    ctx.get_mut(shot)?.runs += 1;
    Ok(())
}

/// Plants `count` shots, due one every `every_ms` from now.
#[task(name = "cluster.plant")]
pub fn plant(ctx: &mut Context, count: u32, every_ms: u64) -> TaskResult {
    let shots = ctx.lookup::<Shots>("shots")?;
    for i in 0..count {
        let s = ctx.create(Shot { runs: 0 })?;
        ctx.schedule_after(
            Fire { shot: s },
            Duration::from_millis(every_ms * u64::from(i + 1)),
        )?;
        ctx.get_mut(shots)?.all.push(s);
    }
    Ok(())
}

/// How many shots ran once, and how many did not (never, or twice).
fn shots(ctx: &Context<'_>) -> Result<(u64, u64), TaskError> {
    let shots = ctx.get(ctx.lookup::<Shots>("shots")?)?;
    let mut once = 0;
    for s in shots.all.iter() {
        once += u64::from(ctx.get(s.get())?.runs() == 1);
    }
    Ok((once, shots.all.len() as u64 - once))
}

/// Stops the heartbeat, so that the log stops growing and every replica can end at its
/// head.
#[task(name = "cluster.quiet")]
pub fn quiet(ctx: &mut Context) -> TaskResult {
    ctx.get_mut(ctx.lookup::<Beats>("beats")?)?.stop = true;
    Ok(())
}

struct ClusterApp(BankApp);

impl App for ClusterApp {
    fn register(&self, types: &mut Types) {
        self.0.register(types);
        types
            .object::<Beats>()
            .object::<Shot>()
            .object::<Shots>()
            .task::<Heartbeat>()
            .task::<Quiet>()
            .task::<Fire>()
            .task::<Plant>();
    }

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        self.0.logged_in(ctx, session)
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        self.0.initialize(ctx)?;
        let beats = ctx.create(Beats {
            count: 0,
            stop: false,
            ended: false,
        })?;
        ctx.bind("beats", beats)?;
        let shots = ctx.create(Shots { all: Vec::new() })?;
        ctx.bind("shots", shots)?;
        let period = Duration::from_millis(HEARTBEAT_MS);
        ctx.schedule_periodic(Heartbeat { beats }, period, period)?;
        Ok(())
    }
}

/// The echo of the session-resume test: each message comes back as `<name>:<message>`,
/// so a message handled twice, or a reply lost, shows in what the client reads.
#[managed(name = "cluster.Echo")]
struct Echo {
    name: String,
}

impl SessionListener for Echo {
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult {
        let mut reply = format!("{}:", ctx.get(this)?.name).into_bytes();
        reply.extend_from_slice(message);
        ctx.send(session, reply)
    }
}

struct EchoApp;

impl App for EchoApp {
    fn register(&self, types: &mut Types) {
        types.session_listener::<Echo>();
    }

    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        let name = ctx.get(session)?.name.to_string();
        let echo = ctx.create(Echo { name })?;
        Ok(Login::accept(echo))
    }
}

fn beats(ctx: &Context<'_>) -> Result<u64, TaskError> {
    Ok(ctx.get(ctx.lookup::<Beats>("beats")?)?.count())
}

fn heartbeat_ended(ctx: &Context<'_>) -> Result<bool, TaskError> {
    Ok(ctx.get(ctx.lookup::<Beats>("beats")?)?.ended())
}

/// A node: this binary's `cluster_node_child`.
struct NodeProcess {
    child: Child,
    lines: std::sync::mpsc::Receiver<String>,
    addr: String,
    name: String,
    log: PathBuf,
    /// The heartbeat count this node last reported.
    beats: Arc<AtomicU64>,
}

fn start_node(name: &str, dir: &Path, etcd: &Etcd, pg: &Postgres) -> NodeProcess {
    start_app_node("bank", name, dir, etcd, pg)
}

fn start_app_node(app: &str, name: &str, dir: &Path, etcd: &Etcd, pg: &Postgres) -> NodeProcess {
    start_node_env(name, dir, etcd, pg, &[(APP_VAR, app)])
}

fn start_node_env(
    name: &str,
    dir: &Path,
    etcd: &Etcd,
    pg: &Postgres,
    env: &[(&str, &str)],
) -> NodeProcess {
    let exe = std::env::current_exe().expect("test binary path");
    let mut child = Command::new(exe)
        .envs(env.iter().copied())
        .stdin(Stdio::piped())
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
    let beats = Arc::new(AtomicU64::new(0));
    let lines = forward(child.stdout.take().expect("piped"), beats.clone());
    let mut node = NodeProcess {
        child,
        lines,
        addr: String::new(),
        name: name.to_owned(),
        log: dir.with_extension("log"),
        beats,
    };
    let ready = node.wait_for("ready ");
    node.addr = ready.trim_start_matches("ready ").to_owned();
    node
}

/// Lines the child prints, as they come; its heartbeat reports go to `beats` instead.
fn forward(out: ChildStdout, beats: Arc<AtomicU64>) -> std::sync::mpsc::Receiver<String> {
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        for line in BufReader::new(out).lines().map_while(Result::ok) {
            if let Some(n) = line.strip_prefix("beats ") {
                beats.fetch_max(n.parse().unwrap_or(0), Ordering::Relaxed);
                continue;
            }
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

    /// Sends the node a command (`quiet`, `plant <count> <every_ms>`) and waits for its
    /// answer, a line starting with the command's first word.
    fn command(&mut self, line: &str) -> String {
        use std::io::Write;
        let stdin = self.child.stdin.as_mut().expect("piped");
        writeln!(stdin, "{line}").expect("send a command");
        stdin.flush().expect("send a command");
        self.wait_for(line.split(' ').next().expect("a word"))
    }

    /// Sends a signal to the node.
    fn signal(&mut self, sig: i32) {
        // SAFETY: kill(2) on our own child's pid, which has not been reaped.
        let r = unsafe { libc::kill(self.child.id() as i32, sig) };
        assert_eq!(r, 0, "signal a node");
    }

    /// Kills the node (SIGKILL), as a machine dying would.
    fn kill(&mut self) {
        self.child.kill().expect("kill a node");
        self.child.wait().expect("reap a node");
    }

    /// Stops the node (SIGTERM); returns what it said last.
    fn stop(&mut self) -> End {
        // Its command reader ends with its input.
        drop(self.child.stdin.take());
        self.signal(libc::SIGTERM);
        let audit = self.wait_for("audit ");
        let balances = self
            .wait_for("balances ")
            .split_whitespace()
            .skip(1)
            .map(|b| b.parse().expect("a balance"))
            .collect();
        let shots: Vec<u64> = self
            .wait_for("shots ")
            .split_whitespace()
            .skip(1)
            .map(|n| n.parse().expect("a count"))
            .collect();
        let stopped = self.wait_for("stopped ");
        let status = self.child.wait().expect("wait for a node");
        assert!(status.success(), "a node failed: {status}");
        let position = stopped
            .trim_start_matches("stopped at ")
            .parse()
            .expect("a position");
        End {
            audit,
            balances,
            shots: (shots[0], shots[1]),
            position,
        }
    }
}

/// What a node said when it stopped.
struct End {
    audit: String,
    /// The balances of the clients' own accounts.
    balances: Vec<i64>,
    /// Shots that ran once, and shots that did not.
    shots: (u64, u64),
    /// Its last log position.
    position: u64,
}

impl End {
    fn check_audit(&self) {
        let expected = ACCOUNTS as i128 * INITIAL_BALANCE as i128;
        assert_eq!(
            self.audit,
            format!("audit total {expected} expected {expected} negative 0"),
            "money was created or lost"
        );
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

/// Brings every replica to the log's head: the heartbeat is stopped (through node 0),
/// the nodes are stopped, then started again (each catches up with the log as it starts)
/// until the meta-service has ended every session nobody resumed, stopped, and started
/// and stopped once more; with nothing left to append, they all end at the head. Returns
/// what each said when it stopped last.
fn settle_at_head(dirs: &[PathBuf], etcd: &Etcd, pg: &Postgres) -> Vec<End> {
    let mut nodes = start_all(dirs, etcd, pg);
    nodes[0].command("quiet");
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);
    let mut nodes = start_all(dirs, etcd, pg);
    nodes[0].command("ended");
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);
    let nodes = start_all(dirs, etcd, pg);
    nodes.into_iter().map(|mut n| n.stop()).collect()
}

/// Starts every node of the bank at once: they take turns at the start-up lock.
fn start_all(dirs: &[PathBuf], etcd: &Etcd, pg: &Postgres) -> Vec<NodeProcess> {
    start_all_app("bank", dirs, etcd, pg)
}

/// Starts every node at once, each running `app`.
fn start_all_app(app: &str, dirs: &[PathBuf], etcd: &Etcd, pg: &Postgres) -> Vec<NodeProcess> {
    std::thread::scope(|s| {
        let handles: Vec<_> = dirs
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                s.spawn(move || start_app_node(app, &format!("node-{i}"), dir, etcd, pg))
            })
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
    // One player, logging in at each node in turn, always lands on the same node (the
    // owner of its name's slot), where each login replaces the one before.
    runtime.block_on(async {
        let mut landed = Vec::new();
        let mut previous: Option<Client> = None;
        for node in &nodes {
            let client = Client::connect(Endpoint::tcp(node.addr.clone()), "wanderer", "")
                .await
                .expect("the wanderer logs in");
            landed.push(client.endpoint());
            if let Some(mut before) = previous.take() {
                let ended = loop {
                    match before.next_event().await {
                        Some(Event::Disconnected { reason, .. }) => break Some(reason),
                        Some(_) => {}
                        None => break None,
                    }
                };
                assert_eq!(
                    ended,
                    Some(darkstar_client::DisconnectReason::LoggedInElsewhere),
                    "the earlier login is replaced, on the node where both live"
                );
            }
            previous = Some(client);
        }
        let home = landed[0].clone();
        assert!(
            landed.iter().all(|e| *e == home),
            "logins landed at {landed:?}"
        );
        assert!(
            nodes.iter().any(|n| Endpoint::tcp(n.addr.clone()) == home),
            "{home:?} is a node"
        );
    });
    let stats = Arc::new(LoadStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workload = Workload {
        alpha: 1.5,
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

    let ends = settle_at_head(&dirs, &etcd, &pg);
    ends.iter().for_each(End::check_audit);
    replicas_agree(&dirs, &ends.iter().map(|e| e.position).collect::<Vec<_>>());
}

/// Every replica, stopped at the log's head, holds the same state at the same position,
/// and that position is what its node last said.
fn replicas_agree(dirs: &[PathBuf], said: &[u64]) {
    let stores: Vec<Store> = dirs
        .iter()
        .map(|dir| {
            let options = Options {
                replica: true,
                ..Options::default()
            };
            Store::open(dir, options).expect("open a replica")
        })
        .collect();
    let digests: Vec<(u64, [u8; 32])> = stores
        .iter()
        .map(|store| {
            let position = darkstar_runtime::cluster::applied_position(store);
            (position, store.snapshot().digest())
        })
        .collect();
    for (i, (position, digest)) in digests.iter().enumerate() {
        assert_eq!(
            *position, said[i],
            "node {i}'s store and its last word disagree"
        );
        if (*position, *digest) != digests[0] {
            panic!(
                "node {i}'s replica differs from node 0's at position {position}:\n{}",
                differences(&stores[0], &stores[i])
            );
        }
    }
    assert!(digests[0].0 > 0, "nothing reached the log");
    // Every session ended: those of stopped and dead nodes by the meta-service, once the
    // resume window passed.
    let open: Vec<String> = stores[0]
        .snapshot()
        .names()
        .map(|(n, _)| n)
        .filter(|n| n.starts_with("s/session/"))
        .collect();
    assert!(open.is_empty(), "sessions never ended: {open:?}");
}

/// What two replicas hold differently, key by key (the first few).
fn differences(a: &Store, b: &Store) -> String {
    let contents = |store: &Store| {
        let snap = store.snapshot();
        let mut all = std::collections::BTreeMap::new();
        for id in snap.object_ids() {
            if let Some(r) = snap.object(id) {
                all.insert(
                    format!("object {id}"),
                    (r.version, r.type_name.to_owned(), r.value.to_vec()),
                );
            }
        }
        for id in snap.task_ids() {
            if let Some(r) = snap.task(id) {
                all.insert(
                    format!("task {id}"),
                    (r.version, r.type_name.to_owned(), r.value.to_vec()),
                );
            }
        }
        for (name, b) in snap.names() {
            all.insert(
                format!("name {name}"),
                (b.version, String::new(), b.id.to_le_bytes().to_vec()),
            );
        }
        all
    };
    let (a, b) = (contents(a), contents(b));
    let keys: std::collections::BTreeSet<&String> = a.keys().chain(b.keys()).collect();
    keys.into_iter()
        .filter(|k| a.get(*k) != b.get(*k))
        .take(10)
        .map(|k| {
            format!(
                "  {k}: {:?} vs {:?}",
                a.get(k).map(|v| (v.0, &v.1, v.2.len())),
                b.get(k).map(|v| (v.0, &v.1, v.2.len()))
            )
        })
        .collect::<Vec<_>>()
        .join("\n")
}

/// Whose transfers were acknowledged and sent, per client, in money moved.
#[derive(Default)]
struct Tally {
    acked: [AtomicI64; CLIENTS],
    sent: [AtomicI64; CLIENTS],
    /// Transfers acknowledged, all clients together.
    total: AtomicU64,
}

/// Client `c` pays from its own account into the shared ones, pipelining `DEPTH`
/// requests, until `stop`. When its node dies, it logs in again on the next node (its
/// transfers in flight then are of unknown outcome: counted as sent, not acknowledged).
async fn pay(
    c: usize,
    addrs: Arc<Mutex<Vec<String>>>,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
) -> Result<(), String> {
    const DEPTH: usize = 4;
    let mut rng = darkstar_examples::load::Rng::new(c as u64 + 1);
    let mut next_id = 1u64;
    let mut home = c % NODES;
    while !stop.load(Ordering::Relaxed) {
        let addr = addrs.lock().expect("addresses")[home].clone();
        let options = ClientOptions {
            reconnect: false,
            ..ClientOptions::default()
        };
        let mut client =
            match Client::connect_with(Endpoint::tcp(addr), &format!("payer-{c}"), "", options)
                .await
            {
                Ok(client) => client,
                Err(_) => {
                    // Down, or not yet back: try the next node.
                    home = (home + 1) % NODES;
                    tokio::time::sleep(Duration::from_millis(20)).await;
                    continue;
                }
            };
        let mut in_flight: std::collections::VecDeque<(u64, i64)> = Default::default();
        'connected: loop {
            while in_flight.len() < DEPTH && !stop.load(Ordering::Relaxed) {
                let amount = 1 + rng.below(9) as i64;
                let request = TransferRequest {
                    id: next_id,
                    from: c as u32,
                    to: (CLIENTS as u64 + rng.below(ACCOUNTS as u64 - CLIENTS as u64)) as u32,
                    amount,
                };
                next_id += 1;
                // Counted before it leaves: once sent, it may commit.
                tally.sent[c].fetch_add(amount, Ordering::Relaxed);
                if client.send(request.encode().to_vec()).await.is_err() {
                    break 'connected;
                }
                in_flight.push_back((request.id, amount));
            }
            let Some(&(id, amount)) = in_flight.front() else {
                let _ = client.logout().await;
                return Ok(());
            };
            match client.next_event().await {
                Some(Event::Message(body)) => {
                    let reply = TransferReply::decode(&body).map_err(|e| e.to_string())?;
                    if reply.id != id {
                        return Err(format!("reply {} while {id} was oldest", reply.id));
                    }
                    if reply.outcome != Outcome::Moved {
                        return Err(format!("transfer {id} was {:?}", reply.outcome));
                    }
                    in_flight.pop_front();
                    tally.acked[c].fetch_add(amount, Ordering::Relaxed);
                    tally.total.fetch_add(1, Ordering::Relaxed);
                }
                Some(Event::Disconnected { .. }) | None => break 'connected,
                Some(_) => {}
            }
        }
        home = (home + 1) % NODES;
    }
    Ok(())
}

/// Every replica's audit holds and shows the same balances, which account for every
/// acknowledged transfer and for no transfer never sent; every shot planted ran once.
fn check_ends(ends: &[End], tally: &Tally) {
    for end in ends {
        end.check_audit();
        assert_eq!(
            end.balances, ends[0].balances,
            "replicas disagree on balances"
        );
        assert_eq!(end.shots, ends[0].shots, "replicas disagree on shots");
    }
    for c in 0..CLIENTS {
        let paid = INITIAL_BALANCE - ends[0].balances[c];
        let acked = tally.acked[c].load(Ordering::Relaxed);
        let sent = tally.sent[c].load(Ordering::Relaxed);
        assert!(
            acked <= paid && paid <= sent,
            "client {c}: {acked} acknowledged, {paid} paid, {sent} sent: an acknowledged \
             transfer was lost, or one was handled twice"
        );
    }
    assert_eq!(
        ends[0].shots.1, 0,
        "a shot never ran or ran twice: {:?}",
        ends[0].shots
    );
}

/// The payers of a test: one `pay` task per client on a runtime of their own.
struct Payers {
    runtime: tokio::runtime::Runtime,
    tally: Arc<Tally>,
    stop: Arc<AtomicBool>,
    tasks: Vec<tokio::task::JoinHandle<Result<(), String>>>,
}

impl Payers {
    fn start(addrs: Arc<Mutex<Vec<String>>>) -> Payers {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(2)
            .enable_all()
            .build()
            .expect("runtime");
        let tally = Arc::new(Tally::default());
        let stop = Arc::new(AtomicBool::new(false));
        let tasks = (0..CLIENTS)
            .map(|c| runtime.spawn(pay(c, addrs.clone(), tally.clone(), stop.clone())))
            .collect();
        Payers {
            runtime,
            tally,
            stop,
            tasks,
        }
    }

    /// Stops every payer and waits until each has ended; a payer's error fails the test.
    fn finish(self) {
        self.stop.store(true, Ordering::Relaxed);
        for task in self.tasks {
            self.runtime
                .block_on(task)
                .expect("a payer ran")
                .expect("a payer failed");
        }
    }
}

/// Waits until `done` holds, polling; panics with `what` past the deadline.
fn wait_until(what: &str, done: impl Fn() -> bool) {
    let deadline = Instant::now() + PATIENCE;
    while !done() {
        assert!(Instant::now() < deadline, "waited too long for {what}");
        std::thread::sleep(Duration::from_millis(10));
    }
}

#[test]
fn killing_nodes_under_load_loses_nothing_acknowledged() {
    const KILLS: usize = 3;
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());
    let mut nodes = start_all(&dirs, &etcd, &pg);
    let addrs = Arc::new(Mutex::new(
        nodes.iter().map(|n| n.addr.clone()).collect::<Vec<_>>(),
    ));
    let payers = Payers::start(addrs.clone());
    let tally = payers.tally.clone();
    let beats = |nodes: &[NodeProcess]| {
        nodes
            .iter()
            .map(|n| n.beats.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    };
    // One-shot tasks due all through the kills.
    nodes[0].command("plant 300 25");
    let mut rng = darkstar_examples::load::Rng::new(7);
    for kill in 0..KILLS {
        let before = tally.total.load(Ordering::Relaxed);
        wait_until("transfers before a kill", || {
            tally.total.load(Ordering::Relaxed) >= before + 300
        });
        let victim = rng.below(NODES as u64) as usize;
        nodes[victim].kill();
        let (acked, beat) = (tally.total.load(Ordering::Relaxed), beats(&nodes));
        // The survivors go on: their clients' transfers and the clients that move over.
        wait_until(&format!("transfers after kill {kill}"), || {
            tally.total.load(Ordering::Relaxed) >= acked + 300
        });
        // The heartbeat runs on, on whichever node owns its slot now.
        wait_until(&format!("the heartbeat after kill {kill}"), || {
            beats(&nodes) >= beat + 10
        });
        let name = format!("node-{victim}");
        nodes[victim] = start_node(&name, &dirs[victim], &etcd, &pg);
        addrs.lock().expect("addresses")[victim] = nodes[victim].addr.clone();
    }
    payers.finish();
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);

    // Every replica catches up; every acknowledged transfer is there.
    let ends = settle_at_head(&dirs, &etcd, &pg);
    check_ends(&ends, &tally);
    replicas_agree(&dirs, &ends.iter().map(|e| e.position).collect::<Vec<_>>());
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
    // Sessions of a dead node wait this long for a resume elsewhere before the
    // meta-service ends them: short for the bank's tests, which check that every session
    // ended, long enough for the resume test's client to find the session's new node.
    config.resume_window_ms = if std::env::var(APP_VAR).is_ok_and(|a| a == "echo") {
        15_000
    } else {
        3000
    };
    if let Ok(records) = std::env::var(CHECKPOINT_VAR) {
        config.checkpoint_records = records.parse().expect("a record count");
        // Records a second old may go.
        config.resume_window_ms = 1000;
    }
    let app = std::env::var(APP_VAR).unwrap_or_default();
    if app == "chat" || app == "echo" {
        let builder = if app == "chat" {
            Server::builder(darkstar_examples::chat::ChatApp)
        } else {
            Server::builder(EchoApp)
        };
        let server = builder.config(config).start().expect("the node starts");
        let mut signals =
            signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM]).expect("signals");
        println!("ready {}", server.tcp_addr().expect("listens on TCP"));
        signals.forever().next();
        server.shutdown().expect("clean shutdown");
        return;
    }
    let app = ClusterApp(BankApp {
        accounts: ACCOUNTS,
        initial_balance: INITIAL_BALANCE,
    });
    let server = Server::builder(app)
        .config(config)
        .start()
        .expect("the node starts");
    let addr = server.tcp_addr().expect("listens on TCP");
    // Before `ready`: the parent may stop this node as soon as it reads it.
    let mut signals =
        signal_hook::iterator::Signals::new([signal_hook::consts::SIGTERM]).expect("signals");
    println!("ready {addr}");
    let stop = AtomicBool::new(false);
    std::thread::scope(|s| {
        // Commands from the parent, answered on stdout. Read on a thread of their own,
        // which a blocked read keeps alive, so the scope does not wait for it.
        let (tx, commands) = std::sync::mpsc::channel::<String>();
        std::thread::spawn(move || {
            for line in std::io::stdin().lines().map_while(Result::ok) {
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let (stop, server) = (&stop, &server);
        s.spawn(move || {
            while !stop.load(Ordering::Relaxed) {
                let Ok(line) = commands.recv_timeout(Duration::from_millis(50)) else {
                    continue;
                };
                let words: Vec<&str> = line.split(' ').collect();
                match words[..] {
                    ["quiet"] => {
                        server
                            .submit(Quiet {})
                            .wait()
                            .expect("the heartbeat is asked to stop");
                        let deadline = Instant::now() + PATIENCE;
                        while !server.query(heartbeat_ended).expect("read the heartbeat") {
                            assert!(Instant::now() < deadline, "the heartbeat never stopped");
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        println!("quiet");
                    }
                    ["ended"] => {
                        // The sessions of earlier runs, ended by the meta-service once
                        // the resume window has passed.
                        let deadline = Instant::now() + PATIENCE;
                        while server.stored_sessions() > 0 {
                            assert!(Instant::now() < deadline, "sessions never ended");
                            std::thread::sleep(Duration::from_millis(10));
                        }
                        println!("ended");
                    }
                    ["plant", count, every] => {
                        let task = Plant {
                            count: count.parse().expect("a count"),
                            every_ms: every.parse().expect("milliseconds"),
                        };
                        server.submit(task).wait().expect("shots planted");
                        println!("plant done");
                    }
                    _ => panic!("unknown command {line:?}"),
                }
            }
        });
        // What the parent watches: the heartbeat, as this replica sees it.
        s.spawn(|| {
            while !stop.load(Ordering::Relaxed) {
                if server.stopped_because().is_some() {
                    // Stopped by itself (it lost its place in the cluster): end the wait
                    // below as a SIGTERM would.
                    // SAFETY: raise(3) with a signal whose handler is installed.
                    unsafe { libc::raise(libc::SIGTERM) };
                    break;
                }
                if let Ok(n) = server.query(beats) {
                    println!("beats {n}");
                }
                std::thread::sleep(Duration::from_millis(HEARTBEAT_MS));
            }
        });
        signals.forever().next();
        stop.store(true, Ordering::Relaxed);
    });
    if let Some(reason) = server.stopped_because() {
        let _ = server.shutdown();
        println!("lost {reason}");
        return;
    }
    let audit = server.query(bank::audit).expect("audit");
    println!(
        "audit total {} expected {} negative {}",
        audit.total, audit.expected, audit.negative
    );
    let balances = server
        .query(|ctx| {
            bank::accounts(ctx)?
                .iter()
                .take(CLIENTS)
                .map(|a| Ok(ctx.get(*a)?.balance()))
                .collect::<Result<Vec<i64>, TaskError>>()
        })
        .expect("balances");
    let text: Vec<String> = balances.iter().map(i64::to_string).collect();
    println!("balances {}", text.join(" "));
    let (once, other) = server.query(shots).expect("shots");
    println!("shots {once} {other}");
    let position = server.log_position().expect("a cluster node");
    server.shutdown().expect("clean shutdown");
    println!("stopped at {position}");
}

/// The nodes the placement table in etcd names (its second line, see
/// `darkstar-runtime/src/meta/table.rs`).
fn placed_nodes(runtime: &tokio::runtime::Runtime, etcd: &Etcd) -> Vec<String> {
    runtime.block_on(async {
        let mut client = etcd_client::Client::connect([etcd.endpoint()], None)
            .await
            .expect("connect to etcd");
        let reply = client
            .get("/darkstar/placement", None)
            .await
            .expect("read the placement table");
        let text = reply
            .kvs()
            .first()
            .map(|kv| kv.value_str().expect("text").to_owned())
            .unwrap_or_default();
        text.lines()
            .nth(1)
            .and_then(|l| l.strip_prefix("nodes"))
            .map(|l| l.split_whitespace().map(str::to_owned).collect())
            .unwrap_or_default()
    })
}

#[test]
fn a_paused_node_loses_its_place_and_repeats_nothing() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());
    let mut nodes = start_all(&dirs, &etcd, &pg);
    let addrs = Arc::new(Mutex::new(
        nodes.iter().map(|n| n.addr.clone()).collect::<Vec<_>>(),
    ));
    let payers = Payers::start(addrs.clone());
    let tally = payers.tally.clone();
    // One-shot tasks due all through the pause and after it.
    nodes[0].command("plant 200 25");
    wait_until("transfers before the pause", || {
        tally.total.load(Ordering::Relaxed) >= 300
    });
    let victim = 1;
    let name = format!("node-{victim}");
    nodes[victim].signal(libc::SIGSTOP);
    // Its lease runs out, and the meta-service gives its slots to the others.
    wait_until("the paused node's slots to move", || {
        !placed_nodes(&payers.runtime, &etcd).contains(&name)
    });
    let survivors_beats = |nodes: &[NodeProcess]| {
        nodes
            .iter()
            .enumerate()
            .filter(|(i, _)| *i != victim)
            .map(|(_, n)| n.beats.load(Ordering::Relaxed))
            .max()
            .unwrap_or(0)
    };
    let beat = survivors_beats(&nodes);
    wait_until("the heartbeat to run on without the paused node", || {
        survivors_beats(&nodes) >= beat + 10
    });
    // Woken, it finds its lease gone and stops by itself.
    nodes[victim].signal(libc::SIGCONT);
    let lost = nodes[victim].wait_for("lost ");
    assert!(lost.contains("lost its place"), "{lost}");
    let status = nodes[victim].child.wait().expect("wait for the zombie");
    assert!(
        status.success(),
        "the zombie did not stop cleanly: {status}"
    );
    // Started again, it rejoins.
    nodes[victim] = start_node(&name, &dirs[victim], &etcd, &pg);
    addrs.lock().expect("addresses")[victim] = nodes[victim].addr.clone();
    wait_until("the paused node back in the table", || {
        placed_nodes(&payers.runtime, &etcd).contains(&name)
    });
    let acked = tally.total.load(Ordering::Relaxed);
    wait_until("transfers after the rejoin", || {
        tally.total.load(Ordering::Relaxed) >= acked + 300
    });
    payers.finish();
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);
    let ends = settle_at_head(&dirs, &etcd, &pg);
    check_ends(&ends, &tally);
    assert_eq!(ends[0].shots.0, 200, "every planted shot ran once");
    replicas_agree(&dirs, &ends.iter().map(|e| e.position).collect::<Vec<_>>());
}

#[test]
fn an_unreachable_service_is_named_and_nothing_starts() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let dir = tempfile::tempdir().expect("temp dir");
    let app = || {
        ClusterApp(BankApp {
            accounts: 10,
            initial_balance: 1,
        })
    };
    let mut config = dev_server_config(dir.path());
    // Nothing listens on port 1 of the loopback address.
    config.cluster_postgres = Some("host=127.0.0.1 port=1 user=darkstar dbname=darkstar".into());
    config.cluster_etcd = Some("http://127.0.0.1:1".into());
    let err = Server::builder(app())
        .config(config.clone())
        .start()
        .expect_err("no PostgreSQL")
        .to_string();
    assert!(
        err.contains("PostgreSQL") && err.contains("port=1"),
        "the error names PostgreSQL and where: {err}"
    );
    config.cluster_postgres = Some(pg.url());
    let err = Server::builder(app())
        .config(config)
        .start()
        .expect_err("no etcd")
        .to_string();
    assert!(
        err.contains("etcd") && err.contains("http://127.0.0.1:1"),
        "the error names etcd and where: {err}"
    );
    assert!(
        !dir.path().join("STORE").exists(),
        "a node that cannot join opens no store"
    );
}

#[test]
fn the_log_going_away_holds_acknowledgments_until_it_is_back() {
    let mut pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());
    let mut nodes = start_all(&dirs, &etcd, &pg);
    let addrs = Arc::new(Mutex::new(
        nodes.iter().map(|n| n.addr.clone()).collect::<Vec<_>>(),
    ));
    let payers = Payers::start(addrs.clone());
    let tally = payers.tally.clone();
    wait_until("transfers before the outage", || {
        tally.total.load(Ordering::Relaxed) >= 300
    });
    pg.stop().expect("stop PostgreSQL");
    let at_stop = tally.total.load(Ordering::Relaxed);
    // Every node notices: its proposals cannot reach the log.
    for node in &nodes {
        wait_until(&format!("{} to notice the outage", node.name), || {
            std::fs::read_to_string(&node.log).is_ok_and(|l| {
                l.contains("shared log failed") || l.contains("cannot reach the shared log")
            })
        });
    }
    // Nothing proposed after the log went away was acknowledged: at most what was
    // already decided when it did (every client's pipeline, at most).
    let during = tally.total.load(Ordering::Relaxed) - at_stop;
    assert!(
        during <= (CLIENTS * 4) as u64,
        "{during} transfers were acknowledged while the log was down"
    );
    for node in &mut nodes {
        assert!(
            node.child.try_wait().expect("a node's status").is_none(),
            "{} stopped while the log was down",
            node.name
        );
    }
    pg.restart().expect("restart PostgreSQL");
    let resumed = tally.total.load(Ordering::Relaxed);
    wait_until("transfers after the log is back", || {
        tally.total.load(Ordering::Relaxed) >= resumed + 300
    });
    payers.finish();
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);
    let ends = settle_at_head(&dirs, &etcd, &pg);
    check_ends(&ends, &tally);
    replicas_agree(&dirs, &ends.iter().map(|e| e.position).collect::<Vec<_>>());
}

/// The next event, with a deadline that only a failing test waits out.
async fn next_event(client: &mut Client) -> Event {
    tokio::time::timeout(PATIENCE, client.next_event())
        .await
        .expect("an event in time")
        .expect("the session is open")
}

#[test]
fn channel_members_on_every_node_hear_everything_in_one_order() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());
    let nodes: Vec<NodeProcess> = start_all_app("chat", &dirs, &etcd, &pg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    runtime.block_on(async {
        // Players whose sessions live on different nodes: one per node the names reach.
        let entry = Endpoint::tcp(nodes[0].addr.clone());
        let mut players: Vec<(String, Client)> = Vec::new();
        for i in 0..64 {
            let name = format!("talker-{i}");
            let client = Client::connect(entry.clone(), &name, "")
                .await
                .expect("log in");
            if players
                .iter()
                .any(|(_, c)| c.endpoint() == client.endpoint())
            {
                let _ = client.logout().await;
                continue;
            }
            players.push((name, client));
            if players.len() == NODES {
                break;
            }
        }
        assert!(players.len() >= 2, "every name landed on one node");
        let mut lobby = 0;
        for (_, c) in &mut players {
            loop {
                if let Event::JoinedChannel { channel, name } = next_event(c).await {
                    assert_eq!(name, "lobby");
                    lobby = channel;
                    break;
                }
            }
        }
        // Each says two things, interleaved; everyone hears all of it in one order.
        let n = players.len();
        for round in 0..2 {
            for (name, c) in &players {
                c.send_to_channel(lobby, format!("{name} {round}"))
                    .await
                    .expect("say");
            }
        }
        let mut heard: Vec<Vec<String>> = Vec::new();
        for (_, c) in &mut players {
            let mut lines = Vec::new();
            while lines.len() < 2 * n {
                if let Event::ChannelMessage { channel, body, .. } = next_event(c).await {
                    let text = String::from_utf8(body).expect("text");
                    if channel == lobby && text.contains("talker-") && !text.contains("entered") {
                        lines.push(text);
                    }
                }
            }
            heard.push(lines);
        }
        for (i, lines) in heard.iter().enumerate() {
            assert_eq!(lines, &heard[0], "player {i} heard another order");
        }
        for (name, _) in &players {
            for round in 0..2 {
                let said = format!("{name} {round}");
                assert!(
                    heard[0].iter().any(|l| l.ends_with(&said)),
                    "nobody heard {said:?}: {:?}",
                    heard[0]
                );
            }
        }
    });
    drop(runtime);
    for mut node in nodes {
        drop(node.child.stdin.take());
        node.signal(libc::SIGTERM);
        assert!(node.child.wait().expect("a node stopped").success());
    }
}

#[test]
fn a_session_resumes_on_another_node_when_its_node_dies() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());
    let mut nodes: Vec<NodeProcess> = start_all_app("echo", &dirs, &etcd, &pg);
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("runtime");
    let endpoints: Vec<Endpoint> = nodes
        .iter()
        .map(|n| Endpoint::tcp(n.addr.clone()))
        .collect();
    let options = ClientOptions {
        fallbacks: endpoints.clone(),
        ..ClientOptions::default()
    };
    let (sent, mut got) = (AtomicU64::new(0), 0u64);
    let mut client = runtime.block_on(async {
        Client::connect_with(endpoints[0].clone(), "mover", "", options)
            .await
            .expect("log in")
    });
    // Replies arrive once each and in order, whatever happens to the node.
    let mut exchange = |client: &mut Client, upto: u64, kill: Option<&mut NodeProcess>| {
        runtime.block_on(async {
            let mut kill = kill;
            let mut reconnected = 0;
            while got < upto {
                while sent.load(Ordering::Relaxed) < upto && sent.load(Ordering::Relaxed) < got + 40
                {
                    let n = sent.fetch_add(1, Ordering::Relaxed);
                    client.send(n.to_string()).await.expect("send");
                }
                if let Some(node) = kill.take() {
                    // Messages in flight both ways: some handled and their replies unread,
                    // some not handled yet.
                    node.kill();
                }
                match next_event(client).await {
                    Event::Message(body) => {
                        assert_eq!(
                            String::from_utf8(body).expect("text"),
                            format!("mover:{got}")
                        );
                        got += 1;
                    }
                    Event::Reconnecting { .. } => {}
                    Event::Reconnected => reconnected += 1,
                    other => panic!("unexpected {other:?}"),
                }
            }
            reconnected
        })
    };
    assert_eq!(exchange(&mut client, 200, None), 0);
    let home = client.endpoint();
    let victim = nodes
        .iter()
        .position(|n| Endpoint::tcp(n.addr.clone()) == home)
        .expect("the session is on one of the nodes");
    let reconnected = exchange(&mut client, 600, Some(&mut nodes[victim]));
    assert_eq!(reconnected, 1, "resumed once, on another node");
    assert_ne!(client.endpoint(), home, "carried by another node now");
    runtime.block_on(async { client.logout().await.expect("log out") });
    drop(runtime);
    let mut took_over = 0;
    for (i, mut node) in nodes.into_iter().enumerate() {
        if i == victim {
            continue;
        }
        drop(node.child.stdin.take());
        node.signal(libc::SIGTERM);
        assert!(node.child.wait().expect("a node stopped").success());
        let log = std::fs::read_to_string(&node.log).unwrap_or_default();
        took_over += log.matches("took over a session from another node").count();
    }
    assert_eq!(took_over, 1, "one survivor took the session over");
}

/// The first position the log still holds.
fn first_in_log(runtime: &tokio::runtime::Runtime, pg: &Postgres) -> u64 {
    runtime.block_on(async {
        let (client, connection) = tokio_postgres::connect(&pg.url(), tokio_postgres::NoTls)
            .await
            .expect("connect to PostgreSQL");
        tokio::spawn(connection);
        let row = client
            .query_one("SELECT coalesce(min(position), 0) FROM darkstar.log", &[])
            .await
            .expect("read the log");
        row.get::<_, i64>(0) as u64
    })
}

#[test]
fn a_new_node_starts_from_a_checkpoint_and_the_log_is_trimmed() {
    let pg = Postgres::start().expect("start PostgreSQL");
    let etcd = Etcd::start().expect("start etcd");
    let root = tempfile::tempdir().expect("temp dir");
    let dirs = dirs(root.path());
    let often = [(CHECKPOINT_VAR, "100")];
    // Two nodes first; the third joins later, on an empty store.
    let mut nodes: Vec<NodeProcess> = std::thread::scope(|s| {
        let handles: Vec<_> = dirs[..2]
            .iter()
            .enumerate()
            .map(|(i, dir)| {
                let (etcd, pg, often) = (&etcd, &pg, &often);
                s.spawn(move || start_node_env(&format!("node-{i}"), dir, etcd, pg, often))
            })
            .collect();
        handles
            .into_iter()
            .map(|h| h.join().expect("a node started"))
            .collect()
    });
    let addrs = Arc::new(Mutex::new(vec![
        nodes[0].addr.clone(),
        nodes[1].addr.clone(),
        nodes[0].addr.clone(),
    ]));
    let payers = Payers::start(addrs.clone());
    let tally = payers.tally.clone();
    wait_until("the log to be trimmed below a checkpoint", || {
        first_in_log(&payers.runtime, &pg) > 1
    });
    let late = start_node_env("node-2", &dirs[2], &etcd, &pg, &often);
    let log = std::fs::read_to_string(&late.log).expect("the late node's log");
    assert!(
        log.contains("restored a checkpoint"),
        "the late node did not start from a checkpoint:\n{log}"
    );
    addrs.lock().expect("addresses")[2] = late.addr.clone();
    nodes.push(late);
    let acked = tally.total.load(Ordering::Relaxed);
    wait_until("transfers with the late node", || {
        tally.total.load(Ordering::Relaxed) >= acked + 300
    });
    payers.finish();
    for node in &mut nodes {
        node.stop();
    }
    drop(nodes);
    let ends = settle_at_head(&dirs, &etcd, &pg);
    check_ends(&ends, &tally);
    replicas_agree(&dirs, &ends.iter().map(|e| e.position).collect::<Vec<_>>());
}
