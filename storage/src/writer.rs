//! The commit path: validate a batch's reads, append its frame to the active segment file,
//! install its versions in the index, and make it visible.
//!
//! Everything here runs under the writer lock, which orders commits: a commit's sequence
//! number is its place in the serial order, in the log and in the index alike.

use std::collections::VecDeque;
use std::sync::atomic::Ordering;
use std::sync::Arc;

use crate::batch::{Batch, Op, Read, Space};
use crate::error::{CommitError, ConflictKey};
use crate::format::{
    entry_len, value_offset, EntryHeader, EntryKind, FrameHeader, ENTRY_HEADER_LEN,
    FRAME_HEADER_LEN, MAX_VERSION, SEGMENT_HEADER_LEN,
};
use crate::index::{Index, Loc, Version};
use crate::segment::Segment;
use crate::store::Inner;
use crate::table::SegTable;

/// A key whose chain may be shortened once older snapshots are gone.
#[derive(Debug)]
pub(crate) enum PruneKey {
    Object(u64),
    Task(u64),
    Name(Box<str>),
}

/// State owned by whoever holds the writer lock.
pub(crate) struct Writer {
    /// The segment frames are appended to.
    pub active: Arc<Segment>,
    /// Where the next frame goes in `active`.
    pub pos: u32,
    /// Sequence number of the last frame written.
    pub last_seq: u64,
    /// A ready, zero-filled segment for the next roll.
    pub spare: Option<Arc<Segment>>,
    /// Id for the next segment created.
    pub next_segment_id: u32,
    /// Segments rolled away from whose tails the flusher has not synced yet.
    pub unsynced: Vec<(Arc<Segment>, u32)>,
    /// The current segment table (the same `Arc` readers load).
    pub table: Arc<SegTable>,
    /// Keys with versions or tombstones to drop once the horizon passes their sequence.
    pub pending_prune: VecDeque<(u64, PruneKey)>,
    /// Scratch space frames are encoded in.
    pub buf: Vec<u8>,
}

/// Bytes a frame for `batch` takes, or why it cannot be stored.
pub(crate) fn frame_len(batch: &Batch, segment_size: u32) -> Result<usize, CommitError> {
    if batch.oversized {
        return Err(CommitError::Invalid(
            "the batch holds more than 4 GiB of names and values".into(),
        ));
    }
    let mut n = FRAME_HEADER_LEN;
    for op in &batch.ops {
        n += match *op {
            Op::Put {
                type_name, value, ..
            } => {
                check_name_len(type_name.len as usize, "type name")?;
                entry_len(type_name.len as usize, value.len as usize, true)
            }
            Op::Remove { .. } => entry_len(0, 0, false),
            Op::Bind { name, .. } | Op::Unbind { name } => {
                check_name_len(name.len as usize, "name")?;
                entry_len(name.len as usize, 0, false)
            }
        };
    }
    let capacity = max_frame_len(segment_size);
    if n > capacity {
        return Err(CommitError::Invalid(format!(
            "the commit needs {n} bytes but a segment holds at most {capacity}; \
             raise segment_size or split the transaction"
        )));
    }
    Ok(n)
}

/// The largest frame an empty segment takes (leaving room for its seal).
pub(crate) fn max_frame_len(segment_size: u32) -> usize {
    segment_size as usize - SEGMENT_HEADER_LEN - FRAME_HEADER_LEN
}

/// Checks the batch's explicit version, if it has one, against the store's kind.
pub(crate) fn check_version(batch: &Batch, replica: bool) -> Result<(), CommitError> {
    let Some(version) = batch.version else {
        return Ok(());
    };
    if !replica {
        return Err(CommitError::Invalid(format!(
            "the batch sets explicit version {version}, but this store is not a replica \
             (open it with `Options::replica` to install versions chosen by the caller)"
        )));
    }
    if version == 0 {
        return Err(CommitError::Invalid(
            "the batch sets explicit version 0, which means \"absent\"; versions start at 1".into(),
        ));
    }
    if version > MAX_VERSION {
        return Err(CommitError::Invalid(format!(
            "the batch sets explicit version {version}, above the largest version {MAX_VERSION}"
        )));
    }
    Ok(())
}

