//! `ManagedQueue<T>`: a FIFO queue stored as a chain of managed chunk objects, with its
//! two ends in objects of their own.
//!
//! The producers' side is the tail object (the last chunk's id and the count of items
//! pushed) and the last chunk; the consumers' side is the head object (the first chunk's
//! id, the position in it and the count of items popped). A push writes the tail and the
//! last chunk; a pop reads the first chunk and writes the head. Items are never removed
//! from a chunk: a chunk is *sealed* when it is full, by the push that fills it, which also
//! creates the next, empty chunk and links it. A pop that takes a sealed chunk's last item
//! removes the chunk. So while the head is in a sealed chunk, pushes and pops touch
//! disjoint objects and do not conflict; they meet only when the queue is shorter than a
//! chunk and both work in the last one.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

use crate::app::Types;
use crate::collections::packed::Packed;
use crate::collections::{corrupt, decode_value, encode_value, Asked, Elements, Fanout, Shape};
use crate::context::Context;
use crate::error::TaskError;
use crate::layout::Layout;
use crate::persist::Persist;
use crate::reference::Ref;
use crate::task::TaskResult;

pub(crate) fn register(types: &mut Types) {
    types
        .object::<QueueHeader>()
        .object::<QueueHead>()
        .object::<QueueTail>()
        .object::<QueueChunk>();
}

/// A queue's header, the object its handle names. Written once and only read after.
#[crate::managed(name = "darkstar.QueueHeader")]
#[derive(Debug)]
pub(crate) struct QueueHeader {
    /// The item type.
    elements: Elements,
    /// The head object.
    head: u64,
    /// The tail object.
    tail: u64,
    /// Items per chunk (the fanout's `leaf`).
    chunk_items: u32,
    /// Bytes of items after which a chunk is sealed (the fanout's `bytes`).
    chunk_bytes: u32,
}

/// The consumers' end. Invariant: `offset` is at most the chunk's length, and the chunk's
/// `first + offset == popped`.
#[crate::managed(name = "darkstar.QueueHead")]
#[derive(Debug)]
pub(crate) struct QueueHead {
    /// The first chunk, which holds the next item to pop (if there is one).
    chunk: u64,
    /// The next item's position in that chunk.
    offset: u32,
    /// Items popped since the queue was created.
    popped: u64,
}

/// The producers' end.
#[crate::managed(name = "darkstar.QueueTail")]
#[derive(Debug)]
pub(crate) struct QueueTail {
    /// The last chunk, the only one not sealed.
    chunk: u64,
    /// Items pushed since the queue was created.
    pushed: u64,
}

/// A chunk of items, in order.
#[crate::managed(name = "darkstar.QueueChunk")]
#[derive(Debug, Default)]
pub(crate) struct QueueChunk {
    /// Archived items; never removed, only appended until the chunk is sealed.
    items: Packed,
    /// The next chunk once this one is sealed, 0 before.
    next: u64,
    /// The position of the first item in the queue's history: the count of items pushed
    /// before it.
    first: u64,
}

/// Where a walk of a queue ([`ManagedQueue::iter`]) stopped: the next item to read.
/// Storable and passable to a task, to go on from there in a later one. It belongs to the
/// queue that returned it: another queue refuses it.
#[derive(
    Clone,
    Copy,
    Debug,
    PartialEq,
    Eq,
    rkyv::Archive,
    rkyv::Serialize,
    rkyv::Deserialize,
    darkstar_macros::Layout,
)]
#[rkyv(crate = rkyv, derive(Debug))]
pub struct QueueCursor {
    /// The header of the queue it walks.
    queue: u64,
    chunk: u64,
    position: u64,
}

impl QueueCursor {
    /// The position of the next item in the queue's history: the number of items pushed
    /// before it.
    pub fn position(&self) -> u64 {
        self.position
    }
}

/// A FIFO queue of `T` whose items are spread over chunk objects, so that producers and
/// consumers do not conflict with each other.
///
/// [`push_back`](Self::push_back) writes the tail object and the last chunk;
/// [`pop_front`](Self::pop_front) reads the first chunk and writes the head object. While
/// the queue holds more than a chunk, the two ends touch different objects, and a task
/// that pushes does not conflict with one that pops. Pushes conflict with each other (they
/// all append to the last chunk), and so do pops. [`len`](Self::len) reads both ends, so
/// it conflicts with both.
///
/// The handle is a `Copy` value naming the queue's header object, like
/// [`ManagedMap`](crate::ManagedMap)'s. Read items without popping them with
/// [`peek_front`](Self::peek_front) and, in bounded pieces, [`iter`](Self::iter).
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_macros::Layout)]
#[rkyv(crate = rkyv)]
pub struct ManagedQueue<T> {
    id: u64,
    #[rkyv(with = rkyv::with::Skip)]
    marker: PhantomData<fn() -> T>,
}

