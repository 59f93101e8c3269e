//! Many nodes, one world: the shared commit log in PostgreSQL, membership in etcd.
//!
//! Every node keeps a full replica of the store. A core's batch is proposed to the log
//! ([`ReplicaData`], the cluster's [`DataService`](crate::data::DataService)); the
//! [`proposer`] groups the node's proposals into records and appends them; the [`applier`]
//! reads every record in position order, the node's own too, and applies it to the local
//! replica through the store's validation, so every replica reaches the same verdicts and
//! the same state. A batch commits when its record is applied; only then are its replies
//! and deliveries sent. etcd holds the node's registration under its lease
//! ([`members`]), and the lock that lets one node at a time check the catalog and run
//! `initialize`.

mod applier;
mod checkpoint;
pub(crate) mod cursor;
pub(crate) mod deliveries;
mod error;
mod ids;
mod log;
mod members;
mod operator;
mod ownership;
mod proposer;
mod record;
mod replica;
mod stats;

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use darkstar_storage::Store;
use tracing::{error, info};

pub use error::{ClusterError, RecordError};
pub(crate) use log::Log;
pub(crate) use ownership::{identity_key, Ownership};
pub(crate) use replica::ReplicaData;
pub use stats::ClusterStats;

use crate::config::Config;
use crate::shared::Shared;
use applier::Progress;
use members::{Announce, Lost, Membership};
pub(crate) use operator::Operator;

/// What a node needs to know of its cluster, from the configuration.
#[derive(Clone, Debug)]
pub(crate) struct Settings {
    pub etcd: Vec<String>,
    pub postgres: String,
    /// The cluster's name: etcd prefix and PostgreSQL schema.
    pub cluster: String,
    pub node: String,
    /// Where clients reach this node.
    pub address: String,
    pub ttl_secs: u64,
    /// Records between checkpoints (0: none).
    pub checkpoint_records: u64,
    /// Records younger than this are never trimmed (the resume window).
    pub keep_secs: u64,
    /// How long the sessions of a node that died wait for their clients to resume them
    /// on another node.
    pub resume_window: std::time::Duration,
}

impl Settings {
    /// The cluster settings of `config`, if it makes the server a cluster node
    /// (`Config::validate` has checked they fit together).
    pub fn of(config: &Config) -> Option<Settings> {
        let (etcd, postgres) = (
            config.cluster_etcd.as_ref()?,
            config.cluster_postgres.as_ref()?,
        );
        // A listener on port 0 has no address yet: the node publishes it once bound
        // (`Node::publish_address`), and until then other nodes redirect no one to it.
        let address = config
            .advertise_addr
            .clone()
            .or_else(|| {
                config
                    .tcp_addr
                    .filter(|a| a.port() != 0)
                    .map(|a| a.to_string())
            })
            .unwrap_or_default();
        let node = config.node_name.clone().unwrap_or_else(host_name);
        Some(Settings {
            etcd: etcd.split(',').map(|e| e.trim().to_owned()).collect(),
            postgres: postgres.clone(),
            cluster: config.cluster_name.clone(),
            node,
            address,
            ttl_secs: config.lease_ttl_secs,
            checkpoint_records: config.checkpoint_records,
            keep_secs: u64::from(config.resume_window_ms).div_ceil(1000),
            resume_window: std::time::Duration::from_millis(u64::from(config.resume_window_ms)),
        })
    }
}

fn host_name() -> String {
    std::fs::read_to_string("/proc/sys/kernel/hostname")
        .map(|h| h.trim().to_owned())
        .ok()
        .filter(|h| !h.is_empty())
        .unwrap_or_else(|| "node".to_owned())
}

/// A server's membership of its cluster: the threads that propose and apply, and its
/// registration.
pub(crate) struct Node {
    settings: Settings,
    runtime: Option<tokio::runtime::Runtime>,
    membership: Arc<Membership>,
    replica: Arc<ReplicaData>,
    progress: Arc<Progress>,
    /// The proposer's input; taken by `start`.
    entries: Option<flume::Receiver<Vec<u8>>>,
    /// Why the lease was lost, once it is; renewing starts as soon as the node joins,
    /// since opening a large replica may take longer than a lease lives.
    lost: Arc<Lost>,
}

