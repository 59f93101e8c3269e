use std::time::{Duration, Instant};

use darkstar_sdk::prelude::*;

#[managed]
pub struct Ship {
    pub speed: u32,
    pub launched: Instant,
    // rkyv archives a `Duration`: no error here.
    pub cooldown: Duration,
}

// `Ship` is still a managed object, with its field as written, so the code that uses it
// type-checks and the error above is the only one.
#[task]
pub fn launch(ctx: &mut Context, ship: Ref<Ship>) -> TaskResult {
    ctx.get_mut(ship)?.launched = Instant::now();
    Ok(())
}

fn main() {
    let mut types = Types::new();
    types.object::<Ship>().task::<Launch>();
}
