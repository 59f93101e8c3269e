//! Work a session hands to its core.

use crate::job::Reply;

/// What happened to a session, to run as a task on the session's core.
#[derive(Debug)]
pub(crate) enum SessionEvent {
    /// A client authenticated as `name`; the application decides whether to accept it.
    Login { name: String },
    /// Client message `seq`, for the session's listener.
    Message { seq: u64, body: Vec<u8> },
    /// Client message `seq`, for a channel.
    ChannelMessage {
        seq: u64,
        channel: u64,
        body: Vec<u8>,
    },
    /// The session ended. In a cluster it ends only if its record names `holder` (the
    /// node run expected to hold it; `None` for this one): a session that moved on is
    /// not ended by the node it left.
    Disconnected { graceful: bool, holder: Option<u64> },
}

impl SessionEvent {
    /// Its task name, for logs and metrics.
    pub fn name(&self) -> &'static str {
        match self {
            SessionEvent::Login { .. } => LOGIN,
            SessionEvent::Message { .. } => MESSAGE,
            SessionEvent::ChannelMessage { .. } => CHANNEL_MESSAGE,
            SessionEvent::Disconnected { .. } => DISCONNECTED,
        }
    }
}

pub(crate) const LOGIN: &str = "darkstar.login";
pub(crate) const MESSAGE: &str = "darkstar.session_message";
pub(crate) const CHANNEL_MESSAGE: &str = "darkstar.channel_message";
pub(crate) const DISCONNECTED: &str = "darkstar.disconnected";

/// The task names of session events, which the registry lists after the app's tasks.
pub(crate) const EVENT_NAMES: [&str; 4] = [LOGIN, MESSAGE, CHANNEL_MESSAGE, DISCONNECTED];

/// A session event on its way to, or waiting in, its core. A session's jobs run in the
/// order they were sent: never rerouted, never delayed past each other.
pub(crate) struct SessionJob {
    pub session: u64,
    pub event: SessionEvent,
    pub reply: Option<Reply>,
    pub attempts: u32,
}
