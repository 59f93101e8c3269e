//! The login threads: password checks run here, a bounded number at once, behind a bounded
//! queue; each has a hashing thread under the idle scheduling policy (`password.rs`), which
//! runs only when a CPU has nothing else to do and gives way at once when game work wakes
//! up, so that a storm of logins costs a bounded amount of memory and never takes CPU from
//! game work.
//!
//! The queue is fair between addresses: waiting logins are taken round-robin by address
//! (the key the admission limits use), and one address may have only a few waiting. A
//! storm from some addresses so delays a player elsewhere by a round of the storm's
//! addresses, not by everything the storm queued.

use std::collections::VecDeque;
use std::panic::AssertUnwindSafe;
use std::sync::Arc;
use std::thread::JoinHandle;

use hashbrown::HashMap;
use parking_lot::{Condvar, Mutex};
use tokio::sync::oneshot;
use tracing::warn;

use crate::net::admission::AddressKey;
use crate::net::password::give_this_thread_a_hasher;

type Job = Box<dyn FnOnce() + Send>;

/// Why a login was not queued.
#[derive(Debug, PartialEq, Eq)]
pub(crate) enum QueueFull {
    /// The whole queue (`login_queue`) is full.
    All,
    /// The address has as many logins waiting as it may (`login_queue_per_address`).
    Address,
}

#[derive(Default)]
struct Queue {
    by_address: HashMap<AddressKey, VecDeque<Job>>,
    /// Addresses with waiting jobs, in the order they are served.
    turns: VecDeque<AddressKey>,
    waiting: usize,
    stopping: bool,
}

impl Queue {
    fn pop(&mut self) -> Option<Job> {
        let key = self.turns.pop_front()?;
        let jobs = self
            .by_address
            .get_mut(&key)
            .expect("an address has a turn only while it has jobs");
        let job = jobs
            .pop_front()
            .expect("an address has a turn only while it has jobs");
        if jobs.is_empty() {
            self.by_address.remove(&key);
        } else {
            self.turns.push_back(key);
        }
        self.waiting -= 1;
        Some(job)
    }
}

struct Inner {
    queue: Mutex<Queue>,
    ready: Condvar,
    capacity: usize,
    /// Most jobs waiting per address (0: no limit but `capacity`).
    per_address: usize,
}

/// The running login threads.
pub(crate) struct LoginPool {
    inner: Arc<Inner>,
    threads: Mutex<Vec<JoinHandle<()>>>,
}

impl LoginPool {
    /// Starts `threads` threads taking jobs from a queue of at most `queue` waiting ones,
    /// at most `per_address` of them from one address (0: no limit but `queue`).
    pub fn start(threads: usize, queue: usize, per_address: usize) -> std::io::Result<LoginPool> {
        assert!(threads > 0 && queue > 0);
        let inner = Arc::new(Inner {
            queue: Mutex::new(Queue::default()),
            ready: Condvar::new(),
            capacity: queue,
            per_address,
        });
        let mut handles = Vec::with_capacity(threads);
        for i in 0..threads {
            let inner = inner.clone();
            let handle = std::thread::Builder::new()
                .name(format!("darkstar-login-{i}"))
                .spawn(move || {
                    if let Err(e) = give_this_thread_a_hasher(format!("darkstar-hash-{i}")) {
                        warn!(error = %e, "cannot start a hashing thread; a login thread hashes itself");
                    }
                    while let Some(job) = inner.next() {
                        // A panicking authenticator fails its own login (its result sender
                        // is dropped), not the thread.
                        let _ = std::panic::catch_unwind(AssertUnwindSafe(job));
                    }
                })?;
            handles.push(handle);
        }
        Ok(LoginPool {
            inner,
            threads: Mutex::new(handles),
        })
    }

