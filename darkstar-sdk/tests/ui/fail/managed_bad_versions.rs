use darkstar_sdk::prelude::*;

#[managed(name = "quest@Player")]
pub struct A {
    pub hp: u32,
}

#[managed(version = "2")]
pub struct B {
    pub hp: u32,
}

#[managed(version = 1, from = A)]
pub struct C {
    pub hp: u32,
}

#[managed(aliases = "quest.Old")]
pub struct D {
    pub hp: u32,
}

#[managed(aliases = ["quest.Old", 3], version = 2u8)]
pub struct E {
    pub hp: u32,
}

fn main() {}
