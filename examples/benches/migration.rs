//! What a start-up migration costs: N objects written by version 1 of a type, then a start
//! of version 2 (a field retyped, one removed, one added), which rewrites them all before
//! it runs a task.
//!
//! `cargo bench -p darkstar-examples --bench migration [-- --objects N --batch B]`
//!
//! Prints the wall-clock time and the CPU time (all threads of the process) of the
//! migrating start, per object, beside a start with nothing to migrate.

use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

mod v1 {
    use super::*;

    #[managed(name = "bench.Player")]
    pub struct Player {
        pub name: String,
        pub hp: u32,
        pub gold: u64,
    }

    /// Creates `count` players.
    #[task(name = "bench.create_players")]
    pub fn create_players(ctx: &mut Context, first: u64, count: u64) -> TaskResult {
        for i in first..first + count {
            ctx.create(Player {
                name: format!("player-{i}"),
                hp: (i % 1000) as u32,
                gold: i,
            })?;
        }
        Ok(())
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types.object::<Player>().task::<CreatePlayers>();
        }
    }
}

mod v2 {
    use super::*;

    #[managed(name = "bench.Player", version = 1)]
    pub struct PlayerV1 {
        pub name: String,
        pub hp: u32,
        pub gold: u64,
    }

    #[managed(name = "bench.Player", version = 2, from = PlayerV1)]
    pub struct Player {
        pub name: String,
        pub hp: u64,
        pub level: u32,
    }

    impl From<PlayerV1> for Player {
        fn from(old: PlayerV1) -> Player {
            Player {
                name: old.name,
                hp: old.hp.into(),
                level: (old.gold % 100) as u32,
            }
        }
    }

    pub struct Game;

    impl App for Game {
        fn register(&self, types: &mut Types) {
            types.object::<Player>();
        }
    }
}

/// CPU time of the whole process so far (every thread, user and system).
fn cpu() -> Duration {
    // SAFETY: `getrusage` only writes the struct it is given, which is zeroed and owned here.
    let usage = unsafe {
        let mut usage: libc::rusage = std::mem::zeroed();
        libc::getrusage(libc::RUSAGE_SELF, &mut usage);
        usage
    };
    let tv = |t: libc::timeval| Duration::new(t.tv_sec as u64, t.tv_usec as u32 * 1000);
    tv(usage.ru_utime) + tv(usage.ru_stime)
}

/// The benchmark's options.
#[derive(Parser)]
#[command(about = "What a start-up migration of N objects costs")]
struct Args {
    /// Objects version 1 writes.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    objects: u64,
    /// Objects rewritten per commit (the `migration_batch` setting).
    #[arg(long, default_value_t = 4096)]
    batch: usize,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

/// Starts `app` on `config` and measures the start: wall-clock and CPU time.
fn timed_start<A: App>(app: A, config: &Config) -> (Server, Duration, Duration) {
    let (t, c) = (Instant::now(), cpu());
    let server = Server::builder(app)
        .config(config.clone())
        .start()
        .expect("server starts");
    (server, t.elapsed(), cpu() - c)
}

fn main() {
    let args = Args::parse();
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = Config {
        data_dir: dir.path().to_owned(),
        task_time_limit_ms: 60_000,
        migration_batch: args.batch,
        ..Config::default()
    };
    let server = Server::builder(v1::Game)
        .config(config.clone())
        .start()
        .expect("version 1 starts");
    let chunk = 10_000;
    let pending: Vec<_> = (0..args.objects.div_ceil(chunk))
        .map(|n| {
            let first = n * chunk;
            server.submit(v1::CreatePlayers {
                first,
                count: chunk.min(args.objects - first),
            })
        })
        .collect();
    for p in pending {
        p.wait().expect("players created");
    }
    server.shutdown().expect("version 1 stops");

    let (server, plain_wall, plain_cpu) = timed_start(v1::Game, &config);
    server.shutdown().expect("stops");
    let (server, wall, cpu_time) = timed_start(v2::Game, &config);
    server.shutdown().expect("version 2 stops");
    let (server, again_wall, again_cpu) = timed_start(v2::Game, &config);
    server.shutdown().expect("stops");

    let n = args.objects as f64;
    println!(
        "migration of {} objects, {} per commit",
        args.objects, args.batch
    );
    println!("| start | wall | CPU | wall per object | CPU per object |");
    println!("|---|---|---|---|---|");
    for (what, w, c) in [
        (
            "version 1 again (nothing to migrate)",
            plain_wall,
            plain_cpu,
        ),
        ("version 2 (migrates every object)", wall, cpu_time),
        (
            "version 2 again (nothing to migrate)",
            again_wall,
            again_cpu,
        ),
    ] {
        println!(
            "| {what} | {:.2} s | {:.2} s | {:.2} µs | {:.2} µs |",
            w.as_secs_f64(),
            c.as_secs_f64(),
            w.as_secs_f64() * 1e6 / n,
            c.as_secs_f64() * 1e6 / n
        );
    }
    let extra = wall.saturating_sub(again_wall);
    println!(
        "the migration itself: {:.2} s for {} objects, {:.0} objects/s",
        extra.as_secs_f64(),
        args.objects,
        n / extra.as_secs_f64().max(1e-9)
    );
}
