//! The network benchmark: one load generator opens 50 connections and pipelines transfer
//! requests (the reference workload: 100,000 accounts, a transfer reads two, checks funds,
//! debits one and credits the other) into
//!
//! - the bank on Darkstar, over TCP sessions; each request is handled by a task and
//!   answered after its commit is durable;
//! - PostgreSQL, each transfer a serializable transaction (a PL/pgSQL function called
//!   through tokio-postgres, retried on serialization failures), `synchronous_commit = on`;
//! - Redis, each transfer a Lua script, with `appendfsync always`.
//!
//! The systems take turns, round after round (three by default), so that a slow spell of
//! the machine falls on all of them alike; each round's figures are printed, and the
//! verdicts use each system's median round.
//!
//! It prints TPS, p50 and p99 at alpha 0 and 1.5, and the ratios. `bench/network.sh`
//! installs and starts PostgreSQL and Redis, then runs this; alone it measures the
//! systems whose address it is given:
//!
//! ```text
//! DARKSTAR_BENCH_POSTGRES="host=127.0.0.1 port=5433 user=bench dbname=bench" \
//! DARKSTAR_BENCH_REDIS=redis://127.0.0.1:6380 \
//! cargo bench -p darkstar-examples --bench network [-- --rounds N --seconds N --connections N --depth N]
//! ```

mod darkstar;
mod postgres;
mod redis;

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_examples::bank::request::{Outcome, TransferRequest};
use darkstar_examples::load::{carry_lanes, Lane, Latency, LoadStats, Pipeline, Workload};
use futures_util::stream::{FuturesUnordered, StreamExt};

// As in the bank demo: buffers cross threads (Darkstar's replies, every client's frames),
// which the system allocator handles poorly. The peers' clients share it.
#[global_allocator]
static ALLOCATOR: mimalloc::MiMalloc = mimalloc::MiMalloc;

