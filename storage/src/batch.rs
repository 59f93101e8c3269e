//! A commit's content: the writes to apply and the versions they depend on.

/// The two id-keyed spaces.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub(crate) enum Space {
    Objects,
    Tasks,
}

/// A range of the batch's byte arena.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Span {
    pub start: u32,
    pub len: u32,
}

/// One write.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Op {
    Put {
        space: Space,
        id: u64,
        type_name: Span,
        value: Span,
    },
    Remove {
        space: Space,
        id: u64,
    },
    Bind {
        name: Span,
        id: u64,
    },
    Unbind {
        name: Span,
    },
}

/// One read to validate at commit.
#[derive(Clone, Copy, Debug)]
pub(crate) enum Read {
    Id {
        space: Space,
        id: u64,
        version: u64,
    },
    Name {
        name: Span,
        version: u64,
    },
    NextName {
        after: Option<Span>,
        observed: Option<Span>,
    },
}

/// The writes of one transaction and the versions it read.
///
/// [`Store::commit`](crate::Store::commit) applies every write atomically, or none of them
/// if any recorded read is no longer current. Writing the same key twice in one batch keeps
/// the last write. A batch can be cleared and reused to avoid allocating per commit.
///
/// Versions are the sequence numbers returned by reads ([`Record::version`](crate::Record),
/// [`Binding::version`](crate::Binding)); `0` means "absent".
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub(crate) ops: Vec<Op>,
    pub(crate) reads: Vec<Read>,
    pub(crate) arena: Vec<u8>,
    /// Set when more than 4 GiB of names and values were added; the commit is refused.
    pub(crate) oversized: bool,
}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Empties the batch, keeping its allocations.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.reads.clear();
        self.arena.clear();
        self.oversized = false;
    }

    /// Whether the batch has no writes (a batch of reads alone only validates).
    pub fn is_empty(&self) -> bool {
        self.ops.is_empty()
    }

    /// Number of writes.
    pub fn len(&self) -> usize {
        self.ops.len()
    }

    fn push_bytes(&mut self, bytes: &[u8]) -> Span {
        let start = self.arena.len();
        if start.saturating_add(bytes.len()) > u32::MAX as usize {
            // Spans are 32-bit; the commit reports the batch as too large.
            self.oversized = true;
            return Span { start: 0, len: 0 };
        }
        self.arena.extend_from_slice(bytes);
        Span {
            start: start as u32,
            len: bytes.len() as u32,
        }
    }

    pub(crate) fn bytes(&self, span: Span) -> &[u8] {
        &self.arena[span.start as usize..(span.start + span.len) as usize]
    }

    pub(crate) fn str(&self, span: Span) -> &str {
        self.str_of(self.bytes(span))
    }

    /// A name slice of this batch's arena as text.
    pub(crate) fn str_of<'a>(&self, bytes: &'a [u8]) -> &'a str {
        std::str::from_utf8(bytes).expect("names are pushed from &str")
    }

    /// Stores `value` (an rkyv archive, or any bytes) as object `id` of type `type_name`.
    pub fn put_object(&mut self, id: u64, type_name: &str, value: &[u8]) {
        self.put(Space::Objects, id, type_name, value)
    }

    /// Removes object `id`.
    pub fn remove_object(&mut self, id: u64) {
        self.ops.push(Op::Remove {
            space: Space::Objects,
            id,
        });
    }

    /// Stores pending task `id`: its type name and its serialized state.
    pub fn put_task(&mut self, id: u64, type_name: &str, value: &[u8]) {
        self.put(Space::Tasks, id, type_name, value)
    }

    /// Removes pending task `id`.
    pub fn remove_task(&mut self, id: u64) {
        self.ops.push(Op::Remove {
            space: Space::Tasks,
            id,
        });
    }

    fn put(&mut self, space: Space, id: u64, type_name: &str, value: &[u8]) {
        let type_name = self.push_bytes(type_name.as_bytes());
        let value = self.push_bytes(value);
        self.ops.push(Op::Put {
            space,
            id,
            type_name,
            value,
        });
    }

    /// Binds `name` to `id`, replacing any earlier binding.
    pub fn bind(&mut self, name: &str, id: u64) {
        let name = self.push_bytes(name.as_bytes());
        self.ops.push(Op::Bind { name, id });
    }

    /// Removes the binding of `name`.
    pub fn unbind(&mut self, name: &str) {
        let name = self.push_bytes(name.as_bytes());
        self.ops.push(Op::Unbind { name });
    }

    /// Records that the transaction read object `id` at `version` (`0`: found absent).
    pub fn read_object(&mut self, id: u64, version: u64) {
        self.reads.push(Read::Id {
            space: Space::Objects,
            id,
            version,
        });
    }

    /// Records that the transaction read pending task `id` at `version` (`0`: absent).
    pub fn read_task(&mut self, id: u64, version: u64) {
        self.reads.push(Read::Id {
            space: Space::Tasks,
            id,
            version,
        });
    }

    /// Records that the transaction looked up `name` and found `version` (`0`: unbound).
    pub fn read_name(&mut self, name: &str, version: u64) {
        let name = self.push_bytes(name.as_bytes());
        self.reads.push(Read::Name { name, version });
    }

    /// Records that the transaction asked for the first bound name after `after` (`None`:
    /// the first name of all) and got `observed` (`None`: there was none). The commit fails
    /// if a name was bound or unbound in between since, which keeps ordered scans
    /// serializable.
    pub fn read_next_name(&mut self, after: Option<&str>, observed: Option<&str>) {
        let after = after.map(|a| self.push_bytes(a.as_bytes()));
        let observed = observed.map(|o| self.push_bytes(o.as_bytes()));
        self.reads.push(Read::NextName { after, observed });
    }
}
