use darkstar_sdk::prelude::*;

#[task]
pub fn move_to(ctx: &mut Context, (x, y): (i32, i32), _: u8) -> TaskResult {
    let _ = (ctx, x, y);
    Ok(())
}

fn main() {}
