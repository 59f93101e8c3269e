//! What a collection spread over many objects buys over one object holding a whole map.
//!
//! `cargo bench -p darkstar-examples --bench collections [-- --max N --ops N]`
//! (or `COLLECTIONS_MAX=100000` for a quick run)
//!
//! For 1,000, 100,000 and 10,000,000 entries (up to `--max`), loads a `ManagedMap<u64, u64>`
//! and, up to 100,000 entries, a `HashMap<u64, u64>` field of one managed object, then
//! measures single-key insert and lookup tasks on them: wall time and process CPU time per
//! operation, and the conflicts the inserts ran into. Then it runs random inserts from both
//! cores with hot-object placement off, so both cores keep running them, and counts the
//! conflicts. Every run starts from a fresh store; commits are durable (fsync) before they
//! are acknowledged.

use std::collections::HashMap;
use std::sync::mpsc;
use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_examples::load::Rng;
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

/// The single-object baseline: every insert rewrites the whole map.
#[managed(name = "bench.Big")]
pub struct Big {
    pub entries: HashMap<u64, u64>,
}

/// A marker placed on one core: a task naming it first runs there.
#[managed(name = "bench.Lane")]
pub struct Lane {
    pub core: u32,
}

#[task(name = "bench.setup")]
fn setup(ctx: &mut Context) -> TaskResult {
    ManagedMap::<u64, u64>::create(ctx)?.bind(ctx, "map")?;
    let big = ctx.create(Big {
        entries: HashMap::new(),
    })?;
    ctx.bind("big", big)?;
    for core in 0..2 {
        let lane = ctx.create(Lane { core })?;
        ctx.bind(&format!("lane.{core}"), lane)?;
    }
    Ok(())
}

/// Inserts the keys `first * stride`, `(first + 1) * stride`, ... in order.
#[task(name = "bench.map_load")]
fn map_load(
    ctx: &mut Context,
    lane: Ref<Lane>,
    map: ManagedMap<u64, u64>,
    first: u64,
    count: u64,
    stride: u64,
) -> TaskResult {
    let _ = lane;
    for i in first..first + count {
        map.insert(ctx, i * stride, i)?;
    }
    Ok(())
}

#[task(name = "bench.map_insert")]
fn map_insert(
    ctx: &mut Context,
    lane: Ref<Lane>,
    map: ManagedMap<u64, u64>,
    key: u64,
) -> TaskResult {
    let _ = lane;
    map.insert(ctx, key, key)?;
    Ok(())
}

#[task(name = "bench.map_get")]
fn map_get(ctx: &mut Context, lane: Ref<Lane>, map: ManagedMap<u64, u64>, key: u64) -> TaskResult {
    let _ = lane;
    match map.get(ctx, &key)? {
        Some(_) => Ok(()),
        None => Err(TaskError::abort(format!("key {key} is missing"))),
    }
}

#[task(name = "bench.big_load")]
fn big_load(
    ctx: &mut Context,
    lane: Ref<Lane>,
    big: Ref<Big>,
    first: u64,
    count: u64,
    stride: u64,
) -> TaskResult {
    let _ = lane;
    let mut b = ctx.get_mut(big)?;
    for i in first..first + count {
        b.entries.insert(i * stride, i);
    }
    Ok(())
}

#[task(name = "bench.big_insert")]
fn big_insert(ctx: &mut Context, lane: Ref<Lane>, big: Ref<Big>, key: u64) -> TaskResult {
    let _ = lane;
    ctx.get_mut(big)?.entries.insert(key, key);
    Ok(())
}

#[task(name = "bench.big_get")]
fn big_get(ctx: &mut Context, lane: Ref<Lane>, big: Ref<Big>, key: u64) -> TaskResult {
    let _ = lane;
    let b = ctx.get(big)?;
    match b
        .entries
        .get(&darkstar_sdk::rkyv::Archived::<u64>::from_native(key))
    {
        Some(_) => Ok(()),
        None => Err(TaskError::abort(format!("key {key} is missing"))),
    }
}

struct Bench;

