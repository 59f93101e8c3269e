use darkstar_sdk::prelude::*;

#[managed(name = "quest.Player", version = 1)]
pub struct PlayerV1 {
    pub hp: u32,
}

#[managed(name = "quest.Player", version = 2, from = PlayerV1)]
pub struct Player {
    pub hp: u64,
}

#[managed(name = "quest.Player", version = 2, from = PlayerV1)]
pub struct OtherPlayer {
    pub hp: i64,
}

impl From<PlayerV1> for Player {
    fn from(old: PlayerV1) -> Player {
        Player { hp: old.hp.into() }
    }
}

impl From<PlayerV1> for OtherPlayer {
    fn from(old: PlayerV1) -> OtherPlayer {
        OtherPlayer { hp: old.hp.into() }
    }
}

// Two `from`s in one attribute.
#[managed(name = "quest.Pet", version = 3, from = PlayerV1, from = Player)]
pub struct Pet {
    pub hp: u64,
}

fn main() {}
