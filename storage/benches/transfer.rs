//! The "transfer" benchmark: durable read-modify-write transactions on a bank of accounts.
//!
//! 100,000 accounts start with a balance of 10,000,000, each stored as a 100-byte value
//! whose first 8 bytes are the balance (u64, little-endian). One transfer picks two
//! distinct accounts at random, reads both, checks the source can pay an amount of 1 to
//! 100, debits one, credits the other and commits durably: a commit counts only once it
//! is on disk.
//!
//! Measured, in one run, on the same machine:
//!
//! 1. The Darkstar store, one commit per transfer, with 1 and with 2 committing threads,
//!    64 commits in flight in total. Each thread pipelines: it commits, then retires every
//!    commit the store reports durable, and waits for its oldest commit only when it has its
//!    share of commits in flight. Latency runs from the start of a transfer until its commit
//!    is seen durable.
//! 2. Peers with a single writer and a durable commit per transaction: redb, LMDB (heed) and
//!    SQLite (WAL, `synchronous=FULL`), with 1 and with 100 transfers per transaction.
//! 3. The ratio of Darkstar's commits/s to the best peer's transfers/s, against targets.
//! 4. Zero-copy reads: one 100-byte object read through an open snapshot.
//!
//! Run with `cargo bench -p darkstar-storage --bench transfer`; options go after `--`:
//! `--seconds N` (each configuration's duration, default 5) and `--reads N` (zero-copy
//! reads, default 10,000,000).

use std::collections::VecDeque;
use std::error::Error;
use std::hint::black_box;
use std::path::Path;
use std::time::{Duration, Instant};

use darkstar_storage::{Batch, CommitError, Options, Snapshot, Store};
use redb::ReadableTable;
use tempfile::TempDir;

type Res<T> = Result<T, Box<dyn Error>>;

const ACCOUNTS: u64 = 100_000;
const INITIAL_BALANCE: u64 = 10_000_000;
const MAX_AMOUNT: u64 = 100;
const VALUE_LEN: usize = 100;
const TYPE_NAME: &str = "bench::Account";
const LOAD_BATCH: u64 = 1_000;
const IN_FLIGHT_TOTAL: usize = 64;
const PEER_BATCH: usize = 100;
const READ_BATCH: usize = 1_000;

// ---------------------------------------------------------------------------------------
// Settings and small helpers
// ---------------------------------------------------------------------------------------

/// Command-line settings.
struct Settings {
    duration: Duration,
    reads: u64,
}

impl Settings {
    fn from_args() -> Settings {
        let mut settings = Settings {
            duration: Duration::from_secs(5),
            reads: 10_000_000,
        };
        let mut args = std::env::args().skip(1);
        while let Some(arg) = args.next() {
            let (key, inline) = match arg.split_once('=') {
                Some((k, v)) => (k.to_string(), Some(v.to_string())),
                None => (arg.clone(), None),
            };
            match key.as_str() {
                "--seconds" => {
                    let secs: f64 = number(&key, inline.or_else(|| args.next()));
                    settings.duration = Duration::from_secs_f64(secs);
                }
                "--reads" => settings.reads = number(&key, inline.or_else(|| args.next())),
                "--bench" => {}
                "--help" | "-h" => {
                    println!("options: --seconds N (default 5), --reads N (default 10000000)");
                    std::process::exit(0);
                }
                other => eprintln!("ignoring unknown argument {other:?}"),
            }
        }
        settings
    }
}

#[path = "../tests/common/rng.rs"]
mod rng;
use rng::Rng;

fn number<T: std::str::FromStr>(key: &str, value: Option<String>) -> T {
    value
        .and_then(|v| v.parse().ok())
        .unwrap_or_else(|| panic!("{key} needs a positive number"))
}

/// One transfer between account indexes `0..ACCOUNTS`.
#[derive(Clone, Copy)]
struct Transfer {
    from: u64,
    to: u64,
    amount: u64,
}

impl Transfer {
    fn random(rng: &mut Rng) -> Transfer {
        let from = rng.below(ACCOUNTS);
        let mut to = rng.below(ACCOUNTS - 1);
        if to >= from {
            to += 1;
        }
        let amount = 1 + rng.below(MAX_AMOUNT);
        Transfer { from, to, amount }
    }

