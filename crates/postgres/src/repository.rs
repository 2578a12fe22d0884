//! [`PgRepository`]: the pool every port's implementation shares. Each
//! port is implemented in its own module (`definitions`, `instances`,
//! `stages`, `decisions`, `directory`, `lifecycle`).

use sqlx::PgPool;

/// Implements every repository port of the domain over one pool.
#[derive(Clone)]
pub struct PgRepository {
    pool: PgPool,
}

impl PgRepository {
    /// Wraps a pool whose database has [`crate::MIGRATOR`] applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }

    pub(crate) fn pool(&self) -> &PgPool {
        &self.pool
    }

    /// Whether the database answers a trivial query; for readiness probes.
    pub async fn is_reachable(&self) -> bool {
        sqlx::query("SELECT 1").execute(&self.pool).await.is_ok()
    }
}
