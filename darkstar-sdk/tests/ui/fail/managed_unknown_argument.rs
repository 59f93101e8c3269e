use darkstar_sdk::prelude::*;

#[managed(retries = 2)]
pub struct Door {
    pub open: bool,
}

fn main() {}
