use darkstar_sdk::prelude::*;
use darkstar_sdk::rkyv;

#[managed]
#[derive(Debug, rkyv::Archive)]
#[rkyv(crate = rkyv)]
pub struct Lamp {
    pub lit: bool,
}

fn main() {}
