//! Failure modes: each test pins down how the runtime contains one of them.

mod common;

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, Condvar, Mutex};
use std::time::{Duration, Instant};

use common::*;
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

/// Holds: points where a task waits until the test releases it, so that steps across cores
/// happen in the order a test needs instead of the order its sleeps hoped for. Named, since
/// the tests of this file run in parallel.
mod holds {
    use super::*;

    #[derive(Default)]
    struct Hold {
        reached: u32,
        released: bool,
    }

    static HOLDS: Mutex<BTreeMap<String, Hold>> = Mutex::new(BTreeMap::new());
    static CHANGED: Condvar = Condvar::new();

    fn holds() -> std::sync::MutexGuard<'static, BTreeMap<String, Hold>> {
        HOLDS.lock().unwrap_or_else(|e| e.into_inner())
    }

    /// Called by a task: waits at `name` until released. A released hold stays released,
    /// so a run again after a conflict goes straight on. Gives up after a while, so that a
    /// failing test ends instead of hanging its executor.
    pub fn hold(name: &str) {
        let end = Instant::now() + 2 * PATIENCE;
        let mut all = holds();
        all.entry(name.to_owned()).or_default().reached += 1;
        CHANGED.notify_all();
        while !all[name].released {
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                return;
            }
            all = CHANGED
                .wait_timeout(all, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Waits until runs have reached `name` `n` times in all.
    pub fn reached(name: &str, n: u32) {
        let end = Instant::now() + PATIENCE;
        let mut all = holds();
        loop {
            let now = all.get(name).map_or(0, |h| h.reached);
            if now >= n {
                return;
            }
            let left = end.saturating_duration_since(Instant::now());
            if left.is_zero() {
                drop(all);
                panic!("{name} was reached {now} times, not {n}");
            }
            all = CHANGED
                .wait_timeout(all, left)
                .unwrap_or_else(|e| e.into_inner())
                .0;
        }
    }

    /// Lets every run waiting at `name`, and every later one, go on.
    pub fn release(name: &str) {
        holds().entry(name.to_owned()).or_default().released = true;
        CHANGED.notify_all();
    }
}

#[managed(name = "failures.Holder")]
struct Holder {
    handle: Option<TaskHandle>,
}

/// Keeps its core busy until the test releases `hold`.
#[task(name = "failures.held")]
fn held(_ctx: &mut Context, pin: Ref<Counter>, hold: String) -> TaskResult {
    let _ = pin;
    holds::hold(&hold);
    Ok(())
}

#[task(name = "failures.sleep_on")]
fn sleep_on(_ctx: &mut Context, pin: Ref<Counter>, ms: u64) -> TaskResult {
    let _ = pin;
    std::thread::sleep(Duration::from_millis(ms));
    Ok(())
}

/// dst = src + 1, held in between (for a concurrent write of src).
#[task(name = "failures.copy_plus_one")]
fn copy_plus_one(
    ctx: &mut Context,
    pin: Ref<Counter>,
    src: Ref<Counter>,
    dst: Ref<Counter>,
    hold: String,
) -> TaskResult {
    let _ = pin;
    let v = ctx.get(src)?.value();
    holds::hold(&hold);
    ctx.get_mut(dst)?.value = v + 1;
    Ok(())
}

/// Fails, reporting what it read.
#[task(name = "failures.report")]
fn report(ctx: &mut Context, pin: Ref<Counter>, dst: Ref<Counter>) -> TaskResult {
    let _ = pin;
    let v = ctx.get(dst)?.value();
    Err(TaskError::abort(format!("dst={v}")))
}

#[task(name = "failures.set_value")]
fn set_value(ctx: &mut Context, pin: Ref<Counter>, target: Ref<Counter>, v: u64) -> TaskResult {
    let _ = pin;
    ctx.get_mut(target)?.value = v;
    Ok(())
}

#[task(name = "failures.mark")]
fn mark(ctx: &mut Context, pin: Ref<Counter>, name: String) -> TaskResult {
    let _ = pin;
    bump(ctx, name, 1)
}

/// Schedules `Mark { pin: target_pin }` at once and keeps its handle in "holder".
#[task(name = "failures.schedule_mark")]
fn schedule_mark(
    ctx: &mut Context,
    pin: Ref<Counter>,
    target_pin: Ref<Counter>,
    name: String,
) -> TaskResult {
    let _ = pin;
    let h = ctx.schedule(Mark {
        pin: target_pin,
        name,
    })?;
    let holder = ctx.create(Holder { handle: Some(h) })?;
    ctx.bind("holder", holder)?;
    Ok(())
}

/// Cancels the held task if the gate is 0; then waits at `hold`.
#[task(name = "failures.cancel_if_gate")]
fn cancel_if_gate(
    ctx: &mut Context,
    pin: Ref<Counter>,
    gate: Ref<Counter>,
    hold: String,
) -> TaskResult {
    let _ = pin;
    if ctx.get(gate)?.value() == 0 {
        let holder = ctx.lookup::<Holder>("holder")?;
        let h = ctx
            .get(holder)?
            .handle
            .as_ref()
            .map(|h| h.get())
            .expect("handle");
        assert!(ctx.cancel(h)?);
    }
    holds::hold(&hold);
    Ok(())
}

#[task(name = "failures.big")]
fn big(ctx: &mut Context, pin: Ref<Counter>, bytes: u64) -> TaskResult {
    let _ = pin;
    ctx.create(Label {
        text: "x".repeat(bytes as usize),
    })?;
    Ok(())
}

#[task(name = "failures.periodic")]
fn periodic(ctx: &mut Context, pin: Ref<Counter>, period_ms: u64) -> TaskResult {
    ctx.schedule_periodic(
        Mark {
            pin,
            name: "periodic".into(),
        },
        Duration::ZERO,
        Duration::from_millis(period_ms),
    )?;
    Ok(())
}

#[task(name = "failures.after_ms")]
fn after_ms(ctx: &mut Context, pin: Ref<Counter>, delay_ms: u64, name: String) -> TaskResult {
    ctx.schedule_after(Mark { pin, name }, Duration::from_millis(delay_ms))?;
    Ok(())
}

#[task(name = "failures.after")]
fn after(ctx: &mut Context, pin: Ref<Counter>, delay_secs: u64, name: String) -> TaskResult {
    ctx.schedule_after(Mark { pin, name }, Duration::from_secs(delay_secs))?;
    Ok(())
}

struct FailuresGame;

impl App for FailuresGame {
    fn register(&self, types: &mut Types) {
        TestGame.register(types);
        types
            .object::<Holder>()
            .task::<Held>()
            .task::<SleepOn>()
            .task::<CopyPlusOne>()
            .task::<Report>()
            .task::<SetValue>()
            .task::<Mark>()
            .task::<ScheduleMark>()
            .task::<CancelIfGate>()
            .task::<Big>()
            .task::<Periodic>()
            .task::<After>()
            .task::<AfterMs>()
            .task::<Bomb>()
            .task::<AfterMax>();
    }
}

fn start_with(dir: &std::path::Path, f: impl FnOnce(&mut Config)) -> Server {
    let mut c = config(dir);
    // Past any hold: a held run aborted for its time would run again in another batch.
    c.task_time_limit_ms = 4 * PATIENCE.as_millis() as u64;
    f(&mut c);
    Server::builder(FailuresGame)
        .config(c)
        .start()
        .expect("starts")
}

/// Creates counter `name` and pins its affinity slot to `core`.
fn counter_on(server: &Server, name: &str, core: usize) -> Ref<Counter> {
    server
        .submit(Bump {
            name: name.into(),
            by: 0,
        })
        .wait()
        .unwrap();
    let r = server.query(|ctx| ctx.lookup::<Counter>(name)).unwrap();
    let p = server.placement();
    p.assign(p.slot_of(r.id()), core);
    r
}

fn value(server: &Server, r: Ref<Counter>) -> u64 {
    server.query(|ctx| Ok(ctx.get(r)?.value())).unwrap()
}

/// Whether a mark of `probe`, due `delay_ms` from now on `pin`'s core, has run within
/// [`PATIENCE`]. On one core, everything due before it has run by then: a check that
/// something did not run can follow, with no sleep that a slow machine could outlast.
fn probe(server: &Server, pin: Ref<Counter>, delay_ms: u64) -> bool {
    let before = counter(server, "probe").unwrap_or(0);
    server
        .submit(AfterMs {
            pin,
            delay_ms,
            name: "probe".into(),
        })
        .wait()
        .is_ok()
        && eventually(PATIENCE, || counter(server, "probe").unwrap_or(0) > before)
}

/// A failed task's reply waits for its batch to commit: what it reports may rest on an
/// earlier task of the batch, which a conflict can roll back and run again.
#[test]
fn a_failure_is_reported_only_once_its_batch_commits() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |_| {});
    let p0 = counter_on(&server, "p0", 0);
    let p1 = counter_on(&server, "p1", 1);
    let x = counter_on(&server, "x", 0);
    let y = counter_on(&server, "y", 0);
    let log: Arc<Mutex<Vec<String>>> = Arc::default();
    // Core 0 busy until released, so the next two are batched together.
    let blocker = server.submit(Held {
        pin: p0,
        hold: "report.blocker".into(),
    });
    holds::reached("report.blocker", 1);
    let l = log.clone();
    server.submit_with(
        CopyPlusOne {
            pin: p0,
            src: x,
            dst: y,
            hold: "report.copy".into(),
        },
        move |r| l.lock().unwrap().push(format!("copy: {r:?}")),
    );
    let l = log.clone();
    server.submit_with(Report { pin: p0, dst: y }, move |r| {
        l.lock().unwrap().push(format!("report: {r:?}"))
    });
    holds::release("report.blocker");
    // Once copy_plus_one has read x, change x on core 1: the batch then conflicts.
    holds::reached("report.copy", 1);
    server
        .submit(SetValue {
            pin: p1,
            target: x,
            v: 10,
        })
        .wait()
        .unwrap();
    holds::release("report.copy");
    blocker.wait().unwrap();
    assert!(eventually(PATIENCE, || log.lock().unwrap().len() == 2));
    let log = log.lock().unwrap().clone();
    let y_final = value(&server, y);
    eprintln!("replies in order: {log:#?}; y = {y_final}");
    assert_eq!(y_final, 11);
    assert!(
        !log.iter().any(|l| l.contains("dst=1\"")),
        "the failure reply reported dst=1, a value y never had (0 -> 11): {log:?}"
    );
    server.shutdown().unwrap();
}

