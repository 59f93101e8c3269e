//! The post office: what committed tasks deliver, released in commit order once durable.
//!
//! A core posts a batch's deliveries from inside its store commit (under the store's
//! writer lock), so the post office holds them in sequence order, and every delivery of a
//! commit at or below a durable sequence number is already posted when that number becomes
//! durable. A core's completer, once its batch is durable, releases everything up to that
//! batch's sequence number. Releases take the post office's lock, so deliveries from all
//! cores reach each session, and each channel's members, in one order: commit order.
//!
//! A frame's number comes from its commit, not from a counter of the session's: frames of
//! commit `n` are numbered from [`first_frame`]`(n)` on, in delivery order. The same
//! numbers come back when a restarted server reads its outbox, or when another node of a
//! cluster takes the session over from the log, so a client's `received` means the same
//! frame wherever it resumes.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use darkstar_protocol::{DisconnectReason, ServerFrame};
use darkstar_sdk::Delivery;
use parking_lot::Mutex;

use crate::session::link::Pushed;
use crate::shared::Shared;

/// Bits of a frame number below its commit's number: how many frames one commit may
/// deliver (16 Mi, over all its deliveries and channel members).
pub(crate) const FRAME_BITS: u32 = 24;

/// The number of the first frame commit `n` delivers (a store's sequence number on one
/// server, a log position in a cluster).
pub(crate) fn first_frame(n: u64) -> u64 {
    assert!(
        n < 1 << (64 - FRAME_BITS),
        "commit number {n} is past what frame numbers can carry"
    );
    n << FRAME_BITS
}

/// Calls `f(Some(offset), session, delivery)` for every frame `deliveries` make, at its
/// offset from the commit's first frame, and `f(None, session, delivery)` where the game
/// ends a session, in delivery order; returns how many frames.
pub(crate) fn walk(deliveries: &[Delivery], mut f: impl FnMut(Option<u64>, u64, &Delivery)) -> u64 {
    let mut offset = 0;
    for d in deliveries {
        match d {
            Delivery::Message { session, .. }
            | Delivery::Joined { session, .. }
            | Delivery::Left { session, .. } => {
                f(Some(offset), *session, d);
                offset += 1;
            }
            Delivery::ChannelMessage { members, .. } => {
                for &member in members {
                    f(Some(offset), member, d);
                    offset += 1;
                }
            }
            Delivery::Disconnect { session } => f(None, *session, d),
        }
    }
    assert!(
        offset < 1 << FRAME_BITS,
        "one commit delivers {offset} frames, more than frame numbers leave room for"
    );
    offset
}

/// Calls `f(session, Some(frame))` for every frame `deliveries` make, numbered from
/// `first`, and `f(session, None)` where the game ends a session, in delivery order.
pub(crate) fn frames(
    first: u64,
    deliveries: &[Delivery],
    mut f: impl FnMut(u64, Option<ServerFrame>),
) {
    walk(deliveries, |offset, session, d| {
        let Some(offset) = offset else {
            return f(session, None);
        };
        let seq = first + offset;
        let frame = match d {
            Delivery::Message { body, .. } => ServerFrame::Message {
                seq,
                body: body.clone(),
            },
            Delivery::ChannelMessage {
                channel,
                sender,
                body,
                ..
            } => ServerFrame::ChannelMessage {
                seq,
                channel: *channel,
                sender: *sender,
                body: body.clone(),
            },
            Delivery::Joined { channel, name, .. } => ServerFrame::Joined {
                seq,
                channel: *channel,
                name: name.clone(),
            },
            Delivery::Left { channel, .. } => ServerFrame::Left {
                seq,
                channel: *channel,
            },
            Delivery::Disconnect { .. } => unreachable!("a disconnect has no offset"),
        };
        f(session, Some(frame));
    });
}

#[derive(Default)]
struct Pending {
    /// `(sequence number, arrival)`: deliveries and the number of their first frame.
    by_seq: BTreeMap<(u64, u64), (u64, Vec<Delivery>)>,
    arrivals: u64,
}

/// Deliveries waiting for their commits to be durable.
#[derive(Default)]
pub(crate) struct PostOffice {
    pending: Mutex<Pending>,
    /// Entries in `pending`: a completer releasing with nothing posted (the usual case
    /// for games that send little) skips the lock.
    waiting: AtomicUsize,
}

impl PostOffice {
    /// Holds `deliveries` of the commit with sequence number `seq`; their frames are
    /// numbered from `first`.
    pub fn post(&self, seq: u64, first: u64, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let mut p = self.pending.lock();
        p.arrivals += 1;
        let key = (seq, p.arrivals);
        p.by_seq.insert(key, (first, deliveries));
        self.waiting.fetch_add(1, Ordering::Release);
    }

    /// Sends every delivery of commits up to `upto` (which are all durable).
    pub fn release(&self, shared: &Shared, upto: u64) {
        // Posts of commits up to `upto` happened before `upto` was committed, and so
        // before the durability wake-up that led here.
        if self.waiting.load(Ordering::Acquire) == 0 {
            return;
        }
        let mut p = self.pending.lock();
        while let Some(entry) = p.by_seq.first_entry() {
            if entry.key().0 > upto {
                break;
            }
            self.waiting.fetch_sub(1, Ordering::Release);
            let (first, deliveries) = entry.remove();
            deliver(shared, first, &deliveries);
        }
    }
}

fn deliver(shared: &Shared, first: u64, deliveries: &[Delivery]) {
    frames(first, deliveries, |session, frame| {
        let Some(frame) = frame else {
            shared.end_session(
                session,
                DisconnectReason::Kicked,
                "the game ended the session",
                true,
            );
            return;
        };
        let Some(link) = shared.sessions.get(session) else {
            // Gone: delivered to nobody, as if it had gone out just before the session ended.
            return;
        };
        if link.push(frame) == Pushed::Overflow {
            shared.end_session(
                session,
                DisconnectReason::TooSlow,
                "the client did not read or acknowledge its messages in time",
                false,
            );
        }
    });
}
