//! Access review stages and their state machine.

use chrono::{DateTime, Utc};

use crate::definition::{QueryScope, StageKey, StageSettings};
use crate::ids::{InstanceId, StageId};
use crate::status::ReviewStatus;

/// An `accessReviewStage`: one stage of a multi-stage instance, created when
/// the stages it depends on have completed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Stage {
    /// Its id (the GUID in URLs).
    pub id: StageId,
    /// The instance it belongs to.
    pub instance_id: InstanceId,
    /// Which entry of the definition's `stageSettings` it runs.
    pub key: StageKey,
    /// When it started.
    pub start_date_time: DateTime<Utc>,
    /// When it is due to end, or when it ended.
    pub end_date_time: DateTime<Utc>,
    /// Its reviewers.
    pub reviewers: Vec<QueryScope>,
    /// Its fallback reviewers.
    pub fallback_reviewers: Vec<QueryScope>,
    status: ReviewStatus,
}

/// Only a stage that is `InProgress` can be stopped (or take decisions).
#[derive(Debug, Clone, Copy, PartialEq, Eq, thiserror::Error)]
#[error("the stage is {status}; only a stage that is InProgress can be stopped")]
pub struct StageNotInProgress {
    /// The stage's actual status.
    pub status: ReviewStatus,
}

impl Stage {
    /// Creates the stage that `settings` describes, `InProgress` from `now`
    /// for its `durationInDays`.
    pub fn start(instance_id: InstanceId, settings: &StageSettings, now: DateTime<Utc>) -> Self {
        Self {
            id: StageId::new_random(),
            instance_id,
            key: settings.stage_id.clone(),
            start_date_time: now,
            end_date_time: now + settings.duration_in_days.as_duration(),
            reviewers: settings.reviewers.clone(),
            fallback_reviewers: settings.fallback_reviewers.clone(),
            status: ReviewStatus::InProgress,
        }
    }

    /// Rebuilds a stage read from storage.
    #[allow(clippy::too_many_arguments)]
    pub fn restore(
        id: StageId,
        instance_id: InstanceId,
        key: StageKey,
        start_date_time: DateTime<Utc>,
        end_date_time: DateTime<Utc>,
        reviewers: Vec<QueryScope>,
        fallback_reviewers: Vec<QueryScope>,
        status: ReviewStatus,
    ) -> Self {
        Self {
            id,
            instance_id,
            key,
            start_date_time,
            end_date_time,
            reviewers,
            fallback_reviewers,
            status,
        }
    }

    /// Its status.
    pub fn status(&self) -> ReviewStatus {
        self.status
    }

    /// Stops the stage at `now`: `InProgress` → `Completed`, and its end
    /// becomes the time of the stop. Any other status is refused.
    pub fn stop(&mut self, now: DateTime<Utc>) -> Result<(), StageNotInProgress> {
        match self.status {
            ReviewStatus::InProgress => {
                self.status = ReviewStatus::Completed;
                self.end_date_time = now;
                Ok(())
            }
            status => Err(StageNotInProgress { status }),
        }
    }
}

#[cfg(test)]
mod tests {
    use chrono::TimeZone;

    use super::*;
    use crate::definition::DurationInDays;

    fn settings() -> StageSettings {
        StageSettings {
            stage_id: StageKey::parse("1".into()).unwrap(),
            depends_on: vec![],
            duration_in_days: DurationInDays::new(3).unwrap(),
            decisions_that_will_move_to_next_stage: None,
            recommendations_enabled: false,
            reviewers: vec![],
            fallback_reviewers: vec![],
        }
    }

    fn at(hour: u32) -> DateTime<Utc> {
        Utc.with_ymd_and_hms(2026, 11, 2, hour, 0, 0).unwrap()
    }

    #[test]
    fn a_started_stage_is_in_progress_for_its_duration() {
        let stage = Stage::start(InstanceId::new_random(), &settings(), at(9));
        assert_eq!(stage.status(), ReviewStatus::InProgress);
        assert_eq!(stage.start_date_time, at(9));
        assert_eq!(
            stage.end_date_time,
            Utc.with_ymd_and_hms(2026, 11, 5, 9, 0, 0).unwrap()
        );
    }

    #[test]
    fn stopping_completes_the_stage_and_ends_it_at_the_stop() {
        let mut stage = Stage::start(InstanceId::new_random(), &settings(), at(9));
        stage.stop(at(11)).unwrap();
        assert_eq!(stage.status(), ReviewStatus::Completed);
        assert_eq!(stage.end_date_time, at(11));
    }

    #[test]
    fn a_stage_can_be_stopped_only_once() {
        let mut stage = Stage::start(InstanceId::new_random(), &settings(), at(9));
        stage.stop(at(10)).unwrap();
        assert_eq!(
            stage.stop(at(11)),
            Err(StageNotInProgress {
                status: ReviewStatus::Completed
            })
        );
        assert_eq!(
            stage.end_date_time,
            at(10),
            "a refused stop changes nothing"
        );
    }

    #[test]
    fn only_in_progress_stages_can_be_stopped() {
        for status in ReviewStatus::ALL {
            let template = Stage::start(InstanceId::new_random(), &settings(), at(9));
            let mut stage = Stage::restore(
                template.id,
                template.instance_id,
                template.key.clone(),
                template.start_date_time,
                template.end_date_time,
                vec![],
                vec![],
                status,
            );
            let result = stage.stop(at(10));
            assert_eq!(
                result.is_ok(),
                status == ReviewStatus::InProgress,
                "{status}"
            );
        }
    }
}
