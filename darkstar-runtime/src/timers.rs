//! A core's timers: stored tasks by due time, and jobs waiting out a retry backoff.

use std::cmp::Reverse;
use std::collections::BinaryHeap;

use crate::job::Job;

/// A job held back until `due_ms`.
struct Delayed {
    due_ms: u64,
    seq: u64,
    job: Job,
}

impl PartialEq for Delayed {
    fn eq(&self, other: &Self) -> bool {
        (self.due_ms, self.seq) == (other.due_ms, other.seq)
    }
}
impl Eq for Delayed {}
impl PartialOrd for Delayed {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl Ord for Delayed {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        (other.due_ms, other.seq).cmp(&(self.due_ms, self.seq))
    }
}

/// Due times of stored tasks (16 bytes each, so a million pending timers take 16 MiB) and
/// of delayed in-memory jobs.
#[derive(Default)]
pub(crate) struct Timers {
    stored: BinaryHeap<Reverse<(u64, u64)>>,
    delayed: BinaryHeap<Delayed>,
    seq: u64,
}

impl Timers {
    /// Timers for stored tasks `(due_ms, id)`.
    pub fn with_stored(stored: Vec<(u64, u64)>) -> Timers {
        Timers {
            stored: stored.into_iter().map(Reverse).collect(),
            ..Timers::default()
        }
    }

    /// Adds stored task `id`, due at `due_ms`. A task may be added twice; the stored record
    /// decides whether a run is still due.
    pub fn add_stored(&mut self, due_ms: u64, id: u64) {
        self.stored.push(Reverse((due_ms, id)));
    }

    /// Holds `job` back until `due_ms`.
    pub fn delay(&mut self, due_ms: u64, job: Job) {
        self.seq += 1;
        self.delayed.push(Delayed {
            due_ms,
            seq: self.seq,
            job,
        });
    }

    /// The next job due at or before `now_ms`.
    pub fn pop_due(&mut self, now_ms: u64) -> Option<Job> {
        let stored = self.stored.peek().map(|r| r.0 .0);
        let delayed = self.delayed.peek().map(|d| d.due_ms);
        match (stored, delayed) {
            (Some(s), d) if s <= now_ms && d.is_none_or(|d| s <= d) => {
                let Reverse((due_ms, id)) = self.stored.pop()?;
                Some(Job::Stored {
                    id,
                    due_ms,
                    attempts: 0,
                })
            }
            (_, Some(d)) if d <= now_ms => self.delayed.pop().map(|d| d.job),
            _ => None,
        }
    }

    /// The earliest due time, if any.
    pub fn next_due(&self) -> Option<u64> {
        let a = self.stored.peek().map(|r| r.0 .0);
        let b = self.delayed.peek().map(|d| d.due_ms);
        a.into_iter().chain(b).min()
    }

    /// Number of timers.
    pub fn len(&self) -> usize {
        self.stored.len() + self.delayed.len()
    }

    /// Drops every timer, handing back the delayed jobs.
    pub fn drain_delayed(&mut self) -> Vec<Job> {
        self.stored.clear();
        self.delayed.drain().map(|d| d.job).collect()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn pops_in_due_order() {
        let mut t = Timers::with_stored(vec![(30, 3), (10, 1)]);
        t.add_stored(20, 2);
        t.delay(15, Job::Wake);
        assert_eq!(t.next_due(), Some(10));
        assert!(t.pop_due(5).is_none());
        let order: Vec<u64> = std::iter::from_fn(|| t.pop_due(100))
            .map(|j| match j {
                Job::Stored { id, .. } => id,
                _ => 0,
            })
            .collect();
        assert_eq!(order, vec![1, 0, 2, 3]);
        assert_eq!(t.len(), 0);
    }
}