impl App for Bench {
    fn register(&self, types: &mut Types) {
        types
            .object::<Big>()
            .object::<Lane>()
            .task::<Setup>()
            .task::<MapLoad>()
            .task::<MapInsert>()
            .task::<MapGet>()
            .task::<BigLoad>()
            .task::<BigInsert>()
            .task::<BigGet>();
    }
}

/// The benchmark's options.
#[derive(Parser)]
#[command(about = "ManagedMap against one managed object holding a HashMap")]
struct Args {
    /// The largest size measured: 1,000, 100,000 and 10,000,000 entries up to this.
    #[arg(long, env = "COLLECTIONS_MAX", default_value_t = 10_000_000)]
    max: u64,
    /// Single-key operations measured per size on a `ManagedMap`.
    #[arg(long, default_value_t = 20_000)]
    ops: u64,
    /// Tasks kept in flight while measuring.
    #[arg(long, default_value_t = 256)]
    in_flight: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Keys loaded per task.
const LOAD_CHUNK: u64 = 1000;
/// The largest single-object map measured; see `main` for why.
const BIG_MAX: u64 = 100_000;

/// The process's CPU time so far (user and system, every thread).
fn cpu_time() -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given, which is zeroed plain data.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// What a run of tasks cost.
struct Cost {
    ops: u64,
    wall: Duration,
    cpu: Duration,
    conflicts: u64,
}

impl Cost {
    fn per_op(&self, d: Duration) -> String {
        let ns = d.as_nanos() as f64 / self.ops as f64;
        if ns >= 1e6 {
            format!("{:.2} ms", ns / 1e6)
        } else {
            format!("{:.1} µs", ns / 1e3)
        }
    }

    fn retries(&self) -> f64 {
        self.conflicts as f64 / self.ops as f64
    }
}

/// A fresh server with the benchmark's objects, its lanes placed one per core.
struct Run {
    server: Server,
    _dir: tempfile::TempDir,
    map: ManagedMap<u64, u64>,
    big: Ref<Big>,
    lanes: [Ref<Lane>; 2],
}

impl Run {
    fn start() -> Run {
        let dir = tempfile::tempdir().expect("temporary directory");
        let config = Config {
            data_dir: dir.path().to_owned(),
            cores: 2,
            // Loading a hundred thousand entries into one object takes a while per task.
            task_time_limit_ms: 60_000,
            ..Config::default()
        };
        let server = Server::builder(Bench)
            .config(config)
            .start()
            .expect("server starts");
        server.submit(Setup {}).wait().expect("setup");
        let (map, big, lanes) = server
            .query(|ctx| {
                let lanes = [ctx.lookup::<Lane>("lane.0")?, ctx.lookup::<Lane>("lane.1")?];
                Ok((
                    ManagedMap::lookup(ctx, "map")?,
                    ctx.lookup::<Big>("big")?,
                    lanes,
                ))
            })
            .expect("the benchmark's objects");
        let placement = server.placement();
        for (core, lane) in lanes.iter().enumerate() {
            placement.assign(placement.slot_of(lane.id()), core);
        }
        Run {
            server,
            _dir: dir,
            map,
            big,
            lanes,
        }
    }

    /// Runs the tasks `make(i)` for `i` in `0..n`, `in_flight` at a time, and measures them.
    fn measure<T: Task>(&self, n: u64, in_flight: usize, make: impl Fn(u64) -> T) -> Cost {
        let before = self.server.stats();
        let (cpu0, t0) = (cpu_time(), Instant::now());
        let (tx, rx) = mpsc::channel::<Result<(), TaskError>>();
        let mut pending = 0;
        for i in 0..n {
            if pending == in_flight {
                rx.recv().expect("a reply").expect("the task commits");
                pending -= 1;
            }
            let tx = tx.clone();
            self.server
                .submit_with(make(i), move |r| tx.send(r).expect("the bench waits"));
            pending += 1;
        }
        for _ in 0..pending {
            rx.recv().expect("a reply").expect("the task commits");
        }
        let after = self.server.stats();
        Cost {
            ops: n,
            wall: t0.elapsed(),
            cpu: cpu_time() - cpu0,
            conflicts: after.conflicts - before.conflicts,
        }
    }

