//! Random sequences of commits, reopens and compactions, checked against a plain in-memory
//! model of what the store should hold, versions and state digest included, for embedded
//! and replica stores.

use std::collections::BTreeMap;

use darkstar_storage::format::{DIGEST_MAGIC, MAX_VERSION};
use darkstar_storage::{Batch, Options, Store};
use proptest::prelude::*;

#[derive(Clone, Debug)]
enum Op {
    Put { id: u64, len: usize, fill: u8 },
    Remove { id: u64 },
    Bind { name: u8, id: u64 },
    Unbind { name: u8 },
    PutTask { id: u64, fill: u8 },
    RemoveTask { id: u64 },
}

#[derive(Clone, Debug)]
enum Step {
    Commit(Vec<Op>),
    Reopen,
    Compact,
}

/// Every present key with its content and version.
#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    objects: BTreeMap<u64, (String, Vec<u8>, u64)>,
    names: BTreeMap<String, (u64, u64)>,
    tasks: BTreeMap<u64, (String, Vec<u8>, u64)>,
}

impl Model {
    /// The digest as the book's "Store file format" chapter defines it.
    fn digest(&self) -> [u8; 32] {
        let mut h = blake3::Hasher::new();
        h.update(&DIGEST_MAGIC);
        let spaces = [(1u8, &self.objects), (2, &self.tasks)];
        for (tag, space) in spaces {
            for (id, (ty, value, version)) in space {
                h.update(&[tag]);
                h.update(&id.to_le_bytes());
                h.update(&version.to_le_bytes());
                h.update(&(ty.len() as u32).to_le_bytes());
                h.update(ty.as_bytes());
                h.update(&(value.len() as u32).to_le_bytes());
                h.update(value);
            }
        }
        for (name, (id, version)) in &self.names {
            h.update(&[3]);
            h.update(&(name.len() as u32).to_le_bytes());
            h.update(name.as_bytes());
            h.update(&id.to_le_bytes());
            h.update(&version.to_le_bytes());
        }
        *h.finalize().as_bytes()
    }
}

fn name(n: u8) -> String {
    format!("name/{n:03}")
}

fn op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => (0..24u64, 0..3000usize, any::<u8>()).prop_map(|(id, len, fill)| Op::Put { id, len, fill }),
        1 => (0..24u64).prop_map(|id| Op::Remove { id }),
        2 => (0..16u8, 0..24u64).prop_map(|(name, id)| Op::Bind { name, id }),
        1 => (0..16u8).prop_map(|name| Op::Unbind { name }),
        1 => (100..108u64, any::<u8>()).prop_map(|(id, fill)| Op::PutTask { id, fill }),
        1 => (100..108u64).prop_map(|id| Op::RemoveTask { id }),
    ]
}

fn step() -> impl Strategy<Value = Step> {
    prop_oneof![
        12 => prop::collection::vec(op(), 1..6).prop_map(Step::Commit),
        1 => Just(Step::Reopen),
        1 => Just(Step::Compact),
    ]
}

fn options(replica: bool) -> Options {
    Options {
        segment_size: 64 << 10,
        background_compaction: false,
        replica,
        ..Options::default()
    }
}

/// Adds `ops` to `batch` and to the model, at `version`.
fn apply(model: &mut Model, batch: &mut Batch, ops: &[Op], version: u64) {
    for op in ops {
        match *op {
            Op::Put { id, len, fill } => {
                let value = vec![fill; len];
                let ty = format!("model::T{}", id % 3);
                batch.put_object(id, &ty, &value);
                model.objects.insert(id, (ty, value, version));
            }
            Op::Remove { id } => {
                batch.remove_object(id);
                model.objects.remove(&id);
            }
            Op::Bind { name: n, id } => {
                batch.bind(&name(n), id);
                model.names.insert(name(n), (id, version));
            }
            Op::Unbind { name: n } => {
                batch.unbind(&name(n));
                model.names.remove(&name(n));
            }
            Op::PutTask { id, fill } => {
                batch.put_task(id, "model::Task", &[fill; 40]);
                model
                    .tasks
                    .insert(id, ("model::Task".into(), vec![fill; 40], version));
            }
            Op::RemoveTask { id } => {
                batch.remove_task(id);
                model.tasks.remove(&id);
            }
        }
    }
}

/// What the store holds, and its digest.
fn read_all(store: &Store) -> (Model, [u8; 32]) {
    let snap = store.snapshot();
    let mut m = Model::default();
    for id in snap.object_ids() {
        let r = snap.object(id).unwrap();
        assert_eq!(r.value.as_ptr() as usize % 16, 0);
        m.objects
            .insert(id, (r.type_name.to_string(), r.value.to_vec(), r.version));
    }
    for (n, b) in snap.names() {
        m.names.insert(n, (b.id, b.version));
    }
    for id in snap.task_ids() {
        let r = snap.task(id).unwrap();
        m.tasks
            .insert(id, (r.type_name.to_string(), r.value.to_vec(), r.version));
    }
    (m, snap.digest())
}

/// Runs `steps` against a store and the model. A replica's commits carry versions that are
/// unique but far from increasing; an embedded store's are the sequence numbers.
fn check(steps: &[Step], replica: bool) -> Result<(), TestCaseError> {
    let dir = tempfile::tempdir().unwrap();
    let mut store = Some(Store::open(dir.path(), options(replica)).unwrap());
    let mut model = Model::default();
    let mut batch = Batch::new();
    for (i, step) in steps.iter().enumerate() {
        let s = store.as_ref().unwrap();
        match step {
            Step::Commit(ops) => {
                batch.clear();
                // Multiplying by an odd number permutes the integers modulo 2^63.
                let explicit = (i as u64 + 1).wrapping_mul(0x9E37_79B9_7F4A_7C15) & MAX_VERSION;
                let version = if replica {
                    batch.set_version(Some(explicit));
                    explicit
                } else {
                    // Commits here are the only writer (no background compaction).
                    s.last_seq() + 1
                };
                apply(&mut model, &mut batch, ops, version);
                let seq = s.commit(&batch).unwrap();
                if !replica {
                    prop_assert_eq!(seq, version);
                }
                s.wait_durable(seq).unwrap();
            }
            Step::Reopen => {
                store.take().unwrap().close().unwrap();
                store = Some(Store::open(dir.path(), options(replica)).unwrap());
            }
            Step::Compact => {
                s.compact(0.9).unwrap();
            }
        }
        let (got, digest) = read_all(store.as_ref().unwrap());
        prop_assert_eq!(&got, &model);
        prop_assert_eq!(digest, model.digest());
    }
    drop(store);
    let reopened = Store::open(dir.path(), options(replica)).unwrap();
    prop_assert_eq!(&read_all(&reopened).0, &model);
    Ok(())
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn the_store_matches_the_model(steps in prop::collection::vec(step(), 1..80)) {
        check(&steps, false)?;
    }

    #[test]
    fn a_replica_matches_the_model(steps in prop::collection::vec(step(), 1..80)) {
        check(&steps, true)?;
    }
}
