//! One core: an executor thread that runs tasks in batches and commits each batch at once.
//!
//! A core takes the jobs that are ready (submitted tasks, due timers), runs them one after
//! another against one store snapshot, each seeing the changes of those before it, and
//! commits all of their changes in one atomic store batch. The store validates every
//! snapshot read under its writer lock: if another core changed something the batch read,
//! nothing is applied and the batch runs again (the conflicting object counts towards
//! making it hot, see [`placement`](crate::placement)). Replies wait until the commit is
//! durable; the core meanwhile runs the next batch, so one sync covers many batches.
//!
//! In a cluster the batch goes to the shared log instead ([`DataService`](crate::data::DataService)), and its verdict
//! comes back later as a [`Job::Outcome`]. Meanwhile the core runs its next batches on top
//! of the proposed ones ([`Pending`]); a session's next job waits (is *parked*) until the
//! batch holding its previous one is decided, so a session's messages still run one after
//! another. Verdicts arrive in proposal order, since the log applies a node's records in
//! the order it appended them.

use std::collections::VecDeque;
use std::sync::Arc;
use std::time::{Duration, Instant};

use darkstar_sdk::hooks;
use darkstar_storage::{Batch, CommitError, ConflictKey, Snapshot};
use glommio::channels::local_channel::{self, LocalReceiver, LocalSender};
use metrics::Histogram;
use tracing::{error, warn};

use crate::attempt::{attempt, Failure};
use crate::changes::{Changes, TaskSlot};
use crate::clock::{millis, now_ms};
use crate::data::{Base, Commit, Outcome, Pending};
use crate::job::{Job, Refs, Reply};
use crate::metrics::CoreMetrics;
use crate::record::TaskHeader;
use crate::session::{handled_key, session_key, SessionEvent, SessionJob};
use crate::shared::Shared;
use crate::stats::CoreCounters;
use crate::timers::Timers;

/// Times a submitted task is rescheduled for later before its submitter gets the error.
const MAX_RESCHEDULES: u32 = 3;

/// A job whose changes are in the current batch.
struct Ran {
    /// Its position in the batch: jobs that run again keep their order.
    order: usize,
    job: Job,
    /// Its type's index in the registry.
    ty: usize,
    /// Whether it failed for good (a stored task whose record the batch still moves on).
    failed: bool,
}

/// A batch proposed to the shared log, waiting for its verdict: what settling it needs.
struct Proposed {
    ran: Vec<Ran>,
    settled_on_commit: Vec<(usize, Job, Option<darkstar_sdk::TaskError>)>,
    started: Instant,
    /// Sessions with a job in it: their next jobs are parked until it is decided.
    sessions: Vec<u64>,
}

/// How long a stopping core waits for the verdicts on its proposed batches.
const DRAIN_PROPOSED: Duration = Duration::from_secs(10);

/// A committed batch waiting for durability.
struct Done {
    seq: u64,
    started: Instant,
    replies: Vec<Reply>,
}

/// What a core starts with.
pub(crate) struct CoreSetup {
    pub index: usize,
    pub shared: Arc<Shared>,
    pub inbox: flume::Receiver<Job>,
    /// Stored tasks this core owns: `(due_ms, id)`.
    pub timers: Vec<(u64, u64)>,
}

/// Runs a core until shutdown.
pub(crate) async fn run(setup: CoreSetup) {
    let (done_tx, done_rx) = local_channel::new_unbounded();
    let metrics = CoreMetrics::new(
        setup.index,
        &setup.shared.registry,
        &setup.shared.counters[setup.index],
    );
    let completer = glommio::spawn_local(complete(
        setup.shared.clone(),
        done_rx,
        metrics.commit_seconds.clone(),
        setup.index,
    ));
    let mut core = Core {
        index: setup.index,
        shared: setup.shared,
        inbox: setup.inbox,
        queue: VecDeque::new(),
        timers: Timers::with_stored(setup.timers),
        metrics,
        batch: Batch::new(),
        overlay: Changes::default(),
        own: Changes::default(),
        ran: Vec::new(),
        settled_on_commit: Vec::new(),
        order: 0,
        held: Vec::new(),
        held_sessions: Vec::new(),
        split: 0,
        too_large: Vec::new(),
        pending: VecDeque::new(),
        proposed: VecDeque::new(),
        parked: Vec::new(),
        depth: 1,
        done: done_tx,
    };
    core.main_loop().await;
    core.drain_proposed().await;
    core.abort_pending();
    drop(core);
    completer.await;
}

