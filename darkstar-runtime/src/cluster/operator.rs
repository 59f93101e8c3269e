//! What an operator reads and changes of a node's cluster through the admin API: the
//! node's log figures, and which nodes are drained.

use std::sync::atomic::Ordering;
use std::sync::Arc;

use etcd_client::GetOptions;

use super::applier::Progress;
use super::error::ClusterError;
use super::members::Membership;
use super::stats::ClusterStats;
use crate::meta::drain_prefix;

/// A node's cluster, as the admin API sees it. Cheap to clone.
#[derive(Clone)]
pub(crate) struct Operator {
    /// This node's name.
    pub node: String,
    cluster: String,
    endpoints: String,
    progress: Arc<Progress>,
    membership: Arc<Membership>,
}

impl Operator {
    pub(super) fn new(
        node: String,
        cluster: String,
        endpoints: String,
        progress: Arc<Progress>,
        membership: Arc<Membership>,
    ) -> Operator {
        Operator {
            node,
            cluster,
            endpoints,
            progress,
            membership,
        }
    }

    /// The last log position this node applied.
    pub fn applied(&self) -> u64 {
        self.progress.applied.load(Ordering::Acquire)
    }

    /// The node's log figures so far.
    pub fn stats(&self) -> ClusterStats {
        self.progress.counters.snapshot()
    }

    /// The nodes an operator asked to drain.
    pub async fn draining(&self) -> Result<Vec<String>, ClusterError> {
        let prefix = drain_prefix(&self.cluster);
        let reply = self
            .membership
            .client()
            .get(prefix.clone(), Some(GetOptions::new().with_prefix()))
            .await
            .map_err(|e| self.etcd_error(format!("cannot read the drained nodes: {e}")))?;
        Ok(reply
            .kvs()
            .iter()
            .filter_map(|kv| Some(kv.key_str().ok()?.strip_prefix(&prefix)?.to_owned()))
            .collect())
    }

    /// Asks the meta-service to drain `node` (`on`) or to end its drain. The leader then
    /// rewrites the placement table.
    pub async fn set_draining(&self, node: &str, on: bool) -> Result<(), ClusterError> {
        let key = format!("{}{node}", drain_prefix(&self.cluster));
        let mut client = self.membership.client();
        let result = if on {
            client.put(key, "drain", None).await.map(drop)
        } else {
            client.delete(key, None).await.map(drop)
        };
        result.map_err(|e| self.etcd_error(format!("cannot change the drain of {node}: {e}")))
    }

    fn etcd_error(&self, reason: String) -> ClusterError {
        ClusterError::Etcd {
            endpoints: self.endpoints.clone(),
            reason,
        }
    }
}
