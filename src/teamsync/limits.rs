//! Per-connection flood control: a token bucket, and a rule for when a flood has gone on
//! long enough that the connection is closed rather than merely slowed.

use std::time::Instant;

/// Frames per second with a burst above that rate.
#[derive(Debug, Clone)]
pub struct TokenBucket {
    rate: f64,
    burst: f64,
    tokens: f64,
    last: Instant,
}

impl TokenBucket {
    pub fn new(rate: f64, burst: f64, now: Instant) -> TokenBucket {
        TokenBucket {
            rate,
            burst,
            tokens: burst,
            last: now,
        }
    }

    fn refill(&mut self, now: Instant) {
        let elapsed = now.saturating_duration_since(self.last).as_secs_f64();
        self.tokens = (self.tokens + elapsed * self.rate).min(self.burst);
        self.last = now;
    }

    /// Takes one token if there is one.
    pub fn take(&mut self, now: Instant) -> bool {
        self.refill(now);
        if self.tokens >= 1.0 {
            self.tokens -= 1.0;
            true
        } else {
            false
        }
    }

    /// Whether the bucket is at least half full: the client has calmed down.
    pub fn calm(&mut self, now: Instant) -> bool {
        self.refill(now);
        self.tokens >= self.burst / 2.0
    }
}

/// What to do with one incoming frame.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    Allow,
    /// Drop it; `tell` when the client should hear `rate_limited` (once per flood).
    Drop {
        tell: bool,
    },
    /// The flood goes on: close the connection.
    Close,
}

/// A token bucket with memory of the current flood.
#[derive(Debug, Clone)]
pub struct FloodGuard {
    bucket: TokenBucket,
    /// Frames dropped since the client last calmed down.
    dropped: f64,
    burst: f64,
}

impl FloodGuard {
    pub fn new(rate: f64, burst: f64, now: Instant) -> FloodGuard {
        FloodGuard {
            bucket: TokenBucket::new(rate, burst, now),
            dropped: 0.0,
            burst,
        }
    }

    pub fn check(&mut self, now: Instant) -> Verdict {
        if self.dropped > 0.0 && self.bucket.calm(now) {
            self.dropped = 0.0;
        }
        if self.bucket.take(now) {
            return Verdict::Allow;
        }
        self.dropped += 1.0;
        // Four bursts' worth of frames thrown away without a pause is not a client
        // catching up after a reconnect; it is a flood.
        if self.dropped > 4.0 * self.burst {
            Verdict::Close
        } else {
            Verdict::Drop {
                tell: self.dropped == 1.0,
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use std::time::Duration;

    use super::*;

    #[test]
    fn burst_then_rate() {
        let start = Instant::now();
        let mut bucket = TokenBucket::new(10.0, 5.0, start);
        assert_eq!((0..10).filter(|_| bucket.take(start)).count(), 5);
        assert!(bucket.take(start + Duration::from_millis(100)));
        assert!(!bucket.take(start + Duration::from_millis(100)));
    }

    #[test]
    fn a_flood_is_told_once_then_closed() {
        let start = Instant::now();
        let mut guard = FloodGuard::new(10.0, 5.0, start);
        let verdicts: Vec<Verdict> = (0..40).map(|_| guard.check(start)).collect();
        assert!(verdicts[..5].iter().all(|v| *v == Verdict::Allow));
        assert_eq!(verdicts[5], Verdict::Drop { tell: true });
        assert_eq!(verdicts[6], Verdict::Drop { tell: false });
        assert_eq!(verdicts[25], Verdict::Close);
    }

    #[test]
    fn calming_down_forgives() {
        let start = Instant::now();
        let mut guard = FloodGuard::new(10.0, 5.0, start);
        for _ in 0..10 {
            guard.check(start);
        }
        let later = start + Duration::from_secs(1);
        assert_eq!(guard.check(later), Verdict::Allow);
        for _ in 0..4 {
            guard.check(later);
        }
        assert_eq!(guard.check(later), Verdict::Drop { tell: true });
    }
}
