//! `ManagedList<T>`: an indexed list stored as a counted B+tree of managed nodes.

mod node;
mod tree;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use crate::app::Types;
use crate::collections::{decode_value, encode_value, Asked, Fanout, Shape};
use crate::context::Context;
use crate::error::TaskError;
use crate::layout::Layout;
use crate::persist::Persist;
use crate::reference::Ref;
use crate::task::TaskResult;

use node::{ListHeader, ListNode};
use tree::{node, Tree};

pub(crate) fn register(types: &mut Types) {
    types.object::<ListHeader>().object::<ListNode>();
}

/// A list of `T` indexed by position, whose items are spread over many managed objects:
/// a B+tree whose leaves hold the items in order and whose inner nodes count the items
/// under each child.
///
/// [`get`](Self::get) and [`set`](Self::set) read one node per level and write (for `set`)
/// one leaf, so tasks setting items in different leaves do not conflict with each other.
/// An [`insert`](Self::insert) or a [`remove`](Self::remove), `push_back` and `pop_back`
/// included, shifts every later position, and writes the counts on the path from the root
/// to its leaf: such tasks conflict with each other (as they must, since each changes
/// every later item's position), but each writes a few small objects, not the whole list.
/// Every operation reads the root, whose counts find a position, so an insert or a
/// removal also conflicts with every `get`, `set`, `len` and `slice` running meanwhile,
/// unlike a map's lookups, which conflict only with changes to their own leaf.
/// [`len`](Self::len) reads the root only.
///
/// The handle is a `Copy` value naming the list's header object, like
/// [`ManagedMap`](crate::ManagedMap)'s. Iterate in bounded pieces with
/// [`slice`](Self::slice).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_macros::Layout)]
#[rkyv(crate = rkyv)]
pub struct ManagedList<T> {
    id: u64,
    #[rkyv(with = rkyv::with::Skip)]
    marker: PhantomData<fn() -> T>,
}

impl<T> ManagedList<T> {
    /// The list whose header object is `id` (see [`id`](Self::id)); its type is checked
    /// when it is used.
    pub const fn from_id(id: u64) -> ManagedList<T> {
        ManagedList {
            id,
            marker: PhantomData,
        }
    }

    /// The id of the list's header object.
    pub const fn id(self) -> u64 {
        self.id
    }

    fn header(self) -> Ref<ListHeader> {
        Ref::from_id(self.id)
    }
}

impl<T> ArchivedManagedList<T> {
    /// The handle, read from its archive.
    pub fn get(&self) -> ManagedList<T> {
        ManagedList::from_id(self.id.to_native())
    }
}

impl<T: Persist + Layout> ManagedList<T> {
    /// Creates an empty list with the default [`Fanout`].
    pub fn create(ctx: &Context<'_>) -> Result<ManagedList<T>, TaskError> {
        ManagedList::create_with(ctx, Fanout::default())
    }

    /// Creates an empty list whose nodes grow to `fanout`. Fails with
    /// [`TaskError::Aborted`] if a limit is below its minimum.
    pub fn create_with(ctx: &Context<'_>, fanout: Fanout) -> Result<ManagedList<T>, TaskError> {
        fanout.check()?;
        let root = ctx.create(ListNode::default())?;
        let header = ctx.create(ListHeader {
            elements: Asked::list::<T>().elements(),
            root: root.id(),
            leaf: fanout.leaf,
            inner: fanout.inner,
            bytes: fanout.bytes,
        })?;
        Ok(ManagedList::from_id(header.id()))
    }

    /// Binds `name` to this list, replacing any binding.
    pub fn bind(self, ctx: &Context<'_>, name: &str) -> TaskResult {
        ctx.bind(name, self.header())
    }

    /// The list bound to `name`, its type checked (see
    /// [`ManagedMap::lookup`](crate::ManagedMap::lookup)).
    pub fn lookup(ctx: &Context<'_>, name: &str) -> Result<ManagedList<T>, TaskError> {
        let list = ManagedList::from_id(ctx.lookup::<ListHeader>(name)?.id());
        list.open(ctx)?;
        Ok(list)
    }

    fn open(self, ctx: &Context<'_>) -> Result<Tree, TaskError> {
        let h = ctx.get(self.header())?;
        h.elements.check(self.id, &Asked::list::<T>())?;
        Ok(Tree {
            root: h.root(),
            fanout: h.fanout(),
        })
    }

    /// The number of items. Reads the root only.
    pub fn len(self, ctx: &Context<'_>) -> Result<u64, TaskError> {
        self.open(ctx)?.len(ctx)
    }

    /// Whether the list is empty. Reads the root only.
    pub fn is_empty(self, ctx: &Context<'_>) -> Result<bool, TaskError> {
        Ok(self.len(ctx)? == 0)
    }

    /// The item at `index`, or `None` past the end. Reads one node per level.
    pub fn get(self, ctx: &Context<'_>, index: u64) -> Result<Option<T>, TaskError> {
        let tree = self.open(ctx)?;
        if index >= tree.len(ctx)? {
            return Ok(None);
        }
        let (id, leaf, i) = tree.find(ctx, index, false, &mut Vec::new())?;
        decode_value(leaf.items.get(i), id).map(Some)
    }

