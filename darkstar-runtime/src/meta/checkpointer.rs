//! The checkpointer: one node at a time (elected through an etcd lock, like the leader)
//! writes a checkpoint of its replica every `checkpoint_records` records, then trims the
//! log below what the latest checkpoint, every live node and the resume window still need.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, GetOptions, LockOptions};
use tracing::{info, warn};

use super::nodes_prefix;
use crate::cluster::{applied_position, checkpoint_of, Log, Settings};
use crate::session::{first_frame, remove_below};
use crate::shared::Shared;

/// How often the checkpointer looks at the log's head.
const LOOK_EVERY: Duration = Duration::from_secs(2);

/// Campaigns, then checkpoints, for as long as the node lives.
pub(crate) async fn run(client: Client, settings: Settings, lease: i64, shared: Arc<Shared>) {
    if settings.checkpoint_records == 0 {
        return;
    }
    loop {
        if let Err(e) = checkpoint(client.clone(), &settings, lease, &shared).await {
            warn!(error = %e, "the checkpointer failed; trying again");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn checkpoint(
    mut client: Client,
    settings: &Settings,
    lease: i64,
    shared: &Arc<Shared>,
) -> Result<(), Box<dyn std::error::Error + Send + Sync>> {
    client
        .lock(
            format!("/{}/locks/checkpoint", settings.cluster),
            Some(LockOptions::new().with_lease(lease)),
        )
        .await?;
    let mut log = Log::connect(&settings.postgres, &settings.cluster, None, false).await?;
    let mut last = log
        .latest_checkpoint(&settings.cluster)
        .await?
        .map_or(0, |(p, _)| p);
    loop {
        tokio::time::sleep(LOOK_EVERY).await;
        let applied = applied_position(&shared.store);
        if applied < last + settings.checkpoint_records {
            continue;
        }
        // Encoding reads the whole replica: off the cluster thread.
        let store_owner = shared.clone();
        let (position, chunks) =
            tokio::task::spawn_blocking(move || checkpoint_of(&store_owner.store)).await?;
        log.put_checkpoint(&settings.cluster, position, &chunks)
            .await?;
        last = position;
        let prefix = nodes_prefix(&settings.cluster);
        let live: Vec<String> = client
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await?
            .kvs()
            .iter()
            .filter_map(|kv| Some(kv.key_str().ok()?.strip_prefix(&prefix)?.to_owned()))
            .collect();
        let needed = log.lowest_applied(&settings.cluster, &live).await?;
        let floor = position.min(needed);
        let trimmed = log
            .trim(&settings.cluster, floor, settings.keep_secs)
            .await?;
        let bytes: usize = chunks.iter().map(Vec::len).sum();
        info!(position, bytes, trimmed, "checkpoint written; log trimmed");
        // The outbox entries of records the log no longer holds go too: they are older
        // than the resume window.
        if let Some(first) = log.first_position(&settings.cluster).await? {
            let owner = shared.clone();
            let removed =
                tokio::task::spawn_blocking(move || remove_outbox_below(&owner, first)).await??;
            if removed > 0 {
                info!(removed, below = first, "outbox entries removed");
            }
        }
    }
}

/// Removes, through the log, every outbox entry of records below `position`; how many.
fn remove_outbox_below(
    shared: &Shared,
    position: u64,
) -> Result<usize, darkstar_storage::CommitError> {
    const AT_ONCE: usize = 4096;
    let mut removed = 0;
    while let Some(mut batch) =
        remove_below(&shared.store.snapshot(), first_frame(position), AT_ONCE)
    {
        removed += batch.len() / 2;
        shared.data.commit_now(&mut batch)?;
    }
    Ok(removed)
}
