//! The type catalog: which stored names the store holds values of, with each version's
//! layout, checked against this build at start-up and brought up to date before any task
//! runs.
//!
//! Opening a store, top to bottom ([`open`]):
//!
//! 1. Read every catalog entry ([`record::read_all`]). On a store not yet marked
//!    `s/tasks-cataloged`, count the stored tasks by tag: those without an entry come from
//!    a store older than the catalog of tasks.
//! 2. Compare each stored version with what the build declares: the same layout at the
//!    current version is fine; a declared older version (or an alias) is to be migrated; a
//!    removed type declared with `Types::removed` is to be deleted; anything else is a
//!    [`Problem`]. Where there is a problem or work, count the objects by tag: problems
//!    and work about nothing stored vanish.
//! 3. Any problem left: refuse to start, naming each one. Nothing was written.
//! 4. Write the records of this build's types, each listing the versions still being
//!    migrated beside the current one, so that an older build started on the half-migrated
//!    store refuses it.
//! 5. Migrate ([`migrate::run`]) in batches, objects then stored tasks.
//! 6. Write the final records (the current version only) and drop the entries of aliases
//!    and removed types; wait until durable.

mod diff;
mod error;
mod migrate;
mod record;

use std::time::Instant;

use darkstar_sdk::stored::{parse_stored_name, stored_name, Version};
use darkstar_sdk::{StoredType, Types};
use darkstar_storage::{Batch, Store};
use hashbrown::{HashMap, HashSet};
use tracing::{info, warn};

use crate::data::DataService;
use crate::names;
pub use error::{CatalogError, Problem, ProblemKind};
use migrate::{Done, Work};
use record::{Entry, Kind, TypeRecord, VersionRecord};

/// A type this build declares, with every version of it.
struct Declared {
    kind: Kind,
    ty: StoredType,
    versions: Vec<Version>,
}

impl Declared {
    /// Whether values stored under the stable name `name` belong to this type.
    fn answers_to(&self, kind: Kind, name: &str) -> bool {
        self.kind == kind && (self.ty.name == name || self.ty.aliases.contains(&name))
    }

    /// The record of this type at its current version only.
    fn current_record(&self) -> TypeRecord {
        let current = self
            .versions
            .last()
            .expect("a type declares its own version");
        debug_assert_eq!(current.version, self.ty.version);
        TypeRecord {
            versions: vec![VersionRecord::of(current)],
            aliases: self.ty.aliases.iter().map(|&a| a.to_owned()).collect(),
        }
    }
}

/// What opening the catalog did.
#[derive(Clone, Copy, Debug, Default)]
pub(crate) struct Opened {
    pub objects: Done,
    pub tasks: Done,
}

