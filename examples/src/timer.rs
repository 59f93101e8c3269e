//! A timer: a periodic task that counts its ticks. Runs of a periodic task never overlap,
//! and the schedule survives restarts.

use std::time::Duration;

use darkstar_sdk::prelude::*;

/// Tick count, bound to the name `ticks`.
#[managed(name = "timer.Ticks")]
#[derive(Debug)]
pub struct Ticks {
    /// Ticks so far.
    pub count: u64,
    /// The periodic task, so it can be cancelled.
    pub handle: Option<TaskHandle>,
}

/// One tick. Stops the timer after `stop_after` ticks (0: never).
#[task(name = "timer.tick")]
pub fn tick(ctx: &mut Context, ticks: Ref<Ticks>, stop_after: u64) -> TaskResult {
    let mut t = ctx.get_mut(ticks)?;
    t.count += 1;
    tracing::info!(count = t.count, "tick");
    if stop_after > 0 && t.count >= stop_after {
        if let Some(handle) = t.handle.take() {
            ctx.cancel(handle)?;
        }
    }
    Ok(())
}

/// The app: ticks every `period`, `stop_after` times (0: forever).
pub struct Timer {
    /// Time between ticks.
    pub period: Duration,
    /// Ticks before the timer cancels itself; 0 for never.
    pub stop_after: u64,
}

impl App for Timer {
    fn register(&self, types: &mut Types) {
        types.object::<Ticks>().task::<Tick>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        let ticks = ctx.create(Ticks {
            count: 0,
            handle: None,
        })?;
        ctx.bind("ticks", ticks)?;
        let handle = ctx.schedule_periodic(
            Tick {
                ticks,
                stop_after: self.stop_after,
            },
            self.period,
            self.period,
        )?;
        ctx.get_mut(ticks)?.handle = Some(handle);
        Ok(())
    }
}
