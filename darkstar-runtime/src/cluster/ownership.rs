//! Which slots this node owns: the placement table's answer for this node. A server on
//! its own owns every slot; a cluster node owns none until the meta-service's first table
//! reaches it. Stored tasks run only on their slot's owner, and a player's session lives
//! on the owner of its name's slot (a login elsewhere is redirected there).

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;

use parking_lot::RwLock;

use crate::meta::table::Table;
use crate::placement::SLOTS;

/// The affinity key that places the session of the player named `name` (FNV-1a of the
/// name): every node computes the same.
pub(crate) fn identity_key(name: &str) -> u64 {
    name.bytes().fold(0xcbf2_9ce4_8422_2325, |h, b| {
        (h ^ u64::from(b)).wrapping_mul(0x0100_0000_01b3)
    })
}

/// This node's slots, and the table they come from.
pub(crate) struct Ownership {
    owned: Box<[AtomicBool]>,
    /// This node's name in the table; empty on its own.
    me: String,
    table: RwLock<Option<Arc<Table>>>,
    /// Wakes whoever waits for a table (start-up).
    followed: (parking_lot::Mutex<()>, parking_lot::Condvar),
    /// The server has finished starting (its replica caught up with the log).
    started: AtomicBool,
}

impl Ownership {
    /// Every slot (a server on its own).
    pub fn everything() -> Ownership {
        Ownership {
            owned: (0..SLOTS).map(|_| AtomicBool::new(true)).collect(),
            me: String::new(),
            table: RwLock::new(None),
            followed: Default::default(),
            started: AtomicBool::new(false),
        }
    }

    /// No slot yet (node `me` of a cluster, before its first table).
    pub fn nothing(me: &str) -> Ownership {
        Ownership {
            owned: (0..SLOTS).map(|_| AtomicBool::new(false)).collect(),
            me: me.to_owned(),
            table: RwLock::new(None),
            followed: Default::default(),
            started: AtomicBool::new(false),
        }
    }

    /// Takes this node's slots from `table`; returns those gained.
    pub fn follow(&self, table: Table) -> Vec<usize> {
        let gained = self.set(&table.slots_of(&self.me));
        *self.table.write() = Some(Arc::new(table));
        let _guard = self.followed.0.lock();
        self.followed.1.notify_all();
        gained
    }

    /// Waits (until `deadline`) for a table that places this node at `address`, so that
    /// logins at other nodes are sent here before this node takes clients. Returns whether
    /// one came.
    pub fn wait_placed(&self, address: &str, deadline: std::time::Instant) -> bool {
        let placed = || {
            let table = self.table.read();
            table.as_ref().is_some_and(|t| {
                t.nodes
                    .iter()
                    .position(|n| *n == self.me)
                    .is_some_and(|i| t.addresses[i] == address)
            })
        };
        let mut guard = self.followed.0.lock();
        while !placed() {
            if self.followed.1.wait_until(&mut guard, deadline).timed_out() {
                return placed();
            }
        }
        true
    }

    /// Marks the server started: its replica caught up with the log before it took clients.
    pub fn mark_started(&self) {
        self.started.store(true, Ordering::Release);
    }

    /// Whether the server has finished starting.
    pub fn started(&self) -> bool {
        self.started.load(Ordering::Acquire)
    }

    /// Gives up every slot (this node is out of the cluster).
    pub fn forsake(&self) {
        self.set(&vec![false; SLOTS]);
        *self.table.write() = None;
    }

    /// The placement table this node follows, if it has one yet (never on its own).
    pub fn table(&self) -> Option<Arc<Table>> {
        self.table.read().clone()
    }

    /// Whether this node is a cluster node the placement table does not (or no longer)
    /// name: it must take no player, since it cannot tell where players belong.
    pub fn unplaced(&self) -> bool {
        if self.me.is_empty() {
            return false;
        }
        let table = self.table.read();
        !table.as_ref().is_some_and(|t| t.nodes.contains(&self.me))
    }

    /// Where clients reach the owner of slot `slot`, over WebSocket if `websocket` (else
    /// TCP), if another node owns it and published an address for that.
    pub fn elsewhere(&self, slot: usize, websocket: bool) -> Option<String> {
        if self.owns(slot) {
            return None;
        }
        let table = self.table.read();
        table
            .as_ref()?
            .address_of_owner(slot, websocket)
            .map(str::to_owned)
    }

    /// Whether this node owns slot `slot`.
    pub fn owns(&self, slot: usize) -> bool {
        self.owned[slot].load(Ordering::Acquire)
    }

    /// Takes the slots `owned` marks; returns those gained.
    fn set(&self, owned: &[bool]) -> Vec<usize> {
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
