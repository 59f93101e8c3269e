//! Runnable examples of Darkstar for Rust, after Project Darkstar's tutorial, plus the load
//! generator the bank demo and the benchmark drive servers with.
//!
//! | module | shows | binary |
//! |---|---|---|
//! | [`hello`] | an app, `initialize`, a scheduled task | `hello` |
//! | [`timer`] | a periodic task | `timer` |
//! | [`counter`] | state that survives a restart | `counter` |
//! | [`bank`] | transfers between accounts, requested by clients over sessions | `bank` |
//! | [`chat`] | a lobby with rooms: sessions, channels, a channel listener | `chat`, `chat-client` |
//!
//! [`web_demo`] serves the chat lobby's browser page (the TypeScript client's demo) beside
//! the `chat` server: `chat --web ADDR`.
//!
//! [`attack`] holds the attacks the server is tested and measured against (a login storm,
//! connection churn, a channel flood) and the well-behaved players measured beside them.
//!
//! [`cluster`] runs bank nodes as child processes, with bots that move to a live node when
//! theirs dies, for the `cluster` demo and the cluster benchmark; [`engines`] starts the
//! real PostgreSQL and etcd a cluster needs, on loopback, for them and for the tests.

#![warn(missing_docs)]

pub mod attack;
pub mod bank;
pub mod chat;
pub mod cli;
pub mod cluster;
pub mod counter;
pub mod engines;
pub mod hello;
pub mod load;
pub mod timer;
pub mod web_demo;
