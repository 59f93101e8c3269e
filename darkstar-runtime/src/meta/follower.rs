//! Following the placement table: every node watches it and takes the slots it is given,
//! and the stored tasks in them, from its replica. Slots it lost it simply stops running
//! tasks of (the core checks ownership before it runs a stored task), and it sends the
//! clients of their players' sessions to the slots' new owners (`session::relocate`).

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{Client, EventType, WatchOptions};
use tracing::{info, warn};

use super::placement_key;
use super::table::Table;
use crate::shared::Shared;
use crate::stored_tasks;

/// Follows the table for as long as the node lives.
pub(crate) async fn run(client: Client, cluster: String, shared: Arc<Shared>) {
    loop {
        if let Err(e) = follow(client.clone(), &cluster, &shared).await {
            warn!(error = %e, "watching the placement table failed; watching again");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

async fn follow(
    mut client: Client,
    cluster: &str,
    shared: &Shared,
) -> Result<(), etcd_client::Error> {
    let key = placement_key(cluster);
    let current = client.get(key.clone(), None).await?;
    let revision = current.header().map_or(0, |h| h.revision());
    if let Some(kv) = current.kvs().first() {
        take(shared, kv.value_str().unwrap_or_default());
    }
    let mut events = client
        .watch(
            key,
            Some(WatchOptions::new().with_start_revision(revision + 1)),
        )
        .await?;
    while let Some(reply) = events.message().await? {
        for event in reply.events() {
            if event.event_type() == EventType::Put {
                if let Some(kv) = event.kv() {
                    take(shared, kv.value_str().unwrap_or_default());
                }
            }
        }
    }
    Ok(())
}

/// Takes this node's slots from the table `text`.
fn take(shared: &Shared, text: &str) {
    let table = match Table::decode(text) {
        Ok(t) => t,
        Err(e) => {
            warn!(error = %e, "the placement table cannot be read; keeping the slots held");
            return;
        }
    };
    // Ownership first, then the scan: a task stored after the switch is handed out when
    // its batch is applied, one stored before it is found by the scan.
    let gained = shared.ownership.follow(table);
    let tasks = if gained.is_empty() {
        0
    } else {
        stored_tasks::hand_out(shared, &gained)
    };
    info!(
        slots = shared.ownership.count(),
        gained = gained.len(),
        stored_tasks = tasks,
        "placement table followed"
    );
    // Sessions of the slots this node lost go where those slots went.
    crate::session::relocate_moved(shared);
}
