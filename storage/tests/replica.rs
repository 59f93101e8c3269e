//! Replica stores: batches with explicit versions, their frames, recovery and compaction,
//! batches carried as bytes, and the state digest.

use std::path::Path;

mod common;
use common::segment_files;

use darkstar_storage::format::{
    self, EntryHeader, FrameHeader, Meta, SegmentHeader, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN,
};
use darkstar_storage::{Batch, CommitError, ConflictKey, OpenError, Options, Store};

fn embedded() -> Options {
    Options {
        segment_size: 64 << 10,
        background_compaction: false,
        ..Options::default()
    }
}

fn replica() -> Options {
    Options {
        replica: true,
        ..embedded()
    }
}

fn meta(dir: &Path) -> Meta {
    Meta::decode(&std::fs::read(dir.join(format::META_FILE)).unwrap()).unwrap()
}

/// Every commit frame of the store in `dir` (closed), with its entries, in log order; and
/// where each frame starts (file index, offset).
fn frames(dir: &Path) -> Vec<(usize, usize, FrameHeader, Vec<EntryHeader>)> {
    let store_id = meta(dir).store_id;
    let mut out = Vec::new();
    for (i, path) in segment_files(dir).iter().enumerate() {
        let bytes = std::fs::read(path).unwrap();
        let mut off = SEGMENT_HEADER_LEN;
        while let Some(h) = FrameHeader::decode(store_id, &bytes[off..off + FRAME_HEADER_LEN]) {
            if h.seal {
                break;
            }
            let mut entries = Vec::new();
            let mut at = off + FRAME_HEADER_LEN;
            while at < off + h.total_len() {
                let e = EntryHeader::decode(&bytes[at..]).unwrap();
                at += e.total_len();
                entries.push(e);
            }
            out.push((i, off, h, entries));
            off += h.total_len();
        }
    }
    out
}

/// Rewrites the frame header at `off` of `path` with `edit` applied.
fn edit_frame(dir: &Path, path: &Path, off: usize, edit: impl FnOnce(&mut FrameHeader)) {
    let store_id = meta(dir).store_id;
    let mut bytes = std::fs::read(path).unwrap();
    let mut h = FrameHeader::decode(store_id, &bytes[off..off + FRAME_HEADER_LEN]).unwrap();
    edit(&mut h);
    h.encode(store_id, &mut bytes[off..off + FRAME_HEADER_LEN]);
    std::fs::write(path, bytes).unwrap();
}

#[test]
fn a_replica_installs_the_versions_its_batches_give() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), replica()).unwrap();
    let mut b = Batch::new();
    b.set_version(Some(900));
    b.put_object(1, "game::Door", b"closed");
    b.put_task(2, "game::Tick", b"soon");
    b.bind("door", 1);
    let seq = store.commit(&b).unwrap();
    assert_eq!(seq, 1, "the sequence number is still the store's own");
    // Versions need not increase: the log chose a smaller one for the next write.
    b.clear();
    assert_eq!(b.version(), None, "clear resets the version");
    b.set_version(Some(17));
    b.put_object(3, "game::Door", b"open");
    store.commit(&b).unwrap();

    let snap = store.snapshot();
    assert_eq!(snap.object(1).unwrap().version, 900);
    assert_eq!(snap.task(2).unwrap().version, 900);
    assert_eq!(snap.name("door").unwrap().version, 900);
    assert_eq!(snap.next_name(None).unwrap().1.version, 900);
    assert_eq!(snap.object(3).unwrap().version, 17);
    assert_eq!(snap.seq(), 2);
    drop(snap);

    // A batch without a version still gets its sequence number.
    b.clear();
    b.put_object(4, "local::Note", b"mine");
    let seq = store.commit(&b).unwrap();
    assert_eq!(store.snapshot().object(4).unwrap().version, seq);
    store.close().unwrap();

    assert_eq!(
        meta(dir.path()).format_version,
        format::REPLICA_FORMAT_VERSION
    );
    for path in segment_files(dir.path()) {
        let h = SegmentHeader::decode(&std::fs::read(path).unwrap()).unwrap();
        assert_eq!(h.format_version, format::REPLICA_FORMAT_VERSION);
    }
    let flags: Vec<(u64, bool)> = frames(dir.path())
        .iter()
        .map(|(_, _, h, _)| (h.seq, h.explicit_versions))
        .collect();
    assert_eq!(flags, [(1, true), (2, true), (3, false)]);
}