/// A stored task skipped because an earlier task of its batch cancelled it runs after all
/// when that batch conflicts and the cancelling task, run again, does not cancel.
#[test]
fn a_stored_task_survives_a_cancel_that_rolled_back() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |_| {});
    let p0 = counter_on(&server, "p0", 0);
    let p1 = counter_on(&server, "p1", 1);
    let gate = counter_on(&server, "gate", 0);
    let blocker = server.submit(Held {
        pin: p0,
        hold: "cancel.blocker".into(),
    });
    holds::reached("cancel.blocker", 1);
    // In core 0's inbox first: runs first in the next batch.
    let cancel = server.submit(CancelIfGate {
        pin: p0,
        gate,
        hold: "cancel.gate".into(),
    });
    // On core 1: stores Mark (affinity p0, so core 0) and sends it to core 0's inbox.
    server
        .submit(ScheduleMark {
            pin: p1,
            target_pin: p0,
            name: "s_ran".into(),
        })
        .wait()
        .unwrap();
    holds::release("cancel.blocker");
    // Once cancel_if_gate has cancelled, open the gate on core 1: the batch then conflicts.
    holds::reached("cancel.gate", 1);
    server
        .submit(SetValue {
            pin: p1,
            target: gate,
            v: 1,
        })
        .wait()
        .unwrap();
    holds::release("cancel.gate");
    blocker.wait().unwrap();
    cancel.wait().unwrap();
    let ran = eventually(PATIENCE, || counter(&server, "s_ran") == Some(1));
    server.shutdown().unwrap();
    // It is still stored: it runs after a restart.
    let server = start_with(dir.path(), |_| {});
    let after_restart = eventually(PATIENCE, || counter(&server, "s_ran") == Some(1));
    server.shutdown().unwrap();
    assert!(
        ran,
        "the stored task was not cancelled (the committed run of cancel_if_gate saw gate = 1) \
         yet never ran; after a restart it ran: {after_restart}"
    );
}

