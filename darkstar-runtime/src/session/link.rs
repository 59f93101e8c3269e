//! One session's live state: the frames sent to it and not yet acknowledged, and which
//! connection (if any) is carrying it.

use std::collections::VecDeque;
use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::Arc;
use std::time::Instant;

use darkstar_protocol::{DisconnectReason, ServerFrame, KEY_LEN};
use parking_lot::Mutex;
use tokio::sync::{Notify, Semaphore};

use crate::net::SessionPace;

/// What happened when a frame was queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// The queue passed its bound: the session must end as too slow.
    Overflow,
    /// The session is ending; the frame was dropped.
    Ending,
}

/// What the reconnection timer of a session found when it woke.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Expiry {
    /// A client resumed the session: the timer stops.
    Resumed,
    /// The window passed with no client: the session ends.
    Expired,
    /// The session dropped again since, so its window ends later: wait until then.
    Later(Instant),
}

/// How a session ends.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    pub reason: DisconnectReason,
    pub text: String,
}

struct State {
    /// The highest frame number the client may claim to have received: the last frame
    /// queued, or for a session restored from the store, every frame its commits could
    /// have numbered. Frame numbers come from commits (see `post::first_frame`), so they
    /// grow but skip.
    last_seq: u64,
    /// Data frames not yet acknowledged by the client, in order: the outgoing queue, and
    /// what a resumed connection sends again.
    unacked: VecDeque<(u64, Arc<[u8]>)>,
    /// The last frame the client acknowledged.
    acked: u64,
    unacked_bytes: usize,
    /// Last client message accepted for handling (it will be handled).
    accepted: u64,
    /// Last client message whose task committed durably.
    handled: u64,
    /// The connection carrying the session now (0: none, waiting for a resume).
    attached: u64,
    /// When the reconnection window of a session without a connection ends.
    expiry: Option<Instant>,
    /// Whether a timer waits for `expiry` (one per session, however often it drops).
    timer: bool,
    /// Whether the login task was submitted: after that, the session's `disconnected` is
    /// submitted behind it, never ahead.
    login_submitted: bool,
    /// Whether the login was accepted and the session counted as open.
    started: bool,
    ending: Option<Ending>,
    /// In a cluster, whether the session's slot moved to another node, so its connection
    /// must tell the client to resume there (`Relocate`).
    relocating: bool,
}

/// A logged-in client's link, shared by its connection and the post office.
pub(crate) struct SessionLink {
    pub id: u64,
    pub key: [u8; KEY_LEN],
    /// Who logged in: the authenticator's answer.
    pub identity: String,
    /// How fast the client may send, across all its connections.
    pub pace: Mutex<SessionPace>,
    /// Client messages taken and not yet handled, at most `session_window`, across all
    /// its connections.
    pub window: Arc<Semaphore>,
    /// Most bytes of unacknowledged frames before the client counts as too slow.
    max_queue: usize,
    state: Mutex<State>,
    /// Wakes the connection: frames queued, an ack to send, the session ending or moving.
    /// Every waiter registers (`enable`) before it checks the state, so `notify_waiters`
    /// never misses one.
    pub wake: Notify,
    /// Set once the session's `disconnected` task has finished (committed or failed for
    /// good): a login replacing this session waits for it.
    finished: AtomicBool,
    finished_wake: Notify,
    /// Whether the connection carrying it now is a WebSocket (where to relocate it to).
    websocket: AtomicBool,
    /// Whether this node sent its client elsewhere (`Relocate`): it is never resumed here
    /// again, since the node it went to may have handled more of it than this one knows.
    moved: AtomicBool,
}

