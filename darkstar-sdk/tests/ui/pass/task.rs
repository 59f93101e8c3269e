//! What `#[task]` accepts, compiled with every warning denied.
#![deny(warnings)]

use darkstar_sdk::prelude::*;

/// An account.
#[managed]
pub struct Account {
    pub balance: u64,
}

/// The usual form.
#[task]
pub fn transfer(
    ctx: &mut Context,
    from: Ref<Account>,
    to: Ref<Account>,
    amount: u64,
) -> TaskResult {
    let _ = (ctx, from, to, amount);
    Ok(())
}

/// A shared context, a named lifetime, no result.
#[task]
fn look(ctx: &Context<'_>, at: Ref<Account>) {
    let _ = (ctx, at);
}

/// A full path to the context, a mutable argument, a raw identifier.
#[task(name = "bank.move", rename = MoveTask)]
pub(crate) fn r#move(
    _ctx: &mut darkstar_sdk::Context,
    mut steps: Vec<(i32, i32)>,
) -> darkstar_sdk::TaskResult {
    steps.clear();
    Ok(())
}

/// Only the context: a struct without fields.
#[task]
pub fn tick(_: &mut Context) -> Result<(), TaskError> {
    Ok(())
}

/// A `Duration`, which rkyv archives.
#[task]
pub fn wait(ctx: &mut Context, at: Ref<Account>, for_: std::time::Duration) -> TaskResult {
    let _ = (ctx, at, for_);
    Ok(())
}

/// Compiled out, and its generated items with it.
#[task]
#[cfg(any())]
pub fn gone(ctx: &mut Context) -> TaskResult {
    Ok(())
}

/// Names the generated code also uses: they must not shadow one another.
#[task]
fn ctx(context: &mut Context, result: u32, visit: Ref<Account>, ctx: u8) {
    let _ = (context, result, visit, ctx);
}

/// The same, the other way round.
#[task(rename = ResultTask)]
fn result(ctx: &mut Context, check: u32) -> TaskResult {
    let _ = (ctx, check);
    Ok(())
}

mod inner {
    use darkstar_sdk::prelude::*;

    /// A task in a module, public to the crate.
    #[task]
    pub(crate) fn snake_case_name(_ctx: &mut Context, value: Option<String>) {
        let _ = value;
    }
}

fn main() {
    let mut types = Types::new();
    types
        .object::<Account>()
        .task::<Transfer>()
        .task::<Look>()
        .task::<MoveTask>()
        .task::<Tick>()
        .task::<inner::SnakeCaseName>()
        .task::<Ctx>()
        .task::<ResultTask>()
        .task::<Wait>();
    assert_eq!(types.tasks().len(), 8);
    let _ = Tick {};
    let _ = inner::SnakeCaseName { value: None };
}