/// Sends replies once their batch may be acknowledged (on disk, under full durability),
/// in commit order.
async fn complete(
    shared: Arc<Shared>,
    done: LocalReceiver<Done>,
    commit_seconds: Histogram,
    core: usize,
) {
    while let Some(d) = done.recv().await {
        // On disk under full durability; at once under relaxed, which trades the last
        // sync interval for latency.
        let durable = shared.store.acknowledged(d.seq).await;
        let took = d.started.elapsed();
        commit_seconds.record(took.as_secs_f64());
        shared.counters[core]
            .commit_latency
            .record(took.as_micros() as u64);
        let result = durable.map_err(|e| darkstar_sdk::TaskError::Unavailable {
            reason: e.to_string(),
        });
        if let Err(e) = &result {
            error!(error = %e, "the store failed while syncing; stopping");
            shared.stop();
        } else {
            shared.post.release(&shared, d.seq);
        }
        for reply in d.replies {
            answer(reply, result.clone());
        }
    }
}

/// Calls a reply. A reply that panics is the caller's bug; it must not take the core down.
fn answer(reply: Reply, result: Result<(), darkstar_sdk::TaskError>) {
    if std::panic::catch_unwind(std::panic::AssertUnwindSafe(|| reply(result))).is_err() {
        error!("a reply callback panicked");
    }
}

struct Core {
    index: usize,
    shared: Arc<Shared>,
    inbox: flume::Receiver<Job>,
    queue: VecDeque<Job>,
    timers: Timers,
    metrics: CoreMetrics,
    /// Reused store batch.
    batch: Batch,
    /// Changes of the tasks run so far in the current batch.
    overlay: Changes,
    /// Reused change set for one task.
    own: Changes,
    ran: Vec<Ran>,
    /// Jobs that failed for good, or stored jobs skipped, in the current batch: their
    /// outcome rests on the batch's state, so they are settled only once it commits, and
    /// run again if it conflicts.
    settled_on_commit: Vec<(usize, Job, Option<darkstar_sdk::TaskError>)>,
    /// Position of the next job run in the current batch.
    order: usize,
    /// Session jobs waiting behind an earlier job of their session that must run again:
    /// they go back to the front of the queue, in order, after the batch.
    held: Vec<Job>,
    held_sessions: Vec<u64>,
    /// After a batch too large for one commit: the most jobs the next batch takes.
    split: usize,
    /// Stored tasks whose changes alone are too large to commit: their next run fails.
    too_large: Vec<u64>,
    /// Proposed batches' writes, oldest first, which later batches read through.
    pending: VecDeque<Pending>,
    /// What settling each proposed batch needs, in the same order.
    proposed: VecDeque<Proposed>,
    /// Session jobs waiting for the verdict on their session's proposed job, in order.
    parked: Vec<Job>,
    /// How many batches this core may keep proposed now: halved on each conflict, grown by
    /// one on each commit, up to the data service's `max_pending`. Deep pipelines read
    /// further behind the log; when the node's batches keep conflicting, every batch
    /// proposed on top of a doomed one is doomed too, so the core backs off to proposing
    /// on fresher state instead of refilling the pipeline with batches that cannot commit.
    depth: usize,
    done: LocalSender<Done>,
}

impl Core {
    async fn main_loop(&mut self) {
        loop {
            if self.shared.stopping() {
                return;
            }
            self.gather();
            if self.shared.data.max_pending() > 0 && self.pending.len() >= self.depth {
                // Only a verdict frees room: wait for the inbox alone, where it arrives.
                if self.shared.stopping() {
                    return;
                }
                if let Ok(job) = self.inbox.recv_async().await {
                    self.accept(job, now_ms());
                }
                continue;
            }
            if self.queue.is_empty() {
                // Checked again after gathering: `stop` sets the flag before it sends the
                // wake-up, so if gathering swallowed the wake-up, the flag is already set.
                if self.shared.stopping() {
                    return;
                }
                self.idle().await;
                continue;
            }
            let started = Instant::now();
            self.run_batch(started);
            let busy = started.elapsed().as_micros() as u64;
            self.metrics.busy_us.increment(busy);
            let counters = &self.shared.counters[self.index];
            CoreCounters::add(&counters.busy_us, busy);
            counters.run_latency.record(busy);
            // Let the completer send the replies of batches that are now durable: under
            // sustained load the queue is never empty, and the executor's own preemption
            // comes only every 100 ms.
            futures_lite::future::yield_now().await;
        }
    }

    /// Moves due timers and waiting submissions into the run queue.
    fn gather(&mut self) {
        let max = self.shared.limits.max_batch;
        let now = now_ms();
        while self.queue.len() < max {
            match self.timers.pop_due(now) {
                Some(job) => self.queue.push_back(job),
                None => break,
            }
        }
        while self.queue.len() < max {
            match self.inbox.try_recv() {
                Ok(job) => self.accept(job, now),
                Err(_) => break,
            }
        }
        self.metrics.timers.set(self.timers.len() as f64);
        self.shared.counters[self.index].timers.store(
            self.timers.len() as u64,
            std::sync::atomic::Ordering::Relaxed,
        );
    }

