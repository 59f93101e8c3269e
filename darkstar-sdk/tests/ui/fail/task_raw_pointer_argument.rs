use darkstar_sdk::prelude::*;

#[task]
pub fn poke(ctx: &mut Context, target: *mut u64) -> TaskResult {
    let _ = (ctx, target);
    Ok(())
}

fn main() {}
