//! Kill -9 at random moments, at the level of the server: a child process runs a server with
//! the bank, a periodic heartbeat and one-shot delayed tasks, under load, and is killed with
//! SIGKILL over and over. Between kills the parent opens the same store with a fresh server
//! and checks that
//!
//! - (a) no money was created or lost and no balance is negative;
//! - (b) every fact the killed child saw durably acknowledged is still there: heartbeat
//!   counts it read (and then made sure were durable), payments on its ledgers, one-shot
//!   tasks it planted;
//! - (c) the periodic heartbeat resumes after every restart;
//! - (d) every one-shot delayed task that was pending at a kill runs after the restart, and
//!   every one-shot task runs exactly once;
//! - `App::initialize` ran exactly once.
//!
//! The child is this same test binary, re-run with `--ignored --exact crash_server_child`
//! and the data directory in an environment variable. It writes one line to stdout per
//! acknowledged fact, only after the acknowledgment arrived.

use std::collections::BTreeMap;
use std::io::{BufRead, BufReader, Write};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::AtomicBool;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use darkstar_examples::bank::{self, Account, BankApp};
use darkstar_examples::load::{drive, LoadStats, Rng, Workload};
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

const ACCOUNTS: u32 = 1000;
const INITIAL_BALANCE: i64 = 1_000;
/// Client threads in the child that each pay through their own ledger, one payment at a time.
const LEDGERS: usize = 2;
const HEARTBEAT_MS: u64 = 20;
/// One-shot tasks are planted with a delay in this range (ms): most are still pending when
/// the child is killed.
const SHOT_DELAY_MS: (u64, u64) = (100, 1500);
const ROUNDS: u32 = 10;
const DIR_VAR: &str = "DARKSTAR_SERVER_CRASH_DIR";
const SEED_VAR: &str = "DARKSTAR_SERVER_CRASH_SEED";
/// A child that outlives this (its parent died without killing it) exits by itself. Longer
/// than the parent's waits for a child add up to.
const CHILD_LIFETIME: Duration = Duration::from_secs(300);
/// How long the parent waits for a child, or for a server of its own, to do something it
/// must: long, since it costs time only when the test fails, and a loaded machine may be
/// slow.
const PATIENCE: Duration = Duration::from_secs(60);

// ---------------------------------------------------------------------------------------
// The app: the bank, plus a heartbeat, ledgers and one-shot tasks.

/// Counts the runs of `initialize`, bound to `init`: it must stay 1.
#[managed(name = "crash.Init")]
#[derive(Debug)]
pub struct Init {
    pub runs: u64,
}

/// Heartbeat count, bound to `beats`.
#[managed(name = "crash.Beats")]
#[derive(Debug)]
pub struct Beats {
    pub count: u64,
}

/// The number of the last payment of one client, bound to `ledger.K`.
#[managed(name = "crash.Ledger")]
#[derive(Debug)]
pub struct Ledger {
    pub n: u64,
}

/// One one-shot task: `runs` counts how often it ran.
#[managed(name = "crash.Shot")]
#[derive(Debug)]
pub struct Shot {
    pub n: u64,
    pub runs: u64,
}

/// Every shot planted, in order (shot `n` at index `n - 1`), bound to `shots`.
#[managed(name = "crash.Shots")]
#[derive(Debug)]
pub struct Shots {
    pub list: Vec<Ref<Shot>>,
}

/// The periodic task.
#[task(name = "crash.heartbeat")]
pub fn heartbeat(ctx: &mut Context, beats: Ref<Beats>) -> TaskResult {
    ctx.get_mut(beats)?.count += 1;
    Ok(())
}

/// Reads nothing and writes nothing: its reply comes once every commit before it is
/// durable.
#[task(name = "crash.barrier")]
pub fn barrier(ctx: &Context) {
    let _ = ctx;
}

/// Payment `n` of a ledger's client: a transfer, and the ledger moves from `n - 1` to `n`.
#[task(name = "crash.pay")]
pub fn pay(
    ctx: &mut Context,
    ledger: Ref<Ledger>,
    from: Ref<Account>,
    to: Ref<Account>,
    amount: i64,
    n: u64,
) -> TaskResult {
    let mut l = ctx.get_mut(ledger)?;
    if l.n + 1 != n {
        return Err(TaskError::abort(format!(
            "payment {n} found its ledger at {}: a payment was lost or ran twice",
            l.n
        )));
    }
    l.n = n;
    drop(l);
    bank::transfer(ctx, from, to, amount)
}

