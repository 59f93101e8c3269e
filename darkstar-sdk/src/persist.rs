//! What it takes for a value to be stored: an rkyv archive that can be checked and read back.

use rkyv::api::high::{HighDeserializer, HighSerializer, HighValidator};
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::ser::allocator::ArenaHandle;
use rkyv::util::AlignedVec;

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
    note = "derive rkyv's Archive, Serialize and Deserialize for it (`#[managed]` does so for managed objects), or store a `Ref<T>` to a managed object instead"
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

/// Compiles only if `T` can be stored; generated code calls it with the span of a field or
/// argument so the error points there.
#[doc(hidden)]
pub fn assert_persist<T: Persist>() {}
