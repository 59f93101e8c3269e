//! Collecting compile errors, so one expansion reports every problem it finds at once
//! instead of making the user fix them one build at a time.

use std::fmt::Display;

use proc_macro2::TokenStream;
use quote::ToTokens;

/// Compile errors found so far, combined into one `syn::Error`.
#[derive(Default)]
pub struct Errors {
    /// `None` until the first error.
    combined: Option<syn::Error>,
}

impl Errors {
    /// No errors yet.
    pub fn new() -> Errors {
        Errors::default()
    }

    /// Whether nothing was recorded.
    pub fn is_empty(&self) -> bool {
        self.combined.is_none()
    }

    /// Records `error`.
    pub fn push(&mut self, error: syn::Error) {
        match &mut self.combined {
            Some(combined) => combined.combine(error),
            None => self.combined = Some(error),
        }
    }

    /// Records an error spanning `tokens` (from their first to their last token).
    pub fn error_at(&mut self, tokens: impl ToTokens, message: impl Display) {
        self.push(syn::Error::new_spanned(tokens, message));
    }

    /// Every recorded error and then `error`, which ends the checks: after it there is
    /// nothing left to check.
    pub fn fail(self, error: syn::Error) -> syn::Error {
        match self.combined {
            Some(mut combined) => {
                combined.combine(error);
                combined
            }
            None => error,
        }
    }

    /// `Ok` if nothing was recorded, or every recorded error combined.
    pub fn finish(self) -> syn::Result<()> {
        match self.combined {
            Some(error) => Err(error),
            None => Ok(()),
        }
    }
}

/// The output of a macro that failed: the item as the user wrote it, so names it declares
/// still resolve and editors keep working, followed by the errors.
pub fn original_with_errors(item: TokenStream, error: syn::Error) -> TokenStream {
    let mut out = item;
    out.extend(error.into_compile_error());
    out
}