impl SessionLink {
    pub fn new(
        id: u64,
        key: [u8; KEY_LEN],
        identity: String,
        max_queue: usize,
        pace: SessionPace,
        window: usize,
        connection: u64,
    ) -> SessionLink {
        assert!(id != 0 && connection != 0);
        SessionLink {
            id,
            key,
            identity,
            pace: Mutex::new(pace),
            window: Arc::new(Semaphore::new(window)),
            max_queue,
            state: Mutex::new(State {
                last_seq: 0,
                unacked: VecDeque::new(),
                acked: 0,
                unacked_bytes: 0,
                accepted: 0,
                handled: 0,
                attached: connection,
                expiry: None,
                timer: false,
                login_submitted: false,
                started: false,
                ending: None,
                relocating: false,
            }),
            wake: Notify::new(),
            finished: AtomicBool::new(false),
            websocket: AtomicBool::new(false),
            moved: AtomicBool::new(false),
            finished_wake: Notify::new(),
        }
    }

    /// A session restored from the store with no connection yet: its login ran before,
    /// client messages up to `handled` were handled, and the client may hold any frame
    /// numbered up to `claimable`. Its unacknowledged frames are [`push`](Self::push)ed
    /// next.
    #[allow(clippy::too_many_arguments)]
    pub fn restored(
        id: u64,
        key: [u8; KEY_LEN],
        identity: String,
        max_queue: usize,
        pace: SessionPace,
        window: usize,
        handled: u64,
        claimable: u64,
    ) -> SessionLink {
        let link = SessionLink::new(id, key, identity, max_queue, pace, window, 1);
        let mut st = link.state.lock();
        st.attached = 0;
        st.accepted = handled;
        st.handled = handled;
        st.last_seq = claimable;
        st.login_submitted = true;
        st.started = true;
        drop(st);
        link
    }

    /// Lets the client claim frames up to `claimable` (a session taken over from the
    /// log, once the takeover committed).
    pub fn allow_claims_up_to(&self, claimable: u64) {
        let mut st = self.state.lock();
        st.last_seq = st.last_seq.max(claimable);
    }

    /// Adds `frames` (each numbered above what the client acknowledged) among those
    /// queued, in number order, dropping repeats: the frames of a session taken over
    /// from the log, some of which may have reached it live already.
    pub fn merge(&self, frames: Vec<ServerFrame>) {
        let mut st = self.state.lock();
        let mut all: Vec<(u64, Arc<[u8]>)> = st.unacked.drain(..).collect();
        for f in frames {
            let seq = f.seq().expect("only data frames are queued");
            all.push((seq, f.to_bytes().into()));
        }
        all.sort_by_key(|(seq, _)| *seq);
        all.dedup_by_key(|(seq, _)| *seq);
        let acked = st.acked;
        all.retain(|(seq, _)| *seq > acked);
        st.unacked_bytes = all.iter().map(|(_, b)| b.len()).sum();
        if let Some((last, _)) = all.last() {
            st.last_seq = st.last_seq.max(*last);
        }
        st.unacked = all.into();
        drop(st);
        self.wake.notify_waiters();
    }

    /// Queues data frame `frame`. A frame numbered at or below the last one queued is
    /// dropped as a repeat: a session taken over from the log may hear a frame both from
    /// the log and from the node's own applier.
    pub fn push(&self, frame: ServerFrame) -> Pushed {
        let mut st = self.state.lock();
        if st.ending.is_some() {
            return Pushed::Ending;
        }
        let seq = frame.seq().expect("only data frames are queued");
        if st.unacked.back().is_some_and(|(last, _)| *last >= seq) || seq <= st.acked {
            return Pushed::Queued;
        }
        let bytes: Arc<[u8]> = frame.to_bytes().into();
        st.last_seq = st.last_seq.max(seq);
        st.unacked_bytes += bytes.len();
        st.unacked.push_back((seq, bytes));
        let over = st.unacked_bytes > self.max_queue;
        drop(st);
        self.wake.notify_waiters();
        if over {
            Pushed::Overflow
        } else {
            Pushed::Queued
        }
    }

    /// The client received every frame up to `received`: forget them. Refused (with the
    /// last frame queued) if `received` is beyond every frame ever queued: the client
    /// claims what it cannot have.
    pub fn ack(&self, received: u64) -> Result<(), u64> {
        let mut st = self.state.lock();
        if received > st.last_seq {
            return Err(st.last_seq);
        }
        st.acked = st.acked.max(received);
        while let Some((seq, bytes)) = st.unacked.front() {
            if *seq > received {
                break;
            }
            st.unacked_bytes -= bytes.len();
            st.unacked.pop_front();
        }
        Ok(())
    }

