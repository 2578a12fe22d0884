//! The test clock of `CLOCK_CONTROL=enabled`.

use access_reviews_domain::ports::{Clock, ClockControl, RepositoryError};
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use sqlx::PgPool;

use crate::error::{CorruptRow, map_sqlx};

/// A clock that runs ahead of real time by an offset kept in PostgreSQL,
/// so that every replica agrees on the time and a test can move it
/// forward: the test clock of `CLOCK_CONTROL=enabled`.
#[derive(Clone)]
pub struct PgTestClock {
    pool: PgPool,
}

impl PgTestClock {
    /// A clock over a pool whose database has [`crate::MIGRATOR`] applied.
    pub fn new(pool: PgPool) -> Self {
        Self { pool }
    }
}

fn offset(ms: i64) -> chrono::Duration {
    chrono::Duration::milliseconds(ms)
}

#[async_trait]
impl Clock for PgTestClock {
    async fn now(&self) -> Result<DateTime<Utc>, RepositoryError> {
        let ms: i64 = sqlx::query_scalar("SELECT offset_ms FROM test_clock")
            .fetch_one(&self.pool)
            .await
            .map_err(map_sqlx)?;
        Ok(Utc::now().trunc_subsecs(3) + offset(ms))
    }
}

#[async_trait]
impl ClockControl for PgTestClock {
    async fn advance(&self, by: chrono::Duration) -> Result<DateTime<Utc>, RepositoryError> {
        let ms: i64 = sqlx::query_scalar(
            "UPDATE test_clock SET offset_ms = offset_ms + $1 RETURNING offset_ms",
        )
        .bind(by.num_milliseconds())
        .fetch_one(&self.pool)
        .await
        .map_err(map_sqlx)?;
        if ms < 0 {
            return Err(CorruptRow {
                what: "clock offset",
            }
            .into());
        }
        Ok(Utc::now().trunc_subsecs(3) + offset(ms))
    }
}
