//! Waking a background thread without a system call on every commit.

use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use parking_lot::{Condvar, Mutex};

/// A doorbell for one sleeping thread.
#[derive(Default)]
pub(crate) struct Signal {
    sleeping: AtomicBool,
    lock: Mutex<()>,
    cv: Condvar,
}

impl Signal {
    /// Wakes the thread if it sleeps; costs one atomic swap when it does not.
    pub fn ring(&self) {
        // Orders the caller's earlier stores (the work) before reading `sleeping`; pairs
        // with the fence in `sleep_unless`.
        std::sync::atomic::fence(Ordering::SeqCst);
        if self.sleeping.swap(false, Ordering::SeqCst) {
            let _g = self.lock.lock();
            self.cv.notify_one();
        }
    }

    /// Wakes the thread whatever it is doing.
    pub fn ring_always(&self) {
        self.sleeping.store(false, Ordering::SeqCst);
        let _g = self.lock.lock();
        self.cv.notify_all();
    }

    /// Sleeps until rung or `timeout` passes, unless `has_work` already holds.
    pub fn sleep_unless(&self, timeout: Duration, has_work: impl Fn() -> bool) {
        let mut g = self.lock.lock();
        self.sleeping.store(true, Ordering::SeqCst);
        std::sync::atomic::fence(Ordering::SeqCst);
        // Checked after announcing sleep: a ring that raced with the check sees `sleeping`
        // and notifies under the lock we hold, so it cannot be lost.
        if has_work() {
            self.sleeping.store(false, Ordering::SeqCst);
            return;
        }
        self.cv.wait_for(&mut g, timeout);
        self.sleeping.store(false, Ordering::SeqCst);
    }
}
