//! Frames a client sends.

use crate::decoder::Frame;
use crate::error::FrameError;
use crate::fields::{Fields, Writer};
use crate::{KEY_LEN, MAGIC};

/// A frame from a client to a server.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ClientFrame {
    /// `0x01`, the first frame of every connection: the versions the client speaks.
    Hello {
        /// The oldest version it speaks.
        min_version: u16,
        /// The newest version it speaks.
        max_version: u16,
    },
    /// `0x02`: log in with a name and a password (ignored by a development server).
    Login {
        /// The account name.
        name: String,
        /// The password.
        password: String,
    },
    /// `0x03`: take back a session after a dropped connection.
    Resume {
        /// The session, as `LoginAccepted` gave it.
        session: u64,
        /// The reconnection key, as `LoginAccepted` gave it.
        key: [u8; KEY_LEN],
        /// The sequence number of the last server frame the client received.
        received: u64,
    },
    /// `0x04`: a message for the session's listener.
    Message {
        /// This client's sequence number for it: 1, 2, 3, ... over the whole session.
        seq: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// `0x05`: a message for a channel the session is in.
    ChannelMessage {
        /// This client's sequence number for it (shared with `Message`).
        seq: u64,
        /// The channel, as `Joined` gave it.
        channel: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// `0x06`: the client has received every server frame up to `received`, which the
    /// server may now forget.
    Ack {
        /// The sequence number of the last server frame received.
        received: u64,
    },
    /// `0x07`: end the session gracefully.
    Logout,
}

const HELLO: u8 = 0x01;
const LOGIN: u8 = 0x02;
const RESUME: u8 = 0x03;
const MESSAGE: u8 = 0x04;
const CHANNEL_MESSAGE: u8 = 0x05;
const ACK: u8 = 0x06;
const LOGOUT: u8 = 0x07;

impl Frame for ClientFrame {
    fn decode_kind(kind: u8, bytes: &[u8]) -> Result<ClientFrame, FrameError> {
        let frame = match kind {
            HELLO => {
                let mut f = Fields::new("Hello", bytes);
                let magic: [u8; 4] = f.array("magic")?;
                if magic != MAGIC {
                    return Err(f.invalid("magic", "not a Darkstar client (expected \"DKST\")"));
                }
                let min_version = f.u16("min_version")?;
                let max_version = f.u16("max_version")?;
                if min_version > max_version {
                    return Err(f.invalid("min_version", "above max_version"));
                }
                f.end()?;
                ClientFrame::Hello {
                    min_version,
                    max_version,
                }
            }
            LOGIN => {
                let mut f = Fields::new("Login", bytes);
                let name = f.text("name")?;
                let password = f.text("password")?;
                f.end()?;
                ClientFrame::Login { name, password }
            }
            RESUME => {
                let mut f = Fields::new("Resume", bytes);
                let session = f.u64("session")?;
                let key = f.array("key")?;
                let received = f.u64("received")?;
                f.end()?;
                ClientFrame::Resume {
                    session,
                    key,
                    received,
                }
            }
            MESSAGE => {
                let mut f = Fields::new("Message", bytes);
                let seq = f.u64("seq")?;
                ClientFrame::Message {
                    seq,
                    body: f.body(),
                }
            }
            CHANNEL_MESSAGE => {
                let mut f = Fields::new("ChannelMessage", bytes);
                let seq = f.u64("seq")?;
                let channel = f.u64("channel")?;
                ClientFrame::ChannelMessage {
                    seq,
                    channel,
                    body: f.body(),
                }
            }
            ACK => {
                let mut f = Fields::new("Ack", bytes);
                let received = f.u64("received")?;
                f.end()?;
                ClientFrame::Ack { received }
            }
            LOGOUT => {
                Fields::new("Logout", bytes).end()?;
                ClientFrame::Logout
            }
            kind => return Err(FrameError::UnknownKind { kind }),
        };
        Ok(frame)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ClientFrame::Hello {
                min_version,
                max_version,
            } => Writer::new(out, HELLO)
                .bytes(&MAGIC)
                .u16(*min_version)
                .u16(*max_version)
                .finish(),
            ClientFrame::Login { name, password } => {
                Writer::new(out, LOGIN).text(name).text(password).finish()
            }
            ClientFrame::Resume {
                session,
                key,
                received,
            } => Writer::new(out, RESUME)
                .u64(*session)
                .bytes(key)
                .u64(*received)
                .finish(),
            ClientFrame::Message { seq, body } => {
                Writer::new(out, MESSAGE).u64(*seq).bytes(body).finish()
            }
            ClientFrame::ChannelMessage { seq, channel, body } => Writer::new(out, CHANNEL_MESSAGE)
                .u64(*seq)
                .u64(*channel)
                .bytes(body)
                .finish(),
            ClientFrame::Ack { received } => Writer::new(out, ACK).u64(*received).finish(),
            ClientFrame::Logout => Writer::new(out, LOGOUT).finish(),
        }
    }
}

impl ClientFrame {
    /// Appends this frame, length prefix included, to `out`.
    pub fn encode(&self, out: &mut Vec<u8>) {
        Frame::encode(self, out)
    }

    /// This frame alone, length prefix included.
    pub fn to_bytes(&self) -> Vec<u8> {
        let mut out = Vec::new();
        self.encode(&mut out);
        out
    }
}