/// Several tasks, each small enough, fill one batch past the segment size: the batch is
/// split and every task commits; the server keeps running.
#[test]
fn a_batch_too_large_for_one_commit_is_split() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| {
        c.cores = 1;
        c.segment_size_mib = 1;
    });
    let p0 = counter_on(&server, "p0", 0);
    // Core 0 busy until all eight are in its inbox, so they are batched together.
    let blocker = server.submit(Held {
        pin: p0,
        hold: "split.blocker".into(),
    });
    holds::reached("split.blocker", 1);
    let subs: Vec<_> = (0..8)
        .map(|_| {
            server.submit(Big {
                pin: p0,
                bytes: 200_000,
            })
        })
        .collect();
    holds::release("split.blocker");
    let _ = blocker.wait();
    let results: Vec<_> = subs.into_iter().map(|s| s.wait()).collect();
    let after = server
        .submit(Bump {
            name: "after".into(),
            by: 1,
        })
        .wait();
    eprintln!("big tasks: {results:?}\nlater task: {after:?}");
    assert!(
        results.iter().all(|r| r.is_ok()) && after.is_ok(),
        "8 x 200 kB tasks, each fine alone, stopped the server"
    );
}

/// A periodic task with a huge period saturates its next due time instead of overflowing.
#[test]
fn a_huge_period_saturates() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| c.cores = 1);
    let p0 = counter_on(&server, "p0", 0);
    let first = server
        .submit(Periodic {
            pin: p0,
            period_ms: u64::MAX,
        })
        .wait();
    eprintln!("the committed Periodic submission was told: {first:?}");
    let runs = || {
        server.query(|ctx| {
            Ok(match ctx.try_lookup::<Counter>("periodic")? {
                Some(c) => ctx.get(c)?.value(),
                None => 0,
            })
        })
    };
    // The first run is due at once; a wrapped-around second one before the probe.
    let ran = first.is_ok() && eventually(PATIENCE, || matches!(runs(), Ok(n) if n >= 1));
    let probed = ran && probe(&server, p0, 100);
    let later = server
        .submit(Bump {
            name: "later".into(),
            by: 1,
        })
        .wait();
    let runs = runs();
    let shutdown = server.shutdown();
    eprintln!(
        "later: {later:?}; periodic runs: {runs:?}; probed: {probed}; shutdown: {shutdown:?}"
    );
    assert!(
        first.is_ok(),
        "the committed submission was refused: {first:?}"
    );
    assert!(later.is_ok() && shutdown.is_ok(), "the core died");
    assert!(ran, "the first run never came");
    assert!(probed, "the probe never ran");
    assert_eq!(runs.unwrap(), 1, "ran more than once");
}

