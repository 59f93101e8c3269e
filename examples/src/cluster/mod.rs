//! Bank nodes as child processes, for the cluster demo (`cluster` binary) and the cluster
//! benchmark (`cargo bench --bench cluster`).
//!
//! A node is this same program started again with [`CHILD_FLAG`] and its
//! [`NodeSettings`] as flags; [`run_if_child`] at the top of `main` turns such a process
//! into the node. The node prints machine-readable lines on its standard output (see
//! [`report`]); [`NodeChild`] is the parent's handle, which reads them, stops or kills the
//! node and reads its CPU time.
//!
//! [`RoamingLane`] is a bot that pipelines transfers into one node and, when that node goes
//! away, logs in again on a live one (sessions do not resume across nodes, so the new
//! session is a fresh login). [`placement`] reads the cluster's placement table from etcd,
//! and [`proc`] the CPU time of processes from `/proc`.

mod bots;
mod child;
mod node;
pub mod placement;
pub mod proc;
pub mod report;

pub use bots::{BotEvent, Directory, RoamingLane};
pub use child::{NodeChild, NodeEnd};
pub use node::{run_if_child, run_node, NodeSettings, CHILD_FLAG};
