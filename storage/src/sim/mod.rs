//! A simulated disk that forgets, for power-loss tests (the `simulated-disk` feature).
//!
//! `kill -9` cannot tell whether a store acknowledged a commit before syncing it: a killed
//! process leaves everything it wrote in the page cache. A power loss does not. This module
//! gives the store a [`RecordingDisk`], which does every file operation on the real files
//! and writes it down, in order. A [`Recording`] of those operations can then be
//! [replayed](Recording::replay) to any crash point and turned into the [`Image`] of the
//! store directory that a real disk could hold had the power gone there: every synced byte
//! and every synced directory change kept; of the rest, writes kept, lost or torn at
//! sector granularity, and creations, renames and deletions kept or lost, as a seed
//! decides. The same recording, crash point and seed give the same image, and a recording
//! can be [saved](Recording::save) so that a failing case replays exactly.
//!
//! ```
//! use darkstar_storage::sim::RecordingDisk;
//! use darkstar_storage::{Batch, Options, Store};
//!
//! let tmp = tempfile::tempdir().unwrap();
//! let dir = tmp.path().join("store");
//! let disk = RecordingDisk::new();
//! let store = Store::open(&dir, Options { disk: Some(disk.clone()), ..Options::default() }).unwrap();
//! let mut batch = Batch::new();
//! batch.put_object(1, "t", b"durable");
//! let seq = store.commit(&batch).unwrap();
//! store.wait_durable(seq).unwrap();
//! let acknowledged_at = disk.ops();
//! let recording = disk.cut_power();
//! drop(store);
//!
//! // Whatever the disk kept of the rest, the acknowledged commit is there.
//! for seed in 0..8 {
//!     let image_dir = tmp.path().join(format!("image{seed}"));
//!     let mut replay = recording.replay();
//!     replay.advance_to(acknowledged_at);
//!     replay.image(&dir, seed).write_to(&image_dir).unwrap();
//!     let store = Store::open(&image_dir, Options::default()).unwrap();
//!     assert_eq!(store.snapshot().object(1).unwrap().value, b"durable");
//! }
//! ```

mod image;
mod op;
mod recording;
mod replay;
mod saved;

use std::path::{Path, PathBuf};

pub use image::{Image, ImageStats, SECTOR};
pub use op::{OpKind, OpView};
pub use recording::{RecordingDisk, RecordingFile};
pub use replay::Replay;
pub use saved::LoadError;

use op::Op;

/// The operations a [`RecordingDisk`] did, in order.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct Recording {
    ops: Vec<Op>,
    /// Each op's file or directory, by the name it had then.
    paths: Vec<PathBuf>,
}

impl Recording {
    pub(crate) fn new(ops: Vec<Op>, paths: Vec<PathBuf>) -> Recording {
        assert_eq!(ops.len(), paths.len(), "every op has its path");
        Recording { ops, paths }
    }

    /// How many operations it holds. Crash points run from 0 (nothing done) to this.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    /// Whether it holds no operation.
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Operation `i`.
    pub fn op(&self, i: usize) -> OpView<'_> {
        let op = &self.ops[i];
        OpView {
            kind: op.kind(),
            path: &self.paths[i],
            from: match op {
                Op::Rename { from, .. } => Some(from),
                _ => None,
            },
            len: match op {
                Op::Write { data, .. } => data.len(),
                _ => 0,
            },
        }
    }

    /// A replay at crash point 0, to [advance](Replay::advance_to) to the points to check.
    pub fn replay(&self) -> Replay<'_> {
        Replay::new(self)
    }

    /// The image of `dir` after a power loss once `point` operations were done, as `seed`
    /// chooses.
    pub fn image(&self, dir: &Path, point: usize, seed: u64) -> Image {
        let mut replay = self.replay();
        replay.advance_to(point);
        replay.image(dir, seed)
    }
}
