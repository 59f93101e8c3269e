//! What a task sends to clients, held until its transaction commits durably.

/// One thing for the runtime to send once the sending transaction is durable. The runtime
/// turns it into protocol frames; the SDK never sees the wire format.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Delivery {
    /// A message to one session.
    Message {
        /// The session's object id.
        session: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// A message on a channel, to each of its members.
    ChannelMessage {
        /// The channel's object id.
        channel: u64,
        /// The sending session, or 0 for the game.
        sender: u64,
        /// The members to receive it.
        members: Vec<u64>,
        /// The message.
        body: Vec<u8>,
    },
    /// Tells a session it joined a channel.
    Joined {
        /// The session.
        session: u64,
        /// The channel.
        channel: u64,
        /// The channel's name.
        name: String,
    },
    /// Tells a session it left a channel.
    Left {
        /// The session.
        session: u64,
        /// The channel.
        channel: u64,
    },
    /// Ends a session's connection; its listener then hears `disconnected`.
    Disconnect {
        /// The session.
        session: u64,
    },
}
