//! Managed objects and names through the task context.

mod common;

use common::*;
use darkstar_runtime::{CatalogError, ProblemKind, Server, StartError};
use darkstar_sdk::prelude::*;

#[task(name = "test.objects.lifecycle")]
fn lifecycle(ctx: &mut Context) -> TaskResult {
    let c = ctx.create(Counter { value: 1 })?;
    let before = ctx.get(c)?;
    {
        let mut w = ctx.get_mut(c)?;
        w.value = 2;
        // A second guard on the same object would silently overwrite this one.
        assert_eq!(
            ctx.get_mut(c).err(),
            Some(TaskError::AlreadyWriting { id: c.id() })
        );
    }
    assert_eq!(before.value(), 1, "a view shows the object as of `get`");
    assert_eq!(ctx.get(c)?.value(), 2, "reads see the task's own writes");
    ctx.set(c, Counter { value: 3 })?;
    assert_eq!(ctx.get(c)?.value(), 3);
    let wrong: Ref<Label> = Ref::from_id(c.id());
    assert!(matches!(ctx.get(wrong), Err(TaskError::WrongType { .. })));
    ctx.bind("kept", c)?;
    let gone = ctx.create(Counter { value: 9 })?;
    ctx.remove(gone)?;
    assert!(ctx.try_get(gone)?.is_none());
    assert!(matches!(ctx.get(gone), Err(TaskError::NotFound { .. })));
    Ok(())
}

#[task(name = "test.objects.names")]
fn names(ctx: &mut Context) -> TaskResult {
    let c = ctx.create(Counter { value: 0 })?;
    for n in ["b", "d", "a", "c"] {
        ctx.bind(n, c)?;
    }
    ctx.unbind("c")?;
    assert_eq!(
        ctx.unbind("c").err(),
        Some(TaskError::NameNotBound { name: "c".into() })
    );
    assert!(matches!(
        ctx.bind("", c),
        Err(TaskError::InvalidName { .. })
    ));
    Ok(())
}

#[task(name = "test.objects.walk")]
fn walk(ctx: &mut Context, expect: Vec<String>) -> TaskResult {
    // Bind one more inside this task: the walk merges it with the stored names.
    let c: Ref<Counter> = ctx.lookup("a")?;
    ctx.bind("bb", c)?;
    ctx.unbind("d")?;
    let mut seen = Vec::new();
    let mut after: Option<String> = None;
    while let Some(n) = ctx.next_name(after.as_deref())? {
        seen.push(n.clone());
        after = Some(n);
    }
    if seen != expect {
        return Err(TaskError::abort(format!("walk saw {seen:?}")));
    }
    Err(TaskError::abort("rolled back on purpose"))
}

#[task(name = "test.objects.leak")]
fn leak(ctx: &mut Context, counter: Ref<Counter>) -> TaskResult {
    let mut w = ctx.get_mut(counter)?;
    w.value += 100;
    std::mem::forget(w);
    Ok(())
}

#[task(name = "test.objects.six")]
fn six(ctx: &mut Context) -> TaskResult {
    for value in 0..6 {
        let c = ctx.create(Counter { value })?;
        ctx.bind(&format!("c{value}"), c)?;
    }
    Ok(())
}

/// Reads stored objects again and again, between its own writes: every read must show the
/// task's latest change, however the runtime remembers what it already read.
#[task(name = "test.objects.reread")]
fn reread(ctx: &mut Context, counters: Vec<Ref<Counter>>) -> TaskResult {
    let check = |ctx: &Context, i: usize, want: u64| -> TaskResult {
        let got = ctx.get(counters[i])?.value();
        if got != want {
            return Err(TaskError::abort(format!(
                "counter {i} read {got}, want {want}"
            )));
        }
        Ok(())
    };
    for (i, _) in counters.iter().enumerate() {
        check(ctx, i, i as u64)?;
    }
    check(ctx, 0, 0)?;
    ctx.get_mut(counters[1])?.value += 10;
    check(ctx, 1, 11)?;
    check(ctx, 2, 2)?;
    ctx.set(counters[2], Counter { value: 20 })?;
    check(ctx, 2, 20)?;
    check(ctx, 3, 3)?;
    ctx.remove(counters[3])?;
    if ctx.try_get(counters[3])?.is_some() {
        return Err(TaskError::abort("a removed counter was still read"));
    }
    for (i, want) in [(0, 0), (1, 11), (2, 20), (4, 4), (5, 5), (1, 11)] {
        check(ctx, i, want)?;
    }
    Ok(())
}

