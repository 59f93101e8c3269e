//! The transfer benchmark through the full task path: a macro-generated task submitted from
//! outside a transaction (as a client request would be), placed on a core, run as a
//! transaction, committed durably, acknowledged.
//!
//! `cargo bench -p darkstar-examples --bench tasks [-- --seconds N --in-flight N --cores N]`
//!
//! Runs the reference workload (100,000 accounts of 10,000,000; a transfer reads two,
//! checks funds, debits one and credits the other) at alpha 0 and 1.5, and at 1.5 once more
//! with hot-object placement turned off to show what it buys. Each run starts from a fresh
//! store and is audited afterwards.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::cluster::proc::own_cpu_time;
use darkstar_examples::load::{drive, Latency, LoadStats, Workload};
use darkstar_runtime::{Config, Server};

/// The benchmark's options.
#[derive(Parser)]
#[command(about = "The transfer benchmark through the full task path, in process")]
struct Args {
    /// Seconds measured per run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Transfers kept in flight.
    #[arg(long, default_value_t = 1024, value_parser = clap::value_parser!(u32).range(1..))]
    in_flight: u32,
    /// Executor cores (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    cores: usize,
    /// Accounts in the bank.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(2..))]
    accounts: u32,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

struct Figures {
    tasks_per_s: f64,
    /// CPU time of the whole process (server and load alike) per task.
    cpu_per_task: Duration,
    p50: Duration,
    p99: Duration,
    abort_rate: f64,
    tasks_per_batch: f64,
}

fn run(args: &Args, alpha: f64, learning: bool) -> Figures {
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = Config {
        data_dir: dir.path().to_owned(),
        cores: args.cores,
        ..Config::default()
    };
    let app = BankApp {
        accounts: args.accounts,
        initial_balance: 10_000_000,
    };
    let server = Server::builder(app)
        .config(config)
        .start()
        .expect("server starts");
    server.placement().set_learning(learning);
    let accounts = server.query(bank::accounts).expect("accounts");
    let stats = Arc::new(LoadStats::default());
    let stop = AtomicBool::new(false);
    let workload = Workload {
        alpha,
        in_flight: args.in_flight as usize,
        ..Workload::default()
    };
    let figures = std::thread::scope(|scope| {
        scope.spawn(|| drive(&server, &accounts, &workload, &stats, &stop));
        std::thread::sleep(Duration::from_secs(args.warmup));
        let _ = stats.latency.take();
        let (c0, r0, t0, cpu0) = (
            stats.committed.load(Ordering::Relaxed),
            server.stats(),
            Instant::now(),
            own_cpu_time(),
        );
        std::thread::sleep(Duration::from_secs(args.seconds));
        let (c1, r1, t1, cpu1) = (
            stats.committed.load(Ordering::Relaxed),
            server.stats(),
            Instant::now(),
            own_cpu_time(),
        );
        let counts = stats.latency.take();
        stop.store(true, Ordering::Relaxed);
        let committed = (r1.committed - r0.committed) as f64;
        let conflicts = (r1.conflicts - r0.conflicts) as f64;
        Figures {
            tasks_per_s: (c1 - c0) as f64 / (t1 - t0).as_secs_f64(),
            cpu_per_task: (cpu1 - cpu0) / u32::try_from((c1 - c0).max(1)).unwrap_or(u32::MAX),
            p50: Latency::quantile(&counts, 0.50),
            p99: Latency::quantile(&counts, 0.99),
            abort_rate: conflicts / (committed + conflicts).max(1.0),
            tasks_per_batch: committed / ((r1.batches - r0.batches) as f64).max(1.0),
        }
    });
    let audit = server.query(bank::audit).expect("audit");
    assert_eq!(audit.total, audit.expected, "money was created or lost");
    assert_eq!(audit.negative, 0, "a balance went negative");
    server.shutdown().expect("clean shutdown");
    figures
}

fn main() {
    let args = Args::parse();
    let cores = if args.cores == 0 {
        std::thread::available_parallelism().map_or(1, |n| n.get())
    } else {
        args.cores
    };
    println!(
        "transfer tasks: {} accounts, {} in flight, {} cores, {} s per run after {} s warm-up; durable (fsync) before acknowledged",
        args.accounts, args.in_flight, cores, args.seconds, args.warmup
    );
    println!(
        "{:<34} {:>12} {:>12} {:>10} {:>10} {:>8} {:>11}",
        "run", "tasks/s", "CPU/task", "p50", "p99", "aborts", "tasks/batch"
    );
    let runs = [
        ("alpha 0 (uniform)", 0.0, true),
        ("alpha 1.5 (Zipf)", 1.5, true),
        ("alpha 1.5, hot placement off", 1.5, false),
    ];
    let mut results = Vec::new();
    for (name, alpha, learning) in runs {
        let f = run(&args, alpha, learning);
        println!(
            "{:<34} {:>12.0} {:>12.2?} {:>10.2?} {:>10.2?} {:>7.2}% {:>11.1}",
            name,
            f.tasks_per_s,
            f.cpu_per_task,
            f.p50,
            f.p99,
            f.abort_rate * 100.0,
            f.tasks_per_batch
        );
        results.push(f);
    }
    let uniform = results[0].tasks_per_s;
    let zipf = results[1].tasks_per_s;
    println!();
    println!(
        "alpha 0: {:.0} tasks/s (target 500,000: {})",
        uniform,
        if uniform >= 500_000.0 {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "alpha 1.5 / alpha 0: {:.2} (target 0.80: {})",
        zipf / uniform,
        if zipf >= 0.8 * uniform {
            "met"
        } else {
            "NOT met"
        }
    );
    println!(
        "hot placement at alpha 1.5: aborts {:.2}% with it, {:.2}% without",
        results[1].abort_rate * 100.0,
        results[2].abort_rate * 100.0
    );
}
