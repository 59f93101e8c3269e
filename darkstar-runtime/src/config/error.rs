//! Why a configuration was rejected.

use std::path::PathBuf;

/// Why a configuration was rejected.
#[derive(Debug, thiserror::Error)]
pub enum ConfigError {
    /// The file could not be read.
    #[error("cannot read configuration file {path}: {source}")]
    Read {
        /// The file.
        path: PathBuf,
        /// The underlying error.
        #[source]
        source: std::io::Error,
    },
    /// The file is not valid TOML or has unknown or mistyped keys.
    #[error("configuration file {path}: {message}")]
    Parse {
        /// The file.
        path: PathBuf,
        /// What is wrong and where (line and column).
        message: String,
    },
    /// A value is out of range.
    #[error("configuration value `{field}` {reason}{}", origin.as_ref().map(|p| format!(" (in {})", p.display())).unwrap_or_default())]
    Invalid {
        /// The key.
        field: &'static str,
        /// What is wrong with it.
        reason: String,
        /// The file it came from, if it came from one.
        origin: Option<PathBuf>,
    },
}
