//! `ManagedMap<K, V>`: an ordered map stored as a B+tree of managed nodes.

mod node;
mod tree;

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use crate::app::Types;
use crate::collections::fanout::Cut;
use crate::collections::key::{decode_whole, encoded, EncodeKey, KeyRef, MapKey};
use crate::collections::{corrupt, decode_value, encode_value, Asked, Fanout, Shape};
use crate::context::Context;
use crate::error::TaskError;
use crate::layout::Layout;
use crate::persist::Persist;
use crate::reference::Ref;
use crate::task::TaskResult;

use crate::collections::path::on_right_edge;
use node::{MapHeader, MapNode};
use tree::{node, Tree};

pub(crate) fn register(types: &mut Types) {
    types.object::<MapHeader>().object::<MapNode>();
}

/// An ordered map from `K` to `V` whose entries are spread over many managed objects: a
/// B+tree of nodes, each a small managed object.
///
/// An operation reads one node per level of the tree (a handful, even for millions of
/// entries: see [`Fanout`]) and writes only what changes: an insert or a removal writes
/// the leaf holding its key, and, rarely, when the leaf splits or merges, its parent. So
/// two tasks inserting or removing keys in different leaves do not conflict. There is no
/// count of entries that every insert would have to update; [`len`](Self::len) walks the
/// leaves.
///
/// The handle is a `Copy` value naming the map's header object: store it in a managed
/// object, pass it to a task, or bind it to a name ([`bind`](Self::bind),
/// [`lookup`](Self::lookup)). Every operation checks that the map was created with these
/// `K` and `V`, and fails with [`TaskError::CollectionType`] otherwise.
///
/// Keys are stored in an order-preserving encoding ([`MapKey`]), values as rkyv archives.
/// Iterate in bounded pieces with [`range`](Self::range), continuing from the last key
/// of a piece in a later task.
///
/// ```
/// use darkstar_sdk::prelude::*;
///
/// #[managed(name = "game.Registry")]
/// pub struct Registry {
///     pub players: ManagedMap<String, u64>,
/// }
///
/// #[task(name = "game.register")]
/// fn register(ctx: &mut Context, registry: Ref<Registry>, name: String, score: u64) -> TaskResult {
///     let players = ctx.get(registry)?.players.get();
///     if players.insert(ctx, name, score)?.is_some() {
///         return Err(TaskError::abort("that name is taken"));
///     }
///     Ok(())
/// }
/// ```
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_macros::Layout)]
#[rkyv(crate = rkyv)]
pub struct ManagedMap<K, V> {
    id: u64,
    #[rkyv(with = rkyv::with::Skip)]
    marker: PhantomData<fn() -> (K, V)>,
}

impl<K, V> ManagedMap<K, V> {
    /// The map whose header object is `id` (see [`id`](Self::id)). Building one from any
    /// other number refers to nothing in particular; the types are checked when it is used.
    pub const fn from_id(id: u64) -> ManagedMap<K, V> {
        ManagedMap {
            id,
            marker: PhantomData,
        }
    }

    /// The id of the map's header object.
    pub const fn id(self) -> u64 {
        self.id
    }

    fn header(self) -> Ref<MapHeader> {
        Ref::from_id(self.id)
    }
}

impl<K, V> ArchivedManagedMap<K, V> {
    /// The handle, read from its archive (a field of a managed object read in place).
    pub fn get(&self) -> ManagedMap<K, V> {
        ManagedMap::from_id(self.id.to_native())
    }
}

impl<K: MapKey + Layout, V: Persist + Layout> ManagedMap<K, V> {
    /// Creates an empty map with the default [`Fanout`]: two small objects, a header and
    /// an empty root leaf.
    pub fn create(ctx: &Context<'_>) -> Result<ManagedMap<K, V>, TaskError> {
        ManagedMap::create_with(ctx, Fanout::default())
    }

