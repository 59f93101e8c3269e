//! One segment file of the log, mapped into memory.
//!
//! A segment is created at its full size, filled with zeros and synced before it is used,
//! so that later syncs of appended frames only flush data, never file metadata. Frames are
//! appended with `pwrite` by the single writer (under the commit lock) and read in place
//! through a read-only shared mapping by everyone. Writing through the file rather than the
//! mapping spares each group-commit sync from write-protecting mapped pages (and the TLB
//! shootdowns and page faults that follow).

use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicU32, AtomicU64, Ordering};

use memmap2::{MmapOptions, MmapRaw};
use parking_lot::Mutex;

use crate::disk::{Disk, DiskFile, StoreDisk, StoreFile};
use crate::format::{
    entry_len, EntryKind, SegmentHeader, ENTRY_HEADER_LEN, SEGMENT_HEADER_LEN, SEGMENT_SUFFIX,
};

/// A mapped segment file.
pub(crate) struct Segment {
    /// The segment's id, also its file name.
    pub id: u32,
    /// Where the file lives.
    pub path: PathBuf,
    /// Frames are appended through the file; the mapping is read-only.
    file: StoreFile,
    /// What renames and deletes the file.
    disk: StoreDisk,
    map: MmapRaw,
    size: u32,
    /// Bytes of entries in this segment that are still the newest record of their key.
    pub live: AtomicU64,
    /// Bytes of tombstone entries written into this segment.
    pub tombstones: AtomicU64,
    /// End of the frames written so far (final once the segment is sealed).
    pub end: AtomicU32,
    /// For a spare not yet activated: the temporary name its file has.
    spare: Mutex<Option<PathBuf>>,
}

impl std::fmt::Debug for Segment {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Segment")
            .field("id", &self.id)
            .field("size", &self.size)
            .field("end", &self.end.load(Ordering::Relaxed))
            .field("live", &self.live.load(Ordering::Relaxed))
            .finish()
    }
}

/// The file name of segment `id`.
pub(crate) fn segment_file_name(id: u32) -> String {
    format!("{id:016x}{SEGMENT_SUFFIX}")
}

/// Where spare segment `id` waits to be used.
pub(crate) fn spare_path(dir: &Path, id: u32) -> PathBuf {
    dir.join(format!("{}{SPARE_SUFFIX}", segment_file_name(id)))
}

/// Suffix of spare segment files, which recovery deletes.
pub(crate) const SPARE_SUFFIX: &str = ".spare";

/// Parses a segment file name back into its id.
pub(crate) fn parse_segment_file_name(name: &str) -> Option<u32> {
    let stem = name.strip_suffix(SEGMENT_SUFFIX)?;
    if stem.len() != 16 {
        return None;
    }
    u64::from_str_radix(stem, 16)
        .ok()
        .and_then(|v| u32::try_from(v).ok())
}

impl Segment {
    /// Creates segment `id` of store `store_id` (in format `format`) in `dir`: header, zeros
    /// to `size`, synced, then renamed into place.
    pub fn create(
        disk: &StoreDisk,
        dir: &Path,
        id: u32,
        size: u32,
        store_id: u64,
        format: u32,
    ) -> std::io::Result<Segment> {
        let tmp = dir.join(format!("{}.tmp", segment_file_name(id)));
        let seg = Self::create_at(disk, dir, &tmp, id, size, store_id, format)?;
        disk.rename(&tmp, &seg.path)?;
        disk.sync_dir(dir)?;
        Ok(seg)
    }

    /// Creates segment `id` as a spare: written and synced like [`create`](Self::create) but
    /// left under a temporary name (`*.seg.spare`) until the writer [activates](Self::activate)
    /// it. A crash before that leaves a file recovery deletes, never an unused segment in the
    /// middle of the log.
    pub fn create_spare(
        disk: &StoreDisk,
        dir: &Path,
        id: u32,
        size: u32,
        store_id: u64,
        format: u32,
    ) -> std::io::Result<Segment> {
        let spare = spare_path(dir, id);
        let seg = Self::create_at(disk, dir, &spare, id, size, store_id, format)?;
        *seg.spare.lock() = Some(spare);
        Ok(seg)
    }

    /// Gives a spare its segment name. The rename is made durable by the flusher's directory
    /// sync before any frame in this segment is acknowledged.
    pub fn activate(&self) -> std::io::Result<()> {
        if let Some(spare) = self.spare.lock().take() {
            self.disk.rename(&spare, &self.path)?;
        }
        Ok(())
    }

