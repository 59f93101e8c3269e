//! Procedural macros of Darkstar for Rust: `#[managed]` and `#[task]`.
//!
//! Game code reaches them through `darkstar-sdk`, which re-exports them and documents them.

use proc_macro::TokenStream;

/// See `darkstar_sdk::managed`.
#[proc_macro_attribute]
pub fn managed(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}

/// See `darkstar_sdk::task`.
#[proc_macro_attribute]
pub fn task(_attr: TokenStream, item: TokenStream) -> TokenStream {
    item
}
