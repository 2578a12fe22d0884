//! The lifecycle status shared by definitions, instances and stages.

use std::fmt;
use std::str::FromStr;

/// Graph's status values. Graph types `status` as a plain string; these are
/// the documented values, spelled as Graph returns them.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum ReviewStatus {
    /// Being set up.
    Initializing,
    /// Scheduled but not started.
    NotStarted,
    /// Starting.
    Starting,
    /// Running: reviewers can record decisions.
    InProgress,
    /// Ending.
    Completing,
    /// Ended.
    Completed,
    /// Default decisions being applied.
    AutoReviewing,
    /// Default decisions applied.
    AutoReviewed,
}

impl ReviewStatus {
    /// Every value, in Graph's order.
    pub const ALL: [ReviewStatus; 8] = [
        Self::Initializing,
        Self::NotStarted,
        Self::Starting,
        Self::InProgress,
        Self::Completing,
        Self::Completed,
        Self::AutoReviewing,
        Self::AutoReviewed,
    ];

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Initializing => "Initializing",
            Self::NotStarted => "NotStarted",
            Self::Starting => "Starting",
            Self::InProgress => "InProgress",
            Self::Completing => "Completing",
            Self::Completed => "Completed",
            Self::AutoReviewing => "AutoReviewing",
            Self::AutoReviewed => "AutoReviewed",
        }
    }
}

impl fmt::Display for ReviewStatus {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

/// A string that is not one of Graph's status values.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown status value")]
pub struct UnknownStatus;

impl FromStr for ReviewStatus {
    type Err = UnknownStatus;

    /// Case-insensitive: Graph's prose writes `inProgress` where payloads
    /// carry `InProgress`.
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|status| status.as_str().eq_ignore_ascii_case(s))
            .ok_or(UnknownStatus)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn every_status_round_trips_through_its_graph_spelling() {
        for status in ReviewStatus::ALL {
            assert_eq!(status.as_str().parse::<ReviewStatus>(), Ok(status));
        }
    }

    #[test]
    fn parsing_ignores_case_as_graph_prose_does() {
        assert_eq!("inProgress".parse(), Ok(ReviewStatus::InProgress));
        assert_eq!("COMPLETED".parse(), Ok(ReviewStatus::Completed));
        assert_eq!("Done".parse::<ReviewStatus>(), Err(UnknownStatus));
    }
}