    /// Queues `f` for `address`; its result arrives on the receiver. A job whose receiver
    /// is dropped before a thread takes it (its client went away) is skipped.
    pub fn run<R: Send + 'static>(
        &self,
        address: AddressKey,
        f: impl FnOnce() -> R + Send + 'static,
    ) -> Result<oneshot::Receiver<R>, QueueFull> {
        let (tx, rx) = oneshot::channel();
        let job: Job = Box::new(move || {
            if tx.is_closed() {
                return;
            }
            let _ = tx.send(f());
        });
        let mut q = self.inner.queue.lock();
        if q.stopping || q.waiting >= self.inner.capacity {
            return Err(QueueFull::All);
        }
        let jobs = q.by_address.entry(address).or_default();
        if self.inner.per_address > 0 && jobs.len() >= self.inner.per_address {
            return Err(QueueFull::Address);
        }
        let first = jobs.is_empty();
        jobs.push_back(job);
        if first {
            q.turns.push_back(address);
        }
        q.waiting += 1;
        drop(q);
        self.inner.ready.notify_one();
        Ok(rx)
    }

    /// Jobs waiting for a thread.
    #[cfg(test)]
    pub fn queued(&self) -> usize {
        self.inner.queue.lock().waiting
    }

    /// Stops the threads once each has finished the job it is running; what still waits is
    /// dropped (its connections are closing too). Later jobs are refused.
    pub fn stop(&self) {
        let dropped = {
            let mut q = self.inner.queue.lock();
            q.stopping = true;
            q.turns.clear();
            q.waiting = 0;
            std::mem::take(&mut q.by_address)
        };
        // Dropped outside the lock: dropping a job drops its result sender.
        drop(dropped);
        self.inner.ready.notify_all();
        let threads = std::mem::take(&mut *self.threads.lock());
        for t in threads {
            let _ = t.join();
        }
    }
}

impl Inner {
    /// The next job, or `None` once the pool stops.
    fn next(&self) -> Option<Job> {
        let mut q = self.queue.lock();
        loop {
            if q.stopping {
                return None;
            }
            if let Some(job) = q.pop() {
                return Some(job);
            }
            self.ready.wait(&mut q);
        }
    }
}

impl Drop for LoginPool {
    fn drop(&mut self) {
        self.stop();
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Barrier;

    const A: AddressKey = AddressKey::V4(1);
    const B: AddressKey = AddressKey::V4(2);

    /// A pool whose one thread is held by a job until the returned barrier is passed.
    const PER_ADDRESS: usize = 8;

    fn held(queue: usize) -> (LoginPool, Arc<Barrier>, oneshot::Receiver<u32>) {
        let pool = LoginPool::start(1, queue, PER_ADDRESS).unwrap();
        let gate = Arc::new(Barrier::new(2));
        let g = gate.clone();
        let first = pool
            .run(A, move || {
                g.wait();
                0
            })
            .unwrap();
        while pool.queued() > 0 {
            std::thread::yield_now();
        }
        (pool, gate, first)
    }

    #[test]
    fn refuses_past_the_queue_and_past_an_address_share() {
        let (pool, gate, first) = held(PER_ADDRESS + 1);
        let mine: Vec<_> = (0..PER_ADDRESS)
            .map(|i| pool.run(A, move || i as u32 + 1).unwrap())
            .collect();
        assert_eq!(pool.run(A, || 99).err(), Some(QueueFull::Address));
        let theirs = pool.run(B, || 100).unwrap();
        assert_eq!(pool.run(B, || 101).err(), Some(QueueFull::All));
        gate.wait();
        assert_eq!(first.blocking_recv().unwrap(), 0);
        for (i, rx) in mine.into_iter().enumerate() {
            assert_eq!(rx.blocking_recv().unwrap(), i as u32 + 1);
        }
        assert_eq!(theirs.blocking_recv().unwrap(), 100);
    }

    #[test]
    fn addresses_take_turns() {
        let (pool, gate, first) = held(64);
        let order = Arc::new(Mutex::new(Vec::new()));
        let mut receivers = Vec::new();
        for (key, name) in [(A, 'a'), (A, 'a'), (A, 'a'), (B, 'b')] {
            let order = order.clone();
            receivers.push(pool.run(key, move || order.lock().push(name)).unwrap());
        }
        gate.wait();
        first.blocking_recv().unwrap();
        for r in receivers {
            r.blocking_recv().unwrap();
        }
        assert_eq!(
            *order.lock(),
            ['a', 'b', 'a', 'a'],
            "b waits one turn, not three"
        );
    }

    #[test]
    fn a_job_nobody_waits_for_is_skipped() {
        let (pool, gate, first) = held(8);
        let ran = Arc::new(Mutex::new(false));
        let r = ran.clone();
        drop(pool.run(B, move || *r.lock() = true).unwrap());
        let after = pool.run(B, || ()).unwrap();
        gate.wait();
        first.blocking_recv().unwrap();
        after.blocking_recv().unwrap();
        assert!(!*ran.lock());
    }
}