    /// Creates an empty map whose nodes grow to `fanout`. Fails with
    /// [`TaskError::Aborted`] if a limit is below its minimum.
    pub fn create_with(ctx: &Context<'_>, fanout: Fanout) -> Result<ManagedMap<K, V>, TaskError> {
        fanout.check()?;
        let root = ctx.create(MapNode::default())?;
        let header = ctx.create(MapHeader {
            elements: Asked::map::<K, V>().elements(),
            root: root.id(),
            leaf: fanout.leaf,
            inner: fanout.inner,
            bytes: fanout.bytes,
        })?;
        Ok(ManagedMap::from_id(header.id()))
    }

    /// Binds `name` to this map, replacing any binding (see [`Context::bind`]).
    pub fn bind(self, ctx: &Context<'_>, name: &str) -> TaskResult {
        ctx.bind(name, self.header())
    }

    /// The map bound to `name`, its types checked. Fails with [`TaskError::NameNotBound`]
    /// if there is none, with [`TaskError::CollectionType`] if it holds other types, and
    /// with [`TaskError::WrongType`] if the name is bound to something else.
    pub fn lookup(ctx: &Context<'_>, name: &str) -> Result<ManagedMap<K, V>, TaskError> {
        let map = ManagedMap::from_id(ctx.lookup::<MapHeader>(name)?.id());
        map.open(ctx)?;
        Ok(map)
    }

    /// Reads the header: the root and the fanout, once the types are checked.
    fn open(self, ctx: &Context<'_>) -> Result<Tree, TaskError> {
        let h = ctx.get(self.header())?;
        h.elements.check(self.id, &Asked::map::<K, V>())?;
        Ok(Tree {
            root: h.root(),
            fanout: h.fanout(),
        })
    }

