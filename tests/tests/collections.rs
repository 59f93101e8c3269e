//! The SDK's collections through a real server: each compared with its `std` model under
//! random operations run as tasks, trees that split and merge, inserts into different
//! leaves from both cores without a conflict, a queue's producers and consumers on
//! different cores without a conflict, every object removed with the collection, and a
//! handle of the wrong types refused; values larger than a node, array keys, queue
//! cursors across tasks and queues.

use std::collections::{BTreeMap, BTreeSet, VecDeque};
use std::path::Path;
use std::sync::mpsc;

use darkstar_runtime::{Config, DurabilityMode, Server};
use darkstar_sdk::collections::{Fanout, QueueCursor, Shape};
use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv;
use proptest::prelude::*;
use proptest::test_runner::{Config as ProptestConfig, TestCaseError, TestRunner};

/// Small nodes, so that a few dozen entries make a tree of several levels, and a byte
/// limit that values of a few dozen bytes reach before the entry limit.
const SMALL: Fanout = Fanout {
    leaf: 4,
    inner: 4,
    bytes: 96,
};

/// An operation on a map, a list or a queue.
#[derive(
    Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout,
)]
#[rkyv(crate = rkyv)]
enum Op {
    Insert(u16, String),
    Remove(u16),
    Get(u16),
    Contains(u16),
    Range(Option<u16>, u8),
    First,
    Last,
    Len,
    IsEmpty,
    Push(String),
    Pop,
    Peek,
    /// A list position, taken modulo the length plus two, so some are out of bounds.
    Set(u16, String),
    At(u16),
    InsertAt(u16, String),
    RemoveAt(u16),
    Slice(u16, u8),
}

/// What an operation returned.
#[derive(
    Clone, Debug, PartialEq, rkyv::Archive, rkyv::Serialize, rkyv::Deserialize, darkstar_sdk::Layout,
)]
#[rkyv(crate = rkyv)]
enum Outcome {
    Value(Option<String>),
    Entries(Vec<(u16, String)>),
    Items(Vec<String>),
    Flag(bool),
    Count(u64),
    Done,
    OutOfBounds,
}

/// Runs `steps` on a map in one task; each must return what the model said.
#[task(name = "test.map_steps")]
fn map_steps(
    ctx: &mut Context,
    map: ManagedMap<u16, String>,
    steps: Vec<(Op, Outcome)>,
) -> TaskResult {
    for (op, expected) in steps {
        let got = match &op {
            Op::Insert(k, v) => Outcome::Value(map.insert(ctx, *k, v.clone())?),
            Op::Remove(k) => Outcome::Value(map.remove(ctx, k)?),
            Op::Get(k) => Outcome::Value(map.get(ctx, k)?),
            Op::Contains(k) => Outcome::Flag(map.contains_key(ctx, k)?),
            Op::Range(after, limit) => {
                Outcome::Entries(map.range(ctx, after.as_ref(), *limit as usize)?)
            }
            Op::First => Outcome::Entries(map.first(ctx)?.into_iter().collect()),
            Op::Last => Outcome::Entries(map.last(ctx)?.into_iter().collect()),
            Op::Len => Outcome::Count(map.len(ctx)?),
            Op::IsEmpty => Outcome::Flag(map.is_empty(ctx)?),
            other => return Err(TaskError::abort(format!("not a map operation: {other:?}"))),
        };
        if got != expected {
            return Err(TaskError::abort(format!(
                "{op:?} gave {got:?}, the model {expected:?}"
            )));
        }
    }
    Ok(())
}

/// Runs `steps` on a list in one task.
#[task(name = "test.list_steps")]
fn list_steps(
    ctx: &mut Context,
    list: ManagedList<String>,
    steps: Vec<(Op, Outcome)>,
) -> TaskResult {
    for (op, expected) in steps {
        let result = match &op {
            Op::Push(v) => list.push_back(ctx, v.clone()).map(|()| Outcome::Done),
            Op::Pop => list.pop_back(ctx).map(Outcome::Value),
            Op::Set(i, v) => list
                .set(ctx, u64::from(*i), v.clone())
                .map(|old| Outcome::Value(Some(old))),
            Op::At(i) => list.get(ctx, u64::from(*i)).map(Outcome::Value),
            Op::InsertAt(i, v) => list
                .insert(ctx, u64::from(*i), v.clone())
                .map(|()| Outcome::Done),
            Op::RemoveAt(i) => list
                .remove(ctx, u64::from(*i))
                .map(|v| Outcome::Value(Some(v))),
            Op::Slice(start, limit) => list
                .slice(ctx, u64::from(*start), *limit as usize)
                .map(Outcome::Items),
            Op::Len => list.len(ctx).map(Outcome::Count),
            Op::IsEmpty => list.is_empty(ctx).map(Outcome::Flag),
            other => return Err(TaskError::abort(format!("not a list operation: {other:?}"))),
        };
        let got = match result {
            Err(TaskError::OutOfBounds { .. }) => Outcome::OutOfBounds,
            other => other?,
        };
        if got != expected {
            return Err(TaskError::abort(format!(
                "{op:?} gave {got:?}, the model {expected:?}"
            )));
        }
    }
    Ok(())
}

/// Runs `steps` on a queue in one task.
#[task(name = "test.queue_steps")]
fn queue_steps(
    ctx: &mut Context,
    queue: ManagedQueue<String>,
    steps: Vec<(Op, Outcome)>,
) -> TaskResult {
    for (op, expected) in steps {
        let got = match &op {
            Op::Push(v) => queue.push_back(ctx, v.clone()).map(|()| Outcome::Done)?,
            Op::Pop => Outcome::Value(queue.pop_front(ctx)?),
            Op::Peek => Outcome::Value(queue.peek_front(ctx)?),
            Op::Len => Outcome::Count(queue.len(ctx)?),
            Op::IsEmpty => Outcome::Flag(queue.is_empty(ctx)?),
            Op::Slice(_, limit) => Outcome::Items(queue.iter(ctx, None, *limit as usize)?.0),
            other => {
                return Err(TaskError::abort(format!(
                    "not a queue operation: {other:?}"
                )))
            }
        };
        if got != expected {
            return Err(TaskError::abort(format!(
                "{op:?} gave {got:?}, the model {expected:?}"
            )));
        }
    }
    Ok(())
}