    /// The new balances, or `None` if the source cannot pay.
    fn apply(&self, from_balance: u64, to_balance: u64) -> Option<(u64, u64)> {
        let from = from_balance.checked_sub(self.amount)?;
        Some((from, to_balance + self.amount))
    }
}

/// An account's stored form: the balance, then zeros up to 100 bytes.
fn account_value(balance: u64) -> [u8; VALUE_LEN] {
    let mut value = [0u8; VALUE_LEN];
    value[..8].copy_from_slice(&balance.to_le_bytes());
    value
}

fn balance_of(value: &[u8]) -> u64 {
    u64::from_le_bytes(
        value[..8]
            .try_into()
            .expect("an account value holds a balance"),
    )
}

/// A fresh directory on the same disk as the build.
fn scratch_dir(prefix: &str) -> Res<TempDir> {
    let near_build = tempfile::Builder::new()
        .prefix(prefix)
        .tempdir_in(env!("CARGO_TARGET_TMPDIR"));
    Ok(match near_build {
        Ok(dir) => dir,
        Err(_) => tempfile::Builder::new().prefix(prefix).tempdir()?,
    })
}

/// Median and 99th percentile of latencies.
#[derive(Clone, Copy, Default)]
struct Percentiles {
    p50: Duration,
    p99: Duration,
}

fn percentiles(latencies: &mut [Duration]) -> Percentiles {
    if latencies.is_empty() {
        return Percentiles::default();
    }
    latencies.sort_unstable();
    let at = |q: f64| latencies[((latencies.len() - 1) as f64 * q).round() as usize];
    Percentiles {
        p50: at(0.50),
        p99: at(0.99),
    }
}

fn fmt_latency(d: Duration) -> String {
    let us = d.as_secs_f64() * 1e6;
    if us < 1_000.0 {
        format!("{us:.0} µs")
    } else {
        format!("{:.2} ms", us / 1_000.0)
    }
}

fn fmt_rate(per_sec: f64) -> String {
    let whole = per_sec.round() as u64;
    let digits = whole.to_string();
    let mut out = String::new();
    for (i, c) in digits.chars().enumerate() {
        if i > 0 && (digits.len() - i) % 3 == 0 {
            out.push(',');
        }
        out.push(c);
    }
    out
}

// ---------------------------------------------------------------------------------------
// Darkstar
// ---------------------------------------------------------------------------------------

/// The outcome of one Darkstar configuration.
struct DarkstarRun {
    threads: usize,
    commits: u64,
    elapsed: Duration,
    latency: Percentiles,
    conflicts: u64,
    syncs: u64,
    /// CPU time of the process (committers and the store's threads) while it ran.
    cpu: Duration,
}

impl DarkstarRun {
    fn per_sec(&self) -> f64 {
        self.commits as f64 / self.elapsed.as_secs_f64()
    }

    fn cpu_per_commit(&self) -> Duration {
        self.cpu / u32::try_from(self.commits.max(1)).unwrap_or(u32::MAX)
    }
}

/// CPU time this process has used, all threads, user and system.
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given, which is plain data that
    // zeroes are valid for.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// What one committing thread measured.
#[derive(Default)]
struct WorkerResult {
    latencies: Vec<Duration>,
    conflicts: u64,
}

/// Opens a fresh store holding the accounts; returns it with the first account's id.
fn open_loaded_store(dir: &Path) -> Res<(Store, u64)> {
    let store = Store::open(dir, Options::default())?;
    let first = store.allocate_ids(ACCOUNTS);
    let value = account_value(INITIAL_BALANCE);
    let mut batch = Batch::new();
    for chunk_start in (0..ACCOUNTS).step_by(LOAD_BATCH as usize) {
        batch.clear();
        for i in chunk_start..(chunk_start + LOAD_BATCH).min(ACCOUNTS) {
            batch.put_object(first + i, TYPE_NAME, &value);
        }
        store.commit(&batch)?;
    }
    store.sync()?;
    Ok((store, first))
}

