//! A small game used by the runtime's tests, and helpers to run it.
#![allow(dead_code)]

use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

/// A counter.
#[managed(name = "test.Counter")]
#[derive(Debug, PartialEq)]
pub struct Counter {
    pub value: u64,
}

/// Something else, to test type checks.
#[managed(name = "test.Label")]
#[derive(Debug)]
pub struct Label {
    pub text: String,
}

/// Adds `by` to the counter bound to `name`, creating it if needed.
#[task(name = "test.bump")]
pub fn bump(ctx: &mut Context, name: String, by: u64) -> TaskResult {
    match ctx.try_lookup::<Counter>(&name)? {
        Some(c) => ctx.get_mut(c)?.value += by,
        None => {
            let c = ctx.create(Counter { value: by })?;
            ctx.bind(&name, c)?;
        }
    }
    Ok(())
}

/// Adds one to a counter by reference.
#[task(name = "test.incr")]
pub fn incr(ctx: &mut Context, counter: Ref<Counter>) -> TaskResult {
    ctx.get_mut(counter)?.value += 1;
    Ok(())
}

/// Bumps, then fails: nothing of it may stay.
#[task(name = "test.bump_then_fail")]
pub fn bump_then_fail(ctx: &mut Context, name: String) -> TaskResult {
    bump(ctx, name, 1)?;
    Err(TaskError::abort("changed my mind"))
}

/// Bumps, then panics: nothing of it may stay.
#[task(name = "test.bump_then_panic")]
pub fn bump_then_panic(ctx: &mut Context, name: String) -> TaskResult {
    bump(ctx, name, 1)?;
    panic!("game code bug");
}

/// Counts its runs here (outside the store) so tests can see retries.
pub static SLOW_RUNS: AtomicU32 = AtomicU32::new(0);

/// Sleeps past the time limit on its first run only, then bumps.
#[task(name = "test.slow_once")]
pub fn slow_once(ctx: &mut Context, name: String, sleep_ms: u64) -> TaskResult {
    if SLOW_RUNS.fetch_add(1, Ordering::SeqCst) == 0 {
        std::thread::sleep(Duration::from_millis(sleep_ms));
    }
    bump(ctx, name, 1)
}

/// Schedules a bump of `name` after `delay_ms`, binding its handle's counter.
#[task(name = "test.later")]
pub fn later(ctx: &mut Context, name: String, delay_ms: u64) -> TaskResult {
    ctx.schedule_after(Bump { name, by: 1 }, Duration::from_millis(delay_ms))?;
    Ok(())
}

/// A game that registers every type above.
pub struct TestGame;

impl App for TestGame {
    fn register(&self, types: &mut Types) {
        types
            .object::<Counter>()
            .object::<Label>()
            .task::<Bump>()
            .task::<Incr>()
            .task::<BumpThenFail>()
            .task::<BumpThenPanic>()
            .task::<SlowOnce>()
            .task::<Later>();
    }
}

/// A configuration for a store in `dir`.
pub fn config(dir: &std::path::Path) -> Config {
    Config {
        data_dir: dir.to_owned(),
        cores: 2,
        ..Config::default()
    }
}

/// Starts `app` on `dir`.
pub fn start(app: impl App, dir: &std::path::Path) -> Server {
    Server::builder(app)
        .config(config(dir))
        .start()
        .expect("server starts")
}

/// The value of the counter bound to `name`, if any.
pub fn counter(server: &Server, name: &str) -> Option<u64> {
    server
        .query(|ctx| match ctx.try_lookup::<Counter>(name)? {
            Some(c) => Ok(Some(ctx.get(c)?.value())),
            None => Ok(None),
        })
        .expect("query")
}

/// How long a test waits for something that must happen: long, since it costs time only
/// when the test fails anyway, and a loaded machine may be slow.
pub const PATIENCE: Duration = Duration::from_secs(30);

/// Waits up to `limit` for `cond`, polling.
pub fn eventually(limit: Duration, mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + limit;
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(5));
    }
    cond()
}
