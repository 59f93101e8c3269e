//! Behaviour of the store through its public API.

use std::future::Future;
use std::sync::Arc;

mod common;
use common::{copy_dir, segment_files};

use darkstar_storage::{Batch, CommitError, ConflictKey, Durability, OpenError, Options, Store};

fn small() -> Options {
    Options {
        segment_size: 64 << 10,
        background_compaction: false,
        ..Options::default()
    }
}

fn put(store: &Store, id: u64, value: &[u8]) -> u64 {
    let mut b = Batch::new();
    b.put_object(id, "test::Thing", value);
    let seq = store.commit(&b).unwrap();
    store.wait_durable(seq).unwrap();
    seq
}

#[test]
fn objects_names_and_tasks_survive_reopen() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), small()).unwrap();
        let mut b = Batch::new();
        b.put_object(1, "game::Player", b"alice");
        b.put_object(2, "game::Player", b"bob");
        b.bind("player.alice", 1);
        b.bind("player.bob", 2);
        b.put_task(10, "game::Tick", b"every second");
        let seq = store.commit(&b).unwrap();
        store.wait_durable(seq).unwrap();
        let mut b = Batch::new();
        b.remove_object(2);
        b.unbind("player.bob");
        store.commit(&b).unwrap();
        store.close().unwrap();
    }
    let store = Store::open(dir.path(), small()).unwrap();
    let snap = store.snapshot();
    let alice = snap.object(1).unwrap();
    assert_eq!(alice.type_name, "game::Player");
    assert_eq!(alice.value, b"alice");
    assert_eq!(
        alice.value.as_ptr() as usize % 16,
        0,
        "values are 16-byte aligned"
    );
    assert!(snap.object(2).is_none());
    assert_eq!(snap.name("player.alice").unwrap().id, 1);
    assert!(snap.name("player.bob").is_none());
    assert_eq!(snap.task(10).unwrap().value, b"every second");
    assert_eq!(snap.task_ids(), vec![10]);
    assert_eq!(snap.object_ids(), vec![1]);
    assert!(
        store.allocate_id() > 10,
        "ids never go back below what was stored"
    );
}

#[test]
fn stale_reads_are_rejected_and_nothing_is_applied() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let v1 = put(&store, 7, b"one");
    let snap = store.snapshot();
    assert_eq!(snap.object(7).unwrap().version, v1);
    put(&store, 7, b"two");

    let mut b = Batch::new();
    b.read_object(7, v1);
    b.put_object(7, "test::Thing", b"three");
    b.bind("side-effect", 7);
    let err = store.commit(&b).unwrap_err();
    assert!(
        matches!(err, CommitError::Conflict(ConflictKey::Object(7))),
        "{err}"
    );
    assert!(err.is_retryable());
    let now = store.snapshot();
    assert_eq!(now.object(7).unwrap().value, b"two");
    assert!(now.name("side-effect").is_none());
    // The old snapshot still reads the version it started with.
    assert_eq!(snap.object(7).unwrap().value, b"one");

    // Reading "absent" conflicts with a concurrent creation.
    let mut b = Batch::new();
    b.read_object(8, 0);
    b.put_object(8, "test::Thing", b"mine");
    put(&store, 8, b"theirs");
    assert!(matches!(
        store.commit(&b),
        Err(CommitError::Conflict(ConflictKey::Object(8)))
    ));
}

#[test]
fn next_name_reads_catch_phantoms() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let mut b = Batch::new();
    for n in ["a", "c", "e"] {
        b.bind(n, 1);
    }
    store.commit(&b).unwrap();
    let snap = store.snapshot();
    let names: Vec<String> = snap.names().map(|(n, _)| n).collect();
    assert_eq!(names, ["a", "c", "e"]);
    assert_eq!(snap.next_name(Some("a")).unwrap().0, "c");
    assert_eq!(snap.next_name(Some("b")).unwrap().0, "c");
    assert!(snap.next_name(Some("e")).is_none());

    // A scan that saw "c" after "a" conflicts once "b" is bound in between.
    let mut scan = Batch::new();
    scan.read_next_name(Some("a"), Some("c"));
    scan.put_object(2, "test::Thing", b"scan result");
    let mut b = Batch::new();
    b.bind("b", 1);
    store.commit(&b).unwrap();
    assert!(matches!(
        store.commit(&scan),
        Err(CommitError::Conflict(ConflictKey::NextName { .. }))
    ));
    // And a scan that saw the end conflicts with a later name.
    let mut scan = Batch::new();
    scan.read_next_name(Some("e"), None);
    scan.put_object(2, "test::Thing", b"x");
    store.commit(&scan).unwrap();
    let mut b = Batch::new();
    b.bind("f", 1);
    store.commit(&b).unwrap();
    let mut scan = Batch::new();
    scan.read_next_name(Some("e"), None);
    scan.put_object(2, "test::Thing", b"x");
    assert!(store.commit(&scan).is_err());
}

