//! Ids in a cluster: every node hands out ids from ranges it reserved through the log, so
//! no two nodes ever hand out the same id. A reservation is an entry of a record; every
//! node applies it alike, advancing the cluster's next free id (bound in the replica as
//! `s/ids/next`), and the proposer learns its range when it applies its own record.

use parking_lot::{Condvar, Mutex};

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
}

/// The ranges a node holds.
#[derive(Default)]
pub(crate) struct IdRanges {
    state: Mutex<State>,
    arrived: Condvar,
}

impl IdRanges {
    /// An id, and whether to ask for another range now (half of this one is used, or none
    /// is held). Blocks while no range is held; asks for one first.
    pub fn allocate(&self, ask: impl Fn()) -> u64 {
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
                return id;
            }
            self.arrived.wait(&mut st);
        }
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
        assert_eq!(ids.allocate(ask), 100);
        // Less than half a range is left: one reservation is asked for, only once.
        assert_eq!(asked.get(), 1);
        assert_eq!(ids.allocate(ask), 101);
        assert_eq!(asked.get(), 1);
        ids.add(1000, RANGE);
        assert_eq!(ids.allocate(ask), 102);
        assert_eq!(ids.allocate(ask), 103);
        assert_eq!(ids.allocate(ask), 1000);
        assert_eq!(asked.get(), 1);
    }
}
