use darkstar_sdk::prelude::*;

#[managed]
pub struct Account {
    pub balance: u64,
}

#[task]
pub fn deposit(account: Ref<Account>, amount: u64) -> TaskResult {
    let _ = (account, amount);
    Ok(())
}

#[task]
pub fn ping() -> TaskResult {
    Ok(())
}

fn main() {}
