//! Starting, using and stopping a server.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::time::Duration;

use darkstar_sdk::{encode, App, Context, Task, TaskError, Types};
use darkstar_storage::{Batch, Durability, Options, Store};
use glommio::{LocalExecutorPoolBuilder, PoolPlacement, PoolThreadHandles};
use parking_lot::Mutex;
use tracing::info;

use crate::attempt::attempt;
use crate::catalog;
use crate::changes::Changes;
use crate::cluster;
use crate::config::{Config, DurabilityMode, LoginMode};
use crate::core::{self, CoreSetup};
use crate::data::{Base, DataService, EmbeddedData};
use crate::error::{ShutdownError, StartError};
use crate::job::{Job, Refs, Reply, Submitted};
use crate::names;
use crate::net::{Account, Accounts, Authenticator, DevelopmentAuthenticator, Network};
use crate::placement::Placement;
use crate::registry::Registry;
use crate::session::{
    load_secret, restore as restore_sessions, spawn_trimmer, Journal, Outbox, PostOffice,
    SessionSecret,
};
use crate::shared::{Limits, Shared};
use crate::stats::RuntimeStats;
use crate::store_disk::StoreDisk;

/// The time limit of `initialize` and queries: they run outside the executors, where a
/// long run delays nobody.
const NO_LIMIT: Duration = Duration::from_secs(24 * 3600);

/// How long a starting cluster node waits for the meta-service to place it.
const PLACEMENT_PATIENCE: Duration = Duration::from_secs(60);

/// Configures and starts a [`Server`].
pub struct ServerBuilder {
    app: Arc<dyn App>,
    config: Config,
    authenticator: Option<Arc<dyn Authenticator>>,
    store_disk: StoreDisk,
}

impl ServerBuilder {
    /// Replaces the whole configuration.
    pub fn config(mut self, config: Config) -> ServerBuilder {
        self.config = config;
        self
    }

    /// Sets the data store's directory.
    pub fn data_dir(mut self, dir: impl Into<std::path::PathBuf>) -> ServerBuilder {
        self.config.data_dir = dir.into();
        self
    }

    /// Sets the number of executor threads (0: one per CPU).
    pub fn cores(mut self, cores: usize) -> ServerBuilder {
        self.config.cores = cores;
        self
    }

    /// Replaces the configured login check (`login_mode`) with `authenticator`.
    pub fn authenticator(mut self, authenticator: impl Authenticator) -> ServerBuilder {
        self.authenticator = Some(Arc::new(authenticator));
        self
    }

    /// Opens the store, runs `initialize` if this store never ran it, loads the stored
    /// tasks, starts one executor per core, restores the sessions a previous run left open,
    /// and starts the client listeners.
    pub fn start(self) -> Result<Server, StartError> {
        Server::start(self.app, self.config, self.authenticator, self.store_disk)
    }

    /// Writes the store through `disk`, a recording disk for power-loss tests. Only with
    /// the `simulated-disk` feature.
    #[cfg(feature = "simulated-disk")]
    pub fn store_disk(mut self, disk: darkstar_storage::sim::RecordingDisk) -> ServerBuilder {
        self.store_disk.disk = Some(disk);
        self
    }

    /// Breaks the server on purpose, for tests that must catch it: replies, session
    /// messages and channel messages leave as soon as their commit is visible, before it
    /// is synced. Only with the `simulated-disk` feature.
    #[cfg(feature = "simulated-disk")]
    pub fn acknowledge_before_sync(mut self, yes: bool) -> ServerBuilder {
        self.store_disk.acknowledge_before_sync = yes;
        self
    }
}

/// A running server. Dropping it shuts it down.
pub struct Server {
    shared: Arc<Shared>,
    threads: Option<PoolThreadHandles<()>>,
    network: Network,
    accounts: Accounts,
    cores: usize,
    /// This server's membership of its cluster, if it is a node of one.
    cluster: Option<cluster::Node>,
    /// On a single server, the thread removing acknowledged outbox entries.
    trimmer: Option<std::thread::JoinHandle<()>>,
    /// The admin API and dashboard, if `admin_addr` is set.
    admin: Option<crate::admin::AdminListener>,
}

impl std::fmt::Debug for Server {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Server")
            .field("cores", &self.cores)
            .field("dir", &self.shared.store.dir())
            .finish()
    }
}

