//! The tutorial examples do what their chapters say.

use std::time::{Duration, Instant};

use darkstar_examples::counter::{Counter, Increment, Persistence};
use darkstar_examples::hello::{Greeting, HelloWorld};
use darkstar_examples::timer::{Ticks, Timer};
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

fn start(app: impl App, dir: &std::path::Path) -> Server {
    Server::builder(app)
        .config(Config {
            data_dir: dir.to_owned(),
            cores: 2,
            ..Config::default()
        })
        .start()
        .unwrap()
}

/// Waits for `cond`, long: a deadline costs time only when the test fails anyway, and a
/// loaded machine may be slow.
fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(30);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
}

/// An example's app, plus a probe: a task due a while after it is planted. A check that
/// something did not run waits for it rather than for a sleep, so a slow machine makes the
/// wait longer instead of too short.
struct Probed<A>(A);

impl<A: App> App for Probed<A> {
    fn register(&self, types: &mut Types) {
        self.0.register(types);
        types
            .object::<Probe>()
            .task::<PlantProbe>()
            .task::<FireProbe>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        self.0.initialize(ctx)
    }
}

#[managed(name = "tests.Probe")]
struct Probe {
    fired: u64,
}

#[task(name = "tests.plant_probe")]
fn plant_probe(ctx: &mut Context, delay_ms: u64) -> TaskResult {
    ctx.schedule_after(FireProbe {}, Duration::from_millis(delay_ms))?;
    Ok(())
}

#[task(name = "tests.fire_probe")]
fn fire_probe(ctx: &mut Context) -> TaskResult {
    match ctx.try_lookup::<Probe>("probe")? {
        Some(p) => ctx.get_mut(p)?.fired += 1,
        None => {
            let p = ctx.create(Probe { fired: 1 })?;
            ctx.bind("probe", p)?;
        }
    }
    Ok(())
}

/// Waits until a probe due `delay_ms` from now has run.
fn probe(server: &Server, delay_ms: u64) {
    let fired = || {
        server
            .query(|ctx| match ctx.try_lookup::<Probe>("probe")? {
                Some(p) => Ok(ctx.get(p)?.fired()),
                None => Ok(0),
            })
            .unwrap()
    };
    let before = fired();
    server.submit(PlantProbe { delay_ms }).wait().unwrap();
    assert!(eventually(|| fired() > before), "the probe never ran");
}

#[test]
fn hello_greets_once_per_store() {
    let dir = tempfile::tempdir().unwrap();
    let greeting = |s: &Server| {
        s.query(|ctx| match ctx.try_lookup::<Greeting>("greeting")? {
            Some(g) => Ok(Some((ctx.get(g)?.text().to_owned(), ctx.get(g)?.times()))),
            None => Ok(None),
        })
        .unwrap()
    };
    let server = start(Probed(HelloWorld), dir.path());
    assert!(eventually(|| greeting(&server).is_some()));
    server.shutdown().unwrap();
    let server = start(Probed(HelloWorld), dir.path());
    // A greeting scheduled by a second `initialize` would be due at once.
    probe(&server, 100);
    assert_eq!(greeting(&server), Some(("Hello, world!".to_owned(), 1)));
    server.shutdown().unwrap();
}

#[test]
fn timer_ticks_across_a_restart_and_stops_itself() {
    let dir = tempfile::tempdir().unwrap();
    // Many ticks, so that the restart comes before the last of them even when the test is
    // slow to see the first ones (a restart after them would only make the test weaker).
    let app = || {
        Probed(Timer {
            period: Duration::from_millis(15),
            stop_after: 40,
        })
    };
    let count = |s: &Server| {
        s.query(|ctx| Ok(ctx.get(ctx.lookup::<Ticks>("ticks")?)?.count()))
            .unwrap()
    };
    let server = start(app(), dir.path());
    assert!(eventually(|| count(&server) >= 3));
    server.shutdown().unwrap();
    let server = start(app(), dir.path());
    assert!(
        eventually(|| count(&server) == 40),
        "resumed and reached 40"
    );
    // Due several periods after the last tick.
    probe(&server, 100);
    assert_eq!(count(&server), 40, "cancelled itself at 40");
    let handle = server
        .query(|ctx| Ok(ctx.get(ctx.lookup::<Ticks>("ticks")?)?.handle.is_some()))
        .unwrap();
    assert!(!handle, "the handle was taken when cancelling");
    server.shutdown().unwrap();
}

#[test]
fn counter_survives_restarts() {
    let dir = tempfile::tempdir().unwrap();
    for expected in 1..=3u64 {
        let server = start(Persistence, dir.path());
        server.submit(Increment {}).wait().unwrap();
        let value = server
            .query(|ctx| Ok(ctx.get(ctx.lookup::<Counter>("counter")?)?.value()))
            .unwrap();
        assert_eq!(value, expected);
        server.shutdown().unwrap();
    }
}
