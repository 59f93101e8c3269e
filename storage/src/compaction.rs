//! The maintenance thread: keeps a zero-filled spare segment ready for the next roll, and
//! reclaims space by compacting sealed segments that are mostly dead.
//!
//! Compacting a segment copies its live entries to the head of the log in ordinary frames
//! (keeping each key's version; in a replica store these frames are flagged as carrying
//! explicit versions, since a kept version may exceed the frame's sequence number), waits
//! until those frames are durable and no snapshot can still read the old copies, then drops
//! the segment from the table and deletes its file.
//! Commits go on meanwhile; they only wait for the writer lock while one small batch of
//! entries (at most [`CHUNK`] bytes) is copied.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use crate::disk::Disk;
use crate::error::CommitError;
use crate::format::{
    EntryHeader, FrameHeader, ENTRY_HEADER_LEN, FRAME_HEADER_LEN, SEGMENT_HEADER_LEN,
};
use crate::index::Loc;
use crate::segment::Segment;
use crate::store::Inner;
use crate::writer::{entry_key, entry_version, install, max_frame_len, KeyRef};

/// Largest batch of entries relocated under one hold of the writer lock.
const CHUNK: usize = 256 << 10;

/// A compacted segment waiting for the snapshots that may read it to close.
pub(crate) struct Retiring {
    seg: Arc<Segment>,
    /// The last commit when the scan ended (durable before the segment is queued here);
    /// snapshots at or after it no longer read the segment.
    after_seq: u64,
}

/// The maintenance thread's loop.
pub(crate) fn run_maintenance(inner: Arc<Inner>) {
    loop {
        if inner.closing.load(Ordering::Acquire) || inner.failure.get().is_some() {
            return;
        }
        if let Err(e) = ensure_spare(&inner) {
            inner.fail(format!("preparing a spare segment failed: {e}"));
            return;
        }
        if inner.options.background_compaction && inner.options.compact_below > 0.0 {
            if let Err(e) = compact_step(&inner) {
                if !matches!(e, CommitError::Closed) {
                    inner.fail(format!("compaction failed: {e}"));
                }
                return;
            }
        }
        retire_ready(&inner);
        let idle = inner.retiring.lock().is_empty();
        inner
            .maint_signal
            .sleep_unless(Duration::from_millis(if idle { 100 } else { 5 }), || {
                // Never take the writer lock here: the writer rings this signal while
                // holding it.
                inner.spare_needed.load(Ordering::Acquire) || inner.closing.load(Ordering::Acquire)
            });
    }
}

/// Creates the spare segment if there is none.
pub(crate) fn ensure_spare(inner: &Inner) -> std::io::Result<()> {
    let id = {
        let mut w = inner.writer.lock();
        if w.spare.is_some() {
            return Ok(());
        }
        let id = w.next_segment_id;
        w.next_segment_id += 1;
        id
    };
    // Zero-filling takes a while: do it without the lock.
    let seg = Arc::new(Segment::create_spare(
        &inner.disk,
        &inner.dir,
        id,
        inner.options.segment_size,
        inner.store_id,
        inner.format_version,
    )?);
    let mut w = inner.writer.lock();
    // Segment ids must follow log order. If the writer rolled meanwhile and had to create
    // a segment itself, this one's id is already behind: throw it away.
    if w.spare.is_none() && seg.id > w.active.id {
        w.spare = Some(seg);
        inner.spare_needed.store(false, Ordering::Release);
    } else {
        drop(w);
        // Still under its spare name, so recovery would delete it anyway.
        seg.discard()?;
    }
    Ok(())
}

/// Compacts the deadest sealed segment below the threshold, or the oldest one when
/// tombstones pile up.
fn compact_step(inner: &Inner) -> Result<(), CommitError> {
    let _one_at_a_time = inner.compacting.lock();
    let Some(seg) = pick(inner, inner.options.compact_below, u32::MAX) else {
        return Ok(());
    };
    compact_segment(inner, seg)
}

