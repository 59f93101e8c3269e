//! Power loss at every point of a recorded run.
//!
//! A writer runs against a store on a [`RecordingDisk`]: commits of every kind (objects,
//! tasks, names; small values and values a tenth of a segment long, so segments roll),
//! waits for durability now and then, and compacts by hand, so spares are activated and
//! compacted segments retired, until the recording holds more than 10,000 crash points.
//! Then, at every crash point, with a seed of its own, the directory a disk could hold
//! after losing power there is built and opened. Each image must open; its state must be exactly the state after one of the
//! writer's commits (nothing partial), and no earlier than the last commit the writer saw
//! acknowledged durable by that point. A share of the images also get one byte of their
//! segments' frames damaged: such an image must be refused as corrupt or hold a state some
//! commit left, never anything else.
//!
//! A failing case is saved (recording and expectations) under the target directory and
//! replays exactly with `DARKSTAR_POWER_LOSS_REPLAY=<file> DARKSTAR_POWER_LOSS_POINT=<p>
//! DARKSTAR_POWER_LOSS_SEED=<s> cargo test -p darkstar-storage --features simulated-disk
//! --test power_loss replay`. `DARKSTAR_POWER_LOSS_RUNS=<n>` runs `n` recorded runs
//! instead of one (a soak).

use std::collections::HashMap;
use std::fmt::Write as _;
use std::ops::Range;
use std::path::{Path, PathBuf};

use darkstar_storage::format::SEGMENT_HEADER_LEN as SEGMENT_HEADER;
use darkstar_storage::sim::{OpKind, Recording, RecordingDisk, Replay};
use darkstar_storage::{Batch, OpenError, Options, Store};

mod common;
use common::rng::Rng;

const SEGMENT: u32 = 64 << 10;
/// Commits of the recorded run: enough for more than 10,000 crash points.
const COMMITS: usize = 5_000;
/// Commits of the run with acknowledgment before the sync, which must fail the check.
const BROKEN_COMMITS: usize = 1_200;
/// Crash points, and images, checked per run at least.
const IMAGES: usize = 10_000;
/// One image in this many also has a byte of its frames damaged.
const DAMAGE_EVERY: u64 = 16;

fn options(disk: Option<RecordingDisk>, early: bool) -> Options {
    Options {
        segment_size: SEGMENT,
        background_compaction: false,
        disk,
        acknowledge_before_sync: early,
        ..Options::default()
    }
}

/// What a run did and what its images must show.
struct Run {
    recording: Recording,
    dir: PathBuf,
    /// The digest of the state after each commit (0: the empty store), to the last commit
    /// that left it.
    digests: HashMap<[u8; 32], usize>,
    /// `(point, k)`: once `point` operations were done, commits up to `k` had been
    /// acknowledged durable. Increasing in both.
    acked: Vec<(usize, usize)>,
    /// Crash-point ranges during which the writer was compacting.
    compacting: Vec<Range<usize>>,
}

impl Run {
    /// The last commit acknowledged durable once `point` operations were done.
    fn acked_at(&self, point: usize) -> usize {
        let i = self.acked.partition_point(|(p, _)| *p <= point);
        if i == 0 {
            0
        } else {
            self.acked[i - 1].1
        }
    }
}

/// Runs the writer on a recording disk; `early`: with acknowledgment before the sync.
fn record(seed: u64, root: &Path, commits: usize, early: bool) -> Run {
    let dir = root.join("store");
    let disk = RecordingDisk::new();
    let store = Store::open(&dir, options(Some(disk.clone()), early)).unwrap();
    let mut rng = Rng::new(seed);
    let mut digests = HashMap::new();
    digests.insert(store.snapshot().digest(), 0);
    let mut acked = Vec::new();
    let mut compacting = Vec::new();
    let mut batch = Batch::new();
    for k in 1..=commits {
        batch.clear();
        for _ in 0..1 + rng.below(3) {
            let id = 1 + rng.below(40);
            match rng.below(10) {
                0 => batch.remove_object(id),
                1 => batch.put_task(id, "power.Task", &id.to_le_bytes()),
                2 => batch.remove_task(id),
                3 => batch.bind(&format!("name.{}", rng.below(20)), id),
                4 => batch.unbind(&format!("name.{}", rng.below(20))),
                _ => {
                    // Mostly small values; now and then a tenth of a segment.
                    let len = if rng.below(8) == 0 {
                        4000 + rng.below(2600) as usize
                    } else {
                        8 + rng.below(600) as usize
                    };
                    let byte = (k % 251) as u8;
                    batch.put_object(id, "power.Object", &vec![byte; len]);
                }
            }
        }
        let seq = store.commit(&batch).unwrap();
        // A commit that changed nothing (an unbind of an absent name) leaves the state of
        // an earlier one: an image holding it is as good as at this commit.
        digests.insert(store.snapshot().digest(), k);
        if rng.below(3) == 0 {
            store.wait_durable(seq).unwrap();
            acked.push((disk.ops(), k));
        }
        if k % 150 == 0 {
            let from = disk.ops();
            store.compact(0.5).unwrap();
            compacting.push(from..disk.ops());
        }
    }
    store.sync().unwrap();
    acked.push((disk.ops(), commits));
    let recording = disk.cut_power();
    drop(store);
    Run {
        recording,
        dir,
        digests,
        acked,
        compacting,
    }
}