/// Why [`Server::wait_for_stop`] returned.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum StopCause {
    /// This signal arrived (SIGINT or SIGTERM).
    Signal(i32),
    /// The server stopped by itself, for this reason.
    Stopped(String),
}

/// The outcome of a submitted task, available once its commit is durable.
#[derive(Debug)]
pub struct Submission {
    rx: flume::Receiver<Result<(), TaskError>>,
}

impl Submission {
    /// Blocks until the task has committed durably (or failed for good).
    pub fn wait(self) -> Result<(), TaskError> {
        self.rx.recv().unwrap_or_else(|_| {
            Err(TaskError::Unavailable {
                reason: "the server stopped".to_owned(),
            })
        })
    }
}

impl std::future::IntoFuture for Submission {
    type Output = Result<(), TaskError>;
    type IntoFuture = std::pin::Pin<Box<dyn std::future::Future<Output = Self::Output> + Send>>;

    fn into_future(self) -> Self::IntoFuture {
        Box::pin(async move {
            self.rx.recv_async().await.unwrap_or_else(|_| {
                Err(TaskError::Unavailable {
                    reason: "the server stopped".to_owned(),
                })
            })
        })
    }
}

impl Server {
    /// A builder for a server running `app`, with the default configuration.
    pub fn builder(app: impl App) -> ServerBuilder {
        ServerBuilder {
            app: Arc::new(app),
            config: Config::default(),
            authenticator: None,
            store_disk: StoreDisk::default(),
        }
    }

