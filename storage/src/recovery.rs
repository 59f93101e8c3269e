//! Rebuilding the index from the log on open, and deciding where the durable prefix ends.
//!
//! The scan stops at the first frame that is not intact (the *break point*). What follows it
//! is either an unsynced tail that a crash cut short, which is discarded, or damage to data
//! that was once durable, which is reported. The two are told apart by the frames after the
//! break point: every frame records how far the log was synced when it was written, so a
//! later frame claiming a sync beyond the break point proves the broken bytes had been on
//! disk.

use std::collections::VecDeque;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::directory::list_segments;
use crate::disk::{Disk, DiskFile, StoreDisk};
use crate::error::OpenError;
use crate::format::{
    log_position, EntryHeader, EntryKind, FrameHeader, Meta, SegmentHeader, ALIGN,
    ENTRY_HEADER_LEN, FRAME_HEADER_LEN, MAX_VERSION, SEGMENT_HEADER_LEN,
};
use crate::index::{Index, Loc};
use crate::segment::Segment;
use crate::table::SegTable;
use crate::writer::{entry_key, entry_version, install_into};

/// The state the log describes.
pub(crate) struct Recovered {
    /// Segments kept, in id order; the last is the active one.
    pub segments: Vec<Arc<Segment>>,
    /// Where the next frame goes in the active segment.
    pub pos: u32,
    /// Sequence number of the last recovered commit (0 for an empty store).
    pub last_seq: u64,
    /// Smallest id never handed out.
    pub next_id: u64,
    /// Id for the next segment created.
    pub next_segment_id: u32,
    /// Whether a torn, never-acknowledged tail holding data was discarded.
    pub discarded_tail: bool,
    /// The segment size to create new segments with: the configured one, or the largest
    /// in the store if that is larger.
    pub segment_size: u32,
}

struct Opened {
    seg: Arc<Segment>,
}

impl Opened {
    /// The segment's full size; recovery refuses short files, so all of it exists.
    fn limit(&self) -> usize {
        self.seg.size() as usize
    }
}

fn corrupt(file: &Path, offset: usize, reason: impl Into<String>) -> OpenError {
    OpenError::Corrupt {
        file: file.to_path_buf(),
        offset: offset as u64,
        reason: reason.into(),
    }
}

fn io(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

fn open_segment(
    disk: &StoreDisk,
    id: u32,
    path: PathBuf,
    meta: &Meta,
) -> Result<Opened, OpenError> {
    let store_id = meta.store_id;
    let file = disk.open(&path).map_err(io(&path))?;
    let len = file.std().metadata().map_err(io(&path))?.len();
    let mut hdr = [0u8; SEGMENT_HEADER_LEN];
    if len < SEGMENT_HEADER_LEN as u64 {
        return Err(corrupt(
            &path,
            0,
            "the file is shorter than a segment header",
        ));
    }
    file.std().read_exact_at(&mut hdr, 0).map_err(io(&path))?;
    let h = SegmentHeader::decode(&hdr).map_err(|why| corrupt(&path, 0, why))?;
    if h.format_version > meta.format_version {
        // The `STORE` file was checked against this build already.
        return Err(corrupt(
            &path,
            0,
            format!(
                "segment written in format {}, newer than the store's format {}",
                h.format_version, meta.format_version
            ),
        ));
    }
    if h.segment_id != id {
        return Err(corrupt(
            &path,
            24,
            format!(
                "the header names segment {} but the file is named for {id}",
                h.segment_id
            ),
        ));
    }
    if h.store_id != store_id {
        return Err(corrupt(&path, 16, "the segment belongs to another store"));
    }
    if h.size % 4096 != 0 || (h.size as usize) < 2 * SEGMENT_HEADER_LEN + FRAME_HEADER_LEN {
        return Err(corrupt(
            &path,
            12,
            format!("implausible segment size {}", h.size),
        ));
    }
    if len < h.size as u64 {
        // Segments are renamed into place only once written at full size, so a short file
        // was cut after the fact: what was past the cut may have been acknowledged.
        return Err(corrupt(
            &path,
            len as usize,
            format!(
                "the segment file was truncated: it has {len} bytes but was created with {}",
                h.size
            ),
        ));
    }
    let seg = Segment::map(disk, id, path.clone(), file, h.size).map_err(io(&path))?;
    Ok(Opened { seg: Arc::new(seg) })
}

/// Whether the segment holds nothing but zeros after its header: a spare never written to.
fn is_blank(o: &Opened) -> bool {
    // SAFETY: recovery runs before any writer or reader exists; nothing writes the map.
    let data = unsafe {
        o.seg
            .slice(SEGMENT_HEADER_LEN, o.limit() - SEGMENT_HEADER_LEN)
    };
    data.iter().all(|b| *b == 0)
}

/// An intact frame's entries, checked but not yet applied.
struct ParsedEntry<'a> {
    header: EntryHeader,
    name: &'a str,
    off: usize,
}

