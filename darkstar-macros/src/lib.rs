//! Procedural macros of Darkstar for Rust: `#[managed]`, `#[task]` and `#[derive(Layout)]`.
//!
//! Game code reaches them through `darkstar-sdk`, which re-exports and documents them, and
//! which every path in the generated code goes through (`::darkstar_sdk::...`): a game
//! depends on the SDK alone.
//!
//! Each macro checks its input completely before generating anything, and reports every
//! problem at once, each at the tokens it is about. On error it emits the item unchanged,
//! followed by the errors, so the rest of the crate still sees the names it declares. When
//! the only problems are field or argument types that cannot be stored (an `Instant`, an
//! `Rc`), it generates everything all the same, with those values left out of the archive,
//! so that the rest of the crate type-checks and its errors are the only ones.

#![warn(missing_docs)]

mod args;
mod errors;
mod item;
mod layout;
mod managed;
mod portable;
mod stored;
mod task;

use proc_macro::TokenStream;

/// See `darkstar_sdk::managed`.
#[proc_macro_attribute]
pub fn managed(attr: TokenStream, item: TokenStream) -> TokenStream {
    managed::managed(attr.into(), item.into()).into()
}

/// See `darkstar_sdk::Layout`.
#[proc_macro_derive(Layout)]
pub fn derive_layout(item: TokenStream) -> TokenStream {
    layout::derive(item.into()).into()
}

/// See `darkstar_sdk::task`.
#[proc_macro_attribute]
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    task::task(attr.into(), item.into()).into()
}
