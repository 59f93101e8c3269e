//! The Darkstar for Rust server: thread-per-core executors that run every task as a
//! serializable, durable transaction over the embedded store.
//!
//! ```no_run
//! use darkstar_runtime::Server;
//! use darkstar_sdk::prelude::*;
//!
//! struct Game;
//! impl App for Game {
//!     fn register(&self, _types: &mut Types) {}
//! }
//!
//! let server = Server::builder(Game).data_dir("game-data").start()?;
//! server.run_until_signal()?;
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
//!
//! See `ARCHITECTURE.md` for how the parts fit together.

#![warn(missing_docs)]

mod admin;
mod attempt;
mod catalog;
mod changes;
mod clock;
pub mod cluster;
mod config;
mod core;
mod data;
mod error;
mod histogram;
mod job;
mod logging;
mod main_error;
mod meta;
mod metrics;
mod names;
mod net;
pub mod placement;
mod record;
mod registry;
mod server;
mod session;
mod shared;
mod stats;
mod store_disk;
mod stored_tasks;
mod timers;
mod txn;

pub use admin::AdminError;
pub use catalog::{CatalogError, Problem, ProblemKind};
pub use config::{Config, ConfigError, DuplicateLogin, DurabilityMode, LoginMode, ServerArgs};
pub use error::{ShutdownError, StartError};
pub use logging::init_logging;
pub use main_error::MainError;
pub use metrics::{serve_prometheus, MetricsError};
pub use net::{
    raise_open_file_limit, AccountCommand, AccountCommandError, AccountError, Accounts,
    Authenticator, DevelopmentAuthenticator, MAX_ACCOUNT_NAME, WEBSOCKET_SUBPROTOCOL,
};
pub use placement::{HotObject, Placement};
pub use server::{Server, ServerBuilder, StopCause, Submission};
pub use stats::RuntimeStats;
