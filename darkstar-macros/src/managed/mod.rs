//! `#[managed]`: a struct becomes a managed object type.
//!
//! [`parse`] checks the attribute and the struct and gathers what the expansion needs;
//! [`expand`] writes the code. Nothing is generated unless the whole input is valid, or its
//! only problems are field types that cannot be stored.

mod expand;
mod parse;

use proc_macro2::TokenStream;

use crate::errors::original_with_errors;

/// The expansion of `#[managed(attr)] item` (followed by the errors about field types that
/// cannot be stored, if those are all), or `item` unchanged followed by every error found
/// in it.
pub fn managed(attr: TokenStream, item: TokenStream) -> TokenStream {
    stored_struct(attr, item, Kind::Managed)
}

/// What a stored struct is.
#[derive(Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    /// A managed type (`#[managed]`): objects of it can be created.
    Managed,
    /// An older version of a task's arguments (`#[task]` on a struct): kept to read what
    /// is stored, never run.
    TaskArguments,
}

/// The expansion of a stored struct of `kind`, or `item` unchanged followed by every error
/// found in it.
pub fn stored_struct(attr: TokenStream, item: TokenStream, kind: Kind) -> TokenStream {
    match parse::parse(attr, item.clone()) {
        Ok(managed) => expand::expand(&managed, kind),
        Err(error) => original_with_errors(without_rkyv_attributes(item), error),
    }
}

/// `item` without its `#[rkyv(...)]` attributes, if it is a struct. They belong to rkyv's
/// derives, which are not added when the struct has errors; left in, each would be one
/// more error ("cannot find attribute `rkyv`") about nothing the user did wrong.
fn without_rkyv_attributes(item: TokenStream) -> TokenStream {
    let Ok(mut item) = syn::parse2::<syn::ItemStruct>(item.clone()) else {
        return item;
    };
    let is_rkyv = |attr: &syn::Attribute| attr.path().is_ident("rkyv");
    item.attrs.retain(|attr| !is_rkyv(attr));
    for field in &mut item.fields {
        field.attrs.retain(|attr| !is_rkyv(attr));
    }
    quote::ToTokens::into_token_stream(item)
}