impl<T> ManagedQueue<T> {
    /// The queue whose header object is `id` (see [`id`](Self::id)); its type is checked
    /// when it is used.
    pub const fn from_id(id: u64) -> ManagedQueue<T> {
        ManagedQueue {
            id,
            marker: PhantomData,
        }
    }

    /// The id of the queue's header object.
    pub const fn id(self) -> u64 {
        self.id
    }

    fn header(self) -> Ref<QueueHeader> {
        Ref::from_id(self.id)
    }
}

impl<T> ArchivedManagedQueue<T> {
    /// The handle, read from its archive.
    pub fn get(&self) -> ManagedQueue<T> {
        ManagedQueue::from_id(self.id.to_native())
    }
}

/// An open queue: its end objects and chunk limits, read from the header.
struct Ends {
    head: Ref<QueueHead>,
    tail: Ref<QueueTail>,
    chunk_items: usize,
    chunk_bytes: usize,
}

fn chunk(id: u64) -> Ref<QueueChunk> {
    Ref::from_id(id)
}

impl<T: Persist + Layout> ManagedQueue<T> {
    /// Creates an empty queue with the default [`Fanout`]: chunks of up to 64 items or
    /// 4 KiB.
    pub fn create(ctx: &Context<'_>) -> Result<ManagedQueue<T>, TaskError> {
        ManagedQueue::create_with(ctx, Fanout::default())
    }

    /// Creates an empty queue whose chunks hold up to `fanout.leaf` items or
    /// `fanout.bytes` bytes (`fanout.inner` is not used). Fails with
    /// [`TaskError::Aborted`] if a limit is below its minimum.
    pub fn create_with(ctx: &Context<'_>, fanout: Fanout) -> Result<ManagedQueue<T>, TaskError> {
        fanout.check()?;
        let first = ctx.create(QueueChunk::default())?;
        let head = ctx.create(QueueHead {
            chunk: first.id(),
            offset: 0,
            popped: 0,
        })?;
        let tail = ctx.create(QueueTail {
            chunk: first.id(),
            pushed: 0,
        })?;
        let header = ctx.create(QueueHeader {
            elements: Asked::queue::<T>().elements(),
            head: head.id(),
            tail: tail.id(),
            chunk_items: fanout.leaf,
            chunk_bytes: fanout.bytes,
        })?;
        Ok(ManagedQueue::from_id(header.id()))
    }

    /// Binds `name` to this queue, replacing any binding.
    pub fn bind(self, ctx: &Context<'_>, name: &str) -> TaskResult {
        ctx.bind(name, self.header())
    }

    /// The queue bound to `name`, its type checked (see
    /// [`ManagedMap::lookup`](crate::ManagedMap::lookup)).
    pub fn lookup(ctx: &Context<'_>, name: &str) -> Result<ManagedQueue<T>, TaskError> {
        let queue = ManagedQueue::from_id(ctx.lookup::<QueueHeader>(name)?.id());
        queue.open(ctx)?;
        Ok(queue)
    }

    fn open(self, ctx: &Context<'_>) -> Result<Ends, TaskError> {
        let h = ctx.get(self.header())?;
        h.elements.check(self.id, &Asked::queue::<T>())?;
        Ok(Ends {
            head: Ref::from_id(h.head()),
            tail: Ref::from_id(h.tail()),
            chunk_items: h.chunk_items() as usize,
            chunk_bytes: h.chunk_bytes() as usize,
        })
    }

    /// Appends `value`. Writes the tail object and the last chunk; the push that fills a
    /// chunk also creates the next one.
    pub fn push_back(self, ctx: &Context<'_>, value: T) -> TaskResult {
        let ends = self.open(ctx)?;
        let value = encode_value(&value)?;
        let mut tail = ctx.get_mut(ends.tail)?;
        let mut last = ctx.get_mut(chunk(tail.chunk))?;
        debug_assert_eq!(last.next, 0, "the tail chunk is never sealed");
        last.items.push(&value);
        tail.pushed += 1;
        if last.items.len() >= ends.chunk_items || last.items.byte_len() >= ends.chunk_bytes {
            let next = ctx.create(QueueChunk {
                first: tail.pushed,
                ..QueueChunk::default()
            })?;
            last.next = next.id();
            tail.chunk = next.id();
        }
        Ok(())
    }