impl Node {
    /// Connects to the log and to etcd, takes this run's incarnation and registers the
    /// node. Fails, naming which service and why, before anything is started.
    pub fn join(settings: Settings) -> Result<Node, ClusterError> {
        let runtime = tokio::runtime::Builder::new_multi_thread()
            .worker_threads(1)
            .thread_name("darkstar-cluster")
            .enable_all()
            .build()
            .map_err(|e| ClusterError::Postgres {
                conninfo: log::redacted(&settings.postgres),
                reason: format!("cannot start the cluster thread: {e}"),
            })?;
        let (incarnation, membership) = runtime.block_on(async {
            let log = log::Log::connect(&settings.postgres, &settings.cluster, None, true).await?;
            let incarnation = log.incarnation(&settings.cluster, &settings.node).await?;
            if incarnation >= replica::MAX_INCARNATION {
                return Err(ClusterError::Postgres {
                    conninfo: log::redacted(&settings.postgres),
                    reason: format!(
                        "the cluster's nodes have started {incarnation} times, and runs are \
                         numbered below {}: start a new cluster (another cluster_name)",
                        replica::MAX_INCARNATION
                    ),
                });
            }
            let me = Announce {
                cluster: &settings.cluster,
                node: &settings.node,
                incarnation,
                address: &settings.address,
                ws_address: "",
            };
            let membership = Membership::join(&settings.etcd, settings.ttl_secs, &me).await?;
            Ok::<_, ClusterError>((incarnation, membership))
        })?;
        let membership = Arc::new(membership);
        let lost = Arc::new(Lost::default());
        {
            let (membership, lost) = (membership.clone(), lost.clone());
            runtime.spawn(async move {
                let why = membership.keep_alive().await;
                lost.set(why.to_string());
            });
        }
        let (tx, rx) = flume::unbounded();
        info!(
            cluster = %settings.cluster,
            node = %settings.node,
            incarnation,
            "joined the cluster"
        );
        Ok(Node {
            settings,
            runtime: Some(runtime),
            membership,
            lost,
            replica: Arc::new(ReplicaData::new(incarnation, tx)),
            progress: Arc::new(Progress::default()),
            entries: Some(rx),
        })
    }

    /// This node's name in the cluster.
    pub fn name(&self) -> &str {
        &self.settings.node
    }

    /// Publishes where clients reach this node, over TCP (`address`) and WebSocket
    /// (`ws_address`, empty for none), once its listeners are bound, so the ports are the
    /// ones the system chose.
    pub fn publish_address(&mut self, address: &str, ws_address: &str) -> Result<(), ClusterError> {
        self.settings.address = address.to_owned();
        let me = Announce {
            cluster: &self.settings.cluster,
            node: &self.settings.node,
            incarnation: self.replica.incarnation(),
            address,
            ws_address,
        };
        let membership = self.membership.clone();
        self.runtime().block_on(membership.publish(&me))
    }

    /// The data service cores commit through.
    pub fn replica(&self) -> Arc<ReplicaData> {
        self.replica.clone()
    }

    fn runtime(&self) -> &tokio::runtime::Runtime {
        self.runtime.as_ref().expect("running until stopped")
    }

    /// A replica that holds nothing yet starts from the latest checkpoint, if there is
    /// one: it then applies only the log after it. Returns the checkpoint's position.
    pub fn restore_if_empty(&self, store: &Store) -> Result<Option<u64>, ClusterError> {
        if store.snapshot().name(applier::APPLIED).is_some() {
            return Ok(None);
        }
        let settings = &self.settings;
        let Some((position, chunks)) = self.runtime().block_on(async {
            let mut log =
                log::Log::connect(&settings.postgres, &settings.cluster, None, false).await?;
            // What this node reported before its store was lost no longer holds: until it
            // reports again, trimming keeps everything.
            log.forget_applied(&settings.cluster, &settings.node)
                .await?;
            log.latest_checkpoint(&settings.cluster).await
        })?
        else {
            return Ok(None);
        };
        let entries = checkpoint::restore(store, &chunks)
            .map_err(|source| ClusterError::Record { position, source })?;
        info!(position, entries, "restored a checkpoint of the world");
        Ok(Some(position))
    }

    /// Starts proposing, applying and renewing the lease. A lost lease stops the server:
    /// a node the cluster counts as dead must not go on serving.
    pub fn start(&mut self, shared: Arc<Shared>) {
        let entries = self.entries.take().expect("started once");
        let rt = self.runtime();
        rt.spawn(proposer::run(
            self.settings.clone(),
            self.replica.incarnation(),
            entries,
            self.progress.clone(),
        ));
        rt.spawn(applier::run(
            self.settings.clone(),
            shared.clone(),
            self.replica.clone(),
            self.progress.clone(),
        ));
        // Both end when the lease is lost: a node out of the cluster neither leads nor
        // takes slots.
        let lost = self.lost.clone();
        let leader = crate::meta::leader::run(
            self.membership.client(),
            self.settings.cluster.clone(),
            self.membership.lease(),
            self.settings.resume_window,
            shared.clone(),
        );
        rt.spawn(async move {
            futures_lite::future::or(leader, async {
                lost.wait().await;
            })
            .await
        });
        let lost = self.lost.clone();
        let checkpointer = crate::meta::checkpointer::run(
            self.membership.client(),
            self.settings.clone(),
            self.membership.lease(),
            shared.clone(),
        );
        rt.spawn(async move {
            futures_lite::future::or(checkpointer, async {
                lost.wait().await;
            })
            .await
        });
        let lost = self.lost.clone();
        let follower = crate::meta::follower::run(
            self.membership.client(),
            self.settings.cluster.clone(),
            shared.clone(),
        );
        rt.spawn(async move {
            futures_lite::future::or(follower, async {
                lost.wait().await;
            })
            .await
        });
        let lost = self.lost.clone();
        let relocator = crate::session::relocate::run(shared.clone());
        rt.spawn(async move {
            futures_lite::future::or(relocator, async {
                lost.wait().await;
            })
            .await
        });
        let lost = self.lost.clone();
        rt.spawn(async move {
            let why = lost.wait().await;
            // At once: a node out of the cluster runs no stored task of its old slots.
            shared.ownership.forsake();
            error!(error = %why, "this node lost its place in the cluster; stopping");
            shared.stop_because(format!("this node lost its place in the cluster: {why}"));
        });
    }

