//! The post office: what committed tasks deliver, released in commit order once durable.
//!
//! A core posts a batch's deliveries from inside its store commit (under the store's
//! writer lock), so the post office holds them in sequence order, and every delivery of a
//! commit at or below a durable sequence number is already posted when that number becomes
//! durable. A core's completer, once its batch is durable, releases everything up to that
//! batch's sequence number. Releases take the post office's lock, so deliveries from all
//! cores reach each session, and each channel's members, in one order: commit order.

use std::collections::BTreeMap;
use std::sync::atomic::{AtomicUsize, Ordering};

use darkstar_protocol::{DisconnectReason, ServerFrame};
use darkstar_sdk::Delivery;
use parking_lot::Mutex;

use crate::session::link::Pushed;
use crate::shared::Shared;

#[derive(Default)]
struct Pending {
    /// `(sequence number, arrival)`: a read-only batch posts at its snapshot's number, which
    /// another batch may share.
    by_seq: BTreeMap<(u64, u64), Vec<Delivery>>,
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
    /// Holds `deliveries` of the commit with sequence number `seq`.
    pub fn post(&self, seq: u64, deliveries: Vec<Delivery>) {
        if deliveries.is_empty() {
            return;
        }
        let mut p = self.pending.lock();
        p.arrivals += 1;
        let key = (seq, p.arrivals);
        p.by_seq.insert(key, deliveries);
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
            for d in entry.remove() {
                deliver(shared, d);
            }
        }
    }
}

fn deliver(shared: &Shared, delivery: Delivery) {
    let push = |session: u64, make: &mut dyn FnMut(u64) -> ServerFrame| {
        let Some(link) = shared.sessions.get(session) else {
            // Gone: delivered to nobody, as if it had gone out just before the session ended.
            return;
        };
        if link.push(make) == Pushed::Overflow {
            shared.end_session(
                session,
                DisconnectReason::TooSlow,
                "the client did not read or acknowledge its messages in time",
                false,
            );
        }
    };
    match delivery {
        Delivery::Message { session, body } => {
            let mut body = Some(body);
            push(session, &mut |seq| ServerFrame::Message {
                seq,
                body: body.take().unwrap_or_default(),
            });
        }
        Delivery::ChannelMessage {
            channel,
            sender,
            members,
            body,
        } => {
            for member in members {
                push(member, &mut |seq| ServerFrame::ChannelMessage {
                    seq,
                    channel,
                    sender,
                    body: body.clone(),
                });
            }
        }
        Delivery::Joined {
            session,
            channel,
            name,
        } => push(session, &mut |seq| ServerFrame::Joined {
            seq,
            channel,
            name: name.clone(),
        }),
        Delivery::Left { session, channel } => {
            push(session, &mut |seq| ServerFrame::Left { seq, channel })
        }
        Delivery::Disconnect { session } => shared.end_session(
            session,
            DisconnectReason::Kicked,
            "the game ended the session",
            true,
        ),
    }
}
