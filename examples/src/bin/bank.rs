//! The bank demo: a bank server on the embedded store, played by bot clients that log in
//! over TCP and pipeline transfer requests, with a live status line. On exit it audits
//! every balance.
//!
//! `cargo run --release -p darkstar-examples --bin bank -- --seconds 20 --alpha 1.5`
//!
//! With `--admin-addr 127.0.0.1:7481` it also serves the dashboard, and prints its address
//! with a fresh admin token.

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_client::{Client, Endpoint};
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::cli;
use darkstar_examples::load::{carry_lanes, Latency, LoadStats, SessionLane, Workload};
use darkstar_runtime::{Server, ServerArgs};

// Buffers cross threads here (a reply is built on a core and freed by the network thread),
// which the system allocator handles poorly; any allocator will do for correctness.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

#[derive(Parser)]
#[command(about = "A bank on Darkstar for Rust, played by bot clients over TCP")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Accounts (used when the store is created).
    #[arg(long, default_value_t = 100_000)]
    accounts: u32,
    /// Zipf exponent of account choice: 0 uniform, 1.5 contended.
    #[arg(long, default_value_t = 0.0)]
    alpha: f64,
    /// Bot clients, each one session.
    #[arg(long, default_value_t = 50)]
    bots: usize,
    /// Requests each bot keeps in flight.
    #[arg(long, default_value_t = 64)]
    depth: usize,
    /// Seconds to run (0: until Ctrl-C).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
}

