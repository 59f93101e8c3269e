//! Every configuration key, declared once: its doc comment (also its `--help` text and its
//! meaning in the book), name, type, default, environment variable, flag value name and
//! allowed range. The flag is the name with dashes. `config_keys!` generates `Config`, its
//! `Default`, `ServerArgs` and the layering and range checks from this table, and a test
//! writes the book's reference table from it.
//!
//! Keys are grouped by concern, in the order the book and `--help` list them.

use std::net::SocketAddr;
use std::path::PathBuf;

use super::macros::{config_keys, NonEmpty};
use super::{DuplicateLogin, DurabilityMode, LoginMode};

config_keys! {
    // The store and tasks.

    /// Directory of the data store; created if missing.
    data_dir: PathBuf = PathBuf::from("data"),
        env = "DARKSTAR_DATA_DIR", value_name = "DIR", valid = NonEmpty;
    /// Executor threads, one per core; 0 means one per available CPU.
    cores: usize = 0,
        env = "DARKSTAR_CORES", valid = ..=256;
    /// A task run is aborted (and retried) after this many milliseconds.
    task_time_limit_ms: u64 = 100,
        env = "DARKSTAR_TASK_TIME_LIMIT_MS", value_name = "MS", valid = 1..=3_600_000;
    /// Retryable failures in a row before a task is rescheduled for later (and reported).
    max_attempts: u32 = 10,
        env = "DARKSTAR_MAX_ATTEMPTS", valid = 1..;
    /// How much later a task that keeps failing is tried again, in milliseconds.
    reschedule_after_ms: u64 = 1000,
        env = "DARKSTAR_RESCHEDULE_AFTER_MS", value_name = "MS", valid = ..=86_400_000;
    /// Most tasks a core commits together in one batch.
    max_batch: usize = 64,
        env = "DARKSTAR_MAX_BATCH", valid = 1..=4096;
    /// How commits reach the disk.
    durability: DurabilityMode = DurabilityMode::Full,
        env = "DARKSTAR_DURABILITY";
    /// Sync interval under relaxed durability, in milliseconds.
    relaxed_sync_ms: u64 = 10,
        env = "DARKSTAR_RELAXED_SYNC_MS", value_name = "MS", valid = 1..;
    /// Size of the store's segment files, in MiB.
    segment_size_mib: u32 = 64,
        env = "DARKSTAR_SEGMENT_SIZE_MIB", value_name = "MIB", valid = 1..=1024;
    /// Objects and stored tasks a start-up migration rewrites per commit.
    migration_batch: usize = 4096,
        env = "DARKSTAR_MIGRATION_BATCH", valid = 1..=1_000_000;

    // Metrics and logs.

    /// Where to serve Prometheus metrics (`/metrics`); unset, they are not served.
    metrics_addr: Option<SocketAddr> = None,
        env = "DARKSTAR_METRICS_ADDR", value_name = "ADDR";
    /// Log filter in `tracing` syntax (`info`, `darkstar_runtime=debug`); `RUST_LOG` wins.
    log: String = "info".to_owned(),
        env = "DARKSTAR_LOG", value_name = "FILTER";

    // Administration.

    /// Where to serve the admin API and the dashboard; unset, they are not served. Keep it
    /// on loopback or a private network, and never on a game port.
    admin_addr: Option<SocketAddr> = None,
        env = "DARKSTAR_ADMIN_ADDR", value_name = "ADDR";
    /// The token every admin request but the health check must carry (`Authorization:
    /// Bearer <token>`), at least 16 characters; required with `admin_addr`. Prefer the
    /// environment variable to the flag, which other users can read in the process list.
    admin_token: Option<String> = None,
        env = "DARKSTAR_ADMIN_TOKEN", value_name = "TOKEN";

    // Network and login.

    /// Where clients connect over TCP; unset, the server takes no TCP clients.
    tcp_addr: Option<SocketAddr> = None,
        env = "DARKSTAR_TCP_ADDR", value_name = "ADDR";
    /// Where clients connect over WebSocket; unset, the server takes no WebSocket clients.
    ws_addr: Option<SocketAddr> = None,
        env = "DARKSTAR_WS_ADDR", value_name = "ADDR";
    /// Who may log in.
    login_mode: LoginMode = LoginMode::Password,
        env = "DARKSTAR_LOGIN_MODE";
    /// In password mode, whether a login under an unknown name creates that account.
    register_on_login: bool = false,
        env = "DARKSTAR_REGISTER_ON_LOGIN";
    /// What a login does when its identity already has a session.
    duplicate_login: DuplicateLogin = DuplicateLogin::Replace,
        env = "DARKSTAR_DUPLICATE_LOGIN";
    /// The largest frame a client may send, in bytes after the length prefix.
    max_frame: u32 = darkstar_protocol::DEFAULT_MAX_FRAME,
        env = "DARKSTAR_MAX_FRAME", value_name = "BYTES", valid = 64..=(64 << 20);
    /// A connection must log in (or resume) within this many milliseconds.
    login_timeout_ms: u64 = 10_000,
        env = "DARKSTAR_LOGIN_TIMEOUT_MS", value_name = "MS", valid = 1..=3_600_000;
    /// A frame whose first bytes arrived must be complete within this many milliseconds.
    frame_timeout_ms: u64 = 10_000,
        env = "DARKSTAR_FRAME_TIMEOUT_MS", value_name = "MS", valid = 1..=3_600_000;
    /// How long a session whose connection dropped waits for its client to resume, in
    /// milliseconds; also how long the sessions a restart restores wait, and in a cluster
    /// the sessions of a node that died, for a resume on another node.
    resume_window_ms: u32 = 30_000,
        env = "DARKSTAR_RESUME_WINDOW_MS", value_name = "MS", valid = ..=86_400_000;
    /// Unacknowledged bytes queued for one session before its client counts as too slow
    /// and is disconnected, in KiB.
    session_queue_kib: u32 = 1024,
        env = "DARKSTAR_SESSION_QUEUE_KIB", value_name = "KIB", valid = 1..=65536;
    /// Client messages accepted from one session before the first of them is handled;
    /// past this the server stops reading that connection.
    session_window: u32 = 256,
        env = "DARKSTAR_SESSION_WINDOW", valid = 1..=65_536;
    /// Most sessions at once; further logins are refused.
    max_sessions: u32 = 100_000,
        env = "DARKSTAR_MAX_SESSIONS", valid = 1..;
    /// Threads serving client connections.
    network_threads: usize = 1,
        env = "DARKSTAR_NETWORK_THREADS", valid = 1..=64;

    // Limits against hostile clients.

    /// Threads that hash passwords (argon2, 19 MiB of memory each while hashing), running
    /// only when game work leaves a CPU idle; 0 means one per two cores (at least one).
    login_threads: usize = 0,
        env = "DARKSTAR_LOGIN_THREADS", valid = ..=256;
    /// Logins that may wait for a hashing thread; further ones are refused as `busy`.
    login_queue: u32 = 1024,
        env = "DARKSTAR_LOGIN_QUEUE", valid = 1..;
    /// Logins from one IP address that may wait for a hashing thread at once (waiting
    /// logins are taken round-robin by address); further ones are refused as `busy`. 0 means
    /// no limit but `login_queue`.
    login_queue_per_address: u32 = 8,
        env = "DARKSTAR_LOGIN_QUEUE_PER_ADDRESS";
    /// Connections that have not logged in yet, from all addresses together; further ones
    /// are refused as `busy`.
    max_unauthenticated: u32 = 10_000,
        env = "DARKSTAR_MAX_UNAUTHENTICATED", valid = 1..;
    /// Connections open at once from one IP address; 0 means no limit.
    max_connections_per_address: u32 = 256,
        env = "DARKSTAR_MAX_CONNECTIONS_PER_ADDRESS";
    /// New connections per second from one IP address (in bursts of as many); 0 means no
    /// limit.
    connections_per_sec_per_address: u32 = 64,
        env = "DARKSTAR_CONNECTIONS_PER_SEC_PER_ADDRESS";
    /// Login attempts per second from one IP address (in bursts of as many); 0 means no
    /// limit.
    logins_per_sec_per_address: u32 = 32,
        env = "DARKSTAR_LOGINS_PER_SEC_PER_ADDRESS";
    /// Messages per second one session may send (in bursts of as many); the server reads
    /// no faster, so excess waits in the client's connection. 0 means no limit.
    session_messages_per_sec: u32 = 100,
        env = "DARKSTAR_SESSION_MESSAGES_PER_SEC";
    /// KiB per second one session may send, like `session_messages_per_sec`; 0 means no
    /// limit.
    session_kib_per_sec: u32 = 256,
        env = "DARKSTAR_SESSION_KIB_PER_SEC", value_name = "KIB";
    /// Of those, messages per second one session may send to channels (each costs a
    /// delivery to every member), like `session_messages_per_sec`; 0 means no limit.
    channel_messages_per_sec: u32 = 20,
        env = "DARKSTAR_CHANNEL_MESSAGES_PER_SEC";

    // A cluster. All unset, the server runs alone on its own store.

    /// etcd endpoints of the cluster, comma separated (`http://10.0.0.5:2379,...`). Set
    /// together with `cluster_postgres`, the server runs as one node of a cluster.
    cluster_etcd: Option<String> = None,
        env = "DARKSTAR_CLUSTER_ETCD", value_name = "URLS";
    /// PostgreSQL connection string of the cluster's shared commit log
    /// (`host=10.0.0.6 user=darkstar dbname=darkstar`).
    cluster_postgres: Option<String> = None,
        env = "DARKSTAR_CLUSTER_POSTGRES", value_name = "CONNINFO";
    /// The cluster's name: its etcd key prefix and its PostgreSQL schema (lower-case
    /// letters, digits and `_`, starting with a letter).
    cluster_name: String = "darkstar".to_owned(),
        env = "DARKSTAR_CLUSTER_NAME", value_name = "NAME";
    /// This node's name, unique among the cluster's live nodes (letters, digits, `-`, `_`,
    /// `.`); unset, the host name.
    node_name: Option<String> = None,
        env = "DARKSTAR_NODE_NAME", value_name = "NAME";
    /// The address clients reach this node on (`host:port`), published to the other nodes
    /// for redirects; unset, the TCP listener's address.
    advertise_addr: Option<String> = None,
        env = "DARKSTAR_ADVERTISE_ADDR", value_name = "HOST:PORT";
    /// The address WebSocket clients reach this node on (`host:port`), published for the
    /// redirects of WebSocket clients; unset, the WebSocket listener's address.
    advertise_ws_addr: Option<String> = None,
        env = "DARKSTAR_ADVERTISE_WS_ADDR", value_name = "HOST:PORT";
    /// Seconds a node's etcd lease outlives its last renewal: how soon a dead node counts
    /// as dead.
    lease_ttl_secs: u64 = 2,
        env = "DARKSTAR_LEASE_TTL_SECS", value_name = "SECS", valid = 1..=60;
    /// Log records between checkpoints of the world, from which a new node starts and
    /// below which the log is trimmed; 0 means no checkpoints (and no trimming).
    checkpoint_records: u64 = 100_000,
        env = "DARKSTAR_CHECKPOINT_RECORDS", value_name = "RECORDS";
}
