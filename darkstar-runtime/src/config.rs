//! Server configuration: defaults, then a TOML file, then the environment, then flags.
//!
//! ```toml
//! data_dir = "data"
//! cores = 2                  # 0: one per available CPU
//! task_time_limit_ms = 100
//! max_attempts = 10
//! reschedule_after_ms = 1000
//! max_batch = 64
//! durability = "full"        # or "relaxed"
//! relaxed_sync_ms = 10
//! segment_size_mib = 64
//! metrics_addr = "127.0.0.1:9100"
//! log = "info"
//!
//! tcp_addr = "127.0.0.1:7400"  # client listeners; none by default
//! ws_addr = "127.0.0.1:7401"
//! login_mode = "password"      # or "development": anyone may log in, as anyone
//! register_on_login = false    # password mode: unknown names become new accounts
//! max_frame = 65536            # bytes, after the length prefix
//! login_timeout_ms = 10000
//! frame_timeout_ms = 10000     # a frame begun must be complete within this
//! resume_window_ms = 30000     # how long a dropped client may resume its session
//! session_queue_kib = 1024     # unacknowledged outgoing bytes before "too slow"
//! session_window = 256         # client messages accepted before one is handled
//! max_sessions = 100000
//! network_threads = 1
//! ```

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::time::Duration;

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

/// Everything a server is configured with.
#[derive(Clone, Debug, PartialEq, Serialize, Deserialize)]
#[serde(deny_unknown_fields, default)]
pub struct Config {
    /// Directory of the data store; created if missing.
    pub data_dir: PathBuf,
    /// Executor threads, one per core; 0 means one per available CPU.
    pub cores: usize,
    /// A task run is aborted (and retried) after this many milliseconds.
    pub task_time_limit_ms: u64,
    /// Retryable failures in a row before a task is rescheduled for later (and reported).
    pub max_attempts: u32,
    /// How much later, in milliseconds.
    pub reschedule_after_ms: u64,
    /// Most tasks a core commits together in one batch.
    pub max_batch: usize,
    /// How commits reach the disk.
    pub durability: DurabilityMode,
    /// Sync interval under relaxed durability, in milliseconds.
    pub relaxed_sync_ms: u64,
    /// Size of the store's segment files, in MiB.
    pub segment_size_mib: u32,
    /// Where to serve Prometheus metrics (`/metrics`); none by default.
    pub metrics_addr: Option<SocketAddr>,
    /// Log filter in `tracing` syntax (`info`, `darkstar_runtime=debug`); `RUST_LOG` wins.
    pub log: String,
    /// Where clients connect over TCP; none by default.
    pub tcp_addr: Option<SocketAddr>,
    /// Where clients connect over WebSocket; none by default.
    pub ws_addr: Option<SocketAddr>,
    /// Who may log in.
    pub login_mode: LoginMode,
    /// In password mode, whether a login under an unknown name creates that account.
    pub register_on_login: bool,
    /// The largest frame a client may send, in bytes after the length prefix.
    pub max_frame: u32,
    /// A connection must log in (or resume) within this many milliseconds.
    pub login_timeout_ms: u64,
    /// A frame whose first bytes arrived must be complete within this many milliseconds.
    pub frame_timeout_ms: u64,
    /// How long a session whose connection dropped waits for its client to resume, in
    /// milliseconds.
    pub resume_window_ms: u32,
    /// Unacknowledged bytes queued for one session before its client counts as too slow
    /// and is disconnected, in KiB.
    pub session_queue_kib: u32,
    /// Client messages accepted from one session before the first of them is handled;
    /// past this the server stops reading that connection.
    pub session_window: u32,
    /// Most sessions at once; further logins are refused.
    pub max_sessions: u32,
    /// Threads serving client connections.
    pub network_threads: usize,
}