    /// Checks that a client resuming with `received` can be served: every frame after it
    /// is still kept. The reason for the client if not.
    pub fn check_resume(&self, received: u64) -> Result<(), String> {
        let st = self.state.lock();
        if received > st.last_seq {
            return Err(format!(
                "received {received} is beyond the last frame the server queued, {}",
                st.last_seq
            ));
        }
        if received < st.acked {
            return Err(format!(
                "received {received} is below {}, which the client acknowledged before; \
                 frames up to that are gone",
                st.acked
            ));
        }
        Ok(())
    }

    /// Frames after `sent`, to write.
    pub fn frames_after(&self, sent: u64, out: &mut Vec<(u64, Arc<[u8]>)>) {
        let st = self.state.lock();
        let start = st.unacked.partition_point(|(seq, _)| *seq <= sent);
        out.extend(st.unacked.range(start..).cloned());
    }

    /// Whether client message `seq` is the next one to accept (`true`), or was accepted
    /// before (`false`: sent again after a resume); the number expected if neither.
    pub fn is_next(&self, seq: u64) -> Result<bool, u64> {
        let st = self.state.lock();
        if seq <= st.accepted {
            return Ok(false);
        }
        if seq != st.accepted + 1 {
            return Err(st.accepted + 1);
        }
        Ok(true)
    }

    /// Records client message `seq` as accepted; `false` if it was accepted before (a
    /// message sent again after a resume).
    pub fn accept(&self, seq: u64) -> Result<bool, u64> {
        let mut st = self.state.lock();
        if seq <= st.accepted {
            return Ok(false);
        }
        if seq != st.accepted + 1 {
            return Err(st.accepted + 1);
        }
        st.accepted = seq;
        Ok(true)
    }

    /// Client message `seq` has committed durably.
    pub fn handled(&self, seq: u64) {
        let mut st = self.state.lock();
        st.handled = st.handled.max(seq);
        drop(st);
        self.wake.notify_waiters();
    }

    /// The last frame the client acknowledged.
    pub fn last_acked(&self) -> u64 {
        self.state.lock().acked
    }

    /// Last client message handled.
    pub fn last_handled(&self) -> u64 {
        self.state.lock().handled
    }

    /// Waits until every client message up to `seq` is handled.
    pub async fn handled_through(&self, seq: u64) {
        loop {
            let notified = self.wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.last_handled() >= seq {
                return;
            }
            notified.await;
        }
    }

    /// Last client message accepted.
    pub fn last_accepted(&self) -> u64 {
        self.state.lock().accepted
    }

    /// Attaches connection `connection`; returns the one it replaces (0 if none).
    pub fn attach(&self, connection: u64) -> u64 {
        assert!(connection != 0);
        let mut st = self.state.lock();
        let old = std::mem::replace(&mut st.attached, connection);
        st.expiry = None;
        // A client that came back here (the other node was out of reach) is sent on again
        // by the next relocation pass if the slot is still elsewhere.
        st.relocating = false;
        drop(st);
        self.wake.notify_waiters();
        old
    }

    /// Detaches `connection` if it is still the one attached; `true` if it was.
    pub fn detach(&self, connection: u64) -> bool {
        let mut st = self.state.lock();
        if st.attached == connection {
            st.attached = 0;
            true
        } else {
            false
        }
    }

    /// Starts the reconnection window of a session whose connection dropped, ending at
    /// `deadline`; `true` if the caller must start the timer (none waits yet).
    pub fn arm_expiry(&self, deadline: Instant) -> bool {
        let mut st = self.state.lock();
        st.expiry = Some(deadline);
        !std::mem::replace(&mut st.timer, true)
    }

