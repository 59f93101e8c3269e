//! Group commit: one flusher thread syncs everything written since its last sync, then
//! tells every waiter whose commit is now on disk. Many commits share each sync.

use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};

use parking_lot::{Condvar, Mutex};

use crate::disk::Disk;
use crate::error::DurabilityError;
use crate::format::log_position;
use crate::options::Durability;
use crate::segment::Segment;
use crate::store::Inner;

/// How far the log is durable, and who waits for it to get further.
#[derive(Default)]
pub(crate) struct DurableState {
    seq: AtomicU64,
    waiters: Mutex<Waiters>,
    cv: Condvar,
}

#[derive(Default)]
struct Waiters {
    wakers: Vec<(u64, Waker)>,
    failed: Option<String>,
}

impl DurableState {
    /// The last sequence number known to be on disk.
    pub fn seq(&self) -> u64 {
        self.seq.load(Ordering::Acquire)
    }

    /// Records that everything up to `seq` is on disk and wakes its waiters.
    pub fn advance(&self, seq: u64) {
        let prev = self.seq.fetch_max(seq, Ordering::AcqRel);
        debug_assert!(prev <= seq, "durability never goes backwards");
        let mut ready = Vec::new();
        let mut w = self.waiters.lock();
        let mut i = 0;
        while i < w.wakers.len() {
            if w.wakers[i].0 <= seq {
                ready.push(w.wakers.swap_remove(i).1);
            } else {
                i += 1;
            }
        }
        drop(w);
        self.cv.notify_all();
        // Woken outside the lock: an executor may poll the future inline.
        for waker in ready {
            waker.wake();
        }
    }

    /// Fails every present and future wait.
    pub fn fail(&self, why: String) {
        let mut w = self.waiters.lock();
        w.failed.get_or_insert(why);
        let ready: Vec<(u64, Waker)> = w.wakers.drain(..).collect();
        drop(w);
        self.cv.notify_all();
        for (_, waker) in ready {
            waker.wake();
        }
    }

    /// Blocks until `seq` is durable.
    pub fn wait(&self, seq: u64) -> Result<(), DurabilityError> {
        if self.seq() >= seq {
            return Ok(());
        }
        let mut w = self.waiters.lock();
        loop {
            if self.seq() >= seq {
                return Ok(());
            }
            if let Some(why) = &w.failed {
                return Err(DurabilityError::Failed(why.clone()));
            }
            self.cv.wait(&mut w);
        }
    }

    fn poll(&self, seq: u64, cx: &mut Context<'_>) -> Poll<Result<(), DurabilityError>> {
        if self.seq() >= seq {
            return Poll::Ready(Ok(()));
        }
        let mut w = self.waiters.lock();
        if self.seq() >= seq {
            return Poll::Ready(Ok(()));
        }
        if let Some(why) = &w.failed {
            return Poll::Ready(Err(DurabilityError::Failed(why.clone())));
        }
        match w.wakers.iter_mut().find(|(s, _)| *s == seq) {
            Some((_, waker)) if waker.will_wake(cx.waker()) => {}
            _ => w.wakers.push((seq, cx.waker().clone())),
        }
        Poll::Pending
    }
}

/// Resolves once a commit is durable (or acknowledged, for
/// [`Store::acknowledged`](crate::Store::acknowledged)). Runtime-agnostic: the flusher thread
/// wakes it.
#[must_use = "futures do nothing unless awaited"]
pub struct DurableFuture {
    pub(crate) inner: Arc<Inner>,
    pub(crate) seq: u64,
}

impl Future for DurableFuture {
    type Output = Result<(), DurabilityError>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        if self.seq > self.inner.visible_seq() {
            // Only a committed sequence number can become durable.
            panic!(
                "waiting for sequence {} which has not been committed (last is {})",
                self.seq,
                self.inner.visible_seq()
            );
        }
        if self.inner.durable.seq() >= self.seq {
            return Poll::Ready(Ok(()));
        }
        self.inner.request_sync();
        if self.inner.options.acknowledges_before_sync() {
            return Poll::Ready(Ok(()));
        }
        self.inner.durable.poll(self.seq, cx)
    }
}

/// Where the flusher has synced up to.
struct Synced {
    segment: u32,
    offset: u32,
}

/// The flusher thread's loop: sync, advance, repeat; exits after a final sync on close.
pub(crate) fn run_flusher(inner: Arc<Inner>, mut synced_seq: u64, start: (u32, u32)) {
    let mut synced = Synced {
        segment: start.0,
        offset: start.1,
    };
    let interval = match inner.options.durability {
        Durability::Full => None,
        Durability::Relaxed { interval } => Some(interval),
    };
    let mut last_sync = Instant::now();
    loop {
        let closing = inner.stop_flusher.load(Ordering::Acquire);
        if inner.failure.get().is_some() {
            return;
        }
        let pending = inner.visible_seq() > synced_seq;
        if !pending {
            if closing {
                return;
            }
            inner
                .flush_signal
                .sleep_unless(Duration::from_millis(50), || {
                    inner.visible_seq() > synced_seq || inner.stop_flusher.load(Ordering::Acquire)
                });
            continue;
        }
        if let Some(interval) = interval {
            // Wait out the interval in short naps, so closing or an explicit wait for
            // durability (which raises `sync_requested`) need not wait for all of it.
            while !closing
                && last_sync.elapsed() < interval
                && !inner.sync_requested.swap(false, Ordering::AcqRel)
                && !inner.stop_flusher.load(Ordering::Acquire)
            {
                let left = interval.saturating_sub(last_sync.elapsed());
                std::thread::sleep(left.min(Duration::from_millis(2)));
            }
        }
        // Take what has been written so far; commits go on while we sync it.
        let (seq, active, pos, rolled) = {
            let mut w = inner.writer.lock();
            (
                w.last_seq,
                w.active.clone(),
                w.pos,
                std::mem::take(&mut w.unsynced),
            )
        };
        // A roll activated a spare by renaming it: make the name durable before any frame
        // in the new segment is acknowledged.
        let synced_now = sync(&mut synced, &rolled, &active, pos).and_then(|()| {
            if rolled.is_empty() {
                Ok(())
            } else {
                inner.disk.sync_dir(&inner.dir)
            }
        });
        match synced_now {
            Ok(()) => {
                last_sync = Instant::now();
                inner.synced_upto.store(
                    log_position(synced.segment, synced.offset),
                    Ordering::Release,
                );
                inner.syncs.fetch_add(1, Ordering::Relaxed);
                synced_seq = seq;
                inner.durable.advance(seq);
            }
            Err(e) => {
                // After a failed sync the kernel may have dropped the dirty pages; retrying
                // could report durability that is not there. Stop accepting commits.
                inner.fail(format!("syncing the log failed: {e}"));
                return;
            }
        }
    }
}

fn sync(
    synced: &mut Synced,
    rolled: &[(Arc<Segment>, u32)],
    active: &Segment,
    pos: u32,
) -> std::io::Result<()> {
    for (seg, end) in rolled {
        let from = if seg.id == synced.segment {
            synced.offset
        } else {
            0
        };
        seg.sync_range(from as usize, *end as usize)?;
        synced.segment = seg.id;
        synced.offset = *end;
    }
    let from = if active.id == synced.segment {
        synced.offset
    } else {
        0
    };
    active.sync_range(from as usize, pos as usize)?;
    synced.segment = active.id;
    synced.offset = pos;
    Ok(())
}
