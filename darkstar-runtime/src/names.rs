//! How names are laid out in the store: the game's names and the server's own never mix.
//!
//! Every name the game binds is stored as `u/` + name; the server's bookkeeping lives
//! under `s/` (`s/initialized`, the type catalog's `s/type/<name>` and `s/task/<name>`,
//! `s/session/<id>`), and channel
//! names under `c/`. A game walking its names in order
//! therefore never sees the server's.

use darkstar_sdk::TaskError;

/// Prefix of the game's names.
pub(crate) const USER: &str = "u/";
/// The binding that records that `initialize` has run for this store.
pub(crate) const INITIALIZED: &str = "s/initialized";
/// Prefix of the catalog of managed types ever stored.
pub(crate) const TYPE_PREFIX: &str = "s/type/";
/// Prefix of the catalog of task types ever stored.
pub(crate) const TASK_TYPE_PREFIX: &str = "s/task/";
/// The binding that records that every stored task's type is in the catalog.
pub(crate) const TASKS_CATALOGED: &str = "s/tasks-cataloged";
/// The longest name a game may bind, in bytes.
pub(crate) const MAX_NAME: usize = 1024;

/// Prefix of channel names.
pub(crate) const CHANNEL: &str = "c/";

/// The stored key of channel `name`, or why it cannot be one.
pub(crate) fn channel_key(name: &str) -> Result<String, TaskError> {
    let key = user_key(name)?;
    Ok(format!("{CHANNEL}{}", &key[USER.len()..]))
}

/// The stored key of the game's `name`, or why it cannot be bound.
pub(crate) fn user_key(name: &str) -> Result<String, TaskError> {
    let invalid = |reason| {
        Err(TaskError::InvalidName {
            name: name.chars().take(64).collect(),
            reason,
        })
    };
    if name.is_empty() {
        return invalid("a name cannot be empty");
    }
    if name.len() > MAX_NAME {
        return invalid("a name is at most 1024 bytes");
    }
    let mut key = String::with_capacity(USER.len() + name.len());
    key.push_str(USER);
    key.push_str(name);
    Ok(key)
}

/// The game's name of a stored key, or `None` for a server name.
pub(crate) fn user_name(key: &str) -> Option<&str> {
    key.strip_prefix(USER)
}

/// How many names start with `prefix` at `snap`: a walk of that range of the name index.
pub(crate) fn count_with_prefix(snap: &darkstar_storage::Snapshot, prefix: &str) -> usize {
    let mut after = prefix.to_owned();
    let mut n = 0;
    while let Some((name, _)) = snap.next_name(Some(&after)) {
        if !name.starts_with(prefix) {
            break;
        }
        n += 1;
        after = name;
    }
    n
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn user_names_are_prefixed_and_checked() {
        assert_eq!(user_key("lobby").unwrap(), "u/lobby");
        assert_eq!(user_name("u/lobby"), Some("lobby"));
        assert_eq!(user_name(INITIALIZED), None);
        assert!(matches!(user_key(""), Err(TaskError::InvalidName { .. })));
        assert!(user_key(&"x".repeat(MAX_NAME + 1)).is_err());
    }
}
