//! Collections whose contents are spread over many managed objects.
//!
//! A managed object is read and written whole, and two tasks conflict when one writes an
//! object the other read. A player registry kept as a `HashMap` field of one object is one
//! huge object that every registration rewrites and every pair of registrations conflicts
//! on. The collections here split their contents over many small managed objects (nodes),
//! so an operation reads and writes a few small objects, and tasks working on different
//! parts of a collection do not conflict:
//!
//! - [`ManagedMap<K, V>`]: an ordered map, a B+tree of nodes. An insert or removal reads
//!   one node per level and writes one leaf (and, when a leaf splits or merges, its
//!   parent). Tasks touching keys in different leaves do not conflict.
//! - [`ManagedList<T>`]: an indexed list, a B+tree whose inner nodes count the items
//!   below each child. Positions shift on insert and removal, so those write the path
//!   from the root; `set` writes one leaf. Every operation reads the root's counts, so an
//!   insert or a removal conflicts with every other operation on the list, `get` and
//!   `set` included.
//! - [`ManagedQueue<T>`]: a FIFO queue of chunks. `push_back` writes the tail chunk and the
//!   tail's counter, `pop_front` the head's counter (and removes a chunk once it is used
//!   up), so producers and consumers do not conflict while the queue holds more than a
//!   chunk.
//!
//! A handle (`ManagedMap<K, V>` and so on) is a small `Copy` value naming the collection's
//! header object: store it in a managed object, pass it to a task, or bind it to a name.
//! Each operation takes the task's [`Context`](crate::Context). Keys are stored in an
//! order-preserving byte encoding ([`MapKey`]); values and items as rkyv archives, so any
//! [`Persist`](crate::Persist) type will do.
//!
//! The book's "Collections" chapter shows them at work, and what they cost.

mod fanout;
mod key;
mod list;
mod map;
mod packed;
mod path;
mod queue;

use crate::layout::Layout;
use rkyv::util::AlignedVec;

pub use fanout::Fanout;
pub use key::{EncodeKey, KeyRef, MapKey};
pub use list::{ArchivedManagedList, ManagedList};
pub use map::{ArchivedManagedMap, ManagedMap};
pub use queue::{ArchivedManagedQueue, ArchivedQueueCursor, ManagedQueue, QueueCursor};

use crate::app::Types;
use crate::error::TaskError;
use crate::persist::{decode, encode, Persist};

/// Registers the collections' managed types; every [`Types`] holds them.
pub(crate) fn register(types: &mut Types) {
    map::register(types);
    list::register(types);
    queue::register(types);
}

/// What a walk of a whole collection found, from `check`: the collection's invariants
/// held, and this is its shape. For tests and tools: the walk reads every node.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq)]
pub struct Shape {
    /// Levels of nodes: 1 for a tree that is a single leaf. For a queue, always 1.
    pub height: u32,
    /// Node objects (a queue's chunks), not counting the header objects.
    pub nodes: u64,
    /// Of those, the leaves (for a queue, the chunks).
    pub leaves: u64,
    /// Entries or items held.
    pub entries: u64,
}

/// A tag of type `T`, stored with a collection so that a handle naming other types is
/// refused instead of reading the collection's bytes as the wrong type: its layout
/// fingerprint, so that a changed element type is refused too.
fn type_tag<T: Layout + ?Sized>() -> u64 {
    T::FINGERPRINT
}

/// The element types of a collection, as its header records them: a tag of the key type
/// (0 for a list or a queue, which have none) and of the value type, and the collection's
/// type for messages, such as `ManagedMap<u64, alloc::string::String>`.
#[derive(Debug, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_macros::Layout)]
#[rkyv(crate = rkyv)]
pub(crate) struct Elements {
    key: u64,
    value: u64,
    name: String,
}

/// The element types a handle asks for: the tags, and how to name them if they differ.
struct Asked {
    key: u64,
    value: u64,
    name: fn() -> String,
}

impl Asked {
    fn map<K: Layout, V: Layout>() -> Asked {
        Asked {
            key: type_tag::<K>(),
            value: type_tag::<V>(),
            name: || {
                format!(
                    "ManagedMap<{}, {}>",
                    std::any::type_name::<K>(),
                    std::any::type_name::<V>()
                )
            },
        }
    }

    fn list<T: Layout>() -> Asked {
        Asked {
            key: 0,
            value: type_tag::<T>(),
            name: || format!("ManagedList<{}>", std::any::type_name::<T>()),
        }
    }

    fn queue<T: Layout>() -> Asked {
        Asked {
            key: 0,
            value: type_tag::<T>(),
            name: || format!("ManagedQueue<{}>", std::any::type_name::<T>()),
        }
    }

    /// What a new collection's header records.
    fn elements(&self) -> Elements {
        Elements {
            key: self.key,
            value: self.value,
            name: (self.name)(),
        }
    }
}

impl ArchivedElements {
    /// Fails with [`TaskError::CollectionType`] unless the collection with header `id`
    /// holds what `asked` names.
    fn check(&self, id: u64, asked: &Asked) -> Result<(), TaskError> {
        if self.key.to_native() == asked.key && self.value.to_native() == asked.value {
            return Ok(());
        }
        Err(TaskError::CollectionType {
            id,
            stored: self.name.as_str().to_owned(),
            requested: (asked.name)(),
        })
    }
}

/// Archives a value or item for a node.
fn encode_value<V: Persist>(value: &V) -> Result<AlignedVec, TaskError> {
    encode(value, std::any::type_name::<V>())
}

/// Reads a value or item stored in node `node`. An archive must be 16-byte aligned to be
/// validated and read, and a value inside a node's bytes is wherever the value before it
/// ended: unless it happens to be aligned, it is copied first.
fn decode_value<V: Persist>(bytes: &[u8], node: u64) -> Result<V, TaskError> {
    if (bytes.as_ptr() as usize) % 16 == 0 {
        return decode::<V>(bytes, node);
    }
    let mut aligned = AlignedVec::<16>::with_capacity(bytes.len());
    aligned.extend_from_slice(bytes);
    decode::<V>(&aligned, node)
}

/// A stored node that breaks an invariant of its collection.
fn corrupt(node: u64, reason: impl Into<String>) -> TaskError {
    TaskError::Corrupt {
        id: node,
        reason: reason.into(),
    }
}

/// More levels than any tree reaches (with a fanout of 4, 2^64 entries take 32): a longer
/// path means the nodes form a cycle.
const MAX_DEPTH: usize = 64;

/// Node `r`, read and deserialized, without opening it for writing.
fn owned<N: crate::Managed>(ctx: &crate::Context<'_>, r: crate::Ref<N>) -> Result<N, TaskError> {
    let n = ctx.get(r)?;
    rkyv::deserialize::<N, rkyv::rancor::Error>(n.archived())
        .map_err(|e| corrupt(r.id(), e.to_string()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn tags_tell_types_apart() {
        assert_eq!(type_tag::<u64>(), type_tag::<u64>());
        assert_ne!(type_tag::<u64>(), type_tag::<u32>());
        assert_ne!(type_tag::<String>(), type_tag::<Vec<u8>>());
    }
}