/// Compacts every sealed segment below the threshold now. Each is deleted as soon as no
/// open snapshot can read it (here if none is open, else by the maintenance thread).
/// Returns how many segments were compacted.
pub(crate) fn compact_all(inner: &Inner, threshold: f64) -> Result<usize, CommitError> {
    if !(0.0..=MAX_THRESHOLD).contains(&threshold) {
        return Err(CommitError::Invalid(format!(
            "compaction threshold {threshold} must be between 0 and {MAX_THRESHOLD}"
        )));
    }
    let _one_at_a_time = inner.compacting.lock();
    // Only segments sealed before this call: relocated data lands in newer segments, which
    // must not be picked again (their live fraction is close to, but below, one).
    let below = inner.writer.lock().active.id;
    let mut n = 0;
    loop {
        retire_ready(inner);
        let Some(seg) = pick(inner, threshold, below) else {
            break;
        };
        compact_segment(inner, seg)?;
        n += 1;
    }
    Ok(n)
}

/// The largest live fraction a segment may have to be compacted. A segment of relocated
/// entries is almost, but not quite, all live (frame headers and its seal are not), so a
/// threshold close to one would compact the same data over and over.
pub(crate) const MAX_THRESHOLD: f64 = 0.95;

/// The segment older than `before` to compact next: the deadest below `threshold`; failing
/// that, when tombstones
/// take more than a quarter of the live bytes (and at least half a segment), the oldest
/// sealed segment.
///
/// Tombstones can only be dropped from the oldest segment (anywhere else an older record
/// of their key may still exist), so without this sweep a log whose oldest segment stays
/// mostly live would carry every tombstone forward forever. Sweeping compacts segments
/// oldest first until the pressure is gone. It waits while a compacted segment is still on
/// disk, since that segment is older than any it could pick.
fn pick(inner: &Inner, threshold: f64, before: u32) -> Option<Arc<Segment>> {
    if let Some(seg) = pick_below(inner, threshold, before) {
        return Some(seg);
    }
    if !inner.retiring.lock().is_empty() {
        return None;
    }
    let (table, active) = {
        let w = inner.writer.lock();
        (w.table.clone(), w.active.id)
    };
    let sealed: Vec<&Arc<Segment>> = table
        .iter()
        .filter(|s| s.id != active && s.id < before)
        .collect();
    let tombstones: u64 = sealed
        .iter()
        .map(|s| s.tombstones.load(Ordering::Relaxed))
        .sum();
    let live: u64 = table.iter().map(|s| s.live.load(Ordering::Relaxed)).sum();
    let pressure = tombstones >= inner.options.segment_size as u64 / 2 && tombstones * 4 > live;
    if !pressure {
        return None;
    }
    sealed.first().map(|s| (*s).clone())
}

/// The deadest segment older than `before` (and not active or retiring) below `threshold`.
fn pick_below(inner: &Inner, threshold: f64, before: u32) -> Option<Arc<Segment>> {
    // Retiring list first, then the table (the lock order of `retire_ready`): a segment
    // retired in between is then missing from the table copy, not picked again.
    let retiring = inner.retiring.lock();
    let (table, active) = {
        let w = inner.writer.lock();
        (w.table.clone(), w.active.id)
    };
    let retiring: Vec<u32> = retiring.iter().map(|r| r.seg.id).collect();
    table
        .iter()
        .filter(|s| s.id != active && s.id < before && !retiring.contains(&s.id))
        .filter_map(|s| {
            let used = s.end.load(Ordering::Acquire) as f64 - SEGMENT_HEADER_LEN as f64;
            let live = s.live.load(Ordering::Relaxed) as f64;
            let ratio = if used <= 0.0 { 0.0 } else { live / used };
            (ratio < threshold || used <= FRAME_HEADER_LEN as f64).then(|| (ratio, s.clone()))
        })
        .min_by(|a, b| a.0.total_cmp(&b.0))
        .map(|(_, s)| s)
}

/// One entry of a sealed segment.
struct Entry<'a> {
    header: EntryHeader,
    name: &'a str,
    off: u32,
}

/// Whether `e` (in `seg`) is still needed: the newest record of its key, or a tombstone that
/// may hide an older record in an older segment.
fn is_live(inner: &Inner, seg: &Segment, oldest: bool, e: &Entry<'_>) -> bool {
    let here = Loc {
        seg: seg.id,
        off: e.off,
    };
    let latest = match entry_key(e.header.kind, e.header.id, e.name) {
        KeyRef::Id(crate::batch::Space::Objects, id) => inner.index.objects.latest(id),
        KeyRef::Id(crate::batch::Space::Tasks, id) => inner.index.tasks.latest(id),
        KeyRef::Name(n) => inner.index.names.latest(n),
    };
    if e.header.kind.is_tombstone() {
        // Nothing older can exist below the oldest segment.
        !oldest
            && match latest {
                None => true,
                Some(v) => v.tombstone && v.loc == here,
            }
    } else {
        latest.is_some_and(|v| v.loc == here)
    }
}

