//! A periodic task: ticks every half second, and picks up where it left off after a
//! restart.

use std::process::ExitCode;
use std::time::Duration;

use clap::Parser;
use darkstar_examples::{cli, timer::Timer};
use darkstar_runtime::ServerArgs;

#[derive(Parser)]
#[command(about = "A periodic task on Darkstar for Rust")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Milliseconds between ticks (used when the store is created).
    #[arg(long, default_value_t = 500)]
    period_ms: u64,
    /// Ticks before the timer cancels itself (0: never; used when the store is created).
    #[arg(long, default_value_t = 0)]
    stop_after: u64,
    /// Stop after this many seconds (0: wait for Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(config) = cli::config(&cli.server, "timer-data") else {
        return ExitCode::FAILURE;
    };
    let app = Timer {
        period: Duration::from_millis(cli.period_ms.max(1)),
        stop_after: cli.stop_after,
    };
    let Some(server) = cli::start(app, config) else {
        return ExitCode::FAILURE;
    };
    cli::serve(server, cli.seconds)
}
