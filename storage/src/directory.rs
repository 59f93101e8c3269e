//! The store's directory: the `STORE` marker file, the process lock, and the list of
//! segment files.

use std::fs::{File, OpenOptions};
use std::io::{Read, Write};
use std::os::fd::AsRawFd;
use std::os::unix::fs::FileExt;
use std::path::{Path, PathBuf};
use std::sync::Mutex;

use crate::disk::{Disk, DiskFile, StoreDisk};
use crate::error::OpenError;
use crate::format::{Meta, FORMAT_VERSION, LOCK_FILE, META_FILE};
use crate::segment::parse_segment_file_name;

fn io_err(path: &Path) -> impl FnOnce(std::io::Error) -> OpenError + '_ {
    move |source| OpenError::Io {
        path: path.to_path_buf(),
        source,
    }
}

/// An exclusive `flock` on the store's `LOCK` file, released when dropped (or when the
/// process dies, however it dies).
#[derive(Debug)]
pub(crate) struct DirLock {
    _file: File,
    /// The directory, as this process's table of held locks has it.
    dir: PathBuf,
}

/// The store directories this process holds the lock of.
static HELD: Mutex<Vec<PathBuf>> = Mutex::new(Vec::new());

impl Drop for DirLock {
    fn drop(&mut self) {
        let mut held = HELD.lock().unwrap_or_else(|e| e.into_inner());
        if let Some(i) = held.iter().position(|d| *d == self.dir) {
            held.swap_remove(i);
        }
    }
}

/// How long a lock held by this very process is waited for (see [`lock`]).
const SELF_LOCK_PATIENCE: std::time::Duration = std::time::Duration::from_secs(10);

/// Takes the store's lock, or reports who holds it.
pub(crate) fn lock(dir: &Path) -> Result<DirLock, OpenError> {
    let path = dir.join(LOCK_FILE);
    let mut file = OpenOptions::new()
        .read(true)
        .write(true)
        .create(true)
        .truncate(false)
        .open(&path)
        .map_err(io_err(&path))?;
    // A store this process closed a moment ago may still count as locked: a child
    // process being spawned meanwhile shares every descriptor, the lock's among them,
    // until it executes its program (which closes them), and under load that can take a
    // while. Only then is it worth waiting; a lock held by a store open in this process,
    // or by another process, is reported at once.
    let key = dir.canonicalize().unwrap_or_else(|_| dir.to_path_buf());
    let open_here = || {
        HELD.lock()
            .unwrap_or_else(|e| e.into_inner())
            .contains(&key)
    };
    let deadline = std::time::Instant::now() + SELF_LOCK_PATIENCE;
    loop {
        // SAFETY: flock on a descriptor we own; it has no memory-safety preconditions.
        let rc = unsafe { libc::flock(file.as_raw_fd(), libc::LOCK_EX | libc::LOCK_NB) };
        if rc == 0 {
            break;
        }
        let err = std::io::Error::last_os_error();
        if err.raw_os_error() != Some(libc::EWOULDBLOCK) {
            return Err(OpenError::Io { path, source: err });
        }
        let mut buf = [0u8; 32];
        let n = file.read_at(&mut buf, 0).unwrap_or(0);
        let pid = std::str::from_utf8(&buf[..n])
            .ok()
            .and_then(|p| p.trim().parse::<u32>().ok());
        if pid == Some(std::process::id()) && !open_here() && std::time::Instant::now() < deadline {
            std::thread::sleep(std::time::Duration::from_millis(5));
            continue;
        }
        return Err(OpenError::Locked {
            dir: dir.to_path_buf(),
            holder: pid.map_or_else(String::new, |pid| format!(" (pid {pid})")),
        });
    }
    file.set_len(0).map_err(io_err(&path))?;
    write!(file, "{}", std::process::id()).map_err(io_err(&path))?;
    HELD.lock()
        .unwrap_or_else(|e| e.into_inner())
        .push(key.clone());
    Ok(DirLock {
        _file: file,
        dir: key,
    })
}

/// What `inspect` found in the directory.
pub(crate) enum Found {
    /// A store with this `STORE` file.
    Store(Meta),
    /// Nothing (or only a stale lock file): a store may be created here.
    Empty,
}

