//! Durable scheduling: delayed, periodic and cancelled tasks, across restarts.

mod common;

use std::time::{Duration, Instant};

use common::*;
use darkstar_sdk::prelude::*;

/// Ticks: counts runs and checks they never overlap.
#[managed(name = "test.Ticker")]
struct Ticker {
    runs: u64,
    handle: Option<TaskHandle>,
    last_ms: u64,
    /// The ticker cancels itself once `runs` reaches this; 0 for never.
    stop_at: u64,
    /// Whether the ticker was cancelled, and `runs` as the cancelling task saw it: any
    /// larger count is a run after the cancel.
    cancelled: bool,
    runs_at_cancel: u64,
    /// Probes that have run (see [`probe`]).
    probes: u64,
}

#[task(name = "test.sched.tick")]
fn tick(ctx: &mut Context, ticker: Ref<Ticker>) -> TaskResult {
    let mut t = ctx.get_mut(ticker)?;
    t.runs += 1;
    t.last_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    if t.stop_at > 0 && t.runs >= t.stop_at {
        // Cancels itself through the handle of the running task.
        let me = ctx
            .current_task()
            .expect("a scheduled task knows its handle");
        assert_eq!(Some(me), t.handle);
        assert!(ctx.cancel(me)?);
        t.cancelled = true;
        t.runs_at_cancel = t.runs;
    }
    Ok(())
}

#[task(name = "test.sched.start_ticker")]
fn start_ticker(ctx: &mut Context, period_ms: u64) -> TaskResult {
    let ticker = ctx.create(Ticker {
        runs: 0,
        handle: None,
        last_ms: 0,
        stop_at: 0,
        cancelled: false,
        runs_at_cancel: 0,
        probes: 0,
    })?;
    ctx.bind("ticker", ticker)?;
    let period = Duration::from_millis(period_ms);
    let h = ctx.schedule_periodic(Tick { ticker }, period, period)?;
    ctx.get_mut(ticker)?.handle = Some(h);
    Ok(())
}

/// Makes the ticker stop itself `more` runs after the runs this task sees.
#[task(name = "test.sched.stop_after")]
fn stop_after(ctx: &mut Context, more: u64) -> TaskResult {
    let t = ctx.lookup::<Ticker>("ticker")?;
    let mut t = ctx.get_mut(t)?;
    t.stop_at = t.runs + more;
    Ok(())
}

#[task(name = "test.sched.cancel_ticker")]
fn cancel_ticker(ctx: &mut Context) -> TaskResult {
    let t = ctx.lookup::<Ticker>("ticker")?;
    let h = ctx
        .get(t)?
        .handle
        .as_ref()
        .map(|h| h.get())
        .expect("handle");
    assert!(ctx.cancel(h)?, "the ticker was pending");
    assert!(!ctx.cancel(h)?, "cancelling twice finds nothing");
    // Written by the transaction that cancels, so no run can fall between the two.
    let mut t = ctx.get_mut(t)?;
    t.cancelled = true;
    t.runs_at_cancel = t.runs;
    Ok(())
}

/// Schedules [`FireProbe`] `delay_ms` from now. It has the ticker's affinity, so it is due on
/// the ticker's core, whose timers come due in order.
#[task(name = "test.sched.plant_probe")]
fn plant_probe(ctx: &mut Context, ticker: Ref<Ticker>, delay_ms: u64) -> TaskResult {
    ctx.schedule_after(FireProbe { ticker }, Duration::from_millis(delay_ms))?;
    Ok(())
}

#[task(name = "test.sched.fire_probe")]
fn fire_probe(ctx: &mut Context, ticker: Ref<Ticker>) -> TaskResult {
    ctx.get_mut(ticker)?.probes += 1;
    Ok(())
}

#[task(name = "test.sched.schedule_and_fail")]
fn schedule_and_fail(ctx: &mut Context) -> TaskResult {
    ctx.schedule(Bump {
        name: "ghost".into(),
        by: 1,
    })?;
    Err(TaskError::abort("the schedule must not survive this"))
}

#[task(name = "test.sched.schedule_and_cancel")]
fn schedule_and_cancel(ctx: &mut Context) -> TaskResult {
    let h = ctx.schedule(Bump {
        name: "never".into(),
        by: 1,
    })?;
    assert!(ctx.cancel(h)?);
    Ok(())
}

struct SchedGame;

impl App for SchedGame {
    fn register(&self, types: &mut Types) {
        TestGame.register(types);
        types
            .object::<Ticker>()
            .task::<Tick>()
            .task::<StartTicker>()
            .task::<StopAfter>()
            .task::<CancelTicker>()
            .task::<PlantProbe>()
            .task::<FireProbe>()
            .task::<ScheduleAndFail>()
            .task::<ScheduleAndCancel>();
    }
}

fn ticker(server: &darkstar_runtime::Server) -> Ref<Ticker> {
    server.query(|ctx| ctx.lookup::<Ticker>("ticker")).unwrap()
}

fn runs(server: &darkstar_runtime::Server) -> u64 {
    server
        .query(|ctx| Ok(ctx.get(ctx.lookup::<Ticker>("ticker")?)?.runs()))
        .unwrap()
}

