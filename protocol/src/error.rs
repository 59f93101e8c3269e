//! Why bytes are not a frame.

/// A frame that cannot be decoded. Each says what was wrong and where, so the peer can be
/// told before it is disconnected.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum FrameError {
    /// The length prefix announces more than the receiver accepts.
    #[error("frame of {len} bytes is over the limit of {max} bytes")]
    TooLarge {
        /// The announced length.
        len: u32,
        /// The receiver's limit.
        max: u32,
    },
    /// The length prefix is zero: there is not even a kind byte.
    #[error("frame of length 0 has no kind byte")]
    Empty,
    /// The kind byte names no frame this side receives.
    #[error("unknown frame kind 0x{kind:02x}")]
    UnknownKind {
        /// The kind byte.
        kind: u8,
    },
    /// The frame ends inside a field.
    #[error("frame {frame} ends inside its field `{field}`")]
    Truncated {
        /// The frame's name.
        frame: &'static str,
        /// The field being read.
        field: &'static str,
    },
    /// Bytes are left over after the last field.
    #[error("frame {frame} has {extra} bytes after its last field")]
    Trailing {
        /// The frame's name.
        frame: &'static str,
        /// How many.
        extra: usize,
    },
    /// A text field is not UTF-8.
    #[error("field `{field}` of frame {frame} is not UTF-8")]
    BadText {
        /// The frame's name.
        frame: &'static str,
        /// The field.
        field: &'static str,
    },
    /// A field holds a value the protocol does not allow.
    #[error("field `{field}` of frame {frame} is invalid: {why}")]
    BadValue {
        /// The frame's name.
        frame: &'static str,
        /// The field.
        field: &'static str,
        /// What is wrong with it.
        why: &'static str,
    },
}
