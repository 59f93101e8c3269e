//! Frames a server sends.

use crate::decoder::Frame;
use crate::error::FrameError;
use crate::fields::{Fields, Writer};
use crate::reason::DisconnectReason;
use crate::KEY_LEN;

/// A frame from a server to a client.
///
/// The frames that carry game data (`Message`, `Joined`, `Left`, `ChannelMessage`) are
/// numbered 1, 2, 3, ... over the whole session by `seq`, which the client acknowledges and
/// names when it resumes, so none is lost or repeated across a reconnection.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ServerFrame {
    /// `0x81`, the answer to `Hello`: the version both sides now speak.
    Welcome {
        /// The version chosen.
        version: u16,
        /// The largest frame (after the length prefix) the server accepts.
        max_frame: u32,
    },
    /// `0x82`: the session is open.
    LoginAccepted {
        /// The session's id.
        session: u64,
        /// The key to resume it after a dropped connection. Secret, like a password.
        key: [u8; KEY_LEN],
        /// How long the server keeps the session for a dropped client, in milliseconds.
        resume_window_ms: u32,
    },
    /// `0x83`: the login is refused; the connection closes.
    LoginRefused {
        /// Why, from the authenticator or the game.
        reason: String,
    },
    /// `0x84`: the session is resumed on this connection.
    Resumed {
        /// The sequence number of the last client message the server has handled; the
        /// client sends the later ones again.
        handled: u64,
    },
    /// `0x85`: the session cannot be resumed (unknown, wrong key, or gone); the
    /// connection closes.
    ResumeRefused {
        /// Why.
        reason: String,
    },
    /// `0x86`: a message from the game to this session.
    Message {
        /// Its sequence number.
        seq: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// `0x87`: the session joined a channel.
    Joined {
        /// Its sequence number.
        seq: u64,
        /// The channel's id, used to send to it.
        channel: u64,
        /// The channel's name.
        name: String,
    },
    /// `0x88`: the session left a channel.
    Left {
        /// Its sequence number.
        seq: u64,
        /// The channel's id.
        channel: u64,
    },
    /// `0x89`: a message on a channel the session is in.
    ChannelMessage {
        /// Its sequence number.
        seq: u64,
        /// The channel's id.
        channel: u64,
        /// The session that sent it, or 0 if the game did.
        sender: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// `0x8a`: the server has handled (committed) every client message up to `handled`;
    /// the client may forget them.
    Ack {
        /// The sequence number of the last client message handled.
        handled: u64,
    },
    /// `0x8b`: the server ends the connection (and, unless it is resumable, the session).
    Disconnect {
        /// Why, for programs.
        reason: DisconnectReason,
        /// Why, for people.
        text: String,
    },
    /// `0x8c`, from a cluster node: log in (or resume) at that node instead, where the
    /// player's session lives.
    Redirect {
        /// The server's host.
        host: String,
        /// Its port.
        port: u16,
    },
    /// `0x8d`, from a cluster node: the session moved; resume it at that node, with `key`.
    Relocate {
        /// The server's host.
        host: String,
        /// Its port.
        port: u16,
        /// The key to resume with there.
        key: [u8; KEY_LEN],
    },
}

const WELCOME: u8 = 0x81;
const LOGIN_ACCEPTED: u8 = 0x82;
const LOGIN_REFUSED: u8 = 0x83;
const RESUMED: u8 = 0x84;
const RESUME_REFUSED: u8 = 0x85;
const MESSAGE: u8 = 0x86;
const JOINED: u8 = 0x87;
const LEFT: u8 = 0x88;
const CHANNEL_MESSAGE: u8 = 0x89;
const ACK: u8 = 0x8a;
const DISCONNECT: u8 = 0x8b;
const REDIRECT: u8 = 0x8c;
const RELOCATE: u8 = 0x8d;

impl Frame for ServerFrame {
    fn decode_kind(kind: u8, bytes: &[u8]) -> Result<ServerFrame, FrameError> {
        let frame = match kind {
            WELCOME => {
                let mut f = Fields::new("Welcome", bytes);
                let version = f.u16("version")?;
                let max_frame = f.u32("max_frame")?;
                f.end()?;
                ServerFrame::Welcome { version, max_frame }
            }
            LOGIN_ACCEPTED => {
                let mut f = Fields::new("LoginAccepted", bytes);
                let session = f.u64("session")?;
                let key = f.array("key")?;
                let resume_window_ms = f.u32("resume_window_ms")?;
                f.end()?;
                ServerFrame::LoginAccepted {
                    session,
                    key,
                    resume_window_ms,
                }
            }
            LOGIN_REFUSED => {
                let mut f = Fields::new("LoginRefused", bytes);
                let reason = f.text("reason")?;
                f.end()?;
                ServerFrame::LoginRefused { reason }
            }
            RESUMED => {
                let mut f = Fields::new("Resumed", bytes);
                let handled = f.u64("handled")?;
                f.end()?;
                ServerFrame::Resumed { handled }
            }
            RESUME_REFUSED => {
                let mut f = Fields::new("ResumeRefused", bytes);
                let reason = f.text("reason")?;
                f.end()?;
                ServerFrame::ResumeRefused { reason }
            }
            MESSAGE => {
                let mut f = Fields::new("Message", bytes);
                let seq = f.u64("seq")?;
                ServerFrame::Message {
                    seq,
                    body: f.body(),
                }
            }
            JOINED => {
                let mut f = Fields::new("Joined", bytes);
                let seq = f.u64("seq")?;
                let channel = f.u64("channel")?;
                let name = f.text("name")?;
                f.end()?;
                ServerFrame::Joined { seq, channel, name }
            }
            LEFT => {
                let mut f = Fields::new("Left", bytes);
                let seq = f.u64("seq")?;
                let channel = f.u64("channel")?;
                f.end()?;
                ServerFrame::Left { seq, channel }
            }
            CHANNEL_MESSAGE => {
                let mut f = Fields::new("ChannelMessage", bytes);
                let seq = f.u64("seq")?;
                let channel = f.u64("channel")?;
                let sender = f.u64("sender")?;
                ServerFrame::ChannelMessage {
                    seq,
                    channel,
                    sender,
                    body: f.body(),
                }
            }
            ACK => {
                let mut f = Fields::new("Ack", bytes);
                let handled = f.u64("handled")?;
                f.end()?;
                ServerFrame::Ack { handled }
            }
            DISCONNECT => {
                let mut f = Fields::new("Disconnect", bytes);
                let reason = DisconnectReason::from_code(f.u8("reason")?);
                let text = f.text("text")?;
                f.end()?;
                ServerFrame::Disconnect { reason, text }
            }
            REDIRECT => {
                let mut f = Fields::new("Redirect", bytes);
                let host = f.text("host")?;
                let port = f.u16("port")?;
                f.end()?;
                ServerFrame::Redirect { host, port }
            }
            RELOCATE => {
                let mut f = Fields::new("Relocate", bytes);
                let host = f.text("host")?;
                let port = f.u16("port")?;
                let key = f.array("key")?;
                f.end()?;
                ServerFrame::Relocate { host, port, key }
            }
            kind => return Err(FrameError::UnknownKind { kind }),
        };
        Ok(frame)
    }

    fn encode(&self, out: &mut Vec<u8>) {
        match self {
            ServerFrame::Welcome { version, max_frame } => Writer::new(out, WELCOME)
                .u16(*version)
                .u32(*max_frame)
                .finish(),
            ServerFrame::LoginAccepted {
                session,
                key,
                resume_window_ms,
            } => Writer::new(out, LOGIN_ACCEPTED)
                .u64(*session)
                .bytes(key)
                .u32(*resume_window_ms)
                .finish(),
            ServerFrame::LoginRefused { reason } => {
                Writer::new(out, LOGIN_REFUSED).text(reason).finish()
            }
            ServerFrame::Resumed { handled } => Writer::new(out, RESUMED).u64(*handled).finish(),
            ServerFrame::ResumeRefused { reason } => {
                Writer::new(out, RESUME_REFUSED).text(reason).finish()
            }
            ServerFrame::Message { seq, body } => {
                Writer::new(out, MESSAGE).u64(*seq).bytes(body).finish()
            }
            ServerFrame::Joined { seq, channel, name } => Writer::new(out, JOINED)
                .u64(*seq)
                .u64(*channel)
                .text(name)
                .finish(),
            ServerFrame::Left { seq, channel } => {
                Writer::new(out, LEFT).u64(*seq).u64(*channel).finish()
            }
            ServerFrame::ChannelMessage {
                seq,
                channel,
                sender,
                body,
            } => Writer::new(out, CHANNEL_MESSAGE)
                .u64(*seq)
                .u64(*channel)
                .u64(*sender)
                .bytes(body)
                .finish(),
            ServerFrame::Ack { handled } => Writer::new(out, ACK).u64(*handled).finish(),
            ServerFrame::Disconnect { reason, text } => Writer::new(out, DISCONNECT)
                .u8(reason.code())
                .text(text)
                .finish(),
            ServerFrame::Redirect { host, port } => {
                Writer::new(out, REDIRECT).text(host).u16(*port).finish()
            }
            ServerFrame::Relocate { host, port, key } => Writer::new(out, RELOCATE)
                .text(host)
                .u16(*port)
                .bytes(key)
                .finish(),
        }
    }
}

impl ServerFrame {
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

    /// The sequence number of a frame that carries game data, which the client
    /// acknowledges; `None` for control frames.
    pub fn seq(&self) -> Option<u64> {
        match self {
            ServerFrame::Message { seq, .. }
            | ServerFrame::Joined { seq, .. }
            | ServerFrame::Left { seq, .. }
            | ServerFrame::ChannelMessage { seq, .. } => Some(*seq),
            _ => None,
        }
    }
}
