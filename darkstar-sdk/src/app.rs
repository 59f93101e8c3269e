//! The application: its types and its one-time initialization.

use std::any::TypeId;

use crate::channel::{Channel, ChannelListener};
use crate::context::Context;
use crate::error::TaskError;
use crate::managed::Managed;
use crate::persist::{decode, encode};
use crate::reference::Ref;
use crate::session::{Login, Session, SessionListener};
use crate::stored::{Stored, Version};
use crate::task::{Task, TaskResult};
use rkyv::util::AlignedVec;

/// A game application, in the spirit of Darkstar's `AppListener`.
///
/// The server calls [`register`](Self::register) at start-up, then runs
/// [`initialize`](Self::initialize) inside a transaction the first time it opens a data
/// store, and never again for that store: not on a restart, not on another machine.
pub trait App: Send + Sync + 'static {
    /// Registers every managed type and task type the application stores. A stored type
    /// that is not registered is a start-up error.
    fn register(&self, types: &mut Types);

    /// Sets up the world once per data store: create the first objects, bind their names,
    /// schedule the first tasks. It commits like any task; if it fails, the server does not
    /// start.
    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        let _ = ctx;
        Ok(())
    }

    /// A client has logged in (the server's authenticator accepted it) and `session` was
    /// created for it. Accept with a listener ([`Login::accept`]), which then hears the
    /// session's messages, or refuse with a reason the client sees ([`Login::refuse`]); a
    /// refused login's transaction is rolled back. Runs as a task on the session's core.
    ///
    /// The default refuses everyone: a game that takes clients overrides it.
    fn logged_in(&self, ctx: &mut Context<'_>, session: Ref<Session>) -> Result<Login, TaskError> {
        let _ = (ctx, session);
        Ok(Login::refuse("this game does not take logins"))
    }
}

/// A registered stored type (a managed type, or a task's arguments): its names, its
/// version, and how to bring a value stored at an older version up to this one.
#[derive(Clone, Copy)]
pub struct StoredType {
    /// Its stable name.
    pub name: &'static str,
    /// The tag its values are stored with (see [`Stored::STORED_NAME`]).
    pub stored_name: &'static str,
    /// Its version.
    pub version: u32,
    /// Earlier stable names, whose stored values are renamed to this one.
    pub aliases: &'static [&'static str],
    versions: fn() -> Vec<Version>,
    upgrade: fn(u32, &[u8], u64) -> Result<AlignedVec, TaskError>,
}

impl std::fmt::Debug for StoredType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("StoredType")
            .field("name", &self.name)
            .field("version", &self.version)
            .finish()
    }
}

impl StoredType {
    /// The entry for `T`.
    pub fn of<T: Stored>() -> StoredType {
        StoredType {
            name: T::TYPE_NAME,
            stored_name: T::STORED_NAME,
            version: T::VERSION,
            aliases: T::ALIASES,
            versions: T::versions,
            upgrade: |version, bytes, id| {
                let value = T::upgrade(version, bytes, id)?;
                encode(&value, T::TYPE_NAME)
            },
        }
    }

    /// Every version this build declares, oldest first, ending with the current one.
    pub fn versions(&self) -> Vec<Version> {
        (self.versions)()
    }

    /// A value stored at `version`, read and converted to the current version, archived
    /// again (`id` names it in errors).
    pub fn upgrade(&self, version: u32, bytes: &[u8], id: u64) -> Result<AlignedVec, TaskError> {
        (self.upgrade)(version, bytes, id)
    }
}

/// A registered managed type.
pub type ObjectType = StoredType;

/// Visits the reference arguments of archived task arguments.
type RefsFn = fn(&[u8], u64, &mut dyn FnMut(u64)) -> Result<(), TaskError>;

/// A registered task type: its name and how to run it from its archived arguments.
#[derive(Clone, Copy)]
pub struct TaskType {
    /// Its stable type name.
    pub name: &'static str,
    /// Its names, version and older versions.
    pub stored: StoredType,
    run: fn(&[u8], u64, &mut Context<'_>) -> TaskResult,
    affinity: fn(&[u8], u64) -> Result<Option<u64>, TaskError>,
    refs: RefsFn,
}

impl std::fmt::Debug for TaskType {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("TaskType")
            .field("name", &self.name)
            .finish()
    }
}

impl TaskType {
    /// The entry for task type `T`.
    pub fn of<T: Task>() -> TaskType {
        TaskType {
            name: T::TYPE_NAME,
            stored: StoredType::of::<T>(),
            run: |bytes, id, ctx| decode::<T>(bytes, id)?.run(ctx),
            affinity: |bytes, id| Ok(decode::<T>(bytes, id)?.affinity()),
            refs: |bytes, id, visit| {
                decode::<T>(bytes, id)?.refs(visit);
                Ok(())
            },
        }
    }

    /// Runs the task from its archived arguments (`id` names it in errors).
    pub fn run(&self, args: &[u8], id: u64, ctx: &mut Context<'_>) -> TaskResult {
        (self.run)(args, id, ctx)
    }

    /// The task's affinity key, from its archived arguments.
    pub fn affinity(&self, args: &[u8], id: u64) -> Result<Option<u64>, TaskError> {
        (self.affinity)(args, id)
    }

    /// Visits the task's reference arguments, from its archived arguments.
    pub fn refs(&self, args: &[u8], id: u64, visit: &mut dyn FnMut(u64)) -> TaskResult {
        (self.refs)(args, id, visit)
    }
}

