//! Sessions of a node that died: their clients are gone with it, so the meta-service's
//! leader ends them, as a server on its own ends at start-up the sessions its previous run
//! left open. Each listener hears `disconnected(graceful = false)`; the task that ends a
//! session removes its record in the same commit, so if two leaders overlap, the second
//! end of one session conflicts instead of running twice.

use hashbrown::HashSet;

use crate::session::{session_of_key, SessionEvent, SESSION_PREFIX};
use crate::shared::Shared;

/// Ends every recorded session held by a node run not in `live` (incarnations), except
/// those in `ended` (already handed over); returns how many it handed over now.
pub(crate) fn end(shared: &Shared, live: &[u64], ended: &mut HashSet<u64>) -> usize {
    let snap = shared.store.snapshot();
    let mut after = SESSION_PREFIX.to_owned();
    let mut n = 0;
    while let Some((key, binding)) = snap.next_name(Some(&after)) {
        let Some(session) = session_of_key(&key) else {
            break;
        };
        // In a cluster the binding names the incarnation that holds the session.
        if !live.contains(&binding.id) && ended.insert(session) {
            shared.submit_session(
                session,
                SessionEvent::Disconnected { graceful: false },
                None,
            );
            n += 1;
        }
        after = key;
    }
    n
}
