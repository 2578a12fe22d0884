//! The one place that turns `sqlx::Error` into the domain's error.

use access_reviews_domain::ports::RepositoryError;

/// Connection-level failures are `Unavailable` (the client may retry);
/// anything else is a failure of this service.
pub(crate) fn map_sqlx(error: sqlx::Error) -> RepositoryError {
    match error {
        sqlx::Error::Io(_)
        | sqlx::Error::Tls(_)
        | sqlx::Error::PoolTimedOut
        | sqlx::Error::PoolClosed
        | sqlx::Error::WorkerCrashed => RepositoryError::Unavailable(Box::new(error)),
        other => RepositoryError::Failed(Box::new(other)),
    }
}

/// Stored data that does not make a valid domain value: a bug or a manual
/// edit, never the client's fault.
#[derive(Debug, Clone, Copy, thiserror::Error)]
#[error("stored {what} is invalid")]
pub(crate) struct CorruptRow {
    pub(crate) what: &'static str,
}

impl From<CorruptRow> for RepositoryError {
    fn from(error: CorruptRow) -> Self {
        RepositoryError::Failed(Box::new(error))
    }
}

/// Whether the error is a violation of the named unique constraint or index.
pub(crate) fn is_unique_violation(error: &sqlx::Error, constraint: &str) -> bool {
    matches!(error, sqlx::Error::Database(db)
        if db.is_unique_violation() && db.constraint() == Some(constraint))
}