/// A registered session listener type: how to call it from a stored listener's id.
#[derive(Clone, Copy)]
pub struct SessionListenerType {
    /// Its stable type name.
    pub name: &'static str,
    pub(crate) received: fn(&mut Context<'_>, u64, Ref<Session>, &[u8]) -> TaskResult,
    pub(crate) disconnected: fn(&mut Context<'_>, u64, Ref<Session>, bool) -> TaskResult,
}

/// Calls a channel listener: the context, the listener's id, the channel, the sender and
/// the message.
type ChannelReceived = fn(&mut Context<'_>, u64, Ref<Channel>, Ref<Session>, &[u8]) -> TaskResult;

/// A registered channel listener type.
#[derive(Clone, Copy)]
pub struct ChannelListenerType {
    /// Its stable type name.
    pub name: &'static str,
    pub(crate) received: ChannelReceived,
}

/// The types an application registers: every managed type it stores and every task type it
/// schedules or submits. The SDK's own managed types ([`Session`], [`Channel`], and the
/// nodes of the [collections](crate::collections)) are always registered.
#[derive(Default)]
pub struct Types {
    objects: Vec<ObjectType>,
    tasks: Vec<TaskType>,
    session_listeners: Vec<SessionListenerType>,
    channel_listeners: Vec<ChannelListenerType>,
    ids: Vec<(&'static str, TypeId)>,
    clashes: Vec<&'static str>,
    removed: Vec<&'static str>,
}

impl std::fmt::Debug for Types {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Types")
            .field("objects", &self.objects)
            .field("tasks", &self.tasks)
            .field(
                "session_listeners",
                &self
                    .session_listeners
                    .iter()
                    .map(|l| l.name)
                    .collect::<Vec<_>>(),
            )
            .field(
                "channel_listeners",
                &self
                    .channel_listeners
                    .iter()
                    .map(|l| l.name)
                    .collect::<Vec<_>>(),
            )
            .finish()
    }
}

impl Types {
    /// A registry holding the SDK's own types.
    pub fn new() -> Types {
        let mut types = Types::default();
        types.object::<Session>().object::<Channel>();
        crate::collections::register(&mut types);
        types
    }

    /// Registers session listener type `L` (and `L` as a managed type), so
    /// [`Login::accept`] can name it.
    pub fn session_listener<L: SessionListener>(&mut self) -> &mut Types {
        self.object::<L>();
        if self.session_listener_type(L::TYPE_NAME).is_none() {
            self.session_listeners.push(SessionListenerType {
                name: L::TYPE_NAME,
                received: |ctx, this, session, message| {
                    L::received_message(ctx, Ref::from_id(this), session, message)
                },
                disconnected: |ctx, this, session, graceful| {
                    L::disconnected(ctx, Ref::from_id(this), session, graceful)
                },
            });
        }
        self
    }

    /// Registers channel listener type `L` (and `L` as a managed type).
    pub fn channel_listener<L: ChannelListener>(&mut self) -> &mut Types {
        self.object::<L>();
        if self.channel_listener_type(L::TYPE_NAME).is_none() {
            self.channel_listeners.push(ChannelListenerType {
                name: L::TYPE_NAME,
                received: |ctx, this, channel, sender, message| {
                    L::received_message(ctx, Ref::from_id(this), channel, sender, message)
                },
            });
        }
        self
    }

    /// The session listener type named `name`.
    pub fn session_listener_type(&self, name: &str) -> Option<&SessionListenerType> {
        self.session_listeners.iter().find(|l| l.name == name)
    }

    /// The channel listener type named `name`.
    pub fn channel_listener_type(&self, name: &str) -> Option<&ChannelListenerType> {
        self.channel_listeners.iter().find(|l| l.name == name)
    }

    /// Registers managed type `T`. Registering a type twice is harmless; two types with
    /// one stable name are a clash the server refuses to start with.
    pub fn object<T: Managed>(&mut self) -> &mut Types {
        if self.first_time::<T>(T::TYPE_NAME) {
            self.objects.push(StoredType::of::<T>());
        }
        self
    }

    /// Registers task type `T`. Registering a type twice is harmless; two types with one
    /// stable name are a clash the server refuses to start with.
    pub fn task<T: Task>(&mut self) -> &mut Types {
        if self.first_time::<T>(T::TYPE_NAME) {
            self.tasks.push(TaskType::of::<T>());
        }
        self
    }

    /// Whether `name` is new; records a clash if another type already has it.
    fn first_time<T: 'static>(&mut self, name: &'static str) -> bool {
        let id = TypeId::of::<T>();
        match self.ids.iter().find(|(n, _)| *n == name) {
            Some(&(_, existing)) => {
                if existing != id && !self.clashes.contains(&name) {
                    self.clashes.push(name);
                }
                false
            }
            None => {
                self.ids.push((name, id));
                true
            }
        }
    }

    /// Declares that the type named `name` (a managed type or a task type) was removed from
    /// the game: at the next start, the server deletes every object and stored task of it
    /// (every version) before any task runs, and forgets the type. References to deleted
    /// objects then find nothing. Without this, a stored type the build no longer has is a
    /// start-up error. Keep the declaration until every store the game runs on has started
    /// once with it; it is harmless afterwards.
    pub fn removed(&mut self, name: &'static str) -> &mut Types {
        if !self.removed.contains(&name) {
            self.removed.push(name);
        }
        self
    }

    /// The stable names declared [`removed`](Self::removed).
    pub fn removed_names(&self) -> &[&'static str] {
        &self.removed
    }

    /// Stable names given to more than one registered type.
    pub fn clashes(&self) -> &[&'static str] {
        &self.clashes
    }

    /// The registered managed types.
    pub fn objects(&self) -> &[ObjectType] {
        &self.objects
    }

    /// The registered task types.
    pub fn tasks(&self) -> &[TaskType] {
        &self.tasks
    }
}
