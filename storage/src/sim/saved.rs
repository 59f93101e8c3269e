//! A recording as a file, so that a failing case can be replayed exactly on another run.
//!
//! The format is private to this build: a magic, then each op as a tag byte and its fields
//! (numbers as little-endian `u64`, paths and bytes with a `u64` length before them).

use std::path::{Path, PathBuf};
use std::sync::Arc;

use super::op::{Data, Op};
use super::Recording;

const MAGIC: &[u8; 8] = b"DSRECv01";

/// Why a saved recording could not be read back.
#[derive(Debug, thiserror::Error)]
pub enum LoadError {
    /// The file could not be read.
    #[error("reading {path}: {source}")]
    Io {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        source: std::io::Error,
    },
    /// The file is not a recording this build wrote.
    #[error("{path} is not a saved recording (at byte {at}: {why})")]
    Malformed {
        /// The file.
        path: PathBuf,
        /// Where reading stopped.
        at: usize,
        /// What was wrong there.
        why: &'static str,
    },
}

struct Writer(Vec<u8>);

impl Writer {
    fn u64(&mut self, v: u64) {
        self.0.extend_from_slice(&v.to_le_bytes());
    }
    fn bytes(&mut self, b: &[u8]) {
        self.u64(b.len() as u64);
        self.0.extend_from_slice(b);
    }
    fn path(&mut self, p: &Path) {
        self.bytes(p.as_os_str().as_encoded_bytes());
    }
}

struct Reader<'a> {
    b: &'a [u8],
    at: usize,
}

impl Reader<'_> {
    fn take(&mut self, n: usize) -> Result<&[u8], (usize, &'static str)> {
        let end = self
            .at
            .checked_add(n)
            .filter(|e| *e <= self.b.len())
            .ok_or((self.at, "the file ends inside an operation"))?;
        let s = &self.b[self.at..end];
        self.at = end;
        Ok(s)
    }
    fn u64(&mut self) -> Result<u64, (usize, &'static str)> {
        let b = self.take(8)?;
        Ok(u64::from_le_bytes(b.try_into().expect("eight bytes")))
    }
    fn bytes(&mut self) -> Result<&[u8], (usize, &'static str)> {
        let n = usize::try_from(self.u64()?).map_err(|_| (self.at, "a length is too large"))?;
        self.take(n)
    }
    fn path(&mut self) -> Result<PathBuf, (usize, &'static str)> {
        let at = self.at;
        let b = self.bytes()?;
        let s = std::str::from_utf8(b).map_err(|_| (at, "a path is not UTF-8"))?;
        Ok(PathBuf::from(s))
    }
}

impl Recording {
    /// Writes the recording to `path`.
    pub fn save(&self, path: &Path) -> std::io::Result<()> {
        let mut w = Writer(MAGIC.to_vec());
        w.u64(self.ops.len() as u64);
        for (op, p) in self.ops.iter().zip(&self.paths) {
            w.path(p);
            match op {
                Op::Adopt { path, inode, bytes } => {
                    w.0.push(0);
                    w.path(path);
                    w.u64(*inode);
                    w.bytes(bytes);
                }
                Op::Create { path, inode } => {
                    w.0.push(1);
                    w.path(path);
                    w.u64(*inode);
                }
                Op::MakeDir { path } => {
                    w.0.push(2);
                    w.path(path);
                }
                Op::Write { inode, off, data } => {
                    w.0.push(3);
                    w.u64(*inode);
                    w.u64(*off);
                    match data {
                        Data::Zeros(n) => {
                            w.0.push(0);
                            w.u64(*n);
                        }
                        Data::Bytes(b) => {
                            w.0.push(1);
                            w.bytes(b);
                        }
                    }
                }
                Op::SyncFile { inode } => {
                    w.0.push(4);
                    w.u64(*inode);
                }
                Op::SyncRange { inode, from, to } => {
                    w.0.push(5);
                    w.u64(*inode);
                    w.u64(*from);
                    w.u64(*to);
                }
                Op::Rename { from, to } => {
                    w.0.push(6);
                    w.path(from);
                    w.path(to);
                }
                Op::Remove { path } => {
                    w.0.push(7);
                    w.path(path);
                }
                Op::SyncDir { path } => {
                    w.0.push(8);
                    w.path(path);
                }
            }
        }
        std::fs::write(path, w.0)
    }

