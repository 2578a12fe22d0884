//! The JSON documents stored in `jsonb` columns. They are this adapter's
//! own storage format, kept apart from the domain types (which know no
//! serde) and from the API's wire types (which follow Graph).

use access_reviews_domain::definition::{
    DurationInDays, MoveDecision, QueryScope, Recurrence, ScheduleSettings, StageKey, StagePlan,
    StageSettings,
};
use chrono::NaiveDate;
use serde::{Deserialize, Serialize};

use crate::error::CorruptRow;

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct QueryScopeRecord {
    odata_type: Option<String>,
    query: String,
    query_type: Option<String>,
    query_root: Option<String>,
}

impl From<&QueryScope> for QueryScopeRecord {
    fn from(scope: &QueryScope) -> Self {
        Self {
            odata_type: scope.odata_type.clone(),
            query: scope.query.clone(),
            query_type: scope.query_type.clone(),
            query_root: scope.query_root.clone(),
        }
    }
}

impl From<QueryScopeRecord> for QueryScope {
    fn from(record: QueryScopeRecord) -> Self {
        Self {
            odata_type: record.odata_type,
            query: record.query,
            query_type: record.query_type,
            query_root: record.query_root,
        }
    }
}

pub(crate) fn scopes_to_records(scopes: &[QueryScope]) -> Vec<QueryScopeRecord> {
    scopes.iter().map(QueryScopeRecord::from).collect()
}

pub(crate) fn scopes_from_records(records: Vec<QueryScopeRecord>) -> Vec<QueryScope> {
    records.into_iter().map(QueryScope::from).collect()
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StageSettingsRecord {
    stage_id: String,
    depends_on: Vec<String>,
    duration_in_days: i64,
    decisions_that_will_move_to_next_stage: Option<Vec<String>>,
    recommendations_enabled: bool,
    reviewers: Vec<QueryScopeRecord>,
    fallback_reviewers: Vec<QueryScopeRecord>,
}

const STAGE_SETTINGS: CorruptRow = CorruptRow {
    what: "stage settings",
};

pub(crate) fn plan_to_records(plan: &StagePlan) -> Vec<StageSettingsRecord> {
    plan.stages()
        .iter()
        .map(|s| StageSettingsRecord {
            stage_id: s.stage_id.as_str().to_owned(),
            depends_on: s.depends_on.iter().map(|d| d.as_str().to_owned()).collect(),
            duration_in_days: i64::from(s.duration_in_days.days()),
            decisions_that_will_move_to_next_stage: s
                .decisions_that_will_move_to_next_stage
                .as_ref()
                .map(|ds| ds.iter().map(|d| d.as_str().to_owned()).collect()),
            recommendations_enabled: s.recommendations_enabled,
            reviewers: scopes_to_records(&s.reviewers),
            fallback_reviewers: scopes_to_records(&s.fallback_reviewers),
        })
        .collect()
}

pub(crate) fn plan_from_records(
    records: Vec<StageSettingsRecord>,
) -> Result<StagePlan, CorruptRow> {
    let stages = records
        .into_iter()
        .map(|r| {
            Ok(StageSettings {
                stage_id: StageKey::parse(r.stage_id).map_err(|_| STAGE_SETTINGS)?,
                depends_on: r
                    .depends_on
                    .into_iter()
                    .map(|d| StageKey::parse(d).map_err(|_| STAGE_SETTINGS))
                    .collect::<Result<_, _>>()?,
                duration_in_days: DurationInDays::new(r.duration_in_days)
                    .map_err(|_| STAGE_SETTINGS)?,
                decisions_that_will_move_to_next_stage: r
                    .decisions_that_will_move_to_next_stage
                    .map(|ds| {
                        ds.iter()
                            .map(|d| d.parse::<MoveDecision>().map_err(|_| STAGE_SETTINGS))
                            .collect::<Result<_, _>>()
                    })
                    .transpose()?,
                recommendations_enabled: r.recommendations_enabled,
                reviewers: scopes_from_records(r.reviewers),
                fallback_reviewers: scopes_from_records(r.fallback_reviewers),
            })
        })
        .collect::<Result<Vec<_>, CorruptRow>>()?;
    StagePlan::new(stages).map_err(|_| STAGE_SETTINGS)
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecurrenceRecord {
    pattern_type: Option<String>,
    pattern_interval: Option<i32>,
    range_type: Option<String>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    number_of_occurrences: Option<i32>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct SettingsRecord {
    instance_duration_in_days: i64,
    justification_required_on_approval: bool,
    decision_histories_for_reviewers_enabled: bool,
    mail_notifications_enabled: bool,
    reminder_notifications_enabled: bool,
    default_decision_enabled: bool,
    default_decision: Option<String>,
    auto_apply_decisions_enabled: bool,
    recommendations_enabled: bool,
    recurrence: Option<RecurrenceRecord>,
}

impl From<&ScheduleSettings> for SettingsRecord {
    fn from(s: &ScheduleSettings) -> Self {
        Self {
            instance_duration_in_days: i64::from(s.instance_duration_in_days.days()),
            justification_required_on_approval: s.justification_required_on_approval,
            decision_histories_for_reviewers_enabled: s.decision_histories_for_reviewers_enabled,
            mail_notifications_enabled: s.mail_notifications_enabled,
            reminder_notifications_enabled: s.reminder_notifications_enabled,
            default_decision_enabled: s.default_decision_enabled,
            default_decision: s.default_decision.map(|d| d.as_str().to_owned()),
            auto_apply_decisions_enabled: s.auto_apply_decisions_enabled,
            recommendations_enabled: s.recommendations_enabled,
            recurrence: s.recurrence.as_ref().map(|r| RecurrenceRecord {
                pattern_type: r.pattern_type.clone(),
                pattern_interval: r.pattern_interval,
                range_type: r.range_type.clone(),
                start_date: r.start_date,
                end_date: r.end_date,
                number_of_occurrences: r.number_of_occurrences,
            }),
        }
    }
}

impl TryFrom<SettingsRecord> for ScheduleSettings {
    type Error = CorruptRow;

    fn try_from(s: SettingsRecord) -> Result<Self, CorruptRow> {
        Ok(Self {
            instance_duration_in_days: DurationInDays::new(s.instance_duration_in_days)
                .map_err(|_| CorruptRow { what: "settings" })?,
            justification_required_on_approval: s.justification_required_on_approval,
            decision_histories_for_reviewers_enabled: s.decision_histories_for_reviewers_enabled,
            mail_notifications_enabled: s.mail_notifications_enabled,
            reminder_notifications_enabled: s.reminder_notifications_enabled,
            default_decision_enabled: s.default_decision_enabled,
            default_decision: s
                .default_decision
                .map(|d| d.parse())
                .transpose()
                .map_err(|_| CorruptRow {
                    what: "default decision",
                })?,
            auto_apply_decisions_enabled: s.auto_apply_decisions_enabled,
            recommendations_enabled: s.recommendations_enabled,
            recurrence: s.recurrence.map(|r| Recurrence {
                pattern_type: r.pattern_type,
                pattern_interval: r.pattern_interval,
                range_type: r.range_type,
                start_date: r.start_date,
                end_date: r.end_date,
                number_of_occurrences: r.number_of_occurrences,
            }),
        })
    }
}
