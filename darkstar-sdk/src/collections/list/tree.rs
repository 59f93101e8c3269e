//! The list's counted B+tree as a whole: finding a position, walking the leaves, keeping
//! the counts right and the tree balanced.
//!
//! Every inner node counts the items under each child, so an insert or a removal writes
//! its leaf and every node above it; `set` writes only the leaf (unless it splits).

use crate::collections::fanout::{recut, Cut, Fanout};
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

/// Node `id`, read and deserialized, without opening it for writing.
fn owned(ctx: &Context<'_>, id: u64) -> Result<ListNode, TaskError> {
    super::super::owned(ctx, node(id))
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

    /// After `n`, at the end of `path`, gained an item or a larger one: splits it into as
    /// many parts as it takes if it overflows, and up the path updates each parent's count
    /// of the child below (and links in the new parts of a split child, splitting the
    /// parent in turn if needed), stopping at a parent whose count and children are
    /// unchanged. A root that splits moves its parts down a level. `appended` says the item
    /// went to the end of the list.
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
        let mut rights = if n.overflows(&self.fanout) {
            n.split_all(&self.fanout, cut(&path))
        } else {
            Vec::new()
        };
        loop {
            let Some(step) = path.pop() else {
                if rights.is_empty() {
                    return Ok(());
                }
                debug_assert_eq!(n.reference().id(), self.root);
                let left = std::mem::take(&mut *n);
                let mut counts = vec![left.total()];
                let mut children = vec![ctx.create(left)?.id()];
                for right in rights.drain(..) {
                    counts.push(right.total());
                    children.push(ctx.create(right)?.id());
                }
                *n = ListNode::inner(children, counts);
                if n.overflows(&self.fanout) {
                    // Too many parts for one root: another level.
                    rights = n.split_all(&self.fanout, Cut::Balanced);
                }
                continue;
            };
            let count = n.total();
            let mut linked = Vec::with_capacity(rights.len());
            for right in rights.drain(..) {
                let total = right.total();
                linked.push((ctx.create(right)?.id(), total));
            }
            drop(n);
            if linked.is_empty() {
                let parent = ctx.get(node(step.node))?;
                if parent.counts.get(step.child).map(|c| c.to_native()) == Some(count) {
                    // A replaced item: the counts above are unchanged.
                    return Ok(());
                }
            }
            let mut parent = ctx.get_mut(node(step.node))?;
            parent.counts[step.child] = count;
            if !linked.is_empty() {
                for (k, (id, total)) in linked.into_iter().enumerate() {
                    parent.children.insert(step.child + 1 + k, id);
                    parent.counts.insert(step.child + 1 + k, total);
                }
                if parent.overflows(&self.fanout) {
                    rights = parent.split_all(&self.fanout, cut(&path));
                }
            }
            n = parent;
        }
    }

    /// After `n`, at the end of `path`, lost an item: up the path updates each parent's
    /// count of the child below, merging an underfull child with a sibling (or sharing the
    /// sibling's items out evenly if the two would not fit in one node, unless that would
    /// move nothing or overflow a part: then the sibling is not written). A root left with
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
            let n_left = !step.last;
            let (l, r) = if n_left {
                (step.child, step.child + 1)
            } else {
                (step.child - 1, step.child)
            };
            let sibling_id = parent.children[if n_left { r } else { l }];
            let sibling = owned(ctx, sibling_id)?;
            // The two joined, in a copy: the sibling is written only if it changes.
            let (mut joined, right) = if n_left {
                (n.clone(), sibling)
            } else {
                (sibling, n.clone())
            };
            let orig = joined.len();
            joined.join(right);
            if joined.fits(&self.fanout) {
                parent.counts[l] = joined.total();
                parent.children.remove(r);
                parent.counts.remove(r);
                if n_left {
                    *n = joined;
                    drop(n);
                    ctx.remove(node(sibling_id))?;
                } else {
                    let gone = n.reference();
                    drop(n);
                    ctx.remove(gone)?;
                    *ctx.get_mut(node(sibling_id))? = joined;
                }
                n = parent;
                continue;
            }
            let stands = n.len() >= n.min_part();
            let at = recut(
                joined.len(),
                orig,
                joined.min_part(),
                joined.cut_point(&self.fanout, Cut::Balanced),
                n_left,
                stands,
                |at| {
                    let mut left = joined.clone();
                    let right = left.split_at(at);
                    !left.overflows(&self.fanout) && !right.overflows(&self.fanout)
                },
            );
            match at {
                None => {
                    parent.counts[step.child] = n.total();
                    drop(n);
                }
                Some(at) => {
                    let rest = joined.split_at(at);
                    parent.counts[l] = joined.total();
                    parent.counts[r] = rest.total();
                    let (mut left, mut right) = if n_left {
                        (n, ctx.get_mut(node(sibling_id))?)
                    } else {
                        (ctx.get_mut(node(sibling_id))?, n)
                    };
                    *left = joined;
                    *right = rest;
                }
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
                if n.overflows(&self.fanout) {
                    return Err(corrupt(
                        id,
                        "a list leaf of several items is over its fanout's byte limit",
                    ));
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
            if n.overflows(&self.fanout) {
                return Err(corrupt(
                    id,
                    "a list inner node is over its fanout's byte limit",
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
