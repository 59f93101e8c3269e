//! With the `simulated-disk` feature: a store's disk is the real one or a recording one,
//! chosen when it is opened ([`Options::disk`](crate::Options::disk)).

use std::fs::File;
use std::io;
use std::path::Path;

use memmap2::MmapRaw;

use super::{Disk, DiskFile, OsDisk};
use crate::sim::{RecordingDisk, RecordingFile};

/// The real disk or a recording one.
#[derive(Clone, Debug)]
pub(crate) enum AnyDisk {
    Os(OsDisk),
    Recording(RecordingDisk),
}

/// A file of an [`AnyDisk`].
pub(crate) enum AnyFile {
    Os(File),
    Recording(RecordingFile),
}

impl Disk for AnyDisk {
    type File = AnyFile;

    fn create(&self, path: &Path) -> io::Result<AnyFile> {
        match self {
            AnyDisk::Os(d) => d.create(path).map(AnyFile::Os),
            AnyDisk::Recording(d) => d.create(path).map(AnyFile::Recording),
        }
    }

    fn open(&self, path: &Path) -> io::Result<AnyFile> {
        match self {
            AnyDisk::Os(d) => d.open(path).map(AnyFile::Os),
            AnyDisk::Recording(d) => d.open(path).map(AnyFile::Recording),
        }
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        match self {
            AnyDisk::Os(d) => d.create_dir_all(dir),
            AnyDisk::Recording(d) => d.create_dir_all(dir),
        }
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        match self {
            AnyDisk::Os(d) => d.rename(from, to),
            AnyDisk::Recording(d) => d.rename(from, to),
        }
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        match self {
            AnyDisk::Os(d) => d.remove(path),
            AnyDisk::Recording(d) => d.remove(path),
        }
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        match self {
            AnyDisk::Os(d) => d.sync_dir(dir),
            AnyDisk::Recording(d) => d.sync_dir(dir),
        }
    }
}

impl DiskFile for AnyFile {
    fn std(&self) -> &File {
        match self {
            AnyFile::Os(f) => f.std(),
            AnyFile::Recording(f) => f.std(),
        }
    }

    fn write_at(&self, bytes: &[u8], off: u64) -> io::Result<()> {
        match self {
            AnyFile::Os(f) => DiskFile::write_at(f, bytes, off),
            AnyFile::Recording(f) => f.write_at(bytes, off),
        }
    }

    fn sync_all(&self) -> io::Result<()> {
        match self {
            AnyFile::Os(f) => DiskFile::sync_all(f),
            AnyFile::Recording(f) => f.sync_all(),
        }
    }

    fn sync_range(&self, map: &MmapRaw, from: usize, to: usize) -> io::Result<()> {
        match self {
            AnyFile::Os(f) => f.sync_range(map, from, to),
            AnyFile::Recording(f) => f.sync_range(map, from, to),
        }
    }
}
