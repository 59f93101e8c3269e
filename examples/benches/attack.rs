//! What attacks cost a server and the players beside them: a login storm (wrong passwords
//! from forty addresses, connection churn, a burst from one address) and a channel flood,
//! each against a fresh server in a child process (see `darkstar_examples::attack`).
//! Prints the server's memory before, at most and after, its CPU time, the players'
//! latency quiet and under attack with the ratio of their 99th percentiles, and who was
//! disconnected.
//!
//! `cargo bench -p darkstar-examples --bench attack`

use std::time::Duration;

use darkstar_examples::attack::child::ChildServer;
use darkstar_examples::attack::{
    around, percentile, run_flood, run_storm, serve_if_child, spread, Report, Target, MIB, PLAYERS,
};

const CHILD: &str = "DARKSTAR_ATTACK_BENCH_SERVER";

fn main() {
    if serve_if_child(CHILD) {
        return;
    }
    darkstar_runtime::raise_open_file_limit();

    let target = Target::start(|metrics| ChildServer::start(&[], CHILD, metrics));
    let mut storm = run_storm(&target, 500, 10);
    println!("login storm: {} attacker logins answered", storm.answered);
    let longest = storm.fresh_logins.iter().max().copied().unwrap_or_default();
    println!(
        "  new players' logins during the storm: {}, longest {longest:.2?}",
        spread(&mut storm.fresh_logins)
    );
    print(&mut storm.report);
    target.child.stop();

    let target = Target::start(|metrics| ChildServer::start(&[], CHILD, metrics));
    let mut flood = run_flood(&target, PLAYERS, 100, Duration::from_secs(10));
    println!(
        "channel flood: {} messages of 1000 bytes written by the flooder (cut off: {:?}); at most {} reached a player",
        flood.flood.written, flood.flood.cut, flood.report.attacked.channel_messages
    );
    print(&mut flood.report);
    target.child.stop();

    // The same password checks as the storm's, without the server doing them: one thread of
    // this process, under the idle policy as the server's login threads are, hashing
    // against an idle server while the players play. What this costs the players is what
    // the hashing itself costs the machine, whoever does it.
    let target = Target::start(|metrics| ChildServer::start(&[], CHILD, metrics));
    let (mut alone, hashes) = around(&target, 4, Duration::from_millis(10), 500, |_| {
        Box::pin(async {
            tokio::task::spawn_blocking(|| hash_for(Duration::from_secs(8)))
                .await
                .expect("the hashing thread")
        })
    });
    println!("argon2 alone, beside the server: {hashes} hashes on one idle-priority thread");
    print(&mut alone);
    target.child.stop();
}

/// Hashes passwords with argon2's default parameters (the server's) for `duration`, under
/// the idle scheduling policy; how many.
fn hash_for(duration: Duration) -> u64 {
    use argon2::password_hash::{PasswordHasher, SaltString};
    let param = libc::sched_param { sched_priority: 0 };
    // SAFETY: sched_setscheduler reads the parameter passed to it; 0 is this thread.
    unsafe { libc::sched_setscheduler(0, libc::SCHED_IDLE, &param) };
    let salt = SaltString::encode_b64(b"sixteen byte sal").expect("a salt");
    let until = std::time::Instant::now() + duration;
    let mut n = 0;
    while std::time::Instant::now() < until {
        argon2::Argon2::default()
            .hash_password(b"not the password", &salt)
            .expect("a hash");
        n += 1;
    }
    n
}

fn print(report: &mut Report) {
    let mib = |b: u64| b as f64 / MIB as f64;
    let [before, peak, after] = report.memory;
    println!(
        "  server memory: {:.1} MiB before, {:.1} MiB at most, {:.1} MiB after",
        mib(before),
        mib(peak),
        mib(after)
    );
    println!(
        "  server CPU during the attack: {:.2?} in {:.1?} ({:.0}% of one core)",
        report.cpu,
        report.elapsed,
        report.cpu.as_secs_f64() / report.elapsed.as_secs_f64() * 100.0
    );
    let disconnected = report.attacked.disconnected.len() + report.quiet.disconnected.len();
    println!(
        "  players disconnected: {disconnected} {:?}",
        report.attacked.disconnected.first()
    );
    let (quiet, attacked) = (&mut report.quiet.latencies, &mut report.attacked.latencies);
    println!(
        "  players quiet:        {} ({} samples)",
        spread(quiet),
        quiet.len()
    );
    if attacked.is_empty() {
        println!("  no player got an echo under the attack");
        return;
    }
    println!(
        "  players under attack: {} ({} samples)",
        spread(attacked),
        attacked.len()
    );
    let (q, a) = (percentile(quiet, 99), percentile(attacked, 99));
    println!(
        "  p99 under attack / quiet: {:.2}",
        a.as_secs_f64() / q.as_secs_f64()
    );
}
