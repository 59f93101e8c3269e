//! Damaged files: flipped bytes and truncations. Opening must either report the damage
//! (naming the file and offset) or give back exactly a prefix of the commits.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use darkstar_storage::{Batch, OpenError, Options, Store};

mod common;
use common::rng::Rng;
use common::{copy_dir, segment_files};

type State = BTreeMap<u64, Vec<u8>>;

fn options() -> Options {
    Options {
        segment_size: 64 << 10,
        background_compaction: false,
        ..Options::default()
    }
}

/// Builds a store of several segments; returns the state after each commit (index = seq).
fn build(dir: &Path) -> Vec<State> {
    let store = Store::open(dir, options()).unwrap();
    let mut states = vec![State::new()];
    let mut state = State::new();
    let mut rng = Rng::new(42);
    let mut b = Batch::new();
    for i in 0..400u64 {
        b.clear();
        let id = rng.below(40);
        let value = vec![(i % 251) as u8; 50 + (rng.below(700)) as usize];
        b.put_object(id, "damage::Thing", &value);
        state.insert(id, value);
        if i % 7 == 0 {
            let gone = rng.below(40);
            if gone != id {
                b.remove_object(gone);
                state.remove(&gone);
            }
        }
        let seq = store.commit(&b).unwrap();
        // A sync every few commits, so the log holds many group-commit batches.
        if i % 5 == 4 {
            store.wait_durable(seq).unwrap();
        }
        assert_eq!(seq as usize, states.len());
        states.push(state.clone());
    }
    store.close().unwrap();
    states
}

fn read(store: &Store) -> State {
    let snap = store.snapshot();
    snap.object_ids()
        .into_iter()
        .map(|id| (id, snap.object(id).unwrap().value.to_vec()))
        .collect()
}

/// A fresh copy of the store in `pristine`, and one of its segment files picked at random.
fn damaged_copy(pristine: &Path, files: &[PathBuf], rng: &mut Rng) -> (tempfile::TempDir, PathBuf) {
    let dir = tempfile::tempdir().unwrap();
    copy_dir(pristine, dir.path());
    let pick = &files[(rng.below(files.len() as u64)) as usize];
    let victim = dir.path().join(pick.file_name().unwrap());
    (dir, victim)
}

/// The outcome of opening a damaged copy: a documented error, or an exact prefix.
fn check_outcome(dir: &Path, states: &[State], what: &str) -> Result<u64, String> {
    match Store::open(dir, options()) {
        Ok(store) => {
            let seq = store.last_seq();
            let got = read(&store);
            assert_eq!(
                got, states[seq as usize],
                "{what}: reopened at seq {seq} but the data is not that prefix"
            );
            Ok(seq)
        }
        Err(OpenError::Corrupt {
            file,
            offset,
            reason,
        }) => {
            assert!(
                file.starts_with(dir),
                "{what}: error names a file of the store"
            );
            let len = std::fs::metadata(&file).map(|m| m.len()).unwrap_or(0);
            assert!(
                offset <= len.max(1 << 20),
                "{what}: offset {offset} is inside the file"
            );
            assert!(!reason.is_empty());
            Err(format!("{}: {offset}: {reason}", file.display()))
        }
        Err(e @ OpenError::NotAStore { .. }) => Err(e.to_string()),
        Err(e) => panic!("{what}: unexpected error kind: {e}"),
    }
}

#[test]
fn flipped_bytes_give_an_error_or_a_clean_prefix() {
    let pristine = tempfile::tempdir().unwrap();
    let states = build(pristine.path());
    let files = segment_files(pristine.path());
    assert!(files.len() >= 3, "several segments");
    let mut rng = Rng::new(7);
    let (mut errors, mut prefixes) = (0, 0);
    for trial in 0..150 {
        let (dir, victim) = damaged_copy(pristine.path(), &files, &mut rng);
        let mut bytes = std::fs::read(&victim).unwrap();
        // Mostly hit written data (the front of a segment), sometimes anywhere.
        let span = if trial % 3 == 0 {
            bytes.len()
        } else {
            bytes.len() / 2
        };
        let at = (rng.below(span as u64)) as usize;
        bytes[at] ^= 1 << (rng.below(8));
        std::fs::write(&victim, &bytes).unwrap();
        match check_outcome(
            dir.path(),
            &states,
            &format!("flip at {at} of {}", victim.display()),
        ) {
            Ok(_) => prefixes += 1,
            Err(_) => errors += 1,
        }
    }
    assert!(errors > 0, "some flips must be reported");
    assert!(prefixes > 0, "flips in unused space leave the data whole");
}