    fn start(
        app: Arc<dyn App>,
        config: Config,
        authenticator: Option<Arc<dyn Authenticator>>,
        store_disk: StoreDisk,
    ) -> Result<Server, StartError> {
        config.validate()?;
        if let Some(addr) = config.metrics_addr {
            crate::metrics::serve_prometheus(addr)?;
        }
        let cores = config.effective_cores();
        // A cluster node joins first: an unreachable etcd or PostgreSQL stops the start
        // before anything is opened or started.
        let mut node = match cluster::Settings::of(&config) {
            Some(settings) => Some(cluster::Node::join(settings)?),
            None => None,
        };
        let mut options = Options {
            create: true,
            segment_size: config.segment_size_mib << 20,
            durability: match config.durability {
                DurabilityMode::Full => Durability::Full,
                DurabilityMode::Relaxed => Durability::Relaxed {
                    interval: Duration::from_millis(config.relaxed_sync_ms),
                },
            },
            ..Options::default()
        };
        if node.is_some() {
            options = cluster::replica_options(options);
        }
        store_disk.apply(&mut options);
        let store = Arc::new(Store::open(&config.data_dir, options)?);
        if let Some(n) = &node {
            n.restore_if_empty(&store)?;
        }
        let post = Arc::new(PostOffice::default());
        // On a single server, commits store what they deliver (the outbox); in a cluster
        // the log holds it.
        let (outbox, outbox_entries) = match &node {
            Some(_) => (None, Vec::new()),
            None => {
                let (journal, entries) = Journal::open(&store.snapshot());
                (Some(Arc::new(journal)), entries)
            }
        };
        let data: Arc<dyn DataService> = match (&node, &outbox) {
            (Some(n), _) => n.replica(),
            (None, Some(journal)) => Arc::new(EmbeddedData::new(
                store.clone(),
                post.clone(),
                journal.clone(),
            )),
            (None, None) => unreachable!("a single server has an outbox"),
        };
        let mut types = Types::new();
        app.register(&mut types);
        types.object::<Account>();
        types.object::<SessionSecret>();
        types.object::<Outbox>();
        if let Some(&name) = types.clashes().first() {
            return Err(StartError::DuplicateTypeName(name));
        }
        check_names(&types)?;
        let registry = Registry::new(&types);
        let (senders, receivers): (Vec<_>, Vec<_>) = (0..cores).map(|_| flume::unbounded()).unzip();
        let shared = Arc::new(Shared::new(
            store,
            data,
            post,
            registry,
            app.clone(),
            types,
            Placement::new(cores),
            if let Some(n) = &node {
                cluster::Ownership::nothing(n.name())
            } else {
                cluster::Ownership::everything()
            },
            senders,
            Limits {
                time_limit: config.task_time_limit(),
                max_attempts: config.max_attempts,
                reschedule_after: Duration::from_millis(config.reschedule_after_ms),
                max_batch: config.max_batch,
                max_message: (config.session_queue_kib as usize * 1024)
                    .saturating_sub(darkstar_protocol::MAX_DATA_FRAME_OVERHEAD),
            },
        ));
        let prepare = || -> Result<catalog::Opened, StartError> {
            let opened = catalog::open(
                &shared.store,
                &*shared.data,
                &shared.types,
                config.migration_batch,
            )?;
            initialize(&shared, app.as_ref())?;
            let secret =
                load_secret(&shared).map_err(|e| StartError::SessionSecret(e.to_string()))?;
            shared.set_session_secret(secret);
            Ok(opened)
        };
        let opened = match &mut node {
            Some(n) => {
                n.start(shared.clone());
                // One node at a time, caught up with the log: `initialize` runs once per
                // cluster, and a migration is done by the first node of the new build.
                n.exclusively(prepare)??
            }
            None => prepare()?,
        };
        let timers = load_timers(&shared)?;
        let total: usize = timers.iter().map(Vec::len).sum();
        let setups: Vec<Mutex<Option<CoreSetup>>> = receivers
            .into_iter()
            .zip(timers)
            .enumerate()
            .map(|(index, (inbox, timers))| {
                Mutex::new(Some(CoreSetup {
                    index,
                    shared: shared.clone(),
                    inbox,
                    timers,
                }))
            })
            .collect();
        let setups = Arc::new(setups);
        let next = Arc::new(AtomicUsize::new(0));
        let cpus = std::thread::available_parallelism().map_or(1, |n| n.get());
        let placement = if cores <= cpus {
            PoolPlacement::MaxSpread(cores, None)
        } else {
            PoolPlacement::Unbound(cores)
        };
        // Each executor reports once it runs: an executor that cannot start (io_uring
        // missing, memlock limit too low) fails its thread before that, and `start` must
        // fail rather than return a server that never runs a task.
        let (ready_tx, ready_rx) = std::sync::mpsc::channel::<usize>();
        let threads = LocalExecutorPoolBuilder::new(placement)
            .name("darkstar-core")
            .on_all_shards(move || {
                let setup = setups[next.fetch_add(1, Ordering::Relaxed)]
                    .lock()
                    .take()
                    .expect("one setup per executor");
                let ready = ready_tx.clone();
                async move {
                    let _ = ready.send(setup.index);
                    drop(ready);
                    core::run(setup).await
                }
            })
            .map_err(|e| StartError::Executors(e.to_string()))?;
        for _ in 0..cores {
            if ready_rx.recv_timeout(Duration::from_secs(30)).is_err() {
                shared.stop();
                let reason = threads
                    .join_all()
                    .into_iter()
                    .find_map(|r| r.err().map(|e| e.to_string()))
                    .unwrap_or_else(|| "an executor did not start within 30 s".to_owned());
                return Err(StartError::Executors(reason));
            }
        }
        // In a cluster, the sessions recorded in the store belong to every node.
        let restored = match node {
            None => restore_sessions(&shared, &config, shared.session_secret(), &outbox_entries),
            Some(_) => Vec::new(),
        };
        drop(outbox_entries);
        let accounts = Accounts::new(shared.clone(), config.register_on_login);
        // Logged at start-up: a wrong login mode otherwise shows only as clients' refusals.
        let login_mode = match (&authenticator, config.login_mode) {
            (Some(_), _) => "custom",
            (None, LoginMode::Password) => "password",
            (None, LoginMode::Development) => "development",
        };
        let authenticator = authenticator.unwrap_or_else(|| match config.login_mode {
            LoginMode::Password => Arc::new(accounts.clone()),
            LoginMode::Development => Arc::new(DevelopmentAuthenticator),
        });
        let mut server = Server {
            shared: shared.clone(),
            threads: Some(threads),
            network: Network::default(),
            accounts,
            cores,
            cluster: node,
            trimmer: None,
            admin: None,
        };
        let restored_sessions = restored.len();
        server.network = Network::start(shared.clone(), &config, authenticator, restored)?;
        if let Some(journal) = outbox {
            server.trimmer = Some(spawn_trimmer(shared, journal).map_err(|e| {
                StartError::Network(format!("cannot start the outbox thread: {e}"))
            })?);
        }
        if let Some(node) = &mut server.cluster {
            // Now that the listener is bound, the port is known: logins at other nodes
            // are redirected here.
            let address = config
                .advertise_addr
                .clone()
                .or_else(|| server.network.tcp_addr.map(|a| a.to_string()));
            let ws_address = config
                .advertise_ws_addr
                .clone()
                .or_else(|| server.network.ws_addr.map(|a| a.to_string()))
                .unwrap_or_default();
            if let Some(address) = address {
                node.publish_address(&address, &ws_address)?;
                let deadline = std::time::Instant::now() + PLACEMENT_PATIENCE;
                if !server.shared.ownership.wait_placed(&address, deadline) {
                    return Err(StartError::Cluster(cluster::ClusterError::Unplaced {
                        waited_secs: PLACEMENT_PATIENCE.as_secs(),
                    }));
                }
            }
        }
        server.shared.ownership.mark_started();
        if let Some(addr) = config.admin_addr {
            let view = crate::admin::View {
                shared: server.shared.clone(),
                accounts: server.accounts.clone(),
                tcp_addr: server.network.tcp_addr,
                ws_addr: server.network.ws_addr,
                cluster: server.cluster.as_ref().map(cluster::Node::operator),
                started: std::time::Instant::now(),
            };
            server.admin = Some(crate::admin::AdminListener::start(
                addr,
                config.admin_token.as_deref(),
                view,
            )?);
        }
        info!(
            cores,
            dir = %config.data_dir.display(),
            stored_tasks = total,
            migrated_objects = opened.objects.rewritten,
            migrated_tasks = opened.tasks.rewritten,
            restored_sessions,
            login_mode = %login_mode,
            register_on_login = config.register_on_login,
            tcp_addr = server.network.tcp_addr.map(tracing::field::display),
            ws_addr = server.network.ws_addr.map(tracing::field::display),
            admin_addr = server.admin.as_ref().map(|a| tracing::field::display(a.addr())),
            "server started"
        );
        if server.network.tcp_addr.is_none() && server.network.ws_addr.is_none() {
            info!(
                "no client listener is configured, so no client can connect; set tcp_addr \
                 (flag --tcp-addr, DARKSTAR_TCP_ADDR) or ws_addr (--ws-addr) to take clients"
            );
        }
        Ok(server)
    }

