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
}

#[task(name = "test.sched.tick")]
fn tick(ctx: &mut Context, ticker: Ref<Ticker>, stop_after: u64) -> TaskResult {
    let mut t = ctx.get_mut(ticker)?;
    t.runs += 1;
    t.last_ms = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_millis() as u64;
    if stop_after > 0 && t.runs >= stop_after {
        // Cancels itself through the handle of the running task.
        let me = ctx
            .current_task()
            .expect("a scheduled task knows its handle");
        assert_eq!(Some(me), t.handle);
        assert!(ctx.cancel(me)?);
    }
    Ok(())
}

#[task(name = "test.sched.start_ticker")]
fn start_ticker(ctx: &mut Context, period_ms: u64, stop_after: u64) -> TaskResult {
    let ticker = ctx.create(Ticker {
        runs: 0,
        handle: None,
        last_ms: 0,
    })?;
    ctx.bind("ticker", ticker)?;
    let period = Duration::from_millis(period_ms);
    let h = ctx.schedule_periodic(Tick { ticker, stop_after }, period, period)?;
    ctx.get_mut(ticker)?.handle = Some(h);
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
            .task::<CancelTicker>()
            .task::<ScheduleAndFail>()
            .task::<ScheduleAndCancel>();
    }
}

fn runs(server: &darkstar_runtime::Server) -> u64 {
    server
        .query(|ctx| Ok(ctx.get(ctx.lookup::<Ticker>("ticker")?)?.runs()))
        .unwrap()
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
    assert!(eventually(Duration::from_secs(5), || counter(&server, "d") == Some(1)));
    assert!(
        t.elapsed() >= Duration::from_millis(150),
        "ran before its delay"
    );
    server.submit(ScheduleAndFail {}).wait().unwrap_err();
    server.submit(ScheduleAndCancel {}).wait().unwrap();
    std::thread::sleep(Duration::from_millis(100));
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
    assert!(eventually(Duration::from_secs(5), || counter(&server, "r") == Some(1)));
    std::thread::sleep(Duration::from_millis(100));
    assert_eq!(counter(&server, "r"), Some(1), "ran once");
    server.shutdown().unwrap();
}

#[test]
fn periodic_tasks_repeat_resume_after_restart_and_cancel_themselves() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(SchedGame, dir.path());
    server
        .submit(StartTicker {
            period_ms: 20,
            stop_after: 12,
        })
        .wait()
        .unwrap();
    assert!(eventually(Duration::from_secs(5), || runs(&server) >= 4));
    server.shutdown().unwrap();
    let at_restart = {
        let server = start(SchedGame, dir.path());
        let n = runs(&server);
        assert!(
            eventually(Duration::from_secs(5), || runs(&server) == 12),
            "the periodic task resumed and stopped itself at 12"
        );
        std::thread::sleep(Duration::from_millis(100));
        assert_eq!(runs(&server), 12, "it ran after cancelling itself");
        server.shutdown().unwrap();
        n
    };
    assert!(at_restart < 12);
}

#[test]
fn cancelling_works_across_restarts() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(SchedGame, dir.path());
    server
        .submit(StartTicker {
            period_ms: 400,
            stop_after: 0,
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    server.submit(CancelTicker {}).wait().unwrap();
    server.shutdown().unwrap();
    let server = start(SchedGame, dir.path());
    std::thread::sleep(Duration::from_millis(700));
    assert_eq!(runs(&server), 0, "a cancelled periodic task ran");
    server.shutdown().unwrap();
}