#[test]
fn validation_compares_explicit_versions() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), replica()).unwrap();
    let mut b = Batch::new();
    b.set_version(Some(5000));
    b.put_object(1, "t", b"a");
    b.put_task(2, "t", b"b");
    b.bind("n", 1);
    store.commit(&b).unwrap();

    // Reads at the explicit versions pass.
    let mut ok = Batch::new();
    ok.set_version(Some(12));
    ok.read_object(1, 5000);
    ok.read_task(2, 5000);
    ok.read_name("n", 5000);
    ok.put_object(1, "t", b"a2");
    store.commit(&ok).unwrap();
    assert_eq!(store.snapshot().object(1).unwrap().version, 12);

    // Any other version conflicts, the sequence number included.
    for (stale, key) in [
        (5000, ConflictKey::Object(1)),
        (2, ConflictKey::Object(1)),
        (0, ConflictKey::Object(1)),
    ] {
        let mut bad = Batch::new();
        bad.set_version(Some(13));
        bad.read_object(1, stale);
        bad.put_object(1, "t", b"lost");
        match store.commit(&bad) {
            Err(CommitError::Conflict(k)) => assert_eq!(k, key),
            other => panic!("read at {stale}: {other:?}"),
        }
    }
    let mut bad = Batch::new();
    bad.read_task(2, 1);
    assert!(matches!(
        store.commit(&bad),
        Err(CommitError::Conflict(ConflictKey::Task(2)))
    ));
    let mut bad = Batch::new();
    bad.read_name("n", 1);
    assert!(matches!(
        store.commit(&bad),
        Err(CommitError::Conflict(ConflictKey::Name(_)))
    ));
    assert_eq!(store.snapshot().object(1).unwrap().value, b"a2");
}

#[test]
fn explicit_versions_are_refused_where_they_cannot_be_stored() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), embedded()).unwrap();
    let mut b = Batch::new();
    b.set_version(Some(7));
    b.put_object(1, "t", b"x");
    let err = store.commit(&b).unwrap_err();
    assert!(matches!(err, CommitError::Invalid(_)), "{err}");
    assert!(err.to_string().contains("not a replica"), "{err}");
    assert_eq!(store.last_seq(), 0);
    store.close().unwrap();

    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), replica()).unwrap();
    for bad in [0, format::MAX_VERSION + 1, u64::MAX] {
        b.set_version(Some(bad));
        let err = store.commit(&b).unwrap_err();
        assert!(matches!(err, CommitError::Invalid(_)), "{bad}: {err}");
    }
    b.set_version(Some(format::MAX_VERSION));
    store.commit(&b).unwrap();
    assert_eq!(store.last_seq(), 1);
    assert_eq!(
        store.snapshot().object(1).unwrap().version,
        format::MAX_VERSION
    );
}

#[test]
fn the_kind_of_store_is_fixed_at_creation() {
    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), replica()).unwrap().close().unwrap();
    let err = Store::open(dir.path(), embedded()).unwrap_err();
    assert!(matches!(err, OpenError::IsAReplica { .. }), "{err}");
    assert!(err.to_string().contains("open it as one"), "{err}");
    Store::open(dir.path(), replica()).unwrap().close().unwrap();

    let dir = tempfile::tempdir().unwrap();
    Store::open(dir.path(), embedded())
        .unwrap()
        .close()
        .unwrap();
    assert_eq!(
        meta(dir.path()).format_version,
        format::EMBEDDED_FORMAT_VERSION
    );
    let err = Store::open(dir.path(), replica()).unwrap_err();
    assert!(matches!(err, OpenError::NotAReplica { .. }), "{err}");
    assert!(err.to_string().contains("not a replica"), "{err}");
    Store::open(dir.path(), embedded())
        .unwrap()
        .close()
        .unwrap();
}

#[test]
fn explicit_versions_survive_reopen_and_compaction() {
    let dir = tempfile::tempdir().unwrap();
    let mut expected = std::collections::BTreeMap::new();
    {
        let store = Store::open(dir.path(), replica()).unwrap();
        let mut b = Batch::new();
        let value = [3u8; 900];
        // Versions far above any sequence number, and not increasing.
        for round in 0..30u64 {
            for id in 0..10u64 {
                let v = 1_000_000 + (round * 10 + id) * 7919 % 10_007;
                b.clear();
                b.set_version(Some(v));
                b.put_object(id, "t", &value);
                b.bind(&format!("obj.{id}"), id);
                store.commit(&b).unwrap();
                expected.insert(id, v);
            }
        }
        store.sync().unwrap();
        store.close().unwrap();
    }
    let check = |store: &Store, expected: &std::collections::BTreeMap<u64, u64>| {
        let snap = store.snapshot();
        for (&id, &v) in expected {
            assert_eq!(snap.object(id).unwrap().version, v, "object {id}");
            if id < 10 {
                assert_eq!(snap.name(&format!("obj.{id}")).unwrap().version, v);
            }
        }
    };
    let digest = {
        let store = Store::open(dir.path(), replica()).unwrap();
        check(&store, &expected);
        let digest = store.snapshot().digest();
        assert!(store.compact(0.5).unwrap() > 0);
        store.compact(0.5).unwrap(); // deletes the compacted files
        check(&store, &expected);
        assert_eq!(store.snapshot().digest(), digest);
        // A commit after the relocation, synced, vouches for the relocation frames.
        let mut b = Batch::new();
        b.set_version(Some(5));
        b.put_object(99, "t", b"after");
        store.wait_durable(store.commit(&b).unwrap()).unwrap();
        expected.insert(99, 5);
        store.close().unwrap();
        digest
    };
    // Relocation frames carry versions above their own sequence number, flagged.
    let relocated = frames(dir.path())
        .into_iter()
        .filter(|(_, _, h, es)| es.iter().any(|e| e.version > h.seq))
        .collect::<Vec<_>>();
    assert!(!relocated.is_empty());
    assert!(relocated.iter().all(|(_, _, h, _)| h.explicit_versions));
    let store = Store::open(dir.path(), replica()).unwrap();
    check(&store, &expected);
    assert_ne!(store.snapshot().digest(), digest, "object 99 was added");
}

