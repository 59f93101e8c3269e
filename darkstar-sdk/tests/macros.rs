//! The code `#[managed]` and `#[task]` generate, at run time: stored type names, getters on
//! the archived form, the task structs, the references they visit, their affinity, and
//! running them through a context.

use std::cell::RefCell;

use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv::rancor;
use darkstar_sdk::rkyv::util::AlignedVec;
use darkstar_sdk::{decode, encode, rkyv, RawObject, Schedule, Transaction};

#[managed]
#[derive(Debug, Clone, PartialEq)]
pub struct Account {
    pub owner: String,
    pub balance: u64,
    pub friend: Ref<Account>,
    pub items: Vec<u32>,
    pub level: u8,
    pub offset: i8,
    pub active: bool,
    pub delta: i64,
    pub ratio: f64,
    pub initial: char,
    pub best: Ref<Self>,
}

#[managed(name = "game.Door")]
pub struct Door {
    pub open: bool,
}

#[managed]
pub struct Score(pub u32);

mod bank {
    use darkstar_sdk::prelude::*;

    #[managed]
    pub struct Vault {
        pub gold: u64,
    }

    #[task]
    pub fn audit(_ctx: &Context, vault: Ref<Vault>) {
        let _ = vault;
    }
}

fn account() -> Account {
    Account {
        owner: "ann".to_owned(),
        balance: 1_000_000_000_007,
        friend: Ref::from_id(7),
        items: vec![3, 1, 4],
        level: 200,
        offset: -5,
        active: true,
        delta: -42,
        ratio: 0.25,
        initial: 'å',
        best: Ref::from_id(9),
    }
}

#[test]
fn managed_type_names_default_to_module_path_and_struct_name() {
    assert_eq!(Account::TYPE_NAME, "macros::Account");
    assert_eq!(Score::TYPE_NAME, "macros::Score");
    assert_eq!(bank::Vault::TYPE_NAME, "macros::bank::Vault");
}

#[test]
fn managed_type_name_can_be_given() {
    assert_eq!(Door::TYPE_NAME, "game.Door");
}

#[test]
fn getters_read_native_values_from_the_archive() {
    let bytes = rkyv::to_bytes::<rancor::Error>(&account()).unwrap();
    let archived = rkyv::access::<ArchivedAccount, rancor::Error>(&bytes).unwrap();
    assert_eq!(archived.owner(), "ann");
    assert_eq!(archived.balance(), 1_000_000_000_007);
    assert_eq!(archived.friend(), Ref::<Account>::from_id(7));
    assert_eq!(archived.level(), 200);
    assert_eq!(archived.offset(), -5);
    assert!(archived.active());
    assert_eq!(archived.delta(), -42);
    assert_eq!(archived.ratio(), 0.25);
    assert_eq!(archived.initial(), 'å');
    assert_eq!(archived.best(), Ref::<Account>::from_id(9));
    // A field without a getter is read through the archived field itself.
    let items: Vec<u32> = archived.items.iter().map(|item| item.to_native()).collect();
    assert_eq!(items, [3, 1, 4]);
}

#[test]
fn managed_objects_round_trip_through_the_sdk() {
    let bytes = encode(&account(), Account::TYPE_NAME).unwrap();
    assert_eq!(decode::<Account>(&bytes, 1).unwrap(), account());
    let bytes = encode(&Score(12), Score::TYPE_NAME).unwrap();
    assert_eq!(decode::<Score>(&bytes, 2).unwrap().0, 12);
}

// Tasks.

#[task]
pub fn transfer(
    ctx: &mut Context,
    from: Ref<Account>,
    to: Ref<Account>,
    amount: u64,
) -> TaskResult {
    ctx.bind(&format!("transfer {amount} from"), from)?;
    ctx.bind(&format!("transfer {amount} to"), to)?;
    Ok(())
}

#[task]
fn note(ctx: &Context<'_>, label: String, count: u32, target: Ref<Door>) {
    ctx.bind(&format!("{label} x{count}"), target).unwrap();
}

#[task(name = "bank.payday", rename = PaydayTask)]
fn payday(_ctx: &mut Context, amounts: Vec<u64>) -> TaskResult {
    if amounts.is_empty() {
        Err(TaskError::abort("nobody to pay"))
    } else {
        Ok(())
    }
}

#[task]
pub fn tick(ctx: &mut Context) -> TaskResult {
    ctx.bind("ticked", Ref::<Door>::from_id(0))
}

#[test]
fn task_type_names_default_to_module_path_and_function_name() {
    assert_eq!(Transfer::TYPE_NAME, "macros::transfer");
    assert_eq!(Note::TYPE_NAME, "macros::note");
    assert_eq!(Tick::TYPE_NAME, "macros::tick");
    assert_eq!(bank::Audit::TYPE_NAME, "macros::bank::audit");
}

#[test]
fn task_type_name_and_struct_name_can_be_given() {
    assert_eq!(PaydayTask::TYPE_NAME, "bank.payday");
    let task = PaydayTask {
        amounts: vec![5, 6],
    };
    assert_eq!(task.amounts, [5, 6]);
}

#[test]
fn refs_visits_reference_arguments_in_order() {
    let task = Transfer {
        from: Ref::from_id(11),
        to: Ref::from_id(22),
        amount: 5,
    };
    let mut seen = Vec::new();
    task.refs(&mut |id| seen.push(id));
    assert_eq!(seen, [11, 22]);

    let task = Note {
        label: "door".to_owned(),
        count: 2,
        target: Ref::from_id(33),
    };
    let mut seen = Vec::new();
    task.refs(&mut |id| seen.push(id));
    assert_eq!(seen, [33]);
}

