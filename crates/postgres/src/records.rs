//! The JSON documents stored in `jsonb` columns. They are this adapter's
//! own storage format, kept apart from the domain types (which know no
//! serde) and from the API's wire types (which follow Graph).

use access_reviews_domain::definition::{
    Annotations, ApplyAction, DurationInDays, InsightSetting, IsoDuration, MoveDecision,
    NotificationRecipient, QueryScope, Recurrence, ScheduleSettings, StageAnnotations, StageKey,
    StagePlan, StageSettings,
};
use access_reviews_domain::schedule::{Pattern, Range, RangeKind};
use access_reviews_domain::status::ReviewStatus;
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

/// `settings.recurrence` as stored. Rows written before patterns were run
/// lack `day_of_month` and `recurrence_time_zone`.
#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecurrenceRecord {
    pattern_type: Option<String>,
    pattern_interval: Option<i32>,
    #[serde(default)]
    day_of_month: Option<i32>,
    range_type: Option<String>,
    start_date: Option<NaiveDate>,
    end_date: Option<NaiveDate>,
    number_of_occurrences: Option<i32>,
    #[serde(default)]
    recurrence_time_zone: Option<String>,
}

const RECURRENCE: CorruptRow = CorruptRow { what: "recurrence" };

impl From<&Recurrence> for RecurrenceRecord {
    fn from(r: &Recurrence) -> Self {
        let pattern = r.pattern.as_ref();
        Self {
            pattern_type: pattern.map(|p| p.kind.as_str().to_owned()),
            pattern_interval: pattern.map(|p| i32::from(p.interval)),
            day_of_month: pattern.and_then(|p| p.day_of_month).map(i32::from),
            range_type: Some(r.range.kind.as_str().to_owned()),
            start_date: r.range.start_date,
            end_date: r.range.end_date,
            number_of_occurrences: r
                .range
                .number_of_occurrences
                .and_then(|n| i32::try_from(n).ok()),
            recurrence_time_zone: r.range.recurrence_time_zone.clone(),
        }
    }
}

impl TryFrom<RecurrenceRecord> for Recurrence {
    type Error = CorruptRow;

    fn try_from(r: RecurrenceRecord) -> Result<Self, CorruptRow> {
        let pattern = r
            .pattern_type
            .map(|kind| -> Result<Pattern, CorruptRow> {
                Ok(Pattern {
                    kind: kind.parse().map_err(|_| RECURRENCE)?,
                    interval: r
                        .pattern_interval
                        .map_or(Ok(1), u16::try_from)
                        .map_err(|_| RECURRENCE)?,
                    day_of_month: r
                        .day_of_month
                        .map(u8::try_from)
                        .transpose()
                        .map_err(|_| RECURRENCE)?,
                })
            })
            .transpose()?;
        let range = Range {
            kind: r
                .range_type
                .map_or(Ok(RangeKind::NoEnd), |k| k.parse())
                .map_err(|_| RECURRENCE)?,
            start_date: r.start_date,
            end_date: r.end_date,
            number_of_occurrences: r
                .number_of_occurrences
                .map(u32::try_from)
                .transpose()
                .map_err(|_| RECURRENCE)?,
            recurrence_time_zone: r.recurrence_time_zone,
        };
        Recurrence::new(pattern, range).map_err(|_| RECURRENCE)
    }
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
            recurrence: s.recurrence.as_ref().map(RecurrenceRecord::from),
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
            recurrence: s.recurrence.map(Recurrence::try_from).transpose()?,
        })
    }
}

/// A status as stored.
pub(crate) fn status(raw: &str) -> Result<ReviewStatus, CorruptRow> {
    raw.parse().map_err(|_| CorruptRow { what: "status" })
}

