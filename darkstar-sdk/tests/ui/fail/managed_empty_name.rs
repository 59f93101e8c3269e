use darkstar_sdk::prelude::*;

#[managed(name = "")]
pub struct Door {
    pub open: bool,
}

fn main() {}