    fn lane(&self, i: u64) -> Ref<Lane> {
        self.lanes[(i % 2) as usize]
    }
}

/// Keys spread evenly over the whole `u64` range, so random keys land anywhere among them.
fn stride(entries: u64) -> u64 {
    u64::MAX / entries
}

/// Loads `entries` keys into the map, a thousand per task, all on core 0 (in key order,
/// every task appends to the last leaf: from two cores they would conflict all along).
fn load_map(run: &Run, entries: u64) -> Duration {
    let t = Instant::now();
    let (map, lane, stride) = (run.map, run.lanes[0], stride(entries));
    run.measure(entries.div_ceil(LOAD_CHUNK), 8, |i| MapLoad {
        lane,
        map,
        first: i * LOAD_CHUNK,
        count: LOAD_CHUNK.min(entries - i * LOAD_CHUNK),
        stride,
    });
    t.elapsed()
}

fn load_big(run: &Run, entries: u64) -> Duration {
    let t = Instant::now();
    let (big, lane, stride) = (run.big, run.lanes[0], stride(entries));
    run.measure(entries.div_ceil(LOAD_CHUNK), 2, |i| BigLoad {
        lane,
        big,
        first: i * LOAD_CHUNK,
        count: LOAD_CHUNK.min(entries - i * LOAD_CHUNK),
        stride,
    });
    t.elapsed()
}

fn seconds(d: Duration) -> String {
    format!("{:.2} s", d.as_secs_f64())
}

fn row(structure: &str, entries: u64, load: Duration, op: &str, cost: &Cost) {
    println!(
        "{:<22} {:>11} {:>9} {:<7} {:>7} {:>10} {:>10} {:>10.3}",
        structure,
        entries,
        seconds(load),
        op,
        cost.ops,
        cost.per_op(cost.wall),
        cost.per_op(cost.cpu),
        cost.retries()
    );
}

fn main() {
    let args = Args::parse();
    let sizes: Vec<u64> = [1_000, 100_000, 10_000_000]
        .into_iter()
        .filter(|&n| n <= args.max)
        .collect();
    println!(
        "collections: ManagedMap<u64, u64> against a HashMap<u64, u64> field of one managed object"
    );
    println!(
        "2 cores, durable (fsync) before acknowledged, {} tasks in flight; each operation is one task \
         (ManagedMap tasks alternate between the cores, single-object inserts run on one); \
         entries = loaded before measuring, then up to as many random new keys are inserted; \
         wall and process CPU time per operation; retries/op = conflicts per committed task",
        args.in_flight
    );
    println!();
    println!(
        "{:<22} {:>11} {:>9} {:<7} {:>7} {:>10} {:>10} {:>10}",
        "structure", "entries", "load", "op", "ops", "wall/op", "CPU/op", "retries/op"
    );
    let mut big_inserts = Vec::new();
    let mut rng = Rng::new(7);
    for &entries in &sizes {
        let run = Run::start();
        let load = load_map(&run, entries);
        let (map, s) = (run.map, stride(entries));
        // At most as many inserts as entries, so the map stays near its size.
        let inserts = args.ops.min(entries);
        let keys: Vec<u64> = (0..inserts).map(|_| rng.next_u64()).collect();
        let insert = run.measure(inserts, args.in_flight, |i| MapInsert {
            lane: run.lane(i),
            map,
            key: keys[i as usize],
        });
        row("ManagedMap", entries, load, "insert", &insert);
        let lookups: Vec<u64> = (0..args.ops).map(|_| rng.below(entries) * s).collect();
        let get = run.measure(args.ops, args.in_flight, |i| MapGet {
            lane: run.lane(i),
            map,
            key: lookups[i as usize],
        });
        row("ManagedMap", entries, load, "lookup", &get);
        let shape = run
            .server
            .query(|ctx| map.check(ctx))
            .expect("a sound tree");
        println!(
            "{:<22} {:>11} {} levels, {} leaves of {:.1} entries on average, {} inner nodes",
            "",
            "",
            shape.height,
            shape.leaves,
            shape.entries as f64 / shape.leaves as f64,
            shape.nodes - shape.leaves
        );
        run.server.shutdown().expect("clean shutdown");

        if entries > BIG_MAX {
            continue;
        }
        let run = Run::start();
        let load = load_big(&run, entries);
        // Every insert rewrites the whole object: fewer of them at larger sizes. They all
        // run on one core, as hot-object placement would put them: from two cores they
        // would conflict (see below), and this measures what an insert costs.
        let ops = (args.ops * 1000 / entries).clamp(100, args.ops.min(entries));
        let (big, lane) = (run.big, run.lanes[0]);
        let keys: Vec<u64> = (0..ops).map(|_| rng.next_u64()).collect();
        let insert = run.measure(ops, args.in_flight, |i| BigInsert {
            lane,
            big,
            key: keys[i as usize],
        });
        row("HashMap in one object", entries, load, "insert", &insert);
        let lookups: Vec<u64> = (0..ops).map(|_| rng.below(entries) * s).collect();
        let get = run.measure(ops, args.in_flight, |i| BigGet {
            lane: run.lane(i),
            big,
            key: lookups[i as usize],
        });
        row("HashMap in one object", entries, load, "lookup", &get);
        big_inserts.push((entries, insert.cpu.as_secs_f64() / insert.ops as f64));
        run.server.shutdown().expect("clean shutdown");
    }
    if sizes.iter().any(|&n| n > BIG_MAX) {
        let trend = match big_inserts.as_slice() {
            [(n0, c0), .., (n1, c1)] if n1 > n0 => {
                let factor = c1 / c0;
                let per_op = c1 * (10_000_000 / n1) as f64;
                format!(
                    "its CPU per insert grew {factor:.0}x from {n0} to {n1} entries (the whole map is \
                     decoded, changed and archived again); at 10,000,000 that is about {per_op:.1} s per \
                     insert, and every insert would write a ~200 MB object to the log"
                )
            }
            _ => "every insert rewrites the whole map".to_owned(),
        };
        println!("HashMap in one object at 10,000,000 entries: skipped: {trend}.");
    }

    // Conflicts: random inserts from both cores at once, hot-object placement off so that
    // neither kind of task is moved onto one core.
    println!();
    println!(
        "concurrent random inserts from both cores (tasks alternate between the cores; hot-object \
         placement off, so they stay there)"
    );
    println!(
        "{:<22} {:>11} {:>9} {:>8} {:>10} {:>10} {:>12}",
        "structure", "entries", "in flight", "inserts", "inserts/s", "conflicts", "retries/op"
    );
    let conflicts_at: Vec<u64> = sizes.iter().copied().filter(|&n| n <= BIG_MAX).collect();
    for &entries in &conflicts_at {
        for single in [false, true] {
            for in_flight in [args.in_flight, 16] {
                let run = Run::start();
                run.server.placement().set_learning(false);
                let (name, cost) = if single {
                    load_big(&run, entries);
                    let ops = (args.ops * 1000 / entries).clamp(100, args.ops.min(entries));
                    let big = run.big;
                    let keys: Vec<u64> = (0..ops).map(|_| rng.next_u64()).collect();
                    let cost = run.measure(ops, in_flight, |i| BigInsert {
                        lane: run.lane(i),
                        big,
                        key: keys[i as usize],
                    });
                    ("HashMap in one object", cost)
                } else {
                    load_map(&run, entries);
                    let map = run.map;
                    let inserts = args.ops.min(entries);
                    let keys: Vec<u64> = (0..inserts).map(|_| rng.next_u64()).collect();
                    let cost = run.measure(inserts, in_flight, |i| MapInsert {
                        lane: run.lane(i),
                        map,
                        key: keys[i as usize],
                    });
                    ("ManagedMap", cost)
                };
                println!(
                    "{:<22} {:>11} {:>9} {:>8} {:>10.0} {:>10} {:>12.3}",
                    name,
                    entries,
                    in_flight,
                    cost.ops,
                    cost.ops as f64 / cost.wall.as_secs_f64(),
                    cost.conflicts,
                    cost.retries()
                );
                run.server.shutdown().expect("clean shutdown");
            }
        }
    }
    println!();
    println!(
        "a core commits the tasks it ran together, up to 64 per batch, and a batch conflicts when \
         any of its tasks read what the other core's batch wrote: fewer tasks in flight make smaller \
         batches, which share a leaf less often"
    );
}