    /// Deletes the file of a spare that was never activated.
    pub fn discard(&self) -> std::io::Result<()> {
        match self.spare.lock().take() {
            Some(spare) => self.disk.remove(&spare),
            None => self.disk.remove(&self.path),
        }
    }

    fn create_at(
        disk: &StoreDisk,
        dir: &Path,
        at: &Path,
        id: u32,
        size: u32,
        store_id: u64,
        format: u32,
    ) -> std::io::Result<Segment> {
        assert!(size as usize > SEGMENT_HEADER_LEN && size % 4096 == 0);
        let path = dir.join(segment_file_name(id));
        let file = disk.create(at)?;
        let header = SegmentHeader {
            format_version: format,
            size,
            store_id,
            segment_id: id,
        };
        // Real zeros, not a sparse file or preallocated extents: appends later dirty only
        // data blocks, so each group commit's sync writes no metadata.
        let chunk = vec![0u8; 1 << 20];
        file.write_at(&header.encode(), 0)?;
        let mut at = SEGMENT_HEADER_LEN;
        while at < size as usize {
            let n = (size as usize - at).min(chunk.len());
            file.write_at(&chunk[..n], at as u64)?;
            at += n;
        }
        DiskFile::sync_all(&file)?;
        Self::map(disk, id, path, file, size)
    }

    /// Maps an existing, full-size segment file.
    pub fn map(
        disk: &StoreDisk,
        id: u32,
        path: PathBuf,
        file: StoreFile,
        size: u32,
    ) -> std::io::Result<Segment> {
        let map = MmapOptions::new()
            .len(size as usize)
            .map_raw_read_only(file.std())?;
        Ok(Segment {
            id,
            path,
            file,
            disk: disk.clone(),
            map,
            size,
            live: AtomicU64::new(0),
            tombstones: AtomicU64::new(0),
            spare: Mutex::new(None),
            end: AtomicU32::new(SEGMENT_HEADER_LEN as u32),
        })
    }

    /// The segment's size in bytes.
    pub fn size(&self) -> u32 {
        self.size
    }

    /// The bytes `[off, off + len)`.
    ///
    /// # Safety
    /// Nobody may write the range while the returned slice lives. The writer only writes
    /// past the end of every frame that has been published, and published frames are never
    /// written again, so a range inside a published frame is safe to read.
    pub unsafe fn slice(&self, off: usize, len: usize) -> &[u8] {
        assert!(
            off.checked_add(len)
                .is_some_and(|end| end <= self.size as usize),
            "read of {len} bytes at {off} past the end of segment {}",
            self.id
        );
        // SAFETY: the range is inside the mapping (checked above), the mapping lives as long
        // as `self`, and the caller guarantees nobody writes it meanwhile.
        unsafe { std::slice::from_raw_parts(self.map.as_ptr().add(off), len) }
    }

    /// The whole entry at `off` (header, name, value, padding), sized by its header.
    ///
    /// # Safety
    /// As for [`slice`](Self::slice): the entry must be completely written and nobody may
    /// write it while the slice lives.
    #[inline]
    pub unsafe fn entry(&self, off: usize) -> &[u8] {
        // SAFETY: forwarded to the caller.
        let header = unsafe { self.slice(off, ENTRY_HEADER_LEN) };
        let name_len = u16::from_le_bytes([header[2], header[3]]) as usize;
        let value_len = u32::from_le_bytes([header[4], header[5], header[6], header[7]]) as usize;
        let has_value = EntryKind::from_u8(header[0]).is_some_and(EntryKind::has_value);
        // SAFETY: forwarded to the caller.
        unsafe { self.slice(off, entry_len(name_len, value_len, has_value)) }
    }

    /// Writes `bytes` at offset `off` of the file; readers see them through the mapping
    /// (the page cache is shared).
    ///
    /// Only the writer calls this (under the writer lock, or during recovery), and only on a
    /// range past every published frame, so no reader holds a reference into it.
    pub fn write_at(&self, off: usize, bytes: &[u8]) -> std::io::Result<()> {
        assert!(
            off.checked_add(bytes.len())
                .is_some_and(|end| end <= self.size as usize),
            "write of {} bytes at {off} past the end of segment {}",
            bytes.len(),
            self.id
        );
        self.file.write_at(bytes, off as u64)
    }

    /// Makes `[from, to)` durable.
    pub fn sync_range(&self, from: usize, to: usize) -> std::io::Result<()> {
        debug_assert!(from <= to && to <= self.size as usize);
        if from == to {
            return Ok(());
        }
        self.file.sync_range(&self.map, from, to)
    }
}
