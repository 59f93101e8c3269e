use darkstar_sdk::prelude::*;

#[managed(name = "quest.Player", version = 0)]
pub struct Player {
    pub hp: u32,
}

fn main() {}