#[managed(name = "test.Unregistered")]
struct Unregistered {
    x: u32,
}

#[task(name = "test.objects.unregistered")]
fn store_unregistered(ctx: &mut Context) -> TaskResult {
    ctx.create(Unregistered { x: 1 })?;
    Ok(())
}

struct ObjectsGame;

impl App for ObjectsGame {
    fn register(&self, types: &mut Types) {
        TestGame.register(types);
        types
            .task::<Lifecycle>()
            .task::<Names>()
            .task::<Walk>()
            .task::<Leak>()
            .task::<Six>()
            .task::<Reread>()
            .task::<StoreUnregistered>();
    }
}

#[test]
fn objects_are_created_read_written_and_removed() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ObjectsGame, dir.path());
    server.submit(Lifecycle {}).wait().unwrap();
    let kept = server
        .query(|ctx| Ok(ctx.get(ctx.lookup::<Counter>("kept")?)?.value()))
        .unwrap();
    assert_eq!(kept, 3);
    server.shutdown().unwrap();
}

#[test]
fn stored_objects_read_again_show_the_tasks_own_changes() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ObjectsGame, dir.path());
    server.submit(Six {}).wait().unwrap();
    let counters: Vec<Ref<Counter>> = server
        .query(|ctx| (0..6).map(|i| ctx.lookup(&format!("c{i}"))).collect())
        .unwrap();
    server
        .submit(Reread {
            counters: counters.clone(),
        })
        .wait()
        .unwrap();
    let stored = server
        .query(move |ctx| {
            counters
                .iter()
                .map(|&c| Ok(ctx.try_get(c)?.map(|c| c.value())))
                .collect::<Result<Vec<_>, TaskError>>()
        })
        .unwrap();
    assert_eq!(
        stored,
        [Some(0), Some(11), Some(20), None, Some(4), Some(5)]
    );
    server.shutdown().unwrap();
}

#[test]
fn names_walk_in_order_and_see_the_tasks_own_bindings() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ObjectsGame, dir.path());
    server.submit(Names {}).wait().unwrap();
    let expect: Vec<String> = ["a", "b", "bb"].iter().map(|s| s.to_string()).collect();
    let e = server.submit(Walk { expect }).wait().unwrap_err();
    assert_eq!(e, TaskError::abort("rolled back on purpose"), "{e}");
    // The walk's own changes were rolled back.
    let stored = server
        .query(|ctx| {
            let mut names = Vec::new();
            let mut after = None;
            while let Some(n) = ctx.next_name(after.as_deref())? {
                after = Some(n.clone());
                names.push(n);
            }
            Ok(names)
        })
        .unwrap();
    assert_eq!(stored, ["a", "b", "d"]);
    server.shutdown().unwrap();
}

#[test]
fn a_leaked_write_guard_aborts_instead_of_losing_the_change() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ObjectsGame, dir.path());
    server
        .submit(Bump {
            name: "c".into(),
            by: 1,
        })
        .wait()
        .unwrap();
    let c = server.query(|ctx| ctx.lookup::<Counter>("c")).unwrap();
    let e = server.submit(Leak { counter: c }).wait().unwrap_err();
    assert_eq!(e, TaskError::LeakedWrite { id: c.id() });
    assert_eq!(counter(&server, "c"), Some(1));
    server.shutdown().unwrap();
}

#[test]
fn unregistered_types_are_refused_when_written() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(ObjectsGame, dir.path());
    let e = server.submit(StoreUnregistered {}).wait().unwrap_err();
    assert_eq!(
        e,
        TaskError::Unregistered {
            type_name: "test.Unregistered"
        }
    );
    let e = server
        .query(|ctx| ctx.create(Counter { value: 1 }))
        .unwrap_err();
    assert_eq!(e, TaskError::abort("a query cannot write"));
    server.shutdown().unwrap();
}

/// Knows tasks but not `Label`.
struct ForgetsLabel;

impl App for ForgetsLabel {
    fn register(&self, types: &mut Types) {
        types.object::<Counter>().task::<Bump>();
    }
}

#[task(name = "test.objects.label")]
fn make_label(ctx: &mut Context) -> TaskResult {
    ctx.create(Label { text: "hi".into() })?;
    Ok(())
}

struct WithLabel;

impl App for WithLabel {
    fn register(&self, types: &mut Types) {
        types
            .object::<Counter>()
            .object::<Label>()
            .task::<Bump>()
            .task::<MakeLabel>();
    }
}

