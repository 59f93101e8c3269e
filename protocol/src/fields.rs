//! Reading and writing the field types frames are made of: big-endian integers, fixed
//! byte arrays, length-prefixed text, and a trailing body.

use crate::error::FrameError;

/// Reads fields from one frame's bytes (after its kind byte), naming the frame in errors.
pub(crate) struct Fields<'a> {
    frame: &'static str,
    rest: &'a [u8],
}

impl<'a> Fields<'a> {
    pub fn new(frame: &'static str, bytes: &'a [u8]) -> Fields<'a> {
        Fields { frame, rest: bytes }
    }

    fn take(&mut self, n: usize, field: &'static str) -> Result<&'a [u8], FrameError> {
        if self.rest.len() < n {
            return Err(FrameError::Truncated {
                frame: self.frame,
                field,
            });
        }
        let (head, tail) = self.rest.split_at(n);
        self.rest = tail;
        Ok(head)
    }

    pub fn u16(&mut self, field: &'static str) -> Result<u16, FrameError> {
        let b = self.take(2, field)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    pub fn u32(&mut self, field: &'static str) -> Result<u32, FrameError> {
        let b = self.take(4, field)?;
        Ok(u32::from_be_bytes(b.try_into().expect("4 bytes")))
    }

    pub fn u64(&mut self, field: &'static str) -> Result<u64, FrameError> {
        let b = self.take(8, field)?;
        Ok(u64::from_be_bytes(b.try_into().expect("8 bytes")))
    }

    pub fn u8(&mut self, field: &'static str) -> Result<u8, FrameError> {
        Ok(self.take(1, field)?[0])
    }

    pub fn array<const N: usize>(&mut self, field: &'static str) -> Result<[u8; N], FrameError> {
        Ok(self.take(N, field)?.try_into().expect("N bytes"))
    }

    /// A u16 length, then that many bytes of UTF-8.
    pub fn text(&mut self, field: &'static str) -> Result<String, FrameError> {
        let len = self.u16(field)? as usize;
        let bytes = self.take(len, field)?;
        match std::str::from_utf8(bytes) {
            Ok(s) => Ok(s.to_owned()),
            Err(_) => Err(FrameError::BadText {
                frame: self.frame,
                field,
            }),
        }
    }

    /// Everything left: the frame's last field.
    pub fn body(&mut self) -> Vec<u8> {
        std::mem::take(&mut self.rest).to_vec()
    }

    /// Checks that every byte was read.
    pub fn end(self) -> Result<(), FrameError> {
        if self.rest.is_empty() {
            Ok(())
        } else {
            Err(FrameError::Trailing {
                frame: self.frame,
                extra: self.rest.len(),
            })
        }
    }

    pub fn invalid(&self, field: &'static str, why: &'static str) -> FrameError {
        FrameError::BadValue {
            frame: self.frame,
            field,
            why,
        }
    }
}

/// Writes one frame: reserves the length prefix, writes the kind and fields, and fills the
/// prefix in when finished.
pub(crate) struct Writer<'a> {
    out: &'a mut Vec<u8>,
    start: usize,
}

impl<'a> Writer<'a> {
    pub fn new(out: &'a mut Vec<u8>, kind: u8) -> Writer<'a> {
        let start = out.len();
        out.extend_from_slice(&[0, 0, 0, 0, kind]);
        Writer { out, start }
    }

    pub fn u8(self, v: u8) -> Self {
        self.out.push(v);
        self
    }

    pub fn u16(self, v: u16) -> Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u32(self, v: u32) -> Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn u64(self, v: u64) -> Self {
        self.out.extend_from_slice(&v.to_be_bytes());
        self
    }

    pub fn bytes(self, v: &[u8]) -> Self {
        self.out.extend_from_slice(v);
        self
    }

    /// Text longer than `u16::MAX` bytes is cut at a character boundary: the protocol's
    /// texts (names, reasons) are short, and a sender must never produce a bad frame.
    pub fn text(self, v: &str) -> Self {
        let mut end = v.len().min(u16::MAX as usize);
        while !v.is_char_boundary(end) {
            end -= 1;
        }
        let v = &v[..end];
        self.u16(v.len() as u16).bytes(v.as_bytes())
    }

    /// Fills in the length prefix.
    pub fn finish(self) {
        let len = self.out.len() - self.start - 4;
        let len = u32::try_from(len).expect("a frame is under 4 GiB");
        self.out[self.start..self.start + 4].copy_from_slice(&len.to_be_bytes());
    }
}
