//! Failure modes: each test pins down how the runtime contains one of them.

mod common;

use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use common::*;
use darkstar_runtime::{Config, Server};
use darkstar_sdk::prelude::*;

#[managed(name = "failures.Holder")]
struct Holder {
    handle: Option<TaskHandle>,
}

#[task(name = "failures.sleep_on")]
fn sleep_on(_ctx: &mut Context, pin: Ref<Counter>, ms: u64) -> TaskResult {
    let _ = pin;
    std::thread::sleep(Duration::from_millis(ms));
    Ok(())
}

/// dst = src + 1, sleeping in between (to leave a window for a concurrent write of src).
#[task(name = "failures.copy_plus_one")]
fn copy_plus_one(
    ctx: &mut Context,
    pin: Ref<Counter>,
    src: Ref<Counter>,
    dst: Ref<Counter>,
    sleep_ms: u64,
) -> TaskResult {
    let _ = pin;
    let v = ctx.get(src)?.value();
    std::thread::sleep(Duration::from_millis(sleep_ms));
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

/// Cancels the held task if the gate is 0; then sleeps.
#[task(name = "failures.cancel_if_gate")]
fn cancel_if_gate(
    ctx: &mut Context,
    pin: Ref<Counter>,
    gate: Ref<Counter>,
    sleep_ms: u64,
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
    std::thread::sleep(Duration::from_millis(sleep_ms));
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
            .task::<Bomb>()
            .task::<AfterMax>();
    }
}

fn start_with(dir: &std::path::Path, f: impl FnOnce(&mut Config)) -> Server {
    let mut c = config(dir);
    c.task_time_limit_ms = 5000;
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
    let t0 = Instant::now();
    // Core 0 busy, so the next two are batched together.
    let blocker = server.submit(SleepOn { pin: p0, ms: 100 });
    let l = log.clone();
    server.submit_with(
        CopyPlusOne {
            pin: p0,
            src: x,
            dst: y,
            sleep_ms: 200,
        },
        move |r| l.lock().unwrap().push(format!("copy: {r:?}")),
    );
    let l = log.clone();
    server.submit_with(Report { pin: p0, dst: y }, move |r| {
        l.lock().unwrap().push(format!("report: {r:?}"))
    });
    // While copy_plus_one sleeps (t = 100..300 ms), change x on core 1.
    std::thread::sleep(Duration::from_millis(200).saturating_sub(t0.elapsed()));
    server
        .submit(SetValue {
            pin: p1,
            target: x,
            v: 10,
        })
        .wait()
        .unwrap();
    blocker.wait().unwrap();
    assert!(eventually(Duration::from_secs(5), || log
        .lock()
        .unwrap()
        .len()
        == 2));
    let log = log.lock().unwrap().clone();
    let y_final = value(&server, y);
    eprintln!("replies in order: {log:#?}; y = {y_final}");
    assert_eq!(y_final, 11);
    assert!(
        !log[0].contains("dst=1\""),
        "the failure reply reported dst=1, a value y never had (0 -> 11), and came first: {log:?}"
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
    let t0 = Instant::now();
    let blocker = server.submit(SleepOn { pin: p0, ms: 200 });
    std::thread::sleep(Duration::from_millis(20)); // the blocker's batch has started
                                                   // In core 0's inbox first: runs first in the next batch.
    let cancel = server.submit(CancelIfGate {
        pin: p0,
        gate,
        sleep_ms: 300,
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
    assert!(
        t0.elapsed() < Duration::from_millis(150),
        "too slow to set up"
    );
    // While cancel_if_gate sleeps (t = 200..500 ms), open the gate on core 1.
    std::thread::sleep(Duration::from_millis(350).saturating_sub(t0.elapsed()));
    server
        .submit(SetValue {
            pin: p1,
            target: gate,
            v: 1,
        })
        .wait()
        .unwrap();
    blocker.wait().unwrap();
    cancel.wait().unwrap();
    let ran = eventually(Duration::from_secs(2), || {
        counter(&server, "s_ran") == Some(1)
    });
    server.shutdown().unwrap();
    // It is still stored: it runs after a restart.
    let server = start_with(dir.path(), |_| {});
    let after_restart = eventually(Duration::from_secs(2), || {
        counter(&server, "s_ran") == Some(1)
    });
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
    let blocker = server.submit(SleepOn { pin: p0, ms: 100 });
    std::thread::sleep(Duration::from_millis(20));
    let subs: Vec<_> = (0..8)
        .map(|_| {
            server.submit(Big {
                pin: p0,
                bytes: 200_000,
            })
        })
        .collect();
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
    std::thread::sleep(Duration::from_millis(300));
    let later = server
        .submit(Bump {
            name: "later".into(),
            by: 1,
        })
        .wait();
    let runs = server.query(|ctx| {
        Ok(match ctx.try_lookup::<Counter>("periodic")? {
            Some(c) => ctx.get(c)?.value(),
            None => 0,
        })
    });
    let shutdown = server.shutdown();
    eprintln!("later: {later:?}; periodic runs: {runs:?}; shutdown: {shutdown:?}");
    assert!(
        first.is_ok(),
        "the committed submission was refused: {first:?}"
    );
    assert!(later.is_ok() && shutdown.is_ok(), "the core died");
    assert_eq!(runs.unwrap(), 1, "ran more than once");
}

/// A reply closure that panics is contained; the core keeps serving.
#[test]
fn a_panicking_reply_does_not_stop_the_core() {
    let dir = tempfile::tempdir().unwrap();
    let server = start_with(dir.path(), |c| c.cores = 1);
    server.submit_with(
        Bump {
            name: "a".into(),
            by: 1,
        },
        |_| panic!("reply closure bug"),
    );
    std::thread::sleep(Duration::from_millis(200));
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
    let later = rx.recv_timeout(Duration::from_secs(3));
    eprintln!("later: {later:?}");
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(server.shutdown());
    });
    let shutdown = rx.recv_timeout(Duration::from_secs(5));
    eprintln!("shutdown within 5 s: {shutdown:?}");
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
    std::thread::sleep(Duration::from_millis(800));
    let ran = counter(&server, "never");
    server.shutdown().unwrap();
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
    let later = rx.recv_timeout(Duration::from_secs(3));
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
    let r = rx.recv_timeout(Duration::from_secs(3));
    eprintln!("reply after 3 s: {r:?}; stats: {:?}", server.stats());
    server.shutdown().unwrap();
    assert!(r.is_ok(), "no reply");
}
