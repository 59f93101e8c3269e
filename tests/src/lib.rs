//! Cross-crate tests of Darkstar for Rust.
//!
//! The book's chapters are included here as documentation so that `cargo test` compiles
//! and runs every Rust example in them.

#[doc = include_str!("../../book/src/store.md")]
pub mod book_store {}

#[doc = include_str!("../../book/src/store-format.md")]
pub mod book_store_format {}
