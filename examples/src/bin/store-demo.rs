//! A live demo of the embedded store: bank transfers from several threads, every one a
//! durable commit, with a status line each second. The data directory persists across
//! runs, so a second run (or a run after `kill -9`) shows recovery at work.
//!
//! ```text
//! cargo run --release -p darkstar-examples --bin store-demo -- --seconds 20
//! ```

use std::collections::VecDeque;
use std::path::PathBuf;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_storage::{Batch, CommitError, Options, Store};

/// Bank transfers against the embedded store, with a live status line.
#[derive(Parser, Debug)]
#[command(version, about)]
struct Args {
    /// Store directory (created if missing, reused if present).
    #[arg(long, default_value = "demo-data")]
    dir: PathBuf,
    /// How long to run the transfers.
    #[arg(long, default_value_t = 15)]
    seconds: u64,
    /// Committing threads.
    #[arg(long, default_value_t = 2)]
    threads: u64,
    /// Accounts to create in a new store.
    #[arg(long, default_value_t = 100_000)]
    accounts: u64,
    /// Commits each thread keeps in flight while earlier ones are being synced.
    #[arg(long, default_value_t = 32)]
    in_flight: usize,
}

const START_BALANCE: u64 = 10_000_000;
const ACCOUNT_TYPE: &str = "demo::Account";
/// The number of accounts lives under this name.
const ACCOUNTS_NAME: &str = "bank.accounts";

fn account_value(balance: u64) -> [u8; 100] {
    let mut v = [0u8; 100];
    v[..8].copy_from_slice(&balance.to_le_bytes());
    v
}

fn balance_of(value: &[u8]) -> u64 {
    u64::from_le_bytes(value[..8].try_into().expect("accounts hold 100 bytes"))
}

/// Shared counters the status line reads.
#[derive(Default)]
struct Counters {
    commits: AtomicU64,
    conflicts: AtomicU64,
    /// Latency histogram in microseconds, buckets of powers of two.
    latency_us: [AtomicU64; 32],
}

impl Counters {
    fn record_latency(&self, d: Duration) {
        let us = d.as_micros().max(1) as u64;
        let bucket = (63 - us.leading_zeros()) as usize;
        self.latency_us[bucket.min(31)].fetch_add(1, Ordering::Relaxed);
    }

    /// (p50, p99) upper bounds in microseconds since the last call.
    fn take_percentiles(&self) -> (u64, u64) {
        let counts: Vec<u64> = self
            .latency_us
            .iter()
            .map(|c| c.swap(0, Ordering::Relaxed))
            .collect();
        let total: u64 = counts.iter().sum();
        let pick = |q: f64| {
            let target = (total as f64 * q).ceil() as u64;
            let mut seen = 0;
            for (i, c) in counts.iter().enumerate() {
                seen += c;
                if seen >= target.max(1) {
                    return 1u64 << (i + 1);
                }
            }
            0
        };
        (pick(0.50), pick(0.99))
    }
}

fn main() -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let args = Args::parse();
    let opened = Instant::now();
    let store = Arc::new(Store::open(&args.dir, Options::default())?);
    println!(
        "opened {} in {:.1} ms: {} commits so far",
        args.dir.display(),
        opened.elapsed().as_secs_f64() * 1e3,
        store.last_seq()
    );
    let accounts = ensure_accounts(&store, args.accounts)?;
    let total_before = total(&store, accounts);
    println!(
        "{accounts} accounts holding {total_before} in total; transferring for {} s on {} threads",
        args.seconds, args.threads
    );

    let counters = Arc::new(Counters::default());
    let stop = Arc::new(AtomicBool::new(false));
    let workers: Vec<_> = (0..args.threads)
        .map(|t| {
            let (store, counters, stop) = (store.clone(), counters.clone(), stop.clone());
            let in_flight = args.in_flight;
            std::thread::spawn(move || {
                transfer_loop(&store, &counters, &stop, accounts, t, in_flight)
            })
        })
        .collect();

    let started = Instant::now();
    let mut last = (Instant::now(), 0u64, store.stats().syncs);
    while started.elapsed() < Duration::from_secs(args.seconds) {
        std::thread::sleep(Duration::from_secs(1));
        let now = Instant::now();
        let commits = counters.commits.load(Ordering::Relaxed);
        let secs = (now - last.0).as_secs_f64();
        let s = store.stats();
        let rate = (commits - last.1) as f64 / secs;
        let syncs = (s.syncs - last.2) as f64 / secs;
        last = (now, commits, s.syncs);
        let (p50, p99) = counters.take_percentiles();
        println!(
            "[{:>3}s] {:>8.0} durable commits/s, {:>6.0} syncs/s | latency p50 <{} us p99 <{} us | \
             conflicts {} | {} segments, {:.1} MiB live of {:.1} MiB | compacted {} ({:.1} MiB reclaimed)",
            started.elapsed().as_secs(),
            rate,
            syncs,
            p50,
            p99,
            counters.conflicts.load(Ordering::Relaxed),
            s.segments,
            s.live_bytes as f64 / (1 << 20) as f64,
            s.used_bytes as f64 / (1 << 20) as f64,
            s.compacted_segments,
            s.reclaimed_bytes as f64 / (1 << 20) as f64,
        );
    }
    stop.store(true, Ordering::Relaxed);
    for w in workers {
        w.join()
            .expect("transfer thread")
            .map_err(|e| e.to_string())?;
    }
    let commits = counters.commits.load(Ordering::Relaxed);
    println!(
        "{commits} transfers in {:.1} s ({:.0}/s), every one durable before it counted",
        started.elapsed().as_secs_f64(),
        commits as f64 / started.elapsed().as_secs_f64()
    );

    let store = Arc::try_unwrap(store).map_err(|_| "store still shared")?;
    store.close()?;
    let reopened = Instant::now();
    let store = Store::open(&args.dir, Options::default())?;
    let total_after = total(&store, accounts);
    println!(
        "reopened in {:.1} ms: {} commits, total {} ({})",
        reopened.elapsed().as_secs_f64() * 1e3,
        store.last_seq(),
        total_after,
        if total_after == total_before {
            "unchanged, as it must be"
        } else {
            "CHANGED"
        }
    );
    if total_after != total_before {
        return Err("the money total changed".into());
    }
    Ok(())
}

