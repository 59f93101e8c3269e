//! The `Managed` trait: what makes a struct persistent game state.

use crate::stored::Stored;

/// A managed object: persistent game state, stored as an rkyv archive under a stable type
/// name. Implemented by [`#[managed]`](macro@crate::managed); there is no reason to implement
/// it by hand.
#[diagnostic::on_unimplemented(
    message = "`{Self}` is not a managed object",
    label = "not a managed object",
    note = "mark the struct `#[managed]`; if it is marked, fix the errors `#[managed]` reports on it first: until then the struct is left as written, without its `Managed` impl"
)]
///
/// Its stable name, version, layout and older versions come from [`Stored`]: renaming the
/// Rust type keeps the stored name if the attribute gives it (`#[managed(name = "...")]`).
pub trait Managed: Stored {}
