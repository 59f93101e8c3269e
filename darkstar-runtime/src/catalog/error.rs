//! Why the store's catalog and this build's types do not fit, in words a game programmer
//! can act on.

use std::fmt;

use super::record::Kind;

/// Why the server refuses to open a store with this build's types. After `Mismatch` or
/// `Damaged`, nothing stored has been changed. After `Migrate` or `Commit`, the batches
/// committed before stay (each value in them is migrated whole), and the next start
/// carries on from there.
#[derive(Debug, thiserror::Error)]
pub enum CatalogError {
    /// Stored values this build cannot read; every problem found is listed.
    #[error("{}", list(.0))]
    Mismatch(Vec<Problem>),
    /// A catalog record is damaged.
    #[error("the type catalog's entry for `{name}` is damaged: {reason}")]
    Damaged {
        /// The stable name it is about.
        name: String,
        /// What is wrong.
        reason: String,
    },
    /// A stored value could not be migrated.
    #[error("cannot migrate {what} {id} (`{tag}`): {reason}")]
    Migrate {
        /// "object" or "stored task".
        what: &'static str,
        /// Its id.
        id: u64,
        /// The tag it is stored with.
        tag: String,
        /// Why.
        reason: String,
    },
    /// Writing the catalog or a migration to the store failed.
    #[error("cannot write the migration: {0}")]
    Commit(String),
}

/// One stored type this build cannot read as it is.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Problem {
    kind: Kind,
    /// The stable name it is stored under.
    pub name: String,
    /// The version stored.
    pub version: u32,
    /// How many values are stored at that version (objects or stored tasks).
    pub count: u64,
    /// What is wrong.
    pub what: ProblemKind,
}

/// What is wrong with a stored type.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ProblemKind {
    /// The build has no type of that name (nor an alias of it).
    Removed,
    /// The build declares that version, but its layout differs: the type changed without
    /// a new version (when the version is the build's current one), or the definition
    /// kept for an older version no longer matches what it stored.
    Changed {
        /// What changed, field by field.
        changes: Vec<String>,
        /// The build's version.
        current: u32,
    },
    /// The build's type is at a later version but declares no migration from this one.
    NoMigration {
        /// The build's version.
        current: u32,
        /// What changed from the stored version to the build's, field by field.
        changes: Vec<String>,
    },
    /// The stored name is one a newer build renamed a type of this build to (this build
    /// knows the type as `earlier`): an older build on a newer store.
    RenamedByNewer {
        /// This build's name of the type.
        earlier: String,
    },
    /// The stored version is newer than the build's: an older build on a newer store.
    Newer {
        /// The build's version.
        current: u32,
    },
}

impl Problem {
    pub(crate) fn new(kind: Kind, name: &str, version: u32, what: ProblemKind) -> Problem {
        Problem {
            kind,
            name: name.to_owned(),
            version,
            count: 0,
            what,
        }
    }

    /// Whether it is about objects (else stored tasks).
    pub fn is_objects(&self) -> bool {
        self.kind == Kind::Object
    }

    pub(crate) fn kind(&self) -> Kind {
        self.kind
    }
}

fn list(problems: &[Problem]) -> String {
    let mut out = String::from(
        "the data store holds values this build cannot read; nothing was changed. Fix these and start again:",
    );
    for p in problems {
        out.push_str("\n  - ");
        out.push_str(&p.to_string());
    }
    out
}

impl fmt::Display for Problem {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        let Problem {
            kind,
            name,
            version,
            count,
            what,
        } = self;
        let values = kind.values();
        let word = kind.type_word();
        let base = rust_name(name);
        let old = format!("{base}V{version}");
        let keep = match kind {
            Kind::Object => format!(
                "`#[managed(name = \"{name}\", version = {version})] struct {old} {{ ... }}`"
            ),
            Kind::Task => {
                format!("`#[task(name = \"{name}\", version = {version})] struct {old} {{ ... }}`")
            }
        };
        let detail = |changes: &[String]| {
            if changes.is_empty() {
                String::new()
            } else {
                format!(" ({})", changes_text(changes))
            }
        };
        match what {
            ProblemKind::Removed => write!(
                f,
                "{count} {values} of `{name}` (version {version}) are stored, but this build has no {word} named `{name}`: \
                 register it; or, if it was renamed, give the new type `aliases = [\"{name}\"]`; \
                 or, to delete them, declare `types.removed(\"{name}\")` in App::register"
            ),
            ProblemKind::Changed { changes, current } if current == version => write!(
                f,
                "{count} {values} of `{name}` are stored at version {version}, whose layout this build changed without a new version{}: \
                 keep the old definition as {keep}, with its fields as they were (and any type inside it that changed, \
                 kept as it was under another name), then give the new definition `version = {}, from = {old}` \
                 and implement `From<{old}>` for `{base}`",
                detail(changes),
                version + 1
            ),
            ProblemKind::Changed { changes, current } => write!(
                f,
                "{count} {values} of `{name}` are stored at version {version}, but this build's definition of version {version} \
                 does not match what was stored{}: the definition kept for version {version} must be exactly as it was \
                 when version {version} was current (its version {current} is the current one); if a type inside it changed \
                 since, keep that type's old definition under another name for the old versions",
                detail(changes)
            ),
            ProblemKind::NoMigration { current, changes } => write!(
                f,
                "{count} {values} of `{name}` are stored at version {version}, but this build's version {current} declares no migration from it{}: \
                 keep version {version}'s definition as {keep}, and chain the versions up to {current} with `from = ...`, \
                 implementing `From` for each step",
                detail(changes)
            ),
            ProblemKind::RenamedByNewer { earlier } => write!(
                f,
                "{count} {values} of `{name}` are stored, the name a newer build gave this build's `{earlier}`: \
                 the store was written by a newer build of the game; run that build (an older build cannot read what a newer one wrote)"
            ),
            ProblemKind::Newer { current } => write!(
                f,
                "{count} {values} of `{name}` are stored at version {version}, newer than this build's version {current}: \
                 the store was written by a newer build of the game; run that build (an older build cannot read what a newer one wrote)"
            ),
        }
    }
}

/// The Rust name a definition of the type named `name` likely has: the last segment of
/// the stable name in UpperCamelCase (`quest.Player` → `Player`, `bank::transfer_funds` →
/// `TransferFunds`), for the names the advice suggests.
fn rust_name(name: &str) -> String {
    let last = name.rsplit(['.', ':', '/']).next().unwrap_or(name);
    let camel: String = last
        .split('_')
        .filter(|part| !part.is_empty())
        .map(|part| {
            let mut chars = part.chars();
            chars
                .next()
                .map(|c| c.to_uppercase().chain(chars).collect::<String>())
                .unwrap_or_default()
        })
        .collect();
    if camel.is_empty() {
        "Old".to_owned()
    } else {
        camel
    }
}

fn changes_text(changes: &[String]) -> String {
    if changes.is_empty() {
        "the layout changed".to_owned()
    } else {
        changes.join("; ")
    }
}

#[cfg(test)]
mod tests {
    use super::rust_name;

    #[test]
    fn advice_names_the_type_as_its_code_does() {
        assert_eq!(rust_name("quest.Player"), "Player");
        assert_eq!(rust_name("quest.heal"), "Heal");
        assert_eq!(rust_name("my_game::bank::transfer_funds"), "TransferFunds");
        assert_eq!(rust_name("x."), "Old");
    }
}
