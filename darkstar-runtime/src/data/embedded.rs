//! The embedded data service: the store on this machine decides every commit at once,
//! and what a commit delivers is stored in it (the outbox), so sessions outlive a restart.

use std::sync::Arc;

use darkstar_sdk::Delivery;
use darkstar_storage::{Batch, CommitError, Store};

use super::{Commit, DataService};
use crate::changes::Scheduled;
use crate::session::{first_frame, Journal, PostOffice};

/// Commits straight into the local store.
pub(crate) struct EmbeddedData {
    store: Arc<Store>,
    post: Arc<PostOffice>,
    outbox: Arc<Journal>,
}

impl EmbeddedData {
    pub fn new(store: Arc<Store>, post: Arc<PostOffice>, outbox: Arc<Journal>) -> EmbeddedData {
        EmbeddedData {
            store,
            post,
            outbox,
        }
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
        handled: &[(u64, u64)],
        _scheduled: &[Scheduled],
    ) -> Commit {
        let mut staged = (!deliveries.is_empty() || !handled.is_empty())
            .then(|| self.outbox.stage(&self.store, batch, &deliveries, handled));
        let mut deliveries = Some(deliveries);
        // Posted under the writer lock, so the post office holds deliveries in commit order.
        Commit::Decided(self.store.commit_with(batch, |seq| {
            let first = first_frame(seq);
            if let Some(staged) = staged.take() {
                self.outbox.committed(staged, first);
            }
            self.post
                .post(seq, first, deliveries.take().unwrap_or_default())
        }))
    }

    fn commit_now(&self, batch: &mut Batch) -> Result<u64, CommitError> {
        self.store.commit(batch)
    }
}