    /// Replaces the item at `index`, returning the old one; fails with
    /// [`TaskError::OutOfBounds`] past the end. Writes the leaf only, unless a larger item
    /// makes it overflow: then the leaf splits, which writes its parent too.
    pub fn set(self, ctx: &Context<'_>, index: u64, value: T) -> Result<T, TaskError> {
        let tree = self.open(ctx)?;
        let len = tree.len(ctx)?;
        if index >= len {
            return Err(TaskError::OutOfBounds { index, len });
        }
        let value = encode_value(&value)?;
        let mut path = Vec::new();
        let (id, _, i) = tree.find(ctx, index, false, &mut path)?;
        let mut leaf = ctx.get_mut(node(id))?;
        let old = decode_value(&leaf.items.replace(i, &value), id)?;
        if leaf.overflows(&tree.fanout) {
            // A larger item can make the leaf overflow as much as a new one does.
            tree.grew(ctx, path, leaf, false)?;
        }
        Ok(old)
    }

    /// Inserts `value` at `index`, shifting the items from there on one place up; fails
    /// with [`TaskError::OutOfBounds`] if `index` is past the length. Writes the leaf and
    /// the nodes above it.
    pub fn insert(self, ctx: &Context<'_>, index: u64, value: T) -> TaskResult {
        let tree = self.open(ctx)?;
        let len = tree.len(ctx)?;
        if index > len {
            return Err(TaskError::OutOfBounds { index, len });
        }
        let value = encode_value(&value)?;
        let mut path = Vec::new();
        let (id, _, i) = tree.find(ctx, index, true, &mut path)?;
        let mut leaf = ctx.get_mut(node(id))?;
        leaf.items.insert(i, &value);
        tree.grew(ctx, path, leaf, index == len)
    }

    /// Appends `value`. Writes the last leaf and the nodes above it.
    pub fn push_back(self, ctx: &Context<'_>, value: T) -> TaskResult {
        let len = self.len(ctx)?;
        self.insert(ctx, len, value)
    }

    /// Removes the item at `index` and returns it, shifting the items after it one place
    /// down; fails with [`TaskError::OutOfBounds`] past the end. Writes the leaf and the
    /// nodes above it (and a sibling when a leaf left under a third full merges).
    pub fn remove(self, ctx: &Context<'_>, index: u64) -> Result<T, TaskError> {
        let tree = self.open(ctx)?;
        let len = tree.len(ctx)?;
        if index >= len {
            return Err(TaskError::OutOfBounds { index, len });
        }
        let mut path = Vec::new();
        let (id, _, i) = tree.find(ctx, index, false, &mut path)?;
        let mut leaf = ctx.get_mut(node(id))?;
        let value = decode_value(&leaf.items.remove(i), id)?;
        tree.shrank(ctx, path, leaf)?;
        Ok(value)
    }

    /// Removes the last item and returns it, or `None` if the list is empty.
    pub fn pop_back(self, ctx: &Context<'_>) -> Result<Option<T>, TaskError> {
        match self.len(ctx)? {
            0 => Ok(None),
            len => self.remove(ctx, len - 1).map(Some),
        }
    }

    /// Up to `limit` items from position `start` on (none if `start` is past the end). To
    /// walk a long list across tasks, start the next piece at `start` plus the length of
    /// this one. Reads the leaves the piece spans and the nodes above them.
    ///
    /// Such a cursor is a position, not an item: an item inserted before it between two
    /// pieces shifts the rest up, and the next piece repeats an item; an item removed
    /// before it makes the next piece skip one. (A map's key cursor,
    /// [`ManagedMap::range`](crate::ManagedMap::range), has no such problem.) A walk that
    /// must meet each item exactly once runs in one task.
    pub fn slice(self, ctx: &Context<'_>, start: u64, limit: usize) -> Result<Vec<T>, TaskError> {
        let tree = self.open(ctx)?;
        let mut out = Vec::new();
        if limit == 0 || start >= tree.len(ctx)? {
            return Ok(out);
        }
        let mut path = Vec::new();
        let (mut id, mut leaf, mut i) = tree.find(ctx, start, false, &mut path)?;
        loop {
            while i < leaf.items.len() {
                out.push(decode_value(leaf.items.get(i), id)?);
                if out.len() == limit {
                    return Ok(out);
                }
                i += 1;
            }
            match tree.next_leaf(ctx, &mut path)? {
                Some((next, l)) => (id, leaf, i) = (next, l, 0),
                None => return Ok(out),
            }
        }
    }

    /// Removes the items of up to `max_leaves` leaves, from the front, and returns whether
    /// the list is now empty. See [`ManagedMap::clear`](crate::ManagedMap::clear).
    pub fn clear(self, ctx: &Context<'_>, max_leaves: usize) -> Result<bool, TaskError> {
        self.open(ctx)?.clear(ctx, max_leaves)
    }

    /// Removes the list: every node and the header, one removal per node in this one
    /// task (see [`ManagedMap::destroy`](crate::ManagedMap::destroy)).
    pub fn destroy(self, ctx: &Context<'_>) -> TaskResult {
        let tree = self.open(ctx)?;
        let mut stack = vec![tree.root];
        while let Some(id) = stack.pop() {
            let n = ctx.get(node(id))?;
            stack.extend(n.children.iter().map(|c| c.to_native()));
            ctx.remove(node(id))?;
        }
        ctx.remove(self.header())
    }

    /// Walks the whole tree, checks its invariants (counts, node sizes, every leaf at one
    /// depth) and returns its shape; fails with [`TaskError::Corrupt`] otherwise. Reads
    /// every node: for tests and tools.
    pub fn check(self, ctx: &Context<'_>) -> Result<Shape, TaskError> {
        self.open(ctx)?.check(ctx)
    }
}

impl<T> Clone for ManagedList<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ManagedList<T> {}
impl<T> PartialEq for ManagedList<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<T> Eq for ManagedList<T> {}
impl<T> Hash for ManagedList<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl<T> fmt::Debug for ManagedList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManagedList({})", self.id)
    }
}
impl<T> fmt::Debug for ArchivedManagedList<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}