    /// Runs `task` as soon as possible, outside any transaction (as a client request would);
    /// the returned [`Submission`] resolves once its commit is durable.
    pub fn submit<T: Task>(&self, task: T) -> Submission {
        let (tx, rx) = flume::bounded(1);
        self.submit_with(task, move |r| {
            let _ = tx.send(r);
        });
        Submission { rx }
    }

    /// Runs `task` as soon as possible and calls `reply` with the outcome once its commit is
    /// durable. `reply` runs on an executor thread (keep it short), or on the calling thread if
    /// the task is refused at once (unregistered, or the server is stopping).
    pub fn submit_with<T: Task>(
        &self,
        task: T,
        reply: impl FnOnce(Result<(), TaskError>) + Send + 'static,
    ) {
        let reply: Reply = Box::new(reply);
        if self.shared.stopping() {
            return reply(Err(TaskError::Unavailable {
                reason: "the server is shutting down".to_owned(),
            }));
        }
        let Some((ty, _)) = self.shared.registry.task(T::STORED_NAME) else {
            return reply(Err(TaskError::Unregistered {
                type_name: T::TYPE_NAME,
            }));
        };
        let mut refs = Refs::new();
        task.refs(&mut |id| refs.push(id));
        let affinity = task.affinity();
        let args = match encode(&task, T::TYPE_NAME) {
            Ok(args) => args,
            Err(e) => return reply(Err(e)),
        };
        let core = self.shared.placement.route(affinity, &refs);
        let job = Job::Submitted(Submitted {
            ty,
            args,
            refs,
            affinity,
            reply: Some(reply),
            attempts: 0,
            rescheduled: 0,
        });
        if let Err(Job::Submitted(s)) = self.shared.send(core, job) {
            if let Some(reply) = s.reply {
                reply(Err(TaskError::Unavailable {
                    reason: "the server stopped".to_owned(),
                }));
            }
        }
    }

    /// The address TCP clients connect to, if the server listens for them (with port 0 in
    /// the configuration, the port the system chose).
    pub fn tcp_addr(&self) -> Option<std::net::SocketAddr> {
        self.network.tcp_addr
    }