#[test]
fn compaction_in_an_embedded_store_writes_no_flagged_frames() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), embedded()).unwrap();
        let mut b = Batch::new();
        for round in 0..30u64 {
            for id in 0..10u64 {
                b.clear();
                b.put_object(id, "t", &[round as u8; 900]);
                store.commit(&b).unwrap();
            }
        }
        assert!(store.compact(0.5).unwrap() > 0);
        store.compact(0.5).unwrap();
        store.close().unwrap();
    }
    assert!(frames(dir.path())
        .iter()
        .all(|(_, _, h, es)| !h.explicit_versions && es.iter().all(|e| e.version <= h.seq)));
    let store = Store::open(dir.path(), embedded()).unwrap();
    for id in 0..10u64 {
        assert_eq!(store.snapshot().object(id).unwrap().value, &[29u8; 900][..]);
    }
}

#[test]
fn a_flagged_frame_in_an_embedded_store_is_damage() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), embedded()).unwrap();
        let mut b = Batch::new();
        b.put_object(1, "t", b"one");
        store.commit(&b).unwrap();
        b.clear();
        b.put_object(2, "t", b"two");
        store.commit(&b).unwrap();
        store.close().unwrap();
    }
    // The last frame: with nothing after it to vouch for it, a torn frame would be
    // discarded; a flagged one cannot be torn, so it is reported.
    let (file, off, _, _) = frames(dir.path()).pop().unwrap();
    let path = &segment_files(dir.path())[file];
    edit_frame(dir.path(), path, off, |h| h.explicit_versions = true);
    match Store::open(dir.path(), embedded()).unwrap_err() {
        OpenError::Corrupt {
            file,
            offset,
            reason,
        } => {
            assert_eq!((&file, offset), (path, off as u64));
            assert!(reason.contains("explicit versions"), "{reason}");
        }
        other => panic!("{other}"),
    }
}

#[test]
fn recovery_checks_explicit_versions_too() {
    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), replica()).unwrap();
        let mut b = Batch::new();
        for (id, v) in [(1u64, 50u64), (2, 40)] {
            b.clear();
            b.set_version(Some(v));
            b.put_object(id, "t", b"x");
            store.wait_durable(store.commit(&b).unwrap()).unwrap();
        }
        store.close().unwrap();
    }
    let (file, off, h, _) = frames(dir.path()).remove(0);
    let path = segment_files(dir.path())[file].clone();
    let pristine = std::fs::read(&path).unwrap();
    for bad in [0, format::MAX_VERSION + 1] {
        // The entry's version field, with the body checksum made to match again.
        let mut bytes = pristine.clone();
        let body = off + FRAME_HEADER_LEN;
        bytes[body + 16..body + 24].copy_from_slice(&u64::to_le_bytes(bad));
        std::fs::write(&path, &bytes).unwrap();
        let crc = crc32c::crc32c(&bytes[body..body + h.body_len as usize]);
        edit_frame(dir.path(), &path, off, |h| h.body_crc = crc);
        match Store::open(dir.path(), replica()).unwrap_err() {
            OpenError::Corrupt { offset, reason, .. } => {
                assert_eq!(offset, off as u64);
                assert!(reason.contains("impossible version"), "{reason}");
            }
            other => panic!("{bad}: {other}"),
        }
    }
    std::fs::write(&path, &pristine).unwrap();
    let store = Store::open(dir.path(), replica()).unwrap();
    assert_eq!(store.snapshot().object(1).unwrap().version, 50);
    assert_eq!(store.snapshot().object(2).unwrap().version, 40);
}

