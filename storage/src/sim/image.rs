//! What a disk could hold after a power loss: every durable byte and directory entry, and
//! of the rest what a seeded choice keeps.
//!
//! A sector (512 bytes) is written whole or not at all, and holds what its page held at
//! some moment: its durable bytes and then a prefix of the writes to it since, in order.
//! Within that, anything goes: per write, all of it, none of it, or some of its sectors;
//! per directory change (a creation, a rename, a deletion), kept or lost, each on its own.

use std::collections::{BTreeMap, HashSet};
use std::ffi::OsString;
use std::io;
use std::path::Path;

use super::replay::{Entry, Replay};

/// The unit a disk writes atomically.
pub const SECTOR: u64 = 512;

/// How an image treats what was not durable.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
enum Writes {
    /// Every unsynced write lost.
    NoneKept,
    /// Every unsynced write kept (what `kill -9` leaves).
    AllKept,
    /// Each write kept, lost or torn.
    PerWrite,
    /// Each sector of each write kept or lost.
    PerSector,
}

/// The seeded choices behind one image. The same seed on the same replay gives the same
/// image. Seed 0 loses everything that was not durable, seed 1 keeps all of it (what
/// `kill -9` leaves); other seeds mix.
pub(crate) struct Choices {
    state: u64,
}

impl Choices {
    pub(crate) fn new(seed: u64) -> Choices {
        Choices {
            state: seed ^ 0x9e37_79b9_7f4a_7c15,
        }
    }

    fn next(&mut self) -> u64 {
        // splitmix64
        self.state = self.state.wrapping_add(0x9e37_79b9_7f4a_7c15);
        let mut z = self.state;
        z = (z ^ (z >> 30)).wrapping_mul(0xbf58_476d_1ce4_e5b9);
        z = (z ^ (z >> 27)).wrapping_mul(0x94d0_49bb_1331_11eb);
        z ^ (z >> 31)
    }

    fn below(&mut self, n: u64) -> u64 {
        self.next() % n
    }

    fn coin(&mut self) -> bool {
        self.next() & 1 == 1
    }
}

/// Counts of what an image kept and lost.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct ImageStats {
    /// Writes that were not durable at the crash point.
    pub unsynced_writes: u64,
    /// Of those, kept whole.
    pub kept: u64,
    /// Of those, lost whole.
    pub lost: u64,
    /// Of those, torn: some sectors kept, others lost.
    pub torn: u64,
    /// Directory changes that were not durable, kept.
    pub dir_ops_kept: u64,
    /// Directory changes that were not durable, lost.
    pub dir_ops_lost: u64,
}

/// The files of one directory as a disk could hold them after a power loss.
#[derive(Clone, Debug)]
pub struct Image {
    /// Whether the directory itself survived (its creation may not have been durable).
    pub exists: bool,
    /// Its files, by name, with their bytes.
    pub files: BTreeMap<OsString, Vec<u8>>,
    /// What was kept and lost.
    pub stats: ImageStats,
}

impl Image {
    pub(crate) fn build(replay: &Replay<'_>, dir: &Path, seed: u64) -> Image {
        let c = &mut Choices::new(seed);
        let mut stats = ImageStats::default();
        // Seeds 0 and 1 are the extremes; the others choose.
        let (writes, dir_mode) = match seed {
            0 => (Writes::NoneKept, 0),
            1 => (Writes::AllKept, 1),
            _ => (
                match c.below(4) {
                    0 => Writes::NoneKept,
                    1 => Writes::AllKept,
                    2 => Writes::PerWrite,
                    _ => Writes::PerSector,
                },
                // 0: every change lost; 1: every change kept; 2: each on its own.
                c.below(3),
            ),
        };
        let keep_len = match writes {
            Writes::NoneKept => false,
            Writes::AllKept => true,
            _ => c.coin(),
        };
        let keep_dir_op = |c: &mut Choices, stats: &mut ImageStats| {
            let keep = match dir_mode {
                0 => false,
                1 => true,
                _ => c.coin(),
            };
            if keep {
                stats.dir_ops_kept += 1;
            } else {
                stats.dir_ops_lost += 1;
            }
            keep
        };
        // Does the directory itself survive? Only a creation the recording saw can be lost.
        let mut exists = true;
        let mut at = Some(dir);
        while let Some(d) = at {
            let (Some(parent), Some(name)) = (d.parent(), d.file_name()) else {
                break;
            };
            if let Some(p) = replay.dirs.get(parent) {
                let mut entries = p.durable.clone();
                for op in &p.pending {
                    if keep_dir_op(c, &mut stats) {
                        op.apply(&mut entries);
                    }
                }
                let made_here = p
                    .pending
                    .iter()
                    .any(|op| matches!(op, super::replay::DirOp::Put(n, Entry::Dir) if n == name));
                if (made_here || p.durable.contains_key(name))
                    && entries.get(name) != Some(&Entry::Dir)
                {
                    exists = false;
                }
            }
            at = Some(parent);
        }
        let mut entries = BTreeMap::new();
        if let Some(d) = replay.dirs.get(dir) {
            entries = d.durable.clone();
            for op in &d.pending {
                if keep_dir_op(c, &mut stats) {
                    op.apply(&mut entries);
                }
            }
        }
        let mut files = BTreeMap::new();
        if exists {
            for (name, entry) in entries {
                let Entry::File(inode) = entry else { continue };
                let Some(f) = replay.files.get(&inode) else {
                    continue;
                };
                let mut bytes = f.durable.clone();
                let mut stopped: HashSet<u64> = HashSet::new();
                for p in &f.pending {
                    stats.unsynced_writes += 1;
                    let fate = match writes {
                        Writes::NoneKept => 0,
                        Writes::AllKept => 1,
                        Writes::PerWrite => c.below(3),
                        Writes::PerSector => 2,
                    };
                    let (mut kept, mut lost) = (false, false);
                    let first = p.off / SECTOR;
                    let last = (p.off + p.len).div_ceil(SECTOR);
                    for s in first..last {
                        let keep = match fate {
                            0 => false,
                            1 => true,
                            _ => c.coin(),
                        };
                        // A sector holds a prefix of its writes: after one is lost, so are
                        // the later ones.
                        if !keep || stopped.contains(&s) {
                            stopped.insert(s);
                            lost = true;
                            continue;
                        }
                        kept = true;
                        if let Some(part) = p.part(s * SECTOR, (s + 1) * SECTOR) {
                            part.apply(&mut bytes);
                        }
                    }
                    match (kept, lost) {
                        (true, false) => stats.kept += 1,
                        (false, _) => stats.lost += 1,
                        (true, true) => stats.torn += 1,
                    }
                }
                if keep_len && (bytes.len() as u64) < f.len {
                    bytes.resize(f.len as usize, 0);
                }
                files.insert(name, bytes);
            }
        }
        Image {
            exists,
            files,
            stats,
        }
    }

    /// Writes the image's files into `dir`, which must be empty or missing. An image whose
    /// directory did not survive writes nothing (and leaves `dir` missing).
    pub fn write_to(&self, dir: &Path) -> io::Result<()> {
        if !self.exists {
            return Ok(());
        }
        std::fs::create_dir_all(dir)?;
        for (name, bytes) in &self.files {
            std::fs::write(dir.join(name), bytes)?;
        }
        Ok(())
    }
}
