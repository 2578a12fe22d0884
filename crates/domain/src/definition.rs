//! Access review schedule definitions and the validated input that creates
//! one.

use std::fmt;
use std::str::FromStr;

use chrono::{DateTime, Utc};

use crate::ids::{DefinitionId, PrincipalId};
use crate::schedule::Schedule;
use crate::status::ReviewStatus;

/// Graph allows at most this many stages in a multi-stage review.
pub const MAX_STAGES: usize = 3;

/// A definition's `displayName`: required, not blank.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DisplayName(String);

/// The display name was empty or only white space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("display name is blank")]
pub struct BlankDisplayName;

impl DisplayName {
    /// Accepts any text that is not blank; kept as given.
    pub fn parse(raw: String) -> Result<Self, BlankDisplayName> {
        if raw.trim().is_empty() {
            Err(BlankDisplayName)
        } else {
            Ok(Self(raw))
        }
    }

    /// The name as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// The `stageId` of a stage's settings (`"1"`, `"2"`, ...), which
/// `dependsOn` refers to. Not the GUID of a created stage.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct StageKey(String);

/// The stage key was empty or only white space.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("stage id is blank")]
pub struct BlankStageKey;

impl StageKey {
    /// Accepts any non-blank text.
    pub fn parse(raw: String) -> Result<Self, BlankStageKey> {
        if raw.trim().is_empty() {
            Err(BlankStageKey)
        } else {
            Ok(Self(raw))
        }
    }

    /// The key as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl fmt::Display for StageKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

/// A duration in whole days, at least one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord)]
pub struct DurationInDays(u16);

/// The duration was below one day or beyond what a review can last.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("duration must be between 1 and {max} days", max = DurationInDays::MAX)]
pub struct InvalidDuration;

impl DurationInDays {
    /// Longest accepted duration: ten years, far beyond any real review, but
    /// small enough that date arithmetic can never overflow.
    pub const MAX: u16 = 3660;

    /// Checks 1 ≤ `days` ≤ [`Self::MAX`].
    pub fn new(days: i64) -> Result<Self, InvalidDuration> {
        u16::try_from(days)
            .ok()
            .filter(|d| (1..=Self::MAX).contains(d))
            .map(Self)
            .ok_or(InvalidDuration)
    }

    /// The number of days.
    pub const fn days(self) -> u16 {
        self.0
    }

    /// As a duration to add to a start time.
    pub fn as_duration(self) -> chrono::Duration {
        chrono::Duration::days(i64::from(self.0))
    }
}

/// The values of `decisionsThatWillMoveToNextStage`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum MoveDecision {
    /// Items approved in the stage.
    Approve,
    /// Items denied in the stage.
    Deny,
    /// Items whose decision equals their recommendation.
    Recommendation,
    /// Items nobody decided.
    NotReviewed,
}

/// A string that is not a value of `decisionsThatWillMoveToNextStage`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown decision value")]
pub struct UnknownMoveDecision;

impl MoveDecision {
    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::Recommendation => "Recommendation",
            Self::NotReviewed => "NotReviewed",
        }
    }
}

impl FromStr for MoveDecision {
    type Err = UnknownMoveDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        [
            Self::Approve,
            Self::Deny,
            Self::Recommendation,
            Self::NotReviewed,
        ]
        .into_iter()
        .find(|d| d.as_str().eq_ignore_ascii_case(s))
        .ok_or(UnknownMoveDecision)
    }
}

/// An `accessReviewScope` or `accessReviewReviewerScope`: a Graph query that
/// names who is reviewed or who reviews. Resolving queries belongs to the
/// directory, which a later version adds; until then they are kept as given.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QueryScope {
    /// The `@odata.type` the client sent, if any.
    pub odata_type: Option<String>,
    /// For example `/groups/{id}/transitiveMembers` or `./manager`.
    pub query: String,
    /// For example `MicrosoftGraph`.
    pub query_type: Option<String>,
    /// For relative queries: `decisions`.
    pub query_root: Option<String>,
}

/// One entry of `stageSettings`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageSettings {
    /// The stage's key, referred to by `depends_on`.
    pub stage_id: StageKey,
    /// The stages that must be `Completed` before this one is created.
    pub depends_on: Vec<StageKey>,
    /// How long the stage runs once created.
    pub duration_in_days: DurationInDays,
    /// Which decisions carry an item into the next stage; `None` means all.
    pub decisions_that_will_move_to_next_stage: Option<Vec<MoveDecision>>,
    /// Whether reviewers see recommendations in this stage.
    pub recommendations_enabled: bool,
    /// Who reviews in this stage; empty means self-review.
    pub reviewers: Vec<QueryScope>,
    /// Who reviews items whose reviewers resolve to nobody.
    pub fallback_reviewers: Vec<QueryScope>,
}