fn check_name_len(len: usize, what: &str) -> Result<(), CommitError> {
    if len > u16::MAX as usize {
        return Err(CommitError::Invalid(format!(
            "a {what} of {len} bytes is longer than the limit of {} bytes",
            u16::MAX
        )));
    }
    Ok(())
}

impl Inner {
    /// Validates and applies `batch`; returns its sequence number (for an empty batch, the
    /// sequence number it was validated at).
    pub(crate) fn commit(
        &self,
        batch: &Batch,
        on_commit: &mut dyn FnMut(u64),
    ) -> Result<u64, CommitError> {
        let len = frame_len(batch, self.options.segment_size)?;
        check_version(batch, self.options.replica)?;
        let mut guard = self.writer.lock();
        let w = &mut *guard;
        self.check_open()?;
        self.validate(batch)?;
        if batch.ops.is_empty() {
            on_commit(w.last_seq);
            return Ok(w.last_seq);
        }
        let horizon = self.horizon(w);
        self.prune_pending(w, horizon);
        let (seq, seg, start) = self.begin_frame(w, len)?;
        let version = batch.version.unwrap_or(seq);
        // Pass 1: encode the frame.
        let mut buf = std::mem::take(&mut w.buf);
        buf.clear();
        buf.resize(len, 0);
        let mut off = FRAME_HEADER_LEN;
        for op in &batch.ops {
            let EntrySpec {
                kind,
                id,
                name,
                value,
            } = EntrySpec::of(batch, op);
            if kind != EntryKind::Unbind && id >= self.next_id.load(Ordering::Relaxed) {
                // Ids chosen by the caller are never handed out by the allocator later.
                self.next_id.fetch_max(id + 1, Ordering::AcqRel);
            }
            let h = EntryHeader {
                kind,
                name_len: name.len() as u16,
                value_len: value.len() as u32,
                id,
                version,
            };
            h.encode(&mut buf[off..off + ENTRY_HEADER_LEN]);
            buf[off + ENTRY_HEADER_LEN..off + ENTRY_HEADER_LEN + name.len()].copy_from_slice(name);
            if kind.has_value() {
                let at = off + value_offset(name.len());
                buf[at..at + value.len()].copy_from_slice(value);
            }
            off += h.total_len();
        }
        assert_eq!(off, len, "frame length and encoded entries disagree");
        let explicit = batch.version.is_some();
        let written = self.end_frame(&seg, start, &mut buf, seq, batch.ops.len() as u32, explicit);
        w.buf = buf;
        written?;
        // Pass 2: install the versions.
        let mut off = start + FRAME_HEADER_LEN;
        for op in &batch.ops {
            let e = EntrySpec::of(batch, op);
            let entry_len = entry_len(e.name.len(), e.value.len(), e.kind.has_value());
            let name = match e.kind {
                EntryKind::Bind | EntryKind::Unbind => batch.str_of(e.name),
                _ => "",
            };
            let loc = Loc {
                seg: seg.id,
                off: off as u32,
            };
            let v = entry_version(e.kind, e.id, version, seq, loc);
            let key = entry_key(e.kind, e.id, name);
            install(&self.index, w, key, v, entry_len, horizon);
            off += entry_len;
        }
        self.publish(w, seq, start + len);
        // Still under the lock: whatever `on_commit` records is ordered like the commits.
        on_commit(seq);
        drop(guard);
        self.flush_signal.ring();
        Ok(seq)
    }

    /// Fails the commit if the store failed or is closing.
    pub(crate) fn check_open(&self) -> Result<(), CommitError> {
        if let Some(why) = self.failure.get() {
            return Err(CommitError::Failed(why.clone()));
        }
        if self.closing.load(Ordering::Acquire) {
            return Err(CommitError::Closed);
        }
        Ok(())
    }

