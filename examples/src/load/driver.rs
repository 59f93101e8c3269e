//! The transfer workload, driven into a server from one client thread.

use std::sync::atomic::{AtomicBool, AtomicU64, AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_runtime::Server;
use darkstar_sdk::Ref;

use super::latency::Latency;
use super::rng::Rng;
use super::zipf::Zipf;
use crate::bank::{Account, Transfer};

/// The shape of the load.
#[derive(Clone, Debug)]
pub struct Workload {
    /// Zipf exponent of account choice: 0 uniform, 1.5 heavily contended.
    pub alpha: f64,
    /// Transfers in flight at once (submitted, not yet durably committed).
    pub in_flight: usize,
    /// Largest amount moved by one transfer.
    pub max_amount: i64,
    /// Seed of the random choices.
    pub seed: u64,
}

impl Default for Workload {
    fn default() -> Workload {
        Workload {
            alpha: 0.0,
            in_flight: 1024,
            max_amount: 100,
            seed: 42,
        }
    }
}

/// What the load saw, shared with the replies.
#[derive(Default)]
pub struct LoadStats {
    /// Transfers submitted.
    pub submitted: AtomicU64,
    /// Transfers durably committed.
    pub committed: AtomicU64,
    /// Transfers that failed for good.
    pub failed: AtomicU64,
    /// Transfers a client had to send again because the system aborted them (the peer
    /// databases of the benchmark report serialization failures to the client; Darkstar
    /// retries inside the server).
    pub retries: AtomicU64,
    /// Submission-to-durable latency of committed transfers.
    pub latency: Latency,
    in_flight: AtomicUsize,
}

impl LoadStats {
    /// Transfers submitted but not yet answered.
    pub fn in_flight(&self) -> usize {
        self.in_flight.load(Ordering::Relaxed)
    }
}

/// Submits transfers between `accounts` until `stop` is set, keeping `in_flight` of them
/// outstanding, then waits for the outstanding ones. Call it on its own thread.
pub fn drive(
    server: &Server,
    accounts: &[Ref<Account>],
    workload: &Workload,
    stats: &Arc<LoadStats>,
    stop: &AtomicBool,
) {
    assert!(accounts.len() >= 2, "transfers need two accounts");
    let zipf = Zipf::new(accounts.len() as u64, workload.alpha);
    let mut rng = Rng::new(workload.seed);
    let limit = workload.in_flight.max(1);
    let waiter = std::thread::current();
    let waiting = Arc::new(AtomicBool::new(false));
    while !stop.load(Ordering::Relaxed) {
        let outstanding = stats.in_flight.load(Ordering::Acquire);
        if outstanding >= limit {
            waiting.store(true, Ordering::SeqCst);
            if stats.in_flight.load(Ordering::SeqCst) >= limit {
                std::thread::park_timeout(Duration::from_millis(5));
            }
            waiting.store(false, Ordering::SeqCst);
            continue;
        }
        for _ in outstanding..limit {
            let from = zipf.sample(&mut rng) as usize;
            let mut to = zipf.sample(&mut rng) as usize;
            while to == from {
                to = zipf.sample(&mut rng) as usize;
            }
            let amount = 1 + rng.below(workload.max_amount as u64) as i64;
            let task = Transfer {
                from: accounts[from],
                to: accounts[to],
                amount,
            };
            stats.in_flight.fetch_add(1, Ordering::AcqRel);
            stats.submitted.fetch_add(1, Ordering::Relaxed);
            let started = Instant::now();
            let (s, w, t) = (stats.clone(), waiting.clone(), waiter.clone());
            server.submit_with(task, move |result| {
                match result {
                    Ok(()) => {
                        s.latency.record(started.elapsed());
                        s.committed.fetch_add(1, Ordering::Relaxed);
                    }
                    Err(_) => {
                        s.failed.fetch_add(1, Ordering::Relaxed);
                    }
                }
                let before = s.in_flight.fetch_sub(1, Ordering::AcqRel);
                // Wake the driver once half the window is free, not on every reply.
                if before <= limit / 2 + 1 && w.swap(false, Ordering::SeqCst) {
                    t.unpark();
                }
            });
        }
    }
    while stats.in_flight() > 0 {
        std::thread::sleep(Duration::from_millis(1));
    }
}
