//! The wire protocol between a Darkstar for Rust server and its game clients.
//!
//! Every frame is a 4-byte big-endian length, then a 1-byte kind, then the kind's fields.
//! The same frames travel over TCP (back to back) and over WebSocket (one frame per binary
//! message). The book's "Protocol" chapter documents every byte; this crate is the one
//! implementation both sides share, and it depends on nothing but `thiserror`, so a game
//! client does not pull in the server.
//!
//! ```
//! use darkstar_protocol::{ClientFrame, Decoder, PROTOCOL_VERSION};
//!
//! let mut wire = Vec::new();
//! ClientFrame::Hello { min_version: 1, max_version: PROTOCOL_VERSION }.encode(&mut wire);
//! ClientFrame::Message { seq: 1, body: b"hi".to_vec() }.encode(&mut wire);
//!
//! let decoder = Decoder::new(64 * 1024);
//! let (first, used) = decoder.decode::<ClientFrame>(&wire)?.expect("a whole frame");
//! assert!(matches!(first, ClientFrame::Hello { .. }));
//! let (second, _) = decoder.decode::<ClientFrame>(&wire[used..])?.expect("a whole frame");
//! assert_eq!(second, ClientFrame::Message { seq: 1, body: b"hi".to_vec() });
//! # Ok::<(), darkstar_protocol::FrameError>(())
//! ```

#![warn(missing_docs)]

mod client;
mod decoder;
mod error;
mod fields;
mod reason;
mod server;

pub use client::ClientFrame;
pub use decoder::{Decoder, Frame, HEADER_LEN};
pub use error::FrameError;
pub use reason::DisconnectReason;
pub use server::ServerFrame;

/// The newest protocol version this crate speaks.
pub const PROTOCOL_VERSION: u16 = 1;

/// The four bytes that open a client's `Hello`, so a server can tell a stray connection
/// (an HTTP request, a port scanner) from a game client at once.
pub const MAGIC: [u8; 4] = *b"DKST";

/// Length of a reconnection key.
pub const KEY_LEN: usize = 16;

/// The most bytes a data frame (`Message`, `ChannelMessage`) adds to its body: length, kind
/// and the fields before the body.
pub const MAX_DATA_FRAME_OVERHEAD: usize = 4 + 1 + 8 + 8 + 8;

/// The frame size a server accepts unless configured otherwise (kind and fields, after the
/// length).
pub const DEFAULT_MAX_FRAME: u32 = 64 * 1024;