    /// Blocks until the replica has applied everything the log held when called.
    pub fn catch_up(&self) -> Result<(), ClusterError> {
        let settings = &self.settings;
        let progress = self.progress.clone();
        let replica = self.replica.clone();
        self.runtime().block_on(async {
            let log = log::Log::connect(&settings.postgres, &settings.cluster, None, false).await?;
            let head = log.head(&settings.cluster).await?;
            loop {
                let waiting = progress.advanced.notified();
                if progress.applied.load(Ordering::Acquire) >= head {
                    return Ok(());
                }
                if let Some(why) = replica.failure() {
                    return Err(ClusterError::Apply {
                        position: progress.applied.load(Ordering::Acquire) + 1,
                        reason: why.to_owned(),
                    });
                }
                // `waiting` was created before the load, so it catches every record
                // applied after it; the timeout is only a backstop.
                let _ = tokio::time::timeout(Duration::from_secs(1), waiting).await;
            }
        })
    }

    /// Runs `work` while holding the cluster-wide start-up lock, after catching up with
    /// the log: one node at a time checks the catalog and runs `initialize`.
    pub fn exclusively<T>(&self, work: impl FnOnce() -> T) -> Result<T, ClusterError> {
        let membership = self.membership.clone();
        let cluster = self.settings.cluster.clone();
        let (locked_tx, locked_rx) = std::sync::mpsc::channel();
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let held = self.runtime().spawn(async move {
            membership
                .with_lock(&cluster, "startup", async move {
                    let _ = locked_tx.send(());
                    let _ = done_rx.await;
                })
                .await
        });
        if locked_rx.recv().is_err() {
            return Err(self
                .runtime()
                .block_on(held)
                .expect("the lock task does not panic")
                .expect_err("the lock is taken before the work runs"));
        }
        self.catch_up()?;
        let out = work();
        let _ = done_tx.send(());
        self.runtime()
            .block_on(held)
            .expect("the lock task does not panic")?;
        Ok(out)
    }

    /// The last log position this node applied.
    pub fn applied(&self) -> u64 {
        self.progress.applied.load(Ordering::Acquire)
    }

    /// The node's log figures so far.
    pub fn stats(&self) -> ClusterStats {
        self.progress.counters.snapshot()
    }

    /// What the admin API reads and changes of this node's cluster.
    pub fn operator(&self) -> Operator {
        Operator::new(
            self.settings.node.clone(),
            self.settings.cluster.clone(),
            self.settings.etcd.join(","),
            self.progress.clone(),
            self.membership.clone(),
        )
    }

    /// Leaves the cluster and stops the node's threads. Call after the cores stopped.
    pub fn stop(&mut self) {
        if let Some(rt) = self.runtime.take() {
            self.progress.stop.store(true, Ordering::Release);
            self.progress.stopped.notify_waiters();
            rt.block_on(self.membership.leave());
            rt.shutdown_timeout(Duration::from_secs(5));
        }
    }
}

impl Drop for Node {
    fn drop(&mut self) {
        self.stop();
    }
}

/// Opens the local replica of a cluster node.
pub(crate) fn replica_options(mut options: darkstar_storage::Options) -> darkstar_storage::Options {
    options.replica = true;
    // The shared log is what is durable; the replica is rebuilt from it, so it syncs at
    // its own pace.
    options.durability = darkstar_storage::Durability::Relaxed {
        interval: Duration::from_millis(200),
    };
    options
}

/// A checkpoint of `store`: the position of its last installed batch's record, and its
/// state in chunks.
pub(crate) fn checkpoint_of(store: &Store) -> (u64, Vec<Vec<u8>>) {
    let snap = store.snapshot();
    let position = snap.name(applier::APPLIED).map_or(0, |b| b.id >> 16);
    (position, checkpoint::encode(&snap))
}

/// The replica's last applied position (for tools and tests that open a stopped node's
/// store).
pub fn applied_position(store: &Store) -> u64 {
    let (position, skip) = applier::resume_point(store);
    if skip == 0 {
        position - 1
    } else {
        position
    }
}