#[test]
fn affinity_is_the_first_reference_argument() {
    let task = Transfer {
        from: Ref::from_id(11),
        to: Ref::from_id(22),
        amount: 5,
    };
    assert_eq!(task.affinity(), Some(11));
    assert_eq!(PaydayTask { amounts: vec![] }.affinity(), None);
    assert_eq!(Tick {}.affinity(), None);
}

#[test]
fn task_arguments_round_trip_through_an_archive() {
    let task = Transfer {
        from: Ref::from_id(1),
        to: Ref::from_id(2),
        amount: 300,
    };
    let bytes = rkyv::to_bytes::<rancor::Error>(&task).unwrap();
    let archived = rkyv::access::<ArchivedTransfer, rancor::Error>(&bytes).unwrap();
    assert_eq!(archived.from.get(), Ref::from_id(1));
    assert_eq!(archived.amount.to_native(), 300);
    let back: Transfer = rkyv::deserialize::<_, rancor::Error>(archived).unwrap();
    assert_eq!((back.from.id(), back.to.id(), back.amount), (1, 2, 300));

    let bytes = encode(&Tick {}, Tick::TYPE_NAME).unwrap();
    let Tick {} = decode::<Tick>(&bytes, 3).unwrap();
}

#[test]
fn tasks_register_by_type() {
    let mut types = Types::new();
    types
        .object::<Account>()
        .task::<Transfer>()
        .task::<Note>()
        .task::<PaydayTask>()
        .task::<Tick>()
        .task::<bank::Audit>();
    let names: Vec<&str> = types.tasks().iter().map(|task| task.name).collect();
    assert_eq!(
        names,
        [
            "macros::transfer",
            "macros::note",
            "bank.payday",
            "macros::tick",
            "macros::bank::audit"
        ]
    );
}

#[test]
fn run_calls_the_function_with_the_stored_arguments() {
    let tx = Bindings::default();
    let mut ctx = Context::new(&tx);
    let task = Transfer {
        from: Ref::from_id(1),
        to: Ref::from_id(2),
        amount: 300,
    };
    task.run(&mut ctx).unwrap();
    Note {
        label: "door".to_owned(),
        count: 2,
        target: Ref::from_id(3),
    }
    .run(&mut ctx)
    .unwrap();
    Tick {}.run(&mut ctx).unwrap();
    assert_eq!(
        tx.bound.into_inner(),
        [
            ("transfer 300 from".to_owned(), 1),
            ("transfer 300 to".to_owned(), 2),
            ("door x2".to_owned(), 3),
            ("ticked".to_owned(), 0),
        ]
    );
}

#[test]
fn run_passes_on_the_function_result() {
    let tx = Bindings::default();
    let mut ctx = Context::new(&tx);
    assert_eq!(
        PaydayTask { amounts: vec![] }.run(&mut ctx),
        Err(TaskError::abort("nobody to pay"))
    );
    assert_eq!(PaydayTask { amounts: vec![1] }.run(&mut ctx), Ok(()));
}

/// A transaction that only records name bindings: enough to see what a task did.
#[derive(Default)]
struct Bindings {
    bound: RefCell<Vec<(String, u64)>>,
}

fn unsupported<T>() -> Result<T, TaskError> {
    Err(TaskError::Unavailable {
        reason: "this test transaction only binds names".to_owned(),
    })
}

impl Transaction for Bindings {
    fn check(&self) -> Result<(), TaskError> {
        Ok(())
    }
    fn read_object(&self, _id: u64) -> Result<Option<RawObject<'_>>, TaskError> {
        unsupported()
    }
    fn new_object_id(&self) -> Result<u64, TaskError> {
        Ok(0)
    }
    fn write_object(
        &self,
        _id: u64,
        _type_name: &'static str,
        _bytes: AlignedVec,
    ) -> Result<(), TaskError> {
        unsupported()
    }
    fn begin_write(&self, _id: u64) -> Result<(), TaskError> {
        unsupported()
    }
    fn end_write(&self, _id: u64, _type_name: &'static str, _bytes: Result<AlignedVec, TaskError>) {
    }
    fn remove_object(&self, _id: u64) -> Result<(), TaskError> {
        unsupported()
    }
    fn lookup(&self, _name: &str) -> Result<Option<u64>, TaskError> {
        unsupported()
    }
    fn bind(&self, name: &str, id: u64) -> Result<(), TaskError> {
        self.bound.borrow_mut().push((name.to_owned(), id));
        Ok(())
    }
    fn unbind(&self, _name: &str) -> Result<bool, TaskError> {
        unsupported()
    }
    fn next_name(&self, _after: Option<&str>) -> Result<Option<String>, TaskError> {
        unsupported()
    }
    fn schedule(&self, _task: Schedule) -> Result<u64, TaskError> {
        unsupported()
    }
    fn cancel(&self, _id: u64) -> Result<bool, TaskError> {
        unsupported()
    }
    fn current_task(&self) -> Option<u64> {
        None
    }
    fn deliver(&self, _delivery: darkstar_sdk::Delivery) -> Result<(), TaskError> {
        unsupported()
    }
    fn is_connected(&self, _session: u64) -> bool {
        false
    }
    fn lookup_channel(&self, _name: &str) -> Result<Option<u64>, TaskError> {
        unsupported()
    }
    fn bind_channel(&self, _name: &str, _id: u64) -> Result<(), TaskError> {
        unsupported()
    }
}
