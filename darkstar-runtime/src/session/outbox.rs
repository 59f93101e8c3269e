//! A single server's outbox: what each commit delivers is stored in that commit, so a
//! restarted server still has every frame its clients had not acknowledged, numbered as
//! before (see `post::first_frame`).
//!
//! One entry per commit that delivers anything or handles a client message: `s/outbox/<n>`
//! bound to a `darkstar.Outbox` object holding the deliveries (encoded as in a cluster log
//! record) and the last message each session handled in that commit. The commit's own
//! version (its sequence number) numbers the frames. An entry is removed once every
//! session it speaks to has acknowledged its frames or ended; the same commit records the
//! sessions' handled numbers under `s/in/<id>`, so one name per session is written about
//! once a second rather than one per message.
//!
//! In a cluster every replica holds the same outbox: the applier adds to each batch that
//! delivers anything `s/outbox/<first frame>` bound to a `darkstar.Outbox` object of an id
//! outside the allocated ones ([`replicated_id`]), so any node taking a session over finds
//! the frames its client has not had. Each batch writes `s/in/<id>` itself, and entries are
//! removed with the log records they came from ([`remove_below`]).

use std::collections::VecDeque;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::time::Duration;

use darkstar_sdk::{decode, encode, managed, Delivery, Stored};
use darkstar_storage::{Batch, Binding, CommitError, Snapshot, Store};
use parking_lot::Mutex;
use tracing::warn;

use crate::cluster::deliveries;
use crate::session::post::{first_frame, frames, walk};
use crate::session::{handled_key, session_key};
use crate::shared::Shared;

/// Stored names of outbox entries.
pub(crate) const OUTBOX_PREFIX: &str = "s/outbox/";

/// How often acknowledged entries are removed.
const TRIM_EVERY: Duration = Duration::from_secs(1);

/// One commit's deliveries, as stored.
#[managed(name = "darkstar.Outbox")]
pub(crate) struct Outbox {
    pub deliveries: Vec<u8>,
    /// `session, number` pairs, flattened: the last message each session handled.
    pub handled: Vec<u64>,
}

/// Ids of replicated outbox objects: above every id a cluster hands out (ranges are
/// reserved upwards from 2^16, 2^20 at a time), one per log entry.
const REPLICATED_IDS: u64 = 1 << 62;

/// The id of the outbox object of the log entry marked `mark` (`position << 16 | index
/// + 1`).
pub(crate) fn replicated_id(mark: u64) -> u64 {
    assert!(mark < REPLICATED_IDS, "log entry mark {mark} too large");
    REPLICATED_IDS | mark
}

/// The stored name of the replicated entry whose first frame is `first`.
fn replicated_name(first: u64) -> String {
    format!("{OUTBOX_PREFIX}{first:020}")
}

/// Adds to a batch from the log the outbox entry of its deliveries, numbered from
/// `first`, as object `id`.
pub(crate) fn stage_replicated(batch: &mut Batch, id: u64, first: u64, ds: &[Delivery]) {
    let mut bytes = Vec::new();
    deliveries::encode(ds, &mut bytes);
    let value = encode(
        &Outbox {
            deliveries: bytes,
            handled: Vec::new(),
        },
        Outbox::TYPE_NAME,
    )
    .expect("byte and number vectors always archive");
    batch.put_object(id, Outbox::STORED_NAME, &value);
    batch.bind(&replicated_name(first), id);
}

/// Every frame for `session` numbered above `received` in a replica's outbox, in order.
pub(crate) fn replicated_frames(
    snap: &Snapshot,
    session: u64,
    received: u64,
) -> Vec<darkstar_protocol::ServerFrame> {
    // Entries are named by their first frame: start at the commit `received` came from.
    let start = received >> super::post::FRAME_BITS << super::post::FRAME_BITS;
    let mut after = replicated_name(start.saturating_sub(1));
    let mut out = Vec::new();
    while let Some((name, first, binding)) = next_entry(snap, &after) {
        match read(snap, binding.id) {
            Ok((ds, _)) => frames(first, &ds, |s, frame| {
                if let Some(f) = frame.filter(|f| s == session && f.seq() > Some(received)) {
                    out.push(f);
                }
            }),
            Err(why) => {
                warn!(entry = %name, why, "an outbox entry cannot be read; its frames are lost")
            }
        }
        after = name;
    }
    out
}

/// The outbox entry named after `after`: its name, the number in it, and its binding.
fn next_entry(snap: &Snapshot, after: &str) -> Option<(String, u64, Binding)> {
    let (name, binding) = snap.next_name(Some(after))?;
    let n = name.strip_prefix(OUTBOX_PREFIX)?.parse().ok()?;
    Some((name, n, binding))
}

