//! The two attacks as whole scenarios, each against a fresh server: players play quiet,
//! then again under the attack, while the server's memory and CPU are read. The test
//! asserts on the reports; the benchmark prints them.

use std::net::SocketAddr;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_client::Client;

use crate::attack::flood::{flood, Flood};
use crate::attack::memory::{cpu_time, Peak, MIB};
use crate::attack::players::{log_in, play, Played};
use crate::attack::storm::{attackers, storm};
use crate::attack::target::{account, Target};

/// An attack, as [`around`] runs it.
pub type Attack<T> = std::pin::Pin<Box<dyn std::future::Future<Output = T> + Send>>;

/// What a scenario measured.
pub struct Report {
    /// The server's memory before the attack, at most during it, and after it settled
    /// (or a minute passed), in bytes.
    pub memory: [u64; 3],
    /// How long the attack took.
    pub elapsed: Duration,
    /// The server's CPU time during the attack.
    pub cpu: Duration,
    /// The players, quiet.
    pub quiet: Played,
    /// The players, under the attack.
    pub attacked: Played,
}

/// What the login storm did besides.
pub struct StormReport {
    /// The common measurements.
    pub report: Report,
    /// Attacker logins the server answered (a refusal or a disconnect with its reason).
    pub answered: usize,
    /// How long each new player's login took during the storm.
    pub fresh_logins: Vec<Duration>,
}

/// What the channel flood did besides.
pub struct FloodReport {
    /// The common measurements.
    pub report: Report,
    /// The flooder's side.
    pub flood: Flood,
}

fn runtime() -> tokio::runtime::Runtime {
    tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .expect("a runtime")
}

async fn log_in_all(addr: SocketAddr, n: usize) -> Vec<Client> {
    let mut clients = Vec::new();
    for i in 0..n {
        clients.push(log_in(addr, account(i)).await);
    }
    clients
}

/// Waits until the child's memory is back within `near` of `baseline`, or a minute passed.
fn settled(target: &Target, baseline: u64, near: u64) -> u64 {
    let deadline = Instant::now() + Duration::from_secs(60);
    let mut now = target.child.rss();
    while now > baseline + near && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(100));
        now = target.child.rss();
    }
    now
}

/// Plays `players` quiet for `rounds` each, one message every `every`; then plays on while
/// `attack` (given the server's address) runs, until it returns; measures both and the
/// server meanwhile.
pub fn around<T: Send + 'static>(
    target: &Target,
    players: usize,
    every: Duration,
    rounds: usize,
    attack: impl FnOnce(SocketAddr) -> Attack<T>,
) -> (Report, T) {
    let addr = target.addr;
    let runtime = runtime();
    let clients = runtime.block_on(log_in_all(addr, players));
    let quiet = runtime.block_on(play(
        clients,
        every,
        rounds,
        Arc::new(AtomicBool::new(false)),
    ));
    let baseline = target.child.rss();
    let peak = Peak::watch(target.child.pid());
    let cpu = cpu_time(target.child.pid());
    let started = Instant::now();
    let stop = Arc::new(AtomicBool::new(false));
    let mut quiet = quiet;
    let playing = std::mem::take(&mut quiet.clients);
    let (attacked, out) = runtime.block_on(async {
        let players = tokio::spawn(play(playing, every, usize::MAX, stop.clone()));
        let out = attack(addr).await;
        stop.store(true, Ordering::Relaxed);
        (players.await.expect("the players"), out)
    });
    let elapsed = started.elapsed();
    let cpu = cpu_time(target.child.pid()).saturating_sub(cpu);
    let peak = peak.finish();
    let after = settled(target, baseline, 16 * MIB);
    let report = Report {
        memory: [baseline, peak, after],
        elapsed,
        cpu,
        quiet,
        attacked,
    };
    (report, out)
}

/// The login storm against `target`: four players, a message every 10 ms each, quiet for
/// `rounds` messages, then under [`storm`](crate::attack::storm) (its attackers under the
/// idle policy) while `fresh` new players log in, one every 200 ms.
pub fn run_storm(target: &Target, rounds: usize, fresh: usize) -> StormReport {
    let good = 4;
    let attackers = attackers();
    let handle = attackers.handle().clone();
    let (report, (answered, fresh_logins)) = around(
        target,
        good,
        Duration::from_millis(10),
        rounds,
        move |addr| {
            Box::pin(async move {
                let storm = handle.spawn(storm(addr));
                let mut fresh_logins = Vec::new();
                for i in good..good + fresh {
                    let t = Instant::now();
                    drop(log_in(addr, account(i)).await);
                    fresh_logins.push(t.elapsed());
                    tokio::time::sleep(Duration::from_millis(200)).await;
                }
                (storm.await.expect("the storm"), fresh_logins)
            })
        },
    );
    drop(attackers);
    StormReport {
        report,
        answered,
        fresh_logins,
    }
}

/// The channel flood against `target`: `players` players in the lobby, a message every
/// 50 ms each, quiet for `rounds` messages, then while one client floods the lobby with
/// messages of 1,000 bytes for `duration`.
pub fn run_flood(
    target: &Target,
    players: usize,
    rounds: usize,
    duration: Duration,
) -> FloodReport {
    let (report, flood) = around(
        target,
        players,
        Duration::from_millis(50),
        rounds,
        move |addr| {
            // At full priority: a flooder on a machine of its own reads its share at once.
            Box::pin(async move { flood(addr, "flood", duration, 1000).await })
        },
    );
    FloodReport { report, flood }
}
