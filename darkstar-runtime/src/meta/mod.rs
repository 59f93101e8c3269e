//! The meta-service: the part of the cluster the game never sees, which decides where work
//! runs.
//!
//! One node at a time leads it, elected through an etcd lock held under the node's lease
//! ([`leader`]): it watches membership and writes the placement table ([`table`]), slots to
//! nodes, when the table is first needed, when a node joins, when a node's lease
//! expires (its slots go to the live nodes) and when an operator drains a node or ends a
//! drain ([`drain_prefix`]). Every node follows the table ([`follower`]):
//! it takes the slots the table gives it, and the stored tasks in them, from its replica.
//! Moving work is only a change of the table: every node holds all the data.

pub(crate) mod checkpointer;
pub(crate) mod follower;
pub(crate) mod leader;
pub(crate) mod orphans;
pub(crate) mod table;

/// The etcd key of the placement table.
pub(crate) fn placement_key(cluster: &str) -> String {
    format!("/{cluster}/placement")
}

/// The etcd prefix of the live nodes' keys.
pub(crate) fn nodes_prefix(cluster: &str) -> String {
    format!("/{cluster}/nodes/")
}

/// The etcd prefix of the nodes an operator asked to drain (`<prefix><node>`): the leader
/// gives their slots to the others.
pub(crate) fn drain_prefix(cluster: &str) -> String {
    format!("/{cluster}/drain/")
}