enum Parsed<'a> {
    Commit(FrameHeader, Vec<ParsedEntry<'a>>),
    /// The end of a segment; the log continues in the segment with this id.
    Seal(u32),
}

/// Why the frame at a position is not an intact frame in sequence.
enum Broken {
    /// Possibly a write a crash cut short: a break point, judged by `durable_beyond`.
    Break(String),
    /// Intact bytes this store can never have written: damage, whatever follows.
    Damage(String),
}

impl From<String> for Broken {
    fn from(why: String) -> Broken {
        Broken::Break(why)
    }
}

impl From<&str> for Broken {
    fn from(why: &str) -> Broken {
        Broken::Break(why.into())
    }
}

/// Reads the frame at `off`, or says why it is not an intact frame in sequence. `replica`:
/// the store may hold frames with explicit versions.
fn parse_frame<'a>(
    store_id: u64,
    replica: bool,
    data: &'a [u8],
    off: usize,
    last_seq: u64,
    first_in_segment: bool,
) -> Result<Parsed<'a>, Broken> {
    if off + FRAME_HEADER_LEN > data.len() {
        return Err("the log ends without a frame here".into());
    }
    let raw = &data[off..off + FRAME_HEADER_LEN];
    let Some(h) = FrameHeader::decode(store_id, raw) else {
        return Err(if raw.iter().all(|b| *b == 0) {
            "the log ends here".into()
        } else {
            "the frame header is damaged (bad magic or checksum)".into()
        });
    };
    let end = off
        .checked_add(h.total_len())
        .filter(|e| *e <= data.len())
        .ok_or("the frame runs past the end of the segment")?;
    let body = &data[off + FRAME_HEADER_LEN..end];
    if crc32c::crc32c(body) != h.body_crc {
        return Err("the frame body checksum does not match".into());
    }
    if h.seal {
        if h.body_len != 0 || h.seq != last_seq {
            return Err("a seal frame is malformed".into());
        }
        return Ok(Parsed::Seal(h.entries));
    }
    if h.explicit_versions && !replica {
        // Both checksums hold, so no torn write made this.
        return Err(Broken::Damage(
            "a frame with explicit versions in a store that is not a replica".into(),
        ));
    }
    let in_order = if first_in_segment {
        h.seq > last_seq
    } else {
        h.seq == last_seq + 1
    };
    if !in_order {
        return Err(format!("frame sequence {} does not follow {last_seq}", h.seq).into());
    }
    if h.body_len as usize % ALIGN != 0 {
        return Err("the frame body length is not aligned".into());
    }
    let mut entries = Vec::with_capacity(h.entries as usize);
    let mut at = 0usize;
    while at < body.len() {
        let header = EntryHeader::decode(&body[at..])
            .map_err(|e| format!("entry at body offset {at}: {e}"))?;
        let len = header.total_len();
        if at + len > body.len() {
            return Err(format!("entry at body offset {at} runs past its frame").into());
        }
        // A committer's version may exceed the frame's `seq`; the index keeps a flag in the
        // top bit.
        let highest = if h.explicit_versions {
            MAX_VERSION
        } else {
            h.seq
        };
        if header.version == 0 || header.version > highest {
            return Err(Broken::Break(format!(
                "entry at body offset {at} has impossible version {}",
                header.version
            )));
        }
        let name_bytes =
            &body[at + ENTRY_HEADER_LEN..at + ENTRY_HEADER_LEN + header.name_len as usize];
        let name = std::str::from_utf8(name_bytes)
            .map_err(|_| format!("entry at body offset {at} has a name that is not UTF-8"))?;
        entries.push(ParsedEntry {
            header,
            name,
            off: off + FRAME_HEADER_LEN + at,
        });
        at += len;
    }
    if entries.len() != h.entries as usize {
        return Err("the frame's entry count does not match its body".into());
    }
    Ok(Parsed::Commit(h, entries))
}

