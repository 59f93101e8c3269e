//! What the server tells a client.

use darkstar_protocol::DisconnectReason;

/// Something that happened to the session, in the order it happened.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Event {
    /// A message from the game.
    Message(Vec<u8>),
    /// The session joined a channel.
    JoinedChannel {
        /// The channel's id, to send to it.
        channel: u64,
        /// Its name.
        name: String,
    },
    /// The session left a channel.
    LeftChannel {
        /// The channel's id.
        channel: u64,
    },
    /// A message on a channel.
    ChannelMessage {
        /// The channel's id.
        channel: u64,
        /// The sending session's id, or 0 if the game sent it.
        sender: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// The connection dropped; the client is trying to resume the session.
    Reconnecting {
        /// Attempts so far.
        attempt: u32,
    },
    /// The session was resumed on a new connection; nothing was lost.
    Reconnected,
    /// The session is over. The last event.
    Disconnected {
        /// Why, for programs.
        reason: DisconnectReason,
        /// Why, for people.
        text: String,
    },
}
