//! One bank node, run in the child process.

use std::ffi::OsString;
use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_runtime::{Config, LoginMode, Server};

use super::report::{AuditLine, NodeReport};
use crate::bank::{self, BankApp};

/// The first argument that makes a process a node: see [`run_if_child`].
pub const CHILD_FLAG: &str = "--darkstar-cluster-node";

/// What a node is started with. With both `etcd` and `postgres` set it joins that
/// cluster; with neither it is a server on its own (the embedded store).
#[derive(Parser, Clone, Debug)]
#[command(name = "cluster-node", about = "One bank node (started by its parent)")]
pub struct NodeSettings {
    /// The node's store.
    #[arg(long)]
    pub data_dir: PathBuf,
    /// The node's name in the cluster.
    #[arg(long, default_value = "node-0")]
    pub node_name: String,
    /// etcd endpoint(s), comma separated.
    #[arg(long)]
    pub etcd: Option<String>,
    /// PostgreSQL connection string of the shared log.
    #[arg(long)]
    pub postgres: Option<String>,
    /// The cluster's name (etcd prefix, PostgreSQL schema).
    #[arg(long, default_value = "darkstar")]
    pub cluster_name: String,
    /// Where clients connect (port 0: one the system chooses, printed in `ready`).
    #[arg(long, default_value = "127.0.0.1:0")]
    pub tcp_addr: std::net::SocketAddr,
    /// Executor cores (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    pub cores: usize,
    /// Accounts, created by the first node to start.
    #[arg(long, default_value_t = 100_000)]
    pub accounts: u32,
    /// Balance every account starts with.
    #[arg(long, default_value_t = 10_000_000)]
    pub initial_balance: i64,
    /// Milliseconds between `stats` lines.
    #[arg(long, default_value_t = 1000)]
    pub status_ms: u64,
    /// Messages a session may have in flight (the bots pipeline).
    #[arg(long, default_value_t = 256)]
    pub session_window: u32,
    /// Seconds the node's etcd lease outlives its last renewal (unset: the default).
    #[arg(long)]
    pub lease_ttl_secs: Option<u64>,
    /// Log filter (logs go to standard error).
    #[arg(long, default_value = "info")]
    pub log: String,
}

impl NodeSettings {
    /// Settings for a node with its store in `data_dir` and every other value at its
    /// default: a server on its own until `etcd` and `postgres` are set.
    pub fn new(data_dir: impl Into<PathBuf>) -> NodeSettings {
        NodeSettings::parse_from([
            OsString::from("cluster-node"),
            OsString::from("--data-dir"),
            data_dir.into().into_os_string(),
        ])
    }

    /// The flags that give a child these settings (after [`CHILD_FLAG`]).
    pub fn to_args(&self) -> Vec<OsString> {
        let mut args: Vec<OsString> = Vec::new();
        let mut flag = |name: &str, value: OsString| {
            args.push(format!("--{name}").into());
            args.push(value);
        };
        flag("data-dir", self.data_dir.clone().into_os_string());
        flag("node-name", self.node_name.clone().into());
        if let Some(e) = &self.etcd {
            flag("etcd", e.into());
        }
        if let Some(p) = &self.postgres {
            flag("postgres", p.into());
        }
        flag("cluster-name", self.cluster_name.clone().into());
        flag("tcp-addr", self.tcp_addr.to_string().into());
        flag("cores", self.cores.to_string().into());
        flag("accounts", self.accounts.to_string().into());
        flag("initial-balance", self.initial_balance.to_string().into());
        flag("status-ms", self.status_ms.to_string().into());
        flag("session-window", self.session_window.to_string().into());
        if let Some(t) = self.lease_ttl_secs {
            flag("lease-ttl-secs", t.to_string().into());
        }
        flag("log", self.log.clone().into());
        args
    }

    /// Whether the node joins a cluster.
    pub fn is_cluster(&self) -> bool {
        self.etcd.is_some() && self.postgres.is_some()
    }