#[test]
fn a_stored_type_the_binary_does_not_know_is_a_startup_error() {
    let dir = tempfile::tempdir().unwrap();
    let server = start(WithLabel, dir.path());
    server.submit(MakeLabel {}).wait().unwrap();
    server.shutdown().unwrap();
    let e = Server::builder(ForgetsLabel)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    let StartError::Catalog(CatalogError::Mismatch(problems)) = &e else {
        panic!("expected a catalog mismatch, got {e}");
    };
    assert_eq!(problems.len(), 1, "{e}");
    assert_eq!(problems[0].name, "test.Label");
    assert_eq!(problems[0].what, ProblemKind::Removed);
    assert_eq!(problems[0].count, 1);
    assert!(e.to_string().contains("register it"), "{e}");
    assert!(
        e.to_string().contains("types.removed(\"test.Label\")"),
        "{e}"
    );
}

/// Counts its own initializations in the store.
struct CountsInits;

impl App for CountsInits {
    fn register(&self, types: &mut Types) {
        TestGame.register(types);
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        bump(ctx, "inits".into(), 1)
    }
}

#[test]
fn initialize_runs_once_per_store_not_per_start() {
    let dir = tempfile::tempdir().unwrap();
    for _ in 0..3 {
        let server = start(CountsInits, dir.path());
        assert_eq!(counter(&server, "inits"), Some(1));
        server.shutdown().unwrap();
    }
}

struct FailsInit;

impl App for FailsInit {
    fn register(&self, types: &mut Types) {
        TestGame.register(types);
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        bump(ctx, "inits".into(), 1)?;
        Err(TaskError::abort("world generation failed"))
    }
}

#[test]
fn a_failed_initialize_stores_nothing_and_runs_again() {
    let dir = tempfile::tempdir().unwrap();
    let e = Server::builder(FailsInit)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    assert!(e.to_string().contains("world generation failed"), "{e}");
    let server = start(CountsInits, dir.path());
    assert_eq!(
        counter(&server, "inits"),
        Some(1),
        "the failed run left nothing"
    );
    server.shutdown().unwrap();
}

/// A store written before the catalog recorded layouts lists each managed type as a name
/// bound to nothing, and its stored tasks not at all: its first start with this build
/// reads it as version 1 and records the layouts, which later starts check.
#[test]
fn a_store_from_before_layouts_were_recorded_is_adopted_at_version_1() {
    use darkstar_storage::{Batch, Options, Store};

    let dir = tempfile::tempdir().unwrap();
    {
        let store = Store::open(dir.path(), Options::default()).unwrap();
        let id = store.allocate_id();
        let bytes = darkstar_sdk::encode(&Counter { value: 41 }, "test.Counter").unwrap();
        let mut batch = Batch::new();
        batch.put_object(id, "test.Counter", &bytes);
        batch.bind("u/old", id);
        batch.bind("s/type/test.Counter", 0);
        batch.bind("s/initialized", 0);
        let seq = store.commit(&batch).unwrap();
        store.wait_durable(seq).unwrap();
        store.close().unwrap();
    }
    let server = start(CountsOnly, dir.path());
    assert_eq!(counter(&server, "old"), Some(41));
    server
        .submit(Bump {
            name: "old".into(),
            by: 1,
        })
        .wait()
        .unwrap();
    server.shutdown().unwrap();

    // The layout is recorded now: a build whose counter changed without a version is
    // refused.
    let e = Server::builder(ChangedCounter)
        .config(config(dir.path()))
        .start()
        .unwrap_err();
    assert!(
        e.to_string().contains("field `value` retyped: u64 → i32"),
        "{e}"
    );
    let server = start(CountsOnly, dir.path());
    assert_eq!(counter(&server, "old"), Some(42));
    server.shutdown().unwrap();
}

/// Registers the counter and the task that bumps it.
struct CountsOnly;

impl App for CountsOnly {
    fn register(&self, types: &mut Types) {
        types.object::<Counter>().task::<Bump>();
    }
}

/// `test.Counter` with its field retyped, and no new version.
mod changed {
    use darkstar_sdk::prelude::*;

    #[managed(name = "test.Counter")]
    pub struct Counter {
        pub value: i32,
    }
}

struct ChangedCounter;

impl App for ChangedCounter {
    fn register(&self, types: &mut Types) {
        types.object::<changed::Counter>();
    }
}
