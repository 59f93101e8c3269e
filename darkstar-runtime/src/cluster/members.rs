//! Membership in etcd: each node's key `/<cluster>/nodes/<name>` lives under the node's
//! lease, so it disappears when the node stops renewing it (dies, or is paused past the
//! lease). The value tells the other nodes where clients reach this node.

use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, LockOptions, PutOptions, Txn, TxnOp,
};
use tracing::{debug, warn};

use super::error::ClusterError;

/// This node's registration.
pub(crate) struct Membership {
    client: Client,
    lease: i64,
    endpoints: String,
    ttl_secs: u64,
}

/// What a node publishes about itself.
pub(crate) struct Announce<'a> {
    pub cluster: &'a str,
    pub node: &'a str,
    pub incarnation: u64,
    pub address: &'a str,
}

fn node_key(cluster: &str, node: &str) -> String {
    format!("/{cluster}/nodes/{node}")
}

impl Membership {
    /// Connects, takes a lease and registers the node under it; refused if a live node has
    /// the same name.
    pub async fn join(
        endpoints: &[String],
        ttl_secs: u64,
        me: &Announce<'_>,
    ) -> Result<Membership, ClusterError> {
        let shown = endpoints.join(",");
        let fail = |e: etcd_client::Error| ClusterError::Etcd {
            endpoints: shown.clone(),
            reason: e.to_string(),
        };
        // No request timeout: waiting for a lock may take long. Keep-alive pings notice a
        // dead connection instead.
        let options = ConnectOptions::new()
            .with_connect_timeout(Duration::from_secs(5))
            .with_keep_alive(Duration::from_secs(1), Duration::from_secs(3))
            .with_keep_alive_while_idle(true);
        let mut client = Client::connect(endpoints, Some(options))
            .await
            .map_err(fail)?;
        let lease = client
            .lease_grant(ttl_secs as i64, None)
            .await
            .map_err(fail)?
            .id();
        let key = node_key(me.cluster, me.node);
        let value = format!(
            "{{\"address\":\"{}\",\"incarnation\":{}}}",
            me.address, me.incarnation
        );
        let txn = Txn::new()
            .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
            .and_then([TxnOp::put(
                key,
                value,
                Some(PutOptions::new().with_lease(lease)),
            )]);
        let joined = client.txn(txn).await.map_err(fail)?.succeeded();
        if !joined {
            let _ = client.lease_revoke(lease).await;
            return Err(ClusterError::NameTaken {
                cluster: me.cluster.to_owned(),
                node: me.node.to_owned(),
                ttl_secs,
            });
        }
        Ok(Membership {
            client,
            lease,
            endpoints: shown,
            ttl_secs,
        })
    }

    /// The etcd client, for the meta-service.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The node's lease.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// Renews the lease until it cannot: returns once the lease is lost (expired while
    /// this node was cut off or paused), after which the node must not go on as a member.
    pub async fn keep_alive(&self) -> ClusterError {
        let mut client = self.client.clone();
        let every = Duration::from_millis((self.ttl_secs * 1000 / 3).max(100));
        let lost = |reason: String| ClusterError::Etcd {
            endpoints: self.endpoints.clone(),
            reason,
        };
        let (mut keeper, mut replies) = match client.lease_keep_alive(self.lease).await {
            Ok(pair) => pair,
            Err(e) => return lost(format!("cannot renew the node's lease: {e}")),
        };
        loop {
            if let Err(e) = keeper.keep_alive().await {
                return lost(format!("cannot renew the node's lease: {e}"));
            }
            match replies.message().await {
                Ok(Some(reply)) if reply.ttl() > 0 => debug!(ttl = reply.ttl(), "lease renewed"),
                Ok(_) => return lost("the node's lease expired".to_owned()),
                Err(e) => return lost(format!("cannot renew the node's lease: {e}")),
            }
            tokio::time::sleep(every).await;
        }
    }

    /// Runs `work` while holding the cluster-wide lock `name` (held under this node's
    /// lease, so a node that dies holding it frees it).
    pub async fn with_lock<T>(
        &self,
        cluster: &str,
        name: &str,
        work: impl std::future::Future<Output = T>,
    ) -> Result<T, ClusterError> {
        let mut client = self.client.clone();
        let fail = |e: etcd_client::Error| ClusterError::Etcd {
            endpoints: self.endpoints.clone(),
            reason: format!("cannot take the {name} lock: {e}"),
        };
        let held = client
            .lock(
                format!("/{cluster}/locks/{name}"),
                Some(LockOptions::new().with_lease(self.lease)),
            )
            .await
            .map_err(fail)?
            .key()
            .to_vec();
        let out = work.await;
        if let Err(e) = client.unlock(held).await {
            warn!(error = %e, lock = name, "cannot release a cluster lock; it goes with the lease");
        }
        Ok(out)
    }

    /// Leaves the cluster at once (rather than when the lease runs out).
    pub async fn leave(&self) {
        let mut client = self.client.clone();
        if let Err(e) = client.lease_revoke(self.lease).await {
            warn!(error = %e, "cannot revoke the node's lease; it expires by itself");
        }
    }
}
