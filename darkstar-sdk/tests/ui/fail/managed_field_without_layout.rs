use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv;

// rkyv's derives but no layout fingerprint.
#[derive(rkyv::Archive, rkyv::Serialize, rkyv::Deserialize)]
#[rkyv(crate = rkyv)]
pub struct Position {
    pub x: i32,
    pub y: i32,
}

#[managed]
pub struct Ship {
    pub position: Position,
}

fn main() {}
