//! Hello world: `initialize` schedules a task that greets once per data store.
//!
//! `cargo run -p darkstar-examples --bin hello`; run it twice: the second start greets no
//! more, because `initialize` already ran for this store.

use std::process::ExitCode;

use clap::Parser;
use darkstar_examples::{cli, hello::HelloWorld};
use darkstar_runtime::ServerArgs;

#[derive(Parser)]
#[command(about = "Hello world on Darkstar for Rust")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Stop after this many seconds (0: wait for Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(config) = cli::config(&cli.server, "hello-data") else {
        return ExitCode::FAILURE;
    };
    let Some(server) = cli::start(HelloWorld, config) else {
        return ExitCode::FAILURE;
    };
    cli::serve(server, cli.seconds)
}
