//! The recording disk: does every operation on the real files and writes it down, in
//! order, so that [`Recording::replay`](super::Recording::replay) can later build what a
//! disk could hold after a power loss at any point. It can also hold syncs (a test of the
//! acknowledgment path) and lose power (every operation from then on fails).

use std::collections::{HashMap, HashSet};
use std::fs::File;
use std::io;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Arc;

use memmap2::MmapRaw;
use parking_lot::{Condvar, Mutex, MutexGuard};

use super::op::{Data, Op};
use super::Recording;
use crate::disk::{Disk, DiskFile, OsDisk};

/// A disk that records every change it makes to the real files, for power-loss tests.
///
/// Hand it to a store with [`Options::disk`](crate::Options::disk). The files already in a
/// directory when the disk first works in it count as durable, as they are then. Syncs are
/// only written down, not done: what is durable is what the recording says, and a real
/// sync would only slow the test.
///
/// Creating a file over an existing name is recorded as a new file taking the name (the
/// old one gone once the change is durable), not as a truncation in place; the store does
/// that only to a `STORE.tmp` or `.tmp` segment an interrupted creation left.
#[derive(Clone, Default)]
pub struct RecordingDisk {
    shared: Arc<Shared>,
}

impl std::fmt::Debug for RecordingDisk {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        let s = self.shared.state.lock();
        f.debug_struct("RecordingDisk")
            .field("ops", &s.ops.len())
            .field("holding_syncs", &s.hold)
            .field("power_lost", &s.cut)
            .finish()
    }
}

#[derive(Default)]
struct Shared {
    state: Mutex<State>,
    /// Rung when syncs are released or the power is cut.
    released: Condvar,
}

#[derive(Default)]
struct State {
    ops: Vec<Op>,
    /// Each op's file or directory, by the name it had when the op was done.
    paths: Vec<PathBuf>,
    /// What each path names now.
    names: HashMap<PathBuf, u64>,
    /// Directories whose files existing before the recording have been adopted.
    seen_dirs: HashSet<PathBuf>,
    /// The name each inode has now.
    inode_paths: HashMap<u64, PathBuf>,
    next_inode: u64,
    hold: bool,
    /// Syncs waiting for the hold to end.
    waiting: usize,
    cut: bool,
    /// Writes done since syncs were last held.
    writes_while_held: u64,
}

fn power_lost() -> io::Error {
    io::Error::other("the simulated disk lost power: nothing more is written")
}

impl State {
    fn push(&mut self, op: Op, path: PathBuf) {
        self.ops.push(op);
        self.paths.push(path);
    }

    /// Gives `inode` the name `path`; a file that had that name is no longer reachable.
    fn name(&mut self, path: &Path, inode: u64) {
        if let Some(old) = self.names.insert(path.to_path_buf(), inode) {
            self.inode_paths.remove(&old);
        }
        self.inode_paths.insert(inode, path.to_path_buf());
    }

    fn path_of(&self, inode: u64) -> PathBuf {
        self.inode_paths.get(&inode).cloned().unwrap_or_default()
    }
}

impl RecordingDisk {
    /// A disk that has recorded nothing yet.
    pub fn new() -> RecordingDisk {
        RecordingDisk::default()
    }

    fn lock(&self) -> io::Result<MutexGuard<'_, State>> {
        let s = self.shared.state.lock();
        if s.cut {
            return Err(power_lost());
        }
        Ok(s)
    }

    /// Waits while syncs are held; fails once the power is lost.
    fn lock_for_sync(&self) -> io::Result<MutexGuard<'_, State>> {
        let mut s = self.lock()?;
        if s.hold {
            s.waiting += 1;
            while s.hold && !s.cut {
                self.shared.released.wait(&mut s);
            }
            s.waiting -= 1;
        }
        if s.cut {
            return Err(power_lost());
        }
        Ok(s)
    }

    /// How many operations have been recorded: the crash point "now".
    pub fn ops(&self) -> usize {
        self.shared.state.lock().ops.len()
    }

    /// From now on every sync (of a file, a range or a directory) waits until
    /// [`release_syncs`](Self::release_syncs) or [`cut_power`](Self::cut_power). Writes go
    /// on.
    pub fn hold_syncs(&self) {
        let mut s = self.shared.state.lock();
        s.hold = true;
        s.writes_while_held = 0;
    }

    /// Lets held syncs go on.
    pub fn release_syncs(&self) {
        self.shared.state.lock().hold = false;
        self.shared.released.notify_all();
    }

    /// How many syncs are waiting for the hold to end.
    pub fn syncs_waiting(&self) -> usize {
        self.shared.state.lock().waiting
    }

    /// How many writes were done since syncs were last held.
    pub fn writes_while_held(&self) -> u64 {
        self.shared.state.lock().writes_while_held
    }

    /// Loses power: every operation from now on fails (held syncs too) and changes nothing.
    /// Returns what was recorded before.
    pub fn cut_power(&self) -> Recording {
        let mut s = self.shared.state.lock();
        s.cut = true;
        let rec = Recording::new(s.ops.clone(), s.paths.clone());
        drop(s);
        self.shared.released.notify_all();
        rec
    }

    /// The inode `path` names, adopting a file the recording has not seen yet.
    fn inode_of(&self, s: &mut State, path: &Path) -> io::Result<u64> {
        if let Some(&inode) = s.names.get(path) {
            return Ok(inode);
        }
        self.know_dir(s, path.parent().unwrap_or(Path::new("")))?;
        if let Some(&inode) = s.names.get(path) {
            return Ok(inode);
        }
        let bytes = std::fs::read(path)?;
        let inode = s.next_inode;
        s.next_inode += 1;
        s.names.insert(path.to_path_buf(), inode);
        s.inode_paths.insert(inode, path.to_path_buf());
        s.push(
            Op::Adopt {
                path: path.to_path_buf(),
                inode,
                bytes: bytes.into(),
            },
            path.to_path_buf(),
        );
        Ok(inode)
    }

    /// The first time the disk touches `dir`, adopts every file already in it: a store
    /// opened on existing files reads some of them (its `STORE` file) without the disk, and
    /// an image must hold them all.
    fn know_dir(&self, s: &mut State, dir: &Path) -> io::Result<()> {
        if !s.seen_dirs.insert(dir.to_path_buf()) || !dir.is_dir() {
            return Ok(());
        }
        let mut files = Vec::new();
        for entry in std::fs::read_dir(dir)? {
            let entry = entry?;
            if entry.file_type()?.is_file() {
                files.push(entry.path());
            }
        }
        files.sort();
        for path in files {
            if !s.names.contains_key(&path) {
                self.inode_of(s, &path)?;
            }
        }
        Ok(())
    }

    fn file(&self, file: File, inode: u64) -> RecordingFile {
        RecordingFile {
            file,
            inode,
            disk: self.clone(),
        }
    }
}

