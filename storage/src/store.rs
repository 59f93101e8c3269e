//! The store handle: opening, committing, reading, waiting for durability, closing.

use std::collections::VecDeque;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::sync::{Arc, OnceLock};
use std::thread::JoinHandle;

use parking_lot::{Mutex, RwLock};

use crate::batch::Batch;
use crate::compaction::{compact_all, ensure_spare, run_maintenance, Retiring};
use crate::directory::{self, DirLock, Found};
use crate::disk::StoreDisk;
use crate::durability::{run_flusher, DurableFuture, DurableState};
use crate::error::{CommitError, DurabilityError, OpenError};
use crate::format::{log_position, EMBEDDED_FORMAT_VERSION, REPLICA_FORMAT_VERSION};
use crate::index::Index;
use crate::options::{Durability, Options};
use crate::recovery::recover;
use crate::signal::Signal;
use crate::snapshot::{Registry, Snapshot};
use crate::table::SegTable;
use crate::writer::Writer;

/// Shared state of an open store.
pub(crate) struct Inner {
    pub dir: PathBuf,
    /// What every change to the store's files goes through.
    pub disk: StoreDisk,
    pub options: Options,
    pub store_id: u64,
    /// The store's format, which its segment headers repeat.
    pub format_version: u32,
    pub index: Index,
    pub writer: Mutex<Writer>,
    pub(crate) visible: AtomicU64,
    pub snapshots: Mutex<Registry>,
    pub table: RwLock<Arc<SegTable>>,
    pub durable: DurableState,
    pub next_id: AtomicU64,
    pub synced_upto: AtomicU64,
    pub flush_signal: Signal,
    pub maint_signal: Signal,
    pub closing: AtomicBool,
    pub failure: OnceLock<String>,
    pub syncs: AtomicU64,
    pub compacted: AtomicU64,
    pub reclaimed: AtomicU64,
    pub discarded_torn_tail: bool,
    pub retiring: Mutex<Vec<Retiring>>,
    pub compacting: Mutex<()>,
    pub spare_needed: AtomicBool,
    pub stop_flusher: AtomicBool,
    pub sync_requested: AtomicBool,
    _lock: DirLock,
}

impl Inner {
    /// Asks the flusher to sync now (in relaxed mode, without waiting out its interval).
    pub(crate) fn request_sync(&self) {
        self.sync_requested.store(true, Ordering::Release);
        self.flush_signal.ring();
    }

    /// The last commit new snapshots see.
    #[inline]
    pub(crate) fn visible_seq(&self) -> u64 {
        self.visible.load(Ordering::Acquire)
    }
}

/// Figures about an open store.
#[derive(Clone, Debug, PartialEq)]
pub struct Stats {
    /// Sequence number of the last commit.
    pub last_seq: u64,
    /// Sequence number of the last commit on disk.
    pub durable_seq: u64,
    /// Segment files in use (the spare not counted).
    pub segments: usize,
    /// Bytes of entries that are the newest record of their key.
    pub live_bytes: u64,
    /// Bytes written into segments in use.
    pub used_bytes: u64,
    /// Objects, pending tasks and names in the index (tombstones awaiting pruning included).
    pub keys: usize,
    /// Group-commit syncs so far.
    pub syncs: u64,
    /// Segments compacted and deleted so far.
    pub compacted_segments: u64,
    /// Bytes of segment space reclaimed by compaction so far.
    pub reclaimed_bytes: u64,
    /// Whether opening discarded a torn, never-acknowledged tail of the log.
    pub discarded_torn_tail: bool,
}

/// An open embedded store. See the crate documentation for the model.
///
/// `Store` is `Send + Sync`; share it with an `Arc`. Dropping it syncs what was committed
/// and stops its background threads.
pub struct Store {
    inner: Arc<Inner>,
    flusher: Option<JoinHandle<()>>,
    maintenance: Option<JoinHandle<()>>,
}

impl std::fmt::Debug for Store {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Store")
            .field("dir", &self.inner.dir)
            .field("last_seq", &self.inner.visible_seq())
            .finish()
    }
}

