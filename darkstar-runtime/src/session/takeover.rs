//! Taking over, on this node of a cluster, a session whose node died: its client resumes
//! here, with the same key, within the resume window.
//!
//! Every replica holds what that needs: the session's record (naming the node run that
//! holds it), its identity (the session object), the last message it handled (`s/in/<id>`)
//! and every frame its commits delivered (the replicated outbox). The takeover commits,
//! through the log, the session's record rebound to this node run, read against the
//! record and the handled number as this node saw them: if the session ended meanwhile,
//! another node took it, or its old node still committed a message, the takeover
//! conflicts and the client tries again.

use std::sync::Arc;
use std::time::Instant;

use darkstar_protocol::KEY_LEN;
use darkstar_storage::{Batch, CommitError};

use super::outbox::replicated_frames;
use super::post::first_frame;
use super::restore::identity;
use super::{handled_key, session_key, SessionLink};
use crate::config::Config;
use crate::net::SessionPace;
use crate::shared::Shared;

/// What a resume of a session this node does not hold found.
pub(crate) enum Takeover {
    /// The session is this node's now.
    Taken(Arc<SessionLink>),
    /// The session belongs on the node at this address.
    Elsewhere(String),
    /// Not now (the cluster is still moving the dead node's work); the client should try
    /// again.
    NotYet(&'static str),
    /// The session cannot be resumed; the reason for the client.
    Refused(&'static str),
}

/// Takes session `session` over if another node run held it and its identity is placed
/// here now (its node died or was drained, so its slots moved); the frames after
/// `received` come from this replica's outbox. A client on a WebSocket (`websocket`) is
/// sent to a WebSocket address. Blocks on the log.
pub(crate) fn take_over(
    shared: &Shared,
    config: &Config,
    session: u64,
    key: &[u8; KEY_LEN],
    received: u64,
    websocket: bool,
) -> Takeover {
    const GONE: &str = "no such session: it ended (its reconnection window passed, or the \
                        game or the server ended it) or never existed; log in again";
    let Some(incarnation) = shared.data.incarnation() else {
        return Takeover::Refused(GONE);
    };
    let snap = shared.store.snapshot();
    let Some(record) = snap.name(&session_key(session)) else {
        // A session relocated right after its login may come here before this replica
        // applied the login: the frames the client holds say how far the log had got.
        if crate::cluster::applied_position(&shared.store) < received >> super::post::FRAME_BITS {
            return Takeover::NotYet("this node has not caught up with the session yet; try again");
        }
        return Takeover::Refused(GONE);
    };
    // Compared in full whatever the first difference, so timing tells nothing of the key.
    let expected = shared.resume_key(session);
    if expected
        .iter()
        .zip(key)
        .fold(0u8, |acc, (a, b)| acc | (a ^ b))
        != 0
    {
        return Takeover::Refused("wrong session key");
    }
    if record.id == incarnation {
        // Held by this node run, and not in its table: it is ending.
        return Takeover::Refused(GONE);
    }
    let Ok(identity) = identity(&snap, session) else {
        return Takeover::Refused(GONE);
    };
    let slot = shared
        .placement
        .slot_of(crate::cluster::identity_key(&identity));
    if !shared.ownership.owns(slot) {
        return match shared.ownership.elsewhere(slot, websocket) {
            Some(address) => Takeover::Elsewhere(address),
            None => Takeover::NotYet("the session's node is not known yet; try again"),
        };
    }
    let handled = snap.name(&handled_key(session));
    let link = Arc::new(SessionLink::restored(
        session,
        expected,
        identity,
        config.session_queue_kib as usize * 1024,
        SessionPace::of(config, Instant::now()),
        config.session_window as usize,
        handled.map_or(0, |b| b.id),
        0,
    ));
    // In the table before the takeover commits, so no frame of a later commit misses it.
    if !shared.sessions.take_in(link.clone()) {
        return Takeover::NotYet("the session is being resumed on another connection; try again");
    }
    let mut batch = Batch::new();
    batch.bind(&session_key(session), incarnation);
    batch.read_name(&session_key(session), record.version);
    batch.read_name(&handled_key(session), handled.map_or(0, |b| b.version));
    match shared.data.commit_now(&mut batch) {
        Ok(_) => {}
        Err(CommitError::Conflict(_)) => {
            shared.sessions.remove_link(&link);
            return Takeover::NotYet("the session is moving; try again");
        }
        Err(_) => {
            shared.sessions.remove_link(&link);
            return Takeover::NotYet("the shared log cannot be reached; try again");
        }
    }
    // Every frame the client may hold was numbered by a record before the takeover.
    let applied = crate::cluster::applied_position(&shared.store);
    link.allow_claims_up_to(first_frame(applied + 1) - 1);
    link.merge(replicated_frames(
        &shared.store.snapshot(),
        session,
        received,
    ));
    crate::metrics::session_started();
    tracing::info!(session, "took over a session from another node");
    Takeover::Taken(link)
}
