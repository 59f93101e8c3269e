//! The task context: objects, names and scheduling, inside one transaction.

use std::time::Duration;

use crate::error::TaskError;
use crate::managed::Managed;
use crate::persist::{access, decode, encode};
use crate::reference::Ref;
use crate::task::{Task, TaskHandle};
use crate::transaction::{Schedule, Transaction};
use crate::view::{Obj, ObjMut};

/// What a task sees of the world: one serializable transaction.
///
/// Everything done through it (object writes, name bindings, scheduled and cancelled tasks)
/// takes effect together when the task returns `Ok`, or not at all. Methods take `&self`, so
/// views of several objects can be held at once.
pub struct Context<'t> {
    pub(crate) tx: &'t dyn Transaction,
}

impl<'t> Context<'t> {
    /// A context over `tx`. Called by the runtime.
    pub fn new(tx: &'t dyn Transaction) -> Context<'t> {
        Context { tx }
    }

    /// Creates a managed object; it exists once the transaction commits.
    pub fn create<T: Managed>(&self, value: T) -> Result<Ref<T>, TaskError> {
        self.tx.check()?;
        let bytes = encode(&value, T::TYPE_NAME)?;
        let id = self.tx.new_object_id()?;
        self.tx.write_object(id, T::STORED_NAME, bytes)?;
        Ok(Ref::from_id(id))
    }

    /// Reads an object in place. Fails with [`TaskError::NotFound`] if it does not exist.
    pub fn get<T: Managed>(&self, r: Ref<T>) -> Result<Obj<'t, T>, TaskError> {
        self.try_get(r)?.ok_or(TaskError::NotFound {
            id: r.id(),
            type_name: T::TYPE_NAME,
        })
    }