    /// The value of `key`, or `None`. Reads one node per level. `key` is a `&K` or a
    /// borrowed form of one that encodes as it does (`&str` for a `String` key: see
    /// [`KeyRef`](crate::collections::KeyRef)).
    pub fn get<Q>(self, ctx: &Context<'_>, key: &Q) -> Result<Option<V>, TaskError>
    where
        K: KeyRef<Q>,
        Q: EncodeKey + ?Sized,
    {
        let tree = self.open(ctx)?;
        let key = encoded(key);
        let (id, leaf) = tree.find_leaf(ctx, &key, &mut Vec::new())?;
        match leaf.keys.search(&key) {
            Ok(i) => Ok(Some(decode_value(leaf.values.get(i), id)?)),
            Err(_) => Ok(None),
        }
    }

    /// Whether the map holds `key`. Reads one node per level, and decodes no value.
    pub fn contains_key<Q>(self, ctx: &Context<'_>, key: &Q) -> Result<bool, TaskError>
    where
        K: KeyRef<Q>,
        Q: EncodeKey + ?Sized,
    {
        let tree = self.open(ctx)?;
        let key = encoded(key);
        let (_, leaf) = tree.find_leaf(ctx, &key, &mut Vec::new())?;
        Ok(leaf.keys.search(&key).is_ok())
    }

    /// Inserts `value` under `key`, returning the value it replaces. Reads one node per
    /// level and writes the leaf; if the leaf overflows (a new entry, or a value replaced
    /// by a larger one), it splits, which writes its parent too (and so on up, rarely).
    pub fn insert(self, ctx: &Context<'_>, key: K, value: V) -> Result<Option<V>, TaskError> {
        let tree = self.open(ctx)?;
        let key = encoded(&key);
        let value = encode_value(&value)?;
        let mut path = Vec::new();
        let (id, view) = tree.find_leaf(ctx, &key, &mut path)?;
        let found = view.keys.search(&key);
        let mut leaf = ctx.get_mut(node(id))?;
        let (old, cut) = match found {
            Ok(i) => {
                // A larger value can make the leaf overflow as much as a new entry does.
                let old = decode_value(&leaf.values.replace(i, &value), id)?;
                (Some(old), Cut::Balanced)
            }
            Err(at) => {
                leaf.keys.insert(at, &key);
                leaf.values.insert(at, &value);
                let cut = if at + 1 == leaf.len() && on_right_edge(&path) {
                    Cut::FillLeft
                } else {
                    Cut::Balanced
                };
                (None, cut)
            }
        };
        if leaf.overflows(&tree.fanout) {
            let rights = leaf.split_all(&tree.fanout, cut);
            tree.grow(ctx, path, leaf, rights)?;
        }
        Ok(old)
    }

    /// Removes `key`, returning its value, or `None` (writing nothing) if it was not
    /// there. Writes the leaf; a leaf left under a third full merges with a sibling or
    /// takes some of its entries, which writes the sibling and the parent too.
    pub fn remove<Q>(self, ctx: &Context<'_>, key: &Q) -> Result<Option<V>, TaskError>
    where
        K: KeyRef<Q>,
        Q: EncodeKey + ?Sized,
    {
        let tree = self.open(ctx)?;
        let key = encoded(key);
        let mut path = Vec::new();
        let (id, view) = tree.find_leaf(ctx, &key, &mut path)?;
        let Ok(i) = view.keys.search(&key) else {
            return Ok(None);
        };
        let mut leaf = ctx.get_mut(node(id))?;
        leaf.keys.remove(i);
        let value = decode_value(&leaf.values.remove(i), id)?;
        tree.shrink(ctx, path, leaf)?;
        Ok(Some(value))
    }

    /// Up to `limit` entries in key order, starting after `after` (from the first entry
    /// for `None`). A piece shorter than `limit` ends the map. To walk a large map across
    /// tasks, pass the last key of one piece as `after` of the next.
    ///
    /// Reads the leaves the piece spans and the inner nodes above them. The piece is
    /// consistent within its task; entries inserted or removed by later tasks before the
    /// cursor are not seen by later pieces.
    pub fn range(
        self,
        ctx: &Context<'_>,
        after: Option<&K>,
        limit: usize,
    ) -> Result<Vec<(K, V)>, TaskError> {
        let mut out = Vec::new();
        self.walk(ctx, after, |id, key, value| {
            if out.len() == limit {
                return Ok(false);
            }
            out.push((decode_key::<K>(key, id)?, decode_value(value, id)?));
            Ok(out.len() < limit)
        })?;
        Ok(out)
    }

    /// Calls `visit` with each entry's node, key and value bytes in order, after `after`,
    /// until it returns `false`.
    fn walk(
        self,
        ctx: &Context<'_>,
        after: Option<&K>,
        mut visit: impl FnMut(u64, &[u8], &[u8]) -> Result<bool, TaskError>,
    ) -> TaskResult {
        let tree = self.open(ctx)?;
        let mut path = Vec::new();
        let (mut id, mut leaf, mut i) = match after {
            None => {
                let (id, leaf) = tree.edge_leaf(ctx, false, &mut path)?;
                (id, leaf, 0)
            }
            Some(after) => {
                let after = encoded(after);
                let (id, leaf) = tree.find_leaf(ctx, &after, &mut path)?;
                let i = match leaf.keys.search(&after) {
                    Ok(i) => i + 1,
                    Err(i) => i,
                };
                (id, leaf, i)
            }
        };
        loop {
            while i < leaf.keys.len() {
                if !visit(id, leaf.keys.get(i), leaf.values.get(i))? {
                    return Ok(());
                }
                i += 1;
            }
            match tree.next_leaf(ctx, &mut path)? {
                Some((next, l)) => (id, leaf, i) = (next, l, 0),
                None => return Ok(()),
            }
        }
    }

    /// The entry with the least key, or `None` if the map is empty.
    pub fn first(self, ctx: &Context<'_>) -> Result<Option<(K, V)>, TaskError> {
        Ok(self.range(ctx, None, 1)?.pop())
    }

    /// The entry with the greatest key, or `None` if the map is empty.
    pub fn last(self, ctx: &Context<'_>) -> Result<Option<(K, V)>, TaskError> {
        let tree = self.open(ctx)?;
        let (id, leaf) = tree.edge_leaf(ctx, true, &mut Vec::new())?;
        // Only an empty root is an empty leaf.
        let Some(i) = leaf.keys.len().checked_sub(1) else {
            return Ok(None);
        };
        Ok(Some((
            decode_key::<K>(leaf.keys.get(i), id)?,
            decode_value(leaf.values.get(i), id)?,
        )))
    }

    /// Whether the map is empty. Reads the root only.
    pub fn is_empty(self, ctx: &Context<'_>) -> Result<bool, TaskError> {
        let tree = self.open(ctx)?;
        let root = ctx.get(node(tree.root))?;
        Ok(root.is_leaf() && root.keys.is_empty())
    }

    /// The number of entries, counted by walking every leaf: O(n) reads, and a task that
    /// calls it conflicts with every task that changes the map meanwhile. A game that
    /// needs the count often keeps one itself, where its updates conflict only with each
    /// other, or counts in pieces with [`range`](Self::range).
    pub fn len(self, ctx: &Context<'_>) -> Result<u64, TaskError> {
        let tree = self.open(ctx)?;
        let mut path = Vec::new();
        let (_, mut leaf) = tree.edge_leaf(ctx, false, &mut path)?;
        let mut n = 0;
        loop {
            n += leaf.keys.len() as u64;
            match tree.next_leaf(ctx, &mut path)? {
                Some((_, next)) => leaf = next,
                None => return Ok(n),
            }
        }
    }

    /// Removes the entries of up to `max_leaves` leaves, the least keys first, and returns
    /// whether the map is now empty. Each emptied leaf is merged away as after any
    /// removal, so the map stays balanced and usable meanwhile; that writes its sibling
    /// and parent, a few node writes per leaf. A leaf holds up to [`Fanout::leaf`]
    /// entries, so a task can clear a large map piece by piece, scheduling itself again
    /// while this returns `false`.
    pub fn clear(self, ctx: &Context<'_>, max_leaves: usize) -> Result<bool, TaskError> {
        self.open(ctx)?.clear(ctx, max_leaves)
    }

    /// Removes the map: every node and the header, one removal per node (about one per
    /// 50 entries with the default fanout), in this one task: for a large map,
    /// [`clear`](Self::clear) it in pieces first. The handle then refers to nothing.
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

    /// Walks the whole tree, checks its invariants (keys in order and within their
    /// parents' ranges, node sizes, every leaf at one depth) and returns its shape. Fails
    /// with [`TaskError::Corrupt`] naming the first node that breaks one. Reads every node:
    /// for tests and tools.
    pub fn check(self, ctx: &Context<'_>) -> Result<Shape, TaskError> {
        let tree = self.open(ctx)?;
        let shape = tree.check(ctx)?;
        // Every key must also decode as a `K`.
        self.walk(ctx, None, |id, key, _| {
            decode_key::<K>(key, id).map(|_| true)
        })?;
        Ok(shape)
    }
}

/// Decodes a stored key of node `id`.
fn decode_key<K: MapKey>(bytes: &[u8], id: u64) -> Result<K, TaskError> {
    decode_whole(bytes).ok_or_else(|| {
        corrupt(
            id,
            format!("a map key is not a {}", std::any::type_name::<K>()),
        )
    })
}

impl<K, V> Clone for ManagedMap<K, V> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<K, V> Copy for ManagedMap<K, V> {}
impl<K, V> PartialEq for ManagedMap<K, V> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<K, V> Eq for ManagedMap<K, V> {}
impl<K, V> Hash for ManagedMap<K, V> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl<K, V> fmt::Debug for ManagedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManagedMap({})", self.id)
    }
}
impl<K, V> fmt::Debug for ArchivedManagedMap<K, V> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}