/// Creates the collections of a test, with `fanout`, and binds them to `name`.
#[task(name = "test.create")]
fn create(ctx: &mut Context, name: String, leaf: u32, inner: u32, bytes: u32) -> TaskResult {
    let fanout = Fanout { leaf, inner, bytes };
    ManagedMap::<u16, String>::create_with(ctx, fanout)?.bind(ctx, &format!("{name}.map"))?;
    ManagedList::<String>::create_with(ctx, fanout)?.bind(ctx, &format!("{name}.list"))?;
    ManagedQueue::<String>::create_with(ctx, fanout)?.bind(ctx, &format!("{name}.queue"))?;
    ManagedMap::<u64, u64>::create_with(ctx, fanout)?.bind(ctx, &format!("{name}.numbers"))?;
    ManagedQueue::<u64>::create_with(ctx, fanout)?.bind(ctx, &format!("{name}.jobs"))
}

/// Inserts `key -> key` for every key.
#[task(name = "test.insert_numbers")]
fn insert_numbers(ctx: &mut Context, map: ManagedMap<u64, u64>, keys: Vec<u64>) -> TaskResult {
    for k in keys {
        map.insert(ctx, k, k)?;
    }
    Ok(())
}

/// Removes every key.
#[task(name = "test.remove_numbers")]
fn remove_numbers(ctx: &mut Context, map: ManagedMap<u64, u64>, keys: Vec<u64>) -> TaskResult {
    for k in keys {
        if map.remove(ctx, &k)? != Some(k) {
            return Err(TaskError::abort(format!("{k} was not there")));
        }
    }
    Ok(())
}

/// Inserts keys on the core `lane` is placed on.
#[task(name = "test.insert_on")]
fn insert_on(
    ctx: &mut Context,
    lane: Ref<Lane>,
    map: ManagedMap<u64, u64>,
    keys: Vec<u64>,
) -> TaskResult {
    let _ = lane;
    insert_numbers(ctx, map, keys)
}

/// Pushes items on the core `lane` is placed on.
#[task(name = "test.push_on")]
fn push_on(
    ctx: &mut Context,
    lane: Ref<Lane>,
    queue: ManagedQueue<u64>,
    items: Vec<u64>,
) -> TaskResult {
    let _ = lane;
    for item in items {
        queue.push_back(ctx, item)?;
    }
    Ok(())
}

/// Pops `count` items on the core `lane` is placed on.
#[task(name = "test.pop_on")]
fn pop_on(ctx: &mut Context, lane: Ref<Lane>, queue: ManagedQueue<u64>, count: u32) -> TaskResult {
    let _ = lane;
    for _ in 0..count {
        if queue.pop_front(ctx)?.is_none() {
            return Err(TaskError::abort("the queue ran dry"));
        }
    }
    Ok(())
}

/// Clears up to `max_leaves` leaves (or chunks) of the list and the queue of a test.
#[task(name = "test.clear")]
fn clear(ctx: &mut Context, name: String, max_leaves: u32) -> TaskResult {
    let n = max_leaves as usize;
    ManagedList::<String>::lookup(ctx, &format!("{name}.list"))?.clear(ctx, n)?;
    ManagedQueue::<String>::lookup(ctx, &format!("{name}.queue"))?.clear(ctx, n)?;
    Ok(())
}

/// Destroys every collection of a test.
#[task(name = "test.destroy")]
fn destroy(ctx: &mut Context, name: String) -> TaskResult {
    ManagedMap::<u16, String>::lookup(ctx, &format!("{name}.map"))?.destroy(ctx)?;
    ManagedList::<String>::lookup(ctx, &format!("{name}.list"))?.destroy(ctx)?;
    ManagedQueue::<String>::lookup(ctx, &format!("{name}.queue"))?.destroy(ctx)?;
    ManagedMap::<u64, u64>::lookup(ctx, &format!("{name}.numbers"))?.destroy(ctx)?;
    ManagedQueue::<u64>::lookup(ctx, &format!("{name}.jobs"))?.destroy(ctx)
}

/// A game object holding collections, to show that handles are fields like any other.
#[managed(name = "test.Registry")]
pub struct Registry {
    pub players: ManagedMap<String, u64>,
    pub log: ManagedList<String>,
    pub inbox: ManagedQueue<u64>,
}

#[task(name = "test.make_registry")]
fn make_registry(ctx: &mut Context) -> TaskResult {
    let registry = ctx.create(Registry {
        players: ManagedMap::create(ctx)?,
        log: ManagedList::create(ctx)?,
        inbox: ManagedQueue::create(ctx)?,
    })?;
    ctx.bind("registry", registry)
}

#[task(name = "test.join")]
fn join(ctx: &mut Context, registry: Ref<Registry>, name: String, id: u64) -> TaskResult {
    let r = ctx.get(registry)?;
    r.players.get().insert(ctx, name.clone(), id)?;
    r.log.get().push_back(ctx, format!("{name} joined"))?;
    r.inbox.get().push_back(ctx, id)
}

/// A marker object: placed on a core, it takes the tasks that name it there.
#[managed(name = "test.Lane")]
pub struct Lane {
    pub core: u32,
}

#[task(name = "test.make_lanes")]
fn make_lanes(ctx: &mut Context) -> TaskResult {
    for core in 0..2 {
        let lane = ctx.create(Lane { core })?;
        ctx.bind(&format!("lane.{core}"), lane)?;
    }
    Ok(())
}

struct Collections;

impl App for Collections {
    fn register(&self, types: &mut Types) {
        types
            .object::<Registry>()
            .object::<Lane>()
            .task::<MapSteps>()
            .task::<ListSteps>()
            .task::<QueueSteps>()
            .task::<Create>()
            .task::<InsertNumbers>()
            .task::<RemoveNumbers>()
            .task::<InsertOn>()
            .task::<PushOn>()
            .task::<PopOn>()
            .task::<Clear>()
            .task::<ClearNumbers>()
            .task::<Destroy>()
            .task::<MakeRegistry>()
            .task::<Join>()
            .task::<MakeLanes>()
            .task::<ArrayKeys>();
    }
}