fn run_darkstar(threads: usize, duration: Duration) -> Res<DarkstarRun> {
    let dir = scratch_dir("darkstar-transfer-")?;
    let (store, first) = open_loaded_store(dir.path())?;
    let syncs_before = store.stats().syncs;
    let per_thread = IN_FLIGHT_TOTAL / threads;
    let cpu_before = cpu_time();
    let start = Instant::now();
    let deadline = start + duration;
    let results: Vec<WorkerResult> = std::thread::scope(|s| {
        let workers: Vec<_> = (0..threads)
            .map(|t| {
                let store = &store;
                let seed = 0x5eed_0000 + t as u64;
                s.spawn(move || darkstar_worker(store, first, per_thread, deadline, seed))
            })
            .collect();
        workers.into_iter().map(|w| w.join().unwrap()).collect()
    });
    let elapsed = start.elapsed();
    let cpu = cpu_time() - cpu_before;
    let syncs = store.stats().syncs - syncs_before;
    store.close()?;
    let conflicts = results.iter().map(|r| r.conflicts).sum();
    let mut latencies: Vec<Duration> = results.into_iter().flat_map(|r| r.latencies).collect();
    Ok(DarkstarRun {
        threads,
        commits: latencies.len() as u64,
        elapsed,
        latency: percentiles(&mut latencies),
        conflicts,
        syncs,
        cpu,
    })
}

/// One committing thread: transfers until `deadline`, up to `max_in_flight` commits not yet
/// durable, then waits for the rest.
fn darkstar_worker(
    store: &Store,
    first: u64,
    max_in_flight: usize,
    deadline: Instant,
    seed: u64,
) -> WorkerResult {
    let mut rng = Rng::new(seed);
    let mut batch = Batch::new();
    let mut in_flight: VecDeque<(u64, Instant)> = VecDeque::with_capacity(max_in_flight);
    let mut result = WorkerResult::default();
    while Instant::now() < deadline {
        let started = Instant::now();
        let transfer = Transfer::random(&mut rng);
        let seq = loop {
            match darkstar_transfer(store, &mut batch, first, &transfer) {
                Ok(Some(seq)) => break Some(seq),
                Ok(None) => break None,
                Err(CommitError::Conflict(_)) => result.conflicts += 1,
                Err(e) => panic!("commit failed: {e}"),
            }
        };
        if let Some(seq) = seq {
            in_flight.push_back((seq, started));
        }
        retire(store.durable_seq(), &mut in_flight, &mut result.latencies);
        if in_flight.len() >= max_in_flight {
            wait_oldest(store, &mut in_flight, &mut result.latencies);
        }
    }
    while !in_flight.is_empty() {
        wait_oldest(store, &mut in_flight, &mut result.latencies);
    }
    result
}

/// Reads both accounts through a fresh snapshot and commits the transfer; `Ok(None)` when
/// the source cannot pay (nothing is committed then).
fn darkstar_transfer(
    store: &Store,
    batch: &mut Batch,
    first: u64,
    t: &Transfer,
) -> Result<Option<u64>, CommitError> {
    let (from_id, to_id) = (first + t.from, first + t.to);
    let snap = store.snapshot();
    let from = snap.object(from_id).expect("every account exists");
    let to = snap.object(to_id).expect("every account exists");
    let Some((from_balance, to_balance)) = t.apply(balance_of(from.value), balance_of(to.value))
    else {
        return Ok(None);
    };
    batch.clear();
    batch.read_object(from_id, from.version);
    batch.read_object(to_id, to.version);
    drop(snap);
    batch.put_object(from_id, TYPE_NAME, &account_value(from_balance));
    batch.put_object(to_id, TYPE_NAME, &account_value(to_balance));
    store.commit(batch).map(Some)
}

fn wait_oldest(store: &Store, in_flight: &mut VecDeque<(u64, Instant)>, out: &mut Vec<Duration>) {
    let (oldest, _) = in_flight[0];
    store.wait_durable(oldest).expect("the log syncs");
    retire(store.durable_seq(), in_flight, out);
}

/// Retires every commit up to `durable`, recording its latency.
fn retire(durable: u64, in_flight: &mut VecDeque<(u64, Instant)>, out: &mut Vec<Duration>) {
    let now = Instant::now();
    while let Some(&(seq, started)) = in_flight.front() {
        if seq > durable {
            break;
        }
        out.push(now - started);
        in_flight.pop_front();
    }
}

// ---------------------------------------------------------------------------------------
// Zero-copy reads
// ---------------------------------------------------------------------------------------

