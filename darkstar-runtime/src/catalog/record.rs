//! The catalog's stored form: one record per stable name and kind, listing the versions the
//! store may hold values of, each with its layout.
//!
//! A record is an object tagged [`RECORD_TAG`], bound under `s/type/<name>` (managed types)
//! or `s/task/<name>` (task types). Stores written before layouts were recorded bind
//! `s/type/<name>` to id 0 and hold no record: such an entry is *legacy*, version 1 with an
//! unknown layout.

use darkstar_sdk::layout::Field;
use darkstar_sdk::stored::Version;
use darkstar_storage::{Batch, Snapshot};

use super::error::CatalogError;
use crate::names;

/// The tag of catalog records in the object space. `@` cannot start a type's stored name
/// (the macros refuse it in names), so no game type shares it.
pub(crate) const RECORD_TAG: &str = "@catalog";

/// What kind of stored type a record is about.
#[derive(Clone, Copy, Debug, PartialEq, Eq, Hash)]
pub(crate) enum Kind {
    /// A managed type: objects.
    Object,
    /// A task type: stored tasks.
    Task,
}

impl Kind {
    /// The prefix of this kind's catalog names.
    pub fn prefix(self) -> &'static str {
        match self {
            Kind::Object => names::TYPE_PREFIX,
            Kind::Task => names::TASK_TYPE_PREFIX,
        }
    }

    /// What values of this kind are called, in messages.
    pub fn values(self) -> &'static str {
        match self {
            Kind::Object => "objects",
            Kind::Task => "scheduled tasks",
        }
    }

    /// What a type of this kind is called, in messages.
    pub fn type_word(self) -> &'static str {
        match self {
            Kind::Object => "managed type",
            Kind::Task => "task type",
        }
    }
}

/// One field, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(crate) struct FieldRecord {
    pub name: String,
    pub ty: String,
    pub fingerprint: u64,
}

/// One version, as recorded.
#[derive(Clone, Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(crate) struct VersionRecord {
    pub version: u32,
    pub fingerprint: u64,
    pub fields: Vec<FieldRecord>,
}

impl VersionRecord {
    /// The record of a version this build declares.
    pub fn of(version: &Version) -> VersionRecord {
        VersionRecord {
            version: version.version,
            fingerprint: version.fingerprint,
            fields: version.fields.iter().map(FieldRecord::of).collect(),
        }
    }
}

impl FieldRecord {
    fn of(field: &Field) -> FieldRecord {
        FieldRecord {
            name: field.name.to_owned(),
            ty: field.ty.to_owned(),
            fingerprint: field.fingerprint,
        }
    }
}

/// The versions a store may hold values of, for one stable name, and the earlier names
/// the build that wrote it renamed to this one (so that an older build, which still has
/// an earlier name, can say the store is newer than it).
#[derive(Clone, Debug, PartialEq, Eq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
pub(crate) struct TypeRecord {
    pub versions: Vec<VersionRecord>,
    pub aliases: Vec<String>,
}

/// One catalog entry as read: its record, or `None` for a legacy entry.
#[derive(Debug)]
pub(crate) struct Entry {
    pub kind: Kind,
    pub name: String,
    /// The binding's target: the record's object id (0 for a legacy entry).
    pub id: u64,
    pub record: Option<TypeRecord>,
}

/// A catalog entry no type has: bound once the catalog records layouts, so that a build
/// from before then, which requires every `s/type/` name to be a registered type, refuses
/// the store instead of writing objects this catalog would not know of.
pub(crate) const FENCE: &str = "@catalog-v1";

/// Every catalog entry in `snap`, of both kinds, in name order (without the fence).
pub(crate) fn read_all(snap: &Snapshot) -> Result<Vec<Entry>, CatalogError> {
    let mut entries = Vec::new();
    for kind in [Kind::Object, Kind::Task] {
        let prefix = kind.prefix();
        let mut after = prefix.to_owned();
        while let Some((key, binding)) = snap.next_name(Some(&after)) {
            let Some(name) = key.strip_prefix(prefix) else {
                break;
            };
            if name == FENCE {
                after = key;
                continue;
            }
            let record = match binding.id {
                0 => None,
                id => Some(read_record(snap, id, name)?),
            };
            entries.push(Entry {
                kind,
                name: name.to_owned(),
                id: binding.id,
                record,
            });
            after = key;
        }
    }
    Ok(entries)
}

/// The record stored as object `id`, the catalog entry of `name`.
fn read_record(snap: &Snapshot, id: u64, name: &str) -> Result<TypeRecord, CatalogError> {
    let damaged = |reason: String| CatalogError::Damaged {
        name: name.to_owned(),
        reason,
    };
    let Some(rec) = snap.object(id) else {
        return Err(damaged(format!("its record {id} is missing")));
    };
    if rec.type_name != RECORD_TAG {
        return Err(damaged(format!(
            "object {id} is a `{}`, not a catalog record",
            rec.type_name
        )));
    }
    darkstar_sdk::decode::<TypeRecord>(rec.value, id).map_err(|e| damaged(e.to_string()))
}

/// Adds to `batch` the writing of `record` as the entry of `name`, reusing the record's
/// object if the entry has one (`id` above 0).
pub(crate) fn put(
    batch: &mut Batch,
    kind: Kind,
    name: &str,
    id: u64,
    record: &TypeRecord,
) -> Result<(), CatalogError> {
    let bytes = darkstar_sdk::encode(record, RECORD_TAG).map_err(|e| CatalogError::Damaged {
        name: name.to_owned(),
        reason: e.to_string(),
    })?;
    batch.put_object(id, RECORD_TAG, &bytes);
    batch.bind(&format!("{}{name}", kind.prefix()), id);
    Ok(())
}

/// Adds to `batch` the removal of the entry of `name` (and its record, if it has one).
pub(crate) fn remove(batch: &mut Batch, kind: Kind, name: &str, id: u64) {
    if id != 0 {
        batch.remove_object(id);
    }
    batch.unbind(&format!("{}{name}", kind.prefix()));
}