/// A server on two cores. Commits are acknowledged before their sync, which keeps a test
/// of thousands of one-at-a-time tasks fast; the time limit is generous for debug builds.
fn server(dir: &Path) -> Server {
    let config = Config {
        data_dir: dir.to_owned(),
        cores: 2,
        durability: DurabilityMode::Relaxed,
        task_time_limit_ms: 30_000,
        ..Config::default()
    };
    Server::builder(Collections).config(config).start().unwrap()
}

/// Creates the collections named `name` with `fanout`.
fn create_all(server: &Server, name: &str, fanout: Fanout) {
    server
        .submit(Create {
            name: name.to_owned(),
            leaf: fanout.leaf,
            inner: fanout.inner,
            bytes: fanout.bytes,
        })
        .wait()
        .unwrap();
}

fn map_named(server: &Server, name: &str) -> ManagedMap<u16, String> {
    server
        .query(|ctx| ManagedMap::lookup(ctx, &format!("{name}.map")))
        .unwrap()
}

fn numbers_named(server: &Server, name: &str) -> ManagedMap<u64, u64> {
    server
        .query(|ctx| ManagedMap::lookup(ctx, &format!("{name}.numbers")))
        .unwrap()
}

fn value() -> impl Strategy<Value = String> {
    // Mostly up to 40 bytes: a few fill a 96-byte node before four do. Now and then one
    // larger than a whole node, which must get a node of its own.
    prop_oneof![9 => "[a-z]{0,40}", 1 => "[a-z]{100,160}"]
}

fn map_op() -> impl Strategy<Value = Op> {
    let key = 0u16..48;
    prop_oneof![
        6 => (key.clone(), value()).prop_map(|(k, v)| Op::Insert(k, v)),
        4 => key.clone().prop_map(Op::Remove),
        1 => key.clone().prop_map(Op::Get),
        1 => key.clone().prop_map(Op::Contains),
        1 => (proptest::option::of(key), 0u8..6).prop_map(|(a, l)| Op::Range(a, l)),
        1 => Just(Op::First),
        1 => Just(Op::Last),
        1 => Just(Op::Len),
        1 => Just(Op::IsEmpty),
    ]
}

fn list_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        4 => value().prop_map(Op::Push),
        2 => Just(Op::Pop),
        2 => (any::<u16>(), value()).prop_map(|(i, v)| Op::Set(i, v)),
        1 => any::<u16>().prop_map(Op::At),
        4 => (any::<u16>(), value()).prop_map(|(i, v)| Op::InsertAt(i, v)),
        3 => any::<u16>().prop_map(Op::RemoveAt),
        1 => (any::<u16>(), 0u8..6).prop_map(|(s, l)| Op::Slice(s, l)),
        1 => Just(Op::Len),
        1 => Just(Op::IsEmpty),
    ]
}

fn queue_op() -> impl Strategy<Value = Op> {
    prop_oneof![
        5 => value().prop_map(Op::Push),
        4 => Just(Op::Pop),
        1 => Just(Op::Peek),
        1 => Just(Op::Len),
        1 => Just(Op::IsEmpty),
        1 => (Just(0u16), 0u8..6).prop_map(|(s, l)| Op::Slice(s, l)),
    ]
}

/// What a map operation returns on the model, which it changes as the map would be.
fn model_map(model: &mut BTreeMap<u16, String>, op: &Op) -> Outcome {
    let entries = |it: &mut dyn Iterator<Item = (&u16, &String)>| {
        Outcome::Entries(it.map(|(k, v)| (*k, v.clone())).collect())
    };
    match op {
        Op::Insert(k, v) => Outcome::Value(model.insert(*k, v.clone())),
        Op::Remove(k) => Outcome::Value(model.remove(k)),
        Op::Get(k) => Outcome::Value(model.get(k).cloned()),
        Op::Contains(k) => Outcome::Flag(model.contains_key(k)),
        Op::Range(after, limit) => {
            let from = match after {
                Some(a) => std::ops::Bound::Excluded(*a),
                None => std::ops::Bound::Unbounded,
            };
            entries(
                &mut model
                    .range((from, std::ops::Bound::Unbounded))
                    .take(*limit as usize),
            )
        }
        Op::First => entries(&mut model.iter().take(1)),
        Op::Last => entries(&mut model.iter().next_back().into_iter()),
        Op::Len => Outcome::Count(model.len() as u64),
        Op::IsEmpty => Outcome::Flag(model.is_empty()),
        other => unreachable!("{other:?}"),
    }
}

/// The list operation with its position brought near the model's length (some past it),
/// and what it returns on the model.
fn model_list(model: &mut Vec<String>, op: &Op) -> (Op, Outcome) {
    let len = model.len();
    let near = |i: u16| (i as usize % (len + 2)) as u16;
    match op.clone() {
        Op::Push(v) => {
            model.push(v.clone());
            (Op::Push(v), Outcome::Done)
        }
        Op::Pop => (Op::Pop, Outcome::Value(model.pop())),
        Op::Set(i, v) => {
            let i = near(i);
            let out = match model.get_mut(i as usize) {
                Some(slot) => Outcome::Value(Some(std::mem::replace(slot, v.clone()))),
                None => Outcome::OutOfBounds,
            };
            (Op::Set(i, v), out)
        }
        Op::At(i) => {
            let i = near(i);
            (Op::At(i), Outcome::Value(model.get(i as usize).cloned()))
        }
        Op::InsertAt(i, v) => {
            let i = near(i);
            let out = if i as usize <= len {
                model.insert(i as usize, v.clone());
                Outcome::Done
            } else {
                Outcome::OutOfBounds
            };
            (Op::InsertAt(i, v), out)
        }
        Op::RemoveAt(i) => {
            let i = near(i);
            let out = if (i as usize) < len {
                Outcome::Value(Some(model.remove(i as usize)))
            } else {
                Outcome::OutOfBounds
            };
            (Op::RemoveAt(i), out)
        }
        Op::Slice(s, l) => {
            let s = near(s);
            let items = model
                .iter()
                .skip(s as usize)
                .take(l as usize)
                .cloned()
                .collect();
            (Op::Slice(s, l), Outcome::Items(items))
        }
        Op::Len => (Op::Len, Outcome::Count(len as u64)),
        Op::IsEmpty => (Op::IsEmpty, Outcome::Flag(model.is_empty())),
        other => unreachable!("{other:?}"),
    }
}

