//! The chat lobby server. Players log in with password accounts:
//!
//! ```text
//! cargo run -p darkstar-examples --bin chat -- --register-on-login true   # anyone may sign up
//! echo secret | cargo run -p darkstar-examples --bin chat -- accounts create alice
//! cargo run -p darkstar-examples --bin chat-client -- --name alice         # then type
//! ```

use std::process::ExitCode;

use clap::{Parser, Subcommand};
use darkstar_examples::chat::ChatApp;
use darkstar_examples::cli;
use darkstar_runtime::{AccountCommand, ServerArgs};

#[derive(Parser)]
#[command(about = "A chat lobby on Darkstar for Rust")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds to run (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Manages password accounts (stop the server on this data directory first).
    #[command(subcommand)]
    Accounts(AccountCommand),
}

/// Where the chat listens unless told otherwise.
const DEFAULT_TCP: &str = "127.0.0.1:7490";
const DEFAULT_WS: &str = "127.0.0.1:7491";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(mut config) = cli::config(&cli.server, "chat-data") else {
        return ExitCode::FAILURE;
    };
    if let Some(Command::Accounts(command)) = &cli.command {
        // Only the store is needed: no listeners.
        config.tcp_addr = None;
        config.ws_addr = None;
        let Some(server) = cli::start(ChatApp, config) else {
            return ExitCode::FAILURE;
        };
        let result = command.run(server.accounts(), std::io::stdin().lock());
        let shutdown = server.shutdown();
        return match (result, shutdown) {
            (Ok(said), Ok(())) => {
                println!("{said}");
                ExitCode::SUCCESS
            }
            (Err(e), _) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
            (_, Err(e)) => {
                eprintln!("error: {e}");
                ExitCode::FAILURE
            }
        };
    }
    config
        .tcp_addr
        .get_or_insert_with(|| DEFAULT_TCP.parse().expect("a socket address"));
    config
        .ws_addr
        .get_or_insert_with(|| DEFAULT_WS.parse().expect("a socket address"));
    let Some(server) = cli::start(ChatApp, config) else {
        return ExitCode::FAILURE;
    };
    println!(
        "chat: TCP clients on {}, WebSocket clients on ws://{}; Ctrl-C stops",
        server.tcp_addr().expect("listening"),
        server.ws_addr().expect("listening"),
    );
    cli::serve(server, cli.seconds)
}