/// Nanoseconds per read: the mean over all reads, and the median and 99th percentile of
/// the per-batch averages.
struct ReadRun {
    /// How many distinct accounts the reads were spread over.
    key_space: u64,
    reads: u64,
    mean_ns: f64,
    p50_ns: f64,
    p99_ns: f64,
}

/// Ids for the "hot" read run: few enough that their index entries and values stay cached.
const HOT_KEYS: u64 = 1_000;

/// Reads over every account (the figure with a target), then over a small hot set (what
/// the read path costs when memory is not the limit).
fn run_reads(total: u64) -> Res<[ReadRun; 2]> {
    let dir = scratch_dir("darkstar-read-")?;
    let (store, first) = open_loaded_store(dir.path())?;
    let runs = {
        let snap = store.snapshot();
        [
            time_reads(&snap, first, ACCOUNTS, total),
            time_reads(&snap, first, HOT_KEYS, total),
        ]
    };
    store.close()?;
    Ok(runs)
}

fn time_reads(snap: &Snapshot, first: u64, key_space: u64, total: u64) -> ReadRun {
    let mut rng = Rng::new(0x7ead);
    let mut ids = [0u64; READ_BATCH];
    let batches = total.div_ceil(READ_BATCH as u64).max(1);
    let mut per_batch = Vec::with_capacity(batches as usize);
    let mut spent = Duration::ZERO;
    for _ in 0..batches {
        for id in ids.iter_mut() {
            *id = first + rng.below(key_space);
        }
        let started = Instant::now();
        for &id in &ids {
            let record = snap.object(black_box(id)).expect("every account exists");
            black_box(record.value[0]);
        }
        let took = started.elapsed();
        spent += took;
        per_batch.push(took.as_nanos() as f64 / READ_BATCH as f64);
    }
    per_batch.sort_unstable_by(f64::total_cmp);
    let at = |q: f64| per_batch[((per_batch.len() - 1) as f64 * q).round() as usize];
    let reads = batches * READ_BATCH as u64;
    ReadRun {
        key_space,
        reads,
        mean_ns: spent.as_nanos() as f64 / reads as f64,
        p50_ns: at(0.50),
        p99_ns: at(0.99),
    }
}

// ---------------------------------------------------------------------------------------
// Peers
// ---------------------------------------------------------------------------------------

/// A peer store: loads the accounts, then runs transfers as durable transactions.
trait Peer {
    /// Stores every account with the initial balance.
    fn load(&mut self) -> Res<()>;
    /// Runs `transfers` in one transaction and returns once it is durable.
    fn transact(&mut self, transfers: &[Transfer]) -> Res<()>;
}

struct Redb {
    db: redb::Database,
}

const REDB_ACCOUNTS: redb::TableDefinition<u64, &[u8]> = redb::TableDefinition::new("accounts");

impl Redb {
    fn open(dir: &Path) -> Res<Box<dyn Peer>> {
        let db = redb::Database::create(dir.join("accounts.redb"))?;
        Ok(Box::new(Redb { db }))
    }
}

impl Peer for Redb {
    fn load(&mut self) -> Res<()> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(REDB_ACCOUNTS)?;
            let value = account_value(INITIAL_BALANCE);
            for id in 0..ACCOUNTS {
                table.insert(id, &value[..])?;
            }
        }
        txn.commit()?;
        Ok(())
    }

    fn transact(&mut self, transfers: &[Transfer]) -> Res<()> {
        let txn = self.db.begin_write()?;
        {
            let mut table = txn.open_table(REDB_ACCOUNTS)?;
            for t in transfers {
                let from = balance_of(table.get(t.from)?.expect("account exists").value());
                let to = balance_of(table.get(t.to)?.expect("account exists").value());
                if let Some((from, to)) = t.apply(from, to) {
                    table.insert(t.from, &account_value(from)[..])?;
                    table.insert(t.to, &account_value(to)[..])?;
                }
            }
        }
        txn.commit()?;
        Ok(())
    }
}

type LmdbKey = heed::types::U64<heed::byteorder::BigEndian>;

struct Lmdb {
    env: heed::Env,
    db: heed::Database<LmdbKey, heed::types::Bytes>,
}

