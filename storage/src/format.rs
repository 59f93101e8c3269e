//! The on-disk byte layout: the `STORE` file, segment headers, frames and entries.
//!
//! Every integer is little-endian. The book's "Store file format" chapter walks through the
//! same layout with every crash case; keep the two in step.

/// The newest format version this build reads. A store whose `STORE` file names a larger
/// one is refused on open.
pub const FORMAT_VERSION: u32 = 2;

/// The format version a new embedded store is written with: every entry's version is the
/// sequence number of the commit that first wrote it.
pub const EMBEDDED_FORMAT_VERSION: u32 = 1;

/// The format version a new replica store (`Options::replica`) is written with: frames may
/// carry versions chosen by the committer ([`FrameHeader::explicit_versions`]). A build that
/// reads only format 1 refuses such a store as newer, since it would reject those frames.
pub const REPLICA_FORMAT_VERSION: u32 = 2;

/// The largest version an entry may carry: the index keeps a tombstone flag in the top bit.
pub const MAX_VERSION: u64 = (1 << 63) - 1;

/// Frame flag bit: the frame is a seal.
pub const FRAME_FLAG_SEAL: u32 = 1;
/// Frame flag bit: the entries' versions were chosen by the committer, not taken from the
/// frame's sequence number. Only in replica stores.
pub const FRAME_FLAG_EXPLICIT_VERSIONS: u32 = 2;

/// Every value, entry and frame starts on a multiple of this, so rkyv archives can be read
/// in place (the mapping itself is page aligned).
pub const ALIGN: usize = 16;

/// Rounds `n` up to the next multiple of [`ALIGN`].
pub const fn align_up(n: usize) -> usize {
    (n + ALIGN - 1) & !(ALIGN - 1)
}

/// Name of the file that marks a directory as a store.
pub const META_FILE: &str = "STORE";
/// Name of the lock file; held with `flock` while the store is open.
pub const LOCK_FILE: &str = "LOCK";
/// Suffix of segment files; the stem is the segment id in 16 hex digits.
pub const SEGMENT_SUFFIX: &str = ".seg";

/// `STORE` file: magic, then version, store id, crc.
pub const META_MAGIC: &[u8; 16] = b"DARKSTAR-STORE\n\0";
/// Size of the `STORE` file.
pub const META_LEN: usize = 64;

/// Segment header magic.
pub const SEGMENT_MAGIC: &[u8; 8] = b"DSSEGMT\0";
/// Size of the segment header; the first frame starts here.
pub const SEGMENT_HEADER_LEN: usize = 64;

/// Frame magic (the first four bytes of every frame).
pub const FRAME_MAGIC: [u8; 4] = *b"DSFR";
/// Size of a frame header; the first entry starts right after it.
pub const FRAME_HEADER_LEN: usize = 48;
/// Size of an entry header; the entry's name follows it.
pub const ENTRY_HEADER_LEN: usize = 24;

/// Magic of an encoded [`Batch`](crate::Batch) (its first four bytes).
pub const BATCH_MAGIC: [u8; 4] = *b"DSBT";
/// Version of the batch encoding this build writes and reads (byte 4 of an encoded batch).
pub const BATCH_ENCODING_VERSION: u8 = 1;
/// Size of an encoded batch's header; its writes follow.
pub const BATCH_HEADER_LEN: usize = 32;
/// Size of an encoded batch's trailer: the checksum of everything before it.
pub const BATCH_TRAILER_LEN: usize = 4;
/// Bit of an encoded batch's flags byte: the batch has an explicit version.
pub const BATCH_FLAG_VERSION: u8 = 1;
/// Bit of an encoded batch's flags byte: the batch grew past 4 GiB of names and values and
/// lost some of them; committing it is refused.
pub const BATCH_FLAG_OVERSIZED: u8 = 2;

/// The first bytes hashed by [`Snapshot::digest`](crate::Snapshot::digest).
pub const DIGEST_MAGIC: [u8; 8] = *b"DSDIGST1";