    /// Checks every read of `batch` against the newest versions.
    fn validate(&self, batch: &Batch) -> Result<(), CommitError> {
        for read in &batch.reads {
            match *read {
                Read::Id { space, id, version } => {
                    let current = match space {
                        Space::Objects => self.index.objects.latest(id),
                        Space::Tasks => self.index.tasks.latest(id),
                    };
                    if present_version(current) != version {
                        return Err(CommitError::Conflict(match space {
                            Space::Objects => ConflictKey::Object(id),
                            Space::Tasks => ConflictKey::Task(id),
                        }));
                    }
                }
                Read::Name { name, version } => {
                    let name = batch.str(name);
                    if present_version(self.index.names.latest(name)) != version {
                        return Err(CommitError::Conflict(ConflictKey::Name(name.to_string())));
                    }
                }
                Read::NextName { after, observed } => {
                    let after = after.map(|a| batch.str(a));
                    let now = self.index.names.next_latest(after);
                    if now.as_ref().map(|(n, _)| n.as_str()) != observed.map(|o| batch.str(o)) {
                        return Err(CommitError::Conflict(ConflictKey::NextName {
                            after: after.map(str::to_string),
                        }));
                    }
                }
            }
        }
        Ok(())
    }

    /// The oldest sequence number an open (or opening) snapshot may read at.
    pub(crate) fn horizon(&self, w: &Writer) -> u64 {
        self.snapshots.lock().horizon(w.last_seq)
    }

    /// Drops versions and tombstones that no snapshot can see any more.
    pub(crate) fn prune_pending(&self, w: &mut Writer, horizon: u64) {
        while w.pending_prune.front().is_some_and(|(s, _)| *s <= horizon) {
            let (_, key) = w.pending_prune.pop_front().expect("checked non-empty");
            match key {
                PruneKey::Object(id) => self.index.objects.forget_if_dead(id, horizon),
                PruneKey::Task(id) => self.index.tasks.forget_if_dead(id, horizon),
                PruneKey::Name(n) => self.index.names.forget_if_dead(&n, horizon),
            };
        }
    }

    /// Reserves room for a frame of `len` bytes (rolling to a new segment if needed) and
    /// assigns its sequence number. Returns the sequence, segment and frame offset.
    pub(crate) fn begin_frame(
        &self,
        w: &mut Writer,
        len: usize,
    ) -> Result<(u64, Arc<Segment>, usize), CommitError> {
        assert!(len <= max_frame_len(self.options.segment_size));
        if w.pos as usize + len + FRAME_HEADER_LEN > w.active.size() as usize {
            self.roll(w)?;
        }
        let start = w.pos as usize;
        assert!(start + len + FRAME_HEADER_LEN <= w.active.size() as usize);
        assert_eq!(start % crate::format::ALIGN, 0);
        Ok((w.last_seq + 1, w.active.clone(), start))
    }

    /// Fills in the header of the encoded frame in `frame` and writes it at `start`.
    /// `explicit_versions`: the entries' versions were not taken from `seq`.
    pub(crate) fn end_frame(
        &self,
        seg: &Segment,
        start: usize,
        frame: &mut [u8],
        seq: u64,
        entries: u32,
        explicit_versions: bool,
    ) -> Result<(), CommitError> {
        debug_assert!(!explicit_versions || self.options.replica);
        let header = FrameHeader {
            seq,
            synced_upto: self.synced_upto.load(Ordering::Acquire),
            next_id: self.next_id.load(Ordering::Acquire),
            body_len: (frame.len() - FRAME_HEADER_LEN) as u32,
            body_crc: crc32c::crc32c(&frame[FRAME_HEADER_LEN..]),
            entries,
            seal: false,
            explicit_versions,
        };
        header.encode(self.store_id, &mut frame[..FRAME_HEADER_LEN]);
        seg.write_at(start, frame)
            .map_err(|e| self.fail(format!("writing to segment {}: {e}", seg.id)))
    }

