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
/// Versions are those returned by reads ([`Record::version`](crate::Record),
/// [`Binding::version`](crate::Binding)); `0` means "absent". In an embedded store a version
/// is the sequence number of the commit that wrote it; in a replica store it may instead be
/// chosen by the committer ([`set_version`](Self::set_version)).
///
/// A batch can travel between machines as bytes: [`encode`](Self::encode) and
/// [`decode`](Self::decode). Two batches are equal when they hold the same writes and reads
/// in the same order, the same explicit version, and are both oversized or both not.
#[derive(Clone, Debug, Default)]
pub struct Batch {
    pub(crate) ops: Vec<Op>,
    pub(crate) reads: Vec<Read>,
    pub(crate) arena: Vec<u8>,
    /// Set when more than 4 GiB of names and values were added; the commit is refused.
    pub(crate) oversized: bool,
    /// The version every write installs, instead of the commit's sequence number.
    pub(crate) version: Option<u64>,
}

/// A write with its names and values resolved, for comparing batches.
#[derive(PartialEq)]
enum OpView<'a> {
    Put(Space, u64, &'a [u8], &'a [u8]),
    Remove(Space, u64),
    Bind(&'a [u8], u64),
    Unbind(&'a [u8]),
}

/// A read with its names resolved, for comparing batches.
#[derive(PartialEq)]
enum ReadView<'a> {
    Id(Space, u64, u64),
    Name(&'a [u8], u64),
    NextName(Option<&'a [u8]>, Option<&'a [u8]>),
}

impl Batch {
    fn op_view(&self, op: &Op) -> OpView<'_> {
        match *op {
            Op::Put {
                space,
                id,
                type_name,
                value,
            } => OpView::Put(space, id, self.bytes(type_name), self.bytes(value)),
            Op::Remove { space, id } => OpView::Remove(space, id),
            Op::Bind { name, id } => OpView::Bind(self.bytes(name), id),
            Op::Unbind { name } => OpView::Unbind(self.bytes(name)),
        }
    }

    fn read_view(&self, read: &Read) -> ReadView<'_> {
        match *read {
            Read::Id { space, id, version } => ReadView::Id(space, id, version),
            Read::Name { name, version } => ReadView::Name(self.bytes(name), version),
            Read::NextName { after, observed } => ReadView::NextName(
                after.map(|s| self.bytes(s)),
                observed.map(|s| self.bytes(s)),
            ),
        }
    }
}

/// Compares content, not layout: the same writes and reads in the same order, the same
/// explicit version and oversized state, however the names and values are stored.
impl PartialEq for Batch {
    fn eq(&self, other: &Batch) -> bool {
        self.version == other.version
            && self.oversized == other.oversized
            && self.ops.len() == other.ops.len()
            && self.reads.len() == other.reads.len()
            && self
                .ops
                .iter()
                .zip(&other.ops)
                .all(|(a, b)| self.op_view(a) == other.op_view(b))
            && self
                .reads
                .iter()
                .zip(&other.reads)
                .all(|(a, b)| self.read_view(a) == other.read_view(b))
    }
}

impl Eq for Batch {}

impl Batch {
    /// An empty batch.
    pub fn new() -> Batch {
        Batch::default()
    }

    /// Empties the batch, keeping its allocations. The explicit version is reset to `None`.
    pub fn clear(&mut self) {
        self.ops.clear();
        self.reads.clear();
        self.arena.clear();
        self.oversized = false;
        self.version = None;
    }

    /// Sets the version every write of this batch installs: `Some(v)` installs key version
    /// `v` (nonzero, at most [`format::MAX_VERSION`](crate::format::MAX_VERSION)) instead of
    /// the commit's sequence number; `None` goes back to the sequence number.
    ///
    /// Only a replica store ([`Options::replica`](crate::Options::replica)) accepts a batch
    /// with an explicit version; any other store, and any store given version 0, refuses it
    /// with [`CommitError::Invalid`](crate::CommitError::Invalid). The store does not check
    /// that versions are new: the committer must never install a version a key has held
    /// before, or a stale read could validate. Versions need not increase.
    pub fn set_version(&mut self, version: Option<u64>) {
        self.version = version;
    }

    /// The explicit version set with [`set_version`](Self::set_version), if any.
    pub fn version(&self) -> Option<u64> {
        self.version
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