/// Plants shot `n`: creates it and schedules its one run `delay_ms` later.
#[task(name = "crash.plant")]
pub fn plant(ctx: &mut Context, shots: Ref<Shots>, n: u64, delay_ms: u64) -> TaskResult {
    let mut s = ctx.get_mut(shots)?;
    if s.list.len() as u64 + 1 != n {
        return Err(TaskError::abort(format!(
            "planting shot {n} found {} shots: a plant was lost or ran twice",
            s.list.len()
        )));
    }
    let shot = ctx.create(Shot { n, runs: 0 })?;
    s.list.push(shot);
    ctx.schedule_after(Fire { shot }, Duration::from_millis(delay_ms))?;
    Ok(())
}

/// The one run of a shot.
#[task(name = "crash.fire")]
pub fn fire(ctx: &mut Context, shot: Ref<Shot>) -> TaskResult {
    ctx.get_mut(shot)?.runs += 1;
    Ok(())
}

struct CrashApp;

impl CrashApp {
    fn bank() -> BankApp {
        BankApp {
            accounts: ACCOUNTS,
            initial_balance: INITIAL_BALANCE,
        }
    }
}

impl App for CrashApp {
    fn register(&self, types: &mut Types) {
        CrashApp::bank().register(types);
        types
            .object::<Init>()
            .object::<Beats>()
            .object::<Ledger>()
            .object::<Shot>()
            .object::<Shots>()
            .task::<Heartbeat>()
            .task::<Barrier>()
            .task::<Pay>()
            .task::<Plant>()
            .task::<Fire>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        // Counts instead of setting: a second run would show as 2.
        match ctx.try_lookup::<Init>("init")? {
            Some(init) => ctx.get_mut(init)?.runs += 1,
            None => {
                let init = ctx.create(Init { runs: 1 })?;
                ctx.bind("init", init)?;
            }
        }
        CrashApp::bank().initialize(ctx)?;
        for k in 0..LEDGERS {
            let ledger = ctx.create(Ledger { n: 0 })?;
            ctx.bind(&format!("ledger.{k}"), ledger)?;
        }
        let shots = ctx.create(Shots { list: Vec::new() })?;
        ctx.bind("shots", shots)?;
        let beats = ctx.create(Beats { count: 0 })?;
        ctx.bind("beats", beats)?;
        let period = Duration::from_millis(HEARTBEAT_MS);
        ctx.schedule_periodic(Heartbeat { beats }, period, period)?;
        Ok(())
    }
}

fn config(dir: &Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        cores: 2,
        // Small segments, so that segment rolls and compaction happen between kills.
        segment_size_mib: 1,
        ..Config::default()
    }
}

fn beats(ctx: &Context<'_>) -> Result<u64, TaskError> {
    Ok(ctx.get(ctx.lookup::<Beats>("beats")?)?.count())
}

fn ledger(ctx: &Context<'_>, k: usize) -> Result<Ref<Ledger>, TaskError> {
    ctx.lookup::<Ledger>(&format!("ledger.{k}"))
}

fn shots(ctx: &Context<'_>) -> Result<Vec<Ref<Shot>>, TaskError> {
    let shots = ctx.get(ctx.lookup::<Shots>("shots")?)?;
    Ok(shots.list.iter().map(|s| s.get()).collect())
}

// ---------------------------------------------------------------------------------------
// The child.

/// Writes one line for the parent; exits if the parent is gone.
fn out(line: std::fmt::Arguments<'_>) {
    let mut o = std::io::stdout().lock();
    if writeln!(o, "@@ {line}").and_then(|()| o.flush()).is_err() {
        std::process::exit(0);
    }
}

