//! The byte encoding of a [`Batch`], so that a batch can travel between machines inside a
//! log record. The book's "Store file format" chapter ("Batches on the wire") gives the
//! layout byte by byte; keep the two in step.
//!
//! Decoding trusts nothing: every length is checked against the bytes that remain before
//! anything is read or allocated, so hostile input yields an error, never a panic or an
//! allocation larger than the input.

use crate::batch::{Batch, Op, Read, Space};
use crate::format::{
    BATCH_ENCODING_VERSION, BATCH_FLAG_OVERSIZED, BATCH_FLAG_VERSION, BATCH_HEADER_LEN,
    BATCH_MAGIC, BATCH_TRAILER_LEN,
};

/// Write kinds, the same numbers as the log's entry kinds.
const PUT_OBJECT: u8 = 1;
const REMOVE_OBJECT: u8 = 2;
const PUT_TASK: u8 = 3;
const REMOVE_TASK: u8 = 4;
const BIND: u8 = 5;
const UNBIND: u8 = 6;

/// Read kinds.
const READ_OBJECT: u8 = 1;
const READ_TASK: u8 = 2;
const READ_NAME: u8 = 3;
const READ_NEXT_NAME: u8 = 4;

/// Bits of a next-name read's presence byte.
const HAS_AFTER: u8 = 1;
const HAS_OBSERVED: u8 = 2;

/// The smallest encoded write (a removal: kind and id) and read (a next-name read with
/// neither name), which bound how many a given number of bytes can hold.
const MIN_WRITE_LEN: usize = 9;
const MIN_READ_LEN: usize = 2;

/// Why [`Batch::decode`] refused its input. Every variant says at which byte offset of the
/// input the problem lies ([`offset`](Self::offset)).
#[derive(Clone, Debug, PartialEq, Eq, thiserror::Error)]
pub enum BatchDecodeError {
    /// The input ends before the encoded batch does.
    #[error("the input ends at byte {offset}, at least {missing} bytes short of the whole batch")]
    Truncated {
        /// Where the input ends.
        offset: usize,
        /// How many more bytes the batch needs, at least.
        missing: usize,
    },
    /// The input does not start with [`BATCH_MAGIC`](crate::format::BATCH_MAGIC).
    #[error("byte 0: the input does not start with the batch magic \"DSBT\"")]
    BadMagic,
    /// The batch was encoded in a newer encoding version than this build reads.
    #[error(
        "byte 4: batch encoding version {found}, but this build reads version \
         {BATCH_ENCODING_VERSION}"
    )]
    UnsupportedVersion {
        /// The version byte found.
        found: u8,
    },
    /// A header field or a presence byte holds a value no encoder writes.
    #[error("byte {offset}: {reason}")]
    Malformed {
        /// Where the field starts.
        offset: usize,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The checksum does not match the bytes before it.
    #[error("byte {offset}: the checksum does not match the batch's bytes")]
    Checksum {
        /// Where the checksum starts.
        offset: usize,
    },
    /// A write has a kind no encoder writes.
    #[error("byte {offset}: unknown write kind {kind}")]
    UnknownWrite {
        /// Where the write starts.
        offset: usize,
        /// The kind byte found.
        kind: u8,
    },
    /// A read has a kind no encoder writes.
    #[error("byte {offset}: unknown read kind {kind}")]
    UnknownRead {
        /// Where the read starts.
        offset: usize,
        /// The kind byte found.
        kind: u8,
    },
    /// A field runs past the end of the writes and reads (the start of the checksum).
    #[error(
        "byte {offset}: a field of {needed} bytes runs past byte {end}, where the checksum starts"
    )]
    Overrun {
        /// Where the field starts.
        offset: usize,
        /// The field's length.
        needed: usize,
        /// Where the writes and reads must end.
        end: usize,
    },
    /// A name is not UTF-8.
    #[error("byte {offset}: a name is not UTF-8")]
    NotUtf8 {
        /// Where the name's bytes start.
        offset: usize,
    },
    /// The writes and reads the header counts end before the checksum.
    #[error(
        "byte {offset}: the writes and reads end here, but the checksum starts at byte {checksum}"
    )]
    TrailingBytes {
        /// Where the last read (or write) ends.
        offset: usize,
        /// Where the checksum starts.
        checksum: usize,
    },
}

