use darkstar_sdk::prelude::*;

#[task]
pub struct Transfer {
    pub amount: u64,
}

fn main() {}