#[test]
#[ignore = "the server child process of `kill_9_loses_no_acknowledged_task_and_timers_resume`"]
fn crash_server_child() {
    let Ok(dir) = std::env::var(DIR_VAR) else {
        return;
    };
    let born = Instant::now();
    let server = Arc::new(
        Server::builder(CrashApp)
            .config(config(Path::new(&dir)))
            .start()
            .unwrap_or_else(|e| panic!("the server did not start: {e}")),
    );
    let (start_beats, start_ledgers, start_shots, accounts) = server
        .query(|ctx| {
            let ledgers = (0..LEDGERS)
                .map(|k| Ok(ctx.get(ledger(ctx, k)?)?.n()))
                .collect::<Result<Vec<u64>, TaskError>>()?;
            Ok((
                beats(ctx)?,
                ledgers,
                shots(ctx)?.len() as u64,
                bank::accounts(ctx)?,
            ))
        })
        .unwrap();
    // What a fresh start sees is what recovery found on disk: durable.
    out(format_args!(
        "READY {start_beats} {} {start_shots}",
        start_ledgers
            .iter()
            .map(u64::to_string)
            .collect::<Vec<_>>()
            .join(" ")
    ));
    let seed = u64::from(std::process::id());
    let accounts = Arc::new(accounts);

    // Heartbeat observer: reads the count, then waits for a barrier submitted after the
    // read, so that the count read is durable before it is reported.
    {
        let server = server.clone();
        std::thread::spawn(move || loop {
            let v = server.query(beats).unwrap();
            match server.submit(Barrier {}).wait() {
                Ok(()) => out(format_args!("BEAT {v}")),
                Err(e) => out(format_args!("FAIL barrier after reading {v} beats: {e}")),
            }
            std::thread::sleep(Duration::from_millis(5));
        });
    }
    // Ledger clients: one payment at a time, each reported once acknowledged.
    for (k, &start) in start_ledgers.iter().enumerate() {
        let (server, accounts) = (server.clone(), accounts.clone());
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed * 31 + k as u64);
            let ledger = server.query(|ctx| ledger(ctx, k)).unwrap();
            for n in start + 1.. {
                let from = rng.below(u64::from(ACCOUNTS)) as usize;
                let to = rng.below(u64::from(ACCOUNTS)) as usize;
                let task = Pay {
                    ledger,
                    from: accounts[from],
                    to: accounts[to],
                    amount: 1 + rng.below(50) as i64,
                    n,
                };
                match server.submit(task).wait() {
                    Ok(()) => out(format_args!("ACK {k} {n}")),
                    Err(e) => {
                        out(format_args!("FAIL payment {n} of ledger {k}: {e}"));
                        return;
                    }
                }
            }
        });
    }
    // Planter: one shot at a time, each reported once acknowledged.
    {
        let server = server.clone();
        std::thread::spawn(move || {
            let mut rng = Rng::new(seed * 17 + 5);
            let list = server.query(|ctx| ctx.lookup::<Shots>("shots")).unwrap();
            for n in start_shots + 1.. {
                let delay_ms = SHOT_DELAY_MS.0 + rng.below(SHOT_DELAY_MS.1 - SHOT_DELAY_MS.0);
                match server
                    .submit(Plant {
                        shots: list,
                        n,
                        delay_ms,
                    })
                    .wait()
                {
                    Ok(()) => out(format_args!("PLANT {n}")),
                    Err(e) => {
                        out(format_args!("FAIL planting shot {n}: {e}"));
                        return;
                    }
                }
                std::thread::sleep(Duration::from_millis(15));
            }
        });
    }
    // Background load: the bank's transfers, many in flight.
    let stats = Arc::new(LoadStats::default());
    {
        let (server, accounts, stats) = (server.clone(), accounts.clone(), stats.clone());
        std::thread::spawn(move || {
            let workload = Workload {
                in_flight: 32,
                seed,
                ..Workload::default()
            };
            drive(
                &server,
                &accounts,
                &workload,
                &stats,
                &AtomicBool::new(false),
            );
        });
    }
    while born.elapsed() < CHILD_LIFETIME {
        std::thread::sleep(Duration::from_millis(50));
        let s = &stats;
        out(format_args!(
            "LOAD {} {}",
            s.committed.load(std::sync::atomic::Ordering::Relaxed),
            s.failed.load(std::sync::atomic::Ordering::Relaxed)
        ));
    }
    std::process::exit(3);
}

// ---------------------------------------------------------------------------------------
// The parent.