/// Checks the store's catalog against `types`, migrates what is stored at older versions
/// or under older names, deletes what belongs to removed types, and records this build's
/// layouts, committing `batch_size` values at a time through `data` (which, in a cluster,
/// is the shared log: the caller makes sure one node at a time does this).
pub(crate) fn open(
    store: &Store,
    data: &dyn DataService,
    types: &Types,
    batch_size: usize,
) -> Result<Opened, CatalogError> {
    let declared = declare(types);
    let snap = store.snapshot();
    let mut entries = record::read_all(&snap)?;
    let mut counts: HashMap<(Kind, String), u64> = HashMap::new();
    // A store whose stored tasks were all cataloged by an earlier start needs no pass over
    // them unless something about tasks is to be done or refused (counted below).
    let tasks_cataloged = snap.name(names::TASKS_CATALOGED).is_some();
    if !tasks_cataloged {
        for (tag, n) in migrate::count(&snap, Kind::Task) {
            counts.insert((Kind::Task, tag), n);
        }
    }
    // Stored tasks without a catalog entry: recorded before tasks were cataloged, at the
    // version their tag says, with a layout nobody recorded.
    let mut unlisted: Vec<(String, u32)> = counts
        .keys()
        .map(|(_, tag)| parse_stored_name(tag))
        .filter(|(name, _)| {
            !entries
                .iter()
                .any(|e| e.kind == Kind::Task && e.name == *name)
        })
        .map(|(name, version)| (name.to_owned(), version))
        .collect();
    unlisted.sort();
    unlisted.dedup();
    let mut legacy_versions: HashMap<String, Vec<u32>> = HashMap::new();
    for (name, version) in unlisted {
        legacy_versions.entry(name).or_default().push(version);
    }
    for (name, _) in legacy_versions.iter() {
        entries.push(Entry {
            kind: Kind::Task,
            name: name.clone(),
            id: 0,
            record: None,
        });
    }

    // 2. Compare.
    let Compared {
        mut problems,
        mut rewrite,
        mut delete,
    } = compare(&entries, &declared, types.removed_names(), &legacy_versions);

    // Count the values of a kind only when something about it is to be done or refused.
    for kind in [Kind::Object, Kind::Task] {
        let matters = problems.iter().any(|p| p.kind() == kind)
            || rewrite.keys().any(|(k, _)| *k == kind)
            || delete.iter().any(|(k, _)| *k == kind);
        let counted = kind == Kind::Task && !tasks_cataloged;
        if matters && !counted {
            for (tag, n) in migrate::count(&snap, kind) {
                counts.insert((kind, tag), n);
            }
        }
    }
    let count_of = |kind: Kind, tag: &str| counts.get(&(kind, tag.to_owned())).copied();
    for p in &mut problems {
        p.count = count_of(p.kind(), &stored_name(&p.name, p.version)).unwrap_or(0);
    }
    problems.retain(|p| p.count > 0);
    // 3. Refuse.
    if !problems.is_empty() {
        return Err(CatalogError::Mismatch(problems));
    }
    rewrite.retain(|(kind, tag), _| count_of(*kind, tag).is_some());
    let stored_of = |kind: Kind, name: &str| -> u64 {
        counts
            .iter()
            .filter(|((k, tag), _)| *k == kind && parse_stored_name(tag).0 == name)
            .map(|(_, n)| n)
            .sum()
    };
    delete.retain(|(kind, name)| stored_of(*kind, name) > 0);

    // 4. Records of this build's types, with the versions still being migrated.
    let entry_of =
        |kind: Kind, name: &str| entries.iter().find(|e| e.kind == kind && e.name == name);
    // Each type's record id and the record the store holds once step 4 has committed.
    let mut written: HashMap<(Kind, &'static str), (u64, TypeRecord)> = HashMap::new();
    let mut batch = Batch::new();
    for (at, d) in declared.iter().enumerate() {
        let mut record = d.current_record();
        let mut old: Vec<u32> = rewrite
            .iter()
            .filter(|(_, &(i, _))| i == at)
            .map(|(_, &(_, v))| v)
            .filter(|&v| v != d.ty.version)
            .collect();
        old.sort_unstable();
        old.dedup();
        for v in old.iter().rev() {
            let version = d
                .versions
                .iter()
                .find(|x| x.version == *v)
                .expect("a rewritten version is declared");
            record.versions.insert(0, VersionRecord::of(version));
        }
        let existing = entry_of(d.kind, d.ty.name);
        let id = match existing {
            Some(e) if e.id != 0 => e.id,
            _ => data
                .allocate_id()
                .map_err(|e| CatalogError::Commit(e.to_string()))?,
        };
        if existing.and_then(|e| e.record.as_ref()) != Some(&record) {
            record::put(&mut batch, d.kind, d.ty.name, id, &record)?;
        }
        written.insert((d.kind, d.ty.name), (id, record));
    }
    // Before anything is migrated, so a build from before the catalog never opens a
    // half-migrated store.
    let fence = format!("{}{}", names::TYPE_PREFIX, record::FENCE);
    if snap.name(&fence).is_none() {
        batch.bind(&fence, 0);
    }
    let mut last_seq = 0;
    if !batch.is_empty() {
        last_seq = data
            .commit_now(&mut batch)
            .map_err(|e| CatalogError::Commit(e.to_string()))?;
    }

    // 5. Migrate.
    let mut opened = Opened::default();
    if !rewrite.is_empty() || !delete.is_empty() {
        let started = Instant::now();
        let snap = store.snapshot();
        for kind in [Kind::Object, Kind::Task] {
            let work = Work {
                kind,
                rewrite: rewrite
                    .iter()
                    .filter(|((k, _), _)| *k == kind)
                    .map(|((_, tag), &(at, v))| (tag.clone(), (&declared[at].ty, v)))
                    .collect(),
                delete: delete
                    .iter()
                    .filter(|(k, _)| *k == kind)
                    .map(|(_, name)| name.clone())
                    .collect(),
            };
            if work.rewrite.is_empty() && work.delete.is_empty() {
                continue;
            }
            let total: u64 = work
                .rewrite
                .keys()
                .filter_map(|tag| count_of(kind, tag))
                .sum::<u64>()
                + work
                    .delete
                    .iter()
                    .map(|name| stored_of(kind, name))
                    .sum::<u64>();
            info!(
                kind = kind.values(),
                total, "migrating stored values to this build's versions"
            );
            let (done, seq) = migrate::run(data, &snap, &work, batch_size, total)?;
            last_seq = last_seq.max(seq);
            match kind {
                Kind::Object => opened.objects = done,
                Kind::Task => opened.tasks = done,
            }
        }
        info!(
            objects_rewritten = opened.objects.rewritten,
            objects_deleted = opened.objects.deleted,
            tasks_rewritten = opened.tasks.rewritten,
            tasks_deleted = opened.tasks.deleted,
            elapsed_ms = started.elapsed().as_millis() as u64,
            "migration finished"
        );
    }

    // 6. Final records.
    let mut batch = Batch::new();
    for d in &declared {
        let record = d.current_record();
        let (id, held) = &written[&(d.kind, d.ty.name)];
        if *held != record {
            record::put(&mut batch, d.kind, d.ty.name, *id, &record)?;
        }
    }
    for e in &entries {
        let kept = declared
            .iter()
            .any(|d| d.kind == e.kind && d.ty.name == e.name);
        // A legacy task entry was never written: there is nothing to remove.
        let never_written = e.kind == Kind::Task && e.id == 0;
        if !(kept || never_written) {
            record::remove(&mut batch, e.kind, &e.name, e.id);
        }
    }
    if !tasks_cataloged {
        batch.bind(names::TASKS_CATALOGED, 0);
    }

    if !batch.is_empty() {
        last_seq = data
            .commit_now(&mut batch)
            .map_err(|e| CatalogError::Commit(e.to_string()))?;
    }
    if last_seq > 0 {
        store
            .wait_durable(last_seq)
            .map_err(|e| CatalogError::Commit(e.to_string()))?;
    }
    Ok(opened)
}

/// What comparing the catalog with the build found: problems (not yet counted), tags to
/// rewrite (to the declared type at that index, from that version), and stable names
/// whose values are to be deleted.
struct Compared {
    problems: Vec<Problem>,
    rewrite: HashMap<(Kind, String), (usize, u32)>,
    delete: HashSet<(Kind, String)>,
}

/// Compares every stored version in `entries` with what `declared` says of it.
/// `legacy_versions` holds the versions of stored tasks without an entry.
fn compare(
    entries: &[Entry],
    declared: &[Declared],
    removed: &[&str],
    legacy_versions: &HashMap<String, Vec<u32>>,
) -> Compared {
    let mut problems = Vec::new();
    let mut rewrite: HashMap<(Kind, String), (usize, u32)> = HashMap::new();
    let mut delete: HashSet<(Kind, String)> = HashSet::new();
    for entry in entries {
        if entry.record.is_none() {
            warn!(
                kind = entry.kind.values(),
                type_name = %entry.name,
                "the store does not record this type's layout (it was written before layouts \
                 were recorded); reading it as version 1 of this build's type, and recording \
                 the layout"
            );
        }
        let stored: Vec<(u32, Option<&VersionRecord>)> = match &entry.record {
            Some(record) => record
                .versions
                .iter()
                .map(|v| (v.version, Some(v)))
                .collect(),
            None => match legacy_versions.get(&entry.name) {
                Some(versions) if entry.kind == Kind::Task => {
                    versions.iter().map(|&v| (v, None)).collect()
                }
                _ => vec![(1, None)],
            },
        };
        let Some(at) = declared
            .iter()
            .position(|d| d.answers_to(entry.kind, &entry.name))
        else {
            if removed.contains(&entry.name.as_str()) {
                delete.insert((entry.kind, entry.name.clone()));
                continue;
            }
            // A name a newer build gave a type this build knows under an earlier name.
            let renamed_from = entry.record.as_ref().and_then(|r| {
                declared
                    .iter()
                    .find(|d| d.kind == entry.kind && r.aliases.iter().any(|a| a == d.ty.name))
            });
            let what = match renamed_from {
                Some(d) => ProblemKind::RenamedByNewer {
                    earlier: d.ty.name.to_owned(),
                },
                None => ProblemKind::Removed,
            };
            for (version, _) in stored {
                problems.push(Problem::new(entry.kind, &entry.name, version, what.clone()));
            }
            continue;
        };
        let d = &declared[at];
        let current = d.versions.last().expect("a type declares its own version");
        for (version, recorded) in stored {
            let problem = |what| Problem::new(entry.kind, &entry.name, version, what);
            match d.versions.iter().find(|v| v.version == version) {
                None if version > d.ty.version => {
                    problems.push(problem(ProblemKind::Newer {
                        current: d.ty.version,
                    }));
                }
                None => problems.push(problem(ProblemKind::NoMigration {
                    current: d.ty.version,
                    changes: recorded
                        .map(|r| diff::describe(&r.fields, current.fields))
                        .unwrap_or_default(),
                })),
                Some(built) => {
                    if let Some(r) = recorded {
                        if r.fingerprint != built.fingerprint {
                            problems.push(problem(ProblemKind::Changed {
                                changes: diff::describe(&r.fields, built.fields),
                                current: d.ty.version,
                            }));
                            continue;
                        }
                    }
                    let tag = stored_name(&entry.name, version);
                    if tag != d.ty.stored_name {
                        rewrite.insert((entry.kind, tag), (at, version));
                    }
                }
            }
        }
    }
    Compared {
        problems,
        rewrite,
        delete,
    }
}

/// Every type `types` declares, objects first.
fn declare(types: &Types) -> Vec<Declared> {
    let objects = types.objects().iter().map(|ty| (Kind::Object, *ty));
    let tasks = types.tasks().iter().map(|t| (Kind::Task, t.stored));
    objects
        .chain(tasks)
        .map(|(kind, ty)| Declared {
            kind,
            versions: ty.versions(),
            ty,
        })
        .collect()
}
