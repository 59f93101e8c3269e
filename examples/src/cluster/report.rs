//! The lines a node prints on its standard output, one event each:
//!
//! ```text
//! ready 127.0.0.1:40123
//! stats ms=1000 committed=5120 conflicts=31 failed=0 batches=80 sessions=10 position=412 head=412 records_applied=412 bytes_applied=901234 batches_committed=398 batches_conflicted=2 records_appended=140 bytes_appended=300123 append_retries=0 lag=0,0,...
//! status node-0 5120 tasks/s  sessions 10  position 412  apply lag p99 2.05ms
//! audit total 1000000000000 expected 1000000000000 negative 0
//! stopped at 912
//! failed <why>
//! ```
//!
//! `stats` counts are totals since the node started (so a missed line loses nothing);
//! the log fields are there only for a cluster node, `lag` being the apply-lag histogram
//! of [`ClusterStats::apply_lag`]. `status` is the same for people.

use std::collections::HashMap;
use std::time::Duration;

use darkstar_runtime::cluster::ClusterStats;
use darkstar_runtime::RuntimeStats;

use crate::bank::Audit;

/// One `stats` line.
#[derive(Clone, Debug, Default, PartialEq, Eq)]
pub struct NodeReport {
    /// Time since the node started serving.
    pub uptime: Duration,
    /// Task totals (`Server::stats`).
    pub runtime: RuntimeStats,
    /// Live sessions.
    pub sessions: usize,
    /// The last log position applied (`Server::log_position`); `None` off a cluster.
    pub position: Option<u64>,
    /// The node's log figures (`Server::cluster_stats`); `None` off a cluster.
    pub cluster: Option<ClusterStats>,
}

impl NodeReport {
    /// The line, `stats ...`.
    pub fn encode(&self) -> String {
        let r = &self.runtime;
        let mut out = format!(
            "stats ms={} committed={} conflicts={} failed={} batches={} sessions={}",
            self.uptime.as_millis(),
            r.committed,
            r.conflicts,
            r.failed,
            r.batches,
            self.sessions
        );
        if let Some(p) = self.position {
            out.push_str(&format!(" position={p}"));
        }
        if let Some(c) = &self.cluster {
            out.push_str(&format!(
                " applied={} head={} records_applied={} bytes_applied={} batches_committed={} \
                 batches_conflicted={} records_appended={} bytes_appended={} append_retries={} lag=",
                c.applied_position,
                c.head_seen,
                c.records_applied,
                c.bytes_applied,
                c.batches_committed,
                c.batches_conflicted,
                c.records_appended,
                c.bytes_appended,
                c.append_retries
            ));
            let lag: Vec<String> = c.apply_lag.iter().map(u64::to_string).collect();
            out.push_str(&lag.join(","));
        }
        out
    }

    /// Reads a `stats` line; `None` if it is not one.
    // The `..default()` keeps this compiling when the runtime adds a figure.
    #[allow(clippy::needless_update)]
    pub fn parse(line: &str) -> Option<NodeReport> {
        let rest = line.strip_prefix("stats ")?;
        let fields: HashMap<&str, &str> = rest
            .split_whitespace()
            .filter_map(|kv| kv.split_once('='))
            .collect();
        let num = |k: &str| -> Option<u64> { fields.get(k)?.parse().ok() };
        let runtime = RuntimeStats {
            committed: num("committed")?,
            conflicts: num("conflicts")?,
            failed: num("failed")?,
            batches: num("batches")?,
            ..RuntimeStats::default()
        };
        let cluster = match fields.get("lag") {
            Some(lag) => {
                let mut apply_lag = ClusterStats::default().apply_lag;
                for (slot, v) in apply_lag.iter_mut().zip(lag.split(',')) {
                    *slot = v.parse().ok()?;
                }
                Some(ClusterStats {
                    applied_position: num("applied")?,
                    head_seen: num("head")?,
                    records_applied: num("records_applied")?,
                    bytes_applied: num("bytes_applied")?,
                    batches_committed: num("batches_committed")?,
                    batches_conflicted: num("batches_conflicted")?,
                    records_appended: num("records_appended")?,
                    bytes_appended: num("bytes_appended")?,
                    append_retries: num("append_retries")?,
                    apply_lag,
                    ..ClusterStats::default()
                })
            }
            None => None,
        };
        Some(NodeReport {
            uptime: Duration::from_millis(num("ms")?),
            runtime,
            sessions: num("sessions")? as usize,
            position: num("position"),
            cluster,
        })
    }

    /// Tasks per second since `earlier` (0 without an earlier report).
    pub fn tasks_per_sec(&self, earlier: Option<&NodeReport>) -> f64 {
        self.rate(earlier, |r| r.runtime.committed)
    }

