//! The bank demo: a server on the embedded store, loaded with durable transfers from a
//! client thread, with a live status line. On exit it audits every balance.
//!
//! `cargo run --release -p darkstar-examples --bin bank -- --seconds 20 --alpha 1.5`

use std::process::ExitCode;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::cli;
use darkstar_examples::load::{drive, Latency, LoadStats, Workload};
use darkstar_runtime::ServerArgs;

#[derive(Parser)]
#[command(about = "A bank under load on Darkstar for Rust")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Accounts (used when the store is created).
    #[arg(long, default_value_t = 100_000)]
    accounts: u32,
    /// Zipf exponent of account choice: 0 uniform, 1.5 contended.
    #[arg(long, default_value_t = 0.0)]
    alpha: f64,
    /// Transfers in flight at once.
    #[arg(long, default_value_t = 1024)]
    in_flight: usize,
    /// Seconds to run (0: until Ctrl-C).
    #[arg(long, default_value_t = 15)]
    seconds: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    if cli.accounts < 2 || !(0.0..=5.0).contains(&cli.alpha) {
        eprintln!("error: --accounts must be at least 2 and --alpha between 0 and 5");
        return ExitCode::FAILURE;
    }
    let Some(config) = cli::config(&cli.server, "bank-data") else {
        return ExitCode::FAILURE;
    };
    let app = BankApp {
        accounts: cli.accounts,
        initial_balance: 10_000_000,
    };
    let Some(server) = cli::start(app, config) else {
        return ExitCode::FAILURE;
    };
    let accounts = match server.query(bank::accounts) {
        Ok(a) => a,
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
    let stats = Arc::new(LoadStats::default());
    let workload = Workload {
        alpha: cli.alpha,
        in_flight: cli.in_flight,
        ..Workload::default()
    };
    println!(
        "bank: {} accounts, alpha {}, {} transfers in flight, {} cores; every transfer is durable before it counts",
        accounts.len(),
        cli.alpha,
        cli.in_flight,
        server.cores()
    );
    let deadline = (cli.seconds > 0).then(|| Instant::now() + Duration::from_secs(cli.seconds));
    std::thread::scope(|scope| {
        scope.spawn(|| drive(&server, &accounts, &workload, &stats, &stop));
        let mut last = (Instant::now(), 0, server.stats());
        while !stop.load(Ordering::Relaxed) {
            std::thread::sleep(Duration::from_secs(1));
            let now = Instant::now();
            let committed = stats.committed.load(Ordering::Relaxed);
            let runtime = server.stats();
            let secs = now.duration_since(last.0).as_secs_f64();
            let counts = stats.latency.take();
            println!(
                "{:>9.0} transfers/s  p50 {:>7.2?}  p99 {:>7.2?}  conflicts {:>6.0}/s  batches {:>6.0}/s  total {}",
                (committed - last.1) as f64 / secs,
                Latency::quantile(&counts, 0.5),
                Latency::quantile(&counts, 0.99),
                (runtime.conflicts - last.2.conflicts) as f64 / secs,
                (runtime.batches - last.2.batches) as f64 / secs,
                committed,
            );
            last = (now, committed, runtime);
            if deadline.is_some_and(|d| now >= d) {
                stop.store(true, Ordering::Relaxed);
            }
        }
    });
    let audit = server.query(bank::audit);
    let shutdown = server.shutdown();
    match (audit, shutdown) {
        (Ok(a), Ok(())) if a.total == a.expected && a.negative == 0 => {
            println!(
                "audit: {} transfers committed; total balance {} as expected, no negative balance",
                stats.committed.load(Ordering::Relaxed),
                a.total
            );
            ExitCode::SUCCESS
        }
        (Ok(a), _) => {
            eprintln!("audit FAILED: {a:?}");
            ExitCode::FAILURE
        }
        (Err(e), _) => {
            eprintln!("error: audit: {e}");
            ExitCode::FAILURE
        }
    }
}

/// Sets `stop` on Ctrl-C or SIGTERM.
fn signal_stop(stop: &Arc<AtomicBool>) -> std::io::Result<()> {
    for sig in [signal_hook::consts::SIGINT, signal_hook::consts::SIGTERM] {
        signal_hook::flag::register(sig, stop.clone())?;
    }
    Ok(())
}