/// A batch removing every replicated entry whose first frame is below `first` (at most
/// `limit` of them); `None` if there are none.
pub(crate) fn remove_below(snap: &Snapshot, first: u64, limit: usize) -> Option<Batch> {
    let mut batch = Batch::new();
    let mut after = OUTBOX_PREFIX.to_owned();
    let mut n = 0;
    while let Some((name, at, binding)) = next_entry(snap, &after) {
        if at >= first || n == limit {
            break;
        }
        batch.remove_object(binding.id);
        batch.unbind(&name);
        n += 1;
        after = name;
    }
    (n > 0).then_some(batch)
}

/// An entry staged into a batch, to record once the batch commits.
pub(crate) struct Staged {
    name: String,
    id: u64,
    /// Each session the entry speaks to, with its last frame's offset from the first.
    last: Vec<(u64, u64)>,
    handled: Vec<(u64, u64)>,
}

struct Entry {
    name: String,
    id: u64,
    /// Each session the entry speaks to, with its last frame's number.
    last: Vec<(u64, u64)>,
    /// Each session that handled a message in the entry's commit, with the last one's
    /// number.
    handled: Vec<(u64, u64)>,
}

/// The outbox entries stored and not yet removed.
pub(crate) struct Journal {
    next: AtomicU64,
    entries: Mutex<VecDeque<Entry>>,
}

/// An entry read back from the store.
pub(crate) struct StoredEntry {
    /// The version of its commit: its first frame is `first_frame(version)`.
    pub version: u64,
    pub deliveries: Vec<Delivery>,
    /// `(session, number)` of the last message each session handled in that commit.
    pub handled: Vec<(u64, u64)>,
}

impl Journal {
    /// The journal of `snap`'s store, with its stored entries in commit order; an entry
    /// that cannot be read is logged and skipped (its frames are lost, nothing else).
    pub fn open(snap: &Snapshot) -> (Journal, Vec<StoredEntry>) {
        let mut after = OUTBOX_PREFIX.to_owned();
        let mut next = 1;
        let mut found = Vec::new();
        let mut entries = Vec::new();
        while let Some((name, binding)) = snap.next_name(Some(&after)) {
            let Some(n) = name.strip_prefix(OUTBOX_PREFIX) else {
                break;
            };
            if let Ok(n) = n.parse::<u64>() {
                next = next.max(n + 1);
            }
            match read(snap, binding.id) {
                Ok((ds, handled)) => {
                    let first = first_frame(binding.version);
                    let last = last_frames(first, &ds);
                    entries.push((
                        binding.version,
                        Entry {
                            name: name.clone(),
                            id: binding.id,
                            last,
                            handled: handled.clone(),
                        },
                    ));
                    found.push(StoredEntry {
                        version: binding.version,
                        deliveries: ds,
                        handled,
                    });
                }
                Err(why) => {
                    warn!(entry = %name, why, "an outbox entry cannot be read; its frames are lost")
                }
            }
            after = name;
        }
        entries.sort_by_key(|(v, _)| *v);
        found.sort_by_key(|e| e.version);
        let journal = Journal {
            next: AtomicU64::new(next),
            entries: Mutex::new(entries.into_iter().map(|(_, e)| e).collect()),
        };
        (journal, found)
    }

    /// Adds an entry holding `ds` and `handled` (`(session, number)` in order) to
    /// `batch`, which is about to commit.
    pub fn stage(
        &self,
        store: &Store,
        batch: &mut Batch,
        ds: &[Delivery],
        handled: &[(u64, u64)],
    ) -> Staged {
        let mut bytes = Vec::new();
        deliveries::encode(ds, &mut bytes);
        // A session's messages are handled in order: its last pair is its newest.
        let mut newest = hashbrown::HashMap::with_capacity(handled.len());
        for &(session, seq) in handled {
            newest.insert(session, seq);
        }
        let handled: Vec<(u64, u64)> = newest.into_iter().collect();
        let flat = handled.iter().flat_map(|&(s, n)| [s, n]).collect();
        let value = encode(
            &Outbox {
                deliveries: bytes,
                handled: flat,
            },
            Outbox::TYPE_NAME,
        )
        .expect("byte and number vectors always archive");
        let id = store.allocate_id();
        let name = format!(
            "{OUTBOX_PREFIX}{:020}",
            self.next.fetch_add(1, Ordering::Relaxed)
        );
        batch.put_object(id, Outbox::STORED_NAME, &value);
        batch.bind(&name, id);
        Staged {
            name,
            id,
            last: last_frames(0, ds),
            handled,
        }
    }

