//! Why a server could not start or stop cleanly.

use darkstar_sdk::TaskError;
use darkstar_storage::{CommitError, DurabilityError, OpenError};

use crate::catalog::CatalogError;
use crate::config::ConfigError;
use crate::metrics::MetricsError;

/// Why a server did not start. Nothing stored is changed by a failed start, except that
/// `initialize` may have committed if the failure came after it.
#[derive(Debug, thiserror::Error)]
pub enum StartError {
    /// The configuration is invalid.
    #[error(transparent)]
    Config(#[from] ConfigError),
    /// The data store could not be opened.
    #[error("cannot open the data store: {0}")]
    Store(#[from] OpenError),
    /// The node could not join its cluster (etcd or PostgreSQL unreachable, or refused).
    #[error("cannot join the cluster: {0}")]
    Cluster(#[from] crate::cluster::ClusterError),
    /// The session secret, which resume keys come from, could not be read or stored.
    #[error("{0}")]
    SessionSecret(String),
    /// The store's catalog does not fit this build's types (or migrating to them failed).
    #[error(transparent)]
    Catalog(#[from] CatalogError),
    /// The store holds a stored task of a type this binary does not register.
    #[error(
        "the data store holds {what} of type `{type_name}`, which this server does not register; \
         register it in App::register (or give the renamed type its old name with `name = \"{type_name}\"`)"
    )]
    UnknownStoredType {
        /// "objects" or "scheduled tasks".
        what: &'static str,
        /// The stored type name.
        type_name: String,
    },
    /// Two registered types share one stable name (or alias), so they would read each
    /// other's data.
    #[error(
        "two registered types share the stable name `{0}` (as a name or an alias); if one is \
         an older version of the other, register only the current version (older ones come \
         with it); otherwise give one of them another name with `name = \"...\"`, or drop \
         the alias"
    )]
    DuplicateTypeName(&'static str),
    /// A name is both registered (as a type's name or alias) and declared removed
    /// (`Types::removed`).
    #[error(
        "the name `{0}` is registered (as a type's name or alias) and also declared removed; \
         a removed type's stored values are deleted at start-up, so either stop registering \
         it or remove the `types.removed(\"{0}\")` declaration"
    )]
    RemovedTypeRegistered(&'static str),
    /// A stored task record is damaged.
    #[error("stored task {id} is damaged: {reason}")]
    CorruptTask {
        /// The task id.
        id: u64,
        /// What is wrong.
        reason: String,
    },
    /// The application's `initialize` failed; it will run again on the next start.
    #[error("App::initialize failed: {0}")]
    Initialize(TaskError),
    /// Committing `initialize` failed.
    #[error("cannot commit App::initialize: {0}")]
    Commit(#[from] CommitError),
    /// The commit of `initialize` could not be made durable.
    #[error("cannot make App::initialize durable: {0}")]
    Durability(#[from] DurabilityError),
    /// The metrics endpoint could not start.
    #[error(transparent)]
    Metrics(#[from] MetricsError),
    /// The admin listener could not start.
    #[error(transparent)]
    Admin(#[from] crate::admin::AdminError),
    /// The executor threads could not start.
    #[error("cannot start the executors: {0}")]
    Executors(String),
    /// The client listeners could not start (an address in use, for instance).
    #[error("{0}")]
    Network(String),
}

/// Why a shutdown was not clean.
#[derive(Debug, thiserror::Error)]
pub enum ShutdownError {
    /// An executor thread panicked outside game code.
    #[error("executor thread failed: {0}")]
    Executor(String),
    /// The final sync failed; the last commits may not be durable.
    #[error("final sync failed: {0}")]
    Durability(#[from] DurabilityError),
    /// Waiting for shutdown signals failed.
    #[error("cannot wait for signals: {0}")]
    Signals(#[from] std::io::Error),
    /// The server stopped by itself, because it could not go on.
    #[error("the server stopped: {0}")]
    Stopped(String),
}
