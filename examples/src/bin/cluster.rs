//! The cluster demo: a bank on several nodes that share one world through a commit log in
//! PostgreSQL, with membership and placement in etcd. It starts both engines (fresh, on
//! loopback), starts the nodes as child processes, and spreads bot clients over them, each
//! pipelining transfer requests. Every second it prints a line per node.
//!
//! Crash a node from another terminal with `kill -9 <pid>` (the pids are printed at the
//! start): the meta-service hands its slots to the others once its etcd lease runs out,
//! its bots resume their sessions on the new owners, and the load goes on. On exit (Ctrl-C, or after
//! `--seconds`) every live node audits the bank: the total balance is unchanged and no
//! balance went negative.
//!
//! `cargo run --release -p darkstar-examples --bin cluster -- --nodes 3 --bots 30 --seconds 0`

use std::collections::{BTreeMap, HashMap};
use std::path::Path;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_examples::cluster::placement::{read_placement, PlacementTable};
use darkstar_examples::cluster::report::{micros, NodeReport};
use darkstar_examples::cluster::{
    run_if_child, BotEvent, Directory, NodeChild, NodeSettings, RoamingLane,
};
use darkstar_examples::engines::{Etcd, Postgres};
use darkstar_examples::load::{carry_lanes, Latency, LoadStats, Workload};
use tokio::sync::mpsc::UnboundedReceiver;

// As in the bank demo: buffers cross threads, which the system allocator handles poorly.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "A bank on a cluster of Darkstar nodes, played by bot clients over TCP")]
struct Cli {
    /// Nodes, each a child process.
    #[arg(long, default_value_t = 3)]
    nodes: usize,
    /// Bot clients, spread over the nodes, each one session.
    #[arg(long, default_value_t = 30)]
    bots: usize,
    /// Requests each bot keeps in flight.
    #[arg(long, default_value_t = 8)]
    depth: usize,
    /// Seconds to run (0: until Ctrl-C).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Accounts (created by the first node).
    #[arg(long, default_value_t = 100_000)]
    accounts: u32,
    /// Zipf exponent of account choice: 0 uniform, 1.5 contended.
    #[arg(long, default_value_t = 0.0)]
    alpha: f64,
    /// Executor cores per node (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    cores: usize,
    /// Seconds a node's etcd lease outlives its last renewal: how soon a dead node's slots
    /// move (unset: the server's default).
    #[arg(long)]
    lease_ttl_secs: Option<u64>,
    /// The nodes' log filter (their logs are in files, named at the start).
    #[arg(long, default_value = "info")]
    node_log: String,
    /// Where the nodes' stores and logs go, kept afterwards (default: a temporary
    /// directory, removed at the end).
    #[arg(long)]
    dir: Option<std::path::PathBuf>,
}

const CLUSTER: &str = "demo";
/// Balance every account starts with.
const INITIAL_BALANCE: i64 = 10_000_000;
/// How long a node may take to start (the first one creates the accounts).
const START_PATIENCE: Duration = Duration::from_secs(180);
/// How long a node may take to audit and stop.
const STOP_PATIENCE: Duration = Duration::from_secs(60);