fn model_queue(model: &mut VecDeque<String>, op: &Op) -> Outcome {
    match op {
        Op::Push(v) => {
            model.push_back(v.clone());
            Outcome::Done
        }
        Op::Pop => Outcome::Value(model.pop_front()),
        Op::Peek => Outcome::Value(model.front().cloned()),
        Op::Len => Outcome::Count(model.len() as u64),
        Op::IsEmpty => Outcome::Flag(model.is_empty()),
        Op::Slice(_, l) => Outcome::Items(model.iter().take(*l as usize).cloned().collect()),
        other => unreachable!("{other:?}"),
    }
}

/// Runs random operations against a collection and its model: a task per few operations,
/// then a query that checks the collection's invariants and reads it all, in pieces.
fn against_model<M: Default + std::fmt::Debug + PartialEq>(
    cases: u32,
    ops: impl Strategy<Value = Vec<Op>>,
    run: impl Fn(&Server, &str, Vec<(Op, Outcome)>) -> Result<(), TaskError>,
    model_step: impl Fn(&mut M, &Op) -> (Op, Outcome),
    read: impl Fn(&Server, &str) -> Result<(M, Shape), TaskError>,
) -> Vec<Shape> {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let mut runner = TestRunner::new(ProptestConfig {
        cases,
        failure_persistence: None,
        ..ProptestConfig::default()
    });
    // Every case (shrinking included) works on collections of its own.
    let case = std::cell::Cell::new(0);
    let shapes = std::cell::RefCell::new(Vec::new());
    runner
        .run(&ops, |ops| {
            case.set(case.get() + 1);
            let name = format!("case{}", case.get());
            create_all(&server, &name, SMALL);
            let mut model = M::default();
            // One to three operations per task, so that a task also reads its own writes.
            for chunk in ops.chunks(1 + ops.len() % 3) {
                let steps = chunk.iter().map(|op| model_step(&mut model, op)).collect();
                run(&server, &name, steps).map_err(|e| TestCaseError::fail(e.to_string()))?;
                let (stored, shape) =
                    read(&server, &name).map_err(|e| TestCaseError::fail(e.to_string()))?;
                prop_assert_eq!(&stored, &model);
                shapes.borrow_mut().push(shape);
            }
            Ok(())
        })
        .unwrap();
    server.shutdown().unwrap();
    shapes.into_inner()
}

#[test]
fn a_map_behaves_as_a_btreemap() {
    let shapes = against_model(
        24,
        proptest::collection::vec(map_op(), 1..160),
        |server, name, steps| {
            server
                .submit(MapSteps {
                    map: map_named(server, name),
                    steps,
                })
                .wait()
        },
        |model: &mut BTreeMap<u16, String>, op| (op.clone(), model_map(model, op)),
        |server, name| {
            let map = map_named(server, name);
            server.query(|ctx| {
                let shape = map.check(ctx)?;
                // In pieces of three, each going on from the last key of the one before.
                let mut all = BTreeMap::new();
                let mut after = None;
                loop {
                    let piece = map.range(ctx, after.as_ref(), 3)?;
                    after = piece.last().map(|(k, _)| *k);
                    let done = piece.len() < 3;
                    all.extend(piece);
                    if done {
                        break;
                    }
                }
                assert_eq!(shape.entries, all.len() as u64);
                Ok((all, shape))
            })
        },
    );
    assert!(
        shapes.iter().any(|s| s.height >= 3),
        "the maps never grew three levels"
    );
}

#[test]
fn a_list_behaves_as_a_vec() {
    let shapes = against_model(
        24,
        proptest::collection::vec(list_op(), 1..160),
        |server, name, steps| {
            let list = server
                .query(|ctx| ManagedList::lookup(ctx, &format!("{name}.list")))
                .unwrap();
            server.submit(ListSteps { list, steps }).wait()
        },
        model_list,
        |server, name| {
            let list: ManagedList<String> =
                server.query(|ctx| ManagedList::lookup(ctx, &format!("{name}.list")))?;
            server.query(|ctx| {
                let shape = list.check(ctx)?;
                let mut all = Vec::new();
                loop {
                    let piece = list.slice(ctx, all.len() as u64, 3)?;
                    let done = piece.len() < 3;
                    all.extend(piece);
                    if done {
                        break;
                    }
                }
                assert_eq!(list.len(ctx)?, all.len() as u64);
                Ok((all, shape))
            })
        },
    );
    assert!(
        shapes.iter().any(|s| s.height >= 3),
        "the lists never grew three levels"
    );
}

#[test]
fn a_queue_behaves_as_a_vecdeque() {
    let shapes = against_model(
        24,
        proptest::collection::vec(queue_op(), 1..160),
        |server, name, steps| {
            let queue = server
                .query(|ctx| ManagedQueue::lookup(ctx, &format!("{name}.queue")))
                .unwrap();
            server.submit(QueueSteps { queue, steps }).wait()
        },
        |model: &mut VecDeque<String>, op| (op.clone(), model_queue(model, op)),
        |server, name| {
            let queue: ManagedQueue<String> =
                server.query(|ctx| ManagedQueue::lookup(ctx, &format!("{name}.queue")))?;
            server.query(|ctx| {
                let shape = queue.check(ctx)?;
                let mut all = VecDeque::new();
                let mut cursor: Option<QueueCursor> = None;
                loop {
                    let (piece, next) = queue.iter(ctx, cursor, 3)?;
                    cursor = Some(next);
                    let done = piece.len() < 3;
                    all.extend(piece);
                    if done {
                        break;
                    }
                }
                assert_eq!(queue.len(ctx)?, all.len() as u64);
                Ok((all, shape))
            })
        },
    );
    assert!(
        shapes.iter().any(|s| s.nodes >= 4),
        "the queues never spanned four chunks"
    );
}

