//! The embedded data service: the store on this machine decides every commit at once.

use std::sync::Arc;

use darkstar_sdk::Delivery;
use darkstar_storage::{Batch, CommitError, Store};

use super::{Commit, DataService};
use crate::changes::Scheduled;
use crate::session::PostOffice;

/// Commits straight into the local store.
pub(crate) struct EmbeddedData {
    store: Arc<Store>,
    post: Arc<PostOffice>,
}

impl EmbeddedData {
    pub fn new(store: Arc<Store>, post: Arc<PostOffice>) -> EmbeddedData {
        EmbeddedData { store, post }
    }
}

impl DataService for EmbeddedData {
    fn allocate_id(&self) -> Result<u64, CommitError> {
        Ok(self.store.allocate_id())
    }

    fn commit_batch(
        &self,
        _core: usize,
        batch: &mut Batch,
        deliveries: Vec<Delivery>,
        _scheduled: &[Scheduled],
    ) -> Commit {
        let mut deliveries = Some(deliveries);
        // Posted under the writer lock, so the post office holds deliveries in commit order.
        Commit::Decided(self.store.commit_with(batch, |seq| {
            self.post.post(seq, deliveries.take().unwrap_or_default())
        }))
    }

    fn commit_now(&self, batch: &mut Batch) -> Result<u64, CommitError> {
        self.store.commit(batch)
    }
}
