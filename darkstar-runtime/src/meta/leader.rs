//! The meta-service's leader: elected through an etcd lock, it keeps the placement table in
//! step with the live nodes.
//!
//! Its writes are conditional on the table's revision when it read it and on still holding
//! the lock, so a leader that lost its lease (paused, cut off) cannot overwrite the table
//! its successor wrote.

use std::sync::Arc;
use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, EventType, GetOptions, LockOptions, Txn, TxnOp, WatchOptions,
};
use tracing::{info, warn};

use super::orphans;
use super::table::{assign, Member, Table};
use super::{drain_prefix, nodes_prefix, placement_key};
use crate::shared::Shared;

/// How often the leader looks again even if membership has not changed.
const RESCAN_EVERY: Duration = Duration::from_secs(5);

/// Campaigns, then leads, for as long as the node lives.
pub(crate) async fn run(
    client: Client,
    cluster: String,
    lease: i64,
    grace: Duration,
    shared: Arc<Shared>,
) {
    let mut orphans = orphans::Orphans::new(grace);
    loop {
        if let Err(e) = lead(client.clone(), &cluster, lease, &shared, &mut orphans).await {
            warn!(error = %e, "the meta-service's leader loop failed; campaigning again");
            tokio::time::sleep(Duration::from_millis(500)).await;
        }
    }
}

/// The `incarnation` in a node's registration.
fn incarnation_in(value: &str) -> Option<u64> {
    let (_, rest) = value.split_once("\"incarnation\":")?;
    rest.trim_start()
        .split(|c: char| !c.is_ascii_digit())
        .next()?
        .parse()
        .ok()
}

/// A text field a node published in its registration
/// (`{"address":"host:port","ws_address":"",...}`); empty if absent.
fn field_in(value: &str, field: &str) -> String {
    value
        .split_once(&format!("\"{field}\":\""))
        .and_then(|(_, rest)| rest.split_once('"'))
        .map_or_else(String::new, |(a, _)| a.to_owned())
}

async fn lead(
    mut client: Client,
    cluster: &str,
    lease: i64,
    shared: &Shared,
    orphans: &mut orphans::Orphans,
) -> Result<(), etcd_client::Error> {
    let lock = client
        .lock(
            format!("/{cluster}/locks/meta"),
            Some(LockOptions::new().with_lease(lease)),
        )
        .await?
        .key()
        .to_vec();
    info!("this node leads the meta-service");
    let prefix = nodes_prefix(cluster);
    let drains = drain_prefix(cluster);
    let key = placement_key(cluster);
    // One watch covers membership and drains: everything under the cluster's prefix,
    // of which only those two ranges matter.
    let everything = format!("/{cluster}/");
    loop {
        let members = client
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await?;
        let revision = members.header().map_or(0, |h| h.revision());
        let live: Vec<Member> = members
            .kvs()
            .iter()
            .filter_map(|kv| {
                let name = kv.key_str().ok()?.strip_prefix(&prefix)?.to_owned();
                let value = kv.value_str().unwrap_or_default();
                Some(Member {
                    name,
                    address: field_in(value, "address"),
                    ws_address: field_in(value, "ws_address"),
                })
            })
            .collect();
        let incarnations: Vec<u64> = members
            .kvs()
            .iter()
            .filter_map(|kv| incarnation_in(kv.value_str().unwrap_or_default()))
            .collect();
        // Only from a replica caught up with the log (once this node has started): a stale
        // one would miss sessions recorded lately.
        let ended = if shared.ownership.started() {
            orphans.end(shared, &incarnations, std::time::Instant::now())
        } else {
            0
        };
        if ended > 0 {
            info!(sessions = ended, "ending the sessions of nodes that died");
        }
        let draining: Vec<String> = client
            .get(drains.clone(), Some(GetOptions::new().with_prefix()))
            .await?
            .kvs()
            .iter()
            .filter_map(|kv| Some(kv.key_str().ok()?.strip_prefix(&drains)?.to_owned()))
            .collect();
        let stored = client.get(key.clone(), None).await?;
        let (current, modified) = match stored.kvs().first() {
            Some(kv) => (
                Table::decode(kv.value_str().unwrap_or_default()).unwrap_or_else(|e| {
                    warn!(error = %e, "the stored placement table cannot be read; rebuilding it");
                    Table::default()
                }),
                kv.mod_revision(),
            ),
            None => (Table::default(), 0),
        };
        let next = assign(&current, &live, &draining);
        if next != current {
            let txn = Txn::new()
                .when([
                    Compare::mod_revision(key.clone(), CompareOp::Equal, modified),
                    Compare::create_revision(lock.clone(), CompareOp::Greater, 0),
                ])
                .and_then([TxnOp::put(key.clone(), next.encode(), None)]);
            if !client.txn(txn).await?.succeeded() {
                // Changed under us, or the lock is gone: read again (and campaign again if
                // this node no longer leads).
                if client.get(lock.clone(), None).await?.kvs().is_empty() {
                    return Ok(());
                }
                continue;
            }
            info!(nodes = ?next.nodes, draining = ?draining, "placement table written");
        }
        // Until membership or a drain changes.
        let mut events = client
            .watch(
                everything.clone(),
                Some(
                    WatchOptions::new()
                        .with_prefix()
                        .with_start_revision(revision + 1),
                ),
            )
            .await?;
        loop {
            // Also every few seconds: sessions a dead node recorded late reach this
            // replica after its death was noticed.
            let Ok(message) = tokio::time::timeout(RESCAN_EVERY, events.message()).await else {
                break;
            };
            match message? {
                Some(reply)
                    if reply.events().iter().any(|e| {
                        matches!(e.event_type(), EventType::Put | EventType::Delete)
                            && e.kv()
                                .and_then(|kv| kv.key_str().ok())
                                .is_some_and(|k| k.starts_with(&prefix) || k.starts_with(&drains))
                    }) =>
                {
                    break
                }
                Some(_) => {}
                None => return Ok(()),
            }
        }
    }
}
