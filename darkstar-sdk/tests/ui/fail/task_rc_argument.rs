use std::cell::Cell;
use std::rc::Rc;

use darkstar_sdk::prelude::*;

#[task]
pub fn share(ctx: &mut Context, shared: Rc<String>, counter: Cell<u32>) -> TaskResult {
    let _ = (ctx, shared, counter);
    Ok(())
}

fn main() {}