/// Every object id from 1 up to (not including) a fresh object's, that names an object.
fn live_objects(server: &Server) -> Vec<u64> {
    server.submit(MakeLanes {}).wait().unwrap();
    let end = server
        .query(|ctx| ctx.lookup::<Lane>("lane.0"))
        .unwrap()
        .id();
    server
        .query(|ctx| {
            let mut live = Vec::new();
            for id in 1..end {
                // A `Lane` or anything else (`WrongType`): there is an object.
                match ctx.try_get(Ref::<Lane>::from_id(id)) {
                    Ok(None) => {}
                    Ok(Some(_)) | Err(TaskError::WrongType { .. }) => live.push(id),
                    Err(e) => return Err(e),
                }
            }
            Ok(live)
        })
        .unwrap()
}

#[test]
fn trees_split_merge_and_leave_nothing_behind() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let before = live_objects(&server);
    create_all(&server, "t", SMALL);
    let map = numbers_named(&server, "t");
    let shape = |server: &Server| server.query(|ctx| map.check(ctx)).unwrap();

    // More than fanout^3 entries, in a scrambled order, a hundred per task.
    let keys: Vec<u64> = (0..400u64).map(|i| (i * 7919) % 400).collect();
    for chunk in keys.chunks(100) {
        server
            .submit(InsertNumbers {
                map,
                keys: chunk.to_vec(),
            })
            .wait()
            .unwrap();
    }
    let full = shape(&server);
    assert_eq!(full.entries, 400);
    assert!(full.height >= 5, "{full:?}");
    assert!(full.nodes >= 400 / 4, "{full:?}");

    // Removing most entries merges leaves and shortens the tree.
    let (gone, kept) = keys.split_at(390);
    for chunk in gone.chunks(100) {
        server
            .submit(RemoveNumbers {
                map,
                keys: chunk.to_vec(),
            })
            .wait()
            .unwrap();
    }
    let small = shape(&server);
    assert_eq!(small.entries, 10);
    assert!(small.height <= 3 && small.nodes <= 10, "{small:?}");
    server
        .submit(RemoveNumbers {
            map,
            keys: kept.to_vec(),
        })
        .wait()
        .unwrap();
    assert_eq!(
        shape(&server),
        Shape {
            height: 1,
            nodes: 1,
            leaves: 1,
            entries: 0
        }
    );

    // Filled again, then cleared a few nodes per task, and destroyed: not an object is
    // left of any collection.
    for chunk in keys.chunks(100) {
        server
            .submit(InsertNumbers {
                map,
                keys: chunk.to_vec(),
            })
            .wait()
            .unwrap();
    }
    let mut tasks = 0;
    while !server.query(|ctx| map.is_empty(ctx)).unwrap() {
        server
            .submit(ClearNumbers {
                map,
                max_leaves: 16,
            })
            .wait()
            .unwrap();
        // Each task empties 16 leaves of at least one entry.
        let now = shape(&server);
        assert!(
            now.entries + 16 * (tasks + 1) <= 400,
            "{now:?} after {tasks} tasks"
        );
        tasks += 1;
    }
    assert!(tasks > 2, "cleared in {tasks} tasks");
    assert_eq!(
        shape(&server),
        Shape {
            height: 1,
            nodes: 1,
            leaves: 1,
            entries: 0
        }
    );
    // The list and the queue of strings, likewise.
    let list = server
        .query(|ctx| ManagedList::<String>::lookup(ctx, "t.list"))
        .unwrap();
    let queue = server
        .query(|ctx| ManagedQueue::<String>::lookup(ctx, "t.queue"))
        .unwrap();
    let pushes: Vec<(Op, Outcome)> = (0..200)
        .map(|i| (Op::Push(format!("item {i}")), Outcome::Done))
        .collect();
    server
        .submit(ListSteps {
            list,
            steps: pushes.clone(),
        })
        .wait()
        .unwrap();
    server
        .submit(QueueSteps {
            queue,
            steps: pushes,
        })
        .wait()
        .unwrap();
    let grown = server
        .query(|ctx| Ok((list.check(ctx)?, queue.check(ctx)?)))
        .unwrap();
    assert!(grown.0.height >= 4 && grown.1.nodes >= 50, "{grown:?}");
    let mut tasks = 0;
    while !server
        .query(|ctx| Ok(list.is_empty(ctx)? && queue.is_empty(ctx)?))
        .unwrap()
    {
        server
            .submit(Clear {
                name: "t".to_owned(),
                max_leaves: 8,
            })
            .wait()
            .unwrap();
        server
            .query(|ctx| Ok((list.check(ctx)?, queue.check(ctx)?)))
            .unwrap();
        tasks += 1;
    }
    assert!(tasks > 2, "cleared in {tasks} tasks");
    let cleared = server
        .query(|ctx| Ok((list.check(ctx)?, queue.check(ctx)?)))
        .unwrap();
    assert_eq!(
        cleared.0,
        Shape {
            height: 1,
            nodes: 1,
            leaves: 1,
            entries: 0
        }
    );
    assert_eq!(
        cleared.1,
        Shape {
            height: 1,
            nodes: 1,
            leaves: 1,
            entries: 0
        }
    );
    server
        .submit(Destroy {
            name: "t".to_owned(),
        })
        .wait()
        .unwrap();
    let lanes = 2;
    let after = live_objects(&server);
    assert_eq!(
        after.len(),
        before.len() + lanes,
        "{before:?} then {after:?}"
    );
    server.shutdown().unwrap();
}

/// Clears up to `max_leaves` leaves of a map.
#[task(name = "test.clear_numbers")]
fn clear_numbers(ctx: &mut Context, map: ManagedMap<u64, u64>, max_leaves: u32) -> TaskResult {
    map.clear(ctx, max_leaves as usize)?;
    Ok(())
}