/// What the last operation before a crash point was doing.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash, PartialOrd, Ord)]
enum Phase {
    Commit,
    SpareCreation,
    Roll,
    Compaction,
    Retirement,
    Other,
}

fn phase(run: &Run, point: usize) -> Phase {
    let Some(last) = point.checked_sub(1) else {
        return Phase::Other;
    };
    let rec = &run.recording;
    let name = |i: usize| rec.op(i).path.to_string_lossy().into_owned();
    // A retirement: a compacted segment deleted, up to the directory sync after it.
    let removed = |i: usize| rec.op(i).kind == OpKind::Remove && name(i).ends_with(".seg");
    if removed(last) || (rec.op(last).kind == OpKind::SyncDir && last > 0 && removed(last - 1)) {
        return Phase::Retirement;
    }
    if run.compacting.iter().any(|r| r.contains(&point)) {
        return Phase::Compaction;
    }
    // A roll: from the seal's write to the directory sync that makes the new name durable.
    let activation = (last.saturating_sub(4)..(last + 4).min(rec.len())).any(|i| {
        rec.op(i).kind == OpKind::Rename
            && rec
                .op(i)
                .from
                .is_some_and(|f| f.to_string_lossy().ends_with(".spare"))
    });
    if activation {
        return Phase::Roll;
    }
    let op = rec.op(last);
    match op.kind {
        OpKind::Remove if name(last).ends_with(".seg") => Phase::Retirement,
        OpKind::Create | OpKind::Write | OpKind::SyncFile if name(last).ends_with(".spare") => {
            Phase::SpareCreation
        }
        OpKind::Write | OpKind::SyncRange if name(last).ends_with(".seg") => Phase::Commit,
        _ => Phase::Other,
    }
}

/// How one image turned out.
#[derive(Debug, PartialEq, Eq, Hash)]
enum Verdict {
    /// It opened with a state at or after the last acknowledged commit.
    Held,
    /// Damaged, and the store said so.
    DamageReported,
    /// Damaged where the format cannot tell damage from a torn, never-acknowledged write:
    /// it opened with an earlier state some commit left.
    DamageUndetectable,
}

/// Builds, writes and opens the image at `replay`'s crash point with `seed`; says what is
/// wrong, if anything. Every [`DAMAGE_EVERY`]th seed damages its image.
fn check(run: &Run, replay: &Replay<'_>, seed: u64, scratch: &Path) -> Result<Verdict, String> {
    let point = replay.point();
    let image = replay.image(&run.dir, seed);
    let at = scratch.join(format!("image-{point}-{seed}"));
    image
        .write_to(&at)
        .map_err(|e| format!("writing the image: {e}"))?;
    if !image.exists {
        std::fs::create_dir_all(&at).unwrap();
    }
    let damaged = seed % DAMAGE_EVERY == DAMAGE_EVERY - 1 && damage(&at, seed);
    let opened = Store::open(&at, options(None, false));
    let verdict = match opened {
        Ok(store) => {
            let digest = store.snapshot().digest();
            drop(store);
            match run.digests.get(&digest) {
                None => Err(format!(
                    "the image opened with a state no commit left{}",
                    if damaged { " (damaged image)" } else { "" }
                )),
                Some(&k) if k >= run.acked_at(point) => Ok(Verdict::Held),
                Some(_) if damaged => Ok(Verdict::DamageUndetectable),
                Some(&k) => Err(format!(
                    "the image holds the state after commit {k}, but commit {} had been \
                     acknowledged durable",
                    run.acked_at(point)
                )),
            }
        }
        Err(OpenError::Corrupt { .. }) if damaged => Ok(Verdict::DamageReported),
        Err(e) => Err(format!(
            "the image did not open{}: {e}",
            if damaged { " (damaged image)" } else { "" }
        )),
    };
    std::fs::remove_dir_all(&at).ok();
    verdict.map_err(|why| format!("{why}; what the image kept: {:?}", image.stats))
}