/// [`Annotations`] as stored (the `annotations` column); every field
/// defaults, so rows written before it read as empty.
#[derive(Debug, Default, Serialize, Deserialize)]
#[serde(default)]
pub(crate) struct AnnotationsRecord {
    instance_enumeration_scope: Option<QueryScopeRecord>,
    additional_notification_recipients: Vec<RecipientRecord>,
    apply_actions: Vec<String>,
    recommendation_look_back_duration: Option<String>,
    recommendation_insight_settings: Vec<InsightRecord>,
    stages: Vec<StageAnnotationsRecord>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct RecipientRecord {
    template: Option<String>,
    scope: QueryScopeRecord,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct InsightRecord {
    kind: String,
    look_back: Option<String>,
    sign_in_scope: Option<String>,
}

#[derive(Debug, Serialize, Deserialize)]
pub(crate) struct StageAnnotationsRecord {
    stage_id: String,
    look_back: Option<String>,
    insights: Vec<InsightRecord>,
}

fn insight_record(i: &InsightSetting) -> InsightRecord {
    match i {
        InsightSetting::UserLastSignIn {
            look_back,
            sign_in_scope,
        } => InsightRecord {
            kind: "userLastSignIn".into(),
            look_back: look_back.as_ref().map(|d| d.as_str().to_owned()),
            sign_in_scope: sign_in_scope.clone(),
        },
        InsightSetting::GroupPeerOutlier => InsightRecord {
            kind: "groupPeerOutlier".into(),
            look_back: None,
            sign_in_scope: None,
        },
    }
}

fn duration(raw: Option<String>) -> Result<Option<IsoDuration>, CorruptRow> {
    raw.map(|d| IsoDuration::parse(&d))
        .transpose()
        .map_err(|_| CorruptRow { what: "duration" })
}

fn insight(r: InsightRecord) -> Result<InsightSetting, CorruptRow> {
    Ok(match r.kind.as_str() {
        "userLastSignIn" => InsightSetting::UserLastSignIn {
            look_back: duration(r.look_back)?,
            sign_in_scope: r.sign_in_scope,
        },
        "groupPeerOutlier" => InsightSetting::GroupPeerOutlier,
        _ => return Err(CorruptRow { what: "insight" }),
    })
}

impl From<&Annotations> for AnnotationsRecord {
    fn from(a: &Annotations) -> Self {
        Self {
            instance_enumeration_scope: a.instance_enumeration_scope.as_ref().map(Into::into),
            additional_notification_recipients: a
                .additional_notification_recipients
                .iter()
                .map(|r| RecipientRecord {
                    template: r.template.clone(),
                    scope: (&r.scope).into(),
                })
                .collect(),
            apply_actions: a
                .apply_actions
                .iter()
                .map(|x| x.odata_type().to_owned())
                .collect(),
            recommendation_look_back_duration: a
                .recommendation_look_back_duration
                .as_ref()
                .map(|d| d.as_str().to_owned()),
            recommendation_insight_settings: a
                .recommendation_insight_settings
                .iter()
                .map(insight_record)
                .collect(),
            stages: a
                .stages
                .iter()
                .map(|s| StageAnnotationsRecord {
                    stage_id: s.stage_id.clone(),
                    look_back: s
                        .recommendation_look_back_duration
                        .as_ref()
                        .map(|d| d.as_str().to_owned()),
                    insights: s
                        .recommendation_insight_settings
                        .iter()
                        .map(insight_record)
                        .collect(),
                })
                .collect(),
        }
    }
}

impl TryFrom<AnnotationsRecord> for Annotations {
    type Error = CorruptRow;

    fn try_from(r: AnnotationsRecord) -> Result<Self, CorruptRow> {
        Ok(Self {
            instance_enumeration_scope: r.instance_enumeration_scope.map(Into::into),
            additional_notification_recipients: r
                .additional_notification_recipients
                .into_iter()
                .map(|x| NotificationRecipient {
                    template: x.template,
                    scope: x.scope.into(),
                })
                .collect(),
            apply_actions: r
                .apply_actions
                .iter()
                .map(|t| {
                    ApplyAction::parse(t).ok_or(CorruptRow {
                        what: "apply action",
                    })
                })
                .collect::<Result<_, _>>()?,
            recommendation_look_back_duration: duration(r.recommendation_look_back_duration)?,
            recommendation_insight_settings: r
                .recommendation_insight_settings
                .into_iter()
                .map(insight)
                .collect::<Result<_, _>>()?,
            stages: r
                .stages
                .into_iter()
                .map(|s| {
                    Ok(StageAnnotations {
                        stage_id: s.stage_id,
                        recommendation_look_back_duration: duration(s.look_back)?,
                        recommendation_insight_settings: s
                            .insights
                            .into_iter()
                            .map(insight)
                            .collect::<Result<_, _>>()?,
                    })
                })
                .collect::<Result<_, CorruptRow>>()?,
        })
    }
}
