//! Which slots this node owns: the placement table's answer for this node. A server on
//! its own owns every slot; a cluster node owns none until the meta-service's first table
//! reaches it. Stored tasks run only on their slot's owner.

use std::sync::atomic::{AtomicBool, Ordering};

use crate::placement::SLOTS;

/// This node's slots.
pub(crate) struct Ownership {
    owned: Box<[AtomicBool]>,
}

impl Ownership {
    /// Every slot (a server on its own).
    pub fn everything() -> Ownership {
        Ownership {
            owned: (0..SLOTS).map(|_| AtomicBool::new(true)).collect(),
        }
    }

    /// No slot yet (a cluster node before its first table).
    pub fn nothing() -> Ownership {
        Ownership {
            owned: (0..SLOTS).map(|_| AtomicBool::new(false)).collect(),
        }
    }

    /// Whether this node owns slot `slot`.
    pub fn owns(&self, slot: usize) -> bool {
        self.owned[slot].load(Ordering::Acquire)
    }

    /// Takes the slots `owned` marks; returns those gained.
    pub fn set(&self, owned: &[bool]) -> Vec<usize> {
        assert_eq!(owned.len(), SLOTS);
        (0..SLOTS)
            .filter(|&s| !self.owned[s].swap(owned[s], Ordering::AcqRel) && owned[s])
            .collect()
    }

    /// How many slots this node owns.
    pub fn count(&self) -> usize {
        self.owned
            .iter()
            .filter(|o| o.load(Ordering::Relaxed))
            .count()
    }
}