    /// Removes the first item and returns it, or `None` if the queue is empty. Reads the
    /// head and its chunk and writes the head; taking a sealed chunk's last item removes
    /// the chunk.
    pub fn pop_front(self, ctx: &Context<'_>) -> Result<Option<T>, TaskError> {
        let ends = self.open(ctx)?;
        let head = ctx.get(ends.head)?;
        let (id, offset) = (head.chunk(), head.offset() as usize);
        let c = ctx.get(chunk(id))?;
        if offset >= c.items.len() {
            // A sealed chunk is left as soon as its last item is taken.
            if c.next() != 0 {
                return Err(corrupt(
                    id,
                    "a queue's head is at the end of a sealed chunk",
                ));
            }
            return Ok(None);
        }
        let value = decode_value(c.items.get(offset), id)?;
        let mut head = ctx.get_mut(ends.head)?;
        head.popped += 1;
        if offset + 1 == c.items.len() && c.next() != 0 {
            head.chunk = c.next();
            head.offset = 0;
            ctx.remove(chunk(id))?;
        } else {
            head.offset += 1;
        }
        Ok(Some(value))
    }

    /// The first item, without removing it, or `None` if the queue is empty. Reads the
    /// head and its chunk.
    pub fn peek_front(self, ctx: &Context<'_>) -> Result<Option<T>, TaskError> {
        let ends = self.open(ctx)?;
        let head = ctx.get(ends.head)?;
        let c = ctx.get(chunk(head.chunk()))?;
        let offset = head.offset() as usize;
        if offset >= c.items.len() {
            return Ok(None);
        }
        decode_value(c.items.get(offset), head.chunk()).map(Some)
    }

    /// The number of items: pushed minus popped. Reads both ends, so it conflicts with
    /// every push and every pop running meanwhile.
    pub fn len(self, ctx: &Context<'_>) -> Result<u64, TaskError> {
        let ends = self.open(ctx)?;
        Ok(ctx.get(ends.tail)?.pushed() - ctx.get(ends.head)?.popped())
    }

    /// Whether the queue is empty. Reads the head and its chunk (the consumers' side).
    pub fn is_empty(self, ctx: &Context<'_>) -> Result<bool, TaskError> {
        let ends = self.open(ctx)?;
        let head = ctx.get(ends.head)?;
        Ok(head.offset() as usize >= ctx.get(chunk(head.chunk()))?.items.len())
    }

    /// Up to `limit` items in order, without removing them, starting at `from` (the
    /// cursor a previous piece returned) or, for `None` or a cursor whose items have been
    /// popped since, at the first item. Returns the items and the cursor to go on from; a
    /// piece shorter than `limit` reached the end. Reads the chunks it spans. Fails with
    /// [`TaskError::Aborted`] if `from` is a cursor of another queue.
    pub fn iter(
        self,
        ctx: &Context<'_>,
        from: Option<QueueCursor>,
        limit: usize,
    ) -> Result<(Vec<T>, QueueCursor), TaskError> {
        let ends = self.open(ctx)?;
        let head = ctx.get(ends.head)?;
        let mut at = QueueCursor {
            queue: self.id,
            chunk: head.chunk(),
            position: head.popped(),
        };
        if let Some(from) = from {
            if from.queue != self.id {
                return Err(TaskError::abort(format!(
                    "a cursor of queue {} was passed to queue {}: a cursor goes on only in the queue that returned it",
                    from.queue, self.id
                )));
            }
            // The cursor's chunk may have been used up and removed: start at the head.
            if from.position > at.position && ctx.try_get(chunk(from.chunk))?.is_some() {
                at = from;
            }
        }
        let mut out = Vec::new();
        let mut c = ctx.get(chunk(at.chunk))?;
        loop {
            let first = c.first();
            let Some(mut i) = at.position.checked_sub(first).map(|i| i as usize) else {
                return Err(corrupt(at.chunk, "a queue cursor is before its chunk"));
            };
            while i < c.items.len() && out.len() < limit {
                out.push(decode_value(c.items.get(i), at.chunk)?);
                i += 1;
                at.position += 1;
            }
            if out.len() == limit || i < c.items.len() || c.next() == 0 {
                return Ok((out, at));
            }
            at.chunk = c.next();
            c = ctx.get(chunk(at.chunk))?;
        }
    }