    /// Conflicts per second since `earlier`.
    pub fn conflicts_per_sec(&self, earlier: Option<&NodeReport>) -> f64 {
        self.rate(earlier, |r| r.runtime.conflicts)
    }

    fn rate(&self, earlier: Option<&NodeReport>, of: impl Fn(&NodeReport) -> u64) -> f64 {
        let Some(e) = earlier else { return 0.0 };
        let secs = self.uptime.saturating_sub(e.uptime).as_secs_f64();
        if secs <= 0.0 {
            return 0.0;
        }
        of(self).saturating_sub(of(e)) as f64 / secs
    }

    /// The log figures since `earlier` (all of them without one); `None` off a cluster.
    pub fn cluster_since(&self, earlier: Option<&NodeReport>) -> Option<ClusterStats> {
        let now = self.cluster.as_ref()?;
        Some(match earlier.and_then(|e| e.cluster.as_ref()) {
            Some(e) => now.since(e),
            None => now.clone(),
        })
    }

    /// The `status` line's text, with rates since `earlier`.
    pub fn describe(&self, earlier: Option<&NodeReport>) -> String {
        let mut out = format!(
            "{:>8.0} tasks/s  sessions {:>4}",
            self.tasks_per_sec(earlier),
            self.sessions
        );
        if let Some(p) = self.position {
            out.push_str(&format!("  position {p:>8}"));
        }
        if let Some(c) = self.cluster_since(earlier) {
            out.push_str(&format!(
                "  apply lag p99 {}",
                micros(c.apply_lag_quantile(0.99))
            ));
        }
        out
    }
}

/// A lag in microseconds, for people: `850us`, `2.05ms`, `1.20s`.
pub fn micros(us: u64) -> String {
    match us {
        0..=999 => format!("{us}us"),
        1000..=999_999 => format!("{:.2}ms", us as f64 / 1e3),
        _ => format!("{:.2}s", us as f64 / 1e6),
    }
}

/// One `audit` line: the bank's audit as the node saw it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct AuditLine {
    /// Sum of every balance.
    pub total: i128,
    /// What it must be.
    pub expected: i128,
    /// Accounts below zero.
    pub negative: u64,
}

impl From<Audit> for AuditLine {
    fn from(a: Audit) -> AuditLine {
        AuditLine {
            total: a.total,
            expected: a.expected,
            negative: a.negative,
        }
    }
}

impl AuditLine {
    /// The line, `audit total T expected E negative N`.
    pub fn encode(&self) -> String {
        format!(
            "audit total {} expected {} negative {}",
            self.total, self.expected, self.negative
        )
    }

    /// Reads an `audit` line; `None` if it is not one.
    pub fn parse(line: &str) -> Option<AuditLine> {
        let mut words = line.strip_prefix("audit ")?.split_whitespace();
        let mut field = |name: &str| -> Option<&str> {
            (words.next()? == name).then_some(())?;
            words.next()
        };
        Some(AuditLine {
            total: field("total")?.parse().ok()?,
            expected: field("expected")?.parse().ok()?,
            negative: field("negative")?.parse().ok()?,
        })
    }

    /// Whether no money was created or lost and no balance went negative.
    pub fn holds(&self) -> bool {
        self.total == self.expected && self.negative == 0
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    #[allow(clippy::needless_update)]
    fn lines_read_back() {
        let mut cluster = ClusterStats {
            applied_position: 9,
            head_seen: 10,
            records_applied: 9,
            bytes_applied: 900,
            batches_committed: 20,
            batches_conflicted: 1,
            records_appended: 3,
            bytes_appended: 300,
            append_retries: 0,
            ..ClusterStats::default()
        };
        cluster.apply_lag[10] = 7;
        let report = NodeReport {
            uptime: Duration::from_millis(1500),
            runtime: RuntimeStats {
                committed: 100,
                conflicts: 2,
                failed: 0,
                batches: 5,
                ..RuntimeStats::default()
            },
            sessions: 4,
            position: Some(9),
            cluster: Some(cluster),
        };
        assert_eq!(NodeReport::parse(&report.encode()), Some(report.clone()));
        let alone = NodeReport {
            position: None,
            cluster: None,
            ..report
        };
        assert_eq!(NodeReport::parse(&alone.encode()), Some(alone));
        let audit = AuditLine {
            total: 10,
            expected: 10,
            negative: 0,
        };
        assert_eq!(AuditLine::parse(&audit.encode()), Some(audit));
        assert!(NodeReport::parse("ready 1.2.3.4:5").is_none());
    }
}
