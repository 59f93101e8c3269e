use darkstar_sdk::prelude::*;

#[task]
pub async fn tick(ctx: &mut Context) -> TaskResult {
    let _ = ctx;
    Ok(())
}

fn main() {}
