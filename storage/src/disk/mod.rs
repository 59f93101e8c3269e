//! Every change the store makes to its files goes through one narrow interface, [`Disk`],
//! so that a test can stand a disk that forgets in place of the real one.
//!
//! The interface holds only what changes what a disk keeps: creating a file (truncating one
//! that exists), writing at an offset, syncing a file's data (all of it, or a range), making
//! a directory, renaming, deleting, and syncing a directory. Reads, listings and the mapping
//! go to the real file behind ([`DiskFile::std`]): they change nothing a power loss could
//! take away. The lock file is outside too: it holds a process id, never data.
//!
//! Production uses [`OsDisk`] and nothing else: `StoreDisk` is that type, so every call is
//! a direct call into `std::fs`. Only with the `simulated-disk` feature, which tests turn
//! on, is `StoreDisk` an enum that can also be a recording disk ([`crate::sim`]).

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::MmapRaw;

mod os;
pub(crate) use os::OsDisk;

#[cfg(feature = "simulated-disk")]
mod any;

/// The disk an open store writes through.
#[cfg(not(feature = "simulated-disk"))]
pub(crate) type StoreDisk = OsDisk;
/// The disk an open store writes through: the real one, or a recording one.
#[cfg(feature = "simulated-disk")]
pub(crate) type StoreDisk = any::AnyDisk;

/// A file of [`StoreDisk`].
pub(crate) type StoreFile = <StoreDisk as Disk>::File;

/// The operations that change what a disk holds.
pub(crate) trait Disk: Clone + Send + Sync + 'static {
    /// A file opened through this disk.
    type File: DiskFile;

    /// Creates `path` for reading and writing, empty (truncating a file of that name).
    fn create(&self, path: &Path) -> io::Result<Self::File>;

    /// Opens the existing file `path` for reading and writing.
    fn open(&self, path: &Path) -> io::Result<Self::File>;

    /// Creates the directory `dir` and any missing parents.
    fn create_dir_all(&self, dir: &Path) -> io::Result<()>;

    /// Renames `from` to `to`, replacing `to` if it exists.
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()>;

    /// Deletes the file `path`.
    fn remove(&self, path: &Path) -> io::Result<()>;

    /// Makes the creations, renames and deletions inside `dir` durable.
    fn sync_dir(&self, dir: &Path) -> io::Result<()>;
}

/// A file opened through a [`Disk`].
pub(crate) trait DiskFile: Send + Sync + 'static {
    /// The real file, to read and map. Never written through.
    fn std(&self) -> &File;

    /// Writes all of `bytes` at offset `off`.
    fn write_at(&self, bytes: &[u8], off: u64) -> io::Result<()>;

    /// Makes the whole file durable: its bytes and its length.
    fn sync_all(&self) -> io::Result<()>;

    /// Makes bytes `[from, to)` durable. `map` is a shared mapping of this whole file,
    /// through which the range is synced (`msync`).
    fn sync_range(&self, map: &MmapRaw, from: usize, to: usize) -> io::Result<()>;
}
