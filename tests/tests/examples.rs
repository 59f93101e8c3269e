//! The tutorial examples do what their chapters say.

use std::time::{Duration, Instant};

use darkstar_examples::counter::{Counter, Increment, Persistence};
use darkstar_examples::hello::{Greeting, HelloWorld};
use darkstar_examples::timer::{Ticks, Timer};
use darkstar_runtime::{Config, Server};
use darkstar_sdk::App;

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

fn eventually(mut cond: impl FnMut() -> bool) -> bool {
    let end = Instant::now() + Duration::from_secs(10);
    while Instant::now() < end {
        if cond() {
            return true;
        }
        std::thread::sleep(Duration::from_millis(10));
    }
    false
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
    let server = start(HelloWorld, dir.path());
    assert!(eventually(|| greeting(&server).is_some()));
    server.shutdown().unwrap();
    let server = start(HelloWorld, dir.path());
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(greeting(&server), Some(("Hello, world!".to_owned(), 1)));
    server.shutdown().unwrap();
}

#[test]
fn timer_ticks_across_a_restart_and_stops_itself() {
    let dir = tempfile::tempdir().unwrap();
    let app = || Timer {
        period: Duration::from_millis(15),
        stop_after: 10,
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
        eventually(|| count(&server) == 10),
        "resumed and reached 10"
    );
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(count(&server), 10, "cancelled itself at 10");
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