/// Flips one byte of the frames of a segment of the image, if it has any.
fn damage(dir: &Path, seed: u64) -> bool {
    let mut rng = Rng::new(seed.wrapping_mul(31));
    let segments = common::segment_files(dir);
    if segments.is_empty() {
        return false;
    }
    let path = &segments[rng.below(segments.len() as u64) as usize];
    let mut bytes = std::fs::read(path).unwrap();
    let used = bytes.iter().rposition(|b| *b != 0).unwrap_or(0);
    if used <= SEGMENT_HEADER {
        return false;
    }
    let at = SEGMENT_HEADER + rng.below((used - SEGMENT_HEADER) as u64) as usize;
    bytes[at] ^= 1 << rng.below(8);
    std::fs::write(path, bytes).unwrap();
    true
}

/// Saves a failing case to replay.
fn save(run: &Run, seed: u64) -> PathBuf {
    let dir = Path::new(env!("CARGO_TARGET_TMPDIR")).join("power-loss");
    std::fs::create_dir_all(&dir).unwrap();
    let file = dir.join(format!("run-{seed}.rec"));
    run.recording.save(&file).unwrap();
    let mut expect = format!("dir {}\n", run.dir.display());
    for (p, k) in &run.acked {
        writeln!(expect, "acked {p} {k}").unwrap();
    }
    for (d, k) in &run.digests {
        let hex: String = d.iter().map(|b| format!("{b:02x}")).collect();
        writeln!(expect, "digest {hex} {k}").unwrap();
    }
    std::fs::write(file.with_extension("expect"), expect).unwrap();
    file
}

/// An image that failed its check: crash point, seed and why.
struct Failure {
    point: usize,
    seed: u64,
    why: String,
}

/// Checks at least `images` images of `run`, at every crash point; returns the failures and
/// the verdicts.
fn check_all(run: &Run, scratch: &Path, images: usize) -> (Vec<Failure>, HashMap<Verdict, u64>) {
    let points = run.recording.len() + 1;
    let per_point = images.div_ceil(points).max(1) as u64;
    let mut failures = Vec::new();
    let mut verdicts = HashMap::new();
    // One replay walks the whole recording: each crash point costs its own operations only.
    let mut replay = run.recording.replay();
    for point in 0..points {
        replay.advance_to(point);
        for s in 0..per_point {
            let seed = point as u64 * per_point + s;
            match check(run, &replay, seed, scratch) {
                Ok(v) => *verdicts.entry(v).or_insert(0) += 1,
                Err(why) => failures.push(Failure { point, seed, why }),
            }
        }
    }
    (failures, verdicts)
}

#[test]
fn every_crash_point_keeps_what_was_acknowledged() {
    let runs: u64 = std::env::var("DARKSTAR_POWER_LOSS_RUNS")
        .ok()
        .and_then(|v| v.parse().ok())
        .unwrap_or(1);
    for run_seed in 1..=runs {
        let tmp = tempfile::tempdir().unwrap();
        let run = record(run_seed, tmp.path(), COMMITS, false);
        let mut phases: HashMap<Phase, usize> = HashMap::new();
        for point in 0..=run.recording.len() {
            *phases.entry(phase(&run, point)).or_insert(0) += 1;
        }
        assert!(
            run.recording.len() >= IMAGES,
            "the run has {} crash points, fewer than {IMAGES}",
            run.recording.len() + 1
        );
        let (failures, verdicts) = check_all(&run, tmp.path(), IMAGES);
        let images: u64 = verdicts.values().sum::<u64>() + failures.len() as u64;
        let mut phases: Vec<_> = phases.into_iter().collect();
        phases.sort();
        println!(
            "run {run_seed}: {} operations, {} crash points, {images} images; crash points by \
             phase: {phases:?}; verdicts: {verdicts:?}",
            run.recording.len(),
            run.recording.len() + 1,
        );
        if let Some(Failure { point, seed, why }) = failures.first() {
            let file = save(&run, run_seed);
            panic!(
                "{} of {images} images failed; the first, at crash point {point} with seed \
                 {seed}: {why}\nreplay: DARKSTAR_POWER_LOSS_REPLAY={} \
                 DARKSTAR_POWER_LOSS_POINT={point} DARKSTAR_POWER_LOSS_SEED={seed} cargo test \
                 -p darkstar-storage --features simulated-disk --test power_loss replay",
                failures.len(),
                file.display()
            );
        }
        assert!(images >= IMAGES as u64);
        for p in [
            Phase::Commit,
            Phase::SpareCreation,
            Phase::Roll,
            Phase::Compaction,
            Phase::Retirement,
        ] {
            assert!(
                phases.iter().any(|(q, n)| *q == p && *n > 0),
                "the run has crash points in phase {p:?}"
            );
        }
        assert!(
            verdicts.get(&Verdict::DamageReported).copied().unwrap_or(0) > 0,
            "some damaged images are refused"
        );
    }
}

