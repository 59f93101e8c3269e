//! What every stored type declares: its stable name, its version, its layout, and the
//! older versions it is migrated from.
//!
//! Objects and task records are tagged in the store with their type's *stored name*: the
//! stable name for version 1, the stable name followed by `@` and the version for later
//! versions (`quest.Player@2`). The server keeps a catalog of every stored name with its
//! layout; at start-up it checks that catalog against the build it runs and migrates what
//! is stored at older versions before any task runs, so a task only ever reads objects
//! tagged with its own build's layout.

use crate::error::TaskError;
use crate::layout::{Field, Layout};
use crate::persist::{decode, Persist};

/// A type stored in the store: a managed type, a task's arguments, or an older version of
/// either kept to migrate what is stored. Implemented by `#[managed]` and `#[task]`.
pub trait Stored: Persist + Layout + Sized + 'static {
    /// The stable name, the same for every version: `#[managed(name = "...")]`, or the
    /// module path and item name.
    const TYPE_NAME: &'static str;

    /// The version, from 1: `#[managed(version = N)]`.
    const VERSION: u32;

    /// The tag stored with every value of this version: [`TYPE_NAME`](Self::TYPE_NAME) for
    /// version 1, `TYPE_NAME@VERSION` after.
    const STORED_NAME: &'static str;

    /// The fields, in order, as the catalog records them.
    const FIELDS: &'static [Field];

    /// Earlier stable names of this type (`#[managed(aliases = ["..."])]`): what is stored
    /// under them is renamed to this type's name at start-up.
    const ALIASES: &'static [&'static str] = &[];

    /// Every version from the oldest declared one to this one, oldest first.
    fn versions() -> Vec<Version>;

    /// The value stored at `version` (this one or an older one this type migrates from),
    /// read from `bytes` and converted version by version up to this one. `id` names the
    /// value in errors.
    fn upgrade(version: u32, bytes: &[u8], id: u64) -> Result<Self, TaskError>;
}

/// One version of a stored type, as the catalog compares it.
#[derive(Clone, Copy, Debug, PartialEq, Eq)]
pub struct Version {
    /// The version number.
    pub version: u32,
    /// Its stable name (the same in every version of a chain: the macros check it).
    pub type_name: &'static str,
    /// Its layout fingerprint.
    pub fingerprint: u64,
    /// Its fields.
    pub fields: &'static [Field],
}

impl Version {
    /// The entry of `T`'s own version.
    pub fn of<T: Stored>() -> Version {
        Version {
            version: T::VERSION,
            type_name: T::TYPE_NAME,
            fingerprint: T::FINGERPRINT,
            fields: T::FIELDS,
        }
    }
}

/// The stored name of version `version` of the type named `type_name`.
pub fn stored_name(type_name: &str, version: u32) -> String {
    if version == 1 {
        type_name.to_owned()
    } else {
        format!("{type_name}@{version}")
    }
}

/// A stored name split into stable name and version (`quest.Player@2` →
/// `("quest.Player", 2)`; a name without a version suffix is version 1).
pub fn parse_stored_name(stored: &str) -> (&str, u32) {
    if let Some((name, text)) = stored.rsplit_once('@') {
        if let Ok(version) = text.parse::<u32>() {
            // Only the form `stored_name` writes: `a@02` is a name, not version 2.
            if version > 1 && version.to_string().len() == version_text_len(stored, name) {
                return (name, version);
            }
        }
    }
    (stored, 1)
}

/// The length of the text after `name` and its `@` in `stored`.
fn version_text_len(stored: &str, name: &str) -> usize {
    stored.len() - name.len() - 1
}

/// Macro support: the versions of `T` whose previous version is `P`.
#[doc(hidden)]
pub fn versions_after<T: Stored, P: Stored>() -> Vec<Version> {
    let mut versions = P::versions();
    versions.push(Version::of::<T>());
    versions
}

/// Macro support: `T`'s value at `version`, converted from its previous version `P` if
/// older.
#[doc(hidden)]
pub fn upgrade_from<T: Stored + From<P>, P: Stored>(
    version: u32,
    bytes: &[u8],
    id: u64,
) -> Result<T, TaskError> {
    if version == T::VERSION {
        decode::<T>(bytes, id)
    } else {
        P::upgrade(version, bytes, id).map(T::from)
    }
}

/// Macro support: `T`'s value at `version`, which must be `T`'s own: it declares no older
/// version.
#[doc(hidden)]
pub fn upgrade_first<T: Stored>(version: u32, bytes: &[u8], id: u64) -> Result<T, TaskError> {
    if version == T::VERSION {
        decode::<T>(bytes, id)
    } else {
        Err(TaskError::Corrupt {
            id,
            reason: format!(
                "stored at version {version} of {}, which this build does not declare",
                T::TYPE_NAME
            ),
        })
    }
}

/// Macro support: whether two names are equal, at compile time.
#[doc(hidden)]
pub const fn same_name(a: &str, b: &str) -> bool {
    let (a, b) = (a.as_bytes(), b.as_bytes());
    if a.len() != b.len() {
        return false;
    }
    let mut i = 0;
    while i < a.len() {
        if a[i] != b[i] {
            return false;
        }
        i += 1;
    }
    true
}

/// Macro support: marks the version that migrates from a type, so that two versions
/// migrating from the same one are a compile error.
#[doc(hidden)]
pub trait MigratedBy {
    /// The version that migrates from this one.
    type Next;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn stored_names_round_trip() {
        assert_eq!(stored_name("quest.Player", 1), "quest.Player");
        assert_eq!(stored_name("quest.Player", 2), "quest.Player@2");
        assert_eq!(parse_stored_name("quest.Player@2"), ("quest.Player", 2));
        assert_eq!(parse_stored_name("quest.Player"), ("quest.Player", 1));
        assert_eq!(parse_stored_name("a@b"), ("a@b", 1));
        assert_eq!(parse_stored_name("a@1"), ("a@1", 1));
        assert_eq!(parse_stored_name("a@02"), ("a@02", 1));
        assert!(same_name("x", "x") && !same_name("x", "y") && !same_name("x", "xy"));
    }
}
