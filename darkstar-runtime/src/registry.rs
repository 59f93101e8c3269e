//! The types this server knows: every managed type and task type the app registered, looked
//! up by the tag their values are stored with.

use darkstar_sdk::{StoredType, TaskType, Types};
use hashbrown::HashMap;

/// The registered types, looked up by stored name (the current version's tag).
#[derive(Debug)]
pub(crate) struct Registry {
    tasks: Vec<TaskType>,
    /// Task names by index: the app's tasks (stable names), then the session events.
    names: Vec<&'static str>,
    task_index: HashMap<&'static str, usize>,
    objects: HashMap<&'static str, StoredType>,
}

impl Registry {
    pub fn new(types: &Types) -> Registry {
        let tasks = types.tasks().to_vec();
        let task_index = tasks
            .iter()
            .enumerate()
            .map(|(i, t)| (t.stored.stored_name, i))
            .collect();
        let names = tasks
            .iter()
            .map(|t| t.name)
            .chain(crate::session::EVENT_NAMES)
            .collect();
        let objects = types
            .objects()
            .iter()
            .map(|o| (o.stored_name, *o))
            .collect();
        Registry {
            tasks,
            names,
            task_index,
            objects,
        }
    }

    /// The index and entry of the task type stored as `stored_name`.
    pub fn task(&self, stored_name: &str) -> Option<(usize, &TaskType)> {
        let &i = self.task_index.get(stored_name)?;
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

    /// The managed type stored as `stored_name`.
    pub fn object(&self, stored_name: &str) -> Option<&StoredType> {
        self.objects.get(stored_name)
    }
}
