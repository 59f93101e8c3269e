use darkstar_sdk::prelude::*;

pub struct Bank;

impl Bank {
    #[task]
    pub fn audit(&self, ctx: &mut Context) -> TaskResult {
        let _ = ctx;
        Ok(())
    }
}

fn main() {}