/// A reply closure that panics is contained; the core keeps serving.
#[test]
fn a_panicking_reply_does_not_stop_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| c.cores = 1);
    let replied = Arc::new(AtomicBool::new(false));
    let r = replied.clone();
    server.submit_with(
        Bump {
            name: "a".into(),
            by: 1,
        },
        move |_| {
            r.store(true, Ordering::SeqCst);
            panic!("reply closure bug")
        },
    );
    assert!(
        eventually(PATIENCE, || replied.load(Ordering::SeqCst)),
        "the reply never came"
    );
    let (tx, rx) = std::sync::mpsc::channel();
    server.submit_with(
        Bump {
            name: "b".into(),
            by: 1,
        },
        move |r| {
            let _ = tx.send(r);
        },
    );
    let later = rx.recv_timeout(PATIENCE);
    eprintln!("later: {later:?}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.shutdown());
    });
    let shutdown = rx.recv_timeout(PATIENCE);
    eprintln!("shutdown within {PATIENCE:?}: {shutdown:?}");
    assert!(matches!(later, Ok(Ok(()))), "the core died: {later:?}");
    assert!(
        matches!(shutdown, Ok(Ok(()))),
        "shutdown failed: {shutdown:?}"
    );
}

/// A delay whose millisecond count exceeds u64 saturates instead of wrapping.
#[test]
fn a_huge_delay_saturates() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| c.cores = 1);
    let p0 = counter_on(&server, "p0", 0);
    // 18446744073709552 s = 18446744073709552000 ms = 2^64 + 384 ms.
    server
        .submit(After {
            pin: p0,
            delay_secs: 18_446_744_073_709_552,
            name: "never".into(),
        })
        .wait()
        .unwrap();
    // Due after the 384 ms a wrapped-around delay would come to.
    let probed = probe(&server, p0, 500);
    let ran = counter(&server, "never");
    server.shutdown().unwrap();
    assert!(probed, "the probe never ran");
    assert_eq!(
        ran, None,
        "a task delayed by ~584 million years ran after 384 ms"
    );
}