impl Default for Config {
    fn default() -> Config {
        Config {
            data_dir: PathBuf::from("data"),
            cores: 0,
            task_time_limit_ms: 100,
            max_attempts: 10,
            reschedule_after_ms: 1000,
            max_batch: 64,
            durability: DurabilityMode::Full,
            relaxed_sync_ms: 10,
            segment_size_mib: 64,
            metrics_addr: None,
            log: "info".to_owned(),
            tcp_addr: None,
            ws_addr: None,
            login_mode: LoginMode::Password,
            register_on_login: false,
            max_frame: darkstar_protocol::DEFAULT_MAX_FRAME,
            login_timeout_ms: 10_000,
            frame_timeout_ms: 10_000,
            resume_window_ms: 30_000,
            session_queue_kib: 1024,
            session_window: 256,
            max_sessions: 100_000,
            network_threads: 1,
        }
    }
}

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

    /// Checks every value is in range.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let bad = |field, reason: &str| {
            Err(ConfigError::Invalid {
                field,
                reason: reason.to_owned(),
                origin: None,
            })
        };
        if self.cores > 256 {
            return bad("cores", "must be at most 256");
        }
        if !(1..=3_600_000).contains(&self.task_time_limit_ms) {
            return bad(
                "task_time_limit_ms",
                "must be between 1 and 3600000 (an hour)",
            );
        }
        if self.reschedule_after_ms > 86_400_000 {
            return bad("reschedule_after_ms", "must be at most 86400000 (a day)");
        }
        if self.max_attempts == 0 {
            return bad("max_attempts", "must be at least 1");
        }
        if !(1..=4096).contains(&self.max_batch) {
            return bad("max_batch", "must be between 1 and 4096");
        }
        if self.relaxed_sync_ms == 0 {
            return bad("relaxed_sync_ms", "must be above 0");
        }
        if !(1..=1024).contains(&self.segment_size_mib) {
            return bad("segment_size_mib", "must be between 1 and 1024");
        }
        if self.data_dir.as_os_str().is_empty() {
            return bad("data_dir", "must not be empty");
        }
        if !(64..=(64 << 20)).contains(&self.max_frame) {
            return bad("max_frame", "must be between 64 and 67108864 (64 MiB)");
        }
        if !(1..=3_600_000).contains(&self.login_timeout_ms) {
            return bad("login_timeout_ms", "must be between 1 and 3600000");
        }
        if !(1..=3_600_000).contains(&self.frame_timeout_ms) {
            return bad("frame_timeout_ms", "must be between 1 and 3600000");
        }
        if self.resume_window_ms > 86_400_000 {
            return bad("resume_window_ms", "must be at most 86400000 (a day)");
        }
        if self.session_queue_kib == 0 {
            return bad("session_queue_kib", "must be at least 1");
        }
        if !(1..=65_536).contains(&self.session_window) {
            return bad("session_window", "must be between 1 and 65536");
        }
        if self.max_sessions == 0 {
            return bad("max_sessions", "must be at least 1");
        }
        if !(1..=64).contains(&self.network_threads) {
            return bad("network_threads", "must be between 1 and 64");
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
}

/// The server's command-line flags, each also read from a `DARKSTAR_*` environment
/// variable. Flatten it into a game's own `clap` parser with `#[command(flatten)]`.
#[derive(clap::Args, Clone, Debug, Default)]
pub struct ServerArgs {
    /// TOML configuration file; flags and environment variables override it.
    #[arg(long = "config", env = "DARKSTAR_CONFIG", value_name = "FILE")]
    pub config_file: Option<PathBuf>,
    /// Directory of the data store.
    #[arg(long, env = "DARKSTAR_DATA_DIR", value_name = "DIR")]
    pub data_dir: Option<PathBuf>,
    /// Executor threads (0: one per CPU).
    #[arg(long, env = "DARKSTAR_CORES")]
    pub cores: Option<usize>,
    /// Task time limit in milliseconds.
    #[arg(long, env = "DARKSTAR_TASK_TIME_LIMIT_MS", value_name = "MS")]
    pub task_time_limit_ms: Option<u64>,
    /// Retryable failures before a task is rescheduled.
    #[arg(long, env = "DARKSTAR_MAX_ATTEMPTS")]
    pub max_attempts: Option<u32>,
    /// Milliseconds before a task that keeps failing is tried again.
    #[arg(long, env = "DARKSTAR_RESCHEDULE_AFTER_MS", value_name = "MS")]
    pub reschedule_after_ms: Option<u64>,
    /// Most tasks per committed batch.
    #[arg(long, env = "DARKSTAR_MAX_BATCH")]
    pub max_batch: Option<usize>,
    /// Durability mode.
    #[arg(long, env = "DARKSTAR_DURABILITY", value_enum)]
    pub durability: Option<DurabilityMode>,
    /// Sync interval under relaxed durability, in milliseconds.
    #[arg(long, env = "DARKSTAR_RELAXED_SYNC_MS", value_name = "MS")]
    pub relaxed_sync_ms: Option<u64>,
    /// Size of the store's segment files, in MiB.
    #[arg(long, env = "DARKSTAR_SEGMENT_SIZE_MIB", value_name = "MIB")]
    pub segment_size_mib: Option<u32>,
    /// Address to serve Prometheus metrics on.
    #[arg(long, env = "DARKSTAR_METRICS_ADDR", value_name = "ADDR")]
    pub metrics_addr: Option<SocketAddr>,
    /// Log filter.
    #[arg(long, env = "DARKSTAR_LOG", value_name = "FILTER")]
    pub log: Option<String>,
    /// Address for TCP clients.
    #[arg(long, env = "DARKSTAR_TCP_ADDR", value_name = "ADDR")]
    pub tcp_addr: Option<SocketAddr>,
    /// Address for WebSocket clients.
    #[arg(long, env = "DARKSTAR_WS_ADDR", value_name = "ADDR")]
    pub ws_addr: Option<SocketAddr>,
    /// Who may log in.
    #[arg(long, env = "DARKSTAR_LOGIN_MODE", value_enum)]
    pub login_mode: Option<LoginMode>,
    /// Create accounts on first login (password mode).
    #[arg(long, env = "DARKSTAR_REGISTER_ON_LOGIN")]
    pub register_on_login: Option<bool>,
    /// Largest client frame, in bytes.
    #[arg(long, env = "DARKSTAR_MAX_FRAME", value_name = "BYTES")]
    pub max_frame: Option<u32>,
    /// Login timeout in milliseconds.
    #[arg(long, env = "DARKSTAR_LOGIN_TIMEOUT_MS", value_name = "MS")]
    pub login_timeout_ms: Option<u64>,
    /// Time to complete a frame, in milliseconds.
    #[arg(long, env = "DARKSTAR_FRAME_TIMEOUT_MS", value_name = "MS")]
    pub frame_timeout_ms: Option<u64>,
    /// Reconnection window in milliseconds.
    #[arg(long, env = "DARKSTAR_RESUME_WINDOW_MS", value_name = "MS")]
    pub resume_window_ms: Option<u32>,
    /// Outgoing queue bound per session, in KiB.
    #[arg(long, env = "DARKSTAR_SESSION_QUEUE_KIB", value_name = "KIB")]
    pub session_queue_kib: Option<u32>,
    /// Client messages accepted ahead of handling, per session.
    #[arg(long, env = "DARKSTAR_SESSION_WINDOW")]
    pub session_window: Option<u32>,
    /// Most sessions at once.
    #[arg(long, env = "DARKSTAR_MAX_SESSIONS")]
    pub max_sessions: Option<u32>,
    /// Threads serving client connections.
    #[arg(long, env = "DARKSTAR_NETWORK_THREADS")]
    pub network_threads: Option<usize>,
}

