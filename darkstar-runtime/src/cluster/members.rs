//! Membership in etcd: each node's key `/<cluster>/nodes/<name>` lives under the node's
//! lease, so it disappears when the node stops renewing it (dies, or is paused past the
//! lease). The value tells the other nodes where clients reach this node.

use std::time::Duration;

use etcd_client::{
    Client, Compare, CompareOp, ConnectOptions, LockOptions, PutOptions, Txn, TxnOp,
};
use tracing::{debug, info, warn};

use super::error::ClusterError;

/// Whether this node's lease is lost, and why: set once, by the keep-alive.
#[derive(Default)]
pub(crate) struct Lost {
    why: std::sync::OnceLock<String>,
    notify: tokio::sync::Notify,
}

impl Lost {
    pub fn set(&self, why: String) {
        let _ = self.why.set(why);
        self.notify.notify_waiters();
    }

    pub fn get(&self) -> Option<&str> {
        self.why.get().map(String::as_str)
    }

    /// Waits until the lease is lost; returns why.
    pub async fn wait(&self) -> &str {
        let notified = self.notify.notified();
        if let Some(why) = self.get() {
            return why;
        }
        notified.await;
        self.get().unwrap_or_default()
    }
}

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
    /// Where TCP clients reach it (empty: not yet known).
    pub address: &'a str,
    /// Where WebSocket clients reach it (empty: it takes none).
    pub ws_address: &'a str,
}

fn node_key(cluster: &str, node: &str) -> String {
    format!("/{cluster}/nodes/{node}")
}

fn node_value(me: &Announce<'_>) -> String {
    format!(
        "{{\"address\":\"{}\",\"ws_address\":\"{}\",\"incarnation\":{}}}",
        me.address, me.ws_address, me.incarnation
    )
}

impl Membership {
    /// Connects, takes a lease and registers the node under it; refused if a live node has
    /// the same name. A node restarted right after it died finds its old key still there
    /// until the old lease runs out, so the name is tried again for a little longer than
    /// a lease lives before it counts as taken.
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
        let key = node_key(me.cluster, me.node);
        let value = node_value(me);
        let deadline = tokio::time::Instant::now() + Duration::from_secs(ttl_secs + 2);
        let mut lease = 0;
        let joined = loop {
            let taken = !client
                .get(key.clone(), None)
                .await
                .map_err(fail)?
                .kvs()
                .is_empty();
            if taken {
                if tokio::time::Instant::now() >= deadline {
                    break false;
                }
                tokio::time::sleep(Duration::from_millis(200)).await;
                continue;
            }
            lease = client
                .lease_grant(ttl_secs as i64, None)
                .await
                .map_err(fail)?
                .id();
            let txn = Txn::new()
                .when([Compare::create_revision(key.clone(), CompareOp::Equal, 0)])
                .and_then([TxnOp::put(
                    key.clone(),
                    value.clone(),
                    Some(PutOptions::new().with_lease(lease)),
                )]);
            if client.txn(txn).await.map_err(fail)?.succeeded() {
                break true;
            }
            // Taken between the look and the write: look again.
            let _ = client.lease_revoke(lease).await;
        };
        if !joined {
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

    /// Rewrites this node's registration (under its lease), with a new address.
    pub async fn publish(&self, me: &Announce<'_>) -> Result<(), ClusterError> {
        let mut client = self.client.clone();
        client
            .put(
                node_key(me.cluster, me.node),
                node_value(me),
                Some(PutOptions::new().with_lease(self.lease)),
            )
            .await
            .map_err(|e| ClusterError::Etcd {
                endpoints: self.endpoints.clone(),
                reason: format!("cannot publish the node's address: {e}"),
            })?;
        Ok(())
    }

    /// The etcd client, for the meta-service.
    pub fn client(&self) -> Client {
        self.client.clone()
    }

    /// The node's lease.
    pub fn lease(&self) -> i64 {
        self.lease
    }

    /// Renews the lease until it is lost: returns once etcd says the lease expired (this
    /// node was cut off or paused past it), after which the node must not go on as a
    /// member. While etcd cannot be reached it keeps trying: nothing this node
    /// acknowledges depends on etcd, and a lease etcd still holds when it is back is this
    /// node's place still.
    pub async fn keep_alive(&self) -> ClusterError {
        let every = Duration::from_millis((self.ttl_secs * 1000 / 3).max(100));
        let lost = |reason: String| ClusterError::Etcd {
            endpoints: self.endpoints.clone(),
            reason,
        };
        let mut warned = false;
        loop {
            let mut client = self.client.clone();
            match client.lease_keep_alive(self.lease).await {
                Ok((mut keeper, mut replies)) => loop {
                    if keeper.keep_alive().await.is_err() {
                        break;
                    }
                    match replies.message().await {
                        Ok(Some(reply)) if reply.ttl() > 0 => {
                            if warned {
                                info!("etcd answers again; the node's lease holds");
                                warned = false;
                            }
                            debug!(ttl = reply.ttl(), "lease renewed");
                        }
                        Ok(Some(_)) => return lost("the node's lease expired".to_owned()),
                        Ok(None) | Err(_) => break,
                    }
                    tokio::time::sleep(every).await;
                },
                Err(e) if e.to_string().contains("lease not found") => {
                    return lost("the node's lease expired".to_owned())
                }
                Err(_) => {}
            }
            if !warned {
                warn!("cannot renew the node's lease in etcd; trying again");
                warned = true;
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