fn main() -> ExitCode {
    if let Some(code) = run_if_child() {
        return code;
    }
    let cli = Cli::parse();
    if cli.nodes == 0
        || cli.bots == 0
        || cli.depth == 0
        || cli.accounts < 2
        || !(0.0..=5.0).contains(&cli.alpha)
    {
        eprintln!(
            "error: --nodes, --bots and --depth must be at least 1, --accounts at least 2, \
             --alpha between 0 and 5"
        );
        return ExitCode::FAILURE;
    }
    match run(&cli) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// One node as the demo sees it.
struct Node {
    child: NodeChild,
    /// The report before the latest one shown, for rates.
    shown: Option<NodeReport>,
    /// When the demo noticed it was gone.
    down_since: Option<Instant>,
}

fn run(cli: &Cli) -> Result<bool, String> {
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())
            .map_err(|e| format!("cannot watch for Ctrl-C: {e}"))?;
    }
    println!("starting PostgreSQL and etcd (fresh, on loopback) ...");
    let mut pg = Postgres::start().map_err(|e| e.to_string())?;
    let mut etcd = Etcd::start().map_err(|e| e.to_string())?;
    println!(
        "PostgreSQL pid {} at {}; etcd pid {} at {}",
        pg.pid().unwrap_or_default(),
        pg.url(),
        etcd.pid().unwrap_or_default(),
        etcd.endpoint()
    );
    let temp;
    let root = match &cli.dir {
        Some(dir) => {
            std::fs::create_dir_all(dir).map_err(|e| format!("creating {}: {e}", dir.display()))?;
            dir.as_path()
        }
        None => {
            temp = tempfile::Builder::new()
                .prefix("darkstar-cluster-")
                .tempdir()
                .map_err(|e| format!("a temporary directory: {e}"))?;
            temp.path()
        }
    };
    let mut nodes = start_nodes(cli, root, &pg, &etcd)?;
    println!(
        "{} nodes, {} accounts, {} bots with {} requests in flight each, alpha {}; \
         every reply comes after its transfer is in the shared log",
        cli.nodes, cli.accounts, cli.bots, cli.depth, cli.alpha
    );
    for n in &nodes {
        println!(
            "  {}  pid {:>7}  {}  log {}",
            n.child.name(),
            n.child.pid(),
            n.child.addr().unwrap_or("?"),
            n.child.log().display()
        );
    }
    println!(
        "crash a node from another terminal with `kill -9 <pid>`; {}",
        if cli.seconds == 0 {
            "Ctrl-C ends the demo".to_owned()
        } else {
            format!("the demo ends after {} s (or at Ctrl-C)", cli.seconds)
        }
    );

    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("cannot start the bots' runtime: {e}"))?;
    let directory = Directory::new(
        nodes
            .iter()
            .map(|n| n.child.addr().unwrap_or_default().to_owned())
            .collect(),
        cli.bots,
    );
    let (events_tx, mut events) = tokio::sync::mpsc::unbounded_channel();
    let load_stop = Arc::new(AtomicBool::new(false));
    let stats = Arc::new(LoadStats::default());
    let lanes: Vec<RoamingLane> = (0..cli.bots)
        .map(|bot| RoamingLane {
            bot,
            name: format!("bot-{bot:03}"),
            home: bot % cli.nodes,
            directory: directory.clone(),
            stop: load_stop.clone(),
            events: Some(events_tx.clone()),
            reply_timeout: Duration::from_secs(10),
            window: 256,
        })
        .collect();
    drop(events_tx);
    let load = {
        let (stats, stop) = (stats.clone(), load_stop.clone());
        let (accounts, depth) = (u64::from(cli.accounts), cli.depth);
        let workload = Workload {
            alpha: cli.alpha,
            ..Workload::default()
        };
        runtime.spawn(
            async move { carry_lanes(lanes, accounts, depth, &workload, &stats, &stop).await },
        )
    };

    // The baseline of the first second's rates: every node's first figures.
    let patience = Instant::now() + Duration::from_secs(5);
    while nodes.iter().any(|n| n.child.latest().is_none()) && Instant::now() < patience {
        std::thread::sleep(Duration::from_millis(20));
    }
    for n in &mut nodes {
        n.shown = n.child.latest();
    }
    let mut watch = runtime.block_on(Watch::connect(&pg.url(), &etcd.endpoint()));
    let mut moves = Moves::default();
    let started = Instant::now();
    let deadline = (cli.seconds > 0).then(|| started + Duration::from_secs(cli.seconds));
    let mut next = started + Duration::from_secs(1);
    while !stop.load(Ordering::Relaxed) && deadline.is_none_or(|d| Instant::now() < d) {
        if Instant::now() < next {
            std::thread::sleep(Duration::from_millis(20));
            continue;
        }
        next += Duration::from_secs(1);
        for (i, n) in nodes.iter_mut().enumerate() {
            if n.down_since.is_none() {
                if let Some(status) = n.child.exit_status() {
                    n.down_since = Some(Instant::now());
                    directory.set_down(i);
                    println!(
                        "{} (pid {}) is down ({status}); its bots resume their sessions on \
                         the live nodes once its slots move",
                        n.child.name(),
                        n.child.pid()
                    );
                }
            }
        }
        moves.take(&mut events, &nodes);
        let (head, table) = runtime.block_on(watch.read());
        let counts = stats.latency.take();
        println!(
            "t={:>4}s  log head {:>9}  transfers acknowledged {:>9}  latency p50 {:>8.2?} p99 {:>8.2?}",
            started.elapsed().as_secs(),
            head.map_or("?".to_owned(), |h| h.to_string()),
            stats.committed.load(Ordering::Relaxed),
            Latency::quantile(&counts, 0.5),
            Latency::quantile(&counts, 0.99),
        );
        for (i, n) in nodes.iter_mut().enumerate() {
            println!("  {}", node_line(n, i, head, table.as_ref(), &directory));
        }
    }

    println!("stopping the bots ...");
    load_stop.store(true, Ordering::Relaxed);
    let errors = runtime.block_on(async {
        match tokio::time::timeout(Duration::from_secs(30), load).await {
            Ok(Ok(errors)) => errors,
            Ok(Err(e)) => vec![format!("the load panicked: {e}")],
            Err(_) => vec!["the bots did not stop within 30 s".to_owned()],
        }
    });
    moves.take(&mut events, &nodes);
    for e in &errors {
        eprintln!("error: a bot: {e}");
    }
    println!(
        "{} transfers acknowledged; auditing the bank on every live node ...",
        stats.committed.load(Ordering::Relaxed)
    );
    let mut ok = errors.is_empty();
    let mut audited = 0;
    for n in &mut nodes {
        if !n.child.is_running() {
            continue;
        }
        match n.child.stop(STOP_PATIENCE) {
            Ok(end) => match end.audit {
                Some(a) if a.holds() => {
                    audited += 1;
                    println!(
                        "audit on {} at log position {}: total balance {} as expected, \
                         no negative balance",
                        n.child.name(),
                        end.position.map_or("?".to_owned(), |p| p.to_string()),
                        a.total
                    );
                }
                Some(a) => {
                    ok = false;
                    eprintln!("audit on {} FAILED: {a:?}", n.child.name());
                }
                None => {
                    ok = false;
                    eprintln!(
                        "{} stopped without an audit ({})",
                        n.child.name(),
                        end.status
                    );
                }
            },
            Err(e) => {
                ok = false;
                eprintln!("error: stopping {}: {e}", n.child.name());
            }
        }
    }
    if audited == 0 {
        ok = false;
        eprintln!("no live node was left to audit the bank");
    }
    drop(nodes);
    drop(runtime);
    if let Err(e) = pg.stop() {
        eprintln!("error: stopping PostgreSQL: {e}");
    }
    if let Err(e) = etcd.stop() {
        eprintln!("error: stopping etcd: {e}");
    }
    Ok(ok)
}

