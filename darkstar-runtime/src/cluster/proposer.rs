//! The proposer: groups the entries the node's cores (and its id allocator) hand it into
//! records and appends them to the log, one append at a time, so a node's records reach
//! the log in the order their entries were proposed.

use std::sync::atomic::Ordering;
use std::sync::Arc;
use std::time::Duration;

use tracing::warn;

use super::applier::Progress;
use super::log::Log;
use super::record::{self, MAX_ENTRIES};
use super::replica::COUNTER_BITS;
use super::stats::LogCounters;
use super::Settings;

/// A record stops growing past this many bytes (entries already taken still go in).
const MAX_RECORD: usize = 8 << 20;

/// Appends until the node stops (the entry channel closes).
pub(crate) async fn run(
    settings: Settings,
    incarnation: u64,
    entries: flume::Receiver<Vec<u8>>,
    counters: Arc<Progress>,
) {
    let mut log: Option<Log> = None;
    let mut records = 0u64;
    while let Ok(first) = entries.recv_async().await {
        let mut body = first;
        let mut count = 1;
        while count < MAX_ENTRIES && body.len() < MAX_RECORD {
            match entries.try_recv() {
                Ok(more) => {
                    body.extend_from_slice(&more);
                    count += 1;
                }
                Err(_) => break,
            }
        }
        records += 1;
        let proposal = ((incarnation << COUNTER_BITS) | records) as i64;
        let record = record::seal(incarnation, count, &body);
        let position = append(&settings, &mut log, proposal, &record, &counters.counters).await;
        let c = &counters.counters;
        c.records_appended.fetch_add(1, Ordering::Relaxed);
        c.bytes_appended
            .fetch_add(record.len() as u64, Ordering::Relaxed);
        counters.appended(position, record);
    }
}

/// Appends one record, retrying (and reconnecting) until the log takes it: nothing is
/// acknowledged meanwhile, and the proposal number keeps a retry from appending twice.
/// Returns its position.
async fn append(
    settings: &Settings,
    log: &mut Option<Log>,
    proposal: i64,
    record: &[u8],
    counters: &LogCounters,
) -> u64 {
    let mut backoff = Duration::from_millis(50);
    loop {
        if log.as_ref().is_none_or(Log::is_closed) {
            match Log::connect(&settings.postgres, &settings.cluster, None, false).await {
                Ok(l) => *log = Some(l),
                Err(e) => {
                    warn!(error = %e, "cannot reach the shared log; retrying");
                    tokio::time::sleep(backoff).await;
                    backoff = (backoff * 2).min(Duration::from_secs(2));
                    continue;
                }
            }
        }
        let l = log.as_ref().expect("connected above");
        match l.append(proposal, &settings.node, record).await {
            Ok(position) => return position,
            Err(e) => {
                counters.append_retries.fetch_add(1, Ordering::Relaxed);
                warn!(error = %e, "appending to the shared log failed; retrying");
                tokio::time::sleep(backoff).await;
                backoff = (backoff * 2).min(Duration::from_secs(2));
            }
        }
    }
}
