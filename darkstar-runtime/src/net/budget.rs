//! A read budget for a WebSocket connection before it logs in: the WebSocket layer buffers
//! whole messages up to `max_frame` before the server sees a frame, so the budget caps the
//! bytes a connection without an account can make it read (the handshake, `Hello`,
//! `Login`), and is lifted once the connection logs in.

use std::io;
use std::pin::Pin;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::Arc;
use std::task::{Context, Poll};

use tokio::io::{AsyncRead, AsyncWrite, ReadBuf};

/// Bytes a WebSocket connection may send before it logs in: a browser's handshake request
/// with its headers and cookies, then `Hello` and `Login`.
pub(crate) const PRELOGIN_READ: usize = 16 * 1024;

/// The budget shared by a connection's stream and its server.
#[derive(Clone, Debug)]
pub(crate) struct Budget(Arc<AtomicUsize>);

impl Budget {
    /// A budget of [`PRELOGIN_READ`] bytes.
    pub fn prelogin() -> Budget {
        Budget(Arc::new(AtomicUsize::new(PRELOGIN_READ)))
    }

    /// No limit any more.
    pub fn lift(&self) {
        self.0.store(usize::MAX, Ordering::Release);
    }

    /// Whether reading stopped because the budget ran out.
    pub fn is_spent(&self) -> bool {
        self.0.load(Ordering::Acquire) == 0
    }
}

/// A stream that reads no more than its budget allows.
pub(crate) struct Budgeted<S> {
    inner: S,
    budget: Budget,
}

impl<S> Budgeted<S> {
    pub fn new(inner: S, budget: Budget) -> Budgeted<S> {
        Budgeted { inner, budget }
    }
}

impl<S: AsyncRead + Unpin> AsyncRead for Budgeted<S> {
    fn poll_read(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &mut ReadBuf<'_>,
    ) -> Poll<io::Result<()>> {
        let left = self.budget.0.load(Ordering::Acquire);
        if left == usize::MAX {
            return Pin::new(&mut self.inner).poll_read(cx, buf);
        }
        if left == 0 {
            return Poll::Ready(Err(io::Error::new(
                io::ErrorKind::InvalidData,
                "the connection sent more than it may before logging in",
            )));
        }
        let room = buf.remaining().min(left);
        let mut limited = buf.take(room);
        let start = limited.filled().as_ptr();
        let polled = Pin::new(&mut self.inner).poll_read(cx, &mut limited);
        // A reader that swapped the buffer would have filled memory that is not `buf`'s.
        assert_eq!(
            limited.filled().as_ptr(),
            start,
            "the inner reader swapped its buffer"
        );
        let n = limited.filled().len();
        // SAFETY: `limited` borrows `buf`'s unfilled part (asserted: the same memory), and
        // the inner stream initialised and filled its first `n` bytes.
        unsafe { buf.assume_init(n) };
        buf.advance(n);
        if n > 0 {
            // Lifting meanwhile wins: only a budget still in force is spent.
            let _ = self
                .budget
                .0
                .fetch_update(Ordering::AcqRel, Ordering::Acquire, |b| {
                    (b != usize::MAX).then(|| b.saturating_sub(n))
                });
        }
        polled
    }
}

impl<S: AsyncWrite + Unpin> AsyncWrite for Budgeted<S> {
    fn poll_write(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
        buf: &[u8],
    ) -> Poll<io::Result<usize>> {
        Pin::new(&mut self.inner).poll_write(cx, buf)
    }

    fn poll_flush(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_flush(cx)
    }

    fn poll_shutdown(mut self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<io::Result<()>> {
        Pin::new(&mut self.inner).poll_shutdown(cx)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[tokio::test]
    async fn reads_stop_at_the_budget_until_it_is_lifted() {
        let (mut far, near) = tokio::io::duplex(1 << 20);
        let budget = Budget::prelogin();
        let mut stream = Budgeted::new(near, budget.clone());
        far.write_all(&vec![7u8; PRELOGIN_READ + 100])
            .await
            .unwrap();
        let mut got = vec![0u8; PRELOGIN_READ + 100];
        let mut n = 0;
        let err = loop {
            match stream.read(&mut got[n..]).await {
                Ok(k) => n += k,
                Err(e) => break e,
            }
        };
        assert_eq!(n, PRELOGIN_READ);
        assert!(budget.is_spent());
        assert_eq!(err.kind(), io::ErrorKind::InvalidData);

        let budget = Budget::prelogin();
        let (mut far, near) = tokio::io::duplex(1 << 20);
        let mut stream = Budgeted::new(near, budget.clone());
        budget.lift();
        far.write_all(&vec![7u8; PRELOGIN_READ * 2]).await.unwrap();
        drop(far);
        let mut all = Vec::new();
        stream.read_to_end(&mut all).await.unwrap();
        assert_eq!(all.len(), PRELOGIN_READ * 2);
    }
}
