//! Sessions of a node that died: their clients may resume them on another node within the
//! resume window (which takes the session over, rebinding its record to that node's run);
//! the meta-service's leader ends those still held by a dead node run once the window has
//! passed since it first saw them so. Each listener hears `disconnected(graceful = false)`;
//! the task that ends a session removes its record in the same commit, so if two leaders
//! overlap, the second end of one session conflicts instead of running twice.

use std::time::{Duration, Instant};

use hashbrown::{HashMap, HashSet};

use crate::session::{session_of_key, SessionEvent, SESSION_PREFIX};
use crate::shared::Shared;

/// What the leader knows of the sessions of dead node runs.
pub(crate) struct Orphans {
    grace: Duration,
    /// When each session was first seen held by a dead node run.
    seen: HashMap<u64, Instant>,
    /// Sessions already handed over to be ended, with the node run that held them then
    /// (an end the fence dropped, because the session moved on, is tried again once that
    /// run is dead too).
    ended: HashSet<(u64, u64)>,
}

impl Orphans {
    pub fn new(grace: Duration) -> Orphans {
        Orphans {
            grace,
            seen: HashMap::new(),
            ended: HashSet::new(),
        }
    }

    /// Ends every recorded session held by a node run not in `live` (incarnations) for
    /// longer than the resume window; returns how many it handed over now.
    pub fn end(&mut self, shared: &Shared, live: &[u64], now: Instant) -> usize {
        let snap = shared.store.snapshot();
        let mut after = SESSION_PREFIX.to_owned();
        let mut n = 0;
        let mut orphaned = HashSet::new();
        while let Some((key, binding)) = snap.next_name(Some(&after)) {
            let Some(session) = session_of_key(&key) else {
                break;
            };
            after = key;
            // In a cluster the binding names the incarnation that holds the session.
            if live.contains(&binding.id) {
                continue;
            }
            orphaned.insert(session);
            let since = *self.seen.entry(session).or_insert(now);
            if now.duration_since(since) >= self.grace && self.ended.insert((session, binding.id)) {
                shared.submit_session(
                    session,
                    SessionEvent::Disconnected {
                        graceful: false,
                        holder: Some(binding.id),
                    },
                    None,
                );
                n += 1;
            }
        }
        // Resumed elsewhere, or ended: forgotten.
        self.seen.retain(|s, _| orphaned.contains(s));
        self.ended.retain(|(s, _)| orphaned.contains(s));
        n
    }
}