/// The ticker's `(stop_at, cancelled, runs_at_cancel)`.
fn stop_state(server: &darkstar_runtime::Server) -> (u64, bool, u64) {
    server
        .query(|ctx| {
            let t = ctx.get(ctx.lookup::<Ticker>("ticker")?)?;
            Ok((t.stop_at(), t.cancelled(), t.runs_at_cancel()))
        })
        .unwrap()
}

/// Waits until a probe due `delay_ms` from now has run on the ticker's core. Any tick due
/// before it has run by then, so a check that no tick ran can follow without a bare sleep;
/// on a slow machine the wait is longer, never too short.
fn probe(server: &darkstar_runtime::Server, delay_ms: u64) {
    let probes = || {
        server
            .query(|ctx| Ok(ctx.get(ctx.lookup::<Ticker>("ticker")?)?.probes()))
            .unwrap()
    };
    let before = probes();
    server
        .submit(PlantProbe {
            ticker: ticker(server),
            delay_ms,
        })
        .wait()
        .unwrap();
    assert!(
        eventually(PATIENCE, || probes() > before),
        "the probe never ran"
    );
}

/// Waits until a bump of `probe`, due `delay_ms` from now, has run: the counterpart of
/// [`probe`] for tests without a ticker (the bump runs on any core, so the check after it is
/// weaker, but never fails spuriously).
fn probe_counter(server: &darkstar_runtime::Server, delay_ms: u64) {
    let before = counter(server, "probe").unwrap_or(0);
    server
        .submit(Later {
            name: "probe".into(),
            delay_ms,
        })
        .wait()
        .unwrap();
    assert!(
        eventually(PATIENCE, || counter(server, "probe").unwrap_or(0) > before),
        "the probe never ran"
    );
}

#[test]
fn scheduled_tasks_run_after_their_commit_and_delay() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(SchedGame, dir.path());
    let t = Instant::now();
    server
        .submit(Later {
            name: "d".into(),
            delay_ms: 150,
        })
        .wait()
        .unwrap();
    assert!(eventually(PATIENCE, || counter(&server, "d") == Some(1)));
    // Due times are whole wall-clock milliseconds: a run may come up to 1 ms before the
    // delay measured from an instant taken mid-millisecond.
    assert!(
        t.elapsed() + Duration::from_millis(1) >= Duration::from_millis(150),
        "ran before its delay"
    );
    server.submit(ScheduleAndFail {}).wait().unwrap_err();
    server.submit(ScheduleAndCancel {}).wait().unwrap();
    // Both would have been due at once, before the probe.
    probe_counter(&server, 100);
    assert_eq!(
        counter(&server, "ghost"),
        None,
        "a rolled-back schedule ran"
    );
    assert_eq!(counter(&server, "never"), None, "a cancelled schedule ran");
    server.shutdown().unwrap();
}

#[test]
fn delayed_tasks_survive_a_restart() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(SchedGame, dir.path());
    server
        .submit(Later {
            name: "r".into(),
            delay_ms: 300,
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    assert!(eventually(PATIENCE, || counter(&server, "r") == Some(1)));
    // A second run would be due no later than the first.
    probe_counter(&server, 100);
    assert_eq!(counter(&server, "r"), Some(1), "ran once");
    server.shutdown().unwrap();
}

#[test]
fn periodic_tasks_repeat_resume_after_restart_and_cancel_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(SchedGame, dir.path());
    server.submit(StartTicker { period_ms: 20 }).wait().unwrap();
    assert!(eventually(PATIENCE, || runs(&server) >= 4), "it repeats");
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    // The stop is set relative to the runs this transaction sees, after the restart, so
    // however long the restart took, the ticker must run 8 more times to get there.
    server.submit(StopAfter { more: 8 }).wait().unwrap();
    let (stop_at, _, _) = stop_state(&server);
    assert!(stop_at >= 4 + 8, "the runs before the restart were kept");
    assert!(
        eventually(PATIENCE, || runs(&server) == stop_at),
        "the periodic task resumed and stopped itself at {stop_at}, it is at {}",
        runs(&server)
    );
    assert_eq!(stop_state(&server), (stop_at, true, stop_at));
    // Runs were 20 ms apart; the probe is due after several of them.
    probe(&server, 100);
    assert_eq!(runs(&server), stop_at, "it ran after cancelling itself");
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    probe(&server, 100);
    assert_eq!(runs(&server), stop_at, "it ran after a restart");
    server.shutdown().unwrap();
}

#[test]
fn cancelling_works_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(SchedGame, dir.path());
    server.submit(StartTicker { period_ms: 50 }).wait().unwrap();
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    assert!(
        eventually(PATIENCE, || runs(&server) >= 1),
        "the periodic task resumed after the restart"
    );
    server.submit(CancelTicker {}).wait().unwrap();
    let (_, cancelled, at_cancel) = stop_state(&server);
    assert!(cancelled && at_cancel >= 1);
    // Due after several periods: a tick that survived the cancel would have run first.
    probe(&server, 200);
    assert_eq!(runs(&server), at_cancel, "a cancelled periodic task ran");
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    probe(&server, 200);
    assert_eq!(
        runs(&server),
        at_cancel,
        "a cancelled periodic task ran after a restart"
    );
    server.shutdown().unwrap();
}