impl Lmdb {
    fn open(dir: &Path) -> Res<Box<dyn Peer>> {
        // SAFETY: the directory is fresh and opened once by this process only.
        let env = unsafe {
            heed::EnvOpenOptions::new()
                .map_size(1 << 30)
                .max_dbs(1)
                .open(dir)?
        };
        let mut wtxn = env.write_txn()?;
        let db = env.create_database(&mut wtxn, Some("accounts"))?;
        wtxn.commit()?;
        Ok(Box::new(Lmdb { env, db }))
    }
}

impl Peer for Lmdb {
    fn load(&mut self) -> Res<()> {
        let mut wtxn = self.env.write_txn()?;
        let value = account_value(INITIAL_BALANCE);
        for id in 0..ACCOUNTS {
            self.db.put(&mut wtxn, &id, &value)?;
        }
        wtxn.commit()?;
        Ok(())
    }

    fn transact(&mut self, transfers: &[Transfer]) -> Res<()> {
        let mut wtxn = self.env.write_txn()?;
        for t in transfers {
            let from = balance_of(self.db.get(&wtxn, &t.from)?.expect("account exists"));
            let to = balance_of(self.db.get(&wtxn, &t.to)?.expect("account exists"));
            if let Some((from, to)) = t.apply(from, to) {
                self.db.put(&mut wtxn, &t.from, &account_value(from))?;
                self.db.put(&mut wtxn, &t.to, &account_value(to))?;
            }
        }
        wtxn.commit()?;
        Ok(())
    }
}

struct Sqlite {
    conn: rusqlite::Connection,
}

/// Pad bytes so a row (id, balance, pad) is about 100 bytes.
const SQLITE_PAD: usize = VALUE_LEN - 8;

impl Sqlite {
    fn open(dir: &Path) -> Res<Box<dyn Peer>> {
        let conn = rusqlite::Connection::open(dir.join("accounts.sqlite"))?;
        conn.pragma_update(None, "journal_mode", "WAL")?;
        conn.pragma_update(None, "synchronous", "FULL")?;
        conn.execute(
            "CREATE TABLE accounts (id INTEGER PRIMARY KEY, balance INTEGER NOT NULL, pad BLOB)",
            [],
        )?;
        Ok(Box::new(Sqlite { conn }))
    }
}

impl Peer for Sqlite {
    fn load(&mut self) -> Res<()> {
        let tx = self.conn.transaction()?;
        {
            let mut insert =
                tx.prepare("INSERT INTO accounts (id, balance, pad) VALUES (?1, ?2, ?3)")?;
            let pad = [0u8; SQLITE_PAD];
            for id in 0..ACCOUNTS {
                insert.execute(rusqlite::params![
                    id as i64,
                    INITIAL_BALANCE as i64,
                    &pad[..]
                ])?;
            }
        }
        tx.commit()?;
        Ok(())
    }

    fn transact(&mut self, transfers: &[Transfer]) -> Res<()> {
        let tx = self.conn.transaction()?;
        {
            let mut select = tx.prepare_cached("SELECT balance FROM accounts WHERE id = ?1")?;
            let mut update = tx.prepare_cached("UPDATE accounts SET balance = ?2 WHERE id = ?1")?;
            for t in transfers {
                let from: i64 = select.query_row([t.from as i64], |row| row.get(0))?;
                let to: i64 = select.query_row([t.to as i64], |row| row.get(0))?;
                if let Some((from, to)) = t.apply(from as u64, to as u64) {
                    update.execute([t.from as i64, from as i64])?;
                    update.execute([t.to as i64, to as i64])?;
                }
            }
        }
        tx.commit()?;
        Ok(())
    }
}

/// The outcome of one peer configuration.
struct PeerRun {
    name: &'static str,
    per_txn: usize,
    txns: u64,
    elapsed: Duration,
    latency: Percentiles,
}

impl PeerRun {
    fn txns_per_sec(&self) -> f64 {
        self.txns as f64 / self.elapsed.as_secs_f64()
    }

    fn transfers_per_sec(&self) -> f64 {
        self.txns_per_sec() * self.per_txn as f64
    }
}

type PeerOpen = fn(&Path) -> Res<Box<dyn Peer>>;

const PEERS: [(&str, PeerOpen); 3] = [
    ("redb", Redb::open),
    ("LMDB (heed)", Lmdb::open),
    ("SQLite (WAL)", Sqlite::open),
];

