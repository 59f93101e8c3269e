use darkstar_sdk::prelude::*;

#[managed]
pub enum Mood {
    Calm,
    Angry,
}

fn main() {}
