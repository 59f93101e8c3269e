use darkstar_sdk::prelude::*;

#[managed]
pub struct Account {
    pub balance: u64,
}

#[task]
pub fn deposit(account: &Account, ctx: &mut Context) -> TaskResult {
    let _ = (account, ctx);
    Ok(())
}

#[task]
pub fn withdraw(ctx: Context, amount: u64) -> TaskResult {
    let _ = (ctx, amount);
    Ok(())
}

fn main() {}
