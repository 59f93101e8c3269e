//! Replaying a recording into what a disk is sure to hold and what it may still lose:
//! per file, the durable bytes and the writes since; per directory, the durable entries
//! and the changes since.

use std::collections::{BTreeMap, HashMap};
use std::ffi::OsString;
use std::path::{Path, PathBuf};

use super::image::Image;
use super::op::{Data, Op};
use super::Recording;

/// A write not yet known to be durable: `len` bytes at `off`, the bytes from `skip` on of
/// the recorded write.
#[derive(Clone, Debug)]
pub(crate) struct Pending {
    pub off: u64,
    pub len: u64,
    pub data: Data,
    pub skip: u64,
}

impl Pending {
    fn end(&self) -> u64 {
        self.off + self.len
    }

    /// The part of this write inside `[from, to)`, if any.
    pub(crate) fn part(&self, from: u64, to: u64) -> Option<Pending> {
        let start = self.off.max(from);
        let end = self.end().min(to);
        (start < end).then(|| Pending {
            off: start,
            len: end - start,
            data: self.data.clone(),
            skip: self.skip + (start - self.off),
        })
    }

    /// Copies this write into `out`, growing it as needed.
    pub(crate) fn apply(&self, out: &mut Vec<u8>) {
        let end = self.end() as usize;
        if out.len() < end {
            out.resize(end, 0);
        }
        self.data
            .copy_to(self.skip, &mut out[self.off as usize..end]);
    }
}

/// One file: what is durable and what was written since.
#[derive(Clone, Debug, Default)]
pub(crate) struct FileState {
    pub durable: Vec<u8>,
    pub pending: Vec<Pending>,
    /// The length the file has now (durable or not).
    pub len: u64,
}

/// A directory entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Entry {
    File(u64),
    Dir,
}

/// A change to a directory not yet known to be durable.
#[derive(Clone, Debug)]
pub(crate) enum DirOp {
    Put(OsString, Entry),
    Rename(OsString, OsString),
    Remove(OsString),
}

impl DirOp {
    pub(crate) fn apply(&self, entries: &mut BTreeMap<OsString, Entry>) {
        match self {
            DirOp::Put(name, e) => {
                entries.insert(name.clone(), *e);
            }
            DirOp::Rename(from, to) => {
                if let Some(e) = entries.remove(from) {
                    entries.insert(to.clone(), e);
                }
            }
            DirOp::Remove(name) => {
                entries.remove(name);
            }
        }
    }
}

/// One directory: its durable entries and the changes since.
#[derive(Clone, Debug, Default)]
pub(crate) struct DirState {
    pub durable: BTreeMap<OsString, Entry>,
    pub pending: Vec<DirOp>,
}

/// A recording replayed up to a crash point.
pub struct Replay<'r> {
    rec: &'r Recording,
    at: usize,
    pub(crate) files: HashMap<u64, FileState>,
    pub(crate) dirs: HashMap<PathBuf, DirState>,
}

fn split(path: &Path) -> (PathBuf, OsString) {
    let parent = path.parent().map(Path::to_path_buf).unwrap_or_default();
    let name = path.file_name().map(OsString::from).unwrap_or_default();
    (parent, name)
}

impl<'r> Replay<'r> {
    pub(crate) fn new(rec: &'r Recording) -> Replay<'r> {
        Replay {
            rec,
            at: 0,
            files: HashMap::new(),
            dirs: HashMap::new(),
        }
    }

    /// The crash point: how many operations have been replayed.
    pub fn point(&self) -> usize {
        self.at
    }

    /// Replays operations until `point` of them are done (the recording's length at most).
    pub fn advance_to(&mut self, point: usize) {
        let point = point.min(self.rec.len());
        assert!(point >= self.at, "a replay only goes forward");
        while self.at < point {
            let op = self.rec.ops[self.at].clone();
            self.apply(op);
            self.at += 1;
        }
    }

    /// What the disk could hold for directory `dir` if the power went now, as `seed`
    /// decides: seed 0 loses everything that was not durable, seed 1 keeps all of it, other
    /// seeds keep, lose and tear writes and keep or lose directory changes in mixes of
    /// their own. A directory the recording never saw created counts as durable.
    pub fn image(&self, dir: &Path, seed: u64) -> Image {
        Image::build(self, dir, seed)
    }

    fn dir(&mut self, path: &Path) -> &mut DirState {
        self.dirs.entry(path.to_path_buf()).or_default()
    }

    fn apply(&mut self, op: Op) {
        match op {
            Op::Adopt { path, inode, bytes } => {
                self.files.insert(
                    inode,
                    FileState {
                        durable: bytes.to_vec(),
                        pending: Vec::new(),
                        len: bytes.len() as u64,
                    },
                );
                let (parent, name) = split(&path);
                self.dir(&parent).durable.insert(name, Entry::File(inode));
            }
            Op::Create { path, inode } => {
                self.files.insert(inode, FileState::default());
                let (parent, name) = split(&path);
                self.dir(&parent)
                    .pending
                    .push(DirOp::Put(name, Entry::File(inode)));
            }
            Op::MakeDir { path } => {
                let (parent, name) = split(&path);
                self.dir(&parent).pending.push(DirOp::Put(name, Entry::Dir));
                self.dirs.insert(path, DirState::default());
            }
            Op::Write { inode, off, data } => {
                let f = self
                    .files
                    .get_mut(&inode)
                    .expect("writes go to known files");
                let len = data.len();
                f.len = f.len.max(off + len);
                f.pending.push(Pending {
                    off,
                    len,
                    data,
                    skip: 0,
                });
            }
            Op::SyncFile { inode } => {
                let f = self.files.get_mut(&inode).expect("syncs go to known files");
                for p in std::mem::take(&mut f.pending) {
                    p.apply(&mut f.durable);
                }
                f.durable.resize(f.len as usize, 0);
            }
            Op::SyncRange { inode, from, to } => {
                let f = self.files.get_mut(&inode).expect("syncs go to known files");
                let mut rest = Vec::with_capacity(f.pending.len());
                for p in std::mem::take(&mut f.pending) {
                    if let Some(inside) = p.part(from, to) {
                        inside.apply(&mut f.durable);
                    }
                    rest.extend(p.part(0, from));
                    rest.extend(p.part(to, u64::MAX));
                }
                f.pending = rest;
            }
            Op::Rename { from, to } => {
                let (parent, from) = split(&from);
                let (_, to) = split(&to);
                self.dir(&parent).pending.push(DirOp::Rename(from, to));
            }
            Op::Remove { path } => {
                let (parent, name) = split(&path);
                self.dir(&parent).pending.push(DirOp::Remove(name));
            }
            Op::SyncDir { path } => {
                let d = self.dir(&path);
                for op in std::mem::take(&mut d.pending) {
                    op.apply(&mut d.durable);
                }
            }
        }
    }
}