/// What the parent read from one child's stdout.
#[derive(Debug, Default)]
struct Seen {
    /// `READY`: beats, ledgers and shots as the child found them at its start.
    ready: Option<(u64, Vec<u64>, u64)>,
    /// Largest heartbeat count reported durable.
    beats: Option<u64>,
    /// Largest acknowledged payment per ledger.
    ledgers: Vec<u64>,
    /// Acknowledged plants.
    planted: Vec<u64>,
    /// Transfers of the background load committed, and failed.
    load: (u64, u64),
    fails: Vec<String>,
    eof: bool,
}

/// A running child and what it said so far.
struct Running {
    child: Child,
    seen: Arc<Mutex<Seen>>,
    reader: Option<std::thread::JoinHandle<()>>,
    stderr: PathBuf,
}

impl Drop for Running {
    /// A failing check must not leave the child running.
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

fn spawn_child(exe: &Path, dir: &Path, stderr: PathBuf) -> Running {
    let mut child = Command::new(exe)
        .args([
            "--ignored",
            "--exact",
            "crash_server_child",
            "--nocapture",
            "--test-threads=1",
        ])
        .env(DIR_VAR, dir)
        .stdout(Stdio::piped())
        .stderr(std::fs::File::create(&stderr).unwrap())
        .spawn()
        .unwrap();
    let stdout = child.stdout.take().unwrap();
    let seen = Arc::new(Mutex::new(Seen {
        ledgers: vec![0; LEDGERS],
        ..Seen::default()
    }));
    let s = seen.clone();
    let reader = std::thread::spawn(move || {
        for line in BufReader::new(stdout).lines() {
            let Ok(line) = line else { break };
            // The test harness prints "test NAME ... " in front of the first line.
            let Some(at) = line.find("@@ ") else { continue };
            let mut words = line[at + 3..].split(' ');
            let kind = words.next().unwrap_or_default();
            let rest: Vec<&str> = words.collect();
            let num = |i: usize| rest[i].parse::<u64>().unwrap();
            let mut s = s.lock().unwrap();
            match kind {
                "READY" => {
                    let ledgers = (0..LEDGERS).map(|k| num(1 + k)).collect();
                    s.ready = Some((num(0), ledgers, num(1 + LEDGERS)));
                }
                "BEAT" => s.beats = Some(s.beats.unwrap_or(0).max(num(0))),
                "ACK" => {
                    let k = num(0) as usize;
                    s.ledgers[k] = s.ledgers[k].max(num(1));
                }
                "PLANT" => s.planted.push(num(0)),
                "LOAD" => s.load = (num(0), num(1)),
                "FAIL" => s.fails.push(rest.join(" ")),
                _ => s
                    .fails
                    .push(format!("unexpected line from the child: {line}")),
            }
        }
        s.lock().unwrap().eof = true;
    });
    Running {
        child,
        seen,
        reader: Some(reader),
        stderr,
    }
}

fn tail(path: &Path) -> String {
    let text = std::fs::read_to_string(path).unwrap_or_default();
    let start = text.len().saturating_sub(3000);
    let start = (start..text.len())
        .find(|&i| text.is_char_boundary(i))
        .unwrap_or(text.len());
    text[start..].to_owned()
}

impl Running {
    /// Waits until `done` holds for what the child said, failing with `what` after `limit`
    /// or if the child died.
    fn wait_for(&mut self, limit: Duration, what: &str, done: impl Fn(&Seen) -> bool) {
        let deadline = Instant::now() + limit;
        loop {
            {
                let s = self.seen.lock().unwrap();
                if done(&s) {
                    return;
                }
                assert!(
                    s.fails.is_empty(),
                    "the child reported failures while {what}: {:?}",
                    s.fails
                );
            }
            if let Some(status) = self.child.try_wait().unwrap() {
                panic!(
                    "the child exited by itself ({status}) while {what}; its stderr ends with:\n{}",
                    tail(&self.stderr)
                );
            }
            assert!(
                Instant::now() < deadline,
                "timed out after {limit:?}: {what}; the child's stderr ends with:\n{}",
                tail(&self.stderr)
            );
            std::thread::sleep(Duration::from_millis(2));
        }
    }

