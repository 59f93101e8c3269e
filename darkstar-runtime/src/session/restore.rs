//! Bringing back, at start-up, the sessions a single server left open: each waits for its
//! client to resume within the reconnection window, with every frame its client had not
//! acknowledged and the number of the last message it handled.

use std::sync::Arc;
use std::time::Instant;

use darkstar_protocol::DisconnectReason;
use darkstar_sdk::{decode, Session, Stored};
use darkstar_storage::Snapshot;
use tracing::warn;

use super::outbox::StoredEntry;
use super::post::{first_frame, frames};
use super::secret::session_key;
use super::{handled_key, session_of_key, SessionEvent, SessionLink, SESSION_PREFIX};
use crate::config::Config;
use crate::net::SessionPace;
use crate::shared::Shared;

/// Restores every session recorded in the store into the session table, with the frames
/// of `entries` (the outbox, in commit order). A session whose record cannot be read is
/// ended instead: its listener hears `disconnected(graceful = false)`. Returns the links
/// restored, for their reconnection timers.
pub(crate) fn restore(
    shared: &Shared,
    config: &Config,
    secret: &[u8; 32],
    entries: &[StoredEntry],
) -> Vec<Arc<SessionLink>> {
    let snap = shared.store.snapshot();
    // Any frame a client holds was numbered by a commit already in the store.
    let claimable = first_frame(shared.store.last_seq() + 1) - 1;
    let mut newest = hashbrown::HashMap::new();
    for &(session, seq) in entries.iter().flat_map(|e| &e.handled) {
        let n: &mut u64 = newest.entry(session).or_default();
        *n = (*n).max(seq);
    }
    let mut links = Vec::new();
    let mut after = SESSION_PREFIX.to_owned();
    while let Some((key, _)) = snap.next_name(Some(&after)) {
        let Some(id) = session_of_key(&key) else {
            break;
        };
        after = key;
        match identity(&snap, id) {
            Ok(identity) => {
                // The stored number, or a newer one in an entry not yet removed.
                let stored = snap.name(&handled_key(id)).map_or(0, |b| b.id);
                let handled = stored.max(newest.get(&id).copied().unwrap_or(0));
                let link = Arc::new(SessionLink::restored(
                    id,
                    session_key(secret, id),
                    identity,
                    config.session_queue_kib as usize * 1024,
                    SessionPace::of(config, Instant::now()),
                    config.session_window as usize,
                    handled,
                    claimable,
                ));
                shared.sessions.restore(link.clone());
                crate::metrics::session_started();
                links.push(link);
            }
            Err(why) => {
                warn!(
                    session = id,
                    why, "a stored session cannot be restored; ending it"
                );
                shared.submit_session(
                    id,
                    SessionEvent::Disconnected {
                        graceful: false,
                        holder: None,
                    },
                    None,
                );
            }
        }
    }
    let mut kicked = Vec::new();
    for entry in entries {
        frames(
            first_frame(entry.version),
            &entry.deliveries,
            |session, frame| {
                let Some(link) = shared.sessions.get(session) else {
                    return;
                };
                match frame {
                    Some(frame) => {
                        link.push(frame);
                    }
                    None => kicked.push(session),
                }
            },
        );
    }
    // The game ended these before the restart; their `disconnected` may not have run.
    for session in kicked {
        shared.end_session(
            session,
            DisconnectReason::Kicked,
            "the game ended the session",
            true,
        );
    }
    links.retain(|l| l.ending().is_none());
    links
}

/// The name session `id` logged in under, from its session object.
pub(crate) fn identity(snap: &Snapshot, id: u64) -> Result<String, String> {
    let obj = snap.object(id).ok_or("its session object is missing")?;
    if obj.type_name != Session::STORED_NAME {
        return Err(format!("its object is a {}", obj.type_name));
    }
    let session = decode::<Session>(obj.value, id).map_err(|e| e.to_string())?;
    Ok(session.name)
}
