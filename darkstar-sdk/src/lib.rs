//! What a game programmer writes against in Darkstar for Rust.
//!
//! Game state lives in **managed objects**: structs marked [`#[managed]`](macro@managed),
//! stored as rkyv archives and reached through typed references ([`Ref<T>`]) or name
//! bindings. Game logic lives in **tasks**: functions marked [`#[task]`](macro@task), each run
//! as one serializable transaction through a [`Context`]. An [`App`] ties the two together:
//! it registers its types and sets up the world once per data store.
//!
//! ```
//! use darkstar_sdk::prelude::*;
//!
//! #[managed]
//! pub struct Counter {
//!     pub hits: u64,
//! }
//!
//! #[task]
//! fn hit(ctx: &mut Context, counter: Ref<Counter>) -> TaskResult {
//!     ctx.get_mut(counter)?.hits += 1;
//!     Ok(())
//! }
//! ```
//!
//! The SDK never names the runtime: a server (`darkstar-runtime`) implements
//! [`Transaction`] and runs the tasks.

#![warn(missing_docs)]

// The macros name `::darkstar_sdk`; the SDK's own managed types use them too.
extern crate self as darkstar_sdk;

mod app;
mod channel;
pub mod collections;
mod context;
mod delivery;
mod error;
#[doc(hidden)]
pub mod hooks;
pub mod layout;
mod managed;
mod persist;
mod reference;
mod session;
pub mod stored;
mod task;
mod transaction;
mod view;

pub use app::{
    App, ChannelListenerType, ObjectType, SessionListenerType, StoredType, TaskType, Types,
};
pub use channel::{ArchivedChannel, Channel, ChannelListener};
pub use collections::{Fanout, ManagedList, ManagedMap, ManagedQueue, MapKey};
pub use context::Context;
pub use delivery::Delivery;
pub use error::TaskError;
pub use layout::Layout;
pub use managed::Managed;
pub use persist::{decode, encode, Persist};
pub use reference::{ArchivedRef, Ref};
pub use session::{ArchivedSession, Login, Session, SessionListener};
pub use stored::Stored;
pub use task::{IntoTaskResult, Task, TaskHandle, TaskResult};
pub use transaction::{RawObject, Schedule, Transaction};
pub use view::{Obj, ObjMut};

/// Marks a struct as a managed object. See the book's "Managed objects" chapter.
///
/// `#[managed]` derives rkyv's `Archive`, `Serialize` and `Deserialize` and implements
/// [`Managed`] with a stable type name: the module path and struct name, or the one given
/// as `#[managed(name = "...")]`. The archived form (`ArchivedFoo` for `Foo`) gets one
/// getter per field, so reading a field reads the stored bytes in place.
pub use darkstar_macros::managed;

/// Turns a function into a task type. See the book's "Tasks and transactions" chapter.
///
/// The function takes the context first (`ctx: &mut Context`), then its arguments, and
/// returns [`TaskResult`] (or nothing). `#[task] fn transfer(..)` keeps the function and adds
/// a struct `Transfer` holding the arguments, which implements [`Task`]. Arguments must be
/// portable: owned values with an rkyv archive. `#[task(name = "...")]` sets the stored
/// type name, `#[task(rename = Name)]` the struct's name.
pub use darkstar_macros::task;

/// Derives [`Layout`] for a struct or enum stored inside managed objects or task
/// arguments: its fingerprint covers its fields' (or variants') names, order and types.
/// `#[managed]` and `#[task]` derive it themselves; derive it next to rkyv's derives for
/// the game's own types that such fields hold.
pub use darkstar_macros::Layout;

/// The rkyv crate the generated code uses, so applications need not depend on it directly.
pub use rkyv;

/// Everything a game module usually imports.
pub mod prelude {
    pub use crate::{
        managed, task, App, Channel, ChannelListener, Context, Login, Managed, ManagedList,
        ManagedMap, ManagedQueue, Obj, ObjMut, Ref, Session, SessionListener, Stored, Task,
        TaskError, TaskHandle, TaskResult, Types,
    };
}

#[doc(hidden)]
pub mod __private {
    //! Items the macros' generated code names. Not part of the public API.
    pub use crate::layout::{of_fields, of_kind, of_recursive, of_variants, Field, LayoutWith};
    pub use crate::persist::Unstored;
    pub use crate::stored::{same_name, upgrade_first, upgrade_from, versions_after, MigratedBy};
    pub use core::convert::From;
    pub use core::option::Option;
    pub use core::result::Result;
}
