//! Hello world: the smallest app. `initialize` schedules one task, which greets and leaves
//! a mark in the store.

use darkstar_sdk::prelude::*;

/// What the greeting task leaves behind, bound to the name `greeting`.
#[managed(name = "hello.Greeting")]
#[derive(Debug)]
pub struct Greeting {
    /// The text greeted with.
    pub text: String,
    /// How many times it was greeted.
    pub times: u32,
}

/// Greets, and records it.
#[task(name = "hello.greet")]
pub fn greet(ctx: &mut Context, text: String) -> TaskResult {
    tracing::info!("{text}");
    match ctx.try_lookup::<Greeting>("greeting")? {
        Some(g) => ctx.get_mut(g)?.times += 1,
        None => {
            let g = ctx.create(Greeting { text, times: 1 })?;
            ctx.bind("greeting", g)?;
        }
    }
    Ok(())
}

/// The app: registers its types and, once per data store, schedules the greeting.
pub struct HelloWorld;

impl App for HelloWorld {
    fn register(&self, types: &mut Types) {
        types.object::<Greeting>().task::<Greet>();
    }

    fn initialize(&self, ctx: &mut Context<'_>) -> TaskResult {
        ctx.schedule(Greet {
            text: "Hello, world!".to_owned(),
        })?;
        Ok(())
    }
}
