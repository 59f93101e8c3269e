//! What a million pending timers cost: memory and start-up time.
//!
//! `cargo bench -p darkstar-examples --bench timers [-- --timers N]`
//!
//! Schedules N one-shot tasks an hour ahead, shuts the server down, and starts it again,
//! measuring the start (which reads every stored task's header and queues it on its core)
//! and the resident memory the pending timers add.

use std::time::{Duration, Instant};

use clap::Parser;
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

#[task(name = "bench.remind")]
fn remind(_ctx: &mut Context, player: u64) -> TaskResult {
    let _ = player;
    Ok(())
}

/// Schedules `count` reminders an hour from now.
#[task(name = "bench.schedule_many")]
fn schedule_many(ctx: &mut Context, first: u64, count: u64) -> TaskResult {
    for player in first..first + count {
        ctx.schedule_after(Remind { player }, Duration::from_secs(3600))?;
    }
    Ok(())
}

struct Reminders;

impl App for Reminders {
    fn register(&self, types: &mut Types) {
        types.task::<Remind>().task::<ScheduleMany>();
    }
}

/// Resident memory as `(anonymous, file-backed)` bytes: the heap, and pages of the mapped
/// store (which the kernel can drop and reread).
fn rss() -> (u64, u64) {
    let status = std::fs::read_to_string("/proc/self/status").unwrap_or_default();
    let field = |name: &str| -> u64 {
        status
            .lines()
            .find(|l| l.starts_with(name))
            .and_then(|l| l.split_whitespace().nth(1))
            .and_then(|v| v.parse::<u64>().ok())
            .unwrap_or(0)
            * 1024
    };
    (field("RssAnon:"), field("RssFile:"))
}

/// The benchmark's options.
#[derive(Parser)]
#[command(about = "What a million pending timers cost: memory and start-up time")]
struct Args {
    /// One-shot tasks to schedule an hour ahead.
    #[arg(long, default_value_t = 1_000_000, value_parser = clap::value_parser!(u64).range(1..))]
    timers: u64,
    /// Passed by `cargo bench`; ignored.
    #[arg(long, hide = true)]
    bench: bool,
}

fn main() {
    let timers = Args::parse().timers;
    let dir = tempfile::tempdir().expect("temporary directory");
    let config = Config {
        data_dir: dir.path().to_owned(),
        task_time_limit_ms: 10_000,
        ..Config::default()
    };
    let server = Server::builder(Reminders)
        .config(config.clone())
        .start()
        .expect("server starts");
    let t = Instant::now();
    let chunk = 10_000;
    let pending: Vec<_> = (0..timers.div_ceil(chunk))
        .map(|i| {
            let first = i * chunk;
            server.submit(ScheduleMany {
                first,
                count: chunk.min(timers - first),
            })
        })
        .collect();
    for p in pending {
        p.wait().expect("scheduling commits");
    }
    println!(
        "scheduled {timers} timers in {:.2?} ({:.0} per second, durable)",
        t.elapsed(),
        timers as f64 / t.elapsed().as_secs_f64()
    );
    server.shutdown().expect("clean shutdown");

    let before = rss();
    let t = Instant::now();
    let server = Server::builder(Reminders)
        .config(config)
        .start()
        .expect("server restarts");
    let start = t.elapsed();
    let after = rss();
    let mib = |b: u64| b as f64 / (1 << 20) as f64;
    let heap = after.0.saturating_sub(before.0);
    println!(
        "restart with {timers} pending timers: {start:.2?}; heap +{:.1} MiB ({:.0} bytes per timer: \
         the store's index and the cores' timer queues), mapped store pages +{:.1} MiB",
        mib(heap),
        heap as f64 / timers as f64,
        mib(after.1.saturating_sub(before.1)),
    );
    server.shutdown().expect("clean shutdown");
}