    /// SIGKILL, and everything the child said.
    fn kill(mut self) -> Seen {
        if let Some(status) = self.child.try_wait().unwrap() {
            panic!(
                "the child exited by itself ({status}) before it was killed; its stderr ends with:\n{}",
                tail(&self.stderr)
            );
        }
        self.child.kill().unwrap(); // SIGKILL
        self.child.wait().unwrap();
        self.reader.take().unwrap().join().unwrap();
        let seen = std::mem::take(&mut *self.seen.lock().unwrap());
        assert!(seen.eof, "the child's stdout ended");
        seen
    }
}

/// The state of the store as a fresh server sees it right after starting.
#[derive(Debug)]
struct Facts {
    init_runs: u64,
    accounts: Vec<u64>,
    audit: bank::Audit,
    beats: u64,
    ledgers: Vec<u64>,
    /// `(n, runs)` of every shot, in order.
    shots: Vec<(u64, u64)>,
}

fn facts(server: &Server) -> Facts {
    server
        .query(|ctx| {
            let ledgers = (0..LEDGERS)
                .map(|k| Ok(ctx.get(ledger(ctx, k)?)?.n()))
                .collect::<Result<Vec<u64>, TaskError>>()?;
            let shots = shots(ctx)?
                .into_iter()
                .map(|s| {
                    let s = ctx.get(s)?;
                    Ok((s.n(), s.runs()))
                })
                .collect::<Result<Vec<_>, TaskError>>()?;
            Ok(Facts {
                init_runs: ctx.get(ctx.lookup::<Init>("init")?)?.runs(),
                accounts: bank::accounts(ctx)?.iter().map(|a| a.id()).collect(),
                audit: bank::audit(ctx)?,
                beats: beats(ctx)?,
                ledgers,
                shots,
            })
        })
        .unwrap_or_else(|e| panic!("the store lacks what initialize created: {e}"))
}

/// Starts a server on `dir` in the parent, runs `f` with it and shuts it down, failing if
/// any of it takes longer than `limit` (a hang on restart).
fn with_server<R: Send + 'static>(
    dir: &Path,
    limit: Duration,
    what: &str,
    f: impl FnOnce(&Server) -> R + Send + 'static,
) -> R {
    let (tx, rx) = std::sync::mpsc::channel();
    let config = config(dir);
    std::thread::spawn(move || {
        let server = Server::builder(CrashApp)
            .config(config)
            .start()
            .unwrap_or_else(|e| panic!("the server did not start: {e}"));
        let r = f(&server);
        server.shutdown().expect("a clean shutdown");
        let _ = tx.send(r);
    });
    match rx.recv_timeout(limit) {
        Ok(r) => r,
        Err(std::sync::mpsc::RecvTimeoutError::Timeout) => {
            panic!("{what}: the server in the parent did not start, answer and stop within {limit:?} (a hang on restart?)")
        }
        Err(_) => panic!("{what}: the server in the parent failed (see the panic above)"),
    }
}

