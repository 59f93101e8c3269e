//! Serializability under concurrency: many transfers on every core, uniform and Zipf, and
//! not a unit of money created or lost, no balance below zero.

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_examples::bank::{self, BankApp};
use darkstar_examples::load::{drive, LoadStats, Workload};
use darkstar_runtime::{Config, Server};

fn transfers(alpha: f64, learning: bool) {
    let dir = tempfile::tempdir().unwrap();
    let app = BankApp {
        accounts: 500,
        // Small balances, so "insufficient funds" really happens and a lost update or an
        // overdraft would show as a negative balance.
        initial_balance: 300,
    };
    let config = Config {
        data_dir: dir.path().to_owned(),
        cores: 2,
        ..Config::default()
    };
    let server = Server::builder(app).config(config).start().unwrap();
    server.placement().set_learning(learning);
    let accounts = server.query(bank::accounts).unwrap();
    let stats = Arc::new(LoadStats::default());
    let stop = AtomicBool::new(false);
    let workload = Workload {
        alpha,
        in_flight: 256,
        max_amount: 200,
        seed: 7,
    };
    std::thread::scope(|s| {
        s.spawn(|| drive(&server, &accounts, &workload, &stats, &stop));
        // At least 1.5 s of load, and on a slow machine until there was enough of it to
        // check, within a long deadline.
        let started = Instant::now();
        let enough = || {
            stats.committed.load(Ordering::Relaxed) > 1000
                && (learning || server.stats().conflicts > 0)
        };
        while started.elapsed() < Duration::from_millis(1500)
            || (!enough() && started.elapsed() < Duration::from_secs(60))
        {
            std::thread::sleep(Duration::from_millis(10));
        }
        stop.store(true, Ordering::Relaxed);
    });
    let committed = stats.committed.load(Ordering::Relaxed);
    assert!(committed > 1000, "only {committed} transfers committed");
    assert_eq!(stats.failed.load(Ordering::Relaxed), 0);
    let audit = server.query(bank::audit).unwrap();
    assert_eq!(
        audit.total, audit.expected,
        "money created or lost: {audit:?}"
    );
    assert_eq!(audit.negative, 0, "an account was overdrawn: {audit:?}");
    let runtime = server.stats();
    if !learning {
        assert!(runtime.conflicts > 0, "the cores never raced: {runtime:?}");
    }
    server.shutdown().unwrap();
    // The same holds after a restart, from what was made durable.
    let server = Server::builder(BankApp {
        accounts: 500,
        initial_balance: 300,
    })
    .config(Config {
        data_dir: dir.path().to_owned(),
        cores: 2,
        ..Config::default()
    })
    .start()
    .unwrap();
    assert_eq!(server.query(bank::audit).unwrap(), audit);
    server.shutdown().unwrap();
    eprintln!("alpha {alpha}: {committed} transfers, {runtime:?}");
}

#[test]
fn uniform_transfers_on_every_core_keep_the_total() {
    transfers(0.0, true);
}

#[test]
fn contended_transfers_keep_the_total() {
    transfers(1.5, true);
}

#[test]
fn contended_transfers_keep_the_total_without_hot_placement() {
    // Without placement, cores really race on the hot accounts: conflicts must abort.
    transfers(1.5, false);
}
