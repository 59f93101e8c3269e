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
    ///
    /// `sender` is the id of the session that sent it (compare with
    /// [`Client::session_id`](crate::Client::session_id) to spot your own), or 0 when the
    /// game itself sent it (`ctx.channel_send` on the server) rather than a session; no
    /// session has id 0. A channel listener that passes a client's message on with
    /// `ctx.forward` names that client's session.
    ChannelMessage {
        /// The channel's id.
        channel: u64,
        /// The sending session's id, or 0 if the game sent it.
        sender: u64,
        /// The message.
        body: Vec<u8>,
    },
    /// The connection dropped; the client is trying to resume the session. Sent before
    /// each attempt; attempts that cannot reach the server are retried with backoff until
    /// the reconnection window passes.
    Reconnecting {
        /// Attempts so far, this one included.
        attempt: u32,
    },
    /// The session was resumed on a new connection; nothing was lost.
    Reconnected,
    /// The session is over. The last event.
    ///
    /// `reason` is the code the server sent (see [`DisconnectReason`]), or one the client
    /// chose when the server sent none:
    ///
    /// - [`DisconnectReason::Expired`] when the session could not be resumed: the server
    ///   refused the resume (it no longer has the session, most likely because it
    ///   restarted or the reconnection window passed), the window passed before the server
    ///   could be reached, or reconnecting is off ([`Options::reconnect`](crate::Options));
    ///   `text` says which. Log in again for a new session.
    /// - [`DisconnectReason::ProtocolError`] when the server sent a frame the client did
    ///   not expect.
    ///
    /// The codes a server sends once logged in include `LoggedOut` (after
    /// [`logout`](crate::Client::logout)), `Kicked` (the game ended the session),
    /// `TooSlow` (events were not read fast enough), `Replaced` (the session
    /// was resumed on another connection) and `LoggedInElsewhere` (a newer login under the
    /// same name took over). `Shutdown` is not among them: sessions outlive a server's
    /// restart, so the client resumes the session (with [`Reconnecting`](Event::Reconnecting)
    /// events) once the server is back, within the reconnection window.
    Disconnected {
        /// Why, for programs.
        reason: DisconnectReason,
        /// Why, for people.
        text: String,
    },
}