const _: () = assert!(SEGMENT_HEADER_LEN % ALIGN == 0);
const _: () = assert!(FRAME_HEADER_LEN % ALIGN == 0);
const _: () = assert!(META_LEN <= 4096);

/// A position in the log: segment id in the high 32 bits, byte offset in the low 32.
pub fn log_position(segment: u32, offset: u32) -> u64 {
    ((segment as u64) << 32) | offset as u64
}

/// What an entry does.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
#[repr(u8)]
pub enum EntryKind {
    /// Object `id` now has `version` with this type name and value.
    PutObject = 1,
    /// Object `id` was removed at `version`.
    RemoveObject = 2,
    /// Pending task `id` now has `version` with this type name and value.
    PutTask = 3,
    /// Pending task `id` was removed at `version`.
    RemoveTask = 4,
    /// Name (the entry's name bytes) is bound to `id` at `version`.
    Bind = 5,
    /// Name (the entry's name bytes) was unbound at `version`.
    Unbind = 6,
}

impl EntryKind {
    /// Decodes a kind byte.
    pub fn from_u8(b: u8) -> Option<EntryKind> {
        Some(match b {
            1 => EntryKind::PutObject,
            2 => EntryKind::RemoveObject,
            3 => EntryKind::PutTask,
            4 => EntryKind::RemoveTask,
            5 => EntryKind::Bind,
            6 => EntryKind::Unbind,
            _ => return None,
        })
    }

    /// Whether an entry of this kind carries a value after its name.
    pub fn has_value(self) -> bool {
        matches!(self, EntryKind::PutObject | EntryKind::PutTask)
    }

    /// Whether this kind removes its key.
    pub fn is_tombstone(self) -> bool {
        matches!(
            self,
            EntryKind::RemoveObject | EntryKind::RemoveTask | EntryKind::Unbind
        )
    }
}

/// Size of an entry with a name of `name_len` bytes and a value of `value_len` bytes.
pub fn entry_len(name_len: usize, value_len: usize, has_value: bool) -> usize {
    if has_value {
        align_up(value_offset(name_len) + value_len)
    } else {
        align_up(ENTRY_HEADER_LEN + name_len)
    }
}

/// Offset of the value from the start of its entry.
pub fn value_offset(name_len: usize) -> usize {
    align_up(ENTRY_HEADER_LEN + name_len)
}

/// The fixed part of an entry.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct EntryHeader {
    /// What the entry does.
    pub kind: EntryKind,
    /// Bytes of the type name (objects, tasks) or of the bound name (bindings).
    pub name_len: u16,
    /// Bytes of the value (objects, tasks); zero otherwise.
    pub value_len: u32,
    /// Object or task id; for `Bind`, the id the name points to.
    pub id: u64,
    /// Version this entry installs: the sequence number of the commit that first wrote it,
    /// or, in a frame with explicit versions, the version its committer chose.
    pub version: u64,
}

impl EntryHeader {
    /// Writes the header into `out[..ENTRY_HEADER_LEN]`.
    pub fn encode(&self, out: &mut [u8]) {
        out[0] = self.kind as u8;
        out[1] = 0;
        out[2..4].copy_from_slice(&self.name_len.to_le_bytes());
        out[4..8].copy_from_slice(&self.value_len.to_le_bytes());
        out[8..16].copy_from_slice(&self.id.to_le_bytes());
        out[16..24].copy_from_slice(&self.version.to_le_bytes());
    }