impl BatchDecodeError {
    /// The byte offset in the input where the problem lies.
    pub fn offset(&self) -> usize {
        match *self {
            BatchDecodeError::BadMagic => 0,
            BatchDecodeError::UnsupportedVersion { .. } => 4,
            BatchDecodeError::Truncated { offset, .. }
            | BatchDecodeError::Malformed { offset, .. }
            | BatchDecodeError::Checksum { offset }
            | BatchDecodeError::UnknownWrite { offset, .. }
            | BatchDecodeError::UnknownRead { offset, .. }
            | BatchDecodeError::Overrun { offset, .. }
            | BatchDecodeError::NotUtf8 { offset }
            | BatchDecodeError::TrailingBytes { offset, .. } => offset,
        }
    }
}

fn put_u32(out: &mut Vec<u8>, n: u32) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_u64(out: &mut Vec<u8>, n: u64) {
    out.extend_from_slice(&n.to_le_bytes());
}

fn put_bytes(out: &mut Vec<u8>, bytes: &[u8]) {
    // Arena spans are 32-bit, so every name and value fits.
    put_u32(out, bytes.len() as u32);
    out.extend_from_slice(bytes);
}

fn count(n: usize, what: &str) -> u32 {
    u32::try_from(n).unwrap_or_else(|_| panic!("a batch of {n} {what} cannot be encoded"))
}

impl Batch {
    /// Appends the batch's encoding to `out`: its writes and reads in order, with every name
    /// and value, its explicit version, and a checksum. The encoding is self-delimiting
    /// ([`decode`](Self::decode) says how many bytes it took) and depends only on the
    /// batch's content, so equal batches encode to equal bytes.
    ///
    /// # Panics
    ///
    /// If the batch holds 2^32 writes or 2^32 reads or more.
    pub fn encode(&self, out: &mut Vec<u8>) {
        let start = out.len();
        out.extend_from_slice(&BATCH_MAGIC);
        out.push(BATCH_ENCODING_VERSION);
        let mut flags = 0;
        if self.version.is_some() {
            flags |= BATCH_FLAG_VERSION;
        }
        if self.oversized {
            flags |= BATCH_FLAG_OVERSIZED;
        }
        out.push(flags);
        out.extend_from_slice(&[0, 0]);
        put_u64(out, self.version.unwrap_or(0));
        put_u64(out, 0); // the total length, filled in below
        put_u32(out, count(self.ops.len(), "writes"));
        put_u32(out, count(self.reads.len(), "reads"));
        debug_assert_eq!(out.len() - start, BATCH_HEADER_LEN);
        for op in &self.ops {
            match *op {
                Op::Put {
                    space,
                    id,
                    type_name,
                    value,
                } => {
                    out.push(match space {
                        Space::Objects => PUT_OBJECT,
                        Space::Tasks => PUT_TASK,
                    });
                    put_u64(out, id);
                    put_bytes(out, self.bytes(type_name));
                    put_bytes(out, self.bytes(value));
                }
                Op::Remove { space, id } => {
                    out.push(match space {
                        Space::Objects => REMOVE_OBJECT,
                        Space::Tasks => REMOVE_TASK,
                    });
                    put_u64(out, id);
                }
                Op::Bind { name, id } => {
                    out.push(BIND);
                    put_u64(out, id);
                    put_bytes(out, self.bytes(name));
                }
                Op::Unbind { name } => {
                    out.push(UNBIND);
                    put_bytes(out, self.bytes(name));
                }
            }
        }
        for read in &self.reads {
            match *read {
                Read::Id { space, id, version } => {
                    out.push(match space {
                        Space::Objects => READ_OBJECT,
                        Space::Tasks => READ_TASK,
                    });
                    put_u64(out, id);
                    put_u64(out, version);
                }
                Read::Name { name, version } => {
                    out.push(READ_NAME);
                    put_u64(out, version);
                    put_bytes(out, self.bytes(name));
                }
                Read::NextName { after, observed } => {
                    out.push(READ_NEXT_NAME);
                    let mut present = 0;
                    if after.is_some() {
                        present |= HAS_AFTER;
                    }
                    if observed.is_some() {
                        present |= HAS_OBSERVED;
                    }
                    out.push(present);
                    for span in [after, observed].into_iter().flatten() {
                        put_bytes(out, self.bytes(span));
                    }
                }
            }
        }
        let total = (out.len() - start + BATCH_TRAILER_LEN) as u64;
        out[start + 16..start + 24].copy_from_slice(&total.to_le_bytes());
        let crc = crc32c::crc32c(&out[start..]);
        put_u32(out, crc);
    }

