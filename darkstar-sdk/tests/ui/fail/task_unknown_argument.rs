use darkstar_sdk::prelude::*;

#[task(retries = 3)]
pub fn tick(ctx: &mut Context) -> TaskResult {
    let _ = ctx;
    Ok(())
}

fn main() {}