#[test]
fn truncated_files_give_an_error_or_a_clean_prefix() {
    let pristine = tempfile::tempdir().unwrap();
    let states = build(pristine.path());
    let files = segment_files(pristine.path());
    let mut rng = Rng::new(99);
    for _ in 0..40 {
        let (dir, victim) = damaged_copy(pristine.path(), &files, &mut rng);
        let len = std::fs::metadata(&victim).unwrap().len();
        let cut = rng.below(len);
        std::fs::OpenOptions::new()
            .write(true)
            .open(&victim)
            .unwrap()
            .set_len(cut)
            .unwrap();
        // Segments are created at full size, so any cut is damage and must be reported.
        let what = format!("truncate {} to {cut}", victim.display());
        let err = check_outcome(dir.path(), &states, &what).expect_err(&what);
        assert!(
            err.contains("truncated") || err.contains("shorter"),
            "{what}: {err}"
        );
    }
}

#[test]
fn a_frame_forged_inside_a_value_cannot_fake_durability() {
    use darkstar_storage::format::{log_position, FrameHeader, FRAME_HEADER_LEN};
    let dir = tempfile::tempdir().unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    let mut b = Batch::new();
    b.put_object(1, "t", b"before");
    store.wait_durable(store.commit(&b).unwrap()).unwrap();
    // A client-supplied value holding what looks like frames claiming everything synced.
    // The attacker cannot know the store id that seeds the header checksum.
    let mut forged = vec![0u8; 4096];
    for guess in 0..64u64 {
        let h = FrameHeader {
            seq: 1_000_000,
            synced_upto: log_position(u32::MAX, 0),
            next_id: 1,
            body_len: 0,
            body_crc: 0,
            entries: 0,
            seal: false,
            explicit_versions: false,
        };
        let at = guess as usize * 64;
        let bytes = &mut forged[at..at + FRAME_HEADER_LEN];
        h.encode(guess, bytes);
        if guess == 0 {
            // Without the store id, the best an attacker can do: a plain checksum.
            let plain = crc32c::crc32c(&bytes[8..]);
            bytes[4..8].copy_from_slice(&plain.to_le_bytes());
        }
    }
    b.clear();
    b.put_object(2, "t", &forged);
    let seq = store.commit(&b).unwrap();
    store.wait_durable(seq).unwrap();
    store.close().unwrap();
    // Tear the header of that last frame, as a crash would.
    let seg = segment_files(dir.path()).last().unwrap().clone();
    let mut bytes = std::fs::read(&seg).unwrap();
    let mut off = 64;
    let mut last = 64;
    while bytes[off..off + 4] == *b"DSFR" {
        last = off;
        off += 48 + u32::from_le_bytes(bytes[off + 32..off + 36].try_into().unwrap()) as usize;
    }
    bytes[last + 4] ^= 0xff;
    std::fs::write(&seg, &bytes).unwrap();
    let store = Store::open(dir.path(), options()).expect("a torn tail, not corruption");
    assert_eq!(store.last_seq(), seq - 1);
    assert!(store.snapshot().object(2).is_none());
}

#[test]
fn damage_before_later_synced_records_is_reported_with_file_and_offset() {
    let pristine = tempfile::tempdir().unwrap();
    let states = build(pristine.path());
    let first = segment_files(pristine.path())[0].clone();
    // The first frame starts right after the 64-byte segment header; its body starts 48
    // bytes later. Every later segment proves it was synced.
    let mut bytes = std::fs::read(&first).unwrap();
    bytes[64 + 48 + 30] ^= 0xff;
    std::fs::write(&first, &bytes).unwrap();
    let err = Store::open(pristine.path(), options()).unwrap_err();
    match &err {
        OpenError::Corrupt { file, offset, .. } => {
            assert_eq!(file, &first);
            assert_eq!(*offset, 64);
        }
        other => panic!("expected a corruption error, got {other}"),
    }
    let msg = err.to_string();
    assert!(
        msg.contains(&first.display().to_string()) && msg.contains("offset 64"),
        "{msg}"
    );
    assert!(states.len() > 1);
}

#[test]
fn a_torn_last_record_is_discarded() {
    let dir = tempfile::tempdir().unwrap();
    let states = build(dir.path());
    let last = segment_files(dir.path()).last().unwrap().clone();
    let stored_seq = {
        let s = Store::open(dir.path(), options()).unwrap();
        let seq = s.last_seq();
        s.close().unwrap();
        seq
    };
    // Find the last frame and tear it: zero its second half, as a crash mid-write would.
    let mut bytes = std::fs::read(&last).unwrap();
    let end = bytes.iter().rposition(|b| *b != 0).unwrap() + 1;
    let mut off = 64;
    let mut last_frame = 64;
    while off + 48 <= end {
        let body = u32::from_le_bytes(bytes[off + 32..off + 36].try_into().unwrap()) as usize;
        last_frame = off;
        off += 48 + body;
    }
    for b in &mut bytes[last_frame + 24..end] {
        *b = 0;
    }
    std::fs::write(&last, &bytes).unwrap();
    let store = Store::open(dir.path(), options()).unwrap();
    assert_eq!(
        store.last_seq(),
        stored_seq - 1,
        "exactly the torn commit is gone"
    );
    assert_eq!(read(&store), states[stored_seq as usize - 1]);
    assert!(store.stats().discarded_torn_tail);
}