#[test]
fn snapshots_never_see_part_of_a_commit() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), small()).unwrap());
    let mut b = Batch::new();
    b.put_object(1, "t", &0u64.to_le_bytes());
    b.put_object(2, "t", &0u64.to_le_bytes());
    store.commit(&b).unwrap();
    let writer = {
        let store = store.clone();
        std::thread::spawn(move || {
            let mut b = Batch::new();
            for i in 1..=3000u64 {
                b.clear();
                b.put_object(1, "t", &i.to_le_bytes());
                b.put_object(2, "t", &i.to_le_bytes());
                store.commit(&b).unwrap();
            }
        })
    };
    let mut checks = 0;
    while !writer.is_finished() || checks < 1000 {
        let snap = store.snapshot();
        let a = snap.object(1).unwrap().value.to_vec();
        let b = snap.object(2).unwrap().value.to_vec();
        assert_eq!(a, b, "a snapshot saw half of a commit");
        checks += 1;
    }
    writer.join().unwrap();
}

#[test]
fn many_threads_share_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Arc::new(Store::open(dir.path(), small()).unwrap());
    let threads: Vec<_> = (0..8u64)
        .map(|t| {
            let store = store.clone();
            std::thread::spawn(move || {
                let mut b = Batch::new();
                for i in 0..200u64 {
                    b.clear();
                    b.put_object(t * 1000 + i, "t", b"payload");
                    let seq = store.commit(&b).unwrap();
                    store.wait_durable(seq).unwrap();
                }
            })
        })
        .collect();
    for t in threads {
        t.join().unwrap();
    }
    let stats = store.stats();
    assert_eq!(stats.last_seq, 1600);
    assert_eq!(stats.durable_seq, 1600);
    assert!(
        stats.syncs < 1600,
        "group commit should share syncs, got {} syncs for 1600 commits",
        stats.syncs
    );
}

#[test]
fn updates_do_not_grow_the_files_forever() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let value = vec![7u8; 1000];
    let mut b = Batch::new();
    for round in 0..40u64 {
        for id in 0..20u64 {
            b.clear();
            b.put_object(id, "t", &value);
            if round % 2 == 0 {
                b.bind(&format!("name{id}"), id);
            } else {
                b.unbind(&format!("name{id}"));
            }
            store.commit(&b).unwrap();
        }
    }
    store.sync().unwrap();
    let before = store.stats();
    assert!(
        before.segments > 5,
        "the test should span many segments: {before:?}"
    );
    // An open snapshot pins what it can see; it must still read right after compaction.
    let snap = store.snapshot();
    let compacted = store.compact(0.5).unwrap();
    assert!(compacted > 0);
    for id in 0..20 {
        assert_eq!(
            snap.object(id).unwrap().value,
            &value[..],
            "pinned reads stay valid"
        );
    }
    drop(snap);
    // Long: it costs time only when the test fails, and a loaded machine may be slow.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.stats().segments >= before.segments && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    let after = store.stats();
    assert!(after.segments < before.segments, "{before:?} -> {after:?}");
    assert!(after.reclaimed_bytes > 0);
    let files = segment_files(dir.path()).len();
    assert!(
        files <= after.segments + 1,
        "retired segment files are deleted"
    );
    drop(store);
    let store = Store::open(dir.path(), small()).unwrap();
    let snap = store.snapshot();
    for id in 0..20 {
        assert_eq!(snap.object(id).unwrap().value, &value[..]);
        assert!(
            snap.name(&format!("name{id}")).is_none(),
            "unbinds survive compaction"
        );
    }
}