    /// Makes frame `seq` (ending at `end`) visible to new snapshots.
    pub(crate) fn publish(&self, w: &mut Writer, seq: u64, end: usize) {
        assert_eq!(seq, w.last_seq + 1, "frames are published in sequence");
        w.pos = end as u32;
        w.last_seq = seq;
        w.active.end.store(w.pos, Ordering::Release);
        self.visible.store(seq, Ordering::Release);
    }

    /// Seals the active segment and moves on to the spare (or a new segment).
    fn roll(&self, w: &mut Writer) -> Result<(), CommitError> {
        let next = match w.spare.take() {
            Some(s) => {
                assert!(s.id > w.active.id, "segment ids follow log order");
                s.activate()
                    .map_err(|e| self.fail(format!("activating segment {}: {e}", s.id)))?;
                s
            }
            None => {
                let id = w.next_segment_id;
                w.next_segment_id += 1;
                Arc::new(
                    Segment::create(
                        &self.disk,
                        &self.dir,
                        id,
                        self.options.segment_size,
                        self.store_id,
                        self.format_version,
                    )
                    .map_err(|e| self.fail(format!("creating segment {id}: {e}")))?,
                )
            }
        };
        let seal = FrameHeader {
            seq: w.last_seq,
            synced_upto: self.synced_upto.load(Ordering::Acquire),
            next_id: self.next_id.load(Ordering::Acquire),
            body_len: 0,
            body_crc: crc32c::crc32c(&[]),
            entries: next.id,
            seal: true,
            explicit_versions: false,
        };
        let mut bytes = [0u8; FRAME_HEADER_LEN];
        seal.encode(self.store_id, &mut bytes);
        let old = w.active.clone();
        // Room for the seal is always reserved past the last frame.
        old.write_at(w.pos as usize, &bytes)
            .map_err(|e| self.fail(format!("sealing segment {}: {e}", old.id)))?;
        let end = w.pos + FRAME_HEADER_LEN as u32;
        old.end.store(end, Ordering::Release);
        w.unsynced.push((old, end));
        // Publish the new segment before any frame in it can become visible.
        let table = Arc::new(w.table.with(next.clone()));
        w.table = table.clone();
        *self.table.write() = table;
        w.active = next;
        w.pos = SEGMENT_HEADER_LEN as u32;
        self.spare_needed.store(true, Ordering::Release);
        self.maint_signal.ring();
        Ok(())
    }

    /// Puts the store in the failed state and returns the error to report.
    pub(crate) fn fail(&self, why: String) -> CommitError {
        // The first failure is the one reported from then on.
        let first = self.failure.get_or_init(|| why).clone();
        self.durable.fail(first.clone());
        CommitError::Failed(first)
    }
}

/// The index version of an entry of `kind` for `id` installing key version `version` (the
/// sequence number of the commit that first wrote it, or an explicit version), made visible
/// by commit `seq` at `loc`.
pub(crate) fn entry_version(kind: EntryKind, id: u64, version: u64, seq: u64, loc: Loc) -> Version {
    Version {
        seq,
        version,
        loc,
        target: if kind == EntryKind::Bind { id } else { 0 },
        tombstone: kind.is_tombstone(),
    }
}

/// Installs `v` (an entry of `len` bytes) for `key` and keeps the live-byte counts and the
/// prune queue of `w` right.
pub(crate) fn install(
    index: &Index,
    w: &mut Writer,
    key: KeyRef<'_>,
    v: Version,
    len: usize,
    horizon: u64,
) {
    install_into(index, &w.table, &mut w.pending_prune, key, v, len, horizon);
}