/// The two lanes, each placed on its own core; hot-object learning off, so they stay.
fn lanes(server: &Server) -> [Ref<Lane>; 2] {
    server.submit(MakeLanes {}).wait().unwrap();
    let placement = server.placement();
    placement.set_learning(false);
    let lanes = [0, 1].map(|core| {
        let lane = server
            .query(|ctx| ctx.lookup::<Lane>(&format!("lane.{core}")))
            .unwrap();
        placement.assign(placement.slot_of(lane.id()), core);
        lane
    });
    assert_ne!(
        placement.slot_of(lanes[0].id()),
        placement.slot_of(lanes[1].id())
    );
    lanes
}

/// Submits every task at once and waits for them all.
fn all_at_once<T: Task>(server: &Server, tasks: impl IntoIterator<Item = T>) {
    let (tx, rx) = mpsc::channel();
    let mut n = 0;
    for task in tasks {
        let tx = tx.clone();
        server.submit_with(task, move |r| tx.send(r).unwrap());
        n += 1;
    }
    for _ in 0..n {
        rx.recv().unwrap().unwrap();
    }
}

#[test]
fn inserts_into_different_leaves_from_both_cores_do_not_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let lanes = lanes(&server);
    create_all(&server, "c", Fanout::default());
    let map = numbers_named(&server, "c");
    // Ascending keys fill each leaf to seven-eighths (56 of 64 entries) before starting
    // the next: leaf j holds the keys 10 * (56 j .. 56 j + 56).
    let (leaves, per_leaf) = (200u64, 56);
    let keys: Vec<u64> = (0..leaves * per_leaf).map(|k| k * 10).collect();
    for chunk in keys.chunks(640) {
        server
            .submit(InsertNumbers {
                map,
                keys: chunk.to_vec(),
            })
            .wait()
            .unwrap();
    }
    let loaded = server.query(|ctx| map.check(ctx)).unwrap();
    // 200 leaves under two inner nodes under the root.
    assert_eq!(
        loaded,
        Shape {
            height: 3,
            nodes: 203,
            leaves: 200,
            entries: 11_200
        }
    );
    // Make room in each leaf: 16 of its keys go (leaving 40, well above underfull).
    let gone: Vec<u64> = (0..leaves)
        .flat_map(|j| (16..32).map(move |i| (j * per_leaf + i) * 10))
        .collect();
    for chunk in gone.chunks(640) {
        server
            .submit(RemoveNumbers {
                map,
                keys: chunk.to_vec(),
            })
            .wait()
            .unwrap();
    }
    assert_eq!(server.query(|ctx| map.check(ctx)).unwrap().nodes, 203);

    // One task per leaf, eight new keys each in the middle of the leaf, even leaves on one
    // core and odd ones on the other, all submitted at once.
    let before = server.stats();
    let new_keys = |j: u64| (40..48).map(move |i| (j * per_leaf + i) * 10 + 5).collect();
    all_at_once(
        &server,
        (0..leaves).map(|j| InsertOn {
            lane: lanes[(j % 2) as usize],
            map,
            keys: new_keys(j),
        }),
    );
    let after = server.stats();
    assert_eq!(after.committed - before.committed, leaves);
    assert_eq!(
        after.conflicts, before.conflicts,
        "disjoint leaves conflicted"
    );
    let shape = server.query(|ctx| map.check(ctx)).unwrap();
    assert_eq!(
        shape,
        Shape {
            height: 3,
            nodes: 203,
            leaves: 200,
            entries: 11_200 - 3200 + 1600
        }
    );
    let found = server
        .query(|ctx| {
            (0..leaves).flat_map(new_keys).try_fold(0, |n, k: u64| {
                Ok(n + usize::from(map.get(ctx, &k)? == Some(k)))
            })
        })
        .unwrap();
    assert_eq!(found, 1600);
    server.shutdown().unwrap();
}

#[test]
fn producers_and_consumers_on_different_cores_do_not_conflict() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    let lanes = lanes(&server);
    create_all(&server, "q", Fanout::default());
    let queue: ManagedQueue<u64> = server
        .query(|ctx| ManagedQueue::lookup(ctx, "q.jobs"))
        .unwrap();

    // Fifty chunks' worth queued first, so the consumers stay in sealed chunks.
    let first: Vec<u64> = (0..3200).collect();
    all_at_once(
        &server,
        first.chunks(320).map(|c| PushOn {
            lane: lanes[0],
            queue,
            items: c.to_vec(),
        }),
    );
    let before = server.stats();
    // Interleaved: producers on core 0, consumers on core 1, 800 items each way.
    let producers = (0..200u64).map(|i| PushOn {
        lane: lanes[0],
        queue,
        items: (0..4).map(|k| 10_000 + i * 4 + k).collect(),
    });
    let (tx, rx) = mpsc::channel();
    for push in producers {
        let (a, b) = (tx.clone(), tx.clone());
        server.submit_with(push, move |r| a.send(r).unwrap());
        server.submit_with(
            PopOn {
                lane: lanes[1],
                queue,
                count: 4,
            },
            move |r| b.send(r).unwrap(),
        );
    }
    drop(tx);
    assert!(rx.iter().all(|r| r.is_ok()));
    let after = server.stats();
    assert_eq!(after.committed - before.committed, 400);
    assert_eq!(
        after.conflicts, before.conflicts,
        "producers and consumers conflicted"
    );

    // First in, first out: what is left starts where the consumers stopped, then holds
    // every pushed item once (pushes ran in whatever order their core took them).
    let left = server
        .query(|ctx| {
            queue.check(ctx)?;
            let mut all = Vec::new();
            let mut cursor = None;
            loop {
                let (piece, next) = queue.iter(ctx, cursor, 500)?;
                cursor = Some(next);
                let done = piece.len() < 500;
                all.extend(piece);
                if done {
                    return Ok(all);
                }
            }
        })
        .unwrap();
    assert_eq!(left[..2400], first[800..]);
    let pushed: BTreeSet<u64> = left[2400..].iter().copied().collect();
    assert_eq!(pushed, (10_000..10_800).collect());
    assert_eq!(left.len(), 3200);
    server.shutdown().unwrap();
}