    fn accept(&mut self, job: Job, now: u64) {
        match job {
            Job::Wake => {}
            Job::Outcome(outcome) => self.settle(outcome),
            Job::Stored { id, due_ms, .. } if due_ms > now => self.timers.add_stored(due_ms, id),
            job => self.queue.push_back(job),
        }
    }

    /// Waits for a submission, the next timer, or shutdown.
    async fn idle(&mut self) {
        let next = self.timers.next_due();
        let recv = async { self.inbox.recv_async().await.ok() };
        let job = match next {
            Some(due) => {
                let wait = Duration::from_millis(due.saturating_sub(now_ms()));
                futures_lite::future::or(recv, async {
                    glommio::timer::sleep(wait).await;
                    None
                })
                .await
            }
            None => recv.await,
        };
        if let Some(job) = job {
            self.accept(job, now_ms());
        }
    }

    fn run_batch(&mut self, started: Instant) {
        // Taken after gathering: a stored task handed over by another core was committed
        // before it was sent, so this snapshot sees it.
        let snap = self.shared.store.snapshot();
        let mut overlay = std::mem::take(&mut self.overlay);
        debug_assert!(overlay.is_empty() && self.ran.is_empty());
        let cap = match self.split {
            0 => self.shared.limits.max_batch,
            n => n,
        };
        let n = self.queue.len().min(cap);
        self.order = 0;
        for _ in 0..n {
            let job = self.queue.pop_front().expect("n <= queue length");
            self.run_job(job, &snap, &mut overlay);
            self.order += 1;
        }
        // Held session jobs go first next time; jobs that run again after a conflict are
        // put in front of them below, keeping each session's order.
        for job in self.held.drain(..).rev() {
            self.queue.push_front(job);
        }
        self.held_sessions.clear();
        let deliveries = std::mem::take(&mut overlay.deliveries);
        let handled = std::mem::take(&mut overlay.handled);
        let writes =
            !(overlay.objects.is_empty() && overlay.names.is_empty() && overlay.tasks.is_empty());
        let data = self.shared.data.clone();
        if !self.pending.is_empty()
            && self.ran.is_empty()
            && self.settled_on_commit.is_empty()
            && overlay.is_empty()
        {
            // Nothing ran (every job was parked or had nothing to do): nothing to propose.
        } else if !writes
            && data.settles_read_only_locally(self.pending.len(), deliveries.len() + handled.len())
        {
            // Read-only (or nothing ran): serializable at the snapshot. Replies still wait
            // until what they read is durable. What a batch delivers is stored with a
            // commit of its own.
            assert!(
                deliveries.is_empty() && handled.is_empty(),
                "a batch that delivers or handles a client message is committed"
            );
            self.committed(snap.seq(), &overlay, started);
        } else {
            overlay.fill(&mut self.batch);
            match data.commit_batch(
                self.index,
                &mut self.batch,
                deliveries,
                &handled,
                &overlay.scheduled,
            ) {
                Commit::Decided(Ok(seq)) => {
                    self.split = 0;
                    self.committed(seq, &overlay, started)
                }
                Commit::Decided(Err(CommitError::Conflict(key))) => self.conflicted(key),
                Commit::Decided(Err(CommitError::Invalid(why))) => self.too_large(why),
                Commit::Decided(Err(e)) => self.failed(e),
                Commit::Proposed { version } => {
                    self.propose(version, std::mem::take(&mut overlay), started);
                }
            }
        }
        overlay.clear();
        self.overlay = overlay;
    }

    /// Keeps a batch just proposed to the shared log until its verdict arrives; later
    /// batches read its writes meanwhile.
    fn propose(&mut self, version: u64, changes: Changes, started: Instant) {
        self.split = 0;
        let ran = std::mem::take(&mut self.ran);
        let settled_on_commit = std::mem::take(&mut self.settled_on_commit);
        let mut sessions: Vec<u64> = ran
            .iter()
            .map(|r| &r.job)
            .chain(settled_on_commit.iter().map(|(_, job, _)| job))
            .filter_map(|job| match job {
                Job::Session(j) => Some(j.session),
                _ => None,
            })
            .collect();
        sessions.sort_unstable();
        sessions.dedup();
        debug_assert!(self.pending.back().is_none_or(|p| p.version < version));
        self.pending.push_back(Pending { version, changes });
        self.proposed.push_back(Proposed {
            ran,
            settled_on_commit,
            started,
            sessions,
        });
    }

