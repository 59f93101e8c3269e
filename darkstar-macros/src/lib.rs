//! Procedural macros of Darkstar for Rust.
//!
//! This crate is where `#[managed]` and `#[task]` are implemented; game code reaches them
//! through `darkstar-sdk`, which re-exports them. It exports no macros yet: the programming
//! model they generate code for is not built yet, and this crate holds nothing until it is.
