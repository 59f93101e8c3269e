//! Server configuration: defaults, then a TOML file, then `DARKSTAR_*` environment
//! variables, then flags.
//!
//! Every key is declared once, in the table in `keys.rs`, which generates `Config`, its
//! `Default`, `ServerArgs` and the layering and range checks. The book's configuration
//! chapter (`book/src/configuration.md`) has the full reference; a test in `tests.rs`
//! writes its table from the key table and fails while the two differ.

mod error;
mod keys;
mod macros;
mod modes;
#[cfg(test)]
mod reference;
#[cfg(test)]
mod tests;

use std::path::Path;
use std::time::Duration;

pub use error::ConfigError;
pub use keys::{Config, ServerArgs};
pub use modes::{DuplicateLogin, DurabilityMode, LoginMode};

impl Config {
    /// Parses TOML text; `origin` names it in errors.
    pub fn from_toml(text: &str, origin: &Path) -> Result<Config, ConfigError> {
        let config: Config = toml::from_str(text).map_err(|e| ConfigError::Parse {
            path: origin.to_owned(),
            message: e.to_string().trim_end().to_owned(),
        })?;
        config.validate().map_err(|e| match e {
            ConfigError::Invalid { field, reason, .. } => ConfigError::Invalid {
                field,
                reason,
                origin: Some(origin.to_owned()),
            },
            other => other,
        })?;
        Ok(config)
    }

    /// Reads a TOML file.
    pub fn from_file(path: &Path) -> Result<Config, ConfigError> {
        let text = std::fs::read_to_string(path).map_err(|source| ConfigError::Read {
            path: path.to_owned(),
            source,
        })?;
        Config::from_toml(&text, path)
    }

    /// Checks every value is in range, and that the cluster keys fit together.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.check_ranges()?;
        self.check_cluster()
    }

    /// Whether this configuration makes the server a node of a cluster.
    pub fn is_cluster(&self) -> bool {
        self.cluster_etcd.is_some() || self.cluster_postgres.is_some()
    }

    fn check_cluster(&self) -> Result<(), ConfigError> {
        let invalid = |field: &'static str, reason: String| ConfigError::Invalid {
            field,
            reason,
            origin: None,
        };
        match (&self.cluster_etcd, &self.cluster_postgres) {
            (None, None) => return Ok(()),
            (Some(_), None) => {
                return Err(invalid(
                    "cluster_postgres",
                    "is not set, but cluster_etcd is: a cluster node needs both".to_owned(),
                ))
            }
            (None, Some(_)) => {
                return Err(invalid(
                    "cluster_etcd",
                    "is not set, but cluster_postgres is: a cluster node needs both".to_owned(),
                ))
            }
            (Some(etcd), Some(_)) => {
                if etcd.split(',').any(|e| e.trim().is_empty()) {
                    return Err(invalid(
                        "cluster_etcd",
                        format!("{etcd:?} has an empty endpoint; give URLs separated by commas"),
                    ));
                }
            }
        }
        let name = &self.cluster_name;
        let good_name = name.len() <= 40
            && name.starts_with(|c: char| c.is_ascii_lowercase())
            && name
                .chars()
                .all(|c| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_');
        if !good_name {
            return Err(invalid(
                "cluster_name",
                format!(
                    "{name:?} is not a name: use up to 40 lower-case letters, digits and `_`, \
                     starting with a letter"
                ),
            ));
        }
        if let Some(node) = &self.node_name {
            let good = !node.is_empty()
                && node.len() <= 64
                && node
                    .chars()
                    .all(|c| c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.'));
            if !good {
                return Err(invalid(
                    "node_name",
                    format!("{node:?} is not a name: use up to 64 letters, digits, `-`, `_`, `.`"),
                ));
            }
        }
        for (key, address) in [
            ("advertise_addr", &self.advertise_addr),
            ("advertise_ws_addr", &self.advertise_ws_addr),
        ] {
            let Some(a) = address else { continue };
            let good = a
                .rsplit_once(':')
                .is_some_and(|(host, port)| !host.is_empty() && port.parse::<u16>().is_ok())
                && a.chars()
                    .all(|c| c.is_ascii_graphic() && c != '"' && c != '\\');
            if !good {
                return Err(invalid(
                    key,
                    format!("{a:?} is not `host:port` (no spaces or quotes)"),
                ));
            }
        }
        if self.segment_size_mib < 32 {
            // A batch of up to 16 MiB must fit one frame on every node alike, or nodes
            // would reach different verdicts on it.
            return Err(invalid(
                "segment_size_mib",
                format!(
                    "is {} MiB: a cluster node needs segments of at least 32 MiB",
                    self.segment_size_mib
                ),
            ));
        }
        if self.tcp_addr.is_none() && self.advertise_addr.is_none() && self.ws_addr.is_none() {
            return Err(invalid(
                "tcp_addr",
                "is not set: a cluster node takes clients, so give it a listener".to_owned(),
            ));
        }
        Ok(())
    }

    /// The number of executor threads to start.
    pub fn effective_cores(&self) -> usize {
        if self.cores > 0 {
            self.cores
        } else {
            std::thread::available_parallelism().map_or(1, |n| n.get())
        }
    }

    /// The task time limit.
    pub fn task_time_limit(&self) -> Duration {
        Duration::from_millis(self.task_time_limit_ms)
    }

    /// The number of password hashing threads to start.
    pub fn effective_login_threads(&self) -> usize {
        if self.login_threads > 0 {
            self.login_threads
        } else {
            // Half the cores: the other half stays free of argon2's memory traffic.
            (self.effective_cores() / 2).max(1)
        }
    }
}

impl ServerArgs {
    /// The configuration: the file if one was given (else the defaults), with every flag or
    /// environment variable that is set on top.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut config = match &self.config_file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        self.layer(&mut config);
        config.validate()?;
        Ok(config)
    }
}
