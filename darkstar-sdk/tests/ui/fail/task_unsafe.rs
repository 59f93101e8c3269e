use darkstar_sdk::prelude::*;

#[task]
pub unsafe fn poke(ctx: &mut Context, address: u64) -> TaskResult {
    let _ = (ctx, address);
    Ok(())
}

fn main() {}
