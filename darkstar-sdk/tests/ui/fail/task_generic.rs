use darkstar_sdk::prelude::*;

#[task]
pub fn give<'a, T: Default>(ctx: &mut Context<'a>, amount: u64) -> TaskResult {
    let _ = (ctx, amount, T::default());
    Ok(())
}

fn main() {}
