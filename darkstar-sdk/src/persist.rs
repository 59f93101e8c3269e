//! What it takes for a value to be stored: an rkyv archive that can be checked and read back.

use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor::{self, Fallible};
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;
use rkyv::with::{ArchiveWith, DeserializeWith, SerializeWith};
use rkyv::Place;

use crate::error::TaskError;

/// A value that can be stored and moved between cores and machines: it has an rkyv archive
/// that can be validated and deserialized.
///
/// Implemented for every type that derives rkyv's `Archive`, `Serialize` and `Deserialize`
/// (`#[managed]` derives them). Task arguments and fields of managed objects must be
/// `Persist`.
#[diagnostic::on_unimplemented(
    message = "`{Self}` cannot be stored: it has no rkyv archive",
    label = "not portable",
    note = "derive rkyv's `Archive`, `Serialize` and `Deserialize` for it (`#[managed]` does so for managed objects), or, for another crate's type, wrap it in a type of your own that has them (on a field of a managed object, `#[rkyv(with = ...)]` names such a wrapper)",
    note = "to refer to a managed object, store a `Ref<T>` to it instead"
)]
pub trait Persist:
    rkyv::Archive<
        Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
                      + rkyv::Deserialize<Self, HighDeserializer<rancor::Error>>,
    > + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>
    + Sized
{
}

impl<T> Persist for T where
    T: rkyv::Archive<
            Archived: for<'a> CheckBytes<HighValidator<'a, rancor::Error>>
                          + rkyv::Deserialize<T, HighDeserializer<rancor::Error>>,
        > + for<'a> rkyv::Serialize<HighSerializer<AlignedVec, ArenaHandle<'a>, rancor::Error>>
{
}

/// Archives `value` into 16-byte-aligned bytes.
pub fn encode<T: Persist>(value: &T, type_name: &'static str) -> Result<AlignedVec, TaskError> {
    // Room for the root up front: most managed values are fixed-size, and growing from
    // empty costs a reallocation or two per write.
    let buffer = AlignedVec::with_capacity(std::mem::size_of::<T::Archived>().max(16));
    rkyv::api::high::to_bytes_in::<_, rancor::Error>(value, buffer).map_err(|e| TaskError::Encode {
        type_name,
        reason: e.to_string(),
    })
}

/// Validates `bytes` as an archive of `T` and returns it in place, without copying.
pub fn access<T: Persist>(bytes: &[u8], id: u64) -> Result<&T::Archived, TaskError> {
    rkyv::access::<T::Archived, rancor::Error>(bytes).map_err(|e| TaskError::Corrupt {
        id,
        reason: e.to_string(),
    })
}

/// Validates `bytes` as an archive of `T` and deserializes it.
pub fn decode<T: Persist>(bytes: &[u8], id: u64) -> Result<T, TaskError> {
    let archived = access::<T>(bytes, id)?;
    rkyv::deserialize::<T, rancor::Error>(archived).map_err(|e| TaskError::Corrupt {
        id,
        reason: e.to_string(),
    })
}

/// Archives nothing in place of a field that cannot be stored. The macros put it on such a
/// field next to the error they report about it, so that the rest of the expansion, and the
/// code that uses it, still type-checks and that error stands alone. The crate does not
/// build, so it never runs.
#[doc(hidden)]
pub struct Unstored;

impl<F> ArchiveWith<F> for Unstored {
    type Archived = ();
    type Resolver = ();

    fn resolve_with(_: &F, _: (), _: Place<()>) {}
}

impl<F, S: Fallible + ?Sized> SerializeWith<F, S> for Unstored {
    fn serialize_with(_: &F, _: &mut S) -> Result<(), S::Error> {
        Ok(())
    }
}

impl<F, D: Fallible + ?Sized> DeserializeWith<(), F, D> for Unstored {
    fn deserialize_with(_: &(), _: &mut D) -> Result<F, D::Error> {
        unreachable!("a crate with a field that cannot be stored does not build")
    }
}