    /// What the reconnection timer does on waking at `now`.
    pub fn check_expiry(&self, now: Instant) -> Expiry {
        let mut st = self.state.lock();
        match st.expiry {
            _ if st.attached != 0 => {
                st.timer = false;
                Expiry::Resumed
            }
            Some(at) if at > now => Expiry::Later(at),
            _ => {
                st.timer = false;
                Expiry::Expired
            }
        }
    }

    /// Submits the login task with `submit`, unless the session is already ending (a newer
    /// login replaced it first); `false` then. Under the state's lock, so the session's
    /// `disconnected`, submitted only after [`end`](Self::end), always follows it.
    pub fn submit_login(&self, submit: impl FnOnce()) -> bool {
        let mut st = self.state.lock();
        if st.ending.is_some() {
            return false;
        }
        assert!(!st.login_submitted, "a session logs in once");
        st.login_submitted = true;
        submit();
        true
    }

    /// The login was accepted: the session counts as open. `false` if it is ending already.
    pub fn start(&self) -> bool {
        let mut st = self.state.lock();
        st.started = st.ending.is_none();
        st.started
    }

    /// Whether the session was counted as open.
    pub fn was_started(&self) -> bool {
        self.state.lock().started
    }

    /// The connection attached now (0: none).
    pub fn attached(&self) -> u64 {
        self.state.lock().attached
    }

    /// Whether a connection carries the session and it is not ending.
    pub fn is_connected(&self) -> bool {
        let st = self.state.lock();
        st.attached != 0 && st.ending.is_none()
    }

    /// Asks the connection carrying the session to send its client to the node that owns
    /// its slot now; `true` if this call asked (a connection carries it, it is not ending,
    /// and nobody asked before).
    pub fn relocate(&self) -> bool {
        let mut st = self.state.lock();
        if st.attached == 0 || st.ending.is_some() || st.relocating {
            return false;
        }
        st.relocating = true;
        drop(st);
        self.wake.notify_waiters();
        true
    }

    /// Notes that this node sent the session's client to another node.
    pub fn mark_moved(&self) {
        self.moved.store(true, Ordering::Release);
    }

    /// Whether this node sent the session's client to another node.
    pub fn moved(&self) -> bool {
        self.moved.load(Ordering::Acquire)
    }

    /// Notes the transport of the connection just attached.
    pub fn carried_by_websocket(&self, websocket: bool) {
        self.websocket.store(websocket, Ordering::Relaxed);
    }

    /// Whether the connection carrying it is a WebSocket.
    pub fn on_websocket(&self) -> bool {
        self.websocket.load(Ordering::Relaxed)
    }

    /// Whether the session's connection must send its client elsewhere.
    pub fn relocating(&self) -> bool {
        self.state.lock().relocating
    }

    /// Marks the session as ending; `true` for the first caller, who ends it.
    pub fn end(&self, reason: DisconnectReason, text: impl Into<String>) -> bool {
        let mut st = self.state.lock();
        if st.ending.is_some() {
            return false;
        }
        st.ending = Some(Ending {
            reason,
            text: text.into(),
        });
        drop(st);
        self.wake.notify_waiters();
        true
    }

    /// Why the session is ending, if it is.
    pub fn ending(&self) -> Option<Ending> {
        self.state.lock().ending.clone()
    }

    /// The session's `disconnected` task has finished.
    pub fn mark_finished(&self) {
        self.finished.store(true, Ordering::Release);
        self.finished_wake.notify_waiters();
    }

