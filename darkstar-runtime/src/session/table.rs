//! Every live session link, by session id.

use std::sync::Arc;

use hashbrown::HashMap;
use parking_lot::RwLock;

use crate::session::link::SessionLink;

/// The live sessions of this server.
#[derive(Default)]
pub(crate) struct SessionTable {
    links: RwLock<HashMap<u64, Arc<SessionLink>>>,
}

impl SessionTable {
    pub fn insert(&self, link: Arc<SessionLink>) {
        let previous = self.links.write().insert(link.id, link);
        assert!(previous.is_none(), "a session id is used once");
    }

    pub fn get(&self, id: u64) -> Option<Arc<SessionLink>> {
        self.links.read().get(&id).cloned()
    }

    pub fn remove(&self, id: u64) -> Option<Arc<SessionLink>> {
        self.links.write().remove(&id)
    }

    pub fn len(&self) -> usize {
        self.links.read().len()
    }

    /// Every live link, for shutdown.
    pub fn all(&self) -> Vec<Arc<SessionLink>> {
        self.links.read().values().cloned().collect()
    }
}
