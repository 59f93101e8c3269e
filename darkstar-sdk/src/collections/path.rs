//! A path from a tree's root down to a leaf, as the map and the list record it.

/// One step of a path down a tree: an inner node, the child the path took, and whether it
/// is the node's last child.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Step {
    /// The inner node's id.
    pub node: u64,
    /// The index of the child taken.
    pub child: usize,
    /// Whether that child is the node's last.
    pub last: bool,
}

impl Step {
    /// The step into child `child` of node `node`, which has `children` children.
    pub fn new(node: u64, child: usize, children: usize) -> Step {
        debug_assert!(child < children);
        Step {
            node,
            child,
            last: child + 1 == children,
        }
    }
}

/// Whether a path runs down the right edge of its tree: it leads to the last leaf.
pub(crate) fn on_right_edge(path: &[Step]) -> bool {
    path.iter().all(|s| s.last)
}
