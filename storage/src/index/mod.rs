//! The in-memory index: for every key, the chain of its recent versions and where each
//! lives in the log.
//!
//! The log is the truth; the index is rebuilt from it on open. Readers take a shard's read
//! lock for the few nanoseconds of a lookup; the writer takes write locks only while it
//! installs a commit. Chains keep old versions exactly as long as an open snapshot may read
//! them.

mod chain;
mod id_space;
mod name_space;

pub(crate) use chain::{Loc, Version};
pub(crate) use id_space::IdSpace;
pub(crate) use name_space::NameSpace;

/// Every key space of the store.
pub(crate) struct Index {
    /// Managed objects by id.
    pub objects: IdSpace,
    /// Pending tasks by id.
    pub tasks: IdSpace,
    /// Name bindings, in name order.
    pub names: NameSpace,
}

impl Index {
    pub fn new() -> Index {
        Index {
            objects: IdSpace::new(),
            tasks: IdSpace::new(),
            names: NameSpace::new(),
        }
    }
}