    /// The verdict on the oldest proposed batch: settled like a batch committed (or
    /// refused) at once.
    fn settle(&mut self, outcome: Outcome) {
        let pending = self
            .pending
            .pop_front()
            .expect("a verdict arrives only for a proposed batch");
        assert_eq!(
            pending.version, outcome.version,
            "verdicts arrive in proposal order"
        );
        let proposed = self.proposed.pop_front().expect("kept beside its writes");
        debug_assert!(self.ran.is_empty() && self.settled_on_commit.is_empty());
        // Parked jobs go back first, so jobs of this batch that run again (put in front of
        // the queue below) keep their place ahead of their sessions' later jobs.
        self.unpark();
        self.ran = proposed.ran;
        self.settled_on_commit = proposed.settled_on_commit;
        let most = self.shared.data.max_pending();
        match outcome.result {
            Ok(seq) => {
                self.depth = (self.depth + 1).min(most);
                self.committed(seq, &pending.changes, proposed.started)
            }
            Err(CommitError::Conflict(key)) => {
                self.depth = (self.depth / 2).max(1);
                self.conflicted(key)
            }
            Err(CommitError::Invalid(why)) => self.too_large(why),
            Err(e) => self.failed(e),
        }
    }

    /// Whether a job of `session` waits in a proposed batch.
    fn session_proposed(&self, session: u64) -> bool {
        self.proposed
            .iter()
            .any(|p| p.sessions.binary_search(&session).is_ok())
    }

    /// Puts parked jobs whose session has no proposed job left back at the front of the
    /// queue, in order.
    fn unpark(&mut self) {
        if self.parked.is_empty() {
            return;
        }
        let parked = std::mem::take(&mut self.parked);
        let mut back = Vec::new();
        for job in parked {
            let waits = match &job {
                Job::Session(j) => self.session_proposed(j.session),
                _ => false,
            };
            if waits {
                self.parked.push(job);
            } else {
                back.push(job);
            }
        }
        for job in back.into_iter().rev() {
            self.queue.push_front(job);
        }
    }

    /// On shutdown: waits (a while) for the verdicts on proposed batches, so their
    /// submitters hear how they ended.
    async fn drain_proposed(&mut self) {
        let deadline = Instant::now() + DRAIN_PROPOSED;
        while !self.pending.is_empty() {
            let left = deadline.saturating_duration_since(Instant::now());
            let recv = async { self.inbox.recv_async().await.ok() };
            let job = futures_lite::future::or(recv, async {
                glommio::timer::sleep(left).await;
                None
            })
            .await;
            match job {
                Some(Job::Outcome(outcome)) => self.settle(outcome),
                Some(job) => self.queue.push_back(job),
                None => break,
            }
        }
        for p in self.proposed.drain(..) {
            let jobs = p
                .ran
                .into_iter()
                .map(|r| r.job)
                .chain(p.settled_on_commit.into_iter().map(|(_, job, _)| job));
            for reply in jobs.filter_map(Job::take_reply) {
                answer(
                    reply,
                    Err(darkstar_sdk::TaskError::Unavailable {
                        reason: "the server stopped before the shared log decided the task"
                            .to_owned(),
                    }),
                );
            }
        }
        self.pending.clear();
    }

    fn run_job(&mut self, job: Job, snap: &Snapshot, overlay: &mut Changes) {
        match job {
            Job::Wake => {}
            Job::Submitted(s) => {
                let ty = *self.shared.registry.task_at(s.ty);
                let own = std::mem::take(&mut self.own);
                let (outcome, mut own) = attempt(
                    &self.shared,
                    self.shared.limits.time_limit,
                    Base {
                        snap,
                        pending: &self.pending,
                    },
                    overlay,
                    None,
                    own,
                    |ctx| ty.run(&s.args, 0, ctx),
                );
                let index = s.ty;
                match outcome {
                    Ok(()) => {
                        overlay.absorb(&mut own);
                        self.ran.push(Ran {
                            order: self.order,
                            job: Job::Submitted(s),
                            ty: index,
                            failed: false,
                        });
                    }
                    Err(f) if f.is_retryable() => self.retry(Job::Submitted(s), index, &f),
                    Err(f) => {
                        self.give_up(index, &f);
                        self.settled_on_commit.push((
                            self.order,
                            Job::Submitted(s),
                            Some(f.into_error()),
                        ));
                    }
                }
                own.clear();
                self.own = own;
            }
            Job::Stored {
                id,
                due_ms,
                attempts,
            } => self.run_stored(id, due_ms, attempts, snap, overlay),
            Job::Session(j) => self.run_session(j, snap, overlay),
            Job::Outcome(_) => unreachable!("verdicts are settled when gathered, never queued"),
        }
    }

