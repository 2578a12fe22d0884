//! [`PgRepository`]: the pool every port's implementation shares. Each
//! port is implemented in its own module (`definitions`, `instances`,
//! `stages`, `decisions`, `directory`, `lifecycle`).

use std::sync::Arc;

use sqlx::PgPool;

use crate::warm::{Lease, Warm};

/// Implements every repository port of the domain over one pool.
#[derive(Clone)]
pub struct PgRepository {
    pool: PgPool,
    /// The request path's connections ([`crate::warm`]).
    warm: Arc<Warm>,
}

impl PgRepository {
    /// Wraps a pool whose database has [`crate::MIGRATOR`] applied. Close
    /// it with [`Self::close`], not the pool's own `close`, which would wait
    /// for the connections this repository keeps.
    pub fn new(pool: PgPool) -> Self {
        Self {
            warm: Arc::new(Warm::new(pool.clone())),
            pool,
        }
    }

    /// The pool, for the statements that do not lease a connection.
    pub(crate) fn pool(&self) -> &PgPool {
        self.warm.lend_when_exhausted();
        &self.pool
    }

    /// A connection for the request path's statements ([`crate::warm`]).
    pub(crate) async fn lease(&self) -> Result<Lease<'_>, sqlx::Error> {
        self.warm.lease().await
    }

    /// Connections kept for the request path now; for tests.
    pub fn kept_connections(&self) -> usize {
        self.warm.kept()
    }

    /// Gives back the connections it keeps, then closes the pool (waiting
    /// for those in use).
    pub async fn close(&self) {
        self.warm.close();
        self.pool.close().await;
    }

    /// Whether the database answers a trivial query; for readiness probes.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}