fn run_peer(
    name: &'static str,
    open: PeerOpen,
    per_txn: usize,
    duration: Duration,
) -> Res<PeerRun> {
    let dir = scratch_dir("peer-transfer-")?;
    let mut peer = open(dir.path())?;
    peer.load()?;
    let mut rng = Rng::new(0x9ee2 + per_txn as u64);
    let mut transfers = Vec::with_capacity(per_txn);
    let mut latencies = Vec::new();
    let start = Instant::now();
    let deadline = start + duration;
    while Instant::now() < deadline {
        transfers.clear();
        transfers.extend((0..per_txn).map(|_| Transfer::random(&mut rng)));
        let started = Instant::now();
        peer.transact(&transfers)?;
        latencies.push(started.elapsed());
    }
    let elapsed = start.elapsed();
    drop(peer);
    Ok(PeerRun {
        name,
        per_txn,
        txns: latencies.len() as u64,
        elapsed,
        latency: percentiles(&mut latencies),
    })
}

// ---------------------------------------------------------------------------------------
// Report
// ---------------------------------------------------------------------------------------

fn print_header(settings: &Settings) {
    let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
    println!("Darkstar storage: transfer benchmark");
    println!("====================================");
    println!("CPUs available:        {cpus}");
    println!(
        "Duration per config:   {:.1} s",
        settings.duration.as_secs_f64()
    );
    println!(
        "Workload:              {ACCOUNTS} accounts x {VALUE_LEN}-byte values, \
         transfer = read 2 + write 2, durable (synced) commit"
    );
    println!();
}

fn print_darkstar(runs: &[DarkstarRun]) {
    println!(
        "1. Darkstar store: one durable commit per transfer, {IN_FLIGHT_TOTAL} in flight in total"
    );
    println!(
        "   {:>7}  {:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>9}  {:>7}  {:>12}",
        "threads",
        "in flight/th",
        "commits/s",
        "CPU/commit",
        "p50",
        "p99",
        "conflicts",
        "syncs",
        "commits/sync"
    );
    for r in runs {
        println!(
            "   {:>7}  {:>12}  {:>12}  {:>10}  {:>10}  {:>10}  {:>9}  {:>7}  {:>12.1}",
            r.threads,
            IN_FLIGHT_TOTAL / r.threads,
            fmt_rate(r.per_sec()),
            format!("{:.1} µs", r.cpu_per_commit().as_secs_f64() * 1e6),
            fmt_latency(r.latency.p50),
            fmt_latency(r.latency.p99),
            r.conflicts,
            r.syncs,
            r.commits as f64 / r.syncs.max(1) as f64,
        );
    }
    println!("   (latency: start of the transfer until its commit is observed durable)");
    println!();
}

fn print_peers(runs: &[PeerRun]) {
    println!("2. Peers: single writer, durable commit per transaction");
    println!(
        "   {:<13}  {:>13}  {:>10}  {:>12}  {:>10}  {:>10}",
        "store", "transfers/txn", "txns/s", "transfers/s", "txn p50", "txn p99"
    );
    for r in runs {
        println!(
            "   {:<13}  {:>13}  {:>10}  {:>12}  {:>10}  {:>10}",
            r.name,
            r.per_txn,
            fmt_rate(r.txns_per_sec()),
            fmt_rate(r.transfers_per_sec()),
            fmt_latency(r.latency.p50),
            fmt_latency(r.latency.p99),
        );
    }
    println!();
}

/// The best peer run with `per_txn` transfers per transaction.
fn best_peer(runs: &[PeerRun], per_txn: usize) -> &PeerRun {
    runs.iter()
        .filter(|r| r.per_txn == per_txn)
        .max_by(|a, b| a.transfers_per_sec().total_cmp(&b.transfers_per_sec()))
        .expect("every peer ran")
}

/// One ratio line against its target; returns whether it was met.
fn print_ratio(label: &str, ours: f64, theirs: &PeerRun, target: f64) -> bool {
    let ratio = ours / theirs.transfers_per_sec();
    let pass = ratio >= target;
    println!(
        "   {label:<40} {ratio:>7.2}x   target >= {target:>2}x   {}   ({}, {} transfers/s)",
        if pass { "PASS" } else { "MISS" },
        theirs.name,
        fmt_rate(theirs.transfers_per_sec()),
    );
    pass
}

