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
///
/// On a struct, `#[task(name = "...", version = N)]` declares an older version of a task's
/// arguments, kept so that stored tasks of that version can be migrated: stored like a
/// managed struct, never run.
pub fn task(attr: TokenStream, item: TokenStream) -> TokenStream {
    if let Ok(parsed @ syn::Item::Struct(_)) = syn::parse2::<syn::Item>(item.clone()) {
        let mut scratch = crate::errors::Errors::new();
        let args = crate::args::parse(attr.clone(), crate::args::Macro::Managed, &mut scratch);
        if args.version.is_none() {
            let error = syn::Error::new_spanned(
                crate::item::head(&parsed),
                "`#[task]` goes on a function, not a struct: the function's arguments become the task struct, `#[task] fn transfer(ctx: &mut Context, from: Ref<Account>, amount: u64) -> TaskResult`; for a struct of game state, use `#[managed]`; to keep an older version of a task's arguments, give its version: `#[task(name = \"bank.transfer\", version = 1)]`",
            );
            return original_with_errors(item, error);
        }
        return crate::managed::stored_struct(attr, item, crate::managed::Kind::TaskArguments);
    }
    match parse::parse(attr, item.clone()) {
        Ok(task) => expand::expand(&task),
        Err(error) => original_with_errors(item, error),
    }
}