/// [`install`] with the table and prune queue given apart (recovery has no writer yet).
pub(crate) fn install_into(
    index: &Index,
    table: &SegTable,
    pending: &mut VecDeque<(u64, PruneKey)>,
    key: KeyRef<'_>,
    v: Version,
    len: usize,
    horizon: u64,
) {
    let prev = match key {
        KeyRef::Id(Space::Objects, id) => index.objects.install(id, v, horizon),
        KeyRef::Id(Space::Tasks, id) => index.tasks.install(id, v, horizon),
        KeyRef::Name(n) => index.names.install(n, v, horizon),
    };
    let seg = table
        .get(v.loc.seg)
        .expect("versions are installed in a published segment");
    seg.live.fetch_add(len as u64, Ordering::Relaxed);
    if v.tombstone {
        seg.tombstones.fetch_add(len as u64, Ordering::Relaxed);
    }
    if let Some(p) = prev {
        if let Some(old) = table.get(p.loc.seg) {
            // SAFETY: an installed entry is complete and never written again.
            let len = unsafe { old.entry(p.loc.off as usize) }.len() as u64;
            old.live.fetch_sub(len, Ordering::Relaxed);
            if p.tombstone {
                // A superseded tombstone hides nothing any more.
                old.tombstones.fetch_sub(len, Ordering::Relaxed);
            }
        }
    }
    let chain_grew = prev.is_some_and(|p| p.seq != v.seq);
    if (v.tombstone || chain_grew) && v.seq > horizon {
        let key = match key {
            KeyRef::Id(Space::Objects, id) => PruneKey::Object(id),
            KeyRef::Id(Space::Tasks, id) => PruneKey::Task(id),
            KeyRef::Name(n) => PruneKey::Name(n.into()),
        };
        pending.push_back((v.seq, key));
    }
}

/// What one write of a batch puts in the log.
struct EntrySpec<'a> {
    kind: EntryKind,
    /// Object or task id; for a binding, the bound id (0 for an unbind).
    id: u64,
    /// Type name (objects, tasks) or bound name (bindings).
    name: &'a [u8],
    /// Stored bytes (objects, tasks); empty otherwise.
    value: &'a [u8],
}

impl<'a> EntrySpec<'a> {
    fn of(batch: &'a Batch, op: &Op) -> EntrySpec<'a> {
        let (kind, id, name, value): (EntryKind, u64, &[u8], &[u8]) = match *op {
            Op::Put {
                space,
                id,
                type_name,
                value,
            } => (
                put_kind(space),
                id,
                batch.bytes(type_name),
                batch.bytes(value),
            ),
            Op::Remove { space, id } => (remove_kind(space), id, &[], &[]),
            Op::Bind { name, id } => (EntryKind::Bind, id, batch.bytes(name), &[]),
            Op::Unbind { name } => (EntryKind::Unbind, 0, batch.bytes(name), &[]),
        };
        EntrySpec {
            kind,
            id,
            name,
            value,
        }
    }
}

/// A key, borrowed.
#[derive(Clone, Copy, Debug)]
pub(crate) enum KeyRef<'a> {
    Id(Space, u64),
    Name(&'a str),
}

fn present_version(v: Option<Version>) -> u64 {
    match v {
        Some(v) if !v.tombstone => v.version,
        _ => 0,
    }
}

fn put_kind(space: Space) -> EntryKind {
    match space {
        Space::Objects => EntryKind::PutObject,
        Space::Tasks => EntryKind::PutTask,
    }
}

fn remove_kind(space: Space) -> EntryKind {
    match space {
        Space::Objects => EntryKind::RemoveObject,
        Space::Tasks => EntryKind::RemoveTask,
    }
}

/// The key space and key of a decoded entry.
pub(crate) fn entry_key<'a>(kind: EntryKind, id: u64, name: &'a str) -> KeyRef<'a> {
    match kind {
        EntryKind::PutObject | EntryKind::RemoveObject => KeyRef::Id(Space::Objects, id),
        EntryKind::PutTask | EntryKind::RemoveTask => KeyRef::Id(Space::Tasks, id),
        EntryKind::Bind | EntryKind::Unbind => KeyRef::Name(name),
    }
}