/// What every run shares.
#[derive(Parser)]
#[command(about = "Transfers over the network: Darkstar against PostgreSQL and Redis")]
pub struct Args {
    /// Rounds: each system runs once per round and alpha, in turn.
    #[arg(long, default_value_t = 3, value_parser = clap::value_parser!(u32).range(1..))]
    rounds: u32,
    /// Seconds measured per run.
    #[arg(long, default_value_t = 10)]
    seconds: u64,
    /// Seconds run before measuring.
    #[arg(long, default_value_t = 2)]
    warmup: u64,
    /// Connections, each one lane of the generator.
    #[arg(long, default_value_t = 50, value_parser = clap::value_parser!(u32).range(1..))]
    connections: u32,
    /// Requests in flight per connection.
    #[arg(long, default_value_t = 64, value_parser = clap::value_parser!(u32).range(1..))]
    depth: u32,
    /// Accounts in every system.
    #[arg(long, default_value_t = 100_000, value_parser = clap::value_parser!(u32).range(2..))]
    accounts: u32,
    /// Darkstar's executor cores (0: one per CPU).
    #[arg(long, default_value_t = 0)]
    cores: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// The starting balance of every account, in every system.
pub const INITIAL_BALANCE: i64 = 10_000_000;

/// What one run measured.
#[derive(Clone, Copy)]
pub struct Figures {
    tps: f64,
    p50: Duration,
    p99: Duration,
    retries_per_transfer: f64,
}

/// A system under test, set up fresh for each run.
pub trait System {
    /// Its connections' type.
    type Lane: Pipeline;
    /// Its name in the table.
    fn name(&self) -> &'static str;
    /// Fresh accounts, then `n` open connections.
    fn prepare(&mut self, args: &Args, n: usize) -> impl Future<Output = Vec<Self::Lane>>;
    /// The sum of all balances and the number of negative ones.
    fn audit(&mut self) -> impl Future<Output = (i128, u64)>;
}

/// What one transfer came to: when it was sent, its outcome, and how many times the system
/// aborted it before it committed.
pub type Answer = Result<(Instant, Outcome, u32), String>;

/// Carries `lane` by calling `transfer` for each request, with up to `lane.depth()` calls in
/// flight at once, each answered as it completes: for systems whose client pipelines
/// concurrent calls on one connection.
pub async fn carry_concurrently<F, Fut>(mut lane: Lane, transfer: F) -> Result<(), String>
where
    F: Fn(TransferRequest, Instant) -> Fut,
    Fut: Future<Output = Answer>,
{
    let mut in_flight = FuturesUnordered::new();
    loop {
        while in_flight.len() < lane.depth() {
            let Some(r) = lane.next_request() else {
                break;
            };
            in_flight.push(transfer(r, Instant::now()));
        }
        let Some(done) = in_flight.next().await else {
            return Ok(());
        };
        let (sent, outcome, retries) = done?;
        lane.answered(sent, outcome);
        for _ in 0..retries {
            lane.retried();
        }
    }
}

async fn measure<S: System>(system: &mut S, args: &Args, alpha: f64) -> Figures {
    let lanes = system.prepare(args, args.connections as usize).await;
    let stats = Arc::new(LoadStats::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workload = Workload {
        alpha,
        ..Workload::default()
    };
    let carrying = {
        let (stats, stop) = (stats.clone(), stop.clone());
        let (accounts, depth) = (u64::from(args.accounts), args.depth as usize);
        tokio::spawn(
            async move { carry_lanes(lanes, accounts, depth, &workload, &stats, &stop).await },
        )
    };
    tokio::time::sleep(Duration::from_secs(args.warmup)).await;
    let _ = stats.latency.take();
    let (c0, r0, t0) = (
        stats.committed.load(Ordering::Relaxed),
        stats.retries.load(Ordering::Relaxed),
        Instant::now(),
    );
    tokio::time::sleep(Duration::from_secs(args.seconds)).await;
    let (c1, r1, t1) = (
        stats.committed.load(Ordering::Relaxed),
        stats.retries.load(Ordering::Relaxed),
        Instant::now(),
    );
    let counts = stats.latency.take();
    stop.store(true, Ordering::Relaxed);
    let errors = carrying.await.expect("the lanes end");
    assert!(errors.is_empty(), "{}: {errors:?}", system.name());
    assert_eq!(stats.failed.load(Ordering::Relaxed), 0, "failed transfers");
    let (total, negative) = system.audit().await;
    assert_eq!(
        total,
        i128::from(args.accounts) * i128::from(INITIAL_BALANCE),
        "{}: money was created or lost",
        system.name()
    );
    assert_eq!(negative, 0, "{}: a balance went negative", system.name());
    let committed = (c1 - c0) as f64;
    Figures {
        tps: committed / (t1 - t0).as_secs_f64(),
        p50: Latency::quantile(&counts, 0.50),
        p99: Latency::quantile(&counts, 0.99),
        retries_per_transfer: (r1 - r0) as f64 / committed.max(1.0),
    }
}

fn row(name: &str, alpha: f64, round: &str, f: &Figures) {
    println!(
        "{:<12} {:>5} {:>6} {:>12.0} {:>10.2?} {:>10.2?} {:>9.3}",
        name, alpha, round, f.tps, f.p50, f.p99, f.retries_per_transfer
    );
}

/// The round with the median throughput (the upper one of an even count).
fn median(mut rounds: Vec<Figures>) -> Figures {
    assert!(!rounds.is_empty(), "at least one round");
    rounds.sort_by(|a, b| a.tps.total_cmp(&b.tps));
    rounds[rounds.len() / 2]
}

fn verdict(ok: bool) -> &'static str {
    if ok {
        "met"
    } else {
        "NOT met"
    }
}

/// Every round's figures at one alpha; a peer's list stays empty when it is not measured.
#[derive(Default)]
struct Rounds {
    darkstar: Vec<Figures>,
    postgres: Vec<Figures>,
    redis: Vec<Figures>,
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let args = Args::parse();
    let mut darkstar = darkstar::Darkstar::new(args.cores);
    let mut postgres = postgres::Postgres::from_env();
    let mut redis = redis::Redis::from_env();
    println!(
        "network transfers: {} accounts, {} connections x {} requests in flight, {} rounds of {} s \
         per system after {} s warm-up each; every system durable (fsync) before it replies",
        args.accounts, args.connections, args.depth, args.rounds, args.seconds, args.warmup
    );
    if postgres.is_none() {
        println!("postgres: skipped (DARKSTAR_BENCH_POSTGRES not set; bench/network.sh sets it)");
    }
    if redis.is_none() {
        println!("redis: skipped (DARKSTAR_BENCH_REDIS not set; bench/network.sh sets it)");
    }
    println!(
        "{:<12} {:>5} {:>6} {:>12} {:>10} {:>10} {:>9}",
        "system", "alpha", "round", "TPS", "p50", "p99", "retries"
    );
    let mut table: Vec<(f64, Rounds)> = Vec::new();
    for alpha in [0.0, 1.5] {
        let mut rounds = Rounds::default();
        for round in 1..=args.rounds {
            let label = format!("{round}/{}", args.rounds);
            let d = measure(&mut darkstar, &args, alpha).await;
            row(darkstar.name(), alpha, &label, &d);
            rounds.darkstar.push(d);
            if let Some(s) = &mut postgres {
                let f = measure(s, &args, alpha).await;
                row(s.name(), alpha, &label, &f);
                rounds.postgres.push(f);
            }
            if let Some(s) = &mut redis {
                let f = measure(s, &args, alpha).await;
                row(s.name(), alpha, &label, &f);
                rounds.redis.push(f);
            }
        }
        table.push((alpha, rounds));
    }
    println!();
    println!("median rounds:");
    // Per alpha: Darkstar's median, then each measured peer's with its target ratio.
    let mut medians = Vec::new();
    for (alpha, rounds) in table {
        let d = median(rounds.darkstar);
        row("darkstar", alpha, "median", &d);
        let mut peers = Vec::new();
        for (name, target, figures) in [
            ("postgres", 20.0, rounds.postgres),
            ("redis", 3.0, rounds.redis),
        ] {
            if !figures.is_empty() {
                let f = median(figures);
                row(name, alpha, "median", &f);
                peers.push((name, target, f));
            }
        }
        medians.push((alpha, d, peers));
    }
    println!();
    let uniform = medians[0].1.tps;
    let zipf = medians[1].1.tps;
    println!(
        "darkstar alpha 0: {uniform:.0} TPS (target 150,000: {})",
        verdict(uniform >= 150_000.0)
    );
    println!(
        "darkstar alpha 1.5 / alpha 0: {:.2} (target 0.80: {})",
        zipf / uniform,
        verdict(zipf >= 0.8 * uniform)
    );
    for (alpha, d, peers) in &medians {
        for (name, target, f) in peers {
            let x = d.tps / f.tps;
            println!(
                "alpha {alpha}: darkstar / {name} = {x:.1}x (target {target}x: {})",
                verdict(x >= *target)
            );
        }
    }
}
