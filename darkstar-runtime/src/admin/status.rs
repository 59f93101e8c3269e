//! The shapes the admin API answers with (`/api/v1/status`, `/api/v1/placement`,
//! `/api/v1/sessions`), and how they are read off the running server. Object and session
//! ids are decimal strings, since JSON numbers lose integers above 2^53; every other
//! number is a JSON number. Counters are totals since the server started.

use std::sync::atomic::Ordering;
use std::time::{SystemTime, UNIX_EPOCH};

use serde::Serialize;

use super::view::View;
use crate::histogram::{Histogram, BOUNDS};
use crate::stats::{RuntimeStats, TaskTotals};

/// `GET /api/v1/status`.
#[derive(Serialize)]
pub(crate) struct Status {
    pub version: &'static str,
    /// The server's clock, in milliseconds since the Unix epoch: rates come from two
    /// answers' counters over their `now_ms`.
    pub now_ms: u64,
    pub uptime_ms: u64,
    /// This node's name in its cluster; `null` on a server of its own.
    pub node: Option<String>,
    pub totals: Totals,
    pub cores: Vec<CoreStatus>,
    pub tasks: Vec<TaskStatus>,
    /// Latency histograms by name.
    pub latency: std::collections::BTreeMap<&'static str, LatencyStatus>,
    pub sessions: SessionsStatus,
    pub network: NetworkStatus,
    pub store: StoreStatus,
    pub cluster: Option<ClusterStatus>,
}

#[derive(Serialize)]
pub(crate) struct Totals {
    pub committed: u64,
    pub conflicts: u64,
    pub failed: u64,
    pub batches: u64,
    pub retries: u64,
}

#[derive(Serialize)]
pub(crate) struct CoreStatus {
    pub core: usize,
    /// Microseconds spent running batches: over wall time, how busy the core is.
    pub busy_us: u64,
    pub committed: u64,
    pub conflicts: u64,
    pub failed: u64,
    pub batches: u64,
    pub timers: u64,
}

#[derive(Serialize)]
pub(crate) struct TaskStatus {
    pub task: &'static str,
    #[serde(flatten)]
    pub totals: TaskTotals,
}

/// `counts[i]` counts values below `bounds_us[i]` and at or above `bounds_us[i - 1]`; the
/// last, one more than the bounds, counts the rest.
#[derive(Serialize)]
pub(crate) struct LatencyStatus {
    pub title: &'static str,
    pub bounds_us: Vec<u64>,
    pub counts: Vec<u64>,
    pub count: u64,
    pub sum_us: u64,
}

#[derive(Serialize)]
pub(crate) struct SessionsStatus {
    /// Sessions this server holds now.
    pub live: usize,
    /// Sessions the store records (in a cluster, every node's).
    pub stored: usize,
    /// Channels that exist.
    pub channels: usize,
}

#[derive(Serialize)]
pub(crate) struct NetworkStatus {
    pub tcp_addr: Option<String>,
    pub ws_addr: Option<String>,
    /// Client connections accepted.
    pub connections: u64,
    /// Logins accepted.
    pub logins: u64,
}

#[derive(Serialize)]
pub(crate) struct StoreStatus {
    pub last_seq: u64,
    pub durable_seq: u64,
    pub segments: usize,
    pub live_bytes: u64,
    pub used_bytes: u64,
    pub keys: usize,
    pub syncs: u64,
    pub compacted_segments: u64,
    pub reclaimed_bytes: u64,
}

#[derive(Serialize)]
pub(crate) struct ClusterStatus {
    pub node: String,
    /// The last log position this node applied.
    pub log_position: u64,
    /// The highest log position this node has read.
    pub head_seen: u64,
    /// Time from a record's append to its apply here.
    pub lag_us: LagStatus,
    pub records_applied: u64,
    pub batches_committed: u64,
    pub batches_conflicted: u64,
    pub nodes: Vec<NodeStatus>,
}

#[derive(Serialize)]
pub(crate) struct LagStatus {
    pub p50: u64,
    pub p99: u64,
}

