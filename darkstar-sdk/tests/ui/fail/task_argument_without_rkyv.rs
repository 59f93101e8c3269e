use darkstar_sdk::prelude::*;

pub struct Order {
    pub quantity: u32,
}

#[task]
pub fn place(ctx: &mut Context, orders: Vec<Order>) -> TaskResult {
    let _ = (ctx, orders);
    Ok(())
}

fn main() {}
