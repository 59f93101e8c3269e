use darkstar_sdk::prelude::*;

pub struct Position {
    pub x: f32,
    pub y: f32,
}

#[managed]
pub struct Ship {
    pub speed: u32,
    pub position: Position,
}

fn main() {}
