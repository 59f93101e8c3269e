//! `Ref<T>`: a typed persistent reference to a managed object.

use std::fmt;
use std::hash::{Hash, Hasher};
use std::marker::PhantomData;

/// A typed persistent reference to a managed object of type `T`.
///
/// It is an object id and nothing more: copyable, comparable, storable inside other managed
/// objects and passable as a task argument. It stays valid across restarts and on every core;
/// following it ([`Context::get`](crate::Context::get)) reads the object inside a task.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = rkyv)]
pub struct Ref<T> {
    id: u64,
    #[rkyv(with = rkyv::with::Skip)]
    marker: PhantomData<fn() -> T>,
}

impl<T> Ref<T> {
    /// The reference to object `id`. Ids come from [`Context::create`](crate::Context::create);
    /// building one from any other number refers to nothing in particular.
    pub const fn from_id(id: u64) -> Ref<T> {
        Ref {
            id,
            marker: PhantomData,
        }
    }

    /// The object id.
    pub const fn id(self) -> u64 {
        self.id
    }
}

// A reference is an id: its layout is the same whatever the target's layout, and names the
// target's stable name, so retargeting a field to another type counts as a change.
impl<T: crate::Stored> crate::Layout for Ref<T> {
    const FINGERPRINT: u64 = crate::layout::of_kind("Ref", &[crate::layout::of_str(T::TYPE_NAME)]);
}

impl<T> ArchivedRef<T> {
    /// The reference, read from its archive.
    pub fn get(&self) -> Ref<T> {
        Ref::from_id(self.id.to_native())
    }
}

impl<T> Clone for Ref<T> {
    fn clone(&self) -> Self {
        *self
    }
}
impl<T> Copy for Ref<T> {}
impl<T> PartialEq for Ref<T> {
    fn eq(&self, other: &Self) -> bool {
        self.id == other.id
    }
}
impl<T> Eq for Ref<T> {}
impl<T> PartialOrd for Ref<T> {
    fn partial_cmp(&self, other: &Self) -> Option<std::cmp::Ordering> {
        Some(self.cmp(other))
    }
}
impl<T> Ord for Ref<T> {
    fn cmp(&self, other: &Self) -> std::cmp::Ordering {
        self.id.cmp(&other.id)
    }
}
impl<T> Hash for Ref<T> {
    fn hash<H: Hasher>(&self, state: &mut H) {
        self.id.hash(state)
    }
}
impl<T> fmt::Debug for Ref<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let full = std::any::type_name::<T>();
        let short = full.rsplit("::").next().unwrap_or(full);
        write!(f, "Ref<{short}>({})", self.id)
    }
}
impl<T> fmt::Debug for ArchivedRef<T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.get().fmt(f)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    struct Thing;

    #[test]
    fn round_trips_through_an_archive() {
        let r: Ref<Thing> = Ref::from_id(42);
        let bytes = rkyv::to_bytes::<rkyv::rancor::Error>(&r).unwrap();
        let archived = rkyv::access::<ArchivedRef<Thing>, rkyv::rancor::Error>(&bytes).unwrap();
        assert_eq!(archived.get(), r);
        let back: Ref<Thing> = rkyv::deserialize::<_, rkyv::rancor::Error>(archived).unwrap();
        assert_eq!(back.id(), 42);
        assert_eq!(format!("{r:?}"), "Ref<Thing>(42)");
    }
}