    /// Reads a header, or says why it is not one.
    pub fn decode(b: &[u8]) -> Result<EntryHeader, &'static str> {
        if b.len() < ENTRY_HEADER_LEN {
            return Err("entry header runs past the end of its frame");
        }
        let kind = EntryKind::from_u8(b[0]).ok_or("unknown entry kind")?;
        if b[1] != 0 {
            return Err("entry flags are not zero");
        }
        let h = EntryHeader {
            kind,
            name_len: u16::from_le_bytes([b[2], b[3]]),
            value_len: u32::from_le_bytes(b[4..8].try_into().unwrap()),
            id: u64::from_le_bytes(b[8..16].try_into().unwrap()),
            version: u64::from_le_bytes(b[16..24].try_into().unwrap()),
        };
        if !kind.has_value() && h.value_len != 0 {
            return Err("entry of a kind without a value has a value length");
        }
        Ok(h)
    }

    /// Total bytes this entry occupies, padding included.
    pub fn total_len(&self) -> usize {
        entry_len(
            self.name_len as usize,
            self.value_len as usize,
            self.kind.has_value(),
        )
    }
}

/// The fixed part of a frame: one commit.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct FrameHeader {
    /// Commit sequence number; consecutive within a segment.
    pub seq: u64,
    /// Log position up to which everything was durable when this frame was written.
    pub synced_upto: u64,
    /// The id allocator's high-water mark when this frame was written.
    pub next_id: u64,
    /// Bytes of entries after the header.
    pub body_len: u32,
    /// crc32c of the body.
    pub body_crc: u32,
    /// Number of entries in the body; for a seal, the id of the segment the log continues
    /// in.
    pub entries: u32,
    /// A seal: the last frame of a segment, written when the log moves on to the next
    /// segment. It has no body and repeats the sequence number of the frame before it.
    pub seal: bool,
    /// The entries' versions were chosen by the committer (a replica store's batches with an
    /// explicit version, and its relocation frames), so they need not be at most `seq`.
    /// Never set on a seal.
    pub explicit_versions: bool,
}

/// The header checksum: crc32c of the store id followed by header bytes 8..48. Seeding it
/// with the store id (which clients never see) means bytes inside a stored value cannot pass
/// for a frame header, even if crafted to.
fn header_crc(store_id: u64, b: &[u8]) -> u32 {
    crc32c::crc32c_append(
        crc32c::crc32c(&store_id.to_le_bytes()),
        &b[8..FRAME_HEADER_LEN],
    )
}

impl FrameHeader {
    /// Writes the header, with its checksum for store `store_id`, into
    /// `out[..FRAME_HEADER_LEN]`.
    pub fn encode(&self, store_id: u64, out: &mut [u8]) {
        out[0..4].copy_from_slice(&FRAME_MAGIC);
        out[8..16].copy_from_slice(&self.seq.to_le_bytes());
        out[16..24].copy_from_slice(&self.synced_upto.to_le_bytes());
        out[24..32].copy_from_slice(&self.next_id.to_le_bytes());
        out[32..36].copy_from_slice(&self.body_len.to_le_bytes());
        out[36..40].copy_from_slice(&self.body_crc.to_le_bytes());
        out[40..44].copy_from_slice(&self.entries.to_le_bytes());
        let flags = if self.seal { FRAME_FLAG_SEAL } else { 0 }
            | if self.explicit_versions {
                FRAME_FLAG_EXPLICIT_VERSIONS
            } else {
                0
            };
        out[44..48].copy_from_slice(&flags.to_le_bytes());
        let crc = header_crc(store_id, out);
        out[4..8].copy_from_slice(&crc.to_le_bytes());
    }