/// Creates the accounts in a new store; returns how many there are.
fn ensure_accounts(
    store: &Store,
    wanted: u64,
) -> Result<u64, Box<dyn std::error::Error + Send + Sync>> {
    if let Some(b) = store.snapshot().name(ACCOUNTS_NAME) {
        return Ok(b.id);
    }
    let mut batch = Batch::new();
    for chunk_start in (0..wanted).step_by(5000) {
        batch.clear();
        for id in chunk_start..(chunk_start + 5000).min(wanted) {
            batch.put_object(id, ACCOUNT_TYPE, &account_value(START_BALANCE));
        }
        store.commit(&batch)?;
    }
    batch.clear();
    // The binding's id doubles as the account count.
    batch.bind(ACCOUNTS_NAME, wanted);
    let seq = store.commit(&batch)?;
    store.wait_durable(seq)?;
    Ok(wanted)
}

fn total(store: &Store, accounts: u64) -> u64 {
    let snap = store.snapshot();
    (0..accounts)
        .map(|id| balance_of(snap.object(id).expect("account exists").value))
        .sum()
}

fn transfer_loop(
    store: &Store,
    counters: &Counters,
    stop: &AtomicBool,
    accounts: u64,
    thread: u64,
    max_in_flight: usize,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    let mut rng = 0x9E37_79B9_7F4A_7C15u64 ^ (thread + 1).wrapping_mul(0xD1B5_4A32_D192_ED03);
    let mut next = move || {
        rng ^= rng << 13;
        rng ^= rng >> 7;
        rng ^= rng << 17;
        rng
    };
    let mut batch = Batch::new();
    let mut in_flight: VecDeque<(u64, Instant)> = VecDeque::new();
    while !stop.load(Ordering::Relaxed) {
        let started = Instant::now();
        let from = next() % accounts;
        let to = (from + 1 + next() % (accounts - 1)) % accounts;
        let amount = 1 + next() % 100;
        let snap = store.snapshot();
        let (f, t) = (snap.object(from), snap.object(to));
        let (Some(f), Some(t)) = (f, t) else {
            return Err("an account is missing".into());
        };
        let (fb, tb) = (balance_of(f.value), balance_of(t.value));
        if fb < amount {
            continue;
        }
        batch.clear();
        batch.read_object(from, f.version);
        batch.read_object(to, t.version);
        batch.put_object(from, ACCOUNT_TYPE, &account_value(fb - amount));
        batch.put_object(to, ACCOUNT_TYPE, &account_value(tb + amount));
        drop(snap);
        match store.commit(&batch) {
            Ok(seq) => in_flight.push_back((seq, started)),
            Err(CommitError::Conflict(_)) => {
                counters.conflicts.fetch_add(1, Ordering::Relaxed);
                continue;
            }
            Err(e) => return Err(e.into()),
        }
        if in_flight.len() >= max_in_flight {
            store.wait_durable(in_flight[0].0)?;
        }
        let durable = store.durable_seq();
        while in_flight.front().is_some_and(|(s, _)| *s <= durable) {
            let (_, t0) = in_flight.pop_front().expect("non-empty");
            counters.record_latency(t0.elapsed());
            counters.commits.fetch_add(1, Ordering::Relaxed);
        }
    }
    if let Some((last, _)) = in_flight.back() {
        store.wait_durable(*last)?;
    }
    for (_, t0) in in_flight {
        counters.record_latency(t0.elapsed());
        counters.commits.fetch_add(1, Ordering::Relaxed);
    }
    Ok(())
}
