//! Consistent, zero-copy reads: a snapshot sees exactly the commits up to its sequence
//! number, and its reads borrow the mapped log directly.

use std::collections::BTreeMap;
use std::sync::Arc;

use crate::format::{value_offset, ENTRY_HEADER_LEN};
use crate::index::Version;
use crate::store::Inner;
use crate::table::SegTable;

/// The open snapshots, so the writer knows which old versions someone may still read.
#[derive(Debug, Default)]
pub(crate) struct Registry {
    open: BTreeMap<u64, u32>,
}

impl Registry {
    pub fn add(&mut self, seq: u64) {
        *self.open.entry(seq).or_default() += 1;
    }

    pub fn remove(&mut self, seq: u64) {
        let n = self.open.get_mut(&seq).expect("snapshot was registered");
        *n -= 1;
        if *n == 0 {
            self.open.remove(&seq);
        }
    }

    /// The oldest sequence number any open snapshot reads at, or `visible` if none is open.
    pub fn horizon(&self, visible: u64) -> u64 {
        self.open
            .keys()
            .next()
            .copied()
            .unwrap_or(visible)
            .min(visible)
    }
}

/// A committed object or pending task, read in place from the mapped log.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Record<'a> {
    /// The stable type name it was stored with.
    pub type_name: &'a str,
    /// Its version: the sequence number of the commit that wrote it, or in a replica store
    /// the explicit version that commit's batch gave. Pass it to
    /// [`Batch::read_object`](crate::Batch::read_object) to make a commit depend on it.
    pub version: u64,
    /// The stored bytes, 16-byte aligned (an rkyv archive can be accessed in place).
    pub value: &'a [u8],
}

/// A name binding.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Binding {
    /// The id the name is bound to.
    pub id: u64,
    /// The binding's version, for [`Batch::read_name`](crate::Batch::read_name).
    pub version: u64,
}

/// A consistent view of the store as of one commit.
///
/// Taking a snapshot is cheap; reads through it never block commits and never see part of a
/// commit. Values borrow the snapshot, and the segments they live in stay mapped until it is
/// dropped, even if compaction retires them meanwhile. Keep snapshots short: old versions
/// are kept in memory while an older snapshot is open.
pub struct Snapshot {
    inner: Arc<Inner>,
    seq: u64,
    table: Arc<SegTable>,
}

impl std::fmt::Debug for Snapshot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Snapshot").field("seq", &self.seq).finish()
    }
}

impl Snapshot {
    pub(crate) fn new(inner: Arc<Inner>) -> Snapshot {
        let seq = {
            let mut reg = inner.snapshots.lock();
            let seq = inner.visible_seq();
            reg.add(seq);
            seq
        };
        // Loaded after the sequence number: every segment holding a commit up to `seq` was
        // published before that commit became visible.
        let table = inner.table.read().clone();
        Snapshot { inner, seq, table }
    }

    /// The sequence number of the last commit this snapshot sees.
    pub fn seq(&self) -> u64 {
        self.seq
    }

