use darkstar_sdk::prelude::*;

#[task(name = "quest.heal", version = 1)]
pub struct HealV1 {
    pub amount: u32,
}

#[task(name = "quest.heal", version = 3, from = HealV1)]
pub fn heal(ctx: &mut Context, amount: u64) -> TaskResult {
    let _ = (ctx, amount);
    Ok(())
}

impl From<HealV1> for Heal {
    fn from(old: HealV1) -> Heal {
        Heal {
            amount: old.amount.into(),
        }
    }
}

fn main() {}