    /// Reads an object in place, or `None` if it does not exist.
    pub fn try_get<T: Managed>(&self, r: Ref<T>) -> Result<Option<Obj<'t, T>>, TaskError> {
        self.tx.check()?;
        let Some(raw) = self.tx.read_object(r.id())? else {
            return Ok(None);
        };
        check_type::<T>(r.id(), raw.type_name)?;
        Ok(Some(Obj::new(r, access::<T>(raw.bytes, r.id())?)))
    }

    /// Opens an object for writing. The guard dereferences to a copy of the object; dropping
    /// it records the new value. Fails with [`TaskError::NotFound`] if it does not exist.
    pub fn get_mut<T: Managed>(&self, r: Ref<T>) -> Result<ObjMut<'t, T>, TaskError> {
        self.tx.check()?;
        let Some(raw) = self.tx.read_object(r.id())? else {
            return Err(TaskError::NotFound {
                id: r.id(),
                type_name: T::TYPE_NAME,
            });
        };
        check_type::<T>(r.id(), raw.type_name)?;
        let value = decode::<T>(raw.bytes, r.id())?;
        self.tx.begin_write(r.id())?;
        Ok(ObjMut::new(self.tx, r, value))
    }

    /// Replaces an object's whole value. Fails with [`TaskError::NotFound`] if it does not
    /// exist, and with [`TaskError::AlreadyWriting`] while a write guard on it is alive
    /// (the guard would overwrite the new value when dropped).
    pub fn set<T: Managed>(&self, r: Ref<T>, value: T) -> Result<(), TaskError> {
        self.get(r)?;
        let bytes = encode(&value, T::TYPE_NAME)?;
        self.tx.begin_write(r.id())?;
        self.tx.end_write(r.id(), T::STORED_NAME, Ok(bytes));
        Ok(())
    }

    /// Removes an object. References to it then find nothing. Fails with
    /// [`TaskError::NotFound`] if it does not exist.
    pub fn remove<T: Managed>(&self, r: Ref<T>) -> Result<(), TaskError> {
        self.get(r)?;
        self.tx.remove_object(r.id())
    }

    /// Binds `name` to an object, replacing any earlier binding.
    pub fn bind<T: Managed>(&self, name: &str, r: Ref<T>) -> Result<(), TaskError> {
        self.tx.check()?;
        self.tx.bind(name, r.id())
    }

    /// The object bound to `name`. Fails with [`TaskError::NameNotBound`] if there is none.
    /// The type is checked when the reference is followed.
    pub fn lookup<T: Managed>(&self, name: &str) -> Result<Ref<T>, TaskError> {
        self.try_lookup(name)?
            .ok_or_else(|| TaskError::NameNotBound {
                name: name.to_owned(),
            })
    }

    /// The object bound to `name`, or `None`.
    pub fn try_lookup<T: Managed>(&self, name: &str) -> Result<Option<Ref<T>>, TaskError> {
        self.tx.check()?;
        Ok(self.tx.lookup(name)?.map(Ref::from_id))
    }

    /// Removes the binding of `name` (the object stays). Fails with
    /// [`TaskError::NameNotBound`] if there is none.
    pub fn unbind(&self, name: &str) -> Result<(), TaskError> {
        self.tx.check()?;
        if self.tx.unbind(name)? {
            Ok(())
        } else {
            Err(TaskError::NameNotBound {
                name: name.to_owned(),
            })
        }
    }

    /// The first bound name after `after` in byte order (`None`: the first of all), to walk
    /// the names in order. A name bound or unbound by a concurrent task between two steps
    /// is a conflict, so a walk sees one consistent set.
    pub fn next_name(&self, after: Option<&str>) -> Result<Option<String>, TaskError> {
        self.tx.check()?;
        self.tx.next_name(after)
    }

    /// Schedules `task` to run as soon as this transaction has committed.
    pub fn schedule<T: Task>(&self, task: T) -> Result<TaskHandle, TaskError> {
        self.schedule_with(task, Duration::ZERO, None)
    }

    /// Schedules `task` to run `delay` from now (wall-clock time), and never before this
    /// transaction has committed.
    pub fn schedule_after<T: Task>(
        &self,
        task: T,
        delay: Duration,
    ) -> Result<TaskHandle, TaskError> {
        self.schedule_with(task, delay, None)
    }

    /// Schedules `task` to run `delay` from now (wall-clock time, and never before this
    /// transaction has committed), then every `period` until cancelled. A run that is late
    /// by a period or more skips the runs it missed and keeps the rhythm. Runs never overlap: a run is scheduled only once the previous one has
    /// committed. Fails with [`TaskError::Aborted`] if `period` is zero.
    pub fn schedule_periodic<T: Task>(
        &self,
        task: T,
        delay: Duration,
        period: Duration,
    ) -> Result<TaskHandle, TaskError> {
        if period.is_zero() {
            return Err(TaskError::abort(
                "a periodic task needs a period above zero",
            ));
        }
        self.schedule_with(task, delay, Some(period))
    }

    fn schedule_with<T: Task>(
        &self,
        task: T,
        delay: Duration,
        period: Option<Duration>,
    ) -> Result<TaskHandle, TaskError> {
        self.tx.check()?;
        let affinity = task.affinity();
        let args = encode(&task, T::TYPE_NAME)?;
        let id = self.tx.schedule(Schedule {
            type_name: T::STORED_NAME,
            args,
            delay,
            period,
            affinity,
        })?;
        Ok(TaskHandle::from_id(id))
    }

    /// Cancels a scheduled task, durably: it will not run, even after a restart. Returns
    /// `false` if it had already run or been cancelled. A run in progress elsewhere
    /// conflicts with the cancellation, so one of the two is retried.
    pub fn cancel(&self, handle: TaskHandle) -> Result<bool, TaskError> {
        self.tx.check()?;
        self.tx.cancel(handle.id())
    }

    /// The handle of the running task if it was scheduled (so a periodic task can cancel
    /// itself), or `None` for a submitted task or `initialize`.
    pub fn current_task(&self) -> Option<TaskHandle> {
        self.tx.current_task().map(TaskHandle::from_id)
    }
}

fn check_type<T: Managed>(id: u64, found: &str) -> Result<(), TaskError> {
    if found == T::STORED_NAME {
        Ok(())
    } else {
        Err(TaskError::WrongType {
            id,
            expected: T::STORED_NAME,
            found: found.to_owned(),
        })
    }
}