/// Prints both read runs; returns whether the run over every account met its target.
fn print_reads([all, hot]: &[ReadRun; 2]) -> bool {
    let pass = all.mean_ns < 100.0;
    println!("4. Zero-copy read: snapshot.object(id) of a {VALUE_LEN}-byte value, random ids");
    println!(
        "   {:>13}  {:>12}  {:>12}  {:>8}  {:>8}  {:>10}",
        "distinct ids", "reads", "mean ns/read", "p50 ns", "p99 ns", "target"
    );
    let row = |r: &ReadRun, target: &str| {
        println!(
            "   {:>13}  {:>12}  {:>12.1}  {:>8.1}  {:>8.1}  {:>10}",
            fmt_rate(r.key_space as f64),
            fmt_rate(r.reads as f64),
            r.mean_ns,
            r.p50_ns,
            r.p99_ns,
            target,
        )
    };
    row(all, if pass { "< 100: PASS" } else { "< 100: MISS" });
    row(hot, "(reference)");
    println!(
        "   (one open snapshot; p50/p99 over the averages of batches of {READ_BATCH} reads; \
         the second row reads only {HOT_KEYS} accounts, which stay in cache)"
    );
    println!();
    pass
}

fn main() -> Res<()> {
    let settings = Settings::from_args();
    print_header(&settings);

    let mut darkstar = Vec::new();
    for threads in [1, 2] {
        darkstar.push(run_darkstar(threads, settings.duration)?);
    }
    print_darkstar(&darkstar);

    let mut peers = Vec::new();
    for (name, open) in PEERS {
        for per_txn in [1, PEER_BATCH] {
            peers.push(run_peer(name, open, per_txn, settings.duration)?);
        }
    }
    print_peers(&peers);

    let best = darkstar
        .iter()
        .max_by(|a, b| a.per_sec().total_cmp(&b.per_sec()))
        .expect("darkstar ran");
    let (single, batched) = (best_peer(&peers, 1), best_peer(&peers, PEER_BATCH));
    println!(
        "3. Ratios: Darkstar best ({} thread(s), {} commits/s) over the best peer",
        best.threads,
        fmt_rate(best.per_sec())
    );
    let single_ok = print_ratio("vs best peer, 1 transfer/txn", best.per_sec(), single, 10.0);
    let batched_ok = print_ratio(
        "vs best peer batched, 100 transfers/txn",
        best.per_sec(),
        batched,
        2.0,
    );
    println!();

    let reads = run_reads(settings.reads)?;
    let reads_ok = print_reads(&reads);

    print_summary(
        best,
        single,
        batched,
        &reads,
        [single_ok, batched_ok, reads_ok],
    );
    Ok(())
}

fn print_summary(
    best: &DarkstarRun,
    single: &PeerRun,
    batched: &PeerRun,
    reads: &[ReadRun; 2],
    [single_ok, batched_ok, reads_ok]: [bool; 3],
) {
    let verdict = |ok: bool| if ok { "PASS" } else { "MISS" };
    let ours = best.per_sec();
    println!("Summary");
    println!("-------");
    println!(
        "Darkstar durable transfers/s:       {} ({} thread(s); p50 {}, p99 {})",
        fmt_rate(ours),
        best.threads,
        fmt_latency(best.latency.p50),
        fmt_latency(best.latency.p99)
    );
    println!(
        "Best peer, 1 transfer/txn:          {} transfers/s ({})",
        fmt_rate(single.transfers_per_sec()),
        single.name
    );
    println!(
        "Best peer, 100 transfers/txn:       {} transfers/s ({})",
        fmt_rate(batched.transfers_per_sec()),
        batched.name
    );
    println!(
        "Ratio vs 1 transfer/txn:            {:.2}x  (target >= 10x)  {}",
        ours / single.transfers_per_sec(),
        verdict(single_ok)
    );
    println!(
        "Ratio vs 100 transfers/txn:         {:.2}x  (target >= 2x)   {}",
        ours / batched.transfers_per_sec(),
        verdict(batched_ok)
    );
    println!(
        "Zero-copy read:                     {:.1} ns/read (target < 100 ns)  {}",
        reads[0].mean_ns,
        verdict(reads_ok)
    );
}
