//! Sessions as the runtime holds them: the live link of each logged-in client, the table
//! of links, and the post office that sends what tasks deliver once their commits are
//! durable, in commit order.

mod job;
mod link;
mod outbox;
mod post;
pub(crate) mod relocate;
mod restore;
mod secret;
mod table;
mod takeover;

pub(crate) use job::{SessionEvent, SessionJob, EVENT_NAMES};
pub(crate) use link::{Expiry, SessionLink};
pub(crate) use outbox::{
    remove_below, replicated_id, spawn_trimmer, stage_replicated, Journal, Outbox,
};
pub(crate) use post::{first_frame, walk, PostOffice};
pub(crate) use relocate::relocate_moved;
pub(crate) use restore::restore;
pub(crate) use secret::{load_or_create as load_secret, session_key as resume_key, SessionSecret};
pub(crate) use table::{Opened, SessionTable};
pub(crate) use takeover::{take_over, Takeover};

/// Stored names of open sessions: `s/session/<id>`, so a restart can end the sessions of
/// the server that stopped (their clients are gone). On one server the binding's target is
/// the session's id; in a cluster it is the incarnation of the node run that holds the
/// session, so the meta-service can end the sessions of a node that died.
pub(crate) const SESSION_PREFIX: &str = "s/session/";

/// The stored name that records session `id` as open.
pub(crate) fn session_key(id: u64) -> String {
    format!("{SESSION_PREFIX}{id:020}")
}

/// The session id a [`session_key`] names.
pub(crate) fn session_of_key(key: &str) -> Option<u64> {
    key.strip_prefix(SESSION_PREFIX)?.parse().ok()
}

/// Stored names of the last client message each session handled: `s/in/<id>`, bound to
/// the message's number, written in the commit of the message's task. A resumed session,
/// wherever and whenever it resumes, handles nothing twice.
pub(crate) const HANDLED_PREFIX: &str = "s/in/";

/// The stored name of session `id`'s last handled message.
pub(crate) fn handled_key(id: u64) -> String {
    format!("{HANDLED_PREFIX}{id:020}")
}