/// Starts every node at once (they take turns at the cluster's start-up lock) and waits
/// until each serves.
fn start_nodes(cli: &Cli, root: &Path, pg: &Postgres, etcd: &Etcd) -> Result<Vec<Node>, String> {
    let mut children = Vec::with_capacity(cli.nodes);
    for i in 0..cli.nodes {
        let mut s = NodeSettings::new(root.join(format!("node-{i}")));
        s.node_name = format!("node-{i}");
        s.etcd = Some(etcd.endpoint());
        s.postgres = Some(pg.url());
        s.cluster_name = CLUSTER.to_owned();
        s.cores = cli.cores;
        s.accounts = cli.accounts;
        s.initial_balance = INITIAL_BALANCE;
        // Often enough that "behind" below is close to the truth.
        s.status_ms = 200;
        s.lease_ttl_secs = cli.lease_ttl_secs;
        s.log = cli.node_log.clone();
        children.push(NodeChild::spawn(&s, &root.join(format!("node-{i}.log")))?);
    }
    println!(
        "starting {} nodes (the first creates the accounts) ...",
        cli.nodes
    );
    let mut nodes = Vec::with_capacity(cli.nodes);
    for mut child in children {
        child.wait_ready(START_PATIENCE)?;
        nodes.push(Node {
            child,
            shown: None,
            down_since: None,
        });
    }
    Ok(nodes)
}

/// A node's status line.
fn node_line(
    n: &mut Node,
    index: usize,
    head: Option<u64>,
    table: Option<&PlacementTable>,
    directory: &Directory,
) -> String {
    let name = n.child.name().to_owned();
    let slots = table.map_or("?".to_owned(), |t| t.slots_of(&name).to_string());
    if let Some(since) = n.down_since {
        return format!(
            "{name} DOWN for {:>5.1} s (pid {} ended: {})  slots still in the table {slots}",
            since.elapsed().as_secs_f64(),
            n.child.pid(),
            n.child
                .exit_status()
                .map_or("?".to_owned(), |s| s.to_string())
        );
    }
    let Some(report) = n.child.latest() else {
        return format!("{name} up    (no figures yet)");
    };
    let earlier = n.shown.as_ref();
    let position = report.position.unwrap_or_default();
    let behind = head.map_or("?".to_owned(), |h| h.saturating_sub(position).to_string());
    let lag = report
        .cluster_since(earlier)
        .map_or(0, |c| c.apply_lag_quantile(0.99));
    let line = format!(
        "{name} up {:>7.0} tasks/s  bots {:>3}  sessions {:>4}  position {:>8}  behind {:>4}  \
         lag p99 {:>8}  slots {:>4}  conflicts {:>6.0}/s",
        report.tasks_per_sec(earlier),
        directory.bots_on(index),
        report.sessions,
        position,
        behind,
        micros(lag),
        slots,
        report.conflicts_per_sec(earlier),
    );
    n.shown = Some(report);
    line
}

