//! `darkstar-admin`: the command-line side of a server's admin API, which the dashboard
//! reads too. Human output by default, the API's JSON with `--json`.
//!
//! ```text
//! export DARKSTAR_ADMIN_TOKEN=...            # the server's admin_token
//! darkstar-admin --url http://127.0.0.1:7481 status
//! darkstar-admin sessions list
//! darkstar-admin sessions kick 17
//! echo secret | darkstar-admin accounts create ada
//! darkstar-admin placement
//! darkstar-admin nodes
//! darkstar-admin drain node-1
//! ```

mod api;
mod render;

use std::io::BufRead;
use std::process::ExitCode;

use clap::{Parser, Subcommand};
use serde_json::{json, Value};

use api::{Api, ApiError};

#[derive(Parser)]
#[command(
    name = "darkstar-admin",
    about = "Administers a running Darkstar for Rust server through its admin API"
)]
struct Cli {
    /// The server's admin address (its `admin_addr`).
    #[arg(
        long,
        env = "DARKSTAR_ADMIN_URL",
        default_value = "http://127.0.0.1:7481"
    )]
    url: String,
    /// The server's admin token (its `admin_token`); prefer the environment variable,
    /// which other users cannot read in the process list.
    #[arg(long, env = "DARKSTAR_ADMIN_TOKEN", hide_env_values = true)]
    token: Option<String>,
    /// Prints the API's JSON answer instead of text for people.
    #[arg(long, global = true)]
    json: bool,
    #[command(subcommand)]
    command: Command,
}

#[derive(Subcommand)]
enum Command {
    /// Whether the server answers (needs no token).
    Health,
    /// Cores, tasks, sessions, store and cluster figures.
    Status,
    /// Lists or ends sessions.
    #[command(subcommand)]
    Sessions(SessionCommand),
    /// Manages password accounts; passwords are read from standard input.
    #[command(subcommand)]
    Accounts(AccountCommand),
    /// Slots per core, and the hot objects placement learned from conflicts.
    Placement,
    /// The hot objects alone, and the groups of those that conflicted with each other.
    Hot,
    /// A cluster's nodes, their slots and drains.
    Nodes,
    /// Moves a cluster node's slots, its stored tasks and its players' sessions to the
    /// other nodes; logins that reach it are sent on to them.
    Drain {
        /// The node's name.
        node: String,
    },
    /// Ends a node's drain: it takes its share of slots again.
    Undrain {
        /// The node's name.
        node: String,
    },
}

#[derive(Subcommand)]
enum SessionCommand {
    /// Lists the sessions the server holds, in id order.
    List {
        /// Most sessions listed.
        #[arg(long, default_value_t = 100)]
        limit: usize,
        /// Sessions skipped first.
        #[arg(long, default_value_t = 0)]
        offset: usize,
    },
    /// Ends a session: its client is told `kicked`, and the game hears it disconnected.
    Kick {
        /// The session's id.
        id: u64,
    },
}

#[derive(Subcommand)]
enum AccountCommand {
    /// Creates an account; its password is read from standard input.
    Create {
        /// The account's name.
        name: String,
    },
    /// Sets an existing account's password, read from standard input.
    SetPassword {
        /// The account's name.
        name: String,
    },
    /// Says whether an account exists.
    Exists {
        /// The account's name.
        name: String,
    },
}

/// Why a command failed.
#[derive(Debug, thiserror::Error)]
enum Failure {
    #[error(transparent)]
    Api(#[from] ApiError),
    #[error("cannot read the password from standard input: {0}")]
    Input(#[from] std::io::Error),
    #[error("the password (first line of standard input) is empty")]
    EmptyPassword,
}

fn main() -> ExitCode {
    let cli = Cli::parse();
    let api = Api::new(&cli.url, cli.token.clone());
    match run(&api, &cli.command) {
        Ok(answer) => {
            if cli.json {
                println!(
                    "{}",
                    serde_json::to_string_pretty(&answer).expect("JSON values print")
                );
            } else {
                print!("{}", render::human(&cli.command_name(), &answer));
            }
            ExitCode::SUCCESS
        }
        Err(e) => {
            eprintln!("error: {e}");
            ExitCode::FAILURE
        }
    }
}

impl Cli {
    /// Which view of the answer to print.
    fn command_name(&self) -> render::View {
        use render::View;
        match &self.command {
            Command::Health => View::Health,
            Command::Status => View::Status,
            Command::Sessions(SessionCommand::List { .. }) => View::Sessions,
            Command::Sessions(SessionCommand::Kick { .. }) => View::Kicked,
            Command::Accounts(_) => View::Account,
            Command::Placement => View::Placement,
            Command::Hot => View::Hot,
            Command::Nodes => View::Nodes,
            Command::Drain { .. } | Command::Undrain { .. } => View::Drain,
        }
    }
}

fn run(api: &Api, command: &Command) -> Result<Value, Failure> {
    let answer = match command {
        Command::Health => api.get("/health")?,
        Command::Status => api.get("/api/v1/status")?,
        Command::Sessions(SessionCommand::List { limit, offset }) => {
            api.get(&format!("/api/v1/sessions?limit={limit}&offset={offset}"))?
        }
        Command::Sessions(SessionCommand::Kick { id }) => {
            api.post(&format!("/api/v1/sessions/{id}/kick"), None)?
        }
        Command::Accounts(AccountCommand::Create { name }) => {
            let password = password(std::io::stdin().lock())?;
            api.post(
                "/api/v1/accounts",
                Some(json!({ "name": name, "password": password })),
            )?
        }
        Command::Accounts(AccountCommand::SetPassword { name }) => {
            let password = password(std::io::stdin().lock())?;
            api.put(
                &format!("/api/v1/accounts/{}/password", path_segment(name)),
                json!({ "password": password }),
            )?
        }
        Command::Accounts(AccountCommand::Exists { name }) => {
            api.get(&format!("/api/v1/accounts/{}", path_segment(name)))?
        }
        Command::Placement | Command::Hot => api.get("/api/v1/placement")?,
        Command::Nodes => api.get("/api/v1/cluster/nodes")?,
        Command::Drain { node } => api.post(
            &format!("/api/v1/cluster/nodes/{}/drain", path_segment(node)),
            None,
        )?,
        Command::Undrain { node } => api.delete(&format!(
            "/api/v1/cluster/nodes/{}/drain",
            path_segment(node)
        ))?,
    };
    Ok(answer)
}

/// The first line of `input`, which must not be empty.
fn password(mut input: impl BufRead) -> Result<String, Failure> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(Failure::EmptyPassword);
    }
    Ok(password.to_owned())
}

/// `text` as one segment of a URL path: every byte but unreserved ones percent-encoded.
fn path_segment(text: &str) -> String {
    text.bytes()
        .map(|b| match b {
            // Not `.`: a segment of `.` or `..` would move the request to another path.
            b'A'..=b'Z' | b'a'..=b'z' | b'0'..=b'9' | b'-' | b'_' | b'~' => (b as char).to_string(),
            _ => format!("%{b:02X}"),
        })
        .collect()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_are_one_path_segment() {
        assert_eq!(path_segment("ada"), "ada");
        assert_eq!(path_segment("a/b c"), "a%2Fb%20c");
        assert_eq!(path_segment("é"), "%C3%A9");
        assert_eq!(path_segment(".."), "%2E%2E");
    }

    #[test]
    fn the_password_is_the_first_line() {
        assert_eq!(password(&b"pw\nmore\n"[..]).unwrap(), "pw");
        assert!(matches!(password(&b"\n"[..]), Err(Failure::EmptyPassword)));
    }
}
