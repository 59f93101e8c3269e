use darkstar_sdk::prelude::*;

#[task(rename = "TickTask")]
pub fn tick(ctx: &mut Context) -> TaskResult {
    let _ = ctx;
    Ok(())
}

#[task(rename = tasks::Tock)]
pub fn tock(ctx: &mut Context) -> TaskResult {
    let _ = ctx;
    Ok(())
}

#[task(rename = Tack, rename = TackTask, name = "")]
pub fn tack(ctx: &mut Context) -> TaskResult {
    let _ = ctx;
    Ok(())
}

fn main() {}
