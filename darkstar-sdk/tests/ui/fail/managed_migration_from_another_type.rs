use darkstar_sdk::prelude::*;

#[managed(name = "quest.Pet", version = 1)]
pub struct Pet {
    pub hp: u32,
}

#[managed(name = "quest.Player", version = 2, from = Pet)]
pub struct Player {
    pub hp: u64,
}

impl From<Pet> for Player {
    fn from(old: Pet) -> Player {
        Player { hp: old.hp.into() }
    }
}

fn main() {}