    /// The address WebSocket clients connect to, if the server listens for them.
    pub fn ws_addr(&self) -> Option<std::net::SocketAddr> {
        self.network.ws_addr
    }

    /// The address of the admin API and dashboard, if `admin_addr` is set (with port 0 in
    /// the configuration, the port the system chose).
    pub fn admin_addr(&self) -> Option<std::net::SocketAddr> {
        self.admin.as_ref().map(crate::admin::AdminListener::addr)
    }

    /// The password accounts kept in the store: the admin path to create them.
    pub fn accounts(&self) -> &Accounts {
        &self.accounts
    }

    /// The number of live sessions.
    pub fn sessions(&self) -> usize {
        self.shared.sessions.len()
    }

    /// How many sessions the store records as open: on one server, the live ones and
    /// those restored and waiting for their clients; in a cluster, every node's, as this
    /// node's replica has them (a dead node's sessions count until they are resumed
    /// elsewhere or ended once the resume window has passed).
    pub fn stored_sessions(&self) -> usize {
        crate::names::count_with_prefix(
            &self.shared.store.snapshot(),
            crate::session::SESSION_PREFIX,
        )
    }

    /// The placement table, to move affinity slots between cores.
    pub fn placement(&self) -> &Placement {
        &self.shared.placement
    }

    /// In a cluster, the last position of the shared log this node has applied; `None`
    /// for a server on its own.
    pub fn log_position(&self) -> Option<u64> {
        self.cluster.as_ref().map(cluster::Node::applied)
    }

    /// In a cluster, this node's figures about the shared log (positions, records, bytes,
    /// verdicts, apply lag) since it started; `None` for a server on its own.
    pub fn cluster_stats(&self) -> Option<cluster::ClusterStats> {
        self.cluster.as_ref().map(cluster::Node::stats)
    }

    /// The number of executor threads.
    pub fn cores(&self) -> usize {
        self.cores
    }

    /// Totals since the server started.
    pub fn stats(&self) -> RuntimeStats {
        RuntimeStats::sum(&self.shared.counters)
    }

