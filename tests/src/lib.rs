//! Cross-crate tests of Darkstar for Rust.
//!
//! The book's chapters are included here as documentation so that `cargo test` compiles
//! and runs every Rust example in them. [`prometheus`] reads the metrics endpoint for the
//! tests that check what the server counted; [`server_config`] is the configuration the
//! client-facing tests start their servers with. (A server in a child process, for tests
//! that measure its memory or read its logs, is `darkstar_examples::attack::child`.)
//! [`engines`] starts real PostgreSQL and etcd servers, on loopback with fresh data
//! directories, for the tests of the cluster mode (it lives in the examples crate, whose
//! cluster demo and benchmark start the engines too). [`node`] prepares the TypeScript
//! packages under `web/` for the tests that run them in Node.js and in Chromium.

pub use darkstar_examples::engines;
pub mod node;
pub mod prometheus;
pub mod server_config;

#[doc = include_str!("../../book/src/getting-started.md")]
pub mod book_getting_started {}

#[doc = include_str!("../../book/src/managed-objects.md")]
pub mod book_managed_objects {}

#[doc = include_str!("../../book/src/changing-data.md")]
pub mod book_changing_data {}

#[doc = include_str!("../../book/src/tasks.md")]
pub mod book_tasks {}

#[doc = include_str!("../../book/src/collections.md")]
pub mod book_collections {}

#[doc = include_str!("../../book/src/scheduling.md")]
pub mod book_scheduling {}

#[doc = include_str!("../../book/src/configuration.md")]
pub mod book_configuration {}

#[doc = include_str!("../../book/src/metrics.md")]
pub mod book_metrics {}

#[doc = include_str!("../../book/src/macros.md")]
pub mod book_macros {}

#[doc = include_str!("../../book/src/store.md")]
pub mod book_store {}

#[doc = include_str!("../../book/src/store-format.md")]
pub mod book_store_format {}

#[doc = include_str!("../../book/src/sessions.md")]
pub mod book_sessions {}

#[doc = include_str!("../../book/src/channels.md")]
pub mod book_channels {}

#[doc = include_str!("../../book/src/reconnection.md")]
pub mod book_reconnection {}

#[doc = include_str!("../../book/src/clients.md")]
pub mod book_clients {}
