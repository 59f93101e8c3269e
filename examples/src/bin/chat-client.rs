//! A terminal client for the chat lobby: type a line to say it in your room (or the
//! lobby), or a command (`/join ROOM`, `/leave`, `/who`, `/tell NAME TEXT`, `/help`).
//! End input (Ctrl-D) to log out.
//!
//! `cargo run -p darkstar-examples --bin chat-client -- --name alice`

use std::collections::BTreeMap;
use std::io::BufRead;
use std::process::ExitCode;

use clap::Parser;
use darkstar_client::{Client, Endpoint, Event};
use darkstar_examples::chat::LOBBY;
use tokio::sync::mpsc;

#[derive(Parser)]
#[command(about = "A terminal client for the Darkstar chat lobby")]
struct Cli {
    /// The server's TCP address.
    #[arg(long, default_value = "127.0.0.1:7490")]
    addr: String,
    /// Connect over WebSocket to this URL instead (for example ws://127.0.0.1:7491).
    #[arg(long)]
    websocket: Option<String>,
    /// Your name.
    #[arg(long)]
    name: String,
    /// Your password.
    #[arg(long, env = "CHAT_PASSWORD", default_value = "")]
    password: String,
}

#[tokio::main(flavor = "current_thread")]
async fn main() -> ExitCode {
    let cli = Cli::parse();
    let endpoint = match cli.websocket {
        Some(url) => Endpoint::websocket(url),
        None => Endpoint::tcp(cli.addr),
    };
    let mut client = match Client::connect(endpoint, &cli.name, &cli.password).await {
        Ok(c) => c,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::FAILURE;
        }
    };
    // Standard input is read on a thread of its own: tokio's is blocking anyway.
    let (lines_tx, mut lines) = mpsc::channel::<String>(16);
    std::thread::spawn(move || {
        for line in std::io::stdin().lock().lines() {
            let Ok(line) = line else { break };
            if lines_tx.blocking_send(line).is_err() {
                break;
            }
        }
    });
    let mut channels = Channels::default();
    let mut typing = true;
    loop {
        tokio::select! {
            line = lines.recv(), if typing => {
                let sent = match line {
                    None => {
                        typing = false;
                        client.logout().await
                    }
                    Some(line) if line.trim().is_empty() => Ok(()),
                    Some(line) if line.starts_with('/') => client.send(line).await,
                    Some(line) => match channels.current() {
                        Some(channel) => client.send_to_channel(channel, line).await,
                        None => {
                            println!("-- you are in no channel yet");
                            Ok(())
                        }
                    },
                };
                if let Err(e) = sent {
                    eprintln!("error: {e}");
                    return ExitCode::FAILURE;
                }
            }
            event = client.next_event() => match event {
                Some(Event::Disconnected { reason, text }) => {
                    println!("-- disconnected ({reason}): {text}");
                    return ExitCode::SUCCESS;
                }
                Some(event) => channels.show(event),
                None => return ExitCode::SUCCESS,
            }
        }
    }
}

/// The channels the session is in, by id; the room joined last is where lines go.
#[derive(Default)]
struct Channels {
    names: BTreeMap<u64, String>,
    joined: Vec<u64>,
}

impl Channels {
    fn current(&self) -> Option<u64> {
        self.joined.last().copied()
    }

    fn name(&self, channel: u64) -> &str {
        self.names.get(&channel).map_or("?", |n| n.as_str())
    }

    fn show(&mut self, event: Event) {
        match event {
            Event::Message(body) => println!("* {}", String::from_utf8_lossy(&body)),
            Event::JoinedChannel { channel, name } => {
                let shown = name.strip_prefix("room.").unwrap_or(&name).to_owned();
                println!("-- you are in {shown}");
                self.names.insert(channel, shown);
                // The lobby stays underneath any room.
                if name == LOBBY {
                    self.joined.insert(0, channel);
                } else {
                    self.joined.push(channel);
                }
            }
            Event::LeftChannel { channel } => {
                println!("-- you left {}", self.name(channel));
                self.joined.retain(|&c| c != channel);
            }
            Event::ChannelMessage { channel, body, .. } => {
                println!(
                    "[{}] {}",
                    self.name(channel),
                    String::from_utf8_lossy(&body)
                )
            }
            Event::Reconnecting { attempt } => {
                println!("-- connection lost; resuming the session (attempt {attempt})")
            }
            Event::Reconnected => println!("-- resumed; nothing was lost"),
            Event::Disconnected { .. } => {}
        }
    }
}