    /// Reads a header of store `store_id` whose magic and checksum hold and whose flags are
    /// one of 0, 1 (seal) or 2 (explicit versions); `None` otherwise.
    pub fn decode(store_id: u64, b: &[u8]) -> Option<FrameHeader> {
        if b.len() < FRAME_HEADER_LEN || b[0..4] != FRAME_MAGIC {
            return None;
        }
        let crc = u32::from_le_bytes(b[4..8].try_into().unwrap());
        if crc != header_crc(store_id, b) {
            return None;
        }
        let flags = u32::from_le_bytes(b[44..48].try_into().unwrap());
        if flags > FRAME_FLAG_EXPLICIT_VERSIONS {
            // Unknown bits, or a seal claiming explicit versions: it has no entries.
            return None;
        }
        Some(FrameHeader {
            seal: flags & FRAME_FLAG_SEAL != 0,
            explicit_versions: flags & FRAME_FLAG_EXPLICIT_VERSIONS != 0,
            seq: u64::from_le_bytes(b[8..16].try_into().unwrap()),
            synced_upto: u64::from_le_bytes(b[16..24].try_into().unwrap()),
            next_id: u64::from_le_bytes(b[24..32].try_into().unwrap()),
            body_len: u32::from_le_bytes(b[32..36].try_into().unwrap()),
            body_crc: u32::from_le_bytes(b[36..40].try_into().unwrap()),
            entries: u32::from_le_bytes(b[40..44].try_into().unwrap()),
        })
    }

    /// Total bytes of the frame: header plus body (the body is a multiple of [`ALIGN`]).
    pub fn total_len(&self) -> usize {
        FRAME_HEADER_LEN + self.body_len as usize
    }
}

/// The header at the start of every segment file.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct SegmentHeader {
    /// Format version the segment was written with.
    pub format_version: u32,
    /// Size of the segment file in bytes.
    pub size: u32,
    /// Id of the store this segment belongs to.
    pub store_id: u64,
    /// This segment's id (also its file name).
    pub segment_id: u32,
}

impl SegmentHeader {
    /// The encoded header, checksum included.
    pub fn encode(&self) -> [u8; SEGMENT_HEADER_LEN] {
        let mut out = [0u8; SEGMENT_HEADER_LEN];
        out[0..8].copy_from_slice(SEGMENT_MAGIC);
        out[8..12].copy_from_slice(&self.format_version.to_le_bytes());
        out[12..16].copy_from_slice(&self.size.to_le_bytes());
        out[16..24].copy_from_slice(&self.store_id.to_le_bytes());
        out[24..28].copy_from_slice(&self.segment_id.to_le_bytes());
        let crc = crc32c::crc32c(&out[..60]);
        out[60..64].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads a header, or says what is wrong with it.
    pub fn decode(b: &[u8]) -> Result<SegmentHeader, &'static str> {
        if b.len() < SEGMENT_HEADER_LEN {
            return Err("file is shorter than a segment header");
        }
        if &b[0..8] != SEGMENT_MAGIC {
            return Err("segment magic is wrong");
        }
        let crc = u32::from_le_bytes(b[60..64].try_into().unwrap());
        if crc != crc32c::crc32c(&b[..60]) {
            return Err("segment header checksum does not match");
        }
        Ok(SegmentHeader {
            format_version: u32::from_le_bytes(b[8..12].try_into().unwrap()),
            size: u32::from_le_bytes(b[12..16].try_into().unwrap()),
            store_id: u64::from_le_bytes(b[16..24].try_into().unwrap()),
            segment_id: u32::from_le_bytes(b[24..28].try_into().unwrap()),
        })
    }
}

/// The `STORE` file's content.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Meta {
    /// Format version of the store: [`EMBEDDED_FORMAT_VERSION`] or
    /// [`REPLICA_FORMAT_VERSION`].
    pub format_version: u32,
    /// Random id shared by every segment of this store.
    pub store_id: u64,
}

impl Meta {
    /// Whether this is a replica store, whose frames may carry explicit versions.
    pub fn is_replica(&self) -> bool {
        self.format_version == REPLICA_FORMAT_VERSION
    }

    /// The encoded file, checksum included.
    pub fn encode(&self) -> [u8; META_LEN] {
        let mut out = [0u8; META_LEN];
        out[0..16].copy_from_slice(META_MAGIC);
        out[16..20].copy_from_slice(&self.format_version.to_le_bytes());
        out[24..32].copy_from_slice(&self.store_id.to_le_bytes());
        let crc = crc32c::crc32c(&out[..60]);
        out[60..64].copy_from_slice(&crc.to_le_bytes());
        out
    }