/// Whether no segment older than `id` exists on disk: none in the table, and none compacted
/// but not yet deleted. `retire_ready` takes a segment out of the table and deletes its
/// file while holding the retiring lock, taken here first, so the answer cannot fall
/// between the two.
fn is_oldest_on_disk(inner: &Inner, id: u32) -> bool {
    let retiring = inner.retiring.lock();
    let in_table = inner.writer.lock().table.oldest();
    let oldest = retiring.iter().map(|r| r.seg.id).chain(in_table).min();
    oldest == Some(id)
}

/// Copies the live entries of `seg` to the head of the log, waits until that is durable,
/// and queues `seg` for deletion once no snapshot can read it.
fn compact_segment(inner: &Inner, seg: Arc<Segment>) -> Result<(), CommitError> {
    let after_seq = relocate_live(inner, &seg)?;
    inner.retiring.lock().push(Retiring { seg, after_seq });
    Ok(())
}

/// Copies the live entries of `seg` to the head of the log; returns the sequence number
/// after which no snapshot reads `seg`, once it is durable.
fn relocate_live(inner: &Inner, seg: &Segment) -> Result<u64, CommitError> {
    let end = seg.end.load(Ordering::Acquire) as usize;
    let oldest = is_oldest_on_disk(inner, seg.id);
    // A relocation frame must fit in one segment, whatever the segment size.
    let limit = CHUNK.min(max_frame_len(inner.options.segment_size) - FRAME_HEADER_LEN);
    let mut batch: Vec<Entry<'_>> = Vec::new();
    let mut batch_bytes = 0usize;
    let mut relocated = false;
    let mut off = SEGMENT_HEADER_LEN;
    while off + FRAME_HEADER_LEN <= end {
        // SAFETY: the segment is sealed; its frames up to `end` are published and never
        // written again, and `seg` keeps it mapped.
        let raw = unsafe { seg.slice(off, FRAME_HEADER_LEN) };
        let h =
            FrameHeader::decode(inner.store_id, raw).expect("sealed segments hold intact frames");
        if h.seal {
            break;
        }
        let mut at = off + FRAME_HEADER_LEN;
        let frame_end = off + h.total_len();
        while at < frame_end {
            // SAFETY: as above.
            let bytes = unsafe { seg.slice(at, frame_end - at) };
            let header = EntryHeader::decode(bytes).expect("sealed segments hold intact entries");
            let name = &bytes[ENTRY_HEADER_LEN..ENTRY_HEADER_LEN + header.name_len as usize];
            let e = Entry {
                header,
                name: std::str::from_utf8(name).expect("names were checked on write"),
                off: at as u32,
            };
            at += header.total_len();
            if is_live(inner, seg, oldest, &e) {
                if batch_bytes + e.header.total_len() > limit {
                    relocated |= relocate(inner, seg, oldest, &batch)?;
                    batch.clear();
                    batch_bytes = 0;
                }
                batch_bytes += e.header.total_len();
                batch.push(e);
            }
        }
        off = frame_end;
    }
    if !batch.is_empty() {
        relocated |= relocate(inner, seg, oldest, &batch)?;
    }
    // Not just the last relocation: a commit may have killed an entry after an earlier
    // chunk was scanned, and the segment must outlive that commit's sync too. Every commit
    // whose effect the scan saw has published by the time we hold the writer lock.
    let after_seq = inner.writer.lock().last_seq;
    wait_durable(inner, after_seq)?;
    // Once the segment is gone its entries live only in the relocation frames. If those
    // are the newest frames on disk, damage to them would pass for a torn, unsynced tail,
    // which recovery discards: the relocated entries would silently vanish. A frame after
    // them that says they were synced makes such damage a reported corruption instead.
    // (With nothing relocated, nothing lives only there.)
    if relocated {
        let vouched = vouch(inner)?;
        wait_durable(inner, vouched)?;
    }
    Ok(after_seq)
}

fn wait_durable(inner: &Inner, seq: u64) -> Result<(), CommitError> {
    inner.request_sync();
    inner
        .durable
        .wait(seq)
        .map_err(|e| CommitError::Failed(e.to_string()))
}

