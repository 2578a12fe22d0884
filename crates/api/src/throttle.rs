//! Throttling like Graph's: a token bucket per caller (the user's `oid`,
//! or the application's `appid`), in each replica. A bucket holds the
//! configured number of requests and refills at that number per 10
//! seconds; a request finding it empty gets `429 TooManyRequests` with
//! `Retry-After`. Only authenticated requests are counted (`/healthz`,
//! `/readyz` and `/metrics` take no token and are never throttled).
//!
//! Throttling is about real time, not review time, so it reads its own
//! monotonic clock (replaceable in tests), not the clock port.

use std::collections::HashMap;
use std::num::NonZeroU32;
use std::sync::{Arc, Mutex, PoisonError};
use std::time::{Duration, Instant};

/// The window the limit is stated over.
const WINDOW: Duration = Duration::from_secs(10);

/// Buckets kept before full (idle) ones are dropped.
const TIDY_ABOVE: usize = 10_000;

struct Bucket {
    tokens: f64,
    at: Instant,
}

/// The per-caller limiter. See the module documentation.
pub struct Throttle {
    capacity: f64,
    /// Tokens per second.
    rate: f64,
    buckets: Mutex<HashMap<String, Bucket>>,
    now: Arc<dyn Fn() -> Instant + Send + Sync>,
}

impl Throttle {
    /// At most `per_10s` requests per caller in any 10 seconds (bursts of
    /// up to that many).
    pub fn new(per_10s: NonZeroU32) -> Self {
        Self::with_clock(per_10s, Arc::new(Instant::now))
    }

    /// [`Self::new`] with a clock of the caller's, for tests.
    pub fn with_clock(per_10s: NonZeroU32, now: Arc<dyn Fn() -> Instant + Send + Sync>) -> Self {
        let capacity = f64::from(per_10s.get());
        Self {
            capacity,
            rate: capacity / WINDOW.as_secs_f64(),
            buckets: Mutex::new(HashMap::new()),
            now,
        }
    }

    /// Takes a token from `caller`'s bucket, or says how long until one is
    /// there.
    ///
    /// # Errors
    /// The time to wait, in whole seconds rounded up, when the bucket is
    /// empty.
    pub fn admit(&self, caller: &str) -> Result<(), Duration> {
        let now = (self.now)();
        let mut buckets = self.buckets.lock().unwrap_or_else(PoisonError::into_inner);
        if buckets.len() > TIDY_ABOVE {
            let (capacity, rate) = (self.capacity, self.rate);
            buckets.retain(|_, b| {
                b.tokens + now.saturating_duration_since(b.at).as_secs_f64() * rate < capacity
            });
        }
        let bucket = buckets.entry(caller.to_owned()).or_insert(Bucket {
            tokens: self.capacity,
            at: now,
        });
        let elapsed = now.saturating_duration_since(bucket.at).as_secs_f64();
        bucket.tokens = (bucket.tokens + elapsed * self.rate).min(self.capacity);
        bucket.at = now;
        if bucket.tokens >= 1.0 {
            bucket.tokens -= 1.0;
            return Ok(());
        }
        let wait = ((1.0 - bucket.tokens) / self.rate).ceil().max(1.0);
        Err(Duration::from_secs_f64(wait))
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    fn throttle(per_10s: u32) -> (Throttle, Arc<Mutex<Instant>>) {
        let now = Arc::new(Mutex::new(Instant::now()));
        let clock = now.clone();
        let throttle = Throttle::with_clock(
            NonZeroU32::new(per_10s).unwrap(),
            Arc::new(move || *clock.lock().unwrap()),
        );
        (throttle, now)
    }

    #[test]
    fn a_caller_gets_its_burst_then_waits_for_the_refill() {
        let (throttle, now) = throttle(5);
        for _ in 0..5 {
            assert_eq!(throttle.admit("ann"), Ok(()));
        }
        // One token comes back every 2 s.
        assert_eq!(throttle.admit("ann"), Err(Duration::from_secs(2)));
        // Another caller has a bucket of its own.
        assert_eq!(throttle.admit("bob"), Ok(()));

        *now.lock().unwrap() += Duration::from_millis(1500);
        assert_eq!(throttle.admit("ann"), Err(Duration::from_secs(1)));
        *now.lock().unwrap() += Duration::from_millis(500);
        assert_eq!(throttle.admit("ann"), Ok(()));
        assert!(throttle.admit("ann").is_err());

        // A full window refills the bucket, never beyond its size.
        *now.lock().unwrap() += Duration::from_secs(60);
        for _ in 0..5 {
            assert_eq!(throttle.admit("ann"), Ok(()));
        }
        assert!(throttle.admit("ann").is_err());
    }
}
