//! A rate with bursts: how long something must wait to stay under `rate` per second.
//!
//! The generic cell rate algorithm: a theoretical arrival time advances by `cost / rate`
//! with every use, and a use may go ahead while that time is at most one second (the
//! burst) ahead of now. So a quiet peer may spend a second's worth at once, and a busy one
//! gets exactly `rate` per second. It holds one `Instant`, whatever the history.

use std::time::{Duration, Instant};

/// One rate limit.
#[derive(Debug, Clone)]
pub(crate) struct Pace {
    /// Units per second; 0 means no limit.
    rate: u32,
    /// When everything spent so far would have been spent at exactly `rate`.
    tat: Instant,
}

/// How far ahead of now the theoretical arrival time may run: the burst.
const BURST: Duration = Duration::from_secs(1);

impl Pace {
    /// A limit of `rate` units per second, in bursts of as many; 0 means no limit.
    pub fn new(rate: u32, now: Instant) -> Pace {
        Pace { rate, tat: now }
    }

    fn step(&self, cost: u64) -> Duration {
        debug_assert!(self.rate > 0);
        // Saturates rather than overflowing: a cost this large waits "forever".
        let nanos = cost.saturating_mul(1_000_000_000) / u64::from(self.rate);
        Duration::from_nanos(nanos)
    }

    /// Spends `cost` units if that keeps within the limit now; `false` (nothing spent)
    /// if not.
    pub fn try_spend(&mut self, cost: u64, now: Instant) -> bool {
        if self.rate == 0 {
            return true;
        }
        let tat = self.tat.max(now) + self.step(cost);
        if tat > now + BURST {
            return false;
        }
        self.tat = tat;
        true
    }

    /// Spends `cost` units whatever it takes, and returns how long to wait before going
    /// ahead so the limit holds (zero while within the burst). A cost above a second's
    /// worth waits in proportion, so no single use escapes the limit.
    pub fn spend(&mut self, cost: u64, now: Instant) -> Duration {
        if self.rate == 0 {
            return Duration::ZERO;
        }
        self.tat = self.tat.max(now) + self.step(cost);
        self.tat.saturating_duration_since(now + BURST)
    }

    /// Whether the limit is back to a full burst: nothing spent recently counts any more.
    pub fn is_rested(&self, now: Instant) -> bool {
        self.tat <= now
    }
}

/// A session's inbound rates: messages, bytes and channel messages per second. It belongs
/// to the session, not its connection, so reconnecting does not buy a fresh burst.
#[derive(Debug, Clone)]
pub(crate) struct SessionPace {
    messages: Pace,
    bytes: Pace,
    channel: Pace,
}

impl SessionPace {
    /// `messages`, `bytes` and `channel` messages per second; 0 means no limit on that
    /// count.
    pub fn new(messages: u32, bytes: u32, channel: u32, now: Instant) -> SessionPace {
        SessionPace {
            messages: Pace::new(messages, now),
            bytes: Pace::new(bytes, now),
            channel: Pace::new(channel, now),
        }
    }

    /// The pace `config` sets for each session, starting `now`.
    pub fn of(config: &crate::config::Config, now: Instant) -> SessionPace {
        SessionPace::new(
            config.session_messages_per_sec,
            config.session_kib_per_sec.saturating_mul(1024),
            config.channel_messages_per_sec,
            now,
        )
    }

    /// Spends a frame of `len` bytes: a message if `is_message` (to a channel, if
    /// `to_channel`), else only its bytes; how long to wait before handling it.
    pub fn wait(
        &mut self,
        len: usize,
        is_message: bool,
        to_channel: bool,
        now: Instant,
    ) -> Duration {
        let m = if is_message {
            self.messages.spend(1, now)
        } else {
            Duration::ZERO
        };
        let b = self.bytes.spend(len as u64, now);
        let c = if to_channel {
            self.channel.spend(1, now)
        } else {
            Duration::ZERO
        };
        m.max(b).max(c)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_burst_then_exactly_the_rate() {
        let t0 = Instant::now();
        let mut p = Pace::new(10, t0);
        let allowed = (0..100).filter(|_| p.try_spend(1, t0)).count();
        assert_eq!(allowed, 10, "a second's worth at once");
        assert!(!p.try_spend(1, t0));
        assert!(
            p.try_spend(1, t0 + Duration::from_millis(100)),
            "one more per 1/rate"
        );
        assert!(!p.try_spend(1, t0 + Duration::from_millis(100)));
        assert!(p.is_rested(t0 + Duration::from_secs(3)));
    }

    #[test]
    fn spending_over_the_burst_waits_in_proportion() {
        let t0 = Instant::now();
        let mut p = Pace::new(1000, t0);
        assert_eq!(p.spend(1000, t0), Duration::ZERO, "within the burst");
        assert_eq!(p.spend(500, t0), Duration::from_millis(500));
        let mut q = Pace::new(1000, t0);
        assert_eq!(q.spend(3000, t0), Duration::from_secs(2), "one large use");
    }

    #[test]
    fn zero_means_no_limit() {
        let t0 = Instant::now();
        let mut p = Pace::new(0, t0);
        assert!((0..10_000).all(|_| p.try_spend(u64::MAX, t0)));
        assert_eq!(p.spend(u64::MAX, t0), Duration::ZERO);
    }
}