#[test]
fn background_compaction_reclaims_space_while_in_use() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        Options {
            background_compaction: true,
            ..small()
        },
    )
    .unwrap();
    let value = vec![1u8; 2000];
    let mut b = Batch::new();
    let mut last = 0;
    for round in 0..300u64 {
        b.clear();
        b.put_object(round % 10, "t", &value);
        last = store.commit(&b).unwrap();
    }
    store.wait_durable(last).unwrap();
    // Long: it costs time only when the test fails, and a loaded machine may be slow.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    while store.stats().compacted_segments == 0 && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(10));
    }
    assert!(store.stats().compacted_segments > 0, "{:?}", store.stats());
}

#[test]
fn open_refuses_what_is_not_a_store() {
    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("notes.txt"), b"hello").unwrap();
    let err = Store::open(dir.path(), small()).unwrap_err();
    assert!(matches!(err, OpenError::NotAStore { .. }), "{err}");
    assert!(err.to_string().contains("notes.txt"), "{err}");

    let dir = tempfile::tempdir().unwrap();
    std::fs::write(dir.path().join("STORE"), b"something else entirely").unwrap();
    let err = Store::open(dir.path(), small()).unwrap_err();
    assert!(matches!(err, OpenError::NotAStore { .. }), "{err}");

    let missing = dir.path().join("missing");
    let err = Store::open(
        &missing,
        Options {
            create: false,
            ..small()
        },
    )
    .unwrap_err();
    assert!(matches!(err, OpenError::NotAStore { .. }), "{err}");
}

#[test]
fn open_refuses_a_newer_format() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), small()).unwrap().close().unwrap();
    let path = dir.path().join("STORE");
    let mut bytes = std::fs::read(&path).unwrap();
    bytes[16..20].copy_from_slice(&99u32.to_le_bytes());
    std::fs::write(&path, bytes).unwrap();
    let err = Store::open(dir.path(), small()).unwrap_err();
    assert!(
        matches!(err, OpenError::NewerFormat { found: 99, .. }),
        "{err}"
    );
    assert!(err.to_string().contains("format 99"), "{err}");
}

#[test]
fn a_store_opens_once_at_a_time() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let err = Store::open(dir.path(), small()).unwrap_err();
    assert!(matches!(err, OpenError::Locked { .. }), "{err}");
    assert!(
        err.to_string()
            .contains(&format!("pid {}", std::process::id())),
        "{err}"
    );
    drop(store);
    Store::open(dir.path(), small()).unwrap();
}

#[test]
fn a_store_closed_here_opens_again_while_a_child_being_spawned_shares_its_lock() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    // A child between fork and exec: it holds a copy of every descriptor, the lock's too.
    // SAFETY: the child calls only async-signal-safe functions (nanosleep, _exit) before
    // it exits, so forking a multi-threaded process is sound.
    let child = unsafe { libc::fork() };
    assert!(child >= 0, "fork");
    if child == 0 {
        let pause = libc::timespec {
            tv_sec: 0,
            tv_nsec: 300_000_000,
        };
        // SAFETY: see above.
        unsafe {
            libc::nanosleep(&pause, std::ptr::null_mut());
            libc::_exit(0);
        }
    }
    drop(store);
    // Closed in this process: opening waits out the child rather than fail as locked.
    Store::open(dir.path(), small()).unwrap();
    let mut status = 0;
    // SAFETY: waitpid on our own child.
    assert_eq!(unsafe { libc::waitpid(child, &mut status, 0) }, child);
}

#[test]
fn bad_options_and_oversized_commits_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let err = Store::open(
        dir.path(),
        Options {
            segment_size: 1000,
            ..small()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("segment_size"), "{err}");
    let store = Store::open(dir.path(), small()).unwrap();
    let mut b = Batch::new();
    b.put_object(1, "t", &vec![0u8; 100 << 10]);
    let err = store.commit(&b).unwrap_err();
    assert!(matches!(err, CommitError::Invalid(_)), "{err}");
    assert!(!err.is_retryable());
    let mut b = Batch::new();
    b.bind(&"n".repeat(70_000), 1);
    assert!(matches!(store.commit(&b), Err(CommitError::Invalid(_))));
}

