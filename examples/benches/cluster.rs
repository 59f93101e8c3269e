//! The cluster benchmark: the network benchmark's transfer workload (the bank, 100,000
//! accounts, pipelined transfer requests over sessions) against the embedded server and
//! against clusters of 1, 2 and 3 nodes sharing one commit log in PostgreSQL, with
//! membership and placement in etcd. Then the failover time of a 3-node cluster under
//! load when one node is killed.
//!
//! It starts both engines itself (fresh, on loopback; `postgresql` and `etcd-server` from
//! Debian, as `.ci/run` installs them), and every node as a child process of its own,
//! even the embedded server, so that each system's CPU time can be read from `/proc`. Each
//! configuration gets fresh data directories and a fresh cluster name.
//!
//! Per configuration and alpha it prints TPS, p50 and p99 latency, task conflicts per
//! second, log records and KiB appended per second, the apply lag's p99 (the worst node),
//! and the CPU-seconds per thousand transfers of every process together (the nodes, every
//! PostgreSQL process, etcd, and this program with its clients), and each cluster's TPS as
//! a ratio of the embedded server's.
//!
//! Failover: with the 3-node cluster under load, one node is killed (`SIGKILL`), and it
//! measures (a) the time until the placement table in etcd no longer names the dead node
//! as an owner, and (b) the time until every client of the dead node has resumed its
//! session on another node and had a transfer acknowledged there. Once with the
//! meta-service's leader as the victim, once with a follower.
//!
//! ```text
//! cargo bench -p darkstar-examples --bench cluster [-- --seconds N --warmup N --connections N
//!     --depth N --cores N --nodes 0,1,2,3 --alphas 0,1.5 --lease-ttl-secs N --no-failover]
//! ```

use std::collections::HashMap;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_examples::cluster::placement::{meta_leader, read_placement};
use darkstar_examples::cluster::proc;
use darkstar_examples::cluster::report::{micros, NodeReport};
use darkstar_examples::cluster::{
    run_if_child, BotEvent, Directory, NodeChild, NodeSettings, RoamingLane,
};
use darkstar_examples::engines::{Etcd, Postgres};
use darkstar_examples::load::{carry_lanes, Latency, LoadStats, Workload};
use tokio::sync::mpsc::UnboundedReceiver;

