//! What a recording disk writes down: one [`Op`] per operation that changes what a disk
//! holds, in the order they happened.

use std::path::{Path, PathBuf};
use std::sync::Arc;

/// The bytes of a write: most of what a store writes when it creates a segment is zeros,
/// which are kept as a length.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Data {
    /// `len` zero bytes.
    Zeros(u64),
    /// These bytes.
    Bytes(Arc<[u8]>),
}

impl Data {
    pub(crate) fn of(bytes: &[u8]) -> Data {
        if bytes.iter().all(|b| *b == 0) {
            Data::Zeros(bytes.len() as u64)
        } else {
            Data::Bytes(bytes.into())
        }
    }

    pub(crate) fn len(&self) -> u64 {
        match self {
            Data::Zeros(n) => *n,
            Data::Bytes(b) => b.len() as u64,
        }
    }

    /// Copies bytes `[from, from + out.len())` of the write into `out`.
    pub(crate) fn copy_to(&self, from: u64, out: &mut [u8]) {
        match self {
            Data::Zeros(_) => out.fill(0),
            Data::Bytes(b) => out.copy_from_slice(&b[from as usize..from as usize + out.len()]),
        }
    }
}

/// One recorded operation. Files are named by inode (a number the recording hands out at
/// creation), directories and directory entries by path.
#[derive(Clone, Debug, PartialEq, Eq)]
pub(crate) enum Op {
    /// A file that existed before the recording saw it: its bytes count as durable.
    Adopt {
        path: PathBuf,
        inode: u64,
        bytes: Arc<[u8]>,
    },
    /// `path` now names a new, empty file (replacing any file of that name).
    Create { path: PathBuf, inode: u64 },
    /// A new directory `path`.
    MakeDir { path: PathBuf },
    /// Bytes written at `off` of a file.
    Write { inode: u64, off: u64, data: Data },
    /// The whole file is durable.
    SyncFile { inode: u64 },
    /// Bytes `[from, to)` of a file are durable.
    SyncRange { inode: u64, from: u64, to: u64 },
    /// `from` is renamed to `to` (in the same directory).
    Rename { from: PathBuf, to: PathBuf },
    /// The file `path` is deleted.
    Remove { path: PathBuf },
    /// The entries of directory `path` are durable.
    SyncDir { path: PathBuf },
}

/// What kind of operation a recorded one is.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub enum OpKind {
    /// A file the recording found already there.
    Adopt,
    /// A file created (or truncated).
    Create,
    /// A directory created.
    MakeDir,
    /// A positioned write.
    Write,
    /// A sync of a whole file.
    SyncFile,
    /// A sync of a range of a file.
    SyncRange,
    /// A rename.
    Rename,
    /// A deletion.
    Remove,
    /// A sync of a directory.
    SyncDir,
}

/// One recorded operation, as a test sees it.
#[derive(Clone, Copy, Debug)]
pub struct OpView<'a> {
    /// What was done.
    pub kind: OpKind,
    /// The file or directory it was done to (for a rename, the new name), by the name it
    /// had then.
    pub path: &'a Path,
    /// For a rename, the old name.
    pub from: Option<&'a Path>,
    /// For a write, how many bytes.
    pub len: u64,
}

impl Op {
    pub(crate) fn kind(&self) -> OpKind {
        match self {
            Op::Adopt { .. } => OpKind::Adopt,
            Op::Create { .. } => OpKind::Create,
            Op::MakeDir { .. } => OpKind::MakeDir,
            Op::Write { .. } => OpKind::Write,
            Op::SyncFile { .. } => OpKind::SyncFile,
            Op::SyncRange { .. } => OpKind::SyncRange,
            Op::Rename { .. } => OpKind::Rename,
            Op::Remove { .. } => OpKind::Remove,
            Op::SyncDir { .. } => OpKind::SyncDir,
        }
    }
}