#[test]
fn relaxed_durability_acknowledges_at_once_and_still_syncs() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(
        dir.path(),
        Options {
            durability: Durability::Relaxed {
                interval: std::time::Duration::from_millis(5),
            },
            ..small()
        },
    )
    .unwrap();
    let mut b = Batch::new();
    b.put_object(1, "t", b"x");
    let seq = store.commit(&b).unwrap();
    store.wait_acknowledged(seq).unwrap();
    store.wait_durable(seq).unwrap();
    assert!(store.durable_seq() >= seq);
}

#[test]
fn the_durable_future_resolves_without_a_runtime() {
    use std::task::{Context, Poll, Wake, Waker};
    struct Unpark(std::thread::Thread);
    impl Wake for Unpark {
        fn wake(self: Arc<Self>) {
            self.0.unpark();
        }
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let mut b = Batch::new();
    b.put_object(1, "t", b"x");
    let seq = store.commit(&b).unwrap();
    let mut fut = std::pin::pin!(store.durable(seq));
    let waker = Waker::from(Arc::new(Unpark(std::thread::current())));
    let mut cx = Context::from_waker(&waker);
    loop {
        match fut.as_mut().poll(&mut cx) {
            Poll::Ready(r) => break r.unwrap(),
            Poll::Pending => std::thread::park_timeout(std::time::Duration::from_millis(100)),
        }
    }
    assert!(store.durable_seq() >= seq);
}

#[test]
fn rkyv_archives_are_read_in_place() {
    #[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
    struct Account {
        balance: u64,
        name: String,
    }
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&Account {
        balance: 42,
        name: "alice".into(),
    })
    .unwrap();
    let mut b = Batch::new();
    b.put_object(1, "bank::Account", &bytes);
    store.commit(&b).unwrap();
    let snap = store.snapshot();
    let rec = snap.object(1).unwrap();
    let acct = rec.archived::<ArchivedAccount>().unwrap();
    assert_eq!(acct.balance, 42);
    assert_eq!(acct.name.as_str(), "alice");
    assert!(std::ptr::eq(
        acct as *const ArchivedAccount as *const u8,
        rec.value
            .as_ptr()
            .wrapping_add(rec.value.len() - std::mem::size_of::<ArchivedAccount>())
    ));
}

#[test]
fn removals_do_not_grow_the_files_forever() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    // Long-lived data that keeps the oldest segment mostly live.
    let mut b = Batch::new();
    for id in 0..50u64 {
        b.put_object(id, "t", &[1u8; 1000]);
    }
    store.commit(&b).unwrap();
    let mut most = 0;
    for round in 0..60u64 {
        for i in 0..200u64 {
            let id = 1_000 + round * 200 + i;
            b.clear();
            b.put_object(id, "t", b"short-lived");
            store.commit(&b).unwrap();
            b.clear();
            b.remove_object(id);
            store.commit(&b).unwrap();
        }
        store.compact(0.5).unwrap();
        most = most.max(store.stats().segments);
    }
    let s = store.stats();
    assert!(
        s.segments <= 6 && most <= 8,
        "12,000 created-and-removed objects should not pile up: {s:?}, at most {most} segments"
    );
    drop(store);
    let store = Store::open(dir.path(), small()).unwrap();
    let snap = store.snapshot();
    assert_eq!(
        snap.object_ids(),
        (0..50).collect::<Vec<_>>(),
        "removed objects stay removed"
    );
}

#[test]
fn compaction_thresholds_are_checked_and_always_finish() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    let mut b = Batch::new();
    for i in 0..300u64 {
        b.clear();
        b.put_object(i % 7, "t", &[i as u8; 900]);
        store.commit(&b).unwrap();
    }
    let err = store.compact(1.0).unwrap_err();
    assert!(matches!(err, CommitError::Invalid(_)), "{err}");
    assert!(store.compact(-0.1).is_err());
    // The largest allowed threshold compacts what exists and stops.
    assert!(store.compact(0.95).unwrap() > 0);
    let err = Store::open(
        tempfile::tempdir().unwrap().path(),
        Options {
            compact_below: 0.99,
            ..small()
        },
    )
    .unwrap_err();
    assert!(err.to_string().contains("compact_below"), "{err}");
}

