use darkstar_sdk::prelude::*;

#[managed(name = "quest.Player", version = 1)]
pub struct PlayerV1 {
    pub hp: u32,
}

// Version 2 was never declared: 3 cannot come from 1.
#[managed(name = "quest.Player", version = 3, from = PlayerV1)]
pub struct Player {
    pub hp: u64,
}

impl From<PlayerV1> for Player {
    fn from(old: PlayerV1) -> Player {
        Player { hp: old.hp.into() }
    }
}

fn main() {}
