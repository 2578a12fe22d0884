//! Access review instances: one run of a definition.

use chrono::{DateTime, Utc};

use crate::definition::QueryScope;
use crate::ids::{DefinitionId, InstanceId};
use crate::status::ReviewStatus;

/// An `accessReviewInstance`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Instance {
    /// Its id.
    pub id: InstanceId,
    /// The definition it runs.
    pub definition_id: DefinitionId,
    /// When it started.
    pub start_date_time: DateTime<Utc>,
    /// When it is due to end, or when it ended.
    pub end_date_time: DateTime<Utc>,
    /// What is reviewed, copied from the definition at start.
    pub scope: QueryScope,
    /// Reviewers, copied from the definition at start.
    pub reviewers: Vec<QueryScope>,
    /// Fallback reviewers, copied from the definition at start.
    pub fallback_reviewers: Vec<QueryScope>,
    status: ReviewStatus,
}

/// The instance was not `InProgress` when asked to complete.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("the instance is {status}, not InProgress")]
pub struct InstanceNotInProgress {
    /// Its actual status.
    pub status: ReviewStatus,
}

impl Instance {
    /// An instance that starts now and runs for `duration`.
    pub fn start(
        definition_id: DefinitionId,
        scope: QueryScope,
        reviewers: Vec<QueryScope>,
        fallback_reviewers: Vec<QueryScope>,
        now: DateTime<Utc>,
        duration: chrono::Duration,
    ) -> Self {
        Self {
            id: InstanceId::new_random(),
            definition_id,
            start_date_time: now,
            end_date_time: now + duration,
            scope,
            reviewers,
            fallback_reviewers,
            status: ReviewStatus::InProgress,
        }
    }

    /// Rebuilds an instance read from storage.
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        id: InstanceId,
        definition_id: DefinitionId,
        start_date_time: DateTime<Utc>,
        end_date_time: DateTime<Utc>,
        scope: QueryScope,
        reviewers: Vec<QueryScope>,
        fallback_reviewers: Vec<QueryScope>,
        status: ReviewStatus,
    ) -> Self {
        Self {
            id,
            definition_id,
            start_date_time,
            end_date_time,
            scope,
            reviewers,
            fallback_reviewers,
            status,
        }
    }

    /// Its status.
    pub fn status(&self) -> ReviewStatus {
        self.status
    }

    /// Ends the instance at `now`: `InProgress` → `Completed`.
    pub fn complete(&mut self, now: DateTime<Utc>) -> Result<(), InstanceNotInProgress> {
        match self.status {
            ReviewStatus::InProgress => {
                self.status = ReviewStatus::Completed;
                self.end_date_time = now;
                Ok(())
            }
            status => Err(InstanceNotInProgress { status }),
        }
    }
}
