//! `#[task]`: a function becomes a task type.
//!
//! [`parse`] checks the attribute and the function and gathers what the expansion needs;
//! [`expand`] writes the code. Nothing is generated unless the whole input is valid, or its
//! only problems are argument types that cannot be stored.

mod expand;
mod parse;

use proc_macro2::TokenStream;

use crate::errors::original_with_errors;

/// The expansion of `#[task(attr)] item` (followed by the errors about argument types that
/// cannot be stored, if those are all), or `item` unchanged followed by every error found
/// in it.
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    match parse::parse(attr, item.clone()) {
        Ok(task) => expand::expand(&task),
        Err(error) => original_with_errors(item, error),
    }
}