    /// Reads the file. The version is read before the checksum is checked, so a newer
    /// format (which may lay out the rest differently) is reported as such.
    pub fn decode(b: &[u8]) -> Result<Meta, &'static str> {
        if b.len() < 20 || &b[0..16] != META_MAGIC {
            return Err("it does not start with the store magic");
        }
        let format_version = u32::from_le_bytes(b[16..20].try_into().unwrap());
        if format_version > FORMAT_VERSION {
            return Ok(Meta {
                format_version,
                store_id: 0,
            });
        }
        if b.len() != META_LEN {
            return Err("it has the wrong length");
        }
        let crc = u32::from_le_bytes(b[60..64].try_into().unwrap());
        if crc != crc32c::crc32c(&b[..60]) {
            return Err("its checksum does not match");
        }
        Ok(Meta {
            format_version,
            store_id: u64::from_le_bytes(b[24..32].try_into().unwrap()),
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn frame_header_round_trips_and_rejects_flips() {
        let h = FrameHeader {
            seq: 7,
            synced_upto: log_position(3, 4096),
            next_id: 99,
            body_len: 64,
            body_crc: 0xdead_beef,
            entries: 2,
            seal: false,
            explicit_versions: false,
        };
        let mut b = [0u8; FRAME_HEADER_LEN];
        h.encode(11, &mut b);
        assert_eq!(FrameHeader::decode(11, &b), Some(h));
        let explicit = FrameHeader {
            explicit_versions: true,
            ..h
        };
        let mut e = [0u8; FRAME_HEADER_LEN];
        explicit.encode(11, &mut e);
        assert_eq!(u32::from_le_bytes(e[44..48].try_into().unwrap()), 2);
        assert_eq!(FrameHeader::decode(11, &e), Some(explicit));
        let sealed_explicit = FrameHeader {
            seal: true,
            ..explicit
        };
        sealed_explicit.encode(11, &mut e);
        assert_eq!(FrameHeader::decode(11, &e), None, "a seal has no entries");
        assert_eq!(FrameHeader::decode(12, &b), None, "another store's header");
        for i in 0..FRAME_HEADER_LEN {
            let mut c = b;
            c[i] ^= 0x10;
            assert_eq!(
                FrameHeader::decode(11, &c),
                None,
                "flip at byte {i} went unnoticed"
            );
        }
    }

    #[test]
    fn entry_sizes_keep_values_aligned() {
        for name_len in 0..40 {
            assert_eq!(value_offset(name_len) % ALIGN, 0);
            for value_len in [0, 1, 15, 16, 17, 100] {
                let n = entry_len(name_len, value_len, true);
                assert_eq!(n % ALIGN, 0);
                assert!(n >= value_offset(name_len) + value_len);
            }
        }
    }

    #[test]
    fn entry_header_round_trips() {
        let h = EntryHeader {
            kind: EntryKind::Bind,
            name_len: 5,
            value_len: 0,
            id: 42,
            version: 9,
        };
        let mut b = [0u8; ENTRY_HEADER_LEN];
        h.encode(&mut b);
        assert_eq!(EntryHeader::decode(&b), Ok(h));
        b[0] = 77;
        assert!(EntryHeader::decode(&b).is_err());
    }

    #[test]
    fn meta_reports_newer_versions_before_checksums() {
        let m = Meta {
            format_version: FORMAT_VERSION,
            store_id: 5,
        };
        let mut b = m.encode();
        assert_eq!(Meta::decode(&b), Ok(m));
        b[16..20].copy_from_slice(&(FORMAT_VERSION + 1).to_le_bytes());
        assert_eq!(Meta::decode(&b).unwrap().format_version, FORMAT_VERSION + 1);
        b[16..20].copy_from_slice(&FORMAT_VERSION.to_le_bytes());
        b[30] ^= 1;
        assert!(Meta::decode(&b).is_err());
    }
}