impl ServerArgs {
    /// The configuration: the file if one was given (else the defaults), with every flag or
    /// environment variable that is set on top.
    pub fn load(&self) -> Result<Config, ConfigError> {
        let mut c = match &self.config_file {
            Some(path) => Config::from_file(path)?,
            None => Config::default(),
        };
        if let Some(v) = &self.data_dir {
            c.data_dir = v.clone();
        }
        if let Some(v) = self.cores {
            c.cores = v;
        }
        if let Some(v) = self.task_time_limit_ms {
            c.task_time_limit_ms = v;
        }
        if let Some(v) = self.max_attempts {
            c.max_attempts = v;
        }
        if let Some(v) = self.reschedule_after_ms {
            c.reschedule_after_ms = v;
        }
        if let Some(v) = self.max_batch {
            c.max_batch = v;
        }
        if let Some(v) = self.relaxed_sync_ms {
            c.relaxed_sync_ms = v;
        }
        if let Some(v) = self.segment_size_mib {
            c.segment_size_mib = v;
        }
        if let Some(v) = self.durability {
            c.durability = v;
        }
        if let Some(v) = self.metrics_addr {
            c.metrics_addr = Some(v);
        }
        if let Some(v) = &self.log {
            c.log = v.clone();
        }
        if let Some(v) = self.tcp_addr {
            c.tcp_addr = Some(v);
        }
        if let Some(v) = self.ws_addr {
            c.ws_addr = Some(v);
        }
        if let Some(v) = self.login_mode {
            c.login_mode = v;
        }
        if let Some(v) = self.register_on_login {
            c.register_on_login = v;
        }
        if let Some(v) = self.max_frame {
            c.max_frame = v;
        }
        if let Some(v) = self.login_timeout_ms {
            c.login_timeout_ms = v;
        }
        if let Some(v) = self.frame_timeout_ms {
            c.frame_timeout_ms = v;
        }
        if let Some(v) = self.resume_window_ms {
            c.resume_window_ms = v;
        }
        if let Some(v) = self.session_queue_kib {
            c.session_queue_kib = v;
        }
        if let Some(v) = self.session_window {
            c.session_window = v;
        }
        if let Some(v) = self.max_sessions {
            c.max_sessions = v;
        }
        if let Some(v) = self.network_threads {
            c.network_threads = v;
        }
        c.validate()?;
        Ok(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use clap::Parser;

    #[derive(Parser)]
    struct Cli {
        #[command(flatten)]
        server: ServerArgs,
    }

    #[test]
    fn file_values_and_flags_layer() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("server.toml");
        std::fs::write(
            &path,
            "cores = 3\nmax_batch = 8\ndurability = \"relaxed\"\n",
        )
        .unwrap();
        let cli = Cli::parse_from([
            "game",
            "--config",
            path.to_str().unwrap(),
            "--max-batch",
            "16",
        ]);
        let c = cli.server.load().unwrap();
        assert_eq!(c.cores, 3, "from the file");
        assert_eq!(c.max_batch, 16, "the flag wins over the file");
        assert_eq!(c.durability, DurabilityMode::Relaxed);
        assert_eq!(c.task_time_limit_ms, 100, "default");
    }

    #[test]
    fn bad_files_say_what_and_where() {
        let p = Path::new("server.toml");
        let e = Config::from_toml("cores = 2\ncorez = 3\n", p)
            .unwrap_err()
            .to_string();
        assert!(
            e.contains("server.toml") && e.contains("corez") && e.contains("line 2"),
            "{e}"
        );
        let e = Config::from_toml("cores = \"two\"\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("cores") && e.contains("line 1"), "{e}");
        let e = Config::from_toml("max_batch = 0\n", p)
            .unwrap_err()
            .to_string();
        assert!(e.contains("max_batch"), "{e}");
    }
}