/// Decides whether `dir` is a store, may become one, or must be refused.
pub(crate) fn inspect(disk: &StoreDisk, dir: &Path, create: bool) -> Result<Found, OpenError> {
    if !dir.exists() {
        if !create {
            return Err(OpenError::NotAStore {
                dir: dir.to_path_buf(),
                reason: "the directory does not exist (and `create` is off)".into(),
            });
        }
        // The directories' own names must be durable before anything in them can be: sync
        // the parent of each one created, from the deepest existing ancestor down.
        let created: Vec<&Path> = dir
            .ancestors()
            .take_while(|d| !d.as_os_str().is_empty() && !d.exists())
            .collect();
        disk.create_dir_all(dir).map_err(io_err(dir))?;
        for parent in created.iter().rev().filter_map(|d| d.parent()) {
            // A relative path of one component lives in the working directory.
            let parent = if parent.as_os_str().is_empty() {
                Path::new(".")
            } else {
                parent
            };
            disk.sync_dir(parent).map_err(io_err(parent))?;
        }
    }
    if !dir.is_dir() {
        return Err(OpenError::NotAStore {
            dir: dir.to_path_buf(),
            reason: "it is not a directory".into(),
        });
    }
    let meta_path = dir.join(META_FILE);
    if meta_path.exists() {
        let mut bytes = Vec::new();
        File::open(&meta_path)
            .and_then(|mut f| f.read_to_end(&mut bytes))
            .map_err(io_err(&meta_path))?;
        let meta = Meta::decode(&bytes).map_err(|why| OpenError::NotAStore {
            dir: dir.to_path_buf(),
            reason: format!("its {META_FILE} file is not a store marker: {why}"),
        })?;
        if meta.format_version > FORMAT_VERSION {
            return Err(OpenError::NewerFormat {
                dir: dir.to_path_buf(),
                found: meta.format_version,
                supported: FORMAT_VERSION,
            });
        }
        return Ok(Found::Store(meta));
    }
    let mut others = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        // A lock file, or a marker whose creation a crash interrupted, holds no data.
        if name != LOCK_FILE && name != format!("{META_FILE}.tmp") {
            others.push(name);
        }
    }
    if others.is_empty() {
        if !create {
            return Err(OpenError::NotAStore {
                dir: dir.to_path_buf(),
                reason: "the directory is empty (and `create` is off)".into(),
            });
        }
        return Ok(Found::Empty);
    }
    others.sort();
    others.truncate(3);
    Err(OpenError::NotAStore {
        dir: dir.to_path_buf(),
        reason: format!(
            "it has files ({}, ...) but no {META_FILE} file",
            others.join(", ")
        ),
    })
}

/// Writes a new `STORE` file, naming format `format_version`, durably.
pub(crate) fn create_meta(
    disk: &StoreDisk,
    dir: &Path,
    format_version: u32,
) -> Result<Meta, OpenError> {
    let meta = Meta {
        format_version,
        store_id: new_store_id(),
    };
    let tmp = dir.join(format!("{META_FILE}.tmp"));
    let path = dir.join(META_FILE);
    let f = disk.create(&tmp).map_err(io_err(&tmp))?;
    DiskFile::write_at(&f, &meta.encode(), 0).map_err(io_err(&tmp))?;
    DiskFile::sync_all(&f).map_err(io_err(&tmp))?;
    disk.rename(&tmp, &path).map_err(io_err(&path))?;
    disk.sync_dir(dir).map_err(io_err(dir))?;
    Ok(meta)
}

fn new_store_id() -> u64 {
    use std::hash::{BuildHasher, Hasher};
    let mut h = std::collections::hash_map::RandomState::new().build_hasher();
    h.write_u128(
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map(|d| d.as_nanos())
            .unwrap_or(0),
    );
    h.write_u32(std::process::id());
    h.finish() | 1
}

/// The segment files in `dir`, in id order. Leftover `*.tmp` files of interrupted
/// creations and `*.spare` segments never put to use are removed.
pub(crate) fn list_segments(
    disk: &StoreDisk,
    dir: &Path,
) -> Result<Vec<(u32, PathBuf)>, OpenError> {
    let mut segments = Vec::new();
    for entry in std::fs::read_dir(dir).map_err(io_err(dir))? {
        let entry = entry.map_err(io_err(dir))?;
        let name = entry.file_name().to_string_lossy().into_owned();
        if name.ends_with(".tmp") || name.ends_with(crate::segment::SPARE_SUFFIX) {
            let p = entry.path();
            disk.remove(&p).map_err(io_err(&p))?;
            continue;
        }
        if let Some(id) = parse_segment_file_name(&name) {
            segments.push((id, entry.path()));
        }
    }
    segments.sort_by_key(|(id, _)| *id);
    Ok(segments)
}
