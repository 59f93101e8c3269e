use darkstar_sdk::prelude::*;

#[managed(version = 2)]
pub struct Door {
    pub open: bool,
}

fn main() {}