    /// `staged` committed, its frames numbered from `first`. Called in commit order.
    pub fn committed(&self, staged: Staged, first: u64) {
        let Staged {
            name,
            id,
            mut last,
            handled,
        } = staged;
        for (_, seq) in &mut last {
            *seq += first;
        }
        self.entries.lock().push_back(Entry {
            name,
            id,
            last,
            handled,
        });
    }

    /// Takes every entry whose frames every session has acknowledged or whose sessions
    /// ended. A session told of a shutdown is still in the table: it is kept for the next
    /// start.
    fn take_done(&self, shared: &Shared) -> Vec<Entry> {
        // Scanned outside the lock, which commits take under the store's writer lock: a
        // long journal (a client slow to acknowledge) must not hold up commits.
        let taken = std::mem::take(&mut *self.entries.lock());
        let mut done = Vec::new();
        let mut kept = VecDeque::with_capacity(taken.len());
        for e in taken {
            let acked = e.last.iter().all(|&(session, seq)| {
                shared
                    .sessions
                    .get(session)
                    .is_none_or(|link| link.last_acked() >= seq)
            });
            if acked {
                done.push(e);
            } else {
                kept.push_back(e);
            }
        }
        let mut entries = self.entries.lock();
        kept.append(&mut entries);
        *entries = kept;
        done
    }

    /// Puts back entries whose removal did not commit.
    fn put_back(&self, done: Vec<Entry>) {
        self.entries.lock().extend(done);
    }
}

/// Fills `batch` with the removal of `done` and, for each live session they record as
/// handling a message, `s/in/<id>` (read against the session's record, so a session that
/// ended meanwhile makes the batch conflict rather than leave its number behind).
fn removal(shared: &Shared, done: &[Entry], batch: &mut Batch) {
    let snap = shared.store.snapshot();
    let mut newest: hashbrown::HashMap<u64, u64> = hashbrown::HashMap::new();
    for e in done {
        batch.remove_object(e.id);
        batch.unbind(&e.name);
        for &(session, seq) in &e.handled {
            let n = newest.entry(session).or_default();
            *n = (*n).max(seq);
        }
    }
    for (session, seq) in newest {
        let Some(record) = snap.name(&session_key(session)) else {
            continue;
        };
        let key = handled_key(session);
        if snap.name(&key).is_some_and(|b| b.id >= seq) {
            continue;
        }
        batch.read_name(&session_key(session), record.version);
        batch.bind(&key, seq);
    }
}

/// Each session `ds` speaks to, with the number of its last frame (frames numbered from
/// `first`).
fn last_frames(first: u64, ds: &[Delivery]) -> Vec<(u64, u64)> {
    let mut last = hashbrown::HashMap::new();
    walk(ds, |offset, session, _| {
        if let Some(offset) = offset {
            last.insert(session, first + offset);
        }
    });
    last.into_iter().collect()
}

/// An entry's deliveries and `(session, number)` handled pairs.
type Contents = (Vec<Delivery>, Vec<(u64, u64)>);

fn read(snap: &Snapshot, id: u64) -> Result<Contents, String> {
    let obj = snap.object(id).ok_or("its object is missing")?;
    if obj.type_name != Outbox::STORED_NAME {
        return Err(format!("its object is a {}", obj.type_name));
    }
    let outbox = decode::<Outbox>(obj.value, id).map_err(|e| e.to_string())?;
    let mut cursor = crate::cluster::cursor::Cursor::new(&outbox.deliveries);
    let ds = deliveries::decode(&mut cursor).map_err(|e| e.to_string())?;
    if outbox.handled.len() % 2 != 0 {
        return Err("its handled numbers are not in pairs".to_owned());
    }
    let handled = outbox.handled.chunks(2).map(|p| (p[0], p[1])).collect();
    Ok((ds, handled))
}

/// Removes acknowledged entries every second until the server stops.
pub(crate) fn spawn_trimmer(
    shared: Arc<Shared>,
    journal: Arc<Journal>,
) -> std::io::Result<std::thread::JoinHandle<()>> {
    std::thread::Builder::new()
        .name("darkstar-outbox".to_owned())
        .spawn(move || {
            let mut batch = Batch::new();
            while !shared.wait_stopped_for(TRIM_EVERY) {
                let done = journal.take_done(&shared);
                if done.is_empty() {
                    continue;
                }
                batch.clear();
                removal(&shared, &done, &mut batch);
                match shared.store.commit(&batch) {
                    Ok(_) => {}
                    // A session ended meanwhile: try again next time.
                    Err(CommitError::Conflict(_)) => journal.put_back(done),
                    Err(e) => {
                        warn!(error = %e, "acknowledged outbox entries could not be removed");
                        return;
                    }
                }
            }
        })
}
