//! The map's B+tree as a whole: walking down to a leaf and across the leaves, and keeping
//! the tree balanced as leaves split and merge.
//!
//! Only what changes is written: an insert writes its leaf, a split also its parent (and
//! the parent's parent if that splits too), a merge the sibling and the parent. Inner
//! nodes are read, not written, on the way down, so tasks changing different leaves do not
//! conflict.

use crate::collections::fanout::{recut, Cut, Fanout};
use crate::collections::packed::Packed;
use crate::collections::path::{on_right_edge, Step};
use crate::collections::{corrupt, Shape, MAX_DEPTH};
use crate::context::Context;
use crate::error::TaskError;
use crate::reference::Ref;
use crate::task::TaskResult;
use crate::view::{Obj, ObjMut};

use super::node::MapNode;

/// A reference to node `id`.
pub(super) fn node(id: u64) -> Ref<MapNode> {
    Ref::from_id(id)
}

/// Node `id`, read and deserialized, without opening it for writing.
fn owned(ctx: &Context<'_>, id: u64) -> Result<MapNode, TaskError> {
    super::super::owned(ctx, node(id))
}

/// An open map: its root and fanout, read from the header.
pub(super) struct Tree {
    pub(super) root: u64,
    pub(super) fanout: Fanout,
}

impl Tree {
    /// Walks down from the root to the leaf whose range holds `key`, recording the path.
    pub(super) fn find_leaf<'t>(
        &self,
        ctx: &Context<'t>,
        key: &[u8],
        path: &mut Vec<Step>,
    ) -> Result<(u64, Obj<'t, MapNode>), TaskError> {
        self.descend(ctx, self.root, path, |n| n.child_for(key))
    }

    /// Walks down from `from` to a leaf, taking the child `choose` picks at each level.
    fn descend<'t>(
        &self,
        ctx: &Context<'t>,
        from: u64,
        path: &mut Vec<Step>,
        choose: impl Fn(&super::node::ArchivedMapNode) -> usize,
    ) -> Result<(u64, Obj<'t, MapNode>), TaskError> {
        let mut id = from;
        loop {
            let n = ctx.get(node(id))?;
            if n.is_leaf() {
                return Ok((id, n));
            }
            if path.len() >= MAX_DEPTH {
                return Err(corrupt(id, "the map's nodes form a cycle"));
            }
            let child = choose(&n).min(n.children.len() - 1);
            path.push(Step::new(id, child, n.children.len()));
            id = n.child(child);
        }
    }

    /// The leftmost (`right == false`) or rightmost leaf, with its path.
    pub(super) fn edge_leaf<'t>(
        &self,
        ctx: &Context<'t>,
        right: bool,
        path: &mut Vec<Step>,
    ) -> Result<(u64, Obj<'t, MapNode>), TaskError> {
        self.descend(ctx, self.root, path, |n| {
            if right {
                n.children.len() - 1
            } else {
                0
            }
        })
    }

    /// The leaf after the one `path` leads to, with its path, or `None` after the last.
    pub(super) fn next_leaf<'t>(
        &self,
        ctx: &Context<'t>,
        path: &mut Vec<Step>,
    ) -> Result<Option<(u64, Obj<'t, MapNode>)>, TaskError> {
        while let Some(step) = path.pop() {
            if step.last {
                continue;
            }
            let parent = ctx.get(node(step.node))?;
            let child = step.child + 1;
            path.push(Step::new(step.node, child, parent.children.len()));
            return self
                .descend(ctx, parent.child(child), path, |_| 0)
                .map(Some);
        }
        Ok(None)
    }

    /// After `n`, at the end of `path`, grew past its limits and was cut into itself and
    /// `rights` (each with the separator before it): links the new parts into the parent,
    /// splitting the parent in turn if it overflows, up to the root, which moves its parts
    /// down a level.
    pub(super) fn grow<'t>(
        &self,
        ctx: &Context<'t>,
        mut path: Vec<Step>,
        mut n: ObjMut<'t, MapNode>,
        mut rights: Vec<(Vec<u8>, MapNode)>,
    ) -> TaskResult {
        loop {
            let Some(step) = path.pop() else {
                // `n` is the root: it keeps its id, and its parts become its children.
                debug_assert_eq!(n.reference().id(), self.root);
                let mut keys = Packed::default();
                let mut children = vec![ctx.create(std::mem::take(&mut *n))?.id()];
                for (sep, right) in rights {
                    keys.push(&sep);
                    children.push(ctx.create(right)?.id());
                }
                *n = MapNode::inner(keys, children);
                if !n.overflows(&self.fanout) {
                    return Ok(());
                }
                // Too many parts for one root: another level.
                rights = n.split_all(&self.fanout, Cut::Balanced);
                continue;
            };
            let mut linked = Vec::with_capacity(rights.len());
            for (sep, right) in rights {
                linked.push((sep, ctx.create(right)?.id()));
            }
            drop(n);
            let mut parent = ctx.get_mut(node(step.node))?;
            for (k, (sep, id)) in linked.into_iter().enumerate() {
                parent.keys.insert(step.child + k, &sep);
                parent.children.insert(step.child + 1 + k, id);
            }
            if !parent.overflows(&self.fanout) {
                return Ok(());
            }
            let cut = if step.last && on_right_edge(&path) {
                Cut::FillLeft
            } else {
                Cut::Balanced
            };
            rights = parent.split_all(&self.fanout, cut);
            n = parent;
        }
    }

    /// After entries left `n`, at the end of `path`: while a node is underfull, merges it
    /// with a sibling, or, if the two would not fit in one node, shares the sibling's
    /// entries out evenly, unless that would move nothing or overflow a part (then the
    /// sibling and the parent are not written at all). A merge takes a child from the
    /// parent, which may then be underfull in turn. A root left with one child takes that
    /// child's place.
    pub(super) fn shrink<'t>(
        &self,
        ctx: &Context<'t>,
        mut path: Vec<Step>,
        mut n: ObjMut<'t, MapNode>,
    ) -> TaskResult {
        loop {
            let Some(step) = path.pop() else {
                return collapse_root(ctx, n);
            };
            if !n.underfull(&self.fanout) {
                return Ok(());
            }
            let parent = ctx.get(node(step.node))?;
            if parent.children.len() < 2 {
                return Err(corrupt(step.node, "a map inner node has a single child"));
            }
            let n_left = !step.last;
            let (l, r) = if n_left {
                (step.child, step.child + 1)
            } else {
                (step.child - 1, step.child)
            };
            let sibling_id = parent.child(if n_left { r } else { l });
            let sep = parent.keys.get(l).to_vec();
            let sibling = owned(ctx, sibling_id)?;
            // The two joined, in a copy: the sibling is written only if it changes.
            let (mut joined, right) = if n_left {
                (n.clone(), sibling)
            } else {
                (sibling, n.clone())
            };
            let orig = joined.len();
            joined.join(&sep, right);
            if joined.fits(&self.fanout) {
                let mut parent = ctx.get_mut(node(step.node))?;
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
                parent.keys.remove(l);
                parent.children.remove(r);
                n = parent;
                continue;
            }
            // Too much for one node: cut the joined entries evenly again, if that helps.
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
                    let (_, right) = left.split_at(at);
                    !left.overflows(&self.fanout) && !right.overflows(&self.fanout)
                },
            );
            let Some(at) = at else {
                return Ok(());
            };
            let (sep, rest) = joined.split_at(at);
            let (mut left, mut right) = if n_left {
                (n, ctx.get_mut(node(sibling_id))?)
            } else {
                (ctx.get_mut(node(sibling_id))?, n)
            };
            *left = joined;
            *right = rest;
            drop((left, right));
            // The new separator may be longer than the old one, and the parent overflow.
            let mut parent = ctx.get_mut(node(step.node))?;
            parent.keys.replace(l, &sep);
            if !parent.overflows(&self.fanout) {
                return Ok(());
            }
            let rights = parent.split_all(&self.fanout, Cut::Balanced);
            return self.grow(ctx, path, parent, rights);
        }
    }

    /// Empties up to `budget` leaves, from the left, each removed by the same merging
    /// that follows any removal, so the tree stays balanced throughout; returns whether
    /// the map is empty.
    pub(super) fn clear(&self, ctx: &Context<'_>, budget: usize) -> Result<bool, TaskError> {
        for _ in 0..budget {
            let mut path = Vec::new();
            let (id, leaf) = self.edge_leaf(ctx, false, &mut path)?;
            if leaf.keys.is_empty() {
                // Only the root is ever an empty leaf.
                return Ok(true);
            }
            let mut leaf = ctx.get_mut(node(id))?;
            leaf.keys = Packed::default();
            leaf.values = Packed::default();
            self.shrink(ctx, path, leaf)?;
        }
        let root = ctx.get(node(self.root))?;
        Ok(root.is_leaf() && root.keys.is_empty())
    }

    /// Walks the whole tree, checking its invariants; returns its shape.
    pub(super) fn check(&self, ctx: &Context<'_>) -> Result<Shape, TaskError> {
        let mut shape = Shape::default();
        let mut leaf_depth = None;
        // Nodes still to visit: id, depth, and the bounds of its keys.
        type Bound = Option<Vec<u8>>;
        let mut stack: Vec<(u64, u32, Bound, Bound)> = vec![(self.root, 1, None, None)];
        while let Some((id, depth, lo, hi)) = stack.pop() {
            if depth as usize > MAX_DEPTH {
                return Err(corrupt(id, "the map's nodes form a cycle"));
            }
            let n = ctx.get(node(id))?;
            shape.nodes += 1;
            if !n.keys.is_well_formed() || !n.values.is_well_formed() {
                return Err(corrupt(id, "a map node's offsets are out of order"));
            }
            let keys: Vec<&[u8]> = n.keys.iter().collect();
            if keys.windows(2).any(|w| w[0] >= w[1]) {
                return Err(corrupt(id, "a map node's keys are not in order"));
            }
            let in_bounds = |k: &[u8]| {
                lo.as_deref().is_none_or(|lo| lo <= k) && hi.as_deref().is_none_or(|hi| k < hi)
            };
            if !keys.iter().all(|k| in_bounds(k)) {
                return Err(corrupt(
                    id,
                    "a map node holds a key outside its parent's range",
                ));
            }
            if n.is_leaf() {
                if n.values.len() != keys.len() {
                    return Err(corrupt(id, "a map leaf has more keys than values or fewer"));
                }
                if keys.len() > self.fanout.leaf as usize {
                    return Err(corrupt(id, "a map leaf holds more entries than its fanout"));
                }
                if n.overflows(&self.fanout) {
                    return Err(corrupt(
                        id,
                        "a map leaf of several entries is over its fanout's byte limit",
                    ));
                }
                if keys.is_empty() && id != self.root {
                    return Err(corrupt(id, "a map leaf other than the root is empty"));
                }
                shape.leaves += 1;
                if *leaf_depth.get_or_insert(depth) != depth {
                    return Err(corrupt(id, "the map's leaves are not all at one depth"));
                }
                shape.entries += keys.len() as u64;
                continue;
            }
            let children = n.children.len();
            if keys.len() + 1 != children || !n.values.is_empty() {
                return Err(corrupt(
                    id,
                    "a map inner node's keys do not match its children",
                ));
            }
            if children > self.fanout.inner as usize || (children < 2 && id != self.root) {
                return Err(corrupt(
                    id,
                    "a map inner node has too many children or too few",
                ));
            }
            if n.overflows(&self.fanout) {
                return Err(corrupt(
                    id,
                    "a map inner node of four children or more is over its fanout's byte limit",
                ));
            }
            for i in 0..children {
                let lo = if i == 0 {
                    lo.clone()
                } else {
                    Some(keys[i - 1].to_vec())
                };
                let hi = if i + 1 == children {
                    hi.clone()
                } else {
                    Some(keys[i].to_vec())
                };
                stack.push((n.child(i), depth + 1, lo, hi));
            }
        }
        shape.height = leaf_depth.unwrap_or(1);
        Ok(shape)
    }
}

/// While the root is an inner node with a single child, moves the child's contents up
/// into the root and removes the child: the tree loses a level, the root keeps its id.
fn collapse_root(ctx: &Context<'_>, mut root: ObjMut<'_, MapNode>) -> TaskResult {
    while !root.is_leaf() && root.children.len() == 1 {
        let child = node(root.children[0]);
        let mut c = ctx.get_mut(child)?;
        *root = std::mem::take(&mut *c);
        drop(c);
        ctx.remove(child)?;
    }
    Ok(())
}
