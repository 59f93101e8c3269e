use darkstar_sdk::prelude::*;

#[managed(name = "quest.Player", version = 3)]
pub struct PlayerV3 {
    pub hp: u32,
}

#[managed(name = "quest.Player", version = 2, from = PlayerV3)]
pub struct Player {
    pub hp: u64,
}

impl From<PlayerV3> for Player {
    fn from(old: PlayerV3) -> Player {
        Player { hp: old.hp.into() }
    }
}

fn main() {}
