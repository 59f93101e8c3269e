//! The keys whose values are one of a few words.

use serde::{Deserialize, Serialize};

/// How commits reach the disk.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DurabilityMode {
    /// A commit is acknowledged once it is synced to disk (the default).
    #[default]
    Full,
    /// Commits are synced every `relaxed_sync_ms`; a crash may lose the last interval.
    Relaxed,
}

/// Who may log in.
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum LoginMode {
    /// Accounts with argon2-hashed passwords, kept in the data store (the default).
    #[default]
    Password,
    /// Anyone, under any name, with any password. For development only.
    Development,
}

/// What a login does when its identity already has a session (connected, or waiting for
/// its client to resume).
#[derive(Clone, Copy, Debug, Default, PartialEq, Eq, Serialize, Deserialize, clap::ValueEnum)]
#[serde(rename_all = "lowercase")]
pub enum DuplicateLogin {
    /// The new login takes over: the old session ends (its client is told
    /// `logged_in_elsewhere`, its listener hears `disconnected`), then the new one opens.
    /// The default: a player whose connection dropped can always log in again.
    #[default]
    Replace,
    /// The new login is refused while the old session lasts.
    Refuse,
    /// Both sessions live side by side; the game decides.
    Allow,
}