/// The validated `stageSettings` of a definition: at most three stages,
/// unique keys, strictly sequential dependencies. Empty for a review without
/// stages.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct StagePlan(Vec<StageSettings>);

/// Why a list of stage settings is not a valid plan. `index` is the position
/// in the list the client sent.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
pub enum StagePlanError {
    /// More than [`MAX_STAGES`] entries.
    #[error("{count} stages given; at most {MAX_STAGES} are supported")]
    TooManyStages {
        /// How many were given.
        count: usize,
    },
    /// Two entries share a `stageId`.
    #[error("stage id {stage_id} is used twice")]
    DuplicateStageId {
        /// The second entry with that key.
        index: usize,
        /// The repeated key.
        stage_id: String,
    },
    /// `dependsOn` is not exactly the previous stage (or empty for the first).
    #[error("stages must be sequential")]
    NotSequential {
        /// The offending entry.
        index: usize,
        /// What `dependsOn` must be: the previous entry's key, or `None` for
        /// the first entry, which depends on nothing.
        expected: Option<String>,
    },
}

impl StagePlan {
    /// Validates Graph's rules: "only sequential stages are currently
    /// supported", so entry *n* depends on exactly entry *n − 1* and the
    /// first on nothing.
    pub fn new(stages: Vec<StageSettings>) -> Result<Self, StagePlanError> {
        if stages.len() > MAX_STAGES {
            return Err(StagePlanError::TooManyStages {
                count: stages.len(),
            });
        }
        for (index, stage) in stages.iter().enumerate() {
            if stages[..index].iter().any(|s| s.stage_id == stage.stage_id) {
                return Err(StagePlanError::DuplicateStageId {
                    index,
                    stage_id: stage.stage_id.as_str().to_owned(),
                });
            }
            let previous = index.checked_sub(1).map(|p| &stages[p].stage_id);
            let sequential = match previous {
                None => stage.depends_on.is_empty(),
                Some(previous) => stage.depends_on.as_slice() == std::slice::from_ref(previous),
            };
            if !sequential {
                return Err(StagePlanError::NotSequential {
                    index,
                    expected: previous.map(|p| p.as_str().to_owned()),
                });
            }
        }
        Ok(Self(stages))
    }

    /// The stages in order.
    pub fn stages(&self) -> &[StageSettings] {
        &self.0
    }

    /// Whether this is a multi-stage review.
    pub fn is_empty(&self) -> bool {
        self.0.is_empty()
    }

    /// The settings of the stage with this key.
    pub fn get(&self, key: &StageKey) -> Option<&StageSettings> {
        self.0.iter().find(|s| &s.stage_id == key)
    }

    /// The sum of the stages' durations, which replaces
    /// `instanceDurationInDays` in a multi-stage review.
    pub fn total_days(&self) -> Option<i64> {
        (!self.is_empty()).then(|| {
            self.0
                .iter()
                .map(|s| i64::from(s.duration_in_days.days()))
                .sum()
        })
    }
}

pub use crate::schedule::Recurrence;

/// `settings.defaultDecision`: what unreviewed items get when an instance
/// ends, if `defaultDecisionEnabled`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum DefaultDecision {
    /// Approve every unreviewed item.
    Approve,
    /// Deny every unreviewed item.
    Deny,
    /// Each unreviewed item takes its recommendation; an item without one
    /// (`NoInfoAvailable`) stays `NotReviewed`.
    Recommendation,
    /// Graph's spelling of "no default decision".
    None,
}

/// A string that is not a value of `defaultDecision`.
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("unknown default decision")]
pub struct UnknownDefaultDecision;

impl DefaultDecision {
    /// Every value, in Graph's order.
    pub const ALL: [DefaultDecision; 4] =
        [Self::Approve, Self::Deny, Self::Recommendation, Self::None];

    /// Graph's spelling.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Approve => "Approve",
            Self::Deny => "Deny",
            Self::Recommendation => "Recommendation",
            Self::None => "None",
        }
    }
}

impl fmt::Display for DefaultDecision {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for DefaultDecision {
    type Err = UnknownDefaultDecision;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::ALL
            .into_iter()
            .find(|d| d.as_str().eq_ignore_ascii_case(s))
            .ok_or(UnknownDefaultDecision)
    }
}