    /// Waits until the session's `disconnected` task has finished.
    pub async fn finished(&self) {
        loop {
            let notified = self.finished_wake.notified();
            tokio::pin!(notified);
            notified.as_mut().enable();
            if self.finished.load(Ordering::Acquire) {
                return;
            }
            notified.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn link() -> SessionLink {
        let pace = crate::net::SessionPace::new(0, 0, 0, Instant::now());
        SessionLink::new(7, [0; KEY_LEN], "ada".into(), 1024, pace, 4, 1)
    }

    #[test]
    fn a_session_ended_before_its_login_never_logs_in() {
        let l = link();
        assert!(l.end(DisconnectReason::LoggedInElsewhere, "replaced"));
        assert!(!l.submit_login(|| panic!("submitted after the end")));
        assert!(!l.start(), "not counted as open");
        let l = link();
        let mut ran = false;
        assert!(l.submit_login(|| ran = true));
        assert!(ran);
        assert!(l.start() && l.was_started());
    }

    #[test]
    fn one_reconnection_timer_follows_every_drop() {
        let l = link();
        let t0 = Instant::now();
        l.detach(1);
        assert!(l.arm_expiry(t0), "the first drop starts the timer");
        assert_eq!(l.check_expiry(t0), Expiry::Expired);
        assert!(l.arm_expiry(t0), "a timer that fired is gone");
        l.attach(2);
        assert!(l.detach(2));
        assert!(
            !l.arm_expiry(t0 + std::time::Duration::from_secs(9)),
            "one timer at a time"
        );
        assert_eq!(
            l.check_expiry(t0),
            Expiry::Later(t0 + std::time::Duration::from_secs(9)),
            "a later drop moves the deadline"
        );
        l.attach(3);
        assert_eq!(
            l.check_expiry(t0 + std::time::Duration::from_secs(99)),
            Expiry::Resumed
        );
        assert!(l.arm_expiry(t0), "a resumed session's timer stopped");
    }

    #[test]
    fn acks_and_resumes_are_checked_against_what_was_queued() {
        let l = link();
        for seq in 1..=3 {
            l.push(ServerFrame::Message { seq, body: vec![1] });
        }
        assert_eq!(l.ack(4), Err(3));
        assert_eq!(l.ack(2), Ok(()));
        assert!(l.check_resume(1).is_err(), "below what was acknowledged");
        assert!(l.check_resume(4).is_err(), "beyond what was queued");
        assert!(l.check_resume(3).is_ok());
    }

    #[test]
    fn repeats_are_dropped_and_numbers_may_skip() {
        let l = link();
        for seq in [5, 9, 9, 7, 12] {
            l.push(ServerFrame::Message { seq, body: vec![1] });
        }
        let mut out = Vec::new();
        l.frames_after(0, &mut out);
        assert_eq!(out.iter().map(|(s, _)| *s).collect::<Vec<_>>(), [5, 9, 12]);
        l.ack(9).unwrap();
        l.push(ServerFrame::Message {
            seq: 8,
            body: vec![1],
        });
        out.clear();
        l.frames_after(0, &mut out);
        assert_eq!(out.len(), 1, "an acknowledged number does not come back");
    }

    #[test]
    fn merged_frames_fall_into_order_once_each() {
        let l = link();
        for seq in [10, 30] {
            l.push(ServerFrame::Message { seq, body: vec![1] });
        }
        let more = [5, 20, 30, 40]
            .map(|seq| ServerFrame::Message { seq, body: vec![2] })
            .to_vec();
        l.merge(more);
        let mut out = Vec::new();
        l.frames_after(0, &mut out);
        assert_eq!(
            out.iter().map(|(s, _)| *s).collect::<Vec<_>>(),
            [5, 10, 20, 30, 40]
        );
        assert!(l.check_resume(40).is_ok());
        l.push(ServerFrame::Message {
            seq: 35,
            body: vec![1],
        });
        out.clear();
        l.frames_after(0, &mut out);
        assert_eq!(out.len(), 5, "a live repeat after the merge is dropped");
    }

    #[test]
    fn a_restored_session_accepts_any_claim_its_commits_could_have_made() {
        let pace = crate::net::SessionPace::new(0, 0, 0, Instant::now());
        let l = SessionLink::restored(7, [0; KEY_LEN], "ada".into(), 1024, pace, 4, 3, 500);
        assert_eq!(l.attached(), 0);
        assert_eq!(l.last_accepted(), 3);
        assert!(l.was_started());
        assert!(l.check_resume(400).is_ok());
        assert!(l.check_resume(501).is_err());
        l.push(ServerFrame::Message {
            seq: 450,
            body: vec![1],
        });
        l.ack(400).unwrap();
        let mut out = Vec::new();
        l.frames_after(400, &mut out);
        assert_eq!(out.len(), 1);
    }
}