/// The same run with the store acknowledging before it syncs: the check must catch it.
#[test]
fn acknowledging_before_the_sync_is_caught() {
    let tmp = tempfile::tempdir().unwrap();
    let run = record(7, tmp.path(), BROKEN_COMMITS, true);
    // One image per crash point: enough to show the check fails.
    let (failures, _) = check_all(&run, tmp.path(), 0);
    let lost = failures
        .iter()
        .filter(|f| f.why.contains("had been acknowledged durable"))
        .count();
    println!(
        "acknowledging before the sync: {lost} images lost an acknowledged commit ({} failed)",
        failures.len()
    );
    let whys: Vec<&str> = failures.iter().map(|f| f.why.as_str()).collect();
    assert!(lost > 0, "no image lost an acknowledged commit: {whys:?}");
}

/// Replays one saved failing case (see the module documentation).
#[test]
fn replay() {
    let Ok(file) = std::env::var("DARKSTAR_POWER_LOSS_REPLAY") else {
        return;
    };
    let number = |var: &str| -> u64 {
        std::env::var(var)
            .unwrap_or_else(|_| panic!("{var} must be set"))
            .parse()
            .unwrap_or_else(|_| panic!("{var} must be a number"))
    };
    let point = number("DARKSTAR_POWER_LOSS_POINT") as usize;
    let seed = number("DARKSTAR_POWER_LOSS_SEED");
    let recording = Recording::load(Path::new(&file)).unwrap();
    let expect = std::fs::read_to_string(Path::new(&file).with_extension("expect")).unwrap();
    let mut run = Run {
        recording,
        dir: PathBuf::new(),
        digests: HashMap::new(),
        acked: Vec::new(),
        compacting: Vec::new(),
    };
    for line in expect.lines() {
        let parts: Vec<&str> = line.split(' ').collect();
        match parts[..] {
            ["dir", d] => run.dir = PathBuf::from(d),
            ["acked", p, k] => run.acked.push((p.parse().unwrap(), k.parse().unwrap())),
            ["digest", hex, k] => {
                let mut d = [0u8; 32];
                for (i, b) in d.iter_mut().enumerate() {
                    *b = u8::from_str_radix(&hex[2 * i..2 * i + 2], 16).unwrap();
                }
                run.digests.insert(d, k.parse().unwrap());
            }
            _ => panic!("unexpected line in the expectations: {line}"),
        }
    }
    let tmp = tempfile::tempdir().unwrap();
    let mut replay = run.recording.replay();
    replay.advance_to(point);
    check(&run, &replay, seed, tmp.path()).unwrap();
}

/// A recording begun on a store that already exists: its files, the `STORE` file among
/// them, count as durable from the start, so every image holds them.
#[test]
fn a_recording_begun_on_an_existing_store_keeps_its_files() {
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path().join("store");
    let store = Store::open(&dir, options(None, false)).unwrap();
    let mut batch = Batch::new();
    batch.put_object(1, "power.Object", b"before the recording");
    store.wait_durable(store.commit(&batch).unwrap()).unwrap();
    store.close().unwrap();

    let disk = RecordingDisk::new();
    let store = Store::open(&dir, options(Some(disk.clone()), false)).unwrap();
    let opened = disk.ops();
    batch.clear();
    batch.put_object(2, "power.Object", b"recorded");
    store.wait_durable(store.commit(&batch).unwrap()).unwrap();
    let synced = disk.ops();
    let recording = disk.cut_power();
    drop(store);

    let mut replay = recording.replay();
    for (point, second) in [(opened, false), (synced, true)] {
        replay.advance_to(point);
        for seed in 0..8 {
            let at = tmp.path().join(format!("image-{point}-{seed}"));
            replay.image(&dir, seed).write_to(&at).unwrap();
            let store = Store::open(&at, options(None, false)).unwrap();
            let snap = store.snapshot();
            assert_eq!(snap.object(1).unwrap().value, b"before the recording");
            if second {
                assert_eq!(snap.object(2).unwrap().value, b"recorded");
            }
        }
    }
}
