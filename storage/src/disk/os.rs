//! The real disk: each operation is the `std::fs` call it names.

use std::fs::{File, OpenOptions};
use std::io;
use std::os::unix::fs::FileExt;
use std::path::Path;

use memmap2::MmapRaw;

use super::{Disk, DiskFile};

/// The operating system's file system.
#[derive(Clone, Debug, Default)]
pub(crate) struct OsDisk;

impl Disk for OsDisk {
    type File = File;

    #[inline]
    fn create(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new()
            .read(true)
            .write(true)
            .create(true)
            .truncate(true)
            .open(path)
    }

    #[inline]
    fn open(&self, path: &Path) -> io::Result<File> {
        OpenOptions::new().read(true).write(true).open(path)
    }

    #[inline]
    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        std::fs::create_dir_all(dir)
    }

    #[inline]
    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        std::fs::rename(from, to)
    }

    #[inline]
    fn remove(&self, path: &Path) -> io::Result<()> {
        std::fs::remove_file(path)
    }

    #[inline]
    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        File::open(dir)?.sync_all()
    }
}

impl DiskFile for File {
    #[inline]
    fn std(&self) -> &File {
        self
    }

    #[inline]
    fn write_at(&self, bytes: &[u8], off: u64) -> io::Result<()> {
        self.write_all_at(bytes, off)
    }

    #[inline]
    fn sync_all(&self) -> io::Result<()> {
        File::sync_all(self)
    }

    #[inline]
    fn sync_range(&self, map: &MmapRaw, from: usize, to: usize) -> io::Result<()> {
        map.flush_range(from, to - from)
    }
}