/// Where the demo listens unless told otherwise.
const DEFAULT_TCP: &str = "127.0.0.1:7480";
/// The bots' password (their accounts are created on the first run).
const BOT_PASSWORD: &str = "bank-bot-password";

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.accounts < 2 || !(0.0..=5.0).contains(&cli.alpha) || cli.bots == 0 || cli.depth == 0 {
        eprintln!(
            "error: --accounts must be at least 2, --alpha between 0 and 5, --bots and --depth at least 1"
        );
        return ExitCode::FAILURE;
    }
    let Some(mut config) = cli::config(&cli.server, "bank-data") else {
        return ExitCode::FAILURE;
    };
    config
        .tcp_addr
        .get_or_insert_with(|| DEFAULT_TCP.parse().expect("a socket address"));
    // The bots all log in at once from one address and pipeline thousands of requests a
    // second each, far above what the limits against hostile clients let a player do; the
    // demo lifts those limits unless told otherwise.
    let flags = &cli.server;
    if flags.logins_per_sec_per_address.is_none() {
        config.logins_per_sec_per_address = 0;
    }
    if flags.login_queue_per_address.is_none() {
        config.login_queue_per_address = 0;
    }
    if flags.session_messages_per_sec.is_none() {
        config.session_messages_per_sec = 0;
    }
    if flags.session_kib_per_sec.is_none() {
        config.session_kib_per_sec = 0;
    }
    if flags.channel_messages_per_sec.is_none() {
        config.channel_messages_per_sec = 0;
    }
    let admin_token = cli::admin_token(&mut config);
    let app = BankApp {
        accounts: cli.accounts,
        initial_balance: 10_000_000,
    };
    let Some(server) = cli::start(app, config) else {
        return ExitCode::FAILURE;
    };
    let addr = server.tcp_addr().expect("the demo listens on TCP");
    let accounts = match server.query(bank::accounts) {
        Ok(a) => a.len() as u64,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stop = Arc::new(AtomicBool::new(false));
    if let Err(e) = signal_stop(&stop) {
        eprintln!("error: cannot watch for Ctrl-C: {e}");
        return ExitCode::FAILURE;
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
    {
        Ok(r) => r,
        Err(e) => {
            eprintln!("error: cannot start the bots' runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    println!(
        "bank: {accounts} accounts on {addr}, {} bots with {} requests in flight each, alpha {}, {} cores; \
         every reply comes after its transfer is durable",
        cli.bots,
        cli.depth,
        cli.alpha,
        server.cores()
    );
    cli::print_admin(&server, admin_token.as_deref());
    let bots = match runtime.block_on(log_in_bots(&server, addr.to_string(), cli.bots)) {
        Ok(b) => b,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    let stats = Arc::new(LoadStats::default());
    let workload = Workload {
        alpha: cli.alpha,
        ..Workload::default()
    };
    let lanes = {
        let (stats, stop, workload) = (stats.clone(), stop.clone(), workload.clone());
        runtime.spawn(async move {
            carry_lanes(bots, accounts, cli.depth, &workload, &stats, &stop).await
        })
    };
    let deadline = (cli.seconds > 0).then(|| Instant::now() + Duration::from_secs(cli.seconds));
    let mut last = (Instant::now(), 0, server.stats());
    while !stop.load(Ordering::Relaxed) {
        std::thread::sleep(Duration::from_secs(1));
        let now = Instant::now();
        let committed = stats.committed.load(Ordering::Relaxed);
        let runtime_stats = server.stats();
        let secs = now.duration_since(last.0).as_secs_f64();
        let counts = stats.latency.take();
        println!(
            "{:>8.0} tasks/s  sessions {:>4}  latency p50 {:>7.2?} p99 {:>7.2?}  conflicts {:>6.0}/s  transfers {}",
            (runtime_stats.committed - last.2.committed) as f64 / secs,
            server.sessions(),
            Latency::quantile(&counts, 0.5),
            Latency::quantile(&counts, 0.99),
            (runtime_stats.conflicts - last.2.conflicts) as f64 / secs,
            committed,
        );
        last = (now, committed, runtime_stats);
        if deadline.is_some_and(|d| now >= d) {
            stop.store(true, Ordering::Relaxed);
        }
    }
    let errors = runtime
        .block_on(lanes)
        .unwrap_or_else(|e| vec![e.to_string()]);
    for e in &errors {
        eprintln!("error: a bot: {e}");
    }
    let audit = server.query(bank::audit);
    let shutdown = server.shutdown();
    let mut ok = errors.is_empty();
    match audit {
        Ok(a) if a.total == a.expected && a.negative == 0 => println!(
            "audit: {} transfers answered; total balance {} as expected, no negative balance",
            stats.committed.load(Ordering::Relaxed),
            a.total
        ),
        Ok(a) => {
            eprintln!("audit FAILED: {a:?}");
            ok = false;
        }
        Err(e) => {
            eprintln!("error: audit: {e}");
            ok = false;
        }
    }
    if let Err(e) = shutdown {
        eprintln!("error: shutdown: {e}");
        ok = false;
    }
    if ok {
        ExitCode::SUCCESS
    } else {
        ExitCode::FAILURE
    }
}

/// Logs `n` bots in, creating their password accounts on the first run.
async fn log_in_bots(server: &Server, addr: String, n: usize) -> Result<Vec<SessionLane>, String> {
    let mut logins = Vec::with_capacity(n);
    for i in 0..n {
        let name = format!("bot-{i:03}");
        if !server.accounts().exists(&name) {
            server
                .accounts()
                .create(&name, BOT_PASSWORD)
                .map_err(|e| format!("creating account {name}: {e}"))?;
        }
        let endpoint = Endpoint::tcp(addr.clone());
        logins.push(tokio::spawn(async move {
            Client::connect(endpoint, &name, BOT_PASSWORD)
                .await
                .map_err(|e| format!("{name} cannot log in: {e}"))
        }));
    }
    let mut bots = Vec::with_capacity(n);
    for login in logins {
        let client = login.await.map_err(|e| e.to_string())??;
        bots.push(SessionLane(client));
    }
    Ok(bots)
}

/// Sets `stop` on Ctrl-C or SIGTERM.
fn signal_stop(stop: &Arc<AtomicBool>) -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    Ok(())
}