    /// The server's configuration: development login, and the limits per address lifted,
    /// since every bot comes from one address and pipelines far above a player's rates.
    pub fn config(&self) -> Config {
        let mut config = Config {
            data_dir: self.data_dir.clone(),
            cores: self.cores,
            tcp_addr: Some(self.tcp_addr),
            login_mode: LoginMode::Development,
            session_window: self.session_window,
            max_connections_per_address: 0,
            connections_per_sec_per_address: 0,
            logins_per_sec_per_address: 0,
            login_queue_per_address: 0,
            session_messages_per_sec: 0,
            session_kib_per_sec: 0,
            channel_messages_per_sec: 0,
            ..Config::default()
        };
        if self.is_cluster() {
            config.cluster_etcd = self.etcd.clone();
            config.cluster_postgres = self.postgres.clone();
            config.cluster_name = self.cluster_name.clone();
            config.node_name = Some(self.node_name.clone());
            if let Some(t) = self.lease_ttl_secs {
                config.lease_ttl_secs = t;
            }
        }
        config
    }
}

/// If this process was started as a node ([`CHILD_FLAG`] first), runs it and returns its
/// exit code; otherwise returns `None` and the program goes on as itself.
pub fn run_if_child() -> Option<ExitCode> {
    let mut args = std::env::args_os().skip(1);
    if args.next().as_deref() != Some(CHILD_FLAG.as_ref()) {
        return None;
    }
    let settings =
        NodeSettings::parse_from(std::iter::once(OsString::from("cluster-node")).chain(args));
    Some(run_node(&settings))
}

/// Runs a bank node until SIGTERM or SIGINT. Prints `ready <addr>` once it serves
/// clients, a `stats` line and a `status` line every `status_ms`, and when told to stop
/// an `audit` line and `stopped` (see [`super::report`]).
pub fn run_node(settings: &NodeSettings) -> ExitCode {
    darkstar_runtime::init_logging(&settings.log);
    let stop = Arc::new(AtomicBool::new(false));
    for sig in [signal_hook::consts::SIGTERM, signal_hook::consts::SIGINT] {
        if let Err(e) = signal_hook::flag::register(sig, stop.clone()) {
            println!("failed cannot watch for signals: {e}");
            return ExitCode::FAILURE;
        }
    }
    let app = BankApp {
        accounts: settings.accounts,
        initial_balance: settings.initial_balance,
    };
    let server = match Server::builder(app).config(settings.config()).start() {
        Ok(s) => s,
        Err(e) => {
            // One line for the parent, the whole chain for the log.
            println!("failed {e}");
            eprintln!("error: {:?}", darkstar_runtime::MainError::from(e));
            return ExitCode::FAILURE;
        }
    };
    let Some(addr) = server.tcp_addr() else {
        println!("failed the node does not listen on TCP");
        return ExitCode::FAILURE;
    };
    say(&format!("ready {addr}"));
    let started = Instant::now();
    let every = Duration::from_millis(settings.status_ms.max(10));
    let mut next = started + every;
    let mut last: Option<NodeReport> = None;
    while !stop.load(Ordering::Relaxed) {
        let now = Instant::now();
        if now < next {
            // Short naps, so a signal is noticed promptly.
            std::thread::sleep((next - now).min(Duration::from_millis(20)));
            continue;
        }
        next += every;
        let report = NodeReport {
            uptime: started.elapsed(),
            runtime: server.stats(),
            sessions: server.sessions(),
            position: server.log_position(),
            cluster: server.cluster_stats(),
        };
        say(&report.encode());
        say(&format!(
            "status {} {}",
            settings.node_name,
            report.describe(last.as_ref())
        ));
        last = Some(report);
    }
    let mut ok = true;
    match server.query(bank::audit) {
        Ok(a) => say(&AuditLine::from(a).encode()),
        Err(e) => {
            say(&format!("failed audit: {e}"));
            ok = false;
        }
    }
    let position = server.log_position();
    if let Err(e) = server.shutdown() {
        say(&format!("failed shutdown: {e}"));
        ok = false;
    }
    match position {
        Some(p) => say(&format!("stopped at {p}")),
        None => say("stopped"),
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// One line to the parent, at once.
fn say(line: &str) {
    let mut out = std::io::stdout().lock();
    // The parent may be gone; the node then has no one to tell.
    let _ = writeln!(out, "{line}");
    let _ = out.flush();
}
