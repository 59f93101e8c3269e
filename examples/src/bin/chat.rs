//! The chat lobby server. Players log in with password accounts:
//!
//! ```text
//! cargo run -p darkstar-examples --bin chat -- --register-on-login true   # anyone may sign up
//! echo secret | cargo run -p darkstar-examples --bin chat -- accounts create alice
//! cargo run -p darkstar-examples --bin chat-client -- --name alice         # then type
//! cargo run -p darkstar-examples --bin chat -- --register-on-login true --web 127.0.0.1:7492
//! ```
//!
//! With `--web ADDR` it also serves the chat in the browser (the TypeScript client's demo
//! page) at `http://ADDR/`, connecting to its WebSocket listener.

use std::net::SocketAddr;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use darkstar_examples::chat::ChatApp;
use darkstar_examples::cli;
use darkstar_examples::web_demo;
use darkstar_runtime::{AccountCommand, Config, MainError, Server, ServerArgs};

#[derive(Parser)]
#[command(about = "A chat lobby on Darkstar for Rust")]
struct Cli {
    #[command(flatten)]
    server: ServerArgs,
    /// Seconds to run (0: until Ctrl-C).
    #[arg(long, default_value_t = 0)]
    seconds: u64,
    /// Also serve the chat in the browser over HTTP on this address (such as
    /// 127.0.0.1:7492); it connects to the WebSocket listener.
    #[arg(long, value_name = "ADDR")]
    web: Option<SocketAddr>,
    #[command(subcommand)]
    command: Option<Command>,
}

#[derive(Subcommand)]
enum Command {
    /// Manages password accounts (stop the server on this data directory first).
    #[command(subcommand)]
    Accounts(AccountCommand),
}

/// Where the chat listens when given neither `--tcp-addr` nor `--ws-addr`.
const DEFAULT_TCP: &str = "127.0.0.1:7490";
const DEFAULT_WS: &str = "127.0.0.1:7491";

fn main() -> ExitCode {
    let cli = Cli::parse();
    let Some(mut config) = cli::config(&cli.server, "chat-data") else {
        return ExitCode::FAILURE;
    };
    if let Some(Command::Accounts(command)) = &cli.command {
        return match accounts(command, config) {
            Ok(said) => {
                println!("{said}");
                ExitCode::SUCCESS
            }
            Err(e) => cli::report(e),
        };
    }
    // Both listeners by default; a listener asked for alone means only that one, so no
    // port is opened that nobody asked for.
    if config.tcp_addr.is_none() && config.ws_addr.is_none() {
        config.tcp_addr = Some(address(DEFAULT_TCP));
        config.ws_addr = Some(address(DEFAULT_WS));
    }
    if cli.web.is_some() && config.ws_addr.is_none() {
        eprintln!(
            "error: --web serves a page that connects over WebSocket, and this server has no \
             WebSocket listener: give --ws-addr too (or neither --tcp-addr nor --ws-addr, for both)"
        );
        return ExitCode::FAILURE;
    }
    let Some(server) = cli::start(ChatApp, config) else {
        return ExitCode::FAILURE;
    };
    let listeners: Vec<String> = [
        server.tcp_addr().map(|a| format!("TCP clients on {a}")),
        server
            .ws_addr()
            .map(|a| format!("WebSocket clients on ws://{a}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    // Served until this function returns, when the server has stopped.
    let web = match (cli.web, server.ws_addr()) {
        (Some(addr), Some(ws)) => match web_demo::serve(addr, format!("ws://{ws}/")) {
            Ok(web) => Some(web),
            Err(e) => {
                eprintln!("error: {e}");
                if let Err(e) = server.shutdown() {
                    return cli::report(e);
                }
                return ExitCode::FAILURE;
            }
        },
        _ => None,
    };
    println!("chat: {}; Ctrl-C stops", listeners.join(", "));
    if let Some(web) = &web {
        println!("chat demo: http://{}/", web.addr());
    }
    cli::serve(server, cli.seconds)
}

fn address(text: &str) -> SocketAddr {
    text.parse().expect("a socket address")
}

/// Runs an accounts command on the store alone, and returns what it did.
fn accounts(command: &AccountCommand, mut config: Config) -> Result<String, MainError> {
    // Only the store is needed: no listeners.
    config.tcp_addr = None;
    config.ws_addr = None;
    let server = Server::builder(ChatApp).config(config).start()?;
    let said = command.run(server.accounts(), std::io::stdin().lock());
    let shutdown = server.shutdown();
    // The command's own error is the one worth telling, if both failed.
    let said = said?;
    shutdown?;
    Ok(said)
}
