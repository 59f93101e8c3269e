//! Running tasks: commits, rollbacks, panics, time limits and retries.

mod common;

use std::sync::atomic::Ordering;

use common::*;
use darkstar_runtime::Server;
use darkstar_sdk::prelude::*;

#[test]
fn a_failed_task_leaves_nothing_and_others_in_its_batch_commit() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(TestGame, dir.path());
    let mut pending = Vec::new();
    for i in 0..200 {
        if i % 3 == 0 {
            pending.push((false, server.submit(BumpThenFail { name: "n".into() })));
        } else {
            pending.push((
                true,
                server.submit(Bump {
                    name: "n".into(),
                    by: 1,
                }),
            ));
        }
    }
    let mut ok = 0;
    for (should_commit, p) in pending {
        let r = p.wait();
        assert_eq!(r.is_ok(), should_commit, "{r:?}");
        ok += u64::from(should_commit);
    }
    assert_eq!(counter(&server, "n"), Some(ok));
    assert_eq!(server.stats().failed, 67);
    server.shutdown().unwrap();
}

#[test]
fn a_panic_rolls_back_its_task_only_and_the_server_keeps_running() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(TestGame, dir.path());
    server
        .submit(Bump {
            name: "p".into(),
            by: 1,
        })
        .wait()
        .unwrap();
    let e = server
        .submit(BumpThenPanic { name: "p".into() })
        .wait()
        .unwrap_err();
    assert!(e.to_string().contains("game code bug"), "{e}");
    assert!(!e.is_retryable());
    server
        .submit(Bump {
            name: "p".into(),
            by: 1,
        })
        .wait()
        .unwrap();
    assert_eq!(counter(&server, "p"), Some(2));
    server.shutdown().unwrap();
}

#[test]
fn a_task_past_its_time_limit_is_aborted_and_retried() {
    let dir = tempfile::tempdir().unwrap();
    let mut config = config(dir.path());
    config.task_time_limit_ms = 20;
    let server = Server::builder(TestGame).config(config).start().unwrap();
    SLOW_RUNS.store(0, Ordering::SeqCst);
    server
        .submit(SlowOnce {
            name: "slow".into(),
            sleep_ms: 60,
        })
        .wait()
        .unwrap();
    // A retry, too, may overrun the limit on a loaded machine and run once more.
    assert!(
        SLOW_RUNS.load(Ordering::SeqCst) >= 2,
        "the run past the limit was aborted and retried"
    );
    assert_eq!(
        counter(&server, "slow"),
        Some(1),
        "only the retry committed"
    );
    server.shutdown().unwrap();
}

#[test]
fn concurrent_increments_of_one_object_from_every_core_are_serializable() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(TestGame, dir.path());
    server
        .submit(Bump {
            name: "hot".into(),
            by: 0,
        })
        .wait()
        .unwrap();
    let hot = server.query(|ctx| ctx.lookup::<Counter>("hot")).unwrap();
    // Half go by reference (placed by the object), half by name (placed anywhere), so the
    // two cores really do race on the same object.
    let pending: Vec<_> = (0..4000)
        .map(|i| {
            if i % 2 == 0 {
                server.submit(Incr { counter: hot })
            } else {
                server.submit(Bump {
                    name: "hot".into(),
                    by: 1,
                })
            }
        })
        .collect();
    for p in pending {
        p.wait().unwrap();
    }
    assert_eq!(counter(&server, "hot"), Some(4000), "an increment was lost");
    server.shutdown().unwrap();
}

#[test]
fn submissions_after_shutdown_began_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(TestGame, dir.path());
    let pending: Vec<_> = (0..1000)
        .map(|_| {
            server.submit(Bump {
                name: "s".into(),
                by: 1,
            })
        })
        .collect();
    server.shutdown().unwrap();
    let ok = pending
        .into_iter()
        .map(|p| u64::from(acknowledged(p)))
        .sum::<u64>();
    let server = start(TestGame, dir.path());
    assert_eq!(
        counter(&server, "s").unwrap_or(0),
        ok,
        "every acknowledged task is stored, and nothing else"
    );
    server.shutdown().unwrap();
}

/// Whether the task committed; a refusal must say the server is stopping.
fn acknowledged(p: darkstar_runtime::Submission) -> bool {
    match p.wait() {
        Ok(()) => true,
        Err(e) => {
            assert!(matches!(e, TaskError::Unavailable { .. }), "{e}");
            false
        }
    }
}

#[test]
fn an_unregistered_task_is_refused_at_submission() {
    #[task(name = "test.tasks.stranger")]
    fn stranger(_ctx: &mut Context) -> TaskResult {
        Ok(())
    }
    let dir = tempfile::tempdir().unwrap();
    let server = start(TestGame, dir.path());
    let e = server.submit(Stranger {}).wait().unwrap_err();
    assert_eq!(
        e,
        TaskError::Unregistered {
            type_name: "test.tasks.stranger"
        }
    );
    server.shutdown().unwrap();
}