    fn run_session(&mut self, mut j: SessionJob, snap: &Snapshot, overlay: &mut Changes) {
        if self.held_sessions.contains(&j.session) {
            self.held.push(Job::Session(j));
            return;
        }
        if self.session_proposed(j.session) {
            self.parked.push(Job::Session(j));
            return;
        }
        // In a cluster a client message is handled only by the node run holding its
        // session, read against the session's record: if another node takes the session
        // over before this commits, this conflicts, and when run again it is dropped here.
        // So is the end of a session another node took over (it relocated there, or this
        // node was cut off): the session lives on, there.
        let fence = match (&j.event, self.shared.data.incarnation()) {
            (SessionEvent::Disconnected { holder, .. }, Some(me)) => {
                let holder = holder.unwrap_or(me);
                match snap.name(&session_key(j.session)) {
                    Some(record) if record.id == holder => Some(record.version),
                    Some(_) => {
                        if let Some(reply) = j.reply {
                            answer(reply, Ok(()));
                        }
                        return;
                    }
                    // Never recorded (its login did not commit): the game hears it ended.
                    None => None,
                }
            }
            (SessionEvent::Message { .. } | SessionEvent::ChannelMessage { .. }, Some(me)) => {
                match snap.name(&session_key(j.session)) {
                    Some(record) if record.id == me => Some(record.version),
                    _ => {
                        if let Some(reply) = j.reply {
                            answer(
                                reply,
                                Err(darkstar_sdk::TaskError::Unavailable {
                                    reason: "the session moved to another node".to_owned(),
                                }),
                            );
                        }
                        return;
                    }
                }
            }
            _ => None,
        };
        let index = self.shared.registry.event_index(j.event.name());
        let own = std::mem::take(&mut self.own);
        let shared = &*self.shared;
        let (outcome, mut own) = attempt(
            shared,
            shared.limits.time_limit,
            Base {
                snap,
                pending: &self.pending,
            },
            overlay,
            None,
            own,
            |ctx| match &j.event {
                SessionEvent::Login { name } => {
                    hooks::login(ctx, shared.app.as_ref(), &shared.types, j.session, name)
                }
                SessionEvent::Message { body, .. } => {
                    hooks::message(ctx, &shared.types, j.session, body)
                }
                SessionEvent::ChannelMessage { channel, body, .. } => {
                    hooks::channel_message(ctx, &shared.types, j.session, *channel, body)
                }
                SessionEvent::Disconnected { graceful, .. } => {
                    hooks::disconnected(ctx, &shared.types, j.session, *graceful)
                }
            },
        );
        match outcome {
            Ok(()) => {
                // The server's record of open sessions and of what each handled, so a
                // restart, or another node, can carry them on.
                match &j.event {
                    SessionEvent::Login { .. } => {
                        let holder = self.shared.data.incarnation().unwrap_or(j.session);
                        own.names.insert(session_key(j.session), Some(holder));
                    }
                    SessionEvent::Message { seq, .. }
                    | SessionEvent::ChannelMessage { seq, .. } => {
                        own.handled.push((j.session, *seq));
                        if let Some(version) = fence {
                            own.reads.names.insert(session_key(j.session), version);
                        }
                    }
                    SessionEvent::Disconnected { .. } => {
                        own.names.insert(session_key(j.session), None);
                        own.names.insert(handled_key(j.session), None);
                        if let Some(version) = fence {
                            own.reads.names.insert(session_key(j.session), version);
                        }
                    }
                }
                overlay.absorb(&mut own);
                self.ran.push(Ran {
                    order: self.order,
                    job: Job::Session(j),
                    ty: index,
                    failed: false,
                });
            }
            Err(f) if f.is_retryable() => {
                let m = &self.metrics.tasks[index];
                m.retries.increment(1);
                match &f {
                    Failure::Error(darkstar_sdk::TaskError::TimeLimit { .. }) => {
                        m.time_limits.increment(1)
                    }
                    _ => m.conflicts.increment(1),
                }
                j.attempts += 1;
                if j.attempts >= self.shared.limits.max_attempts {
                    // Never set aside for later: the session's next messages wait for it.
                    warn!(task = j.event.name(), session = j.session, error = ?f, "session task keeps failing; giving up");
                    self.settled_on_commit.push((
                        self.order,
                        Job::Session(j),
                        Some(f.into_error()),
                    ));
                } else {
                    self.held_sessions.push(j.session);
                    self.held.push(Job::Session(j));
                }
            }
            Err(f) => {
                self.give_up(index, &f);
                self.settled_on_commit
                    .push((self.order, Job::Session(j), Some(f.into_error())));
            }
        }
        own.clear();
        self.own = own;
    }

