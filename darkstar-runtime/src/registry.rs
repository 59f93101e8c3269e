//! The types this server knows: every managed type and task type the app registered.

use std::sync::atomic::{AtomicBool, Ordering};

use darkstar_sdk::{TaskType, Types};
use hashbrown::HashMap;

/// A registered managed type.
#[derive(Debug)]
pub(crate) struct ObjectEntry {
    pub name: &'static str,
    /// Whether the store's type catalog is known to list it.
    pub cataloged: AtomicBool,
}

/// The registered types, looked up by stable name.
#[derive(Debug)]
pub(crate) struct Registry {
    tasks: Vec<TaskType>,
    /// Task names by index: the app's tasks, then the session events.
    names: Vec<&'static str>,
    task_index: HashMap<&'static str, usize>,
    objects: HashMap<&'static str, ObjectEntry>,
}

impl Registry {
    pub fn new(types: &Types) -> Registry {
        let tasks = types.tasks().to_vec();
        let task_index = tasks.iter().enumerate().map(|(i, t)| (t.name, i)).collect();
        let names = tasks
            .iter()
            .map(|t| t.name)
            .chain(crate::session::EVENT_NAMES)
            .collect();
        let objects = types
            .objects()
            .iter()
            .map(|o| {
                (
                    o.name,
                    ObjectEntry {
                        name: o.name,
                        cataloged: AtomicBool::new(false),
                    },
                )
            })
            .collect();
        Registry {
            tasks,
            names,
            task_index,
            objects,
        }
    }

    /// The index and entry of task type `name`.
    pub fn task(&self, name: &str) -> Option<(usize, &TaskType)> {
        let &i = self.task_index.get(name)?;
        Some((i, &self.tasks[i]))
    }

    /// Task type number `index`.
    pub fn task_at(&self, index: usize) -> &TaskType {
        &self.tasks[index]
    }

    /// The name of task number `index` (an app task or a session event).
    pub fn name_at(&self, index: usize) -> &'static str {
        self.names[index]
    }

    /// Every task name with an index, app tasks first.
    pub fn names(&self) -> &[&'static str] {
        &self.names
    }

    /// The index of session event `name`.
    pub fn event_index(&self, name: &str) -> usize {
        let at = crate::session::EVENT_NAMES
            .iter()
            .position(|&n| n == name)
            .expect("a session event name");
        self.tasks.len() + at
    }

    /// Managed type `name`.
    pub fn object(&self, name: &str) -> Option<&ObjectEntry> {
        self.objects.get(name)
    }

    /// Records that the catalog lists `name`.
    pub fn mark_cataloged(&self, name: &str) {
        if let Some(o) = self.objects.get(name) {
            o.cataloged.store(true, Ordering::Relaxed);
        }
    }
}
