use darkstar_sdk::prelude::*;

#[managed]
pub struct Player {
    pub name: &'static str,
    pub scores: Vec<&'static [u32]>,
}

fn main() {}