    /// Removes the items of up to `max_chunks` chunks from the front, and the chunks;
    /// returns whether the queue is now empty. Writes nothing if there is nothing to
    /// remove (an empty queue, or `max_chunks` of 0). For a long queue, a task can clear it
    /// piece by piece, scheduling itself again while this returns `false`.
    pub fn clear(self, ctx: &Context<'_>, max_chunks: usize) -> Result<bool, TaskError> {
        let ends = self.open(ctx)?;
        // Read first: with nothing to remove, the head is not written (a pop running
        // meanwhile does not conflict).
        let view = ctx.get(ends.head)?;
        let first = ctx.get(chunk(view.chunk()))?;
        let empty = view.offset() as usize >= first.items.len() && first.next() == 0;
        if empty || max_chunks == 0 {
            return Ok(empty);
        }
        let mut head = ctx.get_mut(ends.head)?;
        for _ in 0..max_chunks {
            let c = ctx.get(chunk(head.chunk))?;
            let left = c.items.len() - (head.offset as usize).min(c.items.len());
            head.popped += left as u64;
            if c.next() == 0 {
                head.offset = c.items.len() as u32;
                return Ok(true);
            }
            ctx.remove(chunk(head.chunk))?;
            head.chunk = c.next();
            head.offset = 0;
        }
        let c = ctx.get(chunk(head.chunk))?;
        Ok(head.offset as usize >= c.items.len() && c.next() == 0)
    }

    /// Removes the queue: every chunk, both ends and the header, one removal per chunk in
    /// this one task. For a long queue, [`clear`](Self::clear) it in pieces first.
    pub fn destroy(self, ctx: &Context<'_>) -> TaskResult {
        let ends = self.open(ctx)?;
        let mut id = ctx.get(ends.head)?.chunk();
        while id != 0 {
            let next = ctx.get(chunk(id))?.next();
            ctx.remove(chunk(id))?;
            id = next;
        }
        ctx.remove(ends.head)?;
        ctx.remove(ends.tail)?;
        ctx.remove(self.header())
    }

    /// Walks every chunk, checks the queue's invariants (the chunks are chained in order
    /// from the head to the tail, the counts agree) and returns its shape; fails with
    /// [`TaskError::Corrupt`] otherwise. For tests and tools.
    pub fn check(self, ctx: &Context<'_>) -> Result<Shape, TaskError> {
        let ends = self.open(ctx)?;
        let head = ctx.get(ends.head)?;
        let tail = ctx.get(ends.tail)?;
        let mut shape = Shape {
            height: 1,
            ..Shape::default()
        };
        let mut id = head.chunk();
        let mut expected_first = None;
        loop {
            let c = ctx.get(chunk(id))?;
            shape.nodes += 1;
            shape.leaves += 1;
            if !c.items.is_well_formed() {
                return Err(corrupt(id, "a queue chunk's offsets are out of order"));
            }
            if expected_first.is_some_and(|f| f != c.first()) {
                return Err(corrupt(
                    id,
                    "a queue chunk does not follow on from the one before",
                ));
            }
            let len = c.items.len() as u64;
            let skipped = if id == head.chunk() {
                u64::from(head.offset())
            } else {
                0
            };
            if skipped > len || (id == head.chunk() && c.first() + skipped != head.popped()) {
                return Err(corrupt(id, "a queue's head does not match its first chunk"));
            }
            shape.entries += len - skipped;
            if c.next() == 0 {
                if id != tail.chunk() || c.first() + len != tail.pushed() {
                    return Err(corrupt(id, "a queue's tail does not match its last chunk"));
                }
                return Ok(shape);
            }
            if shape.nodes > tail.pushed() + 1 {
                return Err(corrupt(id, "a queue's chunks form a cycle"));
            }
            expected_first = Some(c.first() + len);
            id = c.next();
        }
    }
}

impl<T> Clone for ManagedQueue<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for ManagedQueue<T> {}
impl<T> PartialEq for ManagedQueue<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<T> Eq for ManagedQueue<T> {}
impl<T> Hash for ManagedQueue<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl<T> fmt::Debug for ManagedQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "ManagedQueue({})", self.id)
    }
}
impl<T> fmt::Debug for ArchivedManagedQueue<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}
