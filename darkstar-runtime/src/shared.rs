//! State every core shares.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use std::sync::Arc;

use darkstar_protocol::DisconnectReason;
use darkstar_sdk::{App, Types};
use darkstar_storage::Store;

use crate::cluster::Ownership;
use crate::data::DataService;
use crate::job::{Job, Reply};
use crate::placement::Placement;
use crate::registry::Registry;
use crate::session::{PostOffice, SessionEvent, SessionJob, SessionLink, SessionTable};
use crate::stats::CoreCounters;

/// How tasks are run and retried.
#[derive(Clone, Copy, Debug)]
pub(crate) struct Limits {
    /// A run is aborted (and retried) once it passes this.
    pub time_limit: Duration,
    /// Retryable failures in a row before a task is rescheduled for later.
    pub max_attempts: u32,
    /// How much later.
    pub reschedule_after: Duration,
    /// Most tasks committed together by one core.
    pub max_batch: usize,
    /// The longest message body a task may send to a session or channel: its frame must
    /// fit a session's outgoing queue.
    pub max_message: usize,
}

/// The server's state, shared by its cores, its network threads and its handle.
pub(crate) struct Shared {
    /// The local store: the whole world on one machine, this node's replica in a cluster.
    pub store: Arc<Store>,
    /// Where commits are decided: the local store, or the shared log.
    pub data: Arc<dyn DataService>,
    pub registry: Registry,
    pub app: Arc<dyn App>,
    /// What the app registered, for the session hooks.
    pub types: Types,
    pub sessions: SessionTable,
    pub post: Arc<PostOffice>,
    pub placement: Placement,
    /// The slots this node owns (every slot, on its own).
    pub ownership: Ownership,
    pub inboxes: Vec<flume::Sender<Job>>,
    pub limits: Limits,
    /// Totals per core.
    pub counters: Vec<CoreCounters>,
    /// The secret resume keys come from, read (or made) at start-up.
    session_secret: std::sync::OnceLock<[u8; 32]>,
    stopping: AtomicBool,
    /// Why the server stopped by itself, if it did (rather than being asked to).
    stop_reason: std::sync::OnceLock<String>,
    /// Wakes whoever waits for the server to stop.
    stopped: (parking_lot::Mutex<bool>, parking_lot::Condvar),
}

impl Shared {
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        store: Arc<Store>,
        data: Arc<dyn DataService>,
        post: Arc<PostOffice>,
        registry: Registry,
        app: Arc<dyn App>,
        types: Types,
        placement: Placement,
        ownership: Ownership,
        inboxes: Vec<flume::Sender<Job>>,
        limits: Limits,
    ) -> Shared {
        assert_eq!(placement.cores(), inboxes.len());
        let inboxes_len = inboxes.len();
        let task_types = registry.names().len();
        Shared {
            store,
            data,
            registry,
            app,
            types,
            sessions: SessionTable::default(),
            post,
            placement,
            ownership,
            inboxes,
            limits,
            counters: (0..inboxes_len)
                .map(|_| CoreCounters::new(task_types))
                .collect(),
            session_secret: std::sync::OnceLock::new(),
            stopping: AtomicBool::new(false),
            stop_reason: std::sync::OnceLock::new(),
            stopped: Default::default(),
        }
    }

    /// Keeps the session secret read at start-up.
    pub fn set_session_secret(&self, secret: [u8; 32]) {
        assert!(
            self.session_secret.set(secret).is_ok(),
            "the session secret is set once"
        );
    }

    /// The session secret (set before any client can log in).
    pub fn session_secret(&self) -> &[u8; 32] {
        self.session_secret
            .get()
            .expect("the session secret is set at start-up")
    }

    /// The resume key of session `id`.
    pub fn resume_key(&self, id: u64) -> [u8; darkstar_protocol::KEY_LEN] {
        crate::session::resume_key(self.session_secret(), id)
    }

    /// Whether shutdown has begun: no new work is taken.
    pub fn stopping(&self) -> bool {
        self.stopping.load(Ordering::Acquire)
    }

    /// Begins shutdown and wakes every core so idle ones notice.
    pub fn stop(&self) {
        self.stopping.store(true, Ordering::Release);
        for inbox in &self.inboxes {
            let _ = inbox.send(Job::Wake);
        }
        *self.stopped.0.lock() = true;
        self.stopped.1.notify_all();
    }

    /// Stops the server because it cannot go on (`reason` says why); the first reason
    /// given is kept.
    pub fn stop_because(&self, reason: String) {
        let _ = self.stop_reason.set(reason);
        self.stop();
    }

    /// Why the server stopped by itself, if it did.
    pub fn stop_reason(&self) -> Option<&str> {
        self.stop_reason.get().map(String::as_str)
    }

    /// Blocks until shutdown has begun.
    pub fn wait_stopped(&self) {
        let mut stopped = self.stopped.0.lock();
        while !*stopped {
            self.stopped.1.wait(&mut stopped);
        }
    }

    /// Blocks until shutdown has begun or `limit` has passed; whether it has begun.
    pub fn wait_stopped_for(&self, limit: std::time::Duration) -> bool {
        let deadline = std::time::Instant::now() + limit;
        let mut stopped = self.stopped.0.lock();
        while !*stopped {
            if self
                .stopped
                .1
                .wait_until(&mut stopped, deadline)
                .timed_out()
            {
                break;
            }
        }
        *stopped
    }

    /// Hands `job` to core `core`. Returns the job if that core has exited.
    pub fn send(&self, core: usize, job: Job) -> Result<(), Job> {
        self.inboxes[core].send(job).map_err(|e| e.into_inner())
    }

    /// Hands a session event to the session's core. Every event of one session goes to
    /// the same core (by its affinity slot, not by hot objects), so they run in order.
    pub fn submit_session(&self, session: u64, event: SessionEvent, reply: Option<Reply>) {
        let core = self.placement.route(Some(session), &[]);
        let job = Job::Session(SessionJob {
            session,
            event,
            reply,
            attempts: 0,
        });
        if let Err(Job::Session(j)) = self.send(core, job) {
            if let Some(reply) = j.reply {
                reply(Err(darkstar_sdk::TaskError::Unavailable {
                    reason: "the server stopped".to_owned(),
                }));
            }
        }
    }

    /// Ends a live session (once, whoever asks first): its connection is told `reason`,
    /// and its listener hears `disconnected(graceful)`.
    pub fn end_session(&self, session: u64, reason: DisconnectReason, text: &str, graceful: bool) {
        if let Some(link) = self.sessions.get(session) {
            self.end_link(&link, reason, text, graceful);
        }
    }

    /// [`end_session`](Self::end_session) for a link in hand (it may have left the table).
    pub fn end_link(
        &self,
        link: &Arc<SessionLink>,
        reason: DisconnectReason,
        text: &str,
        graceful: bool,
    ) {
        if !link.end(reason, text) {
            return;
        }
        // This link, not a newer one of the same session (taken over here again).
        self.sessions.remove_link(link);
        crate::metrics::session_ended(reason, link.was_started());
        tracing::debug!(session = link.id, %reason, text, "session ended");
        let finished = link.clone();
        self.submit_session(
            link.id,
            SessionEvent::Disconnected {
                graceful,
                holder: None,
            },
            Some(Box::new(move |_outcome| finished.mark_finished())),
        );
    }
}