    /// Decodes a batch [`encode`](Self::encode) wrote at the start of `bytes`; returns it
    /// and the number of bytes its encoding took (anything after them is left alone).
    ///
    /// The decoded batch equals the encoded one and commits the same way; its values are
    /// copied, and the store aligns them when it writes them. Input that is not a whole,
    /// intact encoding is refused with a [`BatchDecodeError`] naming what is wrong and at
    /// which byte. Decoding never panics, and allocates in proportion to the input's size
    /// (at most about 16 bytes per input byte), whatever its counts and lengths claim.
    pub fn decode(bytes: &[u8]) -> Result<(Batch, usize), BatchDecodeError> {
        if bytes.len() < BATCH_HEADER_LEN + BATCH_TRAILER_LEN {
            if bytes.len() >= 4 && bytes[..4] != BATCH_MAGIC {
                return Err(BatchDecodeError::BadMagic);
            }
            return Err(BatchDecodeError::Truncated {
                offset: bytes.len(),
                missing: BATCH_HEADER_LEN + BATCH_TRAILER_LEN - bytes.len(),
            });
        }
        let u32_at = |at: usize| u32::from_le_bytes(bytes[at..at + 4].try_into().unwrap());
        let u64_at = |at: usize| u64::from_le_bytes(bytes[at..at + 8].try_into().unwrap());
        if bytes[..4] != BATCH_MAGIC {
            return Err(BatchDecodeError::BadMagic);
        }
        if bytes[4] != BATCH_ENCODING_VERSION {
            return Err(BatchDecodeError::UnsupportedVersion { found: bytes[4] });
        }
        let flags = bytes[5];
        if flags & !(BATCH_FLAG_VERSION | BATCH_FLAG_OVERSIZED) != 0 {
            return Err(BatchDecodeError::Malformed {
                offset: 5,
                reason: "the flags have unknown bits set",
            });
        }
        if bytes[6..8] != [0, 0] {
            return Err(BatchDecodeError::Malformed {
                offset: 6,
                reason: "reserved bytes are not zero",
            });
        }
        let version = u64_at(8);
        if flags & BATCH_FLAG_VERSION == 0 && version != 0 {
            return Err(BatchDecodeError::Malformed {
                offset: 8,
                reason: "a version is given but the flags say there is none",
            });
        }
        let total = u64_at(16);
        if total < (BATCH_HEADER_LEN + BATCH_TRAILER_LEN) as u64 {
            return Err(BatchDecodeError::Malformed {
                offset: 16,
                reason: "the total length is shorter than an empty batch",
            });
        }
        if total > bytes.len() as u64 {
            return Err(BatchDecodeError::Truncated {
                offset: bytes.len(),
                missing: usize::try_from(total - bytes.len() as u64).unwrap_or(usize::MAX),
            });
        }
        let total = total as usize;
        let end = total - BATCH_TRAILER_LEN;
        if u32_at(end) != crc32c::crc32c(&bytes[..end]) {
            return Err(BatchDecodeError::Checksum { offset: end });
        }
        let writes = u32_at(24) as usize;
        let reads = u32_at(28) as usize;
        let mut r = Reader {
            bytes: &bytes[..end],
            pos: BATCH_HEADER_LEN,
        };
        // Counts are only trusted as far as the bytes could hold them.
        let room = end - BATCH_HEADER_LEN;
        let mut batch = Batch {
            ops: Vec::with_capacity(writes.min(room / MIN_WRITE_LEN)),
            reads: Vec::with_capacity(reads.min(room / MIN_READ_LEN)),
            arena: Vec::with_capacity(room),
            oversized: flags & BATCH_FLAG_OVERSIZED != 0,
            version: (flags & BATCH_FLAG_VERSION != 0).then_some(version),
        };
        for _ in 0..writes {
            let at = r.pos;
            match r.u8()? {
                kind @ (PUT_OBJECT | PUT_TASK) => {
                    let id = r.u64()?;
                    let type_name = r.name()?;
                    let value = r.field()?;
                    if kind == PUT_OBJECT {
                        batch.put_object(id, type_name, value);
                    } else {
                        batch.put_task(id, type_name, value);
                    }
                }
                REMOVE_OBJECT => batch.remove_object(r.u64()?),
                REMOVE_TASK => batch.remove_task(r.u64()?),
                BIND => {
                    let id = r.u64()?;
                    batch.bind(r.name()?, id);
                }
                UNBIND => batch.unbind(r.name()?),
                kind => return Err(BatchDecodeError::UnknownWrite { offset: at, kind }),
            }
        }
        for _ in 0..reads {
            let at = r.pos;
            match r.u8()? {
                READ_OBJECT => {
                    let id = r.u64()?;
                    batch.read_object(id, r.u64()?);
                }
                READ_TASK => {
                    let id = r.u64()?;
                    batch.read_task(id, r.u64()?);
                }
                READ_NAME => {
                    let version = r.u64()?;
                    batch.read_name(r.name()?, version);
                }
                READ_NEXT_NAME => {
                    let present_at = r.pos;
                    let present = r.u8()?;
                    if present & !(HAS_AFTER | HAS_OBSERVED) != 0 {
                        return Err(BatchDecodeError::Malformed {
                            offset: present_at,
                            reason: "a next-name read's presence byte has unknown bits set",
                        });
                    }
                    let after = if present & HAS_AFTER != 0 {
                        Some(r.name()?)
                    } else {
                        None
                    };
                    let observed = if present & HAS_OBSERVED != 0 {
                        Some(r.name()?)
                    } else {
                        None
                    };
                    batch.read_next_name(after, observed);
                }
                kind => return Err(BatchDecodeError::UnknownRead { offset: at, kind }),
            }
        }
        if r.pos != end {
            return Err(BatchDecodeError::TrailingBytes {
                offset: r.pos,
                checksum: end,
            });
        }
        Ok((batch, total))
    }
}