    /// Reads back a recording [`save`](Self::save) wrote.
    pub fn load(path: &Path) -> Result<Recording, LoadError> {
        let b = std::fs::read(path).map_err(|source| LoadError::Io {
            path: path.to_path_buf(),
            source,
        })?;
        Self::decode(&b).map_err(|(at, why)| LoadError::Malformed {
            path: path.to_path_buf(),
            at,
            why,
        })
    }

    fn decode(b: &[u8]) -> Result<Recording, (usize, &'static str)> {
        let mut r = Reader { b, at: 0 };
        if r.take(8)? != MAGIC {
            return Err((0, "wrong magic"));
        }
        let n = r.u64()?;
        let mut ops = Vec::new();
        let mut paths = Vec::new();
        for _ in 0..n {
            paths.push(r.path()?);
            let tag = r.take(1)?[0];
            ops.push(match tag {
                0 => Op::Adopt {
                    path: r.path()?,
                    inode: r.u64()?,
                    bytes: Arc::from(r.bytes()?),
                },
                1 => Op::Create {
                    path: r.path()?,
                    inode: r.u64()?,
                },
                2 => Op::MakeDir { path: r.path()? },
                3 => {
                    let inode = r.u64()?;
                    let off = r.u64()?;
                    let data = match r.take(1)?[0] {
                        0 => Data::Zeros(r.u64()?),
                        1 => Data::Bytes(Arc::from(r.bytes()?)),
                        _ => return Err((r.at - 1, "unknown kind of write")),
                    };
                    Op::Write { inode, off, data }
                }
                4 => Op::SyncFile { inode: r.u64()? },
                5 => Op::SyncRange {
                    inode: r.u64()?,
                    from: r.u64()?,
                    to: r.u64()?,
                },
                6 => Op::Rename {
                    from: r.path()?,
                    to: r.path()?,
                },
                7 => Op::Remove { path: r.path()? },
                8 => Op::SyncDir { path: r.path()? },
                _ => return Err((r.at - 1, "unknown operation")),
            });
        }
        if r.at != b.len() {
            return Err((r.at, "bytes after the last operation"));
        }
        Ok(Recording::new(ops, paths))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_saved_recording_reads_back_equal() {
        let rec = Recording::new(
            vec![
                Op::MakeDir { path: "/s".into() },
                Op::Create {
                    path: "/s/a".into(),
                    inode: 0,
                },
                Op::Write {
                    inode: 0,
                    off: 3,
                    data: Data::of(b"xyz"),
                },
                Op::Write {
                    inode: 0,
                    off: 9,
                    data: Data::of(&[0; 100]),
                },
                Op::SyncRange {
                    inode: 0,
                    from: 0,
                    to: 6,
                },
                Op::Rename {
                    from: "/s/a".into(),
                    to: "/s/b".into(),
                },
                Op::SyncDir { path: "/s".into() },
            ],
            ["/s", "/s/a", "/s/a", "/s/a", "/s/a", "/s/b", "/s"]
                .map(PathBuf::from)
                .to_vec(),
        );
        let dir = tempfile::tempdir().unwrap();
        let file = dir.path().join("rec");
        rec.save(&file).unwrap();
        assert_eq!(Recording::load(&file).unwrap(), rec);
        std::fs::write(&file, b"DSRECv01\x05").unwrap();
        let err = Recording::load(&file).unwrap_err().to_string();
        assert!(err.contains("ends inside"), "{err}");
    }
}