/// A file opened through a [`RecordingDisk`].
pub struct RecordingFile {
    file: File,
    inode: u64,
    disk: RecordingDisk,
}

impl Disk for RecordingDisk {
    type File = RecordingFile;

    fn create(&self, path: &Path) -> io::Result<RecordingFile> {
        let mut s = self.lock()?;
        self.know_dir(&mut s, path.parent().unwrap_or(Path::new("")))?;
        let file = OsDisk.create(path)?;
        let inode = s.next_inode;
        s.next_inode += 1;
        s.name(path, inode);
        s.push(
            Op::Create {
                path: path.to_path_buf(),
                inode,
            },
            path.to_path_buf(),
        );
        Ok(self.file(file, inode))
    }

    fn open(&self, path: &Path) -> io::Result<RecordingFile> {
        let mut s = self.lock()?;
        let file = OsDisk.open(path)?;
        let inode = self.inode_of(&mut s, path)?;
        Ok(self.file(file, inode))
    }

    fn create_dir_all(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock()?;
        let mut missing = Vec::new();
        let mut at = Some(dir);
        while let Some(d) = at.filter(|d| !d.as_os_str().is_empty() && !d.exists()) {
            missing.push(d.to_path_buf());
            at = d.parent();
        }
        for d in missing.into_iter().rev() {
            std::fs::create_dir(&d)?;
            // New, so empty: nothing in it to adopt.
            s.seen_dirs.insert(d.clone());
            s.push(Op::MakeDir { path: d.clone() }, d);
        }
        Ok(())
    }

    fn rename(&self, from: &Path, to: &Path) -> io::Result<()> {
        let mut s = self.lock()?;
        assert_eq!(
            from.parent(),
            to.parent(),
            "the store renames only within its directory"
        );
        let inode = self.inode_of(&mut s, from)?;
        OsDisk.rename(from, to)?;
        s.names.remove(from);
        s.name(to, inode);
        s.push(
            Op::Rename {
                from: from.to_path_buf(),
                to: to.to_path_buf(),
            },
            to.to_path_buf(),
        );
        Ok(())
    }

    fn remove(&self, path: &Path) -> io::Result<()> {
        let mut s = self.lock()?;
        // Adopted first, so that a replay knows the file it deletes.
        let inode = self.inode_of(&mut s, path)?;
        OsDisk.remove(path)?;
        s.names.remove(path);
        s.inode_paths.remove(&inode);
        s.push(
            Op::Remove {
                path: path.to_path_buf(),
            },
            path.to_path_buf(),
        );
        Ok(())
    }

    fn sync_dir(&self, dir: &Path) -> io::Result<()> {
        let mut s = self.lock_for_sync()?;
        s.push(
            Op::SyncDir {
                path: dir.to_path_buf(),
            },
            dir.to_path_buf(),
        );
        Ok(())
    }
}

impl DiskFile for RecordingFile {
    fn std(&self) -> &File {
        &self.file
    }

    fn write_at(&self, bytes: &[u8], off: u64) -> io::Result<()> {
        let mut s = self.disk.lock()?;
        self.file.write_all_at(bytes, off)?;
        s.writes_while_held += u64::from(s.hold);
        let path = s.path_of(self.inode);
        s.push(
            Op::Write {
                inode: self.inode,
                off,
                data: Data::of(bytes),
            },
            path,
        );
        Ok(())
    }

    fn sync_all(&self) -> io::Result<()> {
        let mut s = self.disk.lock_for_sync()?;
        let path = s.path_of(self.inode);
        s.push(Op::SyncFile { inode: self.inode }, path);
        Ok(())
    }

    fn sync_range(&self, _map: &MmapRaw, from: usize, to: usize) -> io::Result<()> {
        let mut s = self.disk.lock_for_sync()?;
        let path = s.path_of(self.inode);
        s.push(
            Op::SyncRange {
                inode: self.inode,
                from: from as u64,
                to: to as u64,
            },
            path,
        );
        Ok(())
    }
}