#[test]
fn a_decoded_batch_commits_like_the_original() {
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), replica()).unwrap();
    let mut b = Batch::new();
    b.set_version(Some(77));
    b.read_object(1, 0);
    b.put_object(1, "game::Player", b"alice, 17 bytes..");
    b.bind("player.alice", 1);
    let mut wire = vec![0xEE]; // inside some record, at an odd offset
    b.encode(&mut wire);
    let (decoded, used) = Batch::decode(&wire[1..]).unwrap();
    assert_eq!(used, wire.len() - 1);
    assert_eq!(decoded, b);
    drop(wire);
    store.commit(&decoded).unwrap();
    let snap = store.snapshot();
    let r = snap.object(1).unwrap();
    assert_eq!((r.value, r.version), (&b"alice, 17 bytes.."[..], 77));
    assert_eq!(r.value.as_ptr() as usize % format::ALIGN, 0);
    assert_eq!(snap.name("player.alice").unwrap().id, 1);
}

/// Applies `batches` (encoded, as a log would carry them) to `store`.
fn apply(store: &Store, log: &[Vec<u8>]) {
    for record in log {
        let (batch, _) = Batch::decode(record).unwrap();
        store.commit(&batch).unwrap();
    }
}

#[test]
fn replicas_fed_the_same_log_have_the_same_digest() {
    let mut log = Vec::new();
    let mut b = Batch::new();
    for i in 0..400u64 {
        b.clear();
        b.set_version(Some(10_000 + i));
        let id = i % 23;
        b.put_object(
            id,
            "game::Thing",
            &vec![(i % 251) as u8; 100 + (i % 700) as usize],
        );
        if i % 5 == 0 {
            b.put_task(1000 + i % 7, "game::Tick", &i.to_le_bytes());
        }
        if i % 9 == 0 {
            b.remove_object((i + 3) % 23);
            b.remove_task(1000 + (i + 1) % 7);
        }
        b.bind(&format!("thing.{}", i % 13), id);
        if i % 11 == 0 {
            b.unbind(&format!("thing.{}", (i + 5) % 13));
        }
        let mut record = Vec::new();
        b.encode(&mut record);
        log.push(record);
    }
    let (da, db) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Store::open(da.path(), replica()).unwrap();
    let bb = Store::open(db.path(), replica()).unwrap();
    // Replica a compacts halfway, which uses up sequence numbers of its own.
    apply(&a, &log[..200]);
    assert!(a.compact(0.9).unwrap() > 0);
    apply(&a, &log[200..]);
    a.compact(0.9).unwrap();
    apply(&bb, &log);
    let (sa, sb) = (a.snapshot(), bb.snapshot());
    assert_ne!(sa.seq(), sb.seq(), "local histories differ");
    assert_eq!(sa.digest(), sb.digest());
    drop((sa, sb));

    // After a restart too.
    a.close().unwrap();
    let a = Store::open(da.path(), replica()).unwrap();
    assert_eq!(a.snapshot().digest(), bb.snapshot().digest());

    // A differing value, version, binding or task changes it.
    let before = bb.snapshot().digest();
    let changed = |f: &dyn Fn(&mut Batch)| {
        let dir = tempfile::tempdir().unwrap();
        let s = Store::open(dir.path(), replica()).unwrap();
        apply(&s, &log);
        let mut b = Batch::new();
        f(&mut b);
        s.commit(&b).unwrap();
        s.snapshot().digest()
    };
    let same = changed(&|_| {});
    assert_eq!(same, before, "a batch with no writes changes nothing");
    let live = bb.snapshot().object_ids()[0];
    let snap = bb.snapshot();
    let r = snap.object(live).unwrap();
    let (value, version) = (r.value.to_vec(), r.version);
    drop(snap);
    let mut other = value.clone();
    other[0] ^= 1;
    let digests = [
        changed(&|b| {
            b.set_version(Some(version));
            b.put_object(live, "game::Thing", &other);
        }),
        changed(&|b| {
            b.set_version(Some(version + 1_000_000));
            b.put_object(live, "game::Thing", &value);
        }),
        changed(&|b| {
            b.set_version(Some(version));
            b.put_object(live, "game::Other", &value);
        }),
        changed(&|b| {
            b.set_version(Some(1));
            b.bind("new.name", 1);
        }),
        changed(&|b| {
            b.set_version(Some(1));
            b.put_task(live, "game::Thing", &value);
        }),
    ];
    for (i, d) in digests.iter().enumerate() {
        assert_ne!(*d, before, "change {i} went unnoticed");
    }
    assert_eq!(
        bb.snapshot().digest(),
        before,
        "the digest is deterministic"
    );
}

#[test]
fn an_empty_store_has_a_fixed_digest() {
    let (d1, d2) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    let a = Store::open(d1.path(), embedded()).unwrap();
    let b = Store::open(d2.path(), replica()).unwrap();
    let empty = *blake3::hash(&format::DIGEST_MAGIC).as_bytes();
    assert_eq!(a.snapshot().digest(), empty);
    assert_eq!(b.snapshot().digest(), empty);
}