/// What the demo reads from the engines each second: the log's head and the placement
/// table.
struct Watch {
    pg: Option<tokio_postgres::Client>,
    etcd: Option<etcd_client::Client>,
}

impl Watch {
    async fn connect(pg: &str, etcd: &str) -> Watch {
        let pg = match tokio_postgres::connect(pg, tokio_postgres::NoTls).await {
            Ok((client, connection)) => {
                tokio::spawn(connection);
                Some(client)
            }
            Err(e) => {
                eprintln!("warning: cannot read the log's head: {e}");
                None
            }
        };
        let etcd = match etcd_client::Client::connect([etcd], None).await {
            Ok(c) => Some(c),
            Err(e) => {
                eprintln!("warning: cannot read the placement table: {e}");
                None
            }
        };
        Watch { pg, etcd }
    }

    async fn read(&mut self) -> (Option<u64>, Option<PlacementTable>) {
        let patience = Duration::from_millis(500);
        let head = match &self.pg {
            Some(pg) => {
                let sql = format!("SELECT position FROM {CLUSTER}.head");
                let query = pg.query_one(&sql, &[]);
                match tokio::time::timeout(patience, query).await {
                    Ok(Ok(row)) => Some(row.get::<_, i64>(0) as u64),
                    _ => None,
                }
            }
            None => None,
        };
        let table = match &mut self.etcd {
            Some(etcd) => match tokio::time::timeout(patience, read_placement(etcd, CLUSTER)).await
            {
                Ok(Ok(t)) => t,
                _ => None,
            },
            None => None,
        };
        (head, table)
    }
}

/// Bots moving between nodes, summed up per second.
#[derive(Default)]
struct Moves {
    /// Per bot that lost its node and has not had a transfer acknowledged since: the node
    /// it lost and when.
    pending: HashMap<usize, (usize, Instant)>,
    /// Per node lost, the slowest return so far of its bots.
    slowest: HashMap<usize, Duration>,
}

impl Moves {
    fn take(&mut self, events: &mut UnboundedReceiver<BotEvent>, nodes: &[Node]) {
        let name = |i: usize| nodes[i].child.name().to_owned();
        let mut lost: BTreeMap<usize, (usize, String)> = BTreeMap::new();
        let mut moved: BTreeMap<(usize, usize), usize> = BTreeMap::new();
        let mut back: BTreeMap<usize, usize> = BTreeMap::new();
        while let Ok(event) = events.try_recv() {
            match event {
                BotEvent::Lost { bot, node, at, why } => {
                    self.pending.insert(bot, (node, at));
                    let e = lost.entry(node).or_insert((0, why));
                    e.0 += 1;
                }
                BotEvent::Moved { from, to, .. } => *moved.entry((from, to)).or_default() += 1,
                BotEvent::Acked { bot, at, .. } => {
                    if let Some((from, lost_at)) = self.pending.remove(&bot) {
                        *back.entry(from).or_default() += 1;
                        let took = at.duration_since(lost_at);
                        let slowest = self.slowest.entry(from).or_default();
                        *slowest = (*slowest).max(took);
                    }
                }
            }
        }
        for (node, (count, why)) in lost {
            println!("  {count} bots lost {} ({why})", name(node));
        }
        for ((from, to), count) in moved {
            println!("  {count} bots of {} moved to {}", name(from), name(to));
        }
        for (from, count) in back {
            let waiting = self.pending.values().filter(|(n, _)| *n == from).count();
            if waiting == 0 {
                println!(
                    "  every bot of {} is back at work: {count} more had a transfer acknowledged, \
                     the slowest {:.2} s after it lost its node",
                    name(from),
                    self.slowest.remove(&from).unwrap_or_default().as_secs_f64()
                );
            } else {
                println!(
                    "  {count} bots of {} had a transfer acknowledged on their new node; {waiting} to go",
                    name(from)
                );
            }
        }
    }
}