    fn run_stored(
        &mut self,
        id: u64,
        due_ms: u64,
        attempts: u32,
        snap: &Snapshot,
        overlay: &mut Changes,
    ) {
        let this_job = || Job::Stored {
            id,
            due_ms,
            attempts,
        };
        // The record as this batch sees it: rewritten earlier in the batch, or stored.
        let (type_name, record, version): (&str, &[u8], Option<u64>) = match overlay.tasks.get(&id)
        {
            Some(TaskSlot::Put { type_name, record }) => (type_name, record.as_slice(), None),
            Some(TaskSlot::Removed) => {
                // Cancelled earlier in this batch: settled only if the batch commits.
                self.settled_on_commit.push((self.order, this_job(), None));
                return;
            }
            None => match crate::data::pending::task(&self.pending, id) {
                Some(l) => match l.value {
                    Some((type_name, record)) => (type_name, record, Some(l.version)),
                    None => {
                        // Removed by a proposed batch (run already, or cancelled). If that
                        // batch conflicts, the record is back: this batch, which read it
                        // as removed, conflicts too, and this timer entry runs again.
                        overlay.reads.tasks.entry(id).or_insert(l.version);
                        self.settled_on_commit.push((self.order, this_job(), None));
                        return;
                    }
                },
                None => match snap.task(id) {
                    Some(rec) => (rec.type_name, rec.value, Some(rec.version)),
                    // Cancelled, or already run by an earlier timer entry.
                    None => return,
                },
            },
        };
        let Ok((header, args)) = TaskHeader::decode(record) else {
            error!(
                task = type_name,
                id, "stored task record is damaged; removing it"
            );
            overlay.tasks.insert(id, TaskSlot::Removed);
            return;
        };
        let slot = self
            .shared
            .placement
            .slot_of(crate::stored_tasks::key(id, header.affinity));
        if !self.shared.ownership.owns(slot) {
            // Its slot moved to another node, which runs it from its own replica.
            return;
        }
        let now = now_ms();
        if header.due_ms > now {
            // Rescheduled since this timer was set; a later timer entry covers it.
            if version.is_none() {
                // ...by an earlier run in this batch, which may yet conflict.
                self.settled_on_commit.push((self.order, this_job(), None));
            }
            return;
        }
        let Some((index, ty)) = self.shared.registry.task(type_name) else {
            error!(
                task = type_name,
                id, "stored task of an unregistered type; leaving it stored"
            );
            return;
        };
        let ty = *ty;
        // Copied (aligned, as archives need) so the batch can change while the task runs.
        let mut owned = rkyv::util::AlignedVec::<16>::with_capacity(args.len());
        owned.extend_from_slice(args);
        let args = owned;
        let own = std::mem::take(&mut self.own);
        let (outcome, mut own) = if let Some(at) = self.too_large.iter().position(|&t| t == id) {
            self.too_large.swap_remove(at);
            (
                Err(Failure::Error(darkstar_sdk::TaskError::abort(
                    "its changes are too large for one commit",
                ))),
                own,
            )
        } else {
            attempt(
                &self.shared,
                self.shared.limits.time_limit,
                Base {
                    snap,
                    pending: &self.pending,
                },
                overlay,
                Some(id),
                own,
                |ctx| ty.run(&args, id, ctx),
            )
        };
        let job = this_job();
        let failed = outcome.is_err();
        match outcome {
            Err(f) if f.is_retryable() => {
                own.clear();
                self.own = own;
                self.retry(job, index, &f);
                return;
            }
            Err(f) => {
                // Dropped like any failed task, but its record still moves on: a one-shot
                // task is removed, a periodic one keeps its next run.
                self.give_up(index, &f);
                own.clear();
            }
            Ok(()) => {}
        }
        if let Some(v) = version {
            own.reads.tasks.entry(id).or_insert(v);
        }
        if !matches!(own.tasks.get(&id), Some(TaskSlot::Removed)) {
            if header.period_ms > 0 {
                let next = TaskHeader {
                    due_ms: next_due(header.due_ms, header.period_ms, now),
                    ..header
                };
                own.tasks.insert(
                    id,
                    TaskSlot::Put {
                        // The version's tag, as the run read it: the catalog
                        // lists this version's layout under it.
                        type_name: ty.stored.stored_name,
                        record: next.encode(&args),
                    },
                );
                own.scheduled.push(crate::changes::Scheduled {
                    id,
                    due_ms: next.due_ms,
                    affinity: next.affinity,
                });
            } else {
                own.tasks.insert(id, TaskSlot::Removed);
            }
        }
        overlay.absorb(&mut own);
        own.clear();
        self.own = own;
        self.ran.push(Ran {
            order: self.order,
            job,
            ty: index,
            failed,
        });
    }

    /// A retryable failure: try again soon.
    fn retry(&mut self, job: Job, ty: usize, failure: &Failure) {
        if let Some(job) = self.backoff(job, ty, failure) {
            self.queue.push_back(job);
        }
    }

