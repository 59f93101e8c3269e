//! A record of the shared commit log: what one node appended at one position, the batches
//! of its cores (and its id reservations) grouped together. The book's "Cluster log
//! format" section documents the same bytes; keep the two in step.
//!
//! ```text
//! header (24 bytes, integers little-endian)
//!   0..4   magic "DSLR"
//!   4..6   format version (1)
//!   6..8   entry count
//!   8..16  proposer's incarnation (its run's number, from the nodes table)
//!   16..20 body length in bytes
//!   20..24 crc32c of header bytes 4..20, then the body
//! body: the entries, one after another
//!   batch:       kind 1 (u8), core (u16), u32 length + the store batch's wire bytes
//!                (its writes, read versions and version), its deliveries, then the
//!                tasks it stored: u32 count, and per task its id (u64), due time in
//!                Unix milliseconds (u64), and affinity (u8 0 for none, or 1 and a u64)
//!   reservation: kind 2 (u8), id count (u64)
//! ```

use darkstar_sdk::Delivery;
use darkstar_storage::Batch;

use super::cursor::{put_bytes, Cursor};
use super::deliveries;
use super::error::RecordError;
use crate::changes::Scheduled;

/// The first bytes of every record.
pub(crate) const MAGIC: [u8; 4] = *b"DSLR";
/// The record format this build writes and the newest it reads.
pub(crate) const FORMAT: u16 = 1;
/// Bytes before the first entry.
pub(crate) const HEADER_LEN: usize = 24;
/// Most entries in one record: a node's position bookkeeping counts entries in 16 bits.
pub(crate) const MAX_ENTRIES: usize = u16::MAX as usize;

const BATCH: u8 = 1;
const RESERVE: u8 = 2;

/// One entry of a record.
#[derive(Debug)]
pub(crate) enum Entry {
    /// A core's batch: validated and applied by every node like a local commit.
    Batch {
        core: u16,
        batch: Batch,
        deliveries: Vec<Delivery>,
        scheduled: Vec<Scheduled>,
    },
    /// The proposer takes the next `count` ids of the cluster's id space.
    Reserve { count: u64 },
}

/// A decoded record.
#[derive(Debug)]
pub(crate) struct Record {
    pub incarnation: u64,
    pub entries: Vec<Entry>,
}

/// Appends a batch entry.
pub(crate) fn put_batch(
    core: usize,
    batch: &Batch,
    sent: &[Delivery],
    scheduled: &[Scheduled],
    out: &mut Vec<u8>,
) {
    out.push(BATCH);
    let core = u16::try_from(core).expect("fewer than 64k cores");
    out.extend_from_slice(&core.to_le_bytes());
    let mut encoded = Vec::new();
    batch.encode(&mut encoded);
    put_bytes(out, &encoded);
    deliveries::encode(sent, out);
    let n = u32::try_from(scheduled.len()).expect("fewer than 4G tasks");
    out.extend_from_slice(&n.to_le_bytes());
    for s in scheduled {
        out.extend_from_slice(&s.id.to_le_bytes());
        out.extend_from_slice(&s.due_ms.to_le_bytes());
        match s.affinity {
            None => out.push(0),
            Some(a) => {
                out.push(1);
                out.extend_from_slice(&a.to_le_bytes());
            }
        }
    }
}

/// Appends a reservation entry.
pub(crate) fn put_reserve(count: u64, out: &mut Vec<u8>) {
    out.push(RESERVE);
    out.extend_from_slice(&count.to_le_bytes());
}

/// A whole record: the header, then `body` (holding `entries` entries).
pub(crate) fn seal(incarnation: u64, entries: usize, body: &[u8]) -> Vec<u8> {
    assert!(entries > 0 && entries <= MAX_ENTRIES, "{entries} entries");
    let len = u32::try_from(body.len()).expect("a record fits in 4 GiB");
    let mut out = Vec::with_capacity(HEADER_LEN + body.len());
    out.extend_from_slice(&MAGIC);
    out.extend_from_slice(&FORMAT.to_le_bytes());
    out.extend_from_slice(&(entries as u16).to_le_bytes());
    out.extend_from_slice(&incarnation.to_le_bytes());
    out.extend_from_slice(&len.to_le_bytes());
    let crc = checksum(&out[4..20], body);
    out.extend_from_slice(&crc.to_le_bytes());
    out.extend_from_slice(body);
    out
}

/// The record checksum: the header fields after the magic, then the body, so a damaged
/// count or incarnation is caught like a damaged batch.
fn checksum(header: &[u8], body: &[u8]) -> u32 {
    crc32c::crc32c_append(crc32c::crc32c(header), body)
}

