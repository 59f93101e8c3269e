//! The admin path for password accounts, as a subcommand a game's binary adds to its own
//! command line: `mygame accounts create alice` (password on standard input).

use std::io::BufRead;

use super::auth::{AccountError, Accounts};

/// Manages password accounts. Passwords are read from the first line of standard input,
/// so they stay out of the shell's history and the process list.
#[derive(Debug, Clone, PartialEq, Eq, clap::Subcommand)]
pub enum AccountCommand {
    /// Creates an account; its password is read from standard input.
    Create {
        /// The account's name (what the client logs in with).
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

/// Why an account command failed.
#[derive(Debug, thiserror::Error)]
pub enum AccountCommandError {
    /// The account could not be created or changed.
    #[error(transparent)]
    Account(#[from] AccountError),
    /// No password could be read.
    #[error("cannot read the password from standard input: {0}")]
    Input(#[from] std::io::Error),
    /// The password line was empty.
    #[error("the password (first line of standard input) is empty")]
    EmptyPassword,
}

impl AccountCommand {
    /// Runs the command against `accounts`, reading a password from `input` if it needs
    /// one. Returns what to tell the operator.
    pub fn run(
        &self,
        accounts: &Accounts,
        input: impl BufRead,
    ) -> Result<String, AccountCommandError> {
        match self {
            AccountCommand::Create { name } => {
                accounts.create(name, &password(input)?)?;
                Ok(format!("account {name:?} created"))
            }
            AccountCommand::SetPassword { name } => {
                accounts.set_password(name, &password(input)?)?;
                Ok(format!("password of {name:?} changed"))
            }
            AccountCommand::Exists { name } => Ok(if accounts.exists(name) {
                format!("account {name:?} exists")
            } else {
                format!("no account named {name:?}")
            }),
        }
    }
}

fn password(mut input: impl BufRead) -> Result<String, AccountCommandError> {
    let mut line = String::new();
    input.read_line(&mut line)?;
    let password = line.trim_end_matches(['\r', '\n']);
    if password.is_empty() {
        return Err(AccountCommandError::EmptyPassword);
    }
    Ok(password.to_owned())
}
