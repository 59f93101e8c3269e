//! Load over connections: each connection is a lane that keeps up to `depth` transfer
//! requests in flight, drawn from its own random stream, and reports every reply. The same
//! lanes drive Darkstar sessions and the peer systems of the benchmark, so all are measured
//! with one generator.

use std::future::Future;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use super::driver::{LoadStats, Workload};
use super::rng::Rng;
use super::zipf::Zipf;
use crate::bank::request::{Outcome, TransferRequest};

/// One connection's share of the load.
pub struct Lane {
    zipf: Arc<Zipf>,
    rng: Rng,
    max_amount: i64,
    next_id: u64,
    depth: usize,
    stats: Arc<LoadStats>,
    stop: Arc<AtomicBool>,
}

impl Lane {
    /// Requests this lane keeps in flight at most.
    pub fn depth(&self) -> usize {
        self.depth
    }

    /// The next request to send, or `None` once the load is stopping (then answer what is
    /// in flight and return).
    pub fn next_request(&mut self) -> Option<TransferRequest> {
        if self.stop.load(Ordering::Relaxed) {
            return None;
        }
        let from = self.zipf.sample(&mut self.rng);
        let mut to = self.zipf.sample(&mut self.rng);
        while to == from {
            to = self.zipf.sample(&mut self.rng);
        }
        self.next_id += 1;
        self.stats.submitted.fetch_add(1, Ordering::Relaxed);
        Some(TransferRequest {
            id: self.next_id,
            from: u32::try_from(from).expect("account numbers fit in u32"),
            to: u32::try_from(to).expect("account numbers fit in u32"),
            amount: 1 + self.rng.below(self.max_amount as u64) as i64,
        })
    }

    /// A request sent at `sent` was answered, durably.
    pub fn answered(&self, sent: Instant, outcome: Outcome) {
        match outcome {
            Outcome::Moved | Outcome::Refused => {
                self.stats.latency.record(sent.elapsed());
                self.stats.committed.fetch_add(1, Ordering::Relaxed);
            }
            Outcome::NoSuchAccount | Outcome::Malformed => {
                self.stats.failed.fetch_add(1, Ordering::Relaxed);
            }
        }
    }

    /// The system aborted a request, which is being sent again.
    pub fn retried(&self) {
        self.stats.retries.fetch_add(1, Ordering::Relaxed);
    }
}

/// A connection to a system under load that can carry a lane.
pub trait Pipeline: Send + 'static {
    /// Sends the lane's requests, keeping up to `lane.depth()` in flight, until
    /// `next_request` says stop and every reply is in. An error ends this lane only.
    fn carry(self, lane: Lane) -> impl Future<Output = Result<(), String>> + Send;
}

/// Carries the workload over `connections`, each with `depth` requests in flight, until
/// `stop` is set. Lane `i` uses the seed `workload.seed + i`. Returns the lanes' errors.
/// Call it inside a tokio runtime.
pub async fn carry_lanes<P: Pipeline>(
    connections: Vec<P>,
    accounts: u64,
    depth: usize,
    workload: &Workload,
    stats: &Arc<LoadStats>,
    stop: &Arc<AtomicBool>,
) -> Vec<String> {
    assert!(accounts >= 2, "transfers need two accounts");
    assert!(depth >= 1, "a lane carries at least one request");
    let zipf = Arc::new(Zipf::new(accounts, workload.alpha));
    let lanes: Vec<_> = connections
        .into_iter()
        .enumerate()
        .map(|(i, connection)| {
            let lane = Lane {
                zipf: zipf.clone(),
                rng: Rng::new(workload.seed.wrapping_add(i as u64)),
                max_amount: workload.max_amount,
                next_id: 0,
                depth,
                stats: stats.clone(),
                stop: stop.clone(),
            };
            tokio::spawn(connection.carry(lane))
        })
        .collect();
    let mut errors = Vec::new();
    for lane in lanes {
        match lane.await {
            Ok(Ok(())) => {}
            Ok(Err(e)) => errors.push(e),
            Err(e) => errors.push(format!("a lane panicked: {e}")),
        }
    }
    errors
}