/// Whether any intact frame header at or after `from` (in `segs[first..]`) claims the log
/// was synced past `pos`: proof that the bytes at `pos` were once durable.
fn durable_beyond(store_id: u64, segs: &[Opened], first: usize, from: usize, pos: u64) -> bool {
    for (j, o) in segs.iter().enumerate().skip(first) {
        // SAFETY: recovery runs before any writer or reader exists; nothing writes the map.
        let data = unsafe { o.seg.slice(0, o.limit()) };
        let mut at = if j == first { from } else { SEGMENT_HEADER_LEN };
        at = at.next_multiple_of(ALIGN);
        while at + FRAME_HEADER_LEN <= data.len() {
            if data[at..at + 4] == crate::format::FRAME_MAGIC {
                if let Some(h) = FrameHeader::decode(store_id, &data[at..at + FRAME_HEADER_LEN]) {
                    if h.synced_upto > pos {
                        return true;
                    }
                }
            }
            at += ALIGN;
        }
    }
    false
}

/// Replays the log in `dir`, the store `meta` describes, into `index`.
pub(crate) fn recover(
    disk: &StoreDisk,
    dir: &Path,
    meta: &Meta,
    segment_size: u32,
    index: &Index,
) -> Result<Recovered, OpenError> {
    let store_id = meta.store_id;
    let replica = meta.is_replica();
    let listed = list_segments(disk, dir)?;
    let next_segment_id = listed.last().map(|(id, _)| id + 1).unwrap_or(1);
    let mut segs = Vec::with_capacity(listed.len());
    for (id, path) in listed {
        segs.push(open_segment(disk, id, path, meta)?);
    }
    // Segments never shrink below what the store already holds: an entry written under a
    // larger size must still fit in one frame when compaction moves it.
    let segment_size = segs
        .iter()
        .map(|o| o.seg.size())
        .fold(segment_size, u32::max);
    let table = SegTable::from_segments(segs.iter().map(|o| o.seg.clone()));
    let mut pending = VecDeque::new();
    let mut last_seq = 0u64;
    let mut next_id = 1u64;
    let mut brk: Option<(usize, usize, String)> = None;
    // Segments below this id were skipped by a seal: spares made ready but never used.
    let mut continues_in = 0u32;
    let mut unused: Vec<usize> = Vec::new();
    'segments: for (i, o) in segs.iter().enumerate() {
        if o.seg.id < continues_in {
            if !is_blank(o) {
                return Err(corrupt(
                    &o.seg.path,
                    SEGMENT_HEADER_LEN,
                    format!(
                        "the log skips this segment (it continues in segment {continues_in}) \
                         but it holds data"
                    ),
                ));
            }
            unused.push(i);
            continue;
        }
        // SAFETY: recovery runs before any writer or reader exists; nothing writes the map.
        let data = unsafe { o.seg.slice(0, o.limit()) };
        let mut off = SEGMENT_HEADER_LEN;
        let mut first = true;
        loop {
            match parse_frame(store_id, replica, data, off, last_seq, first) {
                Ok(Parsed::Seal(next)) => {
                    if next <= o.seg.id {
                        brk = Some((i, off, format!("a seal names segment {next} as next")));
                        break 'segments;
                    }
                    continues_in = next;
                    o.seg
                        .end
                        .store((off + FRAME_HEADER_LEN) as u32, Ordering::Relaxed);
                    continue 'segments;
                }
                Ok(Parsed::Commit(h, entries)) => {
                    for e in &entries {
                        let kind = e.header.kind;
                        let loc = Loc {
                            seg: o.seg.id,
                            off: e.off as u32,
                        };
                        let v = entry_version(kind, e.header.id, e.header.version, h.seq, loc);
                        let key = entry_key(kind, e.header.id, e.name);
                        let len = e.header.total_len();
                        install_into(index, &table, &mut pending, key, v, len, h.seq);
                        if kind != EntryKind::Unbind {
                            next_id = next_id.max(e.header.id.saturating_add(1));
                        }
                    }
                    last_seq = h.seq;
                    next_id = next_id.max(h.next_id);
                    off += h.total_len();
                    first = false;
                    o.seg.end.store(off as u32, Ordering::Relaxed);
                }
                Err(Broken::Break(why)) => {
                    brk = Some((i, off, why));
                    break 'segments;
                }
                Err(Broken::Damage(why)) => return Err(corrupt(&o.seg.path, off, why)),
            }
        }
    }
    debug_assert!(pending.is_empty(), "replay prunes as it goes");

    let mut discarded_tail = false;
    let (active_index, pos) = match brk {
        Some((i, off, why)) => {
            let pos = log_position(segs[i].seg.id, off as u32);
            if durable_beyond(store_id, &segs, i, off + ALIGN, pos) {
                return Err(corrupt(
                    &segs[i].seg.path,
                    off,
                    format!("{why}, but later records show it had been synced"),
                ));
            }
            // An unsynced tail: nothing from here on was ever acknowledged.
            let o = &segs[i];
            // SAFETY: still no other reader or writer.
            let rest = unsafe { o.seg.slice(off, o.seg.size() as usize - off) };
            if rest.iter().any(|b| *b != 0) {
                discarded_tail = true;
                let zeros = vec![0u8; rest.len()];
                o.seg.write_at(off, &zeros).map_err(io(&o.seg.path))?;
                o.seg
                    .sync_range(off, o.seg.size() as usize)
                    .map_err(io(&o.seg.path))?;
            }
            (i, off)
        }
        None => (usize::MAX, 0),
    };
    let mut kept: Vec<Arc<Segment>> = Vec::new();
    let mut removed = false;
    for (j, o) in segs.into_iter().enumerate() {
        let after_break = active_index != usize::MAX && j > active_index;
        if after_break || unused.contains(&j) {
            // Only unsynced frames or never-used spares are here.
            discarded_tail |= after_break && !is_blank(&o);
            disk.remove(&o.seg.path).map_err(io(&o.seg.path))?;
            removed = true;
            continue;
        }
        kept.push(o.seg);
    }
    if removed {
        disk.sync_dir(dir).map_err(io(dir))?;
    }
    // Ids follow log order: never below a segment a seal names, even if its file is gone
    // (a roll whose rename a power loss undid); a later open would take a smaller id for a
    // segment the log skipped.
    let next_segment_id = next_segment_id.max(continues_in);
    let (pos, next_segment_id) = if active_index == usize::MAX {
        // Every segment ended in a seal (or there are none): start a fresh one.
        let id = next_segment_id;
        let seg = Segment::create(disk, dir, id, segment_size, store_id, meta.format_version)
            .map_err(io(dir))?;
        kept.push(Arc::new(seg));
        (SEGMENT_HEADER_LEN as u32, id + 1)
    } else {
        (pos as u32, next_segment_id)
    };
    // Frames read back after a process crash may still sit only in the page cache.
    for s in &kept {
        let end = s.end.load(Ordering::Relaxed) as usize;
        s.sync_range(0, end).map_err(io(&s.path))?;
    }
    kept.last()
        .expect("there is an active segment")
        .end
        .store(pos, Ordering::Relaxed);
    Ok(Recovered {
        segments: kept,
        pos,
        last_seq,
        next_id,
        next_segment_id,
        discarded_tail,
        segment_size,
    })
}

