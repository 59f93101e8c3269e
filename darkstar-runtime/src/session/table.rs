//! Every live session link, by session id, and which session each identity holds.

use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::RwLock;

use crate::config::DuplicateLogin;
use crate::session::link::SessionLink;

/// What opening a session found.
pub(crate) enum Opened {
    /// The identity had no session: this one is open.
    New,
    /// The identity had a session, which the caller must end; this one is open and owns
    /// the identity now.
    Replacing(Arc<SessionLink>),
    /// The identity has a session and the policy refuses a second: nothing was opened.
    Refused,
}

#[derive(Default)]
struct Links {
    by_id: HashMap<u64, Arc<SessionLink>>,
    /// The session each identity holds, unless duplicates are allowed.
    by_identity: HashMap<String, u64>,
}

/// The live sessions of this server.
#[derive(Default)]
pub(crate) struct SessionTable {
    links: RwLock<Links>,
}

impl SessionTable {
    /// Adds `link` under the duplicate-login `policy`. Checking and claiming the identity
    /// happen under one lock, so of two logins at once under one name, the policy sees
    /// one first.
    pub fn open(&self, link: Arc<SessionLink>, policy: DuplicateLogin) -> Opened {
        let mut links = self.links.write();
        let holder = match policy {
            DuplicateLogin::Allow => None,
            DuplicateLogin::Refuse | DuplicateLogin::Replace => {
                links.by_identity.get(&link.identity).copied()
            }
        };
        if holder.is_some() && policy == DuplicateLogin::Refuse {
            return Opened::Refused;
        }
        if policy != DuplicateLogin::Allow {
            links.by_identity.insert(link.identity.clone(), link.id);
        }
        let previous = links.by_id.insert(link.id, link);
        assert!(previous.is_none(), "a session id is used once");
        match holder.and_then(|id| links.by_id.get(&id)) {
            Some(old) => Opened::Replacing(old.clone()),
            None => Opened::New,
        }
    }

    /// Adds a session restored from the store; it claims its identity unless another
    /// restored session did first (duplicates were allowed when they logged in).
    pub fn restore(&self, link: Arc<SessionLink>) {
        let mut links = self.links.write();
        links
            .by_identity
            .entry(link.identity.clone())
            .or_insert(link.id);
        let previous = links.by_id.insert(link.id, link);
        assert!(previous.is_none(), "a session is restored once");
    }

    /// Adds a session taken over from another node, unless one with its id is here
    /// already (another resume of it got here first); `false` then.
    pub fn take_in(&self, link: Arc<SessionLink>) -> bool {
        let mut links = self.links.write();
        if links.by_id.contains_key(&link.id) {
            return false;
        }
        links
            .by_identity
            .entry(link.identity.clone())
            .or_insert(link.id);
        links.by_id.insert(link.id, link);
        true
    }

    /// Removes `link` if it is still the one the table holds under its id (not a newer
    /// link of the same session); `true` if it was.
    pub fn remove_link(&self, link: &Arc<SessionLink>) -> bool {
        let mut links = self.links.write();
        if !links
            .by_id
            .get(&link.id)
            .is_some_and(|l| Arc::ptr_eq(l, link))
        {
            return false;
        }
        links.by_id.remove(&link.id);
        if links.by_identity.get(&link.identity) == Some(&link.id) {
            links.by_identity.remove(&link.identity);
        }
        true
    }

    pub fn get(&self, id: u64) -> Option<Arc<SessionLink>> {
        self.links.read().by_id.get(&id).cloned()
    }

    /// Removes session `id`, and its claim on its identity unless a newer session holds it.
    pub fn remove(&self, id: u64) -> Option<Arc<SessionLink>> {
        let mut links = self.links.write();
        let link = links.by_id.remove(&id)?;
        if links.by_identity.get(&link.identity) == Some(&id) {
            links.by_identity.remove(&link.identity);
        }
        Some(link)
    }

    pub fn len(&self) -> usize {
        self.links.read().by_id.len()
    }

    /// Every live link, for shutdown.
    pub fn all(&self) -> Vec<Arc<SessionLink>> {
        self.links.read().by_id.values().cloned().collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link(id: u64, name: &str) -> Arc<SessionLink> {
        let pace = crate::net::SessionPace::new(0, 0, 0, std::time::Instant::now());
        Arc::new(SessionLink::new(
            id,
            [0; 16],
            name.to_owned(),
            1024,
            pace,
            16,
            1,
        ))
    }

    #[test]
    fn each_policy() {
        let t = SessionTable::default();
        assert!(matches!(
            t.open(link(1, "ada"), DuplicateLogin::Refuse),
            Opened::New
        ));
        assert!(matches!(
            t.open(link(2, "ada"), DuplicateLogin::Refuse),
            Opened::Refused
        ));
        assert!(t.get(2).is_none());
        match t.open(link(3, "ada"), DuplicateLogin::Replace) {
            Opened::Replacing(old) => assert_eq!(old.id, 1),
            _ => panic!("replaces session 1"),
        }
        // The old session ending leaves the new one's claim alone.
        t.remove(1);
        assert!(matches!(
            t.open(link(4, "ada"), DuplicateLogin::Refuse),
            Opened::Refused
        ));
        t.remove(3);
        assert!(matches!(
            t.open(link(5, "ada"), DuplicateLogin::Refuse),
            Opened::New
        ));
        assert!(matches!(
            t.open(link(6, "ada"), DuplicateLogin::Allow),
            Opened::New
        ));
        assert!(matches!(
            t.open(link(7, "ada"), DuplicateLogin::Allow),
            Opened::New
        ));
        assert_eq!(t.len(), 3);
    }
}