/// A node of the placement table.
#[derive(Serialize)]
pub(crate) struct NodeStatus {
    pub name: String,
    /// Where its clients connect (empty: not published).
    pub address: String,
    /// Slots it owns.
    pub slots: usize,
    /// Whether an operator asked to drain it.
    pub draining: bool,
    /// Whether it is the node answering.
    pub this: bool,
}

/// `GET /api/v1/placement`.
#[derive(Serialize)]
pub(crate) struct PlacementStatus {
    pub cores: usize,
    pub slots_per_core: Vec<usize>,
    pub hot: Vec<HotStatus>,
    pub groups: Vec<GroupStatus>,
}

#[derive(Serialize)]
pub(crate) struct HotStatus {
    pub id: String,
    pub conflicts: u64,
    pub group: usize,
    pub core: usize,
}

/// Hot objects that conflicted with each other, so their tasks run on one core.
#[derive(Serialize)]
pub(crate) struct GroupStatus {
    pub group: usize,
    pub core: usize,
    pub objects: Vec<String>,
}

/// `GET /api/v1/sessions`.
#[derive(Serialize)]
pub(crate) struct SessionsList {
    pub total: usize,
    pub sessions: Vec<SessionStatus>,
}

#[derive(Serialize)]
pub(crate) struct SessionStatus {
    pub id: String,
    pub identity: String,
    /// Whether a connection carries it now (not: waiting for its client to resume).
    pub connected: bool,
}

/// Most hot objects listed.
const MAX_HOT: usize = 100;

impl Status {
    /// Reads the server's figures now; `draining` lists the drained nodes of its cluster.
    pub fn read(view: &View, draining: &[String]) -> Status {
        let shared = &view.shared;
        let totals = RuntimeStats::sum(&shared.counters);
        let names = shared.registry.names();
        let mut tasks: Vec<TaskStatus> = names
            .iter()
            .enumerate()
            .map(|(i, &task)| {
                let mut totals = TaskTotals::default();
                for core in &shared.counters {
                    core.tasks[i].add_into(&mut totals);
                }
                TaskStatus { task, totals }
            })
            .collect();
        tasks.sort_by_key(|t| std::cmp::Reverse(t.totals.commits));
        let retries = tasks.iter().map(|t| t.totals.retries).sum();
        let get = |c: &std::sync::atomic::AtomicU64| c.load(Ordering::Relaxed);
        let cores = shared
            .counters
            .iter()
            .enumerate()
            .map(|(core, c)| CoreStatus {
                core,
                busy_us: get(&c.busy_us),
                committed: get(&c.committed),
                conflicts: get(&c.conflicts),
                failed: get(&c.failed),
                batches: get(&c.batches),
                timers: get(&c.timers),
            })
            .collect();
        let latency = [
            (
                "commit",
                "batch start to durable commit",
                (|c: &crate::stats::CoreCounters| &c.commit_latency)
                    as fn(&crate::stats::CoreCounters) -> &Histogram,
            ),
            ("run", "running a batch's tasks", |c| &c.run_latency),
        ]
        .into_iter()
        .map(|(name, title, pick)| {
            let mut counts = [0; BOUNDS + 1];
            let mut sum_us = 0;
            for core in &shared.counters {
                pick(core).add_into(&mut counts, &mut sum_us);
            }
            let status = LatencyStatus {
                title,
                bounds_us: Histogram::bounds_us().to_vec(),
                count: counts.iter().sum(),
                counts: counts.to_vec(),
                sum_us,
            };
            (name, status)
        })
        .collect();
        let snap = shared.store.snapshot();
        let store = shared.store.stats();
        Status {
            version: env!("CARGO_PKG_VERSION"),
            now_ms: SystemTime::now()
                .duration_since(UNIX_EPOCH)
                .map_or(0, |d| d.as_millis() as u64),
            uptime_ms: view.started.elapsed().as_millis() as u64,
            node: view.cluster.as_ref().map(|c| c.node.clone()),
            totals: Totals {
                committed: totals.committed,
                conflicts: totals.conflicts,
                failed: totals.failed,
                batches: totals.batches,
                retries,
            },
            cores,
            tasks,
            latency,
            sessions: SessionsStatus {
                live: shared.sessions.len(),
                stored: crate::names::count_with_prefix(&snap, crate::session::SESSION_PREFIX),
                channels: crate::names::count_with_prefix(&snap, crate::names::CHANNEL),
            },
            network: NetworkStatus {
                tcp_addr: view.tcp_addr.map(|a| a.to_string()),
                ws_addr: view.ws_addr.map(|a| a.to_string()),
                connections: crate::metrics::CONNECTIONS.load(Ordering::Relaxed),
                logins: crate::metrics::LOGINS.load(Ordering::Relaxed),
            },
            store: StoreStatus {
                last_seq: store.last_seq,
                durable_seq: store.durable_seq,
                segments: store.segments,
                live_bytes: store.live_bytes,
                used_bytes: store.used_bytes,
                keys: store.keys,
                syncs: store.syncs,
                compacted_segments: store.compacted_segments,
                reclaimed_bytes: store.reclaimed_bytes,
            },
            cluster: view
                .cluster
                .as_ref()
                .map(|c| ClusterStatus::read(view, c, draining)),
        }
    }
}

