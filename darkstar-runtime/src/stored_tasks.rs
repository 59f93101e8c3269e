//! Handing stored tasks to the cores that run them: at start-up, and in a cluster when
//! this node gains slots (a stored task runs on its slot's owner).

use crate::error::StartError;
use crate::job::Job;
use crate::record::TaskHeader;
use crate::shared::Shared;

/// The affinity key that places stored task `id`: its own, or the id.
pub(crate) fn key(id: u64, affinity: Option<u64>) -> u64 {
    affinity.unwrap_or(id)
}

/// Every stored task in a slot `wanted` accepts, as `(due_ms, id)` per core. A task of an
/// unregistered type or with a damaged record is an error: start-up refuses such a store.
pub(crate) fn by_core(
    shared: &Shared,
    wanted: impl Fn(usize) -> bool,
) -> Result<Vec<Vec<(u64, u64)>>, StartError> {
    let snap = shared.store.snapshot();
    let mut per_core = vec![Vec::new(); shared.placement.cores()];
    for id in snap.task_ids() {
        let Some(rec) = snap.task(id) else { continue };
        if shared.registry.task(rec.type_name).is_none() {
            return Err(StartError::UnknownStoredType {
                what: "scheduled tasks",
                type_name: rec.type_name.to_owned(),
            });
        }
        let (header, _) = TaskHeader::decode(rec.value).map_err(|e| StartError::CorruptTask {
            id,
            reason: e.to_string(),
        })?;
        let key = key(id, header.affinity);
        if !wanted(shared.placement.slot_of(key)) {
            continue;
        }
        per_core[shared.placement.core_for_key(key)].push((header.due_ms, id));
    }
    Ok(per_core)
}

/// Hands the stored tasks of `slots` (just gained) to their cores. Damaged records stay
/// where they are; the start-up check reported them.
pub(crate) fn hand_out(shared: &Shared, slots: &[usize]) -> usize {
    let mut wanted = vec![false; crate::placement::SLOTS];
    for &s in slots {
        wanted[s] = true;
    }
    let Ok(per_core) = by_core(shared, |s| wanted[s]) else {
        return 0;
    };
    let mut n = 0;
    for (core, tasks) in per_core.into_iter().enumerate() {
        for (due_ms, id) in tasks {
            n += 1;
            let job = Job::Stored {
                id,
                due_ms,
                attempts: 0,
            };
            // A core that has stopped leaves the task stored.
            let _ = shared.send(core, job);
        }
    }
    n
}