/// Writes a frame without entries, whose header records how far the log is synced now;
/// returns its sequence number.
fn vouch(inner: &Inner) -> Result<u64, CommitError> {
    let mut guard = inner.writer.lock();
    let w = &mut *guard;
    inner.check_open()?;
    let (seq, dst, start) = inner.begin_frame(w, FRAME_HEADER_LEN)?;
    let mut frame = [0u8; FRAME_HEADER_LEN];
    inner.end_frame(&dst, start, &mut frame, seq, 0, inner.options.replica)?;
    inner.publish(w, seq, start + FRAME_HEADER_LEN);
    drop(guard);
    inner.flush_signal.ring();
    Ok(seq)
}

/// Writes the still-live entries of `entries` in one frame; returns whether there were any.
fn relocate(
    inner: &Inner,
    seg: &Segment,
    oldest: bool,
    entries: &[Entry<'_>],
) -> Result<bool, CommitError> {
    let mut guard = inner.writer.lock();
    let w = &mut *guard;
    inner.check_open()?;
    let horizon = inner.horizon(w);
    inner.prune_pending(w, horizon);
    // Re-checked under the lock: a commit may have replaced some since the scan.
    let live: Vec<&Entry<'_>> = entries
        .iter()
        .filter(|e| is_live(inner, seg, oldest, e))
        .collect();
    if live.is_empty() {
        return Ok(false);
    }
    let len = FRAME_HEADER_LEN + live.iter().map(|e| e.header.total_len()).sum::<usize>();
    let (seq, dst, start) = inner.begin_frame(w, len)?;
    assert_ne!(dst.id, seg.id, "a segment is never compacted into itself");
    let mut frame = std::mem::take(&mut w.buf);
    frame.clear();
    frame.resize(FRAME_HEADER_LEN, 0);
    for e in &live {
        // SAFETY: the source is a published entry of a sealed segment, never written again.
        frame.extend_from_slice(unsafe { seg.entry(e.off as usize) });
    }
    assert_eq!(frame.len(), len);
    // In a replica, relocated entries may carry versions above this frame's `seq`.
    let explicit = inner.options.replica;
    let written = inner.end_frame(&dst, start, &mut frame, seq, live.len() as u32, explicit);
    w.buf = frame;
    written?;
    let mut at = start + FRAME_HEADER_LEN;
    for e in &live {
        let h = e.header;
        let loc = Loc {
            seg: dst.id,
            off: at as u32,
        };
        let v = entry_version(h.kind, h.id, h.version, seq, loc);
        let key = entry_key(h.kind, h.id, e.name);
        install(&inner.index, w, key, v, h.total_len(), horizon);
        at += h.total_len();
    }
    inner.publish(w, seq, start + len);
    drop(guard);
    inner.flush_signal.ring();
    Ok(true)
}

/// Deletes the compacted segments that no open snapshot can read any more.
///
/// Lock order: the retiring lock, then the writer lock (as in `is_oldest_on_disk`). The
/// retiring lock is held until the file is gone, so nobody sees a segment that is neither
/// in the table nor in the retiring list while its file still exists.
fn retire_ready(inner: &Inner) {
    let mut retiring = inner.retiring.lock();
    let mut i = 0;
    while i < retiring.len() {
        if inner.failure.get().is_some() {
            // A failed store deletes nothing more: whatever is on disk stays consistent.
            return;
        }
        let ready = {
            let mut w = inner.writer.lock();
            let horizon = inner.horizon(&w);
            if horizon >= retiring[i].after_seq {
                let id = retiring[i].seg.id;
                let table = Arc::new(w.table.without(id));
                w.table = table.clone();
                *inner.table.write() = table;
                true
            } else {
                false
            }
        };
        if ready {
            let r = retiring.swap_remove(i);
            let used = r.seg.end.load(Ordering::Relaxed) as u64;
            // Snapshots taken earlier may still hold the mapping; the file can go now, its
            // pages stay readable until the last of them is dropped. If it cannot go, the
            // store must stop: tombstones in younger segments may be dropped once this one
            // is out of the table, and a file left behind would bring old values back.
            match inner
                .disk
                .remove(&r.seg.path)
                .and_then(|()| inner.disk.sync_dir(&inner.dir))
            {
                Ok(()) => {
                    inner.compacted.fetch_add(1, Ordering::Relaxed);
                    inner.reclaimed.fetch_add(used, Ordering::Relaxed);
                }
                Err(e) => {
                    inner.fail(format!("deleting compacted segment {}: {e}", r.seg.id));
                    return;
                }
            }
        } else {
            i += 1;
        }
    }
}
