//! Views of managed objects: `Obj` reads in place, `ObjMut` writes through a guard.

use std::fmt;
use std::ops::{Deref, DerefMut};

use crate::managed::Managed;
use crate::persist::encode;
use crate::reference::Ref;
use crate::transaction::Transaction;

/// A managed object read in place: it dereferences to the archived form (`ArchivedFoo` for
/// `Foo`), so reading a field reads the stored bytes without deserializing the object.
///
/// It shows the object as it was when [`Context::get`](crate::Context::get) was called; a
/// later write in the same task is seen by the next `get`.
pub struct Obj<'t, T: Managed> {
    reference: Ref<T>,
    archived: &'t T::Archived,
}

impl<'t, T: Managed> Obj<'t, T> {
    pub(crate) fn new(reference: Ref<T>, archived: &'t T::Archived) -> Obj<'t, T> {
        Obj {
            reference,
            archived,
        }
    }

    /// The reference this view was read through.
    pub fn reference(&self) -> Ref<T> {
        self.reference
    }

    /// The archived object, for as long as the transaction lasts.
    pub fn archived(&self) -> &'t T::Archived {
        self.archived
    }
}

impl<T: Managed> Deref for Obj<'_, T> {
    type Target = T::Archived;

    fn deref(&self) -> &T::Archived {
        self.archived
    }
}

impl<T: Managed> fmt::Debug for Obj<'_, T>
where
    T::Archived: fmt::Debug,
{
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.archived.fmt(f)
    }
}

/// A managed object open for writing: a deserialized copy that dereferences mutably to `T`.
///
/// When the guard is dropped its value is archived into the transaction's write set, so a
/// change is never lost and needs no explicit "mark for update". While it is alive, the same
/// object cannot be opened for writing again in this task.
pub struct ObjMut<'t, T: Managed> {
    tx: &'t dyn Transaction,
    reference: Ref<T>,
    value: T,
}

impl<'t, T: Managed> ObjMut<'t, T> {
    pub(crate) fn new(tx: &'t dyn Transaction, reference: Ref<T>, value: T) -> ObjMut<'t, T> {
        ObjMut {
            tx,
            reference,
            value,
        }
    }

    /// The reference of the object being written.
    pub fn reference(&self) -> Ref<T> {
        self.reference
    }
}

impl<T: Managed> Deref for ObjMut<'_, T> {
    type Target = T;

    fn deref(&self) -> &T {
        &self.value
    }
}

impl<T: Managed> DerefMut for ObjMut<'_, T> {
    fn deref_mut(&mut self) -> &mut T {
        &mut self.value
    }
}

impl<T: Managed> Drop for ObjMut<'_, T> {
    fn drop(&mut self) {
        // A panicking task is rolled back; archiving its half-changed value is wasted work.
        let bytes = if std::thread::panicking() {
            Err(crate::TaskError::abort("the task panicked"))
        } else {
            encode(&self.value, T::TYPE_NAME)
        };
        self.tx
            .end_write(self.reference.id(), T::STORED_NAME, bytes);
    }
}

impl<T: Managed + fmt::Debug> fmt::Debug for ObjMut<'_, T> {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.value.fmt(f)
    }
}
