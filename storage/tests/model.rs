//! Random sequences of commits, reopens and compactions, checked against a plain in-memory
//! model of what the store should hold.

use std::collections::BTreeMap;

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

#[derive(Default, Clone, Debug, PartialEq)]
struct Model {
    objects: BTreeMap<u64, (String, Vec<u8>)>,
    names: BTreeMap<String, u64>,
    tasks: BTreeMap<u64, Vec<u8>>,
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

fn options() -> Options {
    Options {
        segment_size: 64 << 10,
        background_compaction: false,
        ..Options::default()
    }
}

fn apply(model: &mut Model, batch: &mut Batch, ops: &[Op]) {
    batch.clear();
    for op in ops {
        match *op {
            Op::Put { id, len, fill } => {
                let value = vec![fill; len];
                let ty = format!("model::T{}", id % 3);
                batch.put_object(id, &ty, &value);
                model.objects.insert(id, (ty, value));
            }
            Op::Remove { id } => {
                batch.remove_object(id);
                model.objects.remove(&id);
            }
            Op::Bind { name: n, id } => {
                batch.bind(&name(n), id);
                model.names.insert(name(n), id);
            }
            Op::Unbind { name: n } => {
                batch.unbind(&name(n));
                model.names.remove(&name(n));
            }
            Op::PutTask { id, fill } => {
                batch.put_task(id, "model::Task", &[fill; 40]);
                model.tasks.insert(id, vec![fill; 40]);
            }
            Op::RemoveTask { id } => {
                batch.remove_task(id);
                model.tasks.remove(&id);
            }
        }
    }
}

fn read_all(store: &Store) -> Model {
    let snap = store.snapshot();
    let mut m = Model::default();
    for id in snap.object_ids() {
        let r = snap.object(id).unwrap();
        assert_eq!(r.value.as_ptr() as usize % 16, 0);
        m.objects
            .insert(id, (r.type_name.to_string(), r.value.to_vec()));
    }
    for (n, b) in snap.names() {
        m.names.insert(n, b.id);
    }
    for id in snap.task_ids() {
        m.tasks.insert(id, snap.task(id).unwrap().value.to_vec());
    }
    m
}

proptest! {
    #![proptest_config(ProptestConfig { cases: 160, ..ProptestConfig::default() })]

    #[test]
    fn the_store_matches_the_model(steps in prop::collection::vec(step(), 1..80)) {
        let dir = tempfile::tempdir().unwrap();
        let mut store = Some(Store::open(dir.path(), options()).unwrap());
        let mut model = Model::default();
        let mut batch = Batch::new();
        for step in &steps {
            let s = store.as_ref().unwrap();
            match step {
                Step::Commit(ops) => {
                    apply(&mut model, &mut batch, ops);
                    let seq = s.commit(&batch).unwrap();
                    s.wait_durable(seq).unwrap();
                }
                Step::Reopen => {
                    store.take().unwrap().close().unwrap();
                    store = Some(Store::open(dir.path(), options()).unwrap());
                }
                Step::Compact => {
                    s.compact(0.9).unwrap();
                }
            }
            prop_assert_eq!(&read_all(store.as_ref().unwrap()), &model);
        }
        drop(store);
        let reopened = Store::open(dir.path(), options()).unwrap();
        prop_assert_eq!(&read_all(&reopened), &model);
    }
}