#[test]
fn kill_9_loses_no_acknowledged_task_and_timers_resume() {
    let dir = tempfile::tempdir().unwrap();
    let logs = tempfile::tempdir().unwrap();
    let exe = std::env::current_exe().unwrap();
    let seed = std::env::var(SEED_VAR)
        .ok()
        .and_then(|s| s.parse().ok())
        .unwrap_or_else(|| {
            std::time::SystemTime::now()
                .duration_since(std::time::UNIX_EPOCH)
                .unwrap()
                .as_nanos() as u64
        });
    eprintln!("seed {seed} (set {SEED_VAR} to repeat the kill schedule)");
    let mut rng = Rng::new(seed);
    let started = Instant::now();

    // Everything acknowledged so far, over all children.
    let mut acked_beats = 0u64;
    let mut acked_ledgers = vec![0u64; LEDGERS];
    // Shot n -> the kill after which its plant was acknowledged.
    let mut planted: BTreeMap<u64, u32> = BTreeMap::new();
    let mut accounts: Option<Vec<u64>> = None;
    let mut verified_beats = 0u64;
    let mut pending_at_kills = 0usize;
    let mut early_kills = 0;
    let mut load = 0u64;

    let mut kill = 0u32;
    loop {
        // Ten rounds, or at least five within 30 s; on a slow machine more, up to a limit,
        // until they exercised what the checks at the end need.
        let more = kill < ROUNDS && (kill < 5 || started.elapsed() < Duration::from_secs(30));
        let exercised = pending_at_kills > 0
            && acked_beats > 0
            && acked_ledgers.iter().all(|&n| n > 0)
            && !planted.is_empty();
        if !more && (exercised || kill >= 3 * ROUNDS) {
            break;
        }
        kill += 1;
        let mut child = spawn_child(
            &exe,
            dir.path(),
            logs.path().join(format!("child-{kill}.stderr")),
        );
        // Now and then, kill during start-up: in recovery, or before any work.
        let early = kill > 1 && rng.below(4) == 0;
        let (start, seen) = if early {
            std::thread::sleep(Duration::from_millis(rng.below(150)));
            early_kills += 1;
            (None, child.kill())
        } else {
            child.wait_for(PATIENCE, "waiting for the server to start", |s| {
                s.ready.is_some()
            });
            let start = child.seen.lock().unwrap().ready.clone().unwrap();
            // (c) The heartbeat resumes: the child sees the count pass what it started with.
            child.wait_for(
                PATIENCE,
                &format!(
                    "waiting for the periodic heartbeat to resume after restart {kill} (it stays at {})",
                    start.0
                ),
                |s| s.beats.is_some_and(|b| b > start.0),
            );
            std::thread::sleep(Duration::from_millis(100 + rng.below(500)));
            (Some(start), child.kill())
        };
        assert!(
            seen.fails.is_empty(),
            "child {kill} reported failed tasks: {:?}",
            seen.fails
        );
        if let Some((beats, ledgers, shots)) = &start {
            assert!(
                *beats >= verified_beats,
                "child {kill} started with {beats} heartbeats, fewer than the {verified_beats} the store held before it"
            );
            for k in 0..LEDGERS {
                assert!(
                    ledgers[k] >= acked_ledgers[k],
                    "child {kill} started with ledger {k} at payment {}, but payment {} had been acknowledged",
                    ledgers[k],
                    acked_ledgers[k]
                );
            }
            assert!(
                *shots >= planted.len() as u64,
                "child {kill} started with {shots} shots, but {} had been acknowledged",
                planted.len()
            );
        }
        acked_beats = acked_beats.max(seen.beats.unwrap_or(0));
        for (acked, &n) in acked_ledgers.iter_mut().zip(&seen.ledgers) {
            *acked = (*acked).max(n);
        }
        for &n in &seen.planted {
            assert!(
                planted.insert(n, kill).is_none(),
                "shot {n} was acknowledged as planted twice (again by child {kill})"
            );
        }
        load += seen.load.0;

        // Look at the store through a fresh server, in this process.
        let f = with_server(
            dir.path(),
            PATIENCE,
            &format!("checking after kill {kill}"),
            facts,
        );
        // Initialize ran once.
        assert_eq!(
            f.init_runs, 1,
            "after kill {kill}: App::initialize ran {} times",
            f.init_runs
        );
        assert_eq!(
            f.accounts.len(),
            ACCOUNTS as usize,
            "after kill {kill}: the bank has {} accounts",
            f.accounts.len()
        );
        match &accounts {
            None => accounts = Some(f.accounts.clone()),
            Some(a) => assert!(
                *a == f.accounts,
                "after kill {kill}: the bank's accounts were replaced (initialize ran again?)"
            ),
        }
        // (a) Money.
        assert_eq!(
            f.audit.expected,
            i128::from(ACCOUNTS) * i128::from(INITIAL_BALANCE),
            "after kill {kill}: the bank's initial balance changed"
        );
        assert_eq!(
            f.audit.total, f.audit.expected,
            "after kill {kill}: money was created or lost ({:+}): a transfer was torn or half-applied",
            f.audit.total - f.audit.expected
        );
        assert_eq!(
            f.audit.negative, 0,
            "after kill {kill}: {} accounts are overdrawn",
            f.audit.negative
        );
        // (b) Everything acknowledged survived.
        assert!(
            f.beats >= acked_beats,
            "after kill {kill}: heartbeat count {acked_beats} was reported durable, but only {} survived: acknowledged heartbeat commits were lost",
            f.beats
        );
        for (k, (&stored, &acked)) in f.ledgers.iter().zip(&acked_ledgers).enumerate() {
            assert!(
                stored >= acked,
                "after kill {kill}: payment {acked} of ledger {k} was acknowledged, but the ledger is at {stored}: acknowledged payments were lost"
            );
        }
        let lost: Vec<u64> = planted
            .keys()
            .copied()
            .filter(|&n| n > f.shots.len() as u64)
            .collect();
        assert!(
            lost.is_empty(),
            "after kill {kill}: shots {lost:?} were acknowledged as planted but are gone (the store has {} shots): acknowledged plants were lost",
            f.shots.len()
        );
        for (i, &(n, runs)) in f.shots.iter().enumerate() {
            assert_eq!(
                n,
                i as u64 + 1,
                "after kill {kill}: shot {n} is at index {i}"
            );
            assert!(
                runs <= 1,
                "after kill {kill}: one-shot task of shot {n} ran {runs} times"
            );
        }
        let pending = f.shots.iter().filter(|s| s.1 == 0).count();
        pending_at_kills += pending;
        verified_beats = f.beats;
        // Shown with the failure if a later check fails.
        eprintln!(
            "kill {kill}{}: beats {} (acked {acked_beats}), ledgers {:?} (acked {acked_ledgers:?}), shots {} ({pending} pending, {} acked), {} load transfers",
            if early { " (early)" } else { "" },
            f.beats,
            f.ledgers,
            f.shots.len(),
            planted.len(),
            seen.load.0,
        );
    }

    // Last restart: every shot ever planted runs, exactly once, and the heartbeat goes on
    // at its period, not faster (it is scheduled once).
    let (last, rate) = with_server(dir.path(), 3 * PATIENCE, "the final check", |server| {
        let deadline = Instant::now() + Duration::from_millis(SHOT_DELAY_MS.1) + PATIENCE;
        let mut f = facts(server);
        while f.shots.iter().any(|s| s.1 == 0) && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
            f = facts(server);
        }
        // Past the catch-up run a restart may add, then on the period's grid.
        std::thread::sleep(Duration::from_millis(100));
        let t0 = Instant::now();
        let b0 = server.query(beats).unwrap();
        std::thread::sleep(Duration::from_millis(1000));
        // At least one beat, however slow the machine: the bound below grows with the
        // time taken.
        let deadline = Instant::now() + PATIENCE;
        let mut b1 = server.query(beats).unwrap();
        while b1 == b0 && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(5));
            b1 = server.query(beats).unwrap();
        }
        (f, (b1 - b0, t0.elapsed()))
    });
    let never: Vec<String> = last
        .shots
        .iter()
        .filter(|s| s.1 == 0)
        .map(|s| match planted.get(&s.0) {
            Some(k) => format!("shot {} (acknowledged before kill {k})", s.0),
            None => format!("shot {} (committed, not acknowledged)", s.0),
        })
        .collect();
    assert!(
        never.is_empty(),
        "one-shot delayed tasks never ran after the restarts: {never:?}"
    );
    let twice: Vec<(u64, u64)> = last.shots.iter().copied().filter(|s| s.1 != 1).collect();
    assert!(
        twice.is_empty(),
        "one-shot delayed tasks ran more than once, as (shot, runs): {twice:?}"
    );
    assert_eq!(
        last.audit.total, last.audit.expected,
        "money was created or lost"
    );
    assert_eq!(last.init_runs, 1, "App::initialize ran more than once");
    let (ran, over) = rate;
    // A run may start before the window and commit in it (a stalled core), the next may be
    // a catch-up, and each later one comes on its own grid point of the period.
    let most = over.as_millis() as u64 / HEARTBEAT_MS + 3;
    assert!(
        (1..=most).contains(&ran),
        "the heartbeat ran {ran} times in {over:?} at a {HEARTBEAT_MS} ms period (at most {most}): it is not running once per period"
    );

    eprintln!(
        "{kill} kills ({early_kills} during start-up) in {:?}; {} shots, {pending_at_kills} pending at kills, all ran once; {load} load transfers",
        started.elapsed(),
        last.shots.len()
    );
    assert!(
        pending_at_kills > 0,
        "no one-shot task was pending at any kill: the test did not exercise delayed tasks across restarts"
    );
    assert!(
        acked_beats > 0 && acked_ledgers.iter().all(|&n| n > 0) && !planted.is_empty(),
        "the children made no acknowledged progress"
    );
}
