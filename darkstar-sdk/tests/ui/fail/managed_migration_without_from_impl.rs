use darkstar_sdk::prelude::*;

#[managed(name = "quest.Player", version = 1)]
pub struct PlayerV1 {
    pub hp: u32,
}

// No `impl From<PlayerV1> for Player`.
#[managed(name = "quest.Player", version = 2, from = PlayerV1)]
pub struct Player {
    pub hp: u64,
}

fn main() {}