    /// Reads the world as of now, on the calling thread: `read` runs against a snapshot of
    /// every commit so far, like a read-only task, and its result is returned. Writes are
    /// refused with [`TaskError::Aborted`]. For tools, tests and status displays; game logic
    /// belongs in tasks.
    pub fn query<R>(
        &self,
        read: impl FnOnce(&Context<'_>) -> Result<R, TaskError>,
    ) -> Result<R, TaskError> {
        let snap = self.shared.store.snapshot();
        let empty = Changes::default();
        let mut out = None;
        let (outcome, own) = attempt(
            &self.shared,
            NO_LIMIT,
            Base {
                snap: &snap,
                pending: &VecDeque::new(),
            },
            &empty,
            None,
            Changes::default(),
            |ctx| {
                out = Some(read(ctx)?);
                Ok(())
            },
        );
        outcome.map_err(|f| f.into_error())?;
        if !(own.objects.is_empty() && own.names.is_empty() && own.tasks.is_empty()) {
            return Err(TaskError::abort("a query cannot write"));
        }
        Ok(out.expect("set when the query succeeded"))
    }

    /// Store statistics.
    pub fn store_stats(&self) -> darkstar_storage::Stats {
        self.shared.store.stats()
    }

    /// Blocks until SIGINT or SIGTERM, then shuts down gracefully. Returns early, with
    /// [`ShutdownError::Stopped`] once shut down, if the server stops by itself (a cluster
    /// node that lost its place in the cluster, or can no longer apply the log).
    pub fn run_until_signal(self) -> Result<(), ShutdownError> {
        let stop = self.wait_for_stop()?;
        let result = self.shutdown();
        match stop {
            StopCause::Signal(_) => result,
            StopCause::Stopped(reason) => result.and(Err(ShutdownError::Stopped(reason))),
        }
    }

    /// Blocks until SIGINT or SIGTERM arrives, or until the server stops by itself, and
    /// says which. Call [`shutdown`](Self::shutdown) after it either way.
    pub fn wait_for_stop(&self) -> Result<StopCause, ShutdownError> {
        use signal_hook::consts::{SIGINT, SIGTERM};
        let mut signals = signal_hook::iterator::Signals::new([SIGINT, SIGTERM])?;
        let handle = signals.handle();
        let shared = self.shared.clone();
        // Closing the signal iterator ends the wait below when the server stops itself.
        std::thread::Builder::new()
            .name("darkstar-stop-watch".to_owned())
            .spawn(move || {
                shared.wait_stopped();
                handle.close();
            })?;
        match signals.forever().next() {
            Some(sig) => {
                info!(signal = sig, "shutting down");
                Ok(StopCause::Signal(sig))
            }
            None => Ok(StopCause::Stopped(
                self.shared
                    .stop_reason()
                    .unwrap_or("asked to stop")
                    .to_owned(),
            )),
        }
    }

    /// Whether the server stopped by itself, and why.
    pub fn stopped_because(&self) -> Option<String> {
        self.shared.stop_reason().map(str::to_owned)
    }

    /// Stops taking work, lets each core finish its current batch and make it durable,
    /// tells pending submitters the server is stopping, syncs and closes the store. Stored
    /// tasks stay stored and resume on the next start.
    pub fn shutdown(mut self) -> Result<(), ShutdownError> {
        self.stop()
    }

    fn stop(&mut self) -> Result<(), ShutdownError> {
        let Some(threads) = self.threads.take() else {
            return Ok(());
        };
        // First, so that no operator acts on a server half stopped.
        self.admin = None;
        self.network.stop(&self.shared);
        self.shared.stop();
        let mut result = Ok(());
        for r in threads.join_all() {
            if let Err(e) = r {
                result = Err(ShutdownError::Executor(e.to_string()));
            }
        }
        // After the cores: they wait for the verdicts on their last proposals.
        if let Some(node) = &mut self.cluster {
            node.stop();
        }
        if let Some(trimmer) = self.trimmer.take() {
            let _ = trimmer.join();
        }
        self.shared.store.sync()?;
        info!("server stopped");
        result
    }
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}

/// Every name stored values are found under (stable names and aliases) belongs to one
/// registered type, and no such name is also declared removed: the catalog hands each
/// stored name to the one type that answers to it.
fn check_names(types: &Types) -> Result<(), StartError> {
    let stored = types
        .objects()
        .iter()
        .chain(types.tasks().iter().map(|t| &t.stored));
    let mut seen: Vec<(&'static str, &'static str)> = Vec::new();
    for ty in stored {
        for &name in std::iter::once(&ty.name).chain(ty.aliases) {
            if seen
                .iter()
                .any(|&(n, owner)| n == name && owner != ty.stored_name)
            {
                return Err(StartError::DuplicateTypeName(name));
            }
            seen.push((name, ty.stored_name));
        }
    }
    match types
        .removed_names()
        .iter()
        .find(|removed| seen.iter().any(|(n, _)| n == *removed))
    {
        Some(&name) => Err(StartError::RemovedTypeRegistered(name)),
        None => Ok(()),
    }
}

/// Runs `App::initialize` unless this store already ran it; its commit also records that
/// it ran, so it happens exactly once per store.
fn initialize(shared: &Shared, app: &dyn App) -> Result<(), StartError> {
    let snap = shared.store.snapshot();
    if snap.name(names::INITIALIZED).is_some() {
        return Ok(());
    }
    let empty = Changes::default();
    let (outcome, mut own) = attempt(
        shared,
        NO_LIMIT,
        Base {
            snap: &snap,
            pending: &VecDeque::new(),
        },
        &empty,
        None,
        Changes::default(),
        |ctx| app.initialize(ctx),
    );
    outcome.map_err(|f| StartError::Initialize(f.into_error()))?;
    own.names.insert(names::INITIALIZED.to_owned(), Some(0));
    own.reads.names.insert(names::INITIALIZED.to_owned(), 0);
    let mut batch = Batch::new();
    own.fill(&mut batch);
    let seq = shared.data.commit_now(&mut batch)?;
    shared.store.wait_acknowledged(seq)?;
    info!(
        scheduled = own.scheduled.len(),
        "App::initialize ran for this new store"
    );
    Ok(())
}

/// Reads every stored task's header and hands those of this node's slots to their cores:
/// `(due_ms, id)` per core. Every task is checked, so a store with a task of an unknown
/// type or a damaged record is refused whichever node starts on it.
fn load_timers(shared: &Shared) -> Result<Vec<Vec<(u64, u64)>>, StartError> {
    crate::stored_tasks::by_core(shared, |slot| shared.ownership.owns(slot))
}
