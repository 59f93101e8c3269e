//! The list's counted B+tree as a whole: finding a position, walking the leaves, keeping
//! the counts right and the tree balanced.
//!
//! Every inner node counts the items under each child, so an insert or a removal writes
//! its leaf and every node above it; `set` writes only the leaf.

use crate::collections::fanout::{Cut, Fanout};
use crate::collections::path::{on_right_edge, Step};
use crate::collections::{corrupt, Shape, MAX_DEPTH};
use crate::context::Context;
use crate::error::TaskError;
use crate::reference::Ref;
use crate::task::TaskResult;
use crate::view::{Obj, ObjMut};

use super::node::ListNode;

/// A reference to node `id`.
pub(super) fn node(id: u64) -> Ref<ListNode> {
    Ref::from_id(id)
}

/// An open list: its root and fanout, read from the header.
pub(super) struct Tree {
    pub(super) root: u64,
    pub(super) fanout: Fanout,
}

impl Tree {
    /// The number of items: the root's total.
    pub(super) fn len(&self, ctx: &Context<'_>) -> Result<u64, TaskError> {
        Ok(ctx.get(node(self.root))?.total())
    }

    /// Walks down to the leaf holding position `index`, recording the path; returns the
    /// leaf and the position within it. With `at_end`, `index` may be the position just
    /// past an item, where a new one is inserted. The caller checks `index` against the
    /// length first.
    pub(super) fn find<'t>(
        &self,
        ctx: &Context<'t>,
        mut index: u64,
        at_end: bool,
        path: &mut Vec<Step>,
    ) -> Result<(u64, Obj<'t, ListNode>, usize), TaskError> {
        let mut id = self.root;
        loop {
            let n = ctx.get(node(id))?;
            if n.is_leaf() {
                let len = n.items.len() as u64;
                if index > len || (index == len && !at_end) {
                    return Err(corrupt(id, "a list's counts do not match its leaves"));
                }
                return Ok((id, n, index as usize));
            }
            if path.len() >= MAX_DEPTH {
                return Err(corrupt(id, "the list's nodes form a cycle"));
            }
            let Some((child, rest)) = n.child_for(index, at_end) else {
                return Err(corrupt(id, "a list's counts do not match its leaves"));
            };
            path.push(Step::new(id, child, n.children.len()));
            id = n.child(child);
            index = rest;
        }
    }

    /// The leaf after the one `path` leads to, with its path, or `None` after the last.
    pub(super) fn next_leaf<'t>(
        &self,
        ctx: &Context<'t>,
        path: &mut Vec<Step>,
    ) -> Result<Option<(u64, Obj<'t, ListNode>)>, TaskError> {
        while let Some(step) = path.pop() {
            if step.last {
                continue;
            }
            let parent = ctx.get(node(step.node))?;
            let child = step.child + 1;
            path.push(Step::new(step.node, child, parent.children.len()));
            let mut id = parent.child(child);
            loop {
                let n = ctx.get(node(id))?;
                if n.is_leaf() {
                    return Ok(Some((id, n)));
                }
                if path.len() >= MAX_DEPTH {
                    return Err(corrupt(id, "the list's nodes form a cycle"));
                }
                path.push(Step::new(id, 0, n.children.len()));
                id = n.child(0);
            }
        }
        Ok(None)
    }

    /// After `n`, at the end of `path`, gained an item: splits it if it overflows, and up
    /// the path updates each parent's count of the child below (and links in the new half
    /// of a split child, splitting the parent in turn if needed). A root that splits moves
    /// its halves down a level. `appended` says the item went to the end of the list.
    pub(super) fn grew<'t>(
        &self,
        ctx: &Context<'t>,
        mut path: Vec<Step>,
        mut n: ObjMut<'t, ListNode>,
        appended: bool,
    ) -> TaskResult {
        let cut = |path: &[Step]| {
            if appended && on_right_edge(path) {
                Cut::FillLeft
            } else {
                Cut::Balanced
            }
        };
        let mut right = n
            .overflows(&self.fanout)
            .then(|| n.split(&self.fanout, cut(&path)));
        loop {
            let Some(step) = path.pop() else {
                if let Some(right) = right {
                    debug_assert_eq!(n.reference().id(), self.root);
                    let left = std::mem::take(&mut *n);
                    let counts = vec![left.total(), right.total()];
                    let children = vec![ctx.create(left)?.id(), ctx.create(right)?.id()];
                    *n = ListNode::inner(children, counts);
                }
                return Ok(());
            };
            let count = n.total();
            let new_child = match right.take() {
                Some(r) => {
                    let total = r.total();
                    Some((ctx.create(r)?.id(), total))
                }
                None => None,
            };
            drop(n);
            let mut parent = ctx.get_mut(node(step.node))?;
            parent.counts[step.child] = count;
            if let Some((id, total)) = new_child {
                parent.children.insert(step.child + 1, id);
                parent.counts.insert(step.child + 1, total);
                if parent.overflows(&self.fanout) {
                    right = Some(parent.split(&self.fanout, cut(&path)));
                }
            }
            n = parent;
        }
    }

    /// After `n`, at the end of `path`, lost an item: up the path updates each parent's
    /// count of the child below, merging an underfull child with a sibling (or sharing the
    /// sibling's items out evenly if the two would not fit in one node). A root left with
    /// one child takes that child's place.
    pub(super) fn shrank<'t>(
        &self,
        ctx: &Context<'t>,
        mut path: Vec<Step>,
        mut n: ObjMut<'t, ListNode>,
    ) -> TaskResult {
        loop {
            let Some(step) = path.pop() else {
                return collapse_root(ctx, n);
            };
            let mut parent = ctx.get_mut(node(step.node))?;
            if parent.children.len() < 2 {
                return Err(corrupt(step.node, "a list inner node has a single child"));
            }
            if !n.underfull(&self.fanout) {
                parent.counts[step.child] = n.total();
                drop(n);
                n = parent;
                continue;
            }
            let (l, r) = if step.last {
                (step.child - 1, step.child)
            } else {
                (step.child, step.child + 1)
            };
            let sibling =
                ctx.get_mut(node(parent.children[if l == step.child { r } else { l }]))?;
            let (mut left, mut right) = if l == step.child {
                (n, sibling)
            } else {
                (sibling, n)
            };
            left.join(std::mem::take(&mut *right));
            if left.fits(&self.fanout) {
                let gone = right.reference();
                drop(right);
                ctx.remove(gone)?;
                parent.children.remove(r);
                parent.counts.remove(r);
                parent.counts[l] = left.total();
            } else {
                *right = left.split(&self.fanout, Cut::Balanced);
                parent.counts[l] = left.total();
                parent.counts[r] = right.total();
            }
            n = parent;
        }
    }

    /// Empties up to `budget` leaves, from the front, each removed by the same merging
    /// that follows any removal; returns whether the list is empty.
    pub(super) fn clear(&self, ctx: &Context<'_>, budget: usize) -> Result<bool, TaskError> {
        for _ in 0..budget {
            let mut path = Vec::new();
            let (id, leaf, _) = self.find(ctx, 0, true, &mut path)?;
            if leaf.items.is_empty() {
                // Only the root is ever an empty leaf.
                return Ok(true);
            }
            let mut leaf = ctx.get_mut(node(id))?;
            leaf.items = Default::default();
            self.shrank(ctx, path, leaf)?;
        }
        Ok(self.len(ctx)? == 0)
    }

    /// Walks the whole tree, checking its invariants; returns its shape.
    pub(super) fn check(&self, ctx: &Context<'_>) -> Result<Shape, TaskError> {
        let mut shape = Shape::default();
        let mut leaf_depth = None;
        // (node, depth, the count its parent keeps for it).
        let mut stack: Vec<(u64, u32, Option<u64>)> = vec![(self.root, 1, None)];
        while let Some((id, depth, counted)) = stack.pop() {
            if depth as usize > MAX_DEPTH {
                return Err(corrupt(id, "the list's nodes form a cycle"));
            }
            let n = ctx.get(node(id))?;
            shape.nodes += 1;
            if !n.items.is_well_formed() {
                return Err(corrupt(id, "a list node's offsets are out of order"));
            }
            if counted.is_some_and(|c| c != n.total()) {
                return Err(corrupt(id, "a list node's count in its parent is wrong"));
            }
            if n.is_leaf() {
                let items = n.items.len();
                if items > self.fanout.leaf as usize || (items == 0 && id != self.root) {
                    return Err(corrupt(id, "a list leaf has too many items or none"));
                }
                shape.leaves += 1;
                if *leaf_depth.get_or_insert(depth) != depth {
                    return Err(corrupt(id, "the list's leaves are not all at one depth"));
                }
                shape.entries += items as u64;
                continue;
            }
            let children = n.children.len();
            if n.counts.len() != children || !n.items.is_empty() {
                return Err(corrupt(
                    id,
                    "a list inner node's counts do not match its children",
                ));
            }
            if children > self.fanout.inner as usize || (children < 2 && id != self.root) {
                return Err(corrupt(
                    id,
                    "a list inner node has too many children or too few",
                ));
            }
            for i in 0..children {
                stack.push((n.child(i), depth + 1, Some(n.counts[i].to_native())));
            }
        }
        shape.height = leaf_depth.unwrap_or(1);
        Ok(shape)
    }
}

/// While the root is an inner node with a single child, moves the child's contents up
/// into the root and removes the child.
fn collapse_root(ctx: &Context<'_>, mut root: ObjMut<'_, ListNode>) -> TaskResult {
    while !root.is_leaf() && root.children.len() == 1 {
        let child = node(root.children[0]);
        let mut c = ctx.get_mut(child)?;
        *root = std::mem::take(&mut *c);
        drop(c);
        ctx.remove(child)?;
    }
    Ok(())
}