/// `accessReviewScheduleSettings`: the switches a definition carries. Most
/// have no effect yet and are stored so they can be echoed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ScheduleSettings {
    /// Length of an instance without stages.
    pub instance_duration_in_days: DurationInDays,
    /// Makes a justification mandatory when approving.
    pub justification_required_on_approval: bool,
    /// Lets later-stage reviewers see earlier decisions.
    pub decision_histories_for_reviewers_enabled: bool,
    /// Whether reviewers are e-mailed.
    pub mail_notifications_enabled: bool,
    /// Whether reviewers get reminders.
    pub reminder_notifications_enabled: bool,
    /// Whether a default decision applies to unreviewed items.
    pub default_decision_enabled: bool,
    /// The default decision; `None` when not given.
    pub default_decision: Option<DefaultDecision>,
    /// Whether decisions are applied automatically at the end.
    pub auto_apply_decisions_enabled: bool,
    /// Whether reviewers see recommendations.
    pub recommendations_enabled: bool,
    /// The schedule, if any.
    pub recurrence: Option<Recurrence>,
}

impl Default for ScheduleSettings {
    /// Graph's defaults: everything off, instances last one day.
    fn default() -> Self {
        Self {
            instance_duration_in_days: DurationInDays(1),
            justification_required_on_approval: false,
            decision_histories_for_reviewers_enabled: false,
            mail_notifications_enabled: false,
            reminder_notifications_enabled: false,
            default_decision_enabled: false,
            default_decision: None,
            auto_apply_decisions_enabled: false,
            recommendations_enabled: false,
            recurrence: None,
        }
    }
}

/// Who created a definition: Graph's `userIdentity`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Creator {
    /// The principal's object id.
    pub id: PrincipalId,
    /// Display name from the token, if it carried one.
    pub display_name: Option<String>,
    /// User principal name from the token, if it carried one.
    pub user_principal_name: Option<String>,
}

/// Everything a client supplies to create a definition, already validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NewDefinition {
    /// Required name.
    pub display_name: DisplayName,
    /// Free text for administrators.
    pub description_for_admins: Option<String>,
    /// Free text for reviewers.
    pub description_for_reviewers: Option<String>,
    /// What is reviewed.
    pub scope: QueryScope,
    /// Reviewers when there are no stage settings.
    pub reviewers: Vec<QueryScope>,
    /// Fallback reviewers when there are no stage settings.
    pub fallback_reviewers: Vec<QueryScope>,
    /// The stages.
    pub stage_plan: StagePlan,
    /// The switches.
    pub settings: ScheduleSettings,
    /// Documented properties kept and answered, not acted on.
    pub annotations: Annotations,
}

/// Documented properties of a definition, its settings and its stage
/// settings that the service keeps and answers as given but does not act
/// on: it sends no mail and has no sign-in data to recommend from.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Annotations {
    /// `instanceEnumerationScope`.
    pub instance_enumeration_scope: Option<QueryScope>,
    /// `additionalNotificationRecipients`.
    pub additional_notification_recipients: Vec<NotificationRecipient>,
    /// `settings.applyActions`.
    pub apply_actions: Vec<ApplyAction>,
    /// `settings.recommendationLookBackDuration`.
    pub recommendation_look_back_duration: Option<IsoDuration>,
    /// `settings.recommendationInsightSettings`.
    pub recommendation_insight_settings: Vec<InsightSetting>,
    /// The same two recommendation properties of each `stageSettings`
    /// entry that has them, by `stageId`.
    pub stages: Vec<StageAnnotations>,
}

/// `accessReviewNotificationRecipientItem`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NotificationRecipient {
    /// `notificationTemplateType` (e.g. `CompletedAdditionalRecipients`).
    pub template: Option<String>,
    /// `notificationRecipientScope` (a query scope).
    pub scope: QueryScope,
}

/// An `accessReviewApplyAction`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ApplyAction {
    /// `#microsoft.graph.removeAccessApplyAction`.
    RemoveAccess,
    /// `#microsoft.graph.disableAndDeleteUserApplyAction`.
    DisableAndDeleteUser,
}

impl ApplyAction {
    /// Every action, with its `@odata.type`.
    pub const ALL: [(Self, &'static str); 2] = [
        (
            Self::RemoveAccess,
            "#microsoft.graph.removeAccessApplyAction",
        ),
        (
            Self::DisableAndDeleteUser,
            "#microsoft.graph.disableAndDeleteUserApplyAction",
        ),
    ];

    /// Its `@odata.type`.
    pub fn odata_type(self) -> &'static str {
        Self::ALL
            .iter()
            .find(|(a, _)| *a == self)
            .map_or("", |(_, t)| t)
    }

