//! The list's stored objects, its header and its nodes, and what one node does on its
//! own: split and join.

use crate::collections::fanout::{cut_point, Cut, Fanout};
use crate::collections::packed::Packed;
use crate::collections::Elements;

/// A list's header, the object its handle names. Written once and only read after.
#[crate::managed(name = "darkstar.ListHeader")]
#[derive(Debug)]
pub(crate) struct ListHeader {
    /// The item type.
    pub(crate) elements: Elements,
    /// The root node, which keeps its id for the list's whole life (as a map's does).
    pub(crate) root: u64,
    /// The fanout's `leaf`.
    pub(crate) leaf: u32,
    /// The fanout's `inner`.
    pub(crate) inner: u32,
    /// The fanout's `bytes`.
    pub(crate) bytes: u32,
}

impl ArchivedListHeader {
    /// The fanout the list was created with.
    pub(crate) fn fanout(&self) -> Fanout {
        Fanout {
            leaf: self.leaf(),
            inner: self.inner(),
            bytes: self.bytes(),
        }
    }
}

/// A node of a list's counted B+tree.
///
/// A leaf has no children; it holds archived items in order in `items`. Every leaf but
/// the root holds at least one item. An inner node holds `children` (at least two, except
/// in the middle of a change) and, in `counts`, the number of items under each; its
/// `items` is empty. The list is the leaves' items from left to right; every leaf is at the
/// same depth.
#[crate::managed(name = "darkstar.ListNode")]
#[derive(Debug, Default)]
pub(crate) struct ListNode {
    /// A leaf's items.
    pub(crate) items: Packed,
    /// An inner node's children (node ids).
    pub(crate) children: Vec<u64>,
    /// The number of items under each child.
    pub(crate) counts: Vec<u64>,
}

const OFFSET: usize = 4;
/// An inner node's bytes per child: its id and its count.
const CHILD: usize = 16;

impl ListNode {
    /// An inner node over `children` holding `counts` items each.
    pub(crate) fn inner(children: Vec<u64>, counts: Vec<u64>) -> ListNode {
        debug_assert_eq!(children.len(), counts.len());
        ListNode {
            items: Packed::default(),
            children,
            counts,
        }
    }

    /// Whether this is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// A leaf's items or an inner node's children.
    pub(crate) fn len(&self) -> usize {
        if self.is_leaf() {
            self.items.len()
        } else {
            self.children.len()
        }
    }

    /// The items under this node.
    pub(crate) fn total(&self) -> u64 {
        if self.is_leaf() {
            self.items.len() as u64
        } else {
            self.counts.iter().sum()
        }
    }

    /// The bytes the fanout's `bytes` limit counts.
    pub(crate) fn bytes(&self) -> usize {
        self.items.byte_len() + OFFSET * self.items.len() + CHILD * self.children.len()
    }

    /// Whether the node must split.
    pub(crate) fn overflows(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_overflows(self.len(), self.bytes())
        } else {
            fanout.inner_overflows(self.len(), self.bytes())
        }
    }

    /// Whether the node (not the root) must take items or children from a sibling.
    pub(crate) fn underfull(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_underfull(self.len(), self.bytes())
        } else {
            fanout.inner_underfull(self.len(), self.bytes())
        }
    }

    /// Whether the node, made of two joined siblings, can stay one node.
    pub(crate) fn fits(&self, fanout: &Fanout) -> bool {
        if self.is_leaf() {
            fanout.leaf_fits(self.len(), self.bytes())
        } else {
            fanout.inner_fits(self.len(), self.bytes())
        }
    }

    /// Cuts the node in two: it keeps the left part and returns the right one.
    pub(crate) fn split(&mut self, fanout: &Fanout, cut: Cut) -> ListNode {
        if self.is_leaf() {
            let sizes: Vec<usize> = self.items.iter().map(|i| i.len() + OFFSET).collect();
            let at = cut_point(&sizes, 1, fanout.leaf as usize, fanout.bytes as usize, cut);
            ListNode {
                items: self.items.split_off(at),
                ..ListNode::default()
            }
        } else {
            let sizes = vec![CHILD; self.children.len()];
            let at = cut_point(&sizes, 2, fanout.inner as usize, fanout.bytes as usize, cut);
            ListNode::inner(self.children.split_off(at), self.counts.split_off(at))
        }
    }

    /// Appends `right`, the next sibling, to this node.
    pub(crate) fn join(&mut self, right: ListNode) {
        debug_assert_eq!(self.is_leaf(), right.is_leaf());
        self.items.append(right.items);
        self.children.extend(right.children);
        self.counts.extend(right.counts);
    }
}

impl ArchivedListNode {
    /// Whether this is a leaf.
    pub(crate) fn is_leaf(&self) -> bool {
        self.children.is_empty()
    }

    /// The items under this node.
    pub(crate) fn total(&self) -> u64 {
        if self.is_leaf() {
            self.items.len() as u64
        } else {
            self.counts.iter().map(|c| c.to_native()).sum()
        }
    }

    /// The child of this inner node holding position `index` (counted from the node's
    /// first item) and the position within it. With `at_end`, a position just past a
    /// child's last item is in that child, so appending goes to the end of a leaf rather
    /// than the start of the next; otherwise a position must be below `total()`.
    pub(crate) fn child_for(&self, mut index: u64, at_end: bool) -> Option<(usize, u64)> {
        for (i, c) in self.counts.iter().enumerate() {
            let c = c.to_native();
            if index < c || (at_end && index == c) {
                return Some((i, index));
            }
            index -= c;
        }
        None
    }

    /// Child `i`'s id.
    pub(crate) fn child(&self, i: usize) -> u64 {
        self.children[i].to_native()
    }
}
