//! Client sessions: the managed object that stands for a logged-in client, the listener
//! that hears its messages, and what a task can do with it.

use crate::context::Context;
use crate::delivery::Delivery;
use crate::error::TaskError;
use crate::managed::Managed;
use crate::reference::Ref;
use crate::task::TaskResult;

/// A logged-in client, as game data sees it. Created by the server at login and removed
/// once the client has disconnected (and `disconnected` has run), it is a managed object,
/// so game objects can keep a `Ref<Session>` to it. Its connection is hidden: the server may
/// move it between cores and machines.
#[crate::managed(name = "darkstar.Session")]
#[derive(Debug)]
pub struct Session {
    /// The name the client logged in with.
    pub name: String,
    /// The listener's object id.
    pub(crate) listener: u64,
    /// The listener's type name.
    pub(crate) listener_type: String,
    /// Channels the session is in.
    pub(crate) channels: Vec<u64>,
}

/// Hears one session's messages, like Darkstar's `ClientSessionListener`. A managed object
/// chosen by [`App::logged_in`](crate::App::logged_in) and registered with
/// [`Types::session_listener`](crate::Types::session_listener).
///
/// Each call runs as a task. A client's messages are handled in order: the next one is not
/// handled until the task for the previous one has committed.
pub trait SessionListener: Managed {
    /// A message from the client.
    fn received_message(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        message: &[u8],
    ) -> TaskResult;

    /// The session ended: the client logged out (`graceful`), or its connection dropped
    /// and it did not come back within the reconnection window, or the game or the server
    /// ended it. The session object is removed once this commits.
    fn disconnected(
        ctx: &mut Context<'_>,
        this: Ref<Self>,
        session: Ref<Session>,
        graceful: bool,
    ) -> TaskResult {
        let _ = (ctx, this, session, graceful);
        Ok(())
    }
}

/// The application's answer to a login.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Login {
    /// Open the session; this listener hears its messages.
    Accept {
        /// The listener's object id.
        listener: u64,
        /// The listener's type name.
        listener_type: &'static str,
    },
    /// Refuse it; the client is told `reason`.
    Refuse {
        /// Why, for the client.
        reason: String,
    },
}

impl Login {
    /// Accepts the login; `listener` hears the session's messages.
    pub fn accept<L: SessionListener>(listener: Ref<L>) -> Login {
        Login::Accept {
            listener: listener.id(),
            listener_type: L::TYPE_NAME,
        }
    }

    /// Refuses the login; the client is told `reason`.
    pub fn refuse(reason: impl Into<String>) -> Login {
        Login::Refuse {
            reason: reason.into(),
        }
    }
}

impl<'t> Context<'t> {
    /// Sends `message` to a session's client, once this transaction has committed durably.
    /// Messages sent to one session arrive in the order their tasks committed.
    pub fn send(&self, session: Ref<Session>, message: impl Into<Vec<u8>>) -> TaskResult {
        self.tx.check()?;
        self.tx.deliver(Delivery::Message {
            session: session.id(),
            body: message.into(),
        })
    }

    /// Ends a session once this transaction has committed; its listener then hears
    /// `disconnected(graceful = true)`.
    pub fn disconnect(&self, session: Ref<Session>) -> TaskResult {
        self.tx.check()?;
        self.tx.deliver(Delivery::Disconnect {
            session: session.id(),
        })
    }

    /// Whether a session's client is connected now. A client whose connection dropped is
    /// not connected while the server waits for it to resume.
    pub fn is_connected(&self, session: Ref<Session>) -> Result<bool, TaskError> {
        self.tx.check()?;
        Ok(self.tx.is_connected(session.id()))
    }
}