#[test]
fn handles_of_other_types_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    create_all(&server, "w", SMALL);
    let map = map_named(&server, "w");

    let err = server
        .query(|ctx| ManagedMap::<u32, String>::from_id(map.id()).get(ctx, &1))
        .unwrap_err();
    assert_eq!(
        err,
        TaskError::CollectionType {
            id: map.id(),
            stored: "ManagedMap<u16, alloc::string::String>".to_owned(),
            requested: "ManagedMap<u32, alloc::string::String>".to_owned(),
        }
    );
    assert_eq!(
        err.to_string(),
        format!(
            "collection {} is a ManagedMap<u16, alloc::string::String>, not a ManagedMap<u32, alloc::string::String>; use it through a handle of the types it was created with",
            map.id()
        )
    );
    // The value type counts as much as the key type, for lookups and in tasks.
    let err = server
        .query(|ctx| ManagedMap::<u16, u64>::lookup(ctx, "w.map"))
        .unwrap_err();
    assert!(matches!(err, TaskError::CollectionType { .. }), "{err}");
    let err = server
        .query(|ctx| ManagedQueue::<u16>::lookup(ctx, "w.queue"))
        .unwrap_err();
    assert!(
        err.to_string()
            .contains("is a ManagedQueue<alloc::string::String>, not a ManagedQueue<u16>"),
        "{err}"
    );
    // A handle of another kind of collection finds a header of another type.
    let err = server
        .query(|ctx| ManagedList::<String>::from_id(map.id()).len(ctx))
        .unwrap_err();
    assert!(
        matches!(
            err,
            TaskError::WrongType {
                expected: "darkstar.ListHeader",
                ..
            }
        ),
        "{err}"
    );
    // Nothing was changed by the refusals.
    server
        .submit(MapSteps {
            map,
            steps: vec![(Op::Insert(1, "one".into()), Outcome::Value(None))],
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();
}

#[test]
fn handles_are_fields_and_task_arguments() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    server.submit(MakeRegistry {}).wait().unwrap();
    let registry = server
        .query(|ctx| ctx.lookup::<Registry>("registry"))
        .unwrap();
    for (i, name) in ["cid", "ann", "bob"].into_iter().enumerate() {
        server
            .submit(Join {
                registry,
                name: name.to_owned(),
                id: i as u64,
            })
            .wait()
            .unwrap();
    }
    let (players, log, inbox) = server
        .query(|ctx| {
            let r = ctx.get(registry)?;
            let players = r.players.get().range(ctx, None, 10)?;
            let log = r.log.get().slice(ctx, 0, 10)?;
            let inbox = r.inbox.get().iter(ctx, None, 10)?.0;
            Ok((players, log, inbox))
        })
        .unwrap();
    let names: Vec<&str> = players.iter().map(|(n, _)| n.as_str()).collect();
    assert_eq!(names, ["ann", "bob", "cid"]);
    assert_eq!(log, ["cid joined", "ann joined", "bob joined"]);
    assert_eq!(inbox, [0, 1, 2]);
    // A `String` key is looked up by `&str` too.
    let ann = server
        .query(|ctx| ctx.get(registry)?.players.get().get(ctx, "ann"))
        .unwrap();
    assert_eq!(ann, Some(1));
    server.shutdown().unwrap();
}

/// A string of `n` copies of `c`.
fn long(c: char, n: usize) -> String {
    std::iter::repeat_n(c, n).collect()
}

#[test]
fn values_larger_than_a_node_and_larger_replacements_keep_nodes_within_budget() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    create_all(&server, "big", SMALL);
    let map = map_named(&server, "big");
    let list = server
        .query(|ctx| ManagedList::<String>::lookup(ctx, "big.list"))
        .unwrap();

    // Small entries first, then, among them: values larger than the 96-byte budget,
    // values replaced by larger ones (some larger than the budget, some that only make
    // their leaf overflow), and replaced back by small ones.
    let mut ops: Vec<Op> = (0..40u16)
        .map(|k| Op::Insert(k * 2, format!("v{k}")))
        .collect();
    ops.push(Op::Insert(21, long('a', 300)));
    ops.push(Op::Insert(20, long('b', 500)));
    ops.push(Op::Insert(22, long('c', 60)));
    ops.push(Op::Insert(24, long('d', 60)));
    ops.extend((0..40u16).map(|k| Op::Insert(k * 2, long('e', 50 + usize::from(k) * 3))));
    ops.extend(
        (0..40u16)
            .step_by(3)
            .map(|k| Op::Insert(k * 2, "s".to_owned())),
    );
    ops.push(Op::Insert(79, long('f', 200)));
    let mut model = BTreeMap::new();
    for chunk in ops.chunks(5) {
        let steps = chunk
            .iter()
            .map(|op| (op.clone(), model_map(&mut model, op)))
            .collect();
        server.submit(MapSteps { map, steps }).wait().unwrap();
        // `check` fails on any node of several entries over the byte budget.
        server.query(|ctx| map.check(ctx)).unwrap();
    }
    let (entries, shape) = server
        .query(|ctx| Ok((map.range(ctx, None, 1000)?, map.check(ctx)?)))
        .unwrap();
    let expected: Vec<(u16, String)> = model.into_iter().collect();
    assert_eq!(entries, expected);
    assert_eq!(shape.entries, expected.len() as u64);

    // The list likewise: `set` to larger items, and large items inserted among small.
    let mut ops: Vec<Op> = (0..40).map(|i| Op::Push(format!("i{i}"))).collect();
    ops.push(Op::Set(10, long('a', 300)));
    ops.push(Op::Set(11, long('b', 60)));
    ops.push(Op::Set(12, long('c', 60)));
    ops.push(Op::InsertAt(5, long('d', 500)));
    ops.extend((0..41u16).map(|i| Op::Set(i, long('e', 50 + usize::from(i) * 3))));
    ops.extend((0..41u16).step_by(3).map(|i| Op::Set(i, "s".to_owned())));
    ops.push(Op::RemoveAt(5));
    let mut model = Vec::new();
    for chunk in ops.chunks(5) {
        let steps = chunk.iter().map(|op| model_list(&mut model, op)).collect();
        server.submit(ListSteps { list, steps }).wait().unwrap();
        server.query(|ctx| list.check(ctx)).unwrap();
    }
    let (items, shape) = server
        .query(|ctx| Ok((list.slice(ctx, 0, 1000)?, list.check(ctx)?)))
        .unwrap();
    assert_eq!(items, model);
    assert_eq!(shape.entries, model.len() as u64);
    server.shutdown().unwrap();
}