struct Grenade;
impl Drop for Grenade {
    fn drop(&mut self) {
        panic!("payload dropped");
    }
}

#[task(name = "failures.bomb")]
fn bomb(_ctx: &mut Context) -> TaskResult {
    std::panic::panic_any(Grenade)
}

/// A panic payload whose `Drop` panics too is contained.
#[test]
fn a_panic_payload_that_panics_when_dropped_is_contained() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| c.cores = 1);
    let r = server.submit(Bomb {}).wait();
    let (tx, rx) = std::sync::mpsc::channel();
    server.submit_with(
        Bump {
            name: "b".into(),
            by: 1,
        },
        move |r| {
            let _ = tx.send(r);
        },
    );
    let later = rx.recv_timeout(PATIENCE);
    let shutdown = server.shutdown();
    eprintln!("bomb: {r:?}; later: {later:?}; shutdown: {shutdown:?}");
    assert!(r.is_err(), "a panicking task reported success");
    assert!(matches!(later, Ok(Ok(()))), "the core died");
    assert!(shutdown.is_ok(), "an executor thread failed: {shutdown:?}");
}

#[task(name = "failures.after_max")]
fn after_max(ctx: &mut Context, pin: Ref<Counter>) -> TaskResult {
    ctx.schedule_after(
        Mark {
            pin,
            name: "max".into(),
        },
        Duration::MAX,
    )?;
    Ok(())
}

/// `schedule_after(Duration::MAX)`, then the core idles with that timer.
#[test]
fn the_longest_delay_leaves_the_core_idle() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| c.cores = 1);
    let p0 = counter_on(&server, "p0", 0);
    server.submit(AfterMax { pin: p0 }).wait().unwrap();
    // A chance to idle before the bump; a core that idles only after it still idles with
    // the timer, and a failure then shows in the shutdown.
    std::thread::sleep(Duration::from_millis(300));
    let later = server
        .submit(Bump {
            name: "b".into(),
            by: 1,
        })
        .wait();
    let shutdown = server.shutdown();
    eprintln!("later: {later:?}; shutdown: {shutdown:?}");
    assert!(later.is_ok() && shutdown.is_ok());
}

/// One task too large for a segment fails alone; the server keeps running.
#[test]
fn a_task_too_large_for_one_commit_fails_alone() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| {
        c.cores = 1;
        c.segment_size_mib = 1;
    });
    let p0 = counter_on(&server, "p0", 0);
    let big = server
        .submit(Big {
            pin: p0,
            bytes: 2_000_000,
        })
        .wait();
    let after = server
        .submit(Bump {
            name: "after".into(),
            by: 1,
        })
        .wait();
    eprintln!("big: {big:?}; after: {after:?}");
    assert!(
        big.is_err() && after.is_ok(),
        "one oversized task stopped the server"
    );
}

/// A task that always runs past the time limit is rescheduled a few times, then its
/// submitter is told.
#[test]
fn a_task_always_past_its_time_limit_is_eventually_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| {
        c.cores = 1;
        c.task_time_limit_ms = 20;
        c.max_attempts = 3;
        c.reschedule_after_ms = 100;
    });
    let p0 = counter_on(&server, "p0", 0);
    let (tx, rx) = std::sync::mpsc::channel();
    server.submit_with(SleepOn { pin: p0, ms: 30 }, move |r| {
        let _ = tx.send(r);
    });
    let r = rx.recv_timeout(PATIENCE);
    eprintln!("reply: {r:?}; stats: {:?}", server.stats());
    server.shutdown().unwrap();
    assert!(r.is_ok(), "no reply within {PATIENCE:?}");
}
