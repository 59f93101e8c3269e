use darkstar_sdk::prelude::*;

#[task]
pub fn announce(
    ctx: &mut Context,
    message: impl ToString,
    callback: Box<dyn Fn(u32)>,
    handler: fn(u32),
) -> TaskResult {
    let _ = (ctx, message.to_string(), callback, handler);
    Ok(())
}

fn main() {}