// As in the network benchmark: the clients' buffers cross threads.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "Transfers over sessions: the embedded server against clusters")]
struct Args {
    /// Seconds measured per configuration.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 3)]
    warmup: u64,
    /// Connections, spread over the nodes, each one lane of the generator.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    depth: u32,
    /// Accounts.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(2..))]
    accounts: u32,
    /// Executor cores per node (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    cores: usize,
    /// Configurations: 0 is the embedded server, n > 0 a cluster of n nodes.
    #[arg(long, value_delimiter = ',', default_value = "0,1,2,3")]
    nodes: Vec<usize>,
    /// Zipf exponents of account choice.
    #[arg(long, value_delimiter = ',', default_value = "0,1.5")]
    alphas: Vec<f64>,
    /// Seconds a node's etcd lease outlives its last renewal (unset: the server's default).
    #[arg(long)]
    lease_ttl_secs: Option<u64>,
    /// Skip the failover measurement.
    #[arg(long)]
    no_failover: bool,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Balance every account starts with.
const INITIAL_BALANCE: i64 = 10_000_000;
/// How long a node may take to start (the first one creates the accounts).
const START_PATIENCE: Duration = Duration::from_secs(180);
/// How long a node may take to audit and stop.
const STOP_PATIENCE: Duration = Duration::from_secs(60);
/// How long a bot waits for a reply before it counts its node as gone.
const REPLY_TIMEOUT: Duration = Duration::from_secs(10);
/// How long the failover may take before it counts as not done.
const FAILOVER_PATIENCE: Duration = Duration::from_secs(60);
/// How often a node prints its figures.
const STATUS_MS: u64 = 250;

fn main() -> ExitCode {
    if let Some(code) = run_if_child() {
        return code;
    }
    let args = Args::parse();
    match run(&args) {
        Ok(true) => ExitCode::SUCCESS,
        Ok(false) => ExitCode::FAILURE,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

/// The engines and the clients' runtime, shared by every configuration.
struct Bench<'a> {
    args: &'a Args,
    pg: Postgres,
    etcd: Etcd,
    root: PathBuf,
    runtime: tokio::runtime::Runtime,
    runs: usize,
}

/// A configuration under load.
struct Running {
    name: String,
    cluster: String,
    nodes: Vec<NodeChild>,
    directory: Arc<Directory>,
    stats: Arc<LoadStats>,
    stop: Arc<AtomicBool>,
    events: UnboundedReceiver<BotEvent>,
    load: tokio::task::JoinHandle<Vec<String>>,
}

/// What one configuration measured.
struct Row {
    name: String,
    nodes: usize,
    alpha: f64,
    tps: f64,
    p50: Duration,
    p99: Duration,
    conflicts: f64,
    /// Records, bytes per second appended, and the worst node's apply-lag p99 (us);
    /// `None` off a cluster.
    log: Option<(f64, f64, u64)>,
    cpu_per_k: f64,
    audit_ok: bool,
}

/// Everything measured at one instant.
struct Sample {
    at: Instant,
    committed: u64,
    reports: Vec<Option<NodeReport>>,
    cpu: Duration,
}

fn run(args: &Args) -> Result<bool, String> {
    let pg = Postgres::start().map_err(|e| e.to_string())?;
    let etcd = Etcd::start().map_err(|e| e.to_string())?;
    let root = tempfile::Builder::new()
        .prefix("darkstar-cluster-bench-")
        .tempdir()
        .map_err(|e| format!("a temporary directory: {e}"))?;
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .map_err(|e| format!("the clients' runtime: {e}"))?;
    let mut bench = Bench {
        args,
        pg,
        etcd,
        root: root.path().to_owned(),
        runtime,
        runs: 0,
    };
    println!(
        "cluster transfers: {} accounts, {} connections x {} requests in flight, {} s measured \
         after {} s warm-up; {} cores per node on a {}-CPU machine; PostgreSQL {} and etcd on \
         loopback; every reply comes after its transfer is durable (embedded: on local disk, \
         cluster: in the shared log)",
        args.accounts,
        args.connections,
        args.depth,
        args.seconds,
        args.warmup,
        if args.cores == 0 {
            "all".to_owned()
        } else {
            args.cores.to_string()
        },
        std::thread::available_parallelism().map_or(1, |n| n.get()),
        bench.pg.url(),
    );
    let mut rows = Vec::new();
    for &alpha in &args.alphas {
        for &nodes in &args.nodes {
            let row = bench.measure(nodes, alpha)?;
            println!(
                "  measured {:<9} alpha {:<4} {:>9.0} TPS",
                row.name, row.alpha, row.tps
            );
            rows.push(row);
        }
    }
    println!();
    print_table(&rows);
    let mut ok = rows.iter().all(|r| r.audit_ok);
    if !args.no_failover {
        println!();
        for victim in [Victim::Leader, Victim::Follower] {
            ok &= bench.failover(victim)?;
        }
    }
    drop(bench);
    drop(root);
    Ok(ok)
}

fn print_table(rows: &[Row]) {
    println!(
        "{:<9} {:>5} {:>10} {:>7} {:>9} {:>9} {:>11} {:>9} {:>9} {:>9} {:>9}",
        "system",
        "alpha",
        "TPS",
        "x embed",
        "p50",
        "p99",
        "conflicts/s",
        "log rec/s",
        "log KiB/s",
        "lag p99",
        "CPU-s/1k"
    );
    let embedded: HashMap<u64, f64> = rows
        .iter()
        .filter(|r| r.nodes == 0)
        .map(|r| (r.alpha.to_bits(), r.tps))
        .collect();
    for r in rows {
        let ratio = match (r.nodes, embedded.get(&r.alpha.to_bits())) {
            (0, _) => "1.00".to_owned(),
            (_, Some(&e)) if e > 0.0 => format!("{:.2}", r.tps / e),
            _ => "-".to_owned(),
        };
        let (records, kib, lag) = match r.log {
            Some((records, bytes, lag)) => (
                format!("{records:.0}"),
                format!("{:.0}", bytes / 1024.0),
                micros(lag),
            ),
            None => ("-".to_owned(), "-".to_owned(), "-".to_owned()),
        };
        println!(
            "{:<9} {:>5} {:>10.0} {:>7} {:>9.2?} {:>9.2?} {:>11.0} {:>9} {:>9} {:>9} {:>9.3}{}",
            r.name,
            r.alpha,
            r.tps,
            ratio,
            r.p50,
            r.p99,
            r.conflicts,
            records,
            kib,
            lag,
            r.cpu_per_k,
            if r.audit_ok { "" } else { "  AUDIT FAILED" }
        );
    }
}

/// Which node the failover kills.
#[derive(Clone, Copy)]
enum Victim {
    /// The meta-service's leader, which must be replaced before the table changes.
    Leader,
    /// A node that does not lead.
    Follower,
}

impl Bench<'_> {
    /// Starts `nodes` nodes (0: the embedded server) and the load at `alpha` on them, and
    /// waits until every connection is logged in.
    fn start(&mut self, nodes: usize, alpha: f64) -> Result<Running, String> {
        self.runs += 1;
        let cluster = format!("bench_{}", self.runs);
        let dir = self.root.join(&cluster);
        let name = if nodes == 0 {
            "embedded".to_owned()
        } else {
            format!("{nodes}-node")
        };
        let mut children = Vec::new();
        for i in 0..nodes.max(1) {
            let mut s = NodeSettings::new(dir.join(format!("node-{i}")));
            s.node_name = format!("node-{i}");
            if nodes > 0 {
                s.etcd = Some(self.etcd.endpoint());
                s.postgres = Some(self.pg.url());
                s.cluster_name = cluster.clone();
                s.lease_ttl_secs = self.args.lease_ttl_secs;
            }
            s.cores = self.args.cores;
            s.accounts = self.args.accounts;
            s.initial_balance = INITIAL_BALANCE;
            s.status_ms = STATUS_MS;
            s.session_window = self.args.depth.max(256);
            s.log = "warn".to_owned();
            std::fs::create_dir_all(&dir).map_err(|e| format!("{}: {e}", dir.display()))?;
            children.push(NodeChild::spawn(&s, &dir.join(format!("node-{i}.log")))?);
        }
        let mut addrs = Vec::new();
        for child in &mut children {
            addrs.push(child.wait_ready(START_PATIENCE)?);
        }
        let connections = self.args.connections as usize;
        let directory = Directory::new(addrs, connections);
        let (events_tx, events) = tokio::sync::mpsc::unbounded_channel();
        let stop = Arc::new(AtomicBool::new(false));
        let stats = Arc::new(LoadStats::default());
        let lanes: Vec<RoamingLane> = (0..connections)
            .map(|bot| RoamingLane {
                bot,
                name: format!("lane-{bot}"),
                home: bot % children.len(),
                directory: directory.clone(),
                stop: stop.clone(),
                events: Some(events_tx.clone()),
                reply_timeout: REPLY_TIMEOUT,
                window: self.args.depth.max(256),
            })
            .collect();
        let load = {
            let (stats, stop) = (stats.clone(), stop.clone());
            let (accounts, depth) = (u64::from(self.args.accounts), self.args.depth as usize);
            let workload = Workload {
                alpha,
                ..Workload::default()
            };
            self.runtime.spawn(async move {
                carry_lanes(lanes, accounts, depth, &workload, &stats, &stop).await
            })
        };
        let deadline = Instant::now() + START_PATIENCE;
        while (0..children.len())
            .map(|n| directory.bots_on(n))
            .sum::<usize>()
            < connections
        {
            if Instant::now() > deadline {
                return Err(format!("{name}: not every connection logged in"));
            }
            std::thread::sleep(Duration::from_millis(20));
        }
        Ok(Running {
            name,
            cluster,
            nodes: children,
            directory,
            stats,
            stop,
            events,
            load,
        })
    }

    /// Every process's CPU time so far: the nodes, PostgreSQL (with its backends, those
    /// gone included), etcd and this program.
    fn cpu(&mut self, nodes: &mut [NodeChild]) -> Duration {
        let mut total = proc::own_cpu_time();
        for n in nodes.iter_mut() {
            total += n.cpu_time().unwrap_or_default();
        }
        if let Some(pm) = self.pg.pid() {
            total += proc::cpu_time_with_reaped(pm).unwrap_or_default();
            for pid in self.pg.pids().into_iter().filter(|&p| p != pm) {
                total += proc::cpu_time(pid).unwrap_or_default();
            }
        }
        if let Some(pid) = self.etcd.pid() {
            total += proc::cpu_time(pid).unwrap_or_default();
        }
        total
    }

    fn sample(&mut self, r: &mut Running) -> Sample {
        Sample {
            at: Instant::now(),
            committed: r.stats.committed.load(Ordering::Relaxed),
            reports: r.nodes.iter().map(NodeChild::latest).collect(),
            cpu: self.cpu(&mut r.nodes),
        }
    }

    /// Stops the load and every live node; returns whether the bank's audit held on each.
    fn finish(&mut self, mut r: Running) -> bool {
        r.stop.store(true, Ordering::Relaxed);
        let errors = self.runtime.block_on(async {
            match tokio::time::timeout(Duration::from_secs(30), r.load).await {
                Ok(Ok(errors)) => errors,
                Ok(Err(e)) => vec![format!("the load panicked: {e}")],
                Err(_) => vec!["the connections did not stop within 30 s".to_owned()],
            }
        });
        for e in &errors {
            eprintln!("{}: a connection failed: {e}", r.name);
        }
        let mut ok = true;
        for n in &mut r.nodes {
            if !n.is_running() {
                continue;
            }
            match n.stop(STOP_PATIENCE) {
                Ok(end) => match end.audit {
                    Some(a) if a.holds() => {}
                    other => {
                        eprintln!("{} {}: audit FAILED: {other:?}", r.name, n.name());
                        ok = false;
                    }
                },
                Err(e) => {
                    eprintln!("{} {}: {e}", r.name, n.name());
                    ok = false;
                }
            }
        }
        ok
    }

    fn measure(&mut self, nodes: usize, alpha: f64) -> Result<Row, String> {
        let mut r = self.start(nodes, alpha)?;
        std::thread::sleep(Duration::from_secs(self.args.warmup));
        let _ = r.stats.latency.take();
        let a = self.sample(&mut r);
        std::thread::sleep(Duration::from_secs(self.args.seconds));
        let b = self.sample(&mut r);
        let counts = r.stats.latency.take();
        let secs = b.at.duration_since(a.at).as_secs_f64();
        let transfers = b.committed.saturating_sub(a.committed);
        // Each node's counters over its own reports' interval, as rates.
        let mut conflicts = 0.0;
        let mut records = 0.0;
        let mut bytes = 0.0;
        let mut lag = 0;
        let mut cluster = false;
        for (early, late) in a.reports.iter().zip(&b.reports) {
            let (Some(early), Some(late)) = (early, late) else {
                continue;
            };
            let span = late.uptime.saturating_sub(early.uptime).as_secs_f64();
            if span <= 0.0 {
                continue;
            }
            conflicts += late.conflicts_per_sec(Some(early));
            if let Some(c) = late.cluster_since(Some(early)) {
                cluster = true;
                records += c.records_appended as f64 / span;
                bytes += c.bytes_appended as f64 / span;
                lag = lag.max(c.apply_lag_quantile(0.99));
            }
        }
        let cpu = b.cpu.saturating_sub(a.cpu).as_secs_f64();
        let name = r.name.clone();
        let audit_ok = self.finish(r);
        Ok(Row {
            name,
            nodes,
            alpha,
            tps: transfers as f64 / secs,
            p50: Latency::quantile(&counts, 0.5),
            p99: Latency::quantile(&counts, 0.99),
            conflicts,
            log: cluster.then_some((records, bytes, lag)),
            cpu_per_k: if transfers == 0 {
                f64::INFINITY
            } else {
                cpu / (transfers as f64 / 1000.0)
            },
            audit_ok,
        })
    }

    /// Kills one node of a 3-node cluster under load and measures how long the cluster
    /// takes to move its slots and its clients. Returns whether the audit held after.
    fn failover(&mut self, victim: Victim) -> Result<bool, String> {
        let mut r = self.start(3, 0.0)?;
        std::thread::sleep(Duration::from_secs(self.args.warmup));
        let mut etcd = self
            .runtime
            .block_on(etcd_client::Client::connect([self.etcd.endpoint()], None))
            .map_err(|e| format!("connecting to etcd: {e}"))?;
        let leader = self
            .runtime
            .block_on(meta_leader(&mut etcd, &r.cluster))?
            .ok_or("no node leads the meta-service")?;
        let leader_index = r
            .nodes
            .iter()
            .position(|n| n.name() == leader)
            .ok_or_else(|| format!("the leader {leader} is not a node of this run"))?;
        let index = match victim {
            Victim::Leader => leader_index,
            Victim::Follower => (leader_index + 1) % r.nodes.len(),
        };
        let name = r.nodes[index].name().to_owned();
        let table = self
            .runtime
            .block_on(read_placement(&mut etcd, &r.cluster))?;
        let owned = table.as_ref().map_or(0, |t| t.slots_of(&name));
        let clients: Vec<usize> = (0..self.args.connections as usize)
            .filter(|&bot| r.directory.node_of(bot) == Some(index))
            .collect();
        while r.events.try_recv().is_ok() {}
        let before = r.stats.committed.load(Ordering::Relaxed);
        std::thread::sleep(Duration::from_secs(1));
        let tps_before = r.stats.committed.load(Ordering::Relaxed) - before;

        let killed = Instant::now();
        r.nodes[index].kill();
        r.directory.set_down(index);
        let committed_at_kill = r.stats.committed.load(Ordering::Relaxed);
        let mut table_moved: Option<Duration> = None;
        let mut acked: HashMap<usize, Duration> = HashMap::new();
        let mut lost: HashMap<usize, Duration> = HashMap::new();
        let mut moved: HashMap<usize, Duration> = HashMap::new();
        let mut tps_after = None;
        let deadline = killed + FAILOVER_PATIENCE;
        while Instant::now() < deadline && (table_moved.is_none() || acked.len() < clients.len()) {
            if table_moved.is_none() {
                let read = self.runtime.block_on(async {
                    tokio::time::timeout(
                        Duration::from_millis(500),
                        read_placement(&mut etcd, &r.cluster),
                    )
                    .await
                });
                if let Ok(Ok(Some(t))) = read {
                    if t.slots_of(&name) == 0 {
                        table_moved = Some(killed.elapsed());
                    }
                }
            }
            while let Ok(event) = r.events.try_recv() {
                // Only the dead node's clients, and only their move away from it.
                match event {
                    BotEvent::Lost { bot, node, at, .. } if node == index => {
                        lost.entry(bot).or_insert(at.duration_since(killed));
                    }
                    BotEvent::Moved { bot, from, at, .. } if from == index => {
                        moved.entry(bot).or_insert(at.duration_since(killed));
                    }
                    BotEvent::Acked { bot, at, .. } if moved.contains_key(&bot) => {
                        acked.entry(bot).or_insert(at.duration_since(killed));
                    }
                    _ => {}
                }
            }
            if tps_after.is_none() && killed.elapsed() >= Duration::from_secs(1) {
                tps_after = Some(r.stats.committed.load(Ordering::Relaxed) - committed_at_kill);
            }
            std::thread::sleep(Duration::from_millis(10));
        }
        let slowest = |m: &HashMap<usize, Duration>| {
            m.values()
                .max()
                .map_or("-".to_owned(), |d| format!("{:.3} s", d.as_secs_f64()))
        };
        let role = match victim {
            Victim::Leader => "the meta-service's leader",
            Victim::Follower => "a follower",
        };
        println!(
            "failover: 3-node cluster under load (alpha 0), kill -9 {name} ({role}, {owned} slots, \
             {} clients); lease TTL {}",
            clients.len(),
            self.args
                .lease_ttl_secs
                .map_or("default (2 s)".to_owned(), |t| format!("{t} s"))
        );
        match table_moved {
            Some(d) => println!(
                "  (a) placement table no longer names {name}: {:.3} s after the kill",
                d.as_secs_f64()
            ),
            None => println!(
                "  (a) placement table still names {name} {} s after the kill",
                FAILOVER_PATIENCE.as_secs()
            ),
        }
        if acked.len() == clients.len() {
            println!(
                "  (b) every client of {name} resumed its session elsewhere and had a \
                 transfer acknowledged there: {} after the kill",
                slowest(&acked)
            );
        } else {
            println!(
                "  (b) only {} of {} clients of {name} had a transfer acknowledged elsewhere \
                 within {} s",
                acked.len(),
                clients.len(),
                FAILOVER_PATIENCE.as_secs()
            );
        }
        println!(
            "      (the last noticed the loss {}, the last resumed {}); transfers \
             acknowledged in the second before the kill {tps_before}, in the second after {}",
            slowest(&lost),
            slowest(&moved),
            tps_after.map_or("-".to_owned(), |t| t.to_string())
        );
        let ok = self.finish(r);
        Ok(ok)
    }
}
