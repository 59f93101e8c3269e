//! The Darkstar for Rust server: thread-per-core executors, transactions, the scheduler, the
//! session and channel services, network listeners and meta-services.
//!
//! None of it is built yet; this crate holds nothing until it is. It will run every task as
//! a transaction over the store in `darkstar-storage`.
