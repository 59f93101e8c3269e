//! Persistence: a counter that every start of the server increments. Stop the server,
//! start it again: the count goes on, because it lives in the data store.

use darkstar_sdk::prelude::*;

/// The counter, bound to the name `counter`.
#[managed(name = "counter.Counter")]
#[derive(Debug)]
pub struct Counter {
    /// Increments so far.
    pub value: u64,
}

/// Adds one to the counter, creating it on first use.
#[task(name = "counter.increment")]
pub fn increment(ctx: &mut Context) -> TaskResult {
    match ctx.try_lookup::<Counter>("counter")? {
        Some(c) => {
            let mut c = ctx.get_mut(c)?;
            c.value += 1;
            tracing::info!(value = c.value, "counter incremented");
        }
        None => {
            let c = ctx.create(Counter { value: 1 })?;
            ctx.bind("counter", c)?;
            tracing::info!(value = 1, "counter created");
        }
    }
    Ok(())
}

/// The app. Its binary submits one [`Increment`] per start.
pub struct Persistence;

impl App for Persistence {
    fn register(&self, types: &mut Types) {
        types.object::<Counter>().task::<Increment>();
    }
}