    /// Object `id`, or `None` if it does not exist at this snapshot.
    #[inline]
    pub fn object(&self, id: u64) -> Option<Record<'_>> {
        let v = self.inner.index.objects.visible(id, self.seq)?;
        self.record(&v)
    }

    /// Pending task `id`, or `None`.
    pub fn task(&self, id: u64) -> Option<Record<'_>> {
        let v = self.inner.index.tasks.visible(id, self.seq)?;
        self.record(&v)
    }

    /// The ids of every object present at this snapshot, in order.
    pub fn object_ids(&self) -> Vec<u64> {
        self.inner.index.objects.present_at(self.seq)
    }

    /// The ids of every pending task present at this snapshot, in order.
    pub fn task_ids(&self) -> Vec<u64> {
        self.inner.index.tasks.present_at(self.seq)
    }

    /// The binding of `name`, or `None` if it is unbound.
    pub fn name(&self, name: &str) -> Option<Binding> {
        let v = self.inner.index.names.visible(name, self.seq)?;
        (!v.tombstone).then_some(Binding {
            id: v.target,
            version: v.version,
        })
    }

    /// The first bound name strictly after `after` in byte order (`None`: the first name),
    /// with its binding.
    pub fn next_name(&self, after: Option<&str>) -> Option<(String, Binding)> {
        let (name, v) = self.inner.index.names.next_visible(after, self.seq)?;
        Some((
            name,
            Binding {
                id: v.target,
                version: v.version,
            },
        ))
    }

    /// Every binding at this snapshot, in name order.
    pub fn names(&self) -> impl Iterator<Item = (String, Binding)> + '_ {
        let mut after: Option<String> = None;
        std::iter::from_fn(move || {
            let next = self.next_name(after.as_deref())?;
            after = Some(next.0.clone());
            Some(next)
        })
    }

    /// A BLAKE3 hash of everything this snapshot sees: every present object (id, version,
    /// type name, value), every present pending task (the same) and every binding (name,
    /// bound id, version), objects and tasks in id order and bindings in name order.
    ///
    /// It depends on nothing else: not on sequence numbers, segments, compaction or the
    /// order writes arrived in. Two replica stores that applied the same batches with the
    /// same explicit versions have equal digests whatever their local history. (In an
    /// embedded store versions are sequence numbers, so they are part of what is hashed.)
    /// The hashed bytes are given in the book's "Store file format" chapter. Walks the whole
    /// index: meant for checks and tools, not the hot path.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&crate::format::DIGEST_MAGIC);
        let mut record = |tag: u8, id: u64, r: Record<'_>| {
            h.update(&[tag]);
            h.update(&id.to_le_bytes());
            h.update(&r.version.to_le_bytes());
            h.update(&(r.type_name.len() as u32).to_le_bytes());
            h.update(r.type_name.as_bytes());
            h.update(&(r.value.len() as u32).to_le_bytes());
            h.update(r.value);
        };
        for id in self.object_ids() {
            let r = self.object(id).expect("listed as present at this snapshot");
            record(1, id, r);
        }
        for id in self.task_ids() {
            let r = self.task(id).expect("listed as present at this snapshot");
            record(2, id, r);
        }
        for (name, b) in self.names() {
            h.update(&[3]);
            h.update(&(name.len() as u32).to_le_bytes());
            h.update(name.as_bytes());
            h.update(&b.id.to_le_bytes());
            h.update(&b.version.to_le_bytes());
        }
        *h.finalize().as_bytes()
    }

    fn record(&self, v: &Version) -> Option<Record<'_>> {
        if v.tombstone {
            return None;
        }
        let seg = self
            .table
            .get(v.loc.seg)
            .expect("a snapshot's table holds every segment its versions live in");
        // SAFETY: the entry belongs to a commit at or before `self.seq`, which was fully
        // written before it became visible; published entries are never written again, and
        // `self.table` keeps the segment mapped for as long as `self` lives.
        let entry = unsafe { seg.entry(v.loc.off as usize) };
        let name_len = u16::from_le_bytes([entry[2], entry[3]]) as usize;
        let value_len = u32::from_le_bytes([entry[4], entry[5], entry[6], entry[7]]) as usize;
        let name = &entry[ENTRY_HEADER_LEN..ENTRY_HEADER_LEN + name_len];
        let start = value_offset(name_len);
        let value = &entry[start..start + value_len];
        // SAFETY: type names come from `&str` when written and are checked to be UTF-8 when
        // recovered; published bytes never change while mapped.
        let type_name = unsafe { std::str::from_utf8_unchecked(name) };
        Some(Record {
            type_name,
            version: v.version,
            value,
        })
    }
}

impl Drop for Snapshot {
    fn drop(&mut self) {
        self.inner.snapshots.lock().remove(self.seq);
    }
}
