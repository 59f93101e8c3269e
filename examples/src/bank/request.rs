//! The bank's client messages: a transfer request and its reply, as fixed-size binary
//! frames inside session messages (all integers big-endian).
//!
//! ```text
//! request (24 bytes): id u64 | from u32 | to u32 | amount i64
//! reply    (9 bytes): id u64 | outcome u8
//! ```
//!
//! `from` and `to` are account numbers (indexes into the bank's directory); the reply
//! carries the request's `id` so a client can pipeline requests.

use thiserror::Error;

/// A transfer asked for by a client.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferRequest {
    /// Chosen by the client, returned in the reply.
    pub id: u64,
    /// Account number to debit.
    pub from: u32,
    /// Account number to credit.
    pub to: u32,
    /// Amount to move.
    pub amount: i64,
}

/// What became of a request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub enum Outcome {
    /// The money moved, durably.
    Moved = 0,
    /// Refused: not enough funds, a negative amount, or one account twice.
    Refused = 1,
    /// An account number past the last account.
    NoSuchAccount = 2,
    /// The message was not a transfer request.
    Malformed = 3,
}

/// The answer to one request.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct TransferReply {
    /// The request's id (0 for a malformed request).
    pub id: u64,
    /// What happened.
    pub outcome: Outcome,
}

/// A message that is not what it should be.
#[derive(Debug, Error, PartialEq, Eq)]
pub enum RequestError {
    /// Wrong length.
    #[error("a bank {what} is {want} bytes, got {got}")]
    Length {
        /// "request" or "reply".
        what: &'static str,
        /// Its size.
        want: usize,
        /// The message's size.
        got: usize,
    },
    /// An outcome byte no version of the bank sends.
    #[error("unknown transfer outcome {0}")]
    Outcome(u8),
}

impl TransferRequest {
    /// Size of an encoded request.
    pub const LEN: usize = 24;

    /// The request as a session message.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0; Self::LEN];
        b[0..8].copy_from_slice(&self.id.to_be_bytes());
        b[8..12].copy_from_slice(&self.from.to_be_bytes());
        b[12..16].copy_from_slice(&self.to.to_be_bytes());
        b[16..24].copy_from_slice(&self.amount.to_be_bytes());
        b
    }

    /// Reads a request from a session message.
    pub fn decode(b: &[u8]) -> Result<TransferRequest, RequestError> {
        let b: &[u8; Self::LEN] = b.try_into().map_err(|_| RequestError::Length {
            what: "request",
            want: Self::LEN,
            got: b.len(),
        })?;
        Ok(TransferRequest {
            id: u64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            from: u32::from_be_bytes(b[8..12].try_into().expect("4 bytes")),
            to: u32::from_be_bytes(b[12..16].try_into().expect("4 bytes")),
            amount: i64::from_be_bytes(b[16..24].try_into().expect("8 bytes")),
        })
    }
}

impl TransferReply {
    /// Size of an encoded reply.
    pub const LEN: usize = 9;

    /// The reply as a session message.
    pub fn encode(&self) -> [u8; Self::LEN] {
        let mut b = [0; Self::LEN];
        b[0..8].copy_from_slice(&self.id.to_be_bytes());
        b[8] = self.outcome as u8;
        b
    }

    /// Reads a reply from a session message.
    pub fn decode(b: &[u8]) -> Result<TransferReply, RequestError> {
        let b: &[u8; Self::LEN] = b.try_into().map_err(|_| RequestError::Length {
            what: "reply",
            want: Self::LEN,
            got: b.len(),
        })?;
        let outcome = match b[8] {
            0 => Outcome::Moved,
            1 => Outcome::Refused,
            2 => Outcome::NoSuchAccount,
            3 => Outcome::Malformed,
            n => return Err(RequestError::Outcome(n)),
        };
        Ok(TransferReply {
            id: u64::from_be_bytes(b[0..8].try_into().expect("8 bytes")),
            outcome,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn requests_and_replies_round_trip() {
        let r = TransferRequest {
            id: u64::MAX - 3,
            from: 7,
            to: 99_999,
            amount: -5,
        };
        assert_eq!(TransferRequest::decode(&r.encode()), Ok(r));
        for outcome in [
            Outcome::Moved,
            Outcome::Refused,
            Outcome::NoSuchAccount,
            Outcome::Malformed,
        ] {
            let reply = TransferReply { id: 12, outcome };
            assert_eq!(TransferReply::decode(&reply.encode()), Ok(reply));
        }
    }

    #[test]
    fn bad_messages_are_named() {
        let e = TransferRequest::decode(b"hello").unwrap_err();
        assert_eq!(e.to_string(), "a bank request is 24 bytes, got 5");
        let mut b = TransferReply {
            id: 1,
            outcome: Outcome::Moved,
        }
        .encode();
        b[8] = 9;
        assert_eq!(
            TransferReply::decode(&b).unwrap_err().to_string(),
            "unknown transfer outcome 9"
        );
    }
}