    /// Counts a retryable failure. Returns the job if it should run again at once;
    /// otherwise it waits out a growing backoff, or, after too many tries in a row, is
    /// rescheduled for later and reported by name.
    fn backoff(&mut self, mut job: Job, ty: usize, failure: &Failure) -> Option<Job> {
        let m = &self.metrics.tasks[ty];
        match failure {
            Failure::Error(darkstar_sdk::TaskError::TimeLimit { .. }) => m.time_limits.increment(1),
            _ => m.conflicts.increment(1),
        }
        m.retries.increment(1);
        let limits = self.shared.limits;
        if let Job::Submitted(s) = &mut job {
            if s.attempts + 1 >= limits.max_attempts && s.rescheduled >= MAX_RESCHEDULES {
                // A submitter is waiting: after a few rounds of rescheduling, it is told
                // the last error rather than left waiting forever. (A stored task keeps
                // its record and is retried for as long as it takes.)
                let name = self.shared.registry.name_at(ty);
                warn!(task = name, error = ?failure, "task keeps failing; giving up");
                let error = match failure {
                    Failure::Error(e) => e.clone(),
                    Failure::Panic(p) => darkstar_sdk::TaskError::abort(p.clone()),
                };
                self.settled_on_commit.push((self.order, job, Some(error)));
                return None;
            }
        }
        let attempts = job.attempts_mut()?;
        *attempts += 1;
        let now = now_ms();
        if *attempts >= limits.max_attempts {
            let name = self.shared.registry.name_at(ty);
            warn!(
                task = name,
                attempts = *attempts,
                error = ?failure,
                "task keeps failing; rescheduled in {:?}",
                limits.reschedule_after
            );
            m.rescheduled.increment(1);
            *attempts = 0;
            if let Job::Submitted(s) = &mut job {
                s.rescheduled += 1;
            }
            self.timers
                .delay(now.saturating_add(millis(limits.reschedule_after)), job);
            None
        } else if *attempts <= 2 {
            Some(job)
        } else {
            let backoff_ms = 1u64 << (*attempts - 3).min(7);
            self.timers.delay(now + backoff_ms, job);
            None
        }
    }

    /// A failure that retrying cannot fix: log it with the task's name and count it.
    fn give_up(&self, ty: usize, failure: &Failure) {
        let name = self.shared.registry.name_at(ty);
        let m = &self.metrics.tasks[ty];
        match failure {
            // A refused login is the game's answer, not a failure.
            Failure::Error(darkstar_sdk::TaskError::Refused { .. }) => {}
            Failure::Panic(message) => {
                m.panics.increment(1);
                error!(task = name, panic = %message, "task panicked; its transaction was rolled back");
            }
            Failure::Error(e) => {
                m.errors.increment(1);
                warn!(task = name, error = %e, "task failed; its transaction was rolled back");
            }
        }
    }

    fn committed(&mut self, seq: u64, overlay: &Changes, started: Instant) {
        let now = now_ms();
        // In a cluster the owner of each task's slot takes it when it applies the batch.
        let scheduled: &[crate::changes::Scheduled] = if self.shared.data.schedules_on_apply() {
            &[]
        } else {
            &overlay.scheduled
        };
        for s in scheduled {
            let core = self.shared.placement.route(s.affinity, &[]);
            let job = Job::Stored {
                id: s.id,
                due_ms: s.due_ms,
                attempts: 0,
            };
            if core == self.index {
                self.accept(job, now);
            } else if self.shared.send(core, job).is_err() {
                // That core has stopped; the task stays stored and runs after a restart.
            }
        }
        let mut replies = Vec::new();
        self.metrics.batch_tasks.record(self.ran.len() as f64);
        CoreCounters::add(&self.shared.counters[self.index].batches, 1);
        // Failures count once settled: a failure in a batch that conflicts runs again.
        let mut failed = 0;
        let mut ran_failed = 0;
        let tasks = self.ran.len() as u64;
        for ran in self.ran.drain(..) {
            if ran.failed {
                failed += 1;
                ran_failed += 1;
                continue;
            }
            self.metrics.tasks[ran.ty].commits.increment(1);
            if let Some(reply) = ran.job.take_reply() {
                replies.push(reply);
            }
        }
        for (_, job, error) in self.settled_on_commit.drain(..) {
            failed += u64::from(error.is_some());
            if let (Some(reply), Some(e)) = (job.take_reply(), error) {
                replies.push(Box::new(move |r: Result<(), darkstar_sdk::TaskError>| {
                    reply(r.and(Err(e)))
                }));
            }
        }
        let counters = &self.shared.counters[self.index];
        CoreCounters::add(&counters.failed, failed);
        CoreCounters::add(&counters.committed, tasks - ran_failed);
        let _ = self.done.try_send(Done {
            seq,
            started,
            replies,
        });
    }

