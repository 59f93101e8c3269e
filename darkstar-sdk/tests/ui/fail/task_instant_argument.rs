use std::cell::RefCell;
use std::time::{Duration, Instant};

use darkstar_sdk::prelude::*;

#[task]
pub fn expire(
    ctx: &mut Context,
    since: Instant,
    after: Duration,
    log: Option<std::fs::File>,
    seen: RefCell<Vec<u64>>,
) -> TaskResult {
    let _ = (ctx, since, after, log, seen);
    Ok(())
}

// The task struct is still generated, with the arguments' types, so the code that uses it
// type-checks and the errors above are the only ones.
fn main() {
    let mut types = Types::new();
    types.task::<Expire>();
    let _ = Expire {
        since: Instant::now(),
        after: Duration::from_secs(1),
        log: None,
        seen: RefCell::new(Vec::new()),
    };
}
