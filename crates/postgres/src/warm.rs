//! Connections kept between the statements of the request path (the reads
//! by path, a stop's two statements), in front of sqlx's pool.
//!
//! sqlx's pool tests every connection given back to it with a round trip
//! to the server (a `Sync` and its answer, from a task it spawns) before
//! another caller may take it: for a one-statement read, a second round
//! trip on both sides. That test is there for connections given back
//! mid-statement (a cancelled request) or after an error; a [`Lease`]
//! whose statements all finished ([`Lease::finished`]) is in neither
//! state, so it stays here, untested, for the next request. Any other
//! lease, and any connection kept here longer than [`REFRESH`], goes back
//! to the pool, which tests it and applies its lifetimes as before.
//!
//! The request path holds at most three quarters of the pool's
//! connections (its permits, handed out first come, first served, so that
//! under a load larger than the pool no request waits behind later ones);
//! the rest are always there for the transactions and everything else,
//! which also get the kept ones when the pool has run out
//! ([`Warm::lend_when_exhausted`]).
//! [`Warm::close`] must run before the pool is closed: a connection kept
//! here is one the pool waits for.

use std::ops::{Deref, DerefMut};
use std::sync::{Mutex, MutexGuard, PoisonError};
use std::time::{Duration, Instant};

use sqlx::pool::PoolConnection;
use sqlx::{PgConnection, PgPool, Postgres};
use tokio::sync::{Semaphore, SemaphorePermit};

/// How long a connection may stay here before the pool sees it again.
const REFRESH: Duration = Duration::from_secs(60);

struct Kept {
    connection: PoolConnection<Postgres>,
    /// When it was taken from the pool.
    since: Instant,
}

/// The connections kept, and whether any more may be.
#[derive(Default)]
struct Idle {
    kept: Vec<Kept>,
    closed: bool,
}

/// See the module documentation.
pub(crate) struct Warm {
    pool: PgPool,
    idle: Mutex<Idle>,
    /// One per connection the request path may hold, kept or in use.
    permits: Semaphore,
}

impl Warm {
    pub(crate) fn new(pool: PgPool) -> Self {
        let max = pool.options().get_max_connections() as usize;
        Self {
            pool,
            idle: Mutex::default(),
            permits: Semaphore::new((max * 3 / 4).max(1)),
        }
    }

    /// A connection, once a permit is free: one kept here, else one from
    /// the pool.
    ///
    /// # Errors
    /// The pool's, when it has none to give or is closed.
    pub(crate) async fn lease(&self) -> Result<Lease<'_>, sqlx::Error> {
        if self.pool.is_closed() {
            self.close();
            return Err(sqlx::Error::PoolClosed);
        }
        let permit = self
            .permits
            .acquire()
            .await
            .map_err(|_| sqlx::Error::PoolClosed)?;
        let kept = self.idle().kept.pop();
        let kept = match kept {
            Some(kept) => kept,
            None => Kept {
                connection: self.pool.acquire().await?,
                since: Instant::now(),
            },
        };
        Ok(Lease {
            warm: self,
            kept,
            _permit: permit,
        })
    }

    /// Gives the kept connections back to the pool when it has none left
    /// for the statements that do not lease (transactions, writes), which
    /// would otherwise wait while connections sit here unused.
    pub(crate) fn lend_when_exhausted(&self) {
        let max = self.pool.options().get_max_connections();
        if self.pool.num_idle() == 0 && self.pool.size() >= max {
            self.give_back(false);
        }
    }

    /// Gives every kept connection back to the pool and keeps no more.
    pub(crate) fn close(&self) {
        self.give_back(true);
    }

    /// Gives the kept connections back to the pool (outside the lock: the
    /// pool's test of each starts as it is dropped), keeping no more when
    /// `closing`.
    fn give_back(&self, closing: bool) {
        let kept = {
            let mut idle = self.idle();
            idle.closed |= closing;
            std::mem::take(&mut idle.kept)
        };
        drop(kept);
    }

    fn idle(&self) -> MutexGuard<'_, Idle> {
        self.idle.lock().unwrap_or_else(PoisonError::into_inner)
    }

    /// Connections kept here now.
    pub(crate) fn kept(&self) -> usize {
        self.idle().kept.len()
    }
}

/// A connection of [`Warm`]'s, for one request's statements. Dropped
/// without [`Lease::finished`] (an error, a cancelled request), its
/// connection goes back to the pool, which tests it.
pub(crate) struct Lease<'a> {
    warm: &'a Warm,
    kept: Kept,
    /// Given back with the connection, kept or not.
    _permit: SemaphorePermit<'a>,
}

impl Lease<'_> {
    /// Says that every statement sent on the connection was answered in
    /// full, so it may serve the next request without the pool's test.
    pub(crate) fn finished(self) {
        let Self { warm, kept, .. } = self;
        if kept.since.elapsed() >= REFRESH || warm.pool.is_closed() {
            return;
        }
        let mut idle = warm.idle();
        if !idle.closed {
            idle.kept.push(kept);
        }
    }
}

impl Deref for Lease<'_> {
    type Target = PgConnection;

    fn deref(&self) -> &PgConnection {
        &self.kept.connection
    }
}

impl DerefMut for Lease<'_> {
    fn deref_mut(&mut self) -> &mut PgConnection {
        &mut self.kept.connection
    }
}

#[cfg(test)]
mod tests {
    // The behaviour against a real server is tested in `tests/it/warm.rs`;
    // here only what needs no server.
    use super::*;
    use sqlx::postgres::PgPoolOptions;

    #[tokio::test]
    async fn a_closed_pool_gives_no_lease_and_nothing_is_kept() {
        let pool = PgPoolOptions::new()
            .max_connections(4)
            .connect_lazy("postgres://nobody@127.0.0.1:9/none")
            .unwrap();
        let warm = Warm::new(pool.clone());
        pool.close().await;
        assert!(matches!(warm.lease().await, Err(sqlx::Error::PoolClosed)));
        assert_eq!(warm.kept(), 0);
    }
}
