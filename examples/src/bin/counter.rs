//! Persistence: every start increments a stored counter. Run it again and again; the count
//! survives because it lives in the data store.

use std::process::ExitCode;

use clap::Parser;
use darkstar_examples::cli;
use darkstar_examples::counter::{Counter, Increment, Persistence};
use darkstar_runtime::ServerArgs;

#[derive(Parser)]
#[command(about = "A counter that survives restarts, on Darkstar for Rust")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(config) = cli::config(&cli.server, "counter-data") else {
        return ExitCode::FAILURE;
    };
    let Some(server) = cli::start(Persistence, config) else {
        return ExitCode::FAILURE;
    };
    if let Err(e) = server.submit(Increment {}).wait() {
        eprintln!("error: {e}");
        return ExitCode::FAILURE;
    }
    let value = server.query(|ctx| {
        let counter = ctx.lookup::<Counter>("counter")?;
        Ok(ctx.get(counter)?.value())
    });
    match value {
        Ok(v) => println!("this server has been started {v} times"),
        Err(e) => eprintln!("error: {e}"),
    }
    match server.shutdown() {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}
