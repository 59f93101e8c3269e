//! Attacks at realistic scale against a server in a child process, with well-behaved
//! players beside them (see `darkstar_examples::attack`): a storm of logins with wrong
//! passwords and connection churn from forty addresses, and a burst from one; and one
//! client flooding the lobby channel that twenty players are in. While an attack runs, the
//! players keep their latency (median and 90th percentile within twice what they were
//! before the attack, the 99th within three times) and none is disconnected; the server's
//! memory stays under its bound and comes back afterwards; and the server logs what it
//! refused, with the peer's address, at a bounded rate.
//!
//! "Within twice" allows, below that, a fixed 25 ms (50 ms at the 99th percentile): the
//! server, the players and the attackers share two cores here, and a round trip crosses
//! four threads, each of which may wait out another thread's time slice (a few
//! milliseconds) before it runs; that floor belongs to the machine, not the server. The
//! 99th percentile of a few thousand samples also moves with the machine's slow spells (a
//! shared virtual machine), which is why it gets more room than the 90th. The benchmark
//! `attack` (a release build) reports the ratios alone.

use std::sync::Mutex;
use std::time::Duration;

use darkstar_examples::attack::child::ChildServer;
use darkstar_examples::attack::{
    percentile, run_flood, run_storm, serve_if_child, spread, Report, Target, MIB, PLAYERS,
};
use darkstar_tests::prometheus::{sample, scrape};

const CHILD: &str = "DARKSTAR_ATTACK_SERVER";

/// The attacks run one at a time: each measures latency and memory, which another attack
/// running beside it would disturb.
static ONE_AT_A_TIME: Mutex<()> = Mutex::new(());

/// The server, when this binary runs as the child.
#[test]
fn attack_server() {
    serve_if_child(CHILD);
}

fn start_target() -> Target {
    Target::start(|metrics| ChildServer::test("attack_server", CHILD, metrics))
}

fn mib(bytes: u64) -> f64 {
    bytes as f64 / MIB as f64
}

/// Lines of the server's log that report refused, broken or hostile connections.
fn incident_lines(log: &str) -> Vec<&str> {
    log.lines()
        .filter(|l| {
            l.contains("refused a connection or login")
                || l.contains("refused a login")
                || l.contains("closed a connection")
                || l.contains("cut off a client")
                || l.contains("holding a session to its message rate")
        })
        .collect()
}

/// Checks what holds under every attack: nobody disconnected, the players' p99 within
/// twice quiet (or within the machine's floor of it), and memory below `bound` above what
/// it was before; describes the measurements.
fn check(what: &str, report: &mut Report, bound: u64) -> String {
    let [baseline, peak, after] = report.memory;
    let (quiet, attacked) = (&mut report.quiet.latencies, &mut report.attacked.latencies);
    let said = format!(
        "{what}: {:.1?}; memory {:.1} MiB before, {:.1} at most, {:.1} after; players quiet {}, under attack {} ({} samples)",
        report.elapsed,
        mib(baseline),
        mib(peak),
        mib(after),
        spread(quiet),
        spread(attacked),
        attacked.len()
    );
    eprintln!("{said}");
    assert!(
        report.quiet.disconnected.is_empty() && report.attacked.disconnected.is_empty(),
        "players were disconnected: {:?} {:?}",
        report.quiet.disconnected,
        report.attacked.disconnected
    );
    // What the attack costs every player: the median and the 90th percentile within twice
    // quiet. The 99th, which a slow spell of this shared machine moves by tens of
    // milliseconds on its own, within three times.
    for (p, times, floor_ms) in [(50, 2, 25), (90, 2, 25), (99, 3, 50)] {
        let (q, d) = (percentile(quiet, p), percentile(attacked, p));
        assert!(
            d <= (q * times).max(q + Duration::from_millis(floor_ms)),
            "p{p} {d:?} under attack, {q:?} quiet"
        );
    }
    assert!(
        peak <= baseline + bound,
        "memory grew from {:.1} to {:.1} MiB",
        mib(baseline),
        mib(peak)
    );
    said
}

#[test]
fn a_login_storm_costs_bounded_memory_that_comes_back() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    darkstar_runtime::raise_open_file_limit();
    let target = start_target();
    let mut storm = run_storm(&target, 250, 6);
    // One login thread on two cores, at 19 MiB while it hashes, plus every connection's
    // buffers and the allocator's slack: far below one argon2 buffer per login, which is
    // what the storm would cost without a bound.
    let said = check("login storm", &mut storm.report, 96 * MIB);
    let [baseline, _, after] = storm.report.memory;
    assert!(
        after <= baseline + 24 * MIB,
        "memory stayed at {:.1} MiB (from {:.1}); {said}",
        mib(after),
        mib(baseline)
    );
    // New players got in meanwhile (a refusal would have panicked), within the timeout.
    assert!(
        storm
            .fresh_logins
            .iter()
            .all(|t| *t < Duration::from_secs(5)),
        "{:?}",
        storm.fresh_logins
    );
    let text = scrape(target.metrics);
    assert!(
        sample(
            &text,
            "darkstar_limits_total",
            "limit=\"connections_per_sec_per_address\""
        )
        .unwrap_or(0.0)
            >= 1.0,
        "the burst from one address hit its limit: {text}"
    );
    let log = target.child.stop();
    let lines = incident_lines(&log);
    assert!(
        lines
            .iter()
            .any(|l| l.contains("refused a connection or login") && l.contains("peer=127.0.0.")),
        "the refusals are logged with the peer's address:\n{log}"
    );
    assert!(
        lines
            .iter()
            .any(|l| l.contains("refused a login") && l.contains("peer=127.0.0.")),
        "failed logins are logged:\n{log}"
    );
    // At most five lines a second of each kind; the rest are counted in those lines.
    let bound = 5 * 8 * (storm.report.elapsed.as_secs() as usize + 2);
    assert!(
        lines.len() <= bound,
        "{} incident lines in {:?}, more than {bound}",
        lines.len(),
        storm.report.elapsed
    );
}

#[test]
fn one_flooder_cannot_knock_players_off_a_channel() {
    if std::env::var(CHILD).is_ok() {
        return;
    }
    let _one = ONE_AT_A_TIME.lock().unwrap_or_else(|e| e.into_inner());
    let target = start_target();
    let mut flood = run_flood(&target, PLAYERS, 50, Duration::from_secs(8));
    eprintln!("flooder: {:?}", flood.flood);
    check("channel flood", &mut flood.report, 64 * MIB);
    // The flood is held to the session's channel rate: 20 a second, after a second's burst.
    let secs = flood.report.elapsed.as_secs() + 1;
    let reached = flood.report.attacked.channel_messages;
    assert!(
        reached <= 20 * (secs + 1),
        "{reached} flood messages reached a player in {:?}",
        flood.report.elapsed
    );
    let text = scrape(target.metrics);
    assert!(
        sample(&text, "darkstar_limits_total", "limit=\"session_rate\"").unwrap_or(0.0) >= 1.0,
        "the flooder was held to its rate: {text}"
    );
    let log = target.child.stop();
    assert!(
        incident_lines(&log)
            .iter()
            .any(|l| l.contains("holding a session to its message rate")
                && l.contains("peer=127.0.0.1")),
        "the flooder is logged:\n{log}"
    );
}