impl Store {
    /// Opens (or creates) the store in `dir`, replaying its log.
    ///
    /// Fails with a clear error if `dir` is not a store, was written by a newer format, is
    /// a replica store opened without [`Options::replica`] or an embedded one opened with
    /// it, is open in another process, or holds a record that was durable but is damaged.
    pub fn open(dir: impl AsRef<Path>, options: Options) -> Result<Store, OpenError> {
        let dir = dir.as_ref().to_path_buf();
        options.validate().map_err(OpenError::Options)?;
        let disk = options.store_disk();
        // Looked at before locking, so a directory that is not a store gets no lock file;
        // and again after, since another process may have created the store meanwhile.
        directory::inspect(&disk, &dir, options.create)?;
        let lock = directory::lock(&dir)?;
        let found = directory::inspect(&disk, &dir, options.create)?;
        let meta = match found {
            Found::Store(meta) if meta.is_replica() && !options.replica => {
                return Err(OpenError::IsAReplica { dir });
            }
            Found::Store(meta) if !meta.is_replica() && options.replica => {
                return Err(OpenError::NotAReplica { dir });
            }
            Found::Store(meta) => meta,
            Found::Empty => {
                let version = if options.replica {
                    REPLICA_FORMAT_VERSION
                } else {
                    EMBEDDED_FORMAT_VERSION
                };
                directory::create_meta(&disk, &dir, version)?
            }
        };
        let index = Index::new();
        let r = recover(&disk, &dir, &meta, options.segment_size, &index)?;
        let mut options = options;
        options.segment_size = r.segment_size;
        let active = r
            .segments
            .last()
            .expect("recovery leaves an active segment")
            .clone();
        let table = Arc::new(SegTable::from_segments(r.segments.iter().cloned()));
        let start = (active.id, r.pos);
        let writer = Writer {
            active,
            pos: r.pos,
            last_seq: r.last_seq,
            spare: None,
            next_segment_id: r.next_segment_id,
            unsynced: Vec::new(),
            table: table.clone(),
            pending_prune: VecDeque::new(),
            buf: Vec::new(),
        };
        let inner = Arc::new(Inner {
            dir,
            disk,
            store_id: meta.store_id,
            format_version: meta.format_version,
            index,
            writer: Mutex::new(writer),
            visible: AtomicU64::new(r.last_seq),
            snapshots: Mutex::new(Registry::default()),
            table: RwLock::new(table),
            durable: DurableState::default(),
            next_id: AtomicU64::new(r.next_id),
            synced_upto: AtomicU64::new(log_position(start.0, start.1)),
            flush_signal: Signal::default(),
            maint_signal: Signal::default(),
            closing: AtomicBool::new(false),
            failure: OnceLock::new(),
            syncs: AtomicU64::new(0),
            compacted: AtomicU64::new(0),
            reclaimed: AtomicU64::new(0),
            discarded_torn_tail: r.discarded_tail,
            retiring: Mutex::new(Vec::new()),
            compacting: Mutex::new(()),
            spare_needed: AtomicBool::new(true),
            stop_flusher: AtomicBool::new(false),
            sync_requested: AtomicBool::new(false),
            options,
            _lock: lock,
        });
        // Recovery synced everything it kept.
        inner.durable.advance(r.last_seq);
        ensure_spare(&inner).map_err(|source| OpenError::Io {
            path: inner.dir.clone(),
            source,
        })?;
        let flusher = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("darkstar-store-flush".into())
                .spawn(move || run_flusher(inner, r.last_seq, start))
                .map_err(|source| OpenError::Io {
                    path: PathBuf::from("<thread>"),
                    source,
                })?
        };
        let maintenance = {
            let inner = inner.clone();
            std::thread::Builder::new()
                .name("darkstar-store-maint".into())
                .spawn(move || run_maintenance(inner))
                .map_err(|source| OpenError::Io {
                    path: PathBuf::from("<thread>"),
                    source,
                })?
        };
        Ok(Store {
            inner,
            flusher: Some(flusher),
            maintenance: Some(maintenance),
        })
    }

    #[cfg(test)]
    pub(crate) fn inner(&self) -> &Arc<Inner> {
        &self.inner
    }

    /// The store's directory.
    pub fn dir(&self) -> &Path {
        &self.inner.dir
    }

    /// A consistent view as of the last commit.
    pub fn snapshot(&self) -> Snapshot {
        Snapshot::new(self.inner.clone())
    }

    /// Applies `batch` atomically if every read it records is still current.
    ///
    /// On success the commit is visible to new snapshots at once and its sequence number is
    /// returned; it is *durable* only once [`wait_durable`](Self::wait_durable) (or
    /// [`durable`](Self::durable)) says so. Do not acknowledge the commit to anyone before
    /// that. On error nothing of the batch was applied.
    pub fn commit(&self, batch: &Batch) -> Result<u64, CommitError> {
        self.inner.commit(batch, &mut |_| {})
    }

    /// [`commit`](Self::commit), calling `on_commit` with the sequence number while the
    /// commit still holds the writer lock. What `on_commit` records is therefore in
    /// sequence order, and recorded before any later commit exists, let alone is durable.
    /// Keep it short: every other commit waits for it.
    pub fn commit_with(
        &self,
        batch: &Batch,
        mut on_commit: impl FnMut(u64),
    ) -> Result<u64, CommitError> {
        self.inner.commit(batch, &mut on_commit)
    }

    /// Hands out a fresh id.
    ///
    /// An id is never handed out twice while the store is open, and never again after a
    /// restart once any commit made after its allocation is durable (each frame records the
    /// allocator's high-water mark). An id allocated but followed by no durable commit may be
    /// handed out again after the store is reopened (after a crash or a clean close alike);
    /// nothing stored can refer to it.
    pub fn allocate_id(&self) -> u64 {
        self.inner.next_id.fetch_add(1, Ordering::AcqRel)
    }

    /// Hands out `n` consecutive fresh ids; returns the first.
    pub fn allocate_ids(&self, n: u64) -> u64 {
        self.inner.next_id.fetch_add(n, Ordering::AcqRel)
    }

    /// Sequence number of the last commit.
    pub fn last_seq(&self) -> u64 {
        self.inner.visible_seq()
    }

    /// Sequence number of the last commit known to be on disk.
    pub fn durable_seq(&self) -> u64 {
        self.inner.durable.seq()
    }

    /// Blocks until commit `seq` is on disk.
    pub fn wait_durable(&self, seq: u64) -> Result<(), DurabilityError> {
        assert!(
            seq <= self.inner.visible_seq(),
            "waiting for sequence {seq}, which has not been committed"
        );
        self.inner.request_sync();
        if self.inner.options.acknowledges_before_sync() {
            return Ok(());
        }
        self.inner.durable.wait(seq)
    }

    /// Resolves once commit `seq` is on disk. Works on any executor.
    pub fn durable(&self, seq: u64) -> DurableFuture {
        DurableFuture {
            inner: self.inner.clone(),
            seq,
        }
    }

    /// Resolves once commit `seq` may be acknowledged under the configured
    /// [`Durability`]: on disk for `Full`, at once for `Relaxed`.
    pub fn acknowledged(&self, seq: u64) -> DurableFuture {
        let seq = match self.inner.options.durability {
            Durability::Full => seq,
            Durability::Relaxed { .. } => 0,
        };
        self.durable(seq)
    }

    /// Blocking form of [`acknowledged`](Self::acknowledged).
    pub fn wait_acknowledged(&self, seq: u64) -> Result<(), DurabilityError> {
        match self.inner.options.durability {
            Durability::Full => self.wait_durable(seq),
            Durability::Relaxed { .. } => Ok(()),
        }
    }

    /// Syncs every commit made so far and waits for it.
    pub fn sync(&self) -> Result<(), DurabilityError> {
        self.wait_durable(self.inner.visible_seq())
    }

    /// Compacts, now, every sealed segment whose live fraction is below `threshold`, and
    /// deletes it once no open snapshot reads it. Returns how many were compacted.
    /// Background compaction does the same on its own with the configured threshold.
    pub fn compact(&self, threshold: f64) -> Result<usize, CommitError> {
        compact_all(&self.inner, threshold)
    }

    /// Current figures.
    pub fn stats(&self) -> Stats {
        let table = self.inner.table.read().clone();
        let i = &self.inner;
        Stats {
            last_seq: i.visible_seq(),
            durable_seq: i.durable.seq(),
            segments: table.iter().count(),
            live_bytes: table.iter().map(|s| s.live.load(Ordering::Relaxed)).sum(),
            used_bytes: table
                .iter()
                .map(|s| s.end.load(Ordering::Relaxed) as u64)
                .sum(),
            keys: i.index.objects.len() + i.index.tasks.len() + i.index.names.len(),
            syncs: i.syncs.load(Ordering::Relaxed),
            compacted_segments: i.compacted.load(Ordering::Relaxed),
            reclaimed_bytes: i.reclaimed.load(Ordering::Relaxed),
            discarded_torn_tail: i.discarded_torn_tail,
        }
    }

    /// Syncs, stops the background threads and releases the directory lock (once the last
    /// snapshot is dropped). Reports a failure the store had run into.
    pub fn close(mut self) -> Result<(), DurabilityError> {
        self.shutdown();
        match self.inner.failure.get() {
            Some(why) => Err(DurabilityError::Failed(why.clone())),
            None => Ok(()),
        }
    }

    fn shutdown(&mut self) {
        // Maintenance first: a compaction in progress may still wait for a sync, so the
        // flusher must outlive it.
        self.inner.closing.store(true, Ordering::Release);
        self.inner.maint_signal.ring_always();
        if let Some(t) = self.maintenance.take() {
            let _ = t.join();
        }
        self.inner.stop_flusher.store(true, Ordering::Release);
        self.inner.flush_signal.ring_always();
        if let Some(t) = self.flusher.take() {
            let _ = t.join();
        }
        // The flusher synced everything before it exited; delete the unused spare so a
        // closed store holds only what it needs.
        let spare = self.inner.writer.lock().spare.take();
        if let Some(s) = spare {
            let _ = s.discard();
        }
    }
}

impl Drop for Store {
    fn drop(&mut self) {
        if self.flusher.is_some() {
            self.shutdown();
        }
    }
}
