use darkstar_sdk::prelude::*;

#[task]
pub fn count(ctx: &mut Context) -> u32 {
    let _ = ctx;
    7
}

fn main() {}