    /// The action of an `@odata.type`.
    pub fn parse(odata_type: &str) -> Option<Self> {
        Self::ALL
            .iter()
            .find(|(_, t)| t.eq_ignore_ascii_case(odata_type))
            .map(|(a, _)| *a)
    }
}

/// An ISO 8601 duration such as `P30D` or `PT12H`, as Graph's `Duration`
/// properties take.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IsoDuration(String);

impl IsoDuration {
    /// Checks the form `P[nY][nM][nW][nD][T[nH][nM][n[.n]S]]`, at least one
    /// part.
    ///
    /// # Errors
    /// The text, when it is not such a duration.
    pub fn parse(text: &str) -> Result<Self, String> {
        let bad = || text.to_owned();
        let rest = text.strip_prefix('P').ok_or_else(bad)?;
        let (date, time) = match rest.split_once('T') {
            Some((d, t)) if !t.is_empty() => (d, Some(t)),
            Some(_) => return Err(bad()),
            None => (rest, None),
        };
        let parts = |s: &str, units: &str, fraction_last: bool| -> Option<usize> {
            let mut count = 0;
            let mut number = String::new();
            let mut allowed = units.chars();
            for c in s.chars() {
                if c.is_ascii_digit() || (fraction_last && c == '.' && !number.is_empty()) {
                    number.push(c);
                } else {
                    // Units in order, each at most once.
                    allowed.by_ref().find(|u| *u == c)?;
                    if number.is_empty() || (number.contains('.') && c != 'S') {
                        return None;
                    }
                    number.clear();
                    count += 1;
                }
            }
            number.is_empty().then_some(count)
        };
        let date_parts = parts(date, "YMWD", false).ok_or_else(bad)?;
        let time_parts = match time {
            Some(t) => parts(t, "HMS", true).ok_or_else(bad)?,
            None => 0,
        };
        if date_parts + time_parts == 0 {
            return Err(bad());
        }
        Ok(Self(text.to_owned()))
    }

    /// The text.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

/// An `accessReviewRecommendationInsightSetting`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsightSetting {
    /// `#microsoft.graph.userLastSignInRecommendationInsightSetting`.
    UserLastSignIn {
        /// `recommendationLookBackDuration`.
        look_back: Option<IsoDuration>,
        /// `signInScope`: `tenant` or `application`.
        sign_in_scope: Option<String>,
    },
    /// `#microsoft.graph.groupPeerOutlierRecommendationInsightSettings`.
    GroupPeerOutlier,
}

/// The recommendation properties of one `stageSettings` entry.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct StageAnnotations {
    /// The entry's `stageId`.
    pub stage_id: String,
    /// `recommendationLookBackDuration`.
    pub recommendation_look_back_duration: Option<IsoDuration>,
    /// `recommendationInsightSettings`.
    pub recommendation_insight_settings: Vec<InsightSetting>,
}

/// A stored definition.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Definition {
    /// Its id.
    pub id: DefinitionId,
    /// What the client supplied.
    pub spec: NewDefinition,
    /// Who created it.
    pub created_by: Creator,
    /// When.
    pub created_date_time: DateTime<Utc>,
    /// Last change (creation, or its status change).
    pub last_modified_date_time: DateTime<Utc>,
    /// `NotStarted` until its first instance, `InProgress` while instances
    /// run or are to come, then `Completed`.
    pub status: ReviewStatus,
    /// When its next instance is due.
    pub schedule: Schedule,
}

impl Definition {
    /// How long one instance lasts: the stages' total, else
    /// `instanceDurationInDays`.
    pub fn instance_duration(&self) -> chrono::Duration {
        let days = self
            .spec
            .stage_plan
            .total_days()
            .unwrap_or_else(|| i64::from(self.spec.settings.instance_duration_in_days.days()));
        chrono::Duration::days(days)
    }

