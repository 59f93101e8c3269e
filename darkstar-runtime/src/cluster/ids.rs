//! Ids in a cluster: every node hands out ids from ranges it reserved through the log, so
//! no two nodes ever hand out the same id. A reservation is an entry of a record; every
//! node applies it alike, advancing the cluster's next free id (bound in the replica as
//! `s/ids/next`), and the proposer learns its range when it applies its own record.

use std::time::{Duration, Instant};

use darkstar_storage::CommitError;
use parking_lot::{Condvar, Mutex};

/// How long a caller waits for a range before it is told none can be had: the log has not
/// answered the reservation in that time.
const PATIENCE: Duration = Duration::from_secs(5);

/// Ids one reservation takes.
pub(crate) const RANGE: u64 = 1 << 20;
/// The first id of a new cluster (0 means "none" in places, and small ids stay free).
pub(crate) const FIRST: u64 = 1 << 16;

#[derive(Default)]
struct State {
    next: u64,
    end: u64,
    /// A range reserved ahead, used when the current one runs out.
    spare: Option<(u64, u64)>,
    /// A reservation is on its way.
    asked: bool,
    /// Why no range will come any more (the node cannot apply its log).
    closed: Option<String>,
}

/// The ranges a node holds.
#[derive(Default)]
pub(crate) struct IdRanges {
    state: Mutex<State>,
    arrived: Condvar,
}

impl IdRanges {
    /// An id, asking (`ask`) for another range when half of this one is used or none is
    /// held. Waits while no range is held, at most a few seconds.
    pub fn allocate(&self, ask: impl Fn()) -> Result<u64, CommitError> {
        let deadline = Instant::now() + PATIENCE;
        let mut st = self.state.lock();
        loop {
            if st.next == st.end {
                if let Some((start, end)) = st.spare.take() {
                    st.next = start;
                    st.end = end;
                }
            }
            let low = st.spare.is_none() && st.end - st.next < RANGE / 2;
            if low && !st.asked {
                st.asked = true;
                ask();
            }
            if st.next < st.end {
                let id = st.next;
                st.next += 1;
                return Ok(id);
            }
            if let Some(why) = &st.closed {
                return Err(CommitError::Failed(why.clone()));
            }
            if self.arrived.wait_until(&mut st, deadline).timed_out() && st.next == st.end {
                // Asked again next time: the reservation may have been lost with the log.
                st.asked = false;
                return Err(CommitError::Failed(
                    "no ids: the shared log has not answered this node's reservation".into(),
                ));
            }
        }
    }

    /// No range will come any more: waiting callers, and later ones, fail with `why`.
    pub fn close(&self, why: &str) {
        self.state.lock().closed = Some(why.to_owned());
        self.arrived.notify_all();
    }

    /// A reserved range arrived.
    pub fn add(&self, start: u64, count: u64) {
        assert!(count > 0, "a reservation takes ids");
        let mut st = self.state.lock();
        st.asked = false;
        if st.next == st.end {
            st.next = start;
            st.end = start + count;
        } else {
            debug_assert!(st.spare.is_none(), "one reservation is asked for at a time");
            st.spare = Some((start, start + count));
        }
        self.arrived.notify_all();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::cell::Cell;

    #[test]
    fn ranges_are_used_in_turn_and_asked_for_ahead() {
        let ids = IdRanges::default();
        ids.add(100, 4);
        let asked = Cell::new(0);
        let ask = || asked.set(asked.get() + 1);
        assert_eq!(ids.allocate(ask).unwrap(), 100);
        // Less than half a range is left: one reservation is asked for, only once.
        assert_eq!(asked.get(), 1);
        assert_eq!(ids.allocate(ask).unwrap(), 101);
        assert_eq!(asked.get(), 1);
        ids.add(1000, RANGE);
        assert_eq!(ids.allocate(ask).unwrap(), 102);
        assert_eq!(ids.allocate(ask).unwrap(), 103);
        assert_eq!(ids.allocate(ask).unwrap(), 1000);
        assert_eq!(asked.get(), 1);
        let ids = IdRanges::default();
        ids.add(5000, 1);
        ids.close("gone");
        assert_eq!(
            ids.allocate(ask).unwrap(),
            5000,
            "what arrived is still handed out"
        );
        assert!(ids.allocate(ask).is_err(), "then none, at once");
    }
}