/// Reads a record; any damage is an error saying what and where.
pub(crate) fn decode(bytes: &[u8]) -> Result<Record, RecordError> {
    let mut c = Cursor::new(bytes);
    if c.take(4, "magic")? != MAGIC {
        return Err(RecordError::Magic);
    }
    let format = c.u16("format version")?;
    if format > FORMAT || format == 0 {
        return Err(RecordError::Newer {
            found: format,
            supported: FORMAT,
        });
    }
    let count = c.u16("entry count")? as usize;
    let incarnation = c.u64("incarnation")?;
    let len = c.u32("body length")? as usize;
    let stored = c.u32("checksum")?;
    let body = c.take(len, "body")?;
    if !c.is_empty() {
        return Err(RecordError::Malformed {
            what: "bytes after the body",
            offset: HEADER_LEN + len,
        });
    }
    let computed = checksum(&bytes[4..20], body);
    if computed != stored {
        return Err(RecordError::Checksum { stored, computed });
    }
    let mut c = Cursor::new(body);
    let mut entries = Vec::with_capacity(count);
    for index in 0..count {
        let at = c.offset();
        let entry = match c.u8("entry kind")? {
            BATCH => {
                let core = c.u16("core")?;
                let encoded = c.bytes("batch")?;
                let (batch, used) = Batch::decode(encoded).map_err(|e| RecordError::Batch {
                    index,
                    reason: e.to_string(),
                })?;
                if used != encoded.len() {
                    return Err(RecordError::Batch {
                        index,
                        reason: format!("{} bytes after the batch", encoded.len() - used),
                    });
                }
                let deliveries = deliveries::decode(&mut c)?;
                let n = c.u32("stored task count")? as usize;
                let mut scheduled = Vec::with_capacity(n.min(1024));
                for _ in 0..n {
                    let id = c.u64("stored task id")?;
                    let due_ms = c.u64("due time")?;
                    let at = c.offset();
                    let affinity = match c.u8("affinity flag")? {
                        0 => None,
                        1 => Some(c.u64("affinity")?),
                        _ => {
                            return Err(RecordError::Malformed {
                                what: "an affinity flag that is neither 0 nor 1",
                                offset: HEADER_LEN + at,
                            })
                        }
                    };
                    scheduled.push(Scheduled {
                        id,
                        due_ms,
                        affinity,
                    });
                }
                Entry::Batch {
                    core,
                    batch,
                    deliveries,
                    scheduled,
                }
            }
            RESERVE => Entry::Reserve {
                count: c.u64("id count")?,
            },
            _ => {
                return Err(RecordError::Malformed {
                    what: "an unknown entry kind",
                    offset: HEADER_LEN + at,
                })
            }
        };
        entries.push(entry);
    }
    if !c.is_empty() {
        return Err(RecordError::Malformed {
            what: "bytes after the last entry",
            offset: HEADER_LEN + c.offset(),
        });
    }
    Ok(Record {
        incarnation,
        entries,
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn sample() -> Vec<u8> {
        let mut batch = Batch::new();
        batch.put_object(5, "bank.Account", &[1u8; 16]);
        batch.read_object(6, 3);
        batch.set_version(Some(1 << 40 | 1));
        let mut body = Vec::new();
        put_batch(
            1,
            &batch,
            &[Delivery::Message {
                session: 9,
                body: b"ok".to_vec(),
            }],
            &[Scheduled {
                id: 70000,
                due_ms: 1_700_000_000_000,
                affinity: Some(4),
            }],
            &mut body,
        );
        put_reserve(1 << 20, &mut body);
        seal(3, 2, &body)
    }

    #[test]
    fn a_record_comes_back_whole() {
        let r = decode(&sample()).unwrap();
        assert_eq!(r.incarnation, 3);
        assert_eq!(r.entries.len(), 2);
        match &r.entries[0] {
            Entry::Batch {
                core,
                batch,
                deliveries,
                scheduled,
            } => {
                assert_eq!(*core, 1);
                assert_eq!(batch.version(), Some(1 << 40 | 1));
                assert_eq!(deliveries.len(), 1);
                assert_eq!(scheduled[0].affinity, Some(4));
            }
            other => panic!("{other:?}"),
        }
        assert!(matches!(r.entries[1], Entry::Reserve { count } if count == 1 << 20));
    }

    #[test]
    fn damage_is_reported_never_applied() {
        let good = sample();
        for cut in 0..good.len() {
            assert!(decode(&good[..cut]).is_err(), "cut at {cut}");
        }
        for at in 0..good.len() {
            let mut bad = good.clone();
            bad[at] ^= 0x40;
            // A flipped bit in the header's counts may still decode into an error of
            // another kind; it never decodes into a record.
            assert!(decode(&bad).is_err(), "flip at {at}");
        }
        let mut newer = good.clone();
        newer[4] = 2;
        assert_eq!(
            decode(&newer).unwrap_err(),
            RecordError::Newer {
                found: 2,
                supported: 1
            }
        );
    }
}
