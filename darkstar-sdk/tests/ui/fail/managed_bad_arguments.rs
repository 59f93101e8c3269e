use darkstar_sdk::prelude::*;

#[managed(name = "game.Door", name = "game.Gate")]
pub struct Door {
    pub open: bool,
}

#[managed(name = game_window)]
pub struct Window {
    pub open: bool,
}

#[managed(name)]
pub struct Wall {
    pub height: u32,
}

#[managed(name = " game.Roof ")]
pub struct Roof {
    pub tiles: u32,
}

fn main() {}