    fn conflicted(&mut self, key: ConflictKey) {
        let object = match key {
            ConflictKey::Object(id) => Some(id),
            _ => None,
        };
        let ran = std::mem::take(&mut self.ran);
        CoreCounters::add(
            &self.shared.counters[self.index].conflicts,
            ran.len() as u64,
        );
        let refs_of = |job: &Job| -> Refs {
            match job {
                Job::Submitted(s) => s.refs.clone(),
                _ => Refs::new(),
            }
        };
        // Count the conflict once, with the references of a task that read the object.
        let owner = object.and_then(|x| {
            let refs = ran
                .iter()
                .map(|r| refs_of(&r.job))
                .find(|refs| refs.contains(&x))
                .unwrap_or_default();
            self.shared.placement.conflict(x, &refs)
        });
        let failure = Failure::Error(darkstar_sdk::TaskError::Conflict {
            on: key_text(object),
        });
        let mut again = Vec::with_capacity(ran.len());
        for r in ran {
            if let Job::Session(mut j) = r.job {
                // A session's jobs keep their core and their order: run again at once.
                let m = &self.metrics.tasks[r.ty];
                m.conflicts.increment(1);
                m.retries.increment(1);
                j.attempts += 1;
                again.push((r.order, Job::Session(j)));
                continue;
            }
            let refs = refs_of(&r.job);
            let blamed = object.is_none_or(|x| refs.contains(&x) || refs.is_empty());
            if !blamed {
                again.push((r.order, r.job));
                continue;
            }
            let affinity = match &r.job {
                Job::Submitted(s) => s.affinity,
                _ => None,
            };
            let target = match owner {
                Some(_) => self.shared.placement.route(affinity, &refs),
                None => self.index,
            };
            if target != self.index {
                let m = &self.metrics.tasks[r.ty];
                m.conflicts.increment(1);
                m.retries.increment(1);
                let mut job = r.job;
                if let Some(a) = job.attempts_mut() {
                    *a += 1;
                }
                if let Err(job) = self.shared.send(target, job) {
                    again.push((r.order, job));
                }
            } else if let Some(job) = self.backoff(r.job, r.ty, &failure) {
                again.push((r.order, job));
            }
        }
        again.extend(
            self.settled_on_commit
                .drain(..)
                .map(|(order, job, _)| (order, job)),
        );
        self.requeue_in_order(again);
    }

    /// Puts jobs of the batch back at the front of the queue, in the order they ran.
    fn requeue_in_order(&mut self, mut again: Vec<(usize, Job)>) {
        again.sort_by_key(|(order, _)| *order);
        for (_, job) in again.into_iter().rev() {
            self.queue.push_front(job);
        }
    }

    /// The batch cannot be stored in one commit: run it again in smaller batches; a job
    /// too large on its own fails for good.
    fn too_large(&mut self, why: String) {
        let ran = std::mem::take(&mut self.ran);
        let mut again: Vec<(usize, Job)> = self
            .settled_on_commit
            .drain(..)
            .map(|(order, job, _)| (order, job))
            .collect();
        if ran.len() > 1 {
            self.split = ran.len() / 2;
            again.extend(ran.into_iter().map(|r| (r.order, r.job)));
        } else {
            self.split = 1;
            for r in ran {
                match r.job {
                    job @ Job::Stored { id, .. } => {
                        self.too_large.push(id);
                        again.push((r.order, job));
                    }
                    job => {
                        if let Some(reply) = job.take_reply() {
                            answer(
                                reply,
                                Err(darkstar_sdk::TaskError::abort(format!(
                                    "the task's changes cannot be committed: {why}"
                                ))),
                            );
                        }
                    }
                }
            }
        }
        self.requeue_in_order(again);
    }

    fn failed(&mut self, e: CommitError) {
        error!(error = %e, "commit failed; stopping");
        let reason = e.to_string();
        let jobs = self
            .settled_on_commit
            .drain(..)
            .map(|(_, job, _)| job)
            .chain(self.ran.drain(..).map(|r| r.job));
        for job in jobs {
            if let Some(reply) = job.take_reply() {
                answer(
                    reply,
                    Err(darkstar_sdk::TaskError::Unavailable {
                        reason: reason.clone(),
                    }),
                );
            }
        }
        self.shared.stop();
    }

    /// On shutdown: every submission not yet run is told the server is stopping. Stored
    /// tasks stay stored and run after a restart.
    fn abort_pending(&mut self) {
        let mut pending: Vec<Job> = self.queue.drain(..).collect();
        pending.extend(self.timers.drain_delayed());
        pending.extend(self.inbox.try_iter());
        pending.append(&mut self.held);
        pending.append(&mut self.parked);
        for reply in pending.into_iter().filter_map(Job::take_reply) {
            answer(
                reply,
                Err(darkstar_sdk::TaskError::Unavailable {
                    reason: "the server is shutting down".to_owned(),
                }),
            );
        }
    }
}

/// The next due time of a periodic task that was due at `due`: one period later, or, if
/// it ran late by a period or more, the first time on its rhythm after `now` (missed runs
/// are skipped, not run back to back).
fn next_due(due: u64, period: u64, now: u64) -> u64 {
    debug_assert!(period > 0);
    let next = due.saturating_add(period);
    if next > now {
        return next;
    }
    let missed = (now - due) / period;
    due.saturating_add((missed + 1).saturating_mul(period))
}

fn key_text(object: Option<u64>) -> String {
    match object {
        Some(id) => format!("object {id}"),
        None => "a name or task".to_owned(),
    }
}

#[cfg(test)]
mod tests {
    use super::next_due;

    #[test]
    fn periodic_tasks_keep_their_rhythm_and_skip_missed_runs() {
        assert_eq!(next_due(1000, 100, 1050), 1100);
        assert_eq!(next_due(1000, 100, 1100), 1200);
        assert_eq!(next_due(1000, 100, 1555), 1600);
    }
}
