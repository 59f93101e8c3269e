use darkstar_sdk::prelude::*;

#[task]
pub fn result(ctx: &mut Context, value: u32) -> TaskResult {
    let _ = (ctx, value);
    Ok(())
}

#[task]
pub fn context(ctx: &mut Context) -> TaskResult {
    let _ = ctx;
    Ok(())
}

fn main() {}
