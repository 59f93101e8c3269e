//! The stored form of a scheduled task: a fixed header, then the archived arguments.
//!
//! ```text
//! offset  size  field
//!      0     8  due: milliseconds since the Unix epoch, little endian
//!      8     8  period in milliseconds; 0 for a one-shot task
//!     16     8  affinity key; u64::MAX for none
//!     24     8  reserved, zero
//!     32     -  the task's rkyv archive (16-byte aligned, as the value is)
//! ```
//!
//! Wall-clock time is stored, not a monotonic instant, because the due time must mean the
//! same thing after a restart.

use rkyv::util::AlignedVec;

/// Length of the header before the arguments.
pub(crate) const HEADER_LEN: usize = 32;
const NO_AFFINITY: u64 = u64::MAX;

/// The header of a stored task.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) struct TaskHeader {
    pub due_ms: u64,
    pub period_ms: u64,
    pub affinity: Option<u64>,
}

/// Why a stored task record could not be read.
#[derive(Debug, thiserror::Error)]
#[error("stored task record of {len} bytes is shorter than its {HEADER_LEN}-byte header")]
pub(crate) struct ShortRecord {
    len: usize,
}

impl TaskHeader {
    /// The record: this header followed by `args`.
    pub fn encode(&self, args: &[u8]) -> AlignedVec {
        let mut out = AlignedVec::with_capacity(HEADER_LEN + args.len());
        out.extend_from_slice(&self.due_ms.to_le_bytes());
        out.extend_from_slice(&self.period_ms.to_le_bytes());
        out.extend_from_slice(&self.affinity.unwrap_or(NO_AFFINITY).to_le_bytes());
        out.extend_from_slice(&0u64.to_le_bytes());
        debug_assert_eq!(out.len(), HEADER_LEN);
        out.extend_from_slice(args);
        out
    }

    /// The header and the arguments of a stored record.
    pub fn decode(record: &[u8]) -> Result<(TaskHeader, &[u8]), ShortRecord> {
        if record.len() < HEADER_LEN {
            return Err(ShortRecord { len: record.len() });
        }
        let word = |i: usize| u64::from_le_bytes(record[i * 8..i * 8 + 8].try_into().unwrap());
        let affinity = word(2);
        let header = TaskHeader {
            due_ms: word(0),
            period_ms: word(1),
            affinity: (affinity != NO_AFFINITY).then_some(affinity),
        };
        Ok((header, &record[HEADER_LEN..]))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn round_trips_and_keeps_arguments_aligned() {
        let h = TaskHeader {
            due_ms: 1_700_000_000_123,
            period_ms: 250,
            affinity: Some(7),
        };
        let rec = h.encode(&[1, 2, 3]);
        let (back, args) = TaskHeader::decode(&rec).unwrap();
        assert_eq!(back, h);
        assert_eq!(args, &[1, 2, 3]);
        assert_eq!(args.as_ptr() as usize % 16, 0);
        let none = TaskHeader {
            affinity: None,
            ..h
        };
        assert_eq!(TaskHeader::decode(&none.encode(&[])).unwrap().0, none);
        assert!(TaskHeader::decode(&rec[..31]).is_err());
    }
}
