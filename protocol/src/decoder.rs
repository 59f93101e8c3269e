//! Splitting a byte stream into frames.

use crate::error::FrameError;

/// Bytes before a frame's fields: the 4-byte length and the kind byte.
pub const HEADER_LEN: usize = 5;

/// One direction's frames: [`ClientFrame`](crate::ClientFrame) or
/// [`ServerFrame`](crate::ServerFrame).
pub trait Frame: Sized {
    /// Decodes the fields of a frame of kind `kind` (everything after the kind byte).
    fn decode_kind(kind: u8, fields: &[u8]) -> Result<Self, FrameError>;
    /// Appends the frame, length prefix included.
    fn encode(&self, out: &mut Vec<u8>);
}

/// Decodes frames from the front of a buffer, refusing any longer than a limit before
/// reading its body (so a hostile length costs nothing).
#[derive(Debug, Clone, Copy)]
pub struct Decoder {
    max_frame: u32,
}

impl Decoder {
    /// A decoder that refuses frames whose length (kind and fields) is over `max_frame`.
    pub fn new(max_frame: u32) -> Decoder {
        Decoder { max_frame }
    }

    /// The limit.
    pub fn max_frame(&self) -> u32 {
        self.max_frame
    }

    /// How many bytes the frame at the front of `buf` needs in all, once its length is
    /// known: `Ok(None)` while fewer than 4 bytes are there.
    pub fn frame_len(&self, buf: &[u8]) -> Result<Option<usize>, FrameError> {
        let Some(prefix) = buf.get(..4) else {
            return Ok(None);
        };
        let len = u32::from_be_bytes(prefix.try_into().expect("4 bytes"));
        if len == 0 {
            return Err(FrameError::Empty);
        }
        if len > self.max_frame {
            return Err(FrameError::TooLarge {
                len,
                max: self.max_frame,
            });
        }
        Ok(Some(4 + len as usize))
    }

    /// The frame at the front of `buf` and how many bytes it took, or `Ok(None)` if `buf`
    /// does not hold all of it yet.
    pub fn decode<F: Frame>(&self, buf: &[u8]) -> Result<Option<(F, usize)>, FrameError> {
        let Some(total) = self.frame_len(buf)? else {
            return Ok(None);
        };
        let Some(frame) = buf.get(..total) else {
            return Ok(None);
        };
        let decoded = F::decode_kind(frame[4], &frame[HEADER_LEN..])?;
        Ok(Some((decoded, total)))
    }

    /// Decodes `buf` as exactly one frame (a WebSocket message).
    pub fn decode_exact<F: Frame>(&self, buf: &[u8]) -> Result<F, FrameError> {
        match self.decode(buf)? {
            Some((frame, used)) if used == buf.len() => Ok(frame),
            Some((_, used)) => Err(FrameError::Trailing {
                frame: "(message)",
                extra: buf.len() - used,
            }),
            None => Err(FrameError::Truncated {
                frame: "(message)",
                field: "length",
            }),
        }
    }
}
