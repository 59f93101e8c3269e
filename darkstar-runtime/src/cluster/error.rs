//! Why a node cannot join its cluster, or a log record cannot be read.

/// Why a cluster node could not start, or stopped.
#[derive(Debug, thiserror::Error)]
pub enum ClusterError {
    /// PostgreSQL, which holds the shared commit log, could not be reached or refused.
    #[error("cannot use the cluster's PostgreSQL log ({conninfo}): {reason}")]
    Postgres {
        /// The connection string, without its password.
        conninfo: String,
        /// What went wrong.
        reason: String,
    },
    /// etcd, which holds membership and placement, could not be reached or refused.
    #[error("cannot use the cluster's etcd ({endpoints}): {reason}")]
    Etcd {
        /// The endpoints tried.
        endpoints: String,
        /// What went wrong.
        reason: String,
    },
    /// Another live node already has this name.
    #[error(
        "another live node of cluster {cluster:?} is named {node:?}; give each node its own \
         node_name (or wait {ttl_secs} s if that node just died)"
    )]
    NameTaken {
        /// The cluster.
        cluster: String,
        /// The name.
        node: String,
        /// The lease time after which a dead node's name is free.
        ttl_secs: u64,
    },
    /// The meta-service never gave this node its place in the placement table.
    #[error(
        "the cluster's meta-service did not place this node within {waited_secs} s; its \
         leader may be unable to write the placement table to etcd (see the leader's log)"
    )]
    Unplaced {
        /// How long the node waited.
        waited_secs: u64,
    },
    /// A record of the log is damaged or of an unknown format: the node stops rather than
    /// apply something it cannot read.
    #[error("log record at position {position} cannot be read: {source}")]
    Record {
        /// Its position.
        position: u64,
        /// What is wrong with it.
        #[source]
        source: RecordError,
    },
    /// The log skips positions this replica still needs.
    #[error(
        "the shared log has no record at position {expected} (the next is at {found}): rows \
         this replica needs were deleted; start this node on an empty data directory"
    )]
    Gap {
        /// The position the replica needs next.
        expected: u64,
        /// The position the log holds instead.
        found: u64,
    },
    /// The local store failed while applying the log.
    #[error("the local replica failed while applying position {position}: {reason}")]
    Apply {
        /// The position being applied.
        position: u64,
        /// What went wrong.
        reason: String,
    },
}

/// What is wrong with a log record's bytes.
#[derive(Debug, thiserror::Error, PartialEq, Eq)]
pub enum RecordError {
    /// It ends before a field does.
    #[error("{what} at byte {offset} needs {needed} bytes, but only {left} are left")]
    Truncated {
        /// The field.
        what: &'static str,
        /// Where it starts.
        offset: usize,
        /// Bytes it needs.
        needed: usize,
        /// Bytes left.
        left: usize,
    },
    /// A field holds a value no writer produces.
    #[error("{what} at byte {offset}")]
    Malformed {
        /// What is wrong.
        what: &'static str,
        /// Where.
        offset: usize,
    },
    /// The record does not start with the log's magic.
    #[error("it does not start with the log record magic")]
    Magic,
    /// Written by a newer build.
    #[error("it has format version {found}; this build reads up to {supported}")]
    Newer {
        /// The record's version.
        found: u16,
        /// The newest this build reads.
        supported: u16,
    },
    /// Its body does not match its checksum.
    #[error("its checksum does not match (stored {stored:#010x}, computed {computed:#010x})")]
    Checksum {
        /// The checksum in the header.
        stored: u32,
        /// The checksum of the body as read.
        computed: u32,
    },
    /// A batch inside it cannot be decoded.
    #[error("batch {index}: {reason}")]
    Batch {
        /// The entry's index in the record.
        index: usize,
        /// The store's decoding error.
        reason: String,
    },
}
