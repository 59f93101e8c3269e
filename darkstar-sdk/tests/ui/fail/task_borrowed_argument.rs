use darkstar_sdk::prelude::*;

#[task]
pub fn greet(ctx: &mut Context, name: &str, scores: &mut Vec<u32>) -> TaskResult {
    let _ = (ctx, name, scores);
    Ok(())
}

fn main() {}
