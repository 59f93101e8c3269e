//! One session's live state: the frames sent to it and not yet acknowledged, and which
//! connection (if any) is carrying it.

use std::collections::VecDeque;
use std::sync::Arc;

use darkstar_protocol::{DisconnectReason, ServerFrame, KEY_LEN};
use parking_lot::Mutex;
use tokio::sync::Notify;

/// What happened when a frame was queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum Pushed {
    Queued,
    /// The queue passed its bound: the session must end as too slow.
    Overflow,
    /// The session is ending; the frame was dropped.
    Ending,
}

/// How a session ends.
#[derive(Debug, Clone)]
pub(crate) struct Ending {
    pub reason: DisconnectReason,
    pub text: String,
}

struct State {
    /// Sequence number of the next data frame.
    next_seq: u64,
    /// Data frames not yet acknowledged by the client, in order: the outgoing queue, and
    /// what a resumed connection sends again.
    unacked: VecDeque<(u64, Arc<[u8]>)>,
    unacked_bytes: usize,
    /// Last client message accepted for handling (it will be handled).
    accepted: u64,
    /// Last client message whose task committed durably.
    handled: u64,
    /// The connection carrying the session now (0: none, waiting for a resume).
    attached: u64,
    /// Times a connection was attached after the first.
    resumes: u64,
    ending: Option<Ending>,
}

/// A logged-in client's link, shared by its connection and the post office.
pub(crate) struct SessionLink {
    pub id: u64,
    pub key: [u8; KEY_LEN],
    /// Most bytes of unacknowledged frames before the client counts as too slow.
    max_queue: usize,
    state: Mutex<State>,
    /// Wakes the connection: frames queued, an ack to send, the session ending or moving.
    /// Every waiter registers (`enable`) before it checks the state, so `notify_waiters`
    /// never misses one.
    pub wake: Notify,
}

impl SessionLink {
    pub fn new(id: u64, key: [u8; KEY_LEN], max_queue: usize, connection: u64) -> SessionLink {
        assert!(id != 0 && connection != 0);
        SessionLink {
            id,
            key,
            max_queue,
            state: Mutex::new(State {
                next_seq: 1,
                unacked: VecDeque::new(),
                unacked_bytes: 0,
                accepted: 0,
                handled: 0,
                attached: connection,
                resumes: 0,
                ending: None,
            }),
            wake: Notify::new(),
        }
    }

    /// Queues the data frame `make(seq)` with the next sequence number.
    pub fn push(&self, make: impl FnOnce(u64) -> ServerFrame) -> Pushed {
        let mut st = self.state.lock();
        if st.ending.is_some() {
            return Pushed::Ending;
        }
        let seq = st.next_seq;
        let frame = make(seq);
        debug_assert_eq!(frame.seq(), Some(seq));
        let bytes: Arc<[u8]> = frame.to_bytes().into();
        st.next_seq += 1;
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

    /// The client received every frame up to `received`: forget them.
    pub fn ack(&self, received: u64) {
        let mut st = self.state.lock();
        while let Some((seq, bytes)) = st.unacked.front() {
            if *seq > received {
                break;
            }
            st.unacked_bytes -= bytes.len();
            st.unacked.pop_front();
        }
    }

    /// Frames after `sent`, to write.
    pub fn frames_after(&self, sent: u64, out: &mut Vec<(u64, Arc<[u8]>)>) {
        let st = self.state.lock();
        let start = st.unacked.partition_point(|(seq, _)| *seq <= sent);
        out.extend(st.unacked.range(start..).cloned());
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

    /// Last client message handled.
    pub fn last_handled(&self) -> u64 {
        self.state.lock().handled
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
        st.resumes += 1;
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

    /// Times a connection was attached after the first: a reconnection window is over only
    /// if no resume happened during it.
    pub fn resumes(&self) -> u64 {
        self.state.lock().resumes
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
}