/// A cursor over the writes and reads of an encoded batch; `bytes` ends where the checksum
/// starts.
struct Reader<'a> {
    bytes: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    fn take(&mut self, n: usize) -> Result<&'a [u8], BatchDecodeError> {
        if n > self.bytes.len() - self.pos {
            return Err(BatchDecodeError::Overrun {
                offset: self.pos,
                needed: n,
                end: self.bytes.len(),
            });
        }
        let b = &self.bytes[self.pos..self.pos + n];
        self.pos += n;
        Ok(b)
    }

    fn u8(&mut self) -> Result<u8, BatchDecodeError> {
        Ok(self.take(1)?[0])
    }

    fn u64(&mut self) -> Result<u64, BatchDecodeError> {
        Ok(u64::from_le_bytes(self.take(8)?.try_into().unwrap()))
    }

    /// A length-prefixed byte string.
    fn field(&mut self) -> Result<&'a [u8], BatchDecodeError> {
        let len = u32::from_le_bytes(self.take(4)?.try_into().unwrap());
        self.take(len as usize)
    }

    /// A length-prefixed UTF-8 string.
    fn name(&mut self) -> Result<&'a str, BatchDecodeError> {
        let at = self.pos + 4;
        let bytes = self.field()?;
        std::str::from_utf8(bytes).map_err(|_| BatchDecodeError::NotUtf8 { offset: at })
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    /// Recomputes the checksum of an encoding edited by hand.
    fn reseal(bytes: &mut [u8]) {
        let end = bytes.len() - BATCH_TRAILER_LEN;
        let crc = crc32c::crc32c(&bytes[..end]);
        bytes[end..].copy_from_slice(&crc.to_le_bytes());
    }

    fn sample() -> Batch {
        let mut b = Batch::new();
        b.put_object(7, "game::Player", b"alice");
        b.read_object(7, 3);
        b.remove_object(8);
        b.put_task(9, "game::Respawn", &[1, 2, 3]);
        b.remove_task(10);
        b.bind("player.alice", 7);
        b.read_name("player.bob", 0);
        b.unbind("player.bob");
        b.read_task(9, 0);
        b.read_next_name(Some("player."), None);
        b.read_next_name(None, Some("player.alice"));
        b.set_version(Some(1234));
        b
    }

    #[test]
    fn the_header_is_laid_out_as_documented() {
        let b = sample();
        let mut out = vec![0xAA; 3]; // appended after what is there
        b.encode(&mut out);
        let e = &out[3..];
        assert_eq!(&e[0..4], b"DSBT");
        assert_eq!(e[4], 1);
        assert_eq!(e[5], BATCH_FLAG_VERSION);
        assert_eq!(&e[6..8], &[0, 0]);
        assert_eq!(u64::from_le_bytes(e[8..16].try_into().unwrap()), 1234);
        assert_eq!(
            u64::from_le_bytes(e[16..24].try_into().unwrap()),
            e.len() as u64
        );
        assert_eq!(u32::from_le_bytes(e[24..28].try_into().unwrap()), 6);
        assert_eq!(u32::from_le_bytes(e[28..32].try_into().unwrap()), 5);
        // The first write: kind, id, type name, value.
        assert_eq!(e[32], PUT_OBJECT);
        assert_eq!(u64::from_le_bytes(e[33..41].try_into().unwrap()), 7);
        assert_eq!(u32::from_le_bytes(e[41..45].try_into().unwrap()), 12);
        assert_eq!(&e[45..57], b"game::Player");
        assert_eq!(u32::from_le_bytes(e[57..61].try_into().unwrap()), 5);
        assert_eq!(&e[61..66], b"alice");
        let end = e.len() - 4;
        assert_eq!(
            u32::from_le_bytes(e[end..].try_into().unwrap()),
            crc32c::crc32c(&e[..end])
        );
        let (back, used) = Batch::decode(e).unwrap();
        assert_eq!((back, used), (b, e.len()));
    }

    #[test]
    fn an_empty_batch_is_36_bytes() {
        let mut out = Vec::new();
        Batch::new().encode(&mut out);
        assert_eq!(out.len(), 36);
        assert_eq!(Batch::decode(&out).unwrap(), (Batch::new(), 36));
    }

    #[test]
    fn hand_edited_encodings_are_refused_where_they_break() {
        let mut good = Vec::new();
        sample().encode(&mut good);
        let edit = |f: &dyn Fn(&mut Vec<u8>)| {
            let mut b = good.clone();
            f(&mut b);
            reseal(&mut b);
            Batch::decode(&b).unwrap_err()
        };
        assert_eq!(
            edit(&|b| b[4] = 2),
            BatchDecodeError::UnsupportedVersion { found: 2 }
        );
        assert_eq!(edit(&|b| b[5] = 4).offset(), 5);
        assert_eq!(edit(&|b| b[7] = 1).offset(), 6);
        assert_eq!(
            edit(&|b| b[5] = 0).offset(),
            8,
            "a version without its flag"
        );
        assert_eq!(
            edit(&|b| b[32] = 9),
            BatchDecodeError::UnknownWrite {
                offset: 32,
                kind: 9
            }
        );
        // The type name's length made to run past the end.
        assert!(matches!(
            edit(&|b| b[41..45].copy_from_slice(&u32::MAX.to_le_bytes())),
            BatchDecodeError::Overrun { offset: 45, .. }
        ));
        assert_eq!(
            edit(&|b| b[45] = 0xFF),
            BatchDecodeError::NotUtf8 { offset: 45 }
        );
        // One write fewer than there are: the rest reads as reads, or is left over.
        assert!(matches!(
            edit(&|b| b[24] = 5),
            BatchDecodeError::UnknownRead { kind: UNBIND, .. }
        ));
        // One read more than there are.
        assert!(matches!(
            edit(&|b| b[28] = 6),
            BatchDecodeError::Overrun { .. }
        ));
        // One read fewer: bytes are left before the checksum.
        let end = good.len() - 4;
        assert!(matches!(
            edit(&|b| b[28] = 4),
            BatchDecodeError::TrailingBytes { checksum, .. } if checksum == end
        ));
        // Counts claiming billions of writes allocate nothing unbounded.
        edit(&|b| b[24..28].copy_from_slice(&u32::MAX.to_le_bytes()));
        // A total length beyond the input, and one too small.
        let mut long = good.clone();
        long[16..24].copy_from_slice(&u64::MAX.to_le_bytes());
        assert!(matches!(
            Batch::decode(&long),
            Err(BatchDecodeError::Truncated { .. })
        ));
        long[16..24].copy_from_slice(&35u64.to_le_bytes());
        assert_eq!(Batch::decode(&long).unwrap_err().offset(), 16);
        let mut bad = good.clone();
        bad[0] = b'X';
        assert_eq!(Batch::decode(&bad), Err(BatchDecodeError::BadMagic));
        bad = good.clone();
        bad[40] ^= 1;
        assert_eq!(
            Batch::decode(&bad),
            Err(BatchDecodeError::Checksum { offset: end })
        );
    }

    #[test]
    fn every_truncation_and_every_flipped_bit_is_refused() {
        let mut good = Vec::new();
        sample().encode(&mut good);
        for cut in 0..good.len() {
            let err = Batch::decode(&good[..cut]).unwrap_err();
            assert!(
                matches!(err, BatchDecodeError::Truncated { .. }),
                "cut at {cut}: {err}"
            );
            assert_eq!(err.offset(), cut);
        }
        for i in 0..good.len() {
            for bit in 0..8 {
                let mut b = good.clone();
                b[i] ^= 1 << bit;
                assert!(Batch::decode(&b).is_err(), "flip of bit {bit} at {i}");
            }
        }
    }

    #[derive(Clone, Debug)]
    enum Step {
        Put(bool, u64, String, Vec<u8>),
        Remove(bool, u64),
        Bind(String, u64),
        Unbind(String),
        ReadId(bool, u64, u64),
        ReadName(String, u64),
        ReadNext(Option<String>, Option<String>),
    }

    fn step() -> impl Strategy<Value = Step> {
        let name = "\\PC{0,12}";
        prop_oneof![
            (
                any::<bool>(),
                any::<u64>(),
                name,
                prop::collection::vec(any::<u8>(), 0..64)
            )
                .prop_map(|(o, id, n, v)| Step::Put(o, id, n, v)),
            (any::<bool>(), any::<u64>()).prop_map(|(o, id)| Step::Remove(o, id)),
            (name, any::<u64>()).prop_map(|(n, id)| Step::Bind(n, id)),
            name.prop_map(Step::Unbind),
            (any::<bool>(), any::<u64>(), any::<u64>())
                .prop_map(|(o, id, v)| Step::ReadId(o, id, v)),
            (name, any::<u64>()).prop_map(|(n, v)| Step::ReadName(n, v)),
            (prop::option::of(name), prop::option::of(name))
                .prop_map(|(a, o)| Step::ReadNext(a, o)),
        ]
    }

    fn build(steps: &[Step], version: Option<u64>) -> Batch {
        let mut b = Batch::new();
        for s in steps {
            match s {
                Step::Put(true, id, n, v) => b.put_object(*id, n, v),
                Step::Put(false, id, n, v) => b.put_task(*id, n, v),
                Step::Remove(true, id) => b.remove_object(*id),
                Step::Remove(false, id) => b.remove_task(*id),
                Step::Bind(n, id) => b.bind(n, *id),
                Step::Unbind(n) => b.unbind(n),
                Step::ReadId(true, id, v) => b.read_object(*id, *v),
                Step::ReadId(false, id, v) => b.read_task(*id, *v),
                Step::ReadName(n, v) => b.read_name(n, *v),
                Step::ReadNext(a, o) => b.read_next_name(a.as_deref(), o.as_deref()),
            }
        }
        b.set_version(version);
        b
    }

    proptest! {
        #[test]
        fn batches_round_trip(
            steps in prop::collection::vec(step(), 0..24),
            version in prop::option::of(any::<u64>()),
            tail in prop::collection::vec(any::<u8>(), 0..8),
        ) {
            let b = build(&steps, version);
            let mut out = Vec::new();
            b.encode(&mut out);
            let len = out.len();
            out.extend_from_slice(&tail);
            let (back, used) = Batch::decode(&out).unwrap();
            prop_assert_eq!(used, len);
            prop_assert_eq!(&back, &b);
            // Equal batches encode to equal bytes, however their arenas are laid out.
            let mut again = Vec::new();
            back.encode(&mut again);
            prop_assert_eq!(&again[..], &out[..len]);
        }

        #[test]
        fn hostile_bytes_never_panic(
            steps in prop::collection::vec(step(), 0..8),
            edits in prop::collection::vec((any::<usize>(), any::<u8>()), 1..6),
            cut in any::<usize>(),
            reseal_it in any::<bool>(),
        ) {
            let mut out = Vec::new();
            build(&steps, Some(5)).encode(&mut out);
            for (at, byte) in edits {
                let i = at % out.len();
                out[i] = byte;
            }
            if reseal_it {
                // Past the checksum, the structural checks must hold on their own.
                let total = out.len();
                out[16..24].copy_from_slice(&(total as u64).to_le_bytes());
                reseal(&mut out);
            }
            let cut = cut % (out.len() + 1);
            let _ = Batch::decode(&out[..cut]);
            let _ = Batch::decode(&out);
        }

        #[test]
        fn random_bytes_never_panic(bytes in prop::collection::vec(any::<u8>(), 0..256)) {
            let _ = Batch::decode(&bytes);
        }
    }
}
