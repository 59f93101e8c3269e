//! Typed, zero-copy access to rkyv archives stored as values.

use rkyv::api::high::HighValidator;
use rkyv::bytecheck::CheckBytes;
use rkyv::rancor;
use rkyv::Portable;

use crate::snapshot::Record;

impl<'a> Record<'a> {
    /// The value as an archived `T`, validated, without copying or deserializing it.
    ///
    /// Validation walks the archive once; [`archived_unchecked`](Self::archived_unchecked)
    /// skips it for values this process wrote itself.
    pub fn archived<T>(&self) -> Result<&'a T, rancor::Error>
    where
        T: Portable + for<'b> CheckBytes<HighValidator<'b, rancor::Error>>,
    {
        rkyv::access::<T, rancor::Error>(self.value)
    }

    /// The value as an archived `T`, without validation.
    ///
    /// # Safety
    /// The value must be a valid archive of `T` (for instance, written by this program with
    /// `rkyv::to_bytes` of the matching type; the type name tells which).
    pub unsafe fn archived_unchecked<T: Portable>(&self) -> &'a T {
        // SAFETY: the caller guarantees the bytes are a valid archive of `T`; the store keeps
        // values 16-byte aligned, which covers rkyv's alignment needs.
        unsafe { rkyv::access_unchecked::<T>(self.value) }
    }
}