impl ClusterStatus {
    fn read(view: &View, operator: &crate::cluster::Operator, draining: &[String]) -> Self {
        let stats = operator.stats();
        ClusterStatus {
            node: operator.node.clone(),
            log_position: operator.applied(),
            head_seen: stats.head_seen,
            lag_us: LagStatus {
                p50: stats.apply_lag_quantile(0.5),
                p99: stats.apply_lag_quantile(0.99),
            },
            records_applied: stats.records_applied,
            batches_committed: stats.batches_committed,
            batches_conflicted: stats.batches_conflicted,
            nodes: nodes(view, &operator.node, draining),
        }
    }
}

/// The nodes of the placement table this node follows.
pub(crate) fn nodes(view: &View, me: &str, draining: &[String]) -> Vec<NodeStatus> {
    let Some(table) = view.shared.ownership.table() else {
        return Vec::new();
    };
    table
        .nodes
        .iter()
        .enumerate()
        .map(|(i, name)| NodeStatus {
            name: name.clone(),
            address: table.addresses.get(i).cloned().unwrap_or_default(),
            slots: table.owners.iter().filter(|&&o| o as usize == i).count(),
            draining: draining.contains(name),
            this: name == me,
        })
        .collect()
}

impl PlacementStatus {
    pub fn read(view: &View) -> PlacementStatus {
        let placement = &view.shared.placement;
        let hot = placement.hot_objects();
        let mut groups: Vec<GroupStatus> = Vec::new();
        for h in &hot {
            match groups.iter_mut().find(|g| g.group == h.group) {
                Some(g) => g.objects.push(h.id.to_string()),
                None => groups.push(GroupStatus {
                    group: h.group,
                    core: h.core,
                    objects: vec![h.id.to_string()],
                }),
            }
        }
        PlacementStatus {
            cores: placement.cores(),
            slots_per_core: placement.slots_per_core(),
            hot: hot
                .iter()
                .take(MAX_HOT)
                .map(|h| HotStatus {
                    id: h.id.to_string(),
                    conflicts: h.conflicts,
                    group: h.group,
                    core: h.core,
                })
                .collect(),
            groups,
        }
    }
}

impl SessionsList {
    /// Sessions in id order, `offset` of them skipped, at most `limit`.
    pub fn read(view: &View, offset: usize, limit: usize) -> SessionsList {
        let mut all = view.shared.sessions.all();
        all.sort_by_key(|l| l.id);
        SessionsList {
            total: all.len(),
            sessions: all
                .iter()
                .skip(offset)
                .take(limit)
                .map(|l| SessionStatus {
                    id: l.id.to_string(),
                    identity: l.identity.clone(),
                    connected: l.is_connected(),
                })
                .collect(),
        }
    }
}