#[test]
fn reopening_with_smaller_segments_keeps_large_entries_movable() {
    let dir = tempfile::tempdir().unwrap();
    let big = vec![9u8; 600 << 10];
    {
        let store = Store::open(
            dir.path(),
            Options {
                segment_size: 1 << 20,
                ..small()
            },
        )
        .unwrap();
        let mut b = Batch::new();
        b.put_object(1, "t", &big);
        store.commit(&b).unwrap();
        for i in 0..20u64 {
            b.clear();
            b.put_object(2, "t", &[i as u8; 60 << 10]);
            store.commit(&b).unwrap();
        }
        store.close().unwrap();
    }
    let store = Store::open(dir.path(), small()).unwrap();
    store.compact(0.9).unwrap();
    let mut b = Batch::new();
    b.put_object(3, "t", &vec![1u8; 200 << 10]);
    store.commit(&b).unwrap();
    assert_eq!(store.snapshot().object(1).unwrap().value, &big[..]);
}

#[test]
fn spares_never_used_are_removed_on_open() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), small()).unwrap();
    // The maintenance thread keeps a spare ready under a temporary name.
    // Long: it costs time only when the test fails, and a loaded machine may be slow.
    let deadline = std::time::Instant::now() + std::time::Duration::from_secs(30);
    let spare = || {
        std::fs::read_dir(dir.path())
            .unwrap()
            .any(|e| e.unwrap().file_name().to_string_lossy().ends_with(".spare"))
    };
    while !spare() && std::time::Instant::now() < deadline {
        std::thread::sleep(std::time::Duration::from_millis(5));
    }
    assert!(spare(), "a spare is prepared");
    // Leave it behind, as a crash would.
    std::mem::forget(store);
    let leftover: Vec<_> = std::fs::read_dir(dir.path())
        .unwrap()
        .map(|e| e.unwrap().file_name().to_string_lossy().into_owned())
        .filter(|n| n.ends_with(".spare"))
        .collect();
    assert!(!leftover.is_empty());
    // The forgotten store still holds the lock; a copy of the directory stands in for the
    // directory after the crash. The new store prepares its own spare under the same name
    // as the leftover, so a second leftover with an id it never uses shows the removal.
    let copy = tempfile::tempdir().unwrap();
    copy_dir(dir.path(), copy.path());
    let unused = copy.path().join("00000000000000ff.seg.spare");
    std::fs::copy(copy.path().join(&leftover[0]), &unused).unwrap();
    let store = Store::open(copy.path(), small()).unwrap();
    assert!(
        !unused.exists(),
        "a spare never put to use is removed on open"
    );
    assert_eq!(store.stats().segments, 1, "and is not taken for a segment");
    assert!(!store.stats().discarded_torn_tail);
}

#[test]
fn a_segment_created_after_a_lost_roll_takes_the_id_the_seal_names() {
    use darkstar_storage::format::{FrameHeader, Meta, FRAME_HEADER_LEN};
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), small()).unwrap();
        let mut b = Batch::new();
        for i in 0..100u64 {
            b.clear();
            b.put_object(i, "t", &[1u8; 1000]);
            store.commit(&b).unwrap();
        }
        store.close().unwrap();
    }
    let meta = Meta::decode(&std::fs::read(dir.path().join("STORE")).unwrap()).unwrap();
    let segs = segment_files(dir.path());
    // Keep the first segment only, and make its seal name segment 9, as if the rolls
    // after it had been undone by a power loss.
    for later in &segs[1..] {
        std::fs::remove_file(later).unwrap();
    }
    let mut bytes = std::fs::read(&segs[0]).unwrap();
    let mut off = 64;
    loop {
        let h = FrameHeader::decode(meta.store_id, &bytes[off..off + FRAME_HEADER_LEN]).unwrap();
        if h.seal {
            let named = FrameHeader { entries: 9, ..h };
            named.encode(meta.store_id, &mut bytes[off..off + FRAME_HEADER_LEN]);
            break;
        }
        off += h.total_len();
    }
    std::fs::write(&segs[0], &bytes).unwrap();
    let seq = {
        let store = Store::open(dir.path(), small()).unwrap();
        let mut b = Batch::new();
        b.put_object(500, "t", b"after the lost roll");
        let seq = store.commit(&b).unwrap();
        store.wait_durable(seq).unwrap();
        store.close().unwrap();
        seq
    };
    let store = Store::open(dir.path(), small()).expect("later opens work too");
    assert_eq!(store.last_seq(), seq);
    assert_eq!(
        store.snapshot().object(500).unwrap().value,
        b"after the lost roll"
    );
}