#[cfg(test)]
mod tests {
    use crate::segment::Segment;
    use crate::{Batch, Options, Store};

    fn small() -> Options {
        Options {
            segment_size: 64 << 10,
            background_compaction: false,
            ..Options::default()
        }
    }

    /// The maintenance thread reserves an id for a spare and creates it; meanwhile the writer
    /// rolls, finds no spare and creates the next id itself. If the process dies before the
    /// late spare is deleted, it sits in the middle of the log, blank.
    #[test]
    fn a_spare_left_in_the_middle_of_the_log_is_skipped() {
        let dir = tempfile::tempdir().unwrap();
        let store = Store::open(dir.path(), small()).unwrap();
        let stale = {
            let inner = store.inner();
            let mut w = inner.writer.lock();
            if let Some(spare) = w.spare.take() {
                spare.discard().unwrap();
            }
            let id = w.next_segment_id;
            w.next_segment_id += 1;
            inner
                .spare_needed
                .store(false, std::sync::atomic::Ordering::Release);
            drop(w);
            Segment::create(
                &inner.disk,
                dir.path(),
                id,
                small().segment_size,
                inner.store_id,
                inner.format_version,
            )
            .unwrap();
            id
        };
        let mut b = Batch::new();
        for i in 0..200u64 {
            b.clear();
            b.put_object(i, "t", &[i as u8; 700]);
            store.commit(&b).unwrap();
        }
        store.sync().unwrap();
        drop(store);
        let stale_path = dir.path().join(crate::segment::segment_file_name(stale));
        assert!(
            stale_path.exists(),
            "the test leaves a blank segment behind"
        );
        let store = Store::open(dir.path(), small()).unwrap();
        assert!(!stale_path.exists(), "recovery removes it");
        assert!(!store.stats().discarded_torn_tail);
        let snap = store.snapshot();
        for i in 0..200u64 {
            assert_eq!(snap.object(i).unwrap().value, &[i as u8; 700][..]);
        }
    }
}