/// Array keys are looked up by arrays (a slice does not compile: see `KeyRef`), byte
/// vector keys by slices, and both keep their order.
#[task(name = "test.array_keys")]
fn array_keys(ctx: &mut Context) -> TaskResult {
    let arrays = ManagedMap::<[u8; 4], u32>::create_with(ctx, SMALL)?;
    let vecs = ManagedMap::<Vec<u8>, u32>::create_with(ctx, SMALL)?;
    let keys: Vec<[u8; 4]> = (0..30u32).map(|i| (i * 7919 % 30).to_be_bytes()).collect();
    for (i, k) in keys.iter().enumerate() {
        arrays.insert(ctx, *k, i as u32)?;
        vecs.insert(ctx, k.to_vec(), i as u32)?;
    }
    for (i, k) in keys.iter().enumerate() {
        let want = Some(i as u32);
        let got = (
            arrays.get(ctx, k)?,
            arrays.contains_key(ctx, k)?,
            vecs.get(ctx, &k[..])?,
            vecs.contains_key(ctx, &k[..])?,
        );
        if got != (want, true, want, true) {
            return Err(TaskError::abort(format!("{k:?} gave {got:?}")));
        }
    }
    let mut sorted = keys.clone();
    sorted.sort();
    let in_order: Vec<[u8; 4]> = arrays
        .range(ctx, None, 100)?
        .into_iter()
        .map(|e| e.0)
        .collect();
    let vec_order: Vec<Vec<u8>> = vecs
        .range(ctx, None, 100)?
        .into_iter()
        .map(|e| e.0)
        .collect();
    if in_order != sorted || vec_order != sorted.iter().map(|k| k.to_vec()).collect::<Vec<_>>() {
        return Err(TaskError::abort(format!("out of order: {in_order:?}")));
    }
    let k = keys[3];
    if arrays.remove(ctx, &k)? != Some(3) || vecs.remove(ctx, &k[..])? != Some(3) {
        return Err(TaskError::abort("a removal missed"));
    }
    if arrays.get(ctx, &k)?.is_some() || vecs.get(ctx, &k[..])?.is_some() {
        return Err(TaskError::abort("a removed key is still there"));
    }
    arrays.check(ctx)?;
    vecs.check(ctx)?;
    Ok(())
}

#[test]
fn array_keys_are_found() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    server.submit(ArrayKeys {}).wait().unwrap();
    server.shutdown().unwrap();
}

#[test]
fn queue_cursors_go_on_across_pops_and_belong_to_their_queue() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    create_all(&server, "qa", SMALL);
    create_all(&server, "qb", SMALL);
    let [a, b] = ["qa", "qb"].map(|name| {
        server
            .query(|ctx| ManagedQueue::<String>::lookup(ctx, &format!("{name}.queue")))
            .unwrap()
    });
    let item = |i: usize| format!("item {i}");
    for queue in [a, b] {
        let steps = (0..20)
            .map(|i| (Op::Push(item(i)), Outcome::Done))
            .collect();
        server.submit(QueueSteps { queue, steps }).wait().unwrap();
    }
    let pop = |from: usize, n: usize| {
        let steps = (from..from + n)
            .map(|i| (Op::Pop, Outcome::Value(Some(item(i)))))
            .collect();
        server
            .submit(QueueSteps { queue: a, steps })
            .wait()
            .unwrap();
    };
    let walk = |cursor: Option<QueueCursor>| server.query(|ctx| a.iter(ctx, cursor, 5)).unwrap();
    let items = |r: std::ops::Range<usize>| r.map(item).collect::<Vec<_>>();

    // Chunks of four items: the cursor goes on inside a chunk, across pops that leave
    // its chunk in place, and from the head once its items have been popped.
    let (first, cursor) = walk(None);
    assert_eq!((first, cursor.position()), (items(0..5), 5));
    pop(0, 3);
    let (second, cursor) = walk(Some(cursor));
    assert_eq!((second, cursor.position()), (items(5..10), 10));
    pop(3, 6);
    let (third, cursor) = walk(Some(cursor));
    assert_eq!((third, cursor.position()), (items(10..15), 15));
    pop(9, 8);
    let (fourth, cursor) = walk(Some(cursor));
    assert_eq!((fourth, cursor.position()), (items(17..20), 20));
    let (rest, _) = walk(Some(cursor));
    assert!(rest.is_empty());

    // Another queue refuses the cursor rather than read the first one's items.
    let err = server
        .query(|ctx| b.iter(ctx, Some(cursor), 5))
        .unwrap_err();
    assert!(
        matches!(&err, TaskError::Aborted { reason } if reason.contains("cursor")),
        "{err}"
    );
    let (from_b, _) = server.query(|ctx| b.iter(ctx, None, 5)).unwrap();
    assert_eq!(from_b, items(0..5));
    server.shutdown().unwrap();
}

#[test]
fn clearing_nothing_writes_nothing() {
    let dir = tempfile::tempdir().unwrap();
    let server = server(dir.path());
    create_all(&server, "e", SMALL);
    let queue = server
        .query(|ctx| ManagedQueue::<String>::lookup(ctx, "e.queue"))
        .unwrap();
    // A query refuses writes: clearing an empty queue, or clearing no chunks, must not
    // open the head for writing.
    assert!(server.query(|ctx| queue.clear(ctx, 0)).unwrap());
    assert!(server.query(|ctx| queue.clear(ctx, 8)).unwrap());
    let steps = vec![(Op::Push("one".into()), Outcome::Done)];
    server.submit(QueueSteps { queue, steps }).wait().unwrap();
    assert!(!server.query(|ctx| queue.clear(ctx, 0)).unwrap());
    // Clearing what is there does write.
    let err = server.query(|ctx| queue.clear(ctx, 1)).unwrap_err();
    assert!(matches!(err, TaskError::Aborted { .. }), "{err}");
    server.shutdown().unwrap();
}