    /// Whether another instance is to come after those started. A
    /// definition completes with its last instance.
    pub fn has_more_instances(&self) -> bool {
        self.schedule.next_start.is_some()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn iso_durations_are_checked_as_graph_takes_them() {
        for good in ["P30D", "PT12H", "P1Y2M3W4DT5H6M7.5S", "PT0.5S", "P0D"] {
            assert_eq!(
                IsoDuration::parse(good).map(|d| d.as_str().to_owned()),
                Ok(good.into())
            );
        }
        for bad in [
            "", "P", "PT", "30D", "P30", "PD", "P1H", "PT1D", "P1D1D", "P1.5D", "PT1.H", "P1DT",
        ] {
            assert!(IsoDuration::parse(bad).is_err(), "{bad}");
        }
    }

    fn key(k: &str) -> StageKey {
        StageKey::parse(k.to_owned()).unwrap()
    }

    fn stage(id: &str, depends_on: &[&str]) -> StageSettings {
        StageSettings {
            stage_id: key(id),
            depends_on: depends_on.iter().map(|d| key(d)).collect(),
            duration_in_days: DurationInDays::new(2).unwrap(),
            decisions_that_will_move_to_next_stage: None,
            recommendations_enabled: false,
            reviewers: vec![],
            fallback_reviewers: vec![],
        }
    }

    #[test]
    fn three_sequential_stages_are_a_valid_plan() {
        let plan = StagePlan::new(vec![
            stage("1", &[]),
            stage("2", &["1"]),
            stage("3", &["2"]),
        ])
        .unwrap();
        assert_eq!(plan.stages().len(), 3);
        assert_eq!(plan.total_days(), Some(6));
    }

    #[test]
    fn no_stages_is_a_valid_plan_without_a_total() {
        let plan = StagePlan::new(vec![]).unwrap();
        assert!(plan.is_empty());
        assert_eq!(plan.total_days(), None);
    }

    #[test]
    fn a_fourth_stage_is_refused() {
        let err = StagePlan::new(vec![
            stage("1", &[]),
            stage("2", &["1"]),
            stage("3", &["2"]),
            stage("4", &["3"]),
        ])
        .unwrap_err();
        assert_eq!(err, StagePlanError::TooManyStages { count: 4 });
    }

    #[test]
    fn a_repeated_stage_id_is_refused_at_its_second_use() {
        let err = StagePlan::new(vec![stage("1", &[]), stage("1", &["1"])]).unwrap_err();
        assert_eq!(
            err,
            StagePlanError::DuplicateStageId {
                index: 1,
                stage_id: "1".into()
            }
        );
    }

    #[test]
    fn the_first_stage_may_not_depend_on_anything() {
        let err = StagePlan::new(vec![stage("1", &["2"]), stage("2", &[])]).unwrap_err();
        assert_eq!(
            err,
            StagePlanError::NotSequential {
                index: 0,
                expected: None
            }
        );
    }

    #[test]
    fn a_later_stage_must_depend_on_exactly_the_previous_one() {
        for depends_on in [&[][..], &["3"][..], &["1", "2"][..], &["2", "2"][..]] {
            let err = StagePlan::new(vec![
                stage("1", &[]),
                stage("2", &["1"]),
                stage("3", depends_on),
            ])
            .unwrap_err();
            assert_eq!(
                err,
                StagePlanError::NotSequential {
                    index: 2,
                    expected: Some("2".into())
                },
                "dependsOn {depends_on:?}"
            );
        }
    }

    #[test]
    fn durations_below_one_day_or_absurdly_long_are_refused() {
        assert_eq!(DurationInDays::new(0), Err(InvalidDuration));
        assert_eq!(DurationInDays::new(-3), Err(InvalidDuration));
        assert_eq!(DurationInDays::new(3661), Err(InvalidDuration));
        assert_eq!(DurationInDays::new(1).map(DurationInDays::days), Ok(1));
        assert_eq!(
            DurationInDays::new(3660).map(DurationInDays::days),
            Ok(3660)
        );
    }

    #[test]
    fn blank_names_and_keys_are_refused() {
        assert_eq!(DisplayName::parse("  ".into()), Err(BlankDisplayName));
        assert_eq!(StageKey::parse(String::new()), Err(BlankStageKey));
        assert_eq!(DisplayName::parse("Q3".into()).unwrap().as_str(), "Q3");
    }

    #[test]
    fn move_decisions_parse_only_graphs_four_values() {
        assert_eq!("approve".parse(), Ok(MoveDecision::Approve));
        assert_eq!("NotReviewed".parse(), Ok(MoveDecision::NotReviewed));
        assert_eq!("Recommendation".parse(), Ok(MoveDecision::Recommendation));
        assert_eq!("Deny".parse(), Ok(MoveDecision::Deny));
        assert_eq!("DontKnow".parse::<MoveDecision>(), Err(UnknownMoveDecision));
    }
}
