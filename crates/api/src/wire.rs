//! Wire types: Graph's JSON shapes, and their conversion from and to the
//! domain. Domain types know nothing of JSON; this is the only place that
//! does.

use access_reviews_domain::definition::{
    Annotations, ApplyAction, Creator, Definition, DisplayName, DurationInDays, InsightSetting,
    IsoDuration, MoveDecision, NewDefinition, NotificationRecipient, QueryScope, Recurrence,
    ScheduleSettings, StageAnnotations, StageKey, StagePlan, StagePlanError, StageSettings,
};
use access_reviews_domain::instance::Instance;
use access_reviews_domain::schedule::{Pattern, Range, RangeKind, RecurrenceError};
use access_reviews_domain::stage::Stage;
use chrono::{DateTime, NaiveDate, SecondsFormat, Utc};
use serde::{Deserialize, Serialize};

use crate::error::ApiError;

pub mod audit;
pub mod decisions;
pub mod directory;
pub mod history;

/// Graph's timestamp form: RFC 3339, UTC, `Z`.
pub(crate) fn timestamp(at: DateTime<Utc>) -> String {
    at.to_rfc3339_opts(SecondsFormat::AutoSi, true)
}

const QUERY_SCOPE_TYPE: &str = "#microsoft.graph.accessReviewQueryScope";
const REVIEWER_SCOPE_TYPE: &str = "#microsoft.graph.accessReviewReviewerScope";

// ---------------------------------------------------------------- output

/// `accessReviewScope` / `accessReviewReviewerScope`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewScope)]
#[serde(rename_all = "camelCase")]
pub struct ScopeDto {
    #[serde(rename = "@odata.type", skip_serializing_if = "Option::is_none")]
    odata_type: Option<String>,
    query: String,
    query_type: Option<String>,
    query_root: Option<String>,
}

impl ScopeDto {
    /// The review's scope: a derived type, so it names itself.
    fn review_scope(scope: &QueryScope) -> Self {
        Self {
            odata_type: Some(
                scope
                    .odata_type
                    .clone()
                    .unwrap_or_else(|| QUERY_SCOPE_TYPE.to_owned()),
            ),
            ..Self::reviewer(scope)
        }
    }

    fn reviewer(scope: &QueryScope) -> Self {
        Self {
            odata_type: None,
            query: scope.query.clone(),
            query_type: scope.query_type.clone(),
            query_root: scope.query_root.clone(),
        }
    }

    fn reviewers(scopes: &[QueryScope]) -> Vec<Self> {
        scopes.iter().map(Self::reviewer).collect()
    }
}

/// `userIdentity`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = userIdentity)]
#[serde(rename_all = "camelCase")]
pub struct IdentityDto {
    id: String,
    display_name: Option<String>,
    user_principal_name: Option<String>,
}

impl IdentityDto {
    /// A decision item's person.
    pub(crate) fn from_identity(i: &access_reviews_domain::decision::Identity) -> Self {
        Self {
            id: i.id.to_string(),
            display_name: Some(i.display_name.clone()),
            user_principal_name: Some(i.user_principal_name.clone()),
        }
    }
}

impl From<&Creator> for IdentityDto {
    fn from(c: &Creator) -> Self {
        Self {
            id: c.id.to_string(),
            display_name: c.display_name.clone(),
            user_principal_name: c.user_principal_name.clone(),
        }
    }
}

/// `accessReviewStageSettings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewStageSettings)]
#[serde(rename_all = "camelCase")]
pub struct StageSettingsDto {
    stage_id: String,
    depends_on: Vec<String>,
    duration_in_days: u16,
    recommendations_enabled: bool,
    decisions_that_will_move_to_next_stage: Option<Vec<&'static str>>,
    reviewers: Vec<ScopeDto>,
    fallback_reviewers: Vec<ScopeDto>,
    recommendation_look_back_duration: Option<String>,
    recommendation_insight_settings: Vec<InsightDto>,
}

impl StageSettingsDto {
    /// The entry, with its annotations.
    fn new(s: &StageSettings, a: &Annotations) -> Self {
        let mine = a.stages.iter().find(|x| x.stage_id == s.stage_id.as_str());
        Self {
            recommendation_look_back_duration: mine
                .and_then(|m| m.recommendation_look_back_duration.as_ref())
                .map(|d| d.as_str().to_owned()),
            recommendation_insight_settings: mine
                .map(|m| InsightDto::all(&m.recommendation_insight_settings))
                .unwrap_or_default(),
            ..Self::from(s)
        }
    }
}

impl From<&StageSettings> for StageSettingsDto {
    fn from(s: &StageSettings) -> Self {
        Self {
            stage_id: s.stage_id.as_str().to_owned(),
            depends_on: s.depends_on.iter().map(|d| d.as_str().to_owned()).collect(),
            duration_in_days: s.duration_in_days.days(),
            recommendations_enabled: s.recommendations_enabled,
            decisions_that_will_move_to_next_stage: s
                .decisions_that_will_move_to_next_stage
                .as_ref()
                .map(|ds| ds.iter().map(|d| d.as_str()).collect()),
            reviewers: ScopeDto::reviewers(&s.reviewers),
            fallback_reviewers: ScopeDto::reviewers(&s.fallback_reviewers),
            recommendation_look_back_duration: None,
            recommendation_insight_settings: Vec::new(),
        }
    }
}

/// `recurrencePattern` as Graph answers it: the properties access reviews
/// do not use carry Graph's defaults.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = recurrencePattern)]
#[serde(rename_all = "camelCase")]
struct PatternDto {
    #[serde(rename = "type")]
    kind: &'static str,
    interval: u16,
    month: u8,
    day_of_month: u8,
    #[schema(value_type = Vec<String>)]
    days_of_week: [(); 0],
    first_day_of_week: &'static str,
    index: &'static str,
}

/// `recurrenceRange` as Graph answers it.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = recurrenceRange)]
#[serde(rename_all = "camelCase")]
struct RangeDto {
    #[serde(rename = "type")]
    kind: &'static str,
    number_of_occurrences: u32,
    recurrence_time_zone: Option<String>,
    start_date: Option<String>,
    end_date: String,
}

/// `patternedRecurrence`; `pattern` is null for a one-time review.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = patternedRecurrence)]
#[serde(rename_all = "camelCase")]
pub struct RecurrenceDto {
    pattern: Option<PatternDto>,
    range: RangeDto,
}

impl From<&Recurrence> for RecurrenceDto {
    fn from(r: &Recurrence) -> Self {
        Self {
            pattern: r.pattern.as_ref().map(|p| PatternDto {
                kind: p.kind.as_str(),
                interval: p.interval,
                month: 0,
                day_of_month: p.day_of_month.unwrap_or(0),
                days_of_week: [],
                first_day_of_week: "sunday",
                index: "first",
            }),
            range: RangeDto {
                kind: r.range.kind.as_str(),
                number_of_occurrences: r.range.number_of_occurrences.unwrap_or(0),
                recurrence_time_zone: r.range.recurrence_time_zone.clone(),
                start_date: r.range.start_date.map(|d| d.to_string()),
                // Graph's "no end".
                end_date: r
                    .range
                    .end_date
                    .map_or_else(|| "9999-12-31".to_owned(), |d| d.to_string()),
            },
        }
    }
}

/// `accessReviewScheduleSettings`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewScheduleSettings)]
#[serde(rename_all = "camelCase")]
pub struct SettingsDto {
    mail_notifications_enabled: bool,
    reminder_notifications_enabled: bool,
    justification_required_on_approval: bool,
    default_decision_enabled: bool,
    /// `None` when none was given, as Graph's samples answer.
    default_decision: &'static str,
    instance_duration_in_days: u16,
    auto_apply_decisions_enabled: bool,
    recommendations_enabled: bool,
    decision_histories_for_reviewers_enabled: bool,
    recurrence: Option<RecurrenceDto>,
    apply_actions: Vec<TypedDto>,
    recommendation_look_back_duration: Option<String>,
    recommendation_insight_settings: Vec<InsightDto>,
}

/// An object known by its `@odata.type`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewApplyAction)]
pub struct TypedDto {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
}

/// `accessReviewRecommendationInsightSetting`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewRecommendationInsightSetting)]
#[serde(rename_all = "camelCase")]
pub struct InsightDto {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    #[serde(skip_serializing_if = "Option::is_none")]
    recommendation_look_back_duration: Option<String>,
    #[serde(skip_serializing_if = "Option::is_none")]
    sign_in_scope: Option<String>,
}

impl InsightDto {
    fn all(settings: &[InsightSetting]) -> Vec<Self> {
        settings
            .iter()
            .map(|i| match i {
                InsightSetting::UserLastSignIn {
                    look_back,
                    sign_in_scope,
                } => Self {
                    odata_type: LAST_SIGN_IN,
                    recommendation_look_back_duration: look_back
                        .as_ref()
                        .map(|d| d.as_str().to_owned()),
                    sign_in_scope: sign_in_scope.clone(),
                },
                InsightSetting::GroupPeerOutlier => Self {
                    odata_type: PEER_OUTLIER,
                    recommendation_look_back_duration: None,
                    sign_in_scope: None,
                },
            })
            .collect()
    }
}

/// `accessReviewNotificationRecipientItem`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewNotificationRecipientItem)]
#[serde(rename_all = "camelCase")]
pub struct RecipientDto {
    notification_template_type: Option<String>,
    notification_recipient_scope: ScopeDto,
}

impl SettingsDto {
    /// The settings, with the annotations Graph answers among them.
    fn new(s: &ScheduleSettings, a: &Annotations) -> Self {
        Self {
            apply_actions: a
                .apply_actions
                .iter()
                .map(|x| TypedDto {
                    odata_type: x.odata_type(),
                })
                .collect(),
            recommendation_look_back_duration: a
                .recommendation_look_back_duration
                .as_ref()
                .map(|d| d.as_str().to_owned()),
            recommendation_insight_settings: InsightDto::all(&a.recommendation_insight_settings),
            ..Self::from(s)
        }
    }
}

impl From<&ScheduleSettings> for SettingsDto {
    fn from(s: &ScheduleSettings) -> Self {
        Self {
            mail_notifications_enabled: s.mail_notifications_enabled,
            reminder_notifications_enabled: s.reminder_notifications_enabled,
            justification_required_on_approval: s.justification_required_on_approval,
            default_decision_enabled: s.default_decision_enabled,
            default_decision: s
                .default_decision
                .unwrap_or(access_reviews_domain::definition::DefaultDecision::None)
                .as_str(),
            instance_duration_in_days: s.instance_duration_in_days.days(),
            auto_apply_decisions_enabled: s.auto_apply_decisions_enabled,
            recommendations_enabled: s.recommendations_enabled,
            decision_histories_for_reviewers_enabled: s.decision_histories_for_reviewers_enabled,
            recurrence: s.recurrence.as_ref().map(RecurrenceDto::from),
            apply_actions: Vec::new(),
            recommendation_look_back_duration: None,
            recommendation_insight_settings: Vec::new(),
        }
    }
}

/// `accessReviewScheduleDefinition`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewScheduleDefinition)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionDto {
    id: String,
    display_name: String,
    created_date_time: String,
    last_modified_date_time: String,
    status: &'static str,
    description_for_admins: Option<String>,
    description_for_reviewers: Option<String>,
    created_by: IdentityDto,
    scope: ScopeDto,
    instance_enumeration_scope: Option<ScopeDto>,
    reviewers: Vec<ScopeDto>,
    fallback_reviewers: Vec<ScopeDto>,
    backup_reviewers: Vec<ScopeDto>,
    additional_notification_recipients: Vec<RecipientDto>,
    settings: SettingsDto,
    stage_settings: Vec<StageSettingsDto>,
}

/// The properties `$select` may name on a definition.
pub const DEFINITION_PROPERTIES: &[&str] = &[
    "id",
    "displayName",
    "createdDateTime",
    "lastModifiedDateTime",
    "status",
    "descriptionForAdmins",
    "descriptionForReviewers",
    "createdBy",
    "scope",
    "instanceEnumerationScope",
    "reviewers",
    "fallbackReviewers",
    "backupReviewers",
    "additionalNotificationRecipients",
    "settings",
    "stageSettings",
];

impl From<&Definition> for DefinitionDto {
    fn from(d: &Definition) -> Self {
        Self {
            id: d.id.to_string(),
            display_name: d.spec.display_name.as_str().to_owned(),
            created_date_time: timestamp(d.created_date_time),
            last_modified_date_time: timestamp(d.last_modified_date_time),
            status: d.status.as_str(),
            description_for_admins: d.spec.description_for_admins.clone(),
            description_for_reviewers: d.spec.description_for_reviewers.clone(),
            created_by: IdentityDto::from(&d.created_by),
            scope: ScopeDto::review_scope(&d.spec.scope),
            instance_enumeration_scope: d
                .spec
                .annotations
                .instance_enumeration_scope
                .as_ref()
                .map(ScopeDto::review_scope),
            reviewers: ScopeDto::reviewers(&d.spec.reviewers),
            fallback_reviewers: ScopeDto::reviewers(&d.spec.fallback_reviewers),
            backup_reviewers: ScopeDto::reviewers(&d.spec.fallback_reviewers),
            additional_notification_recipients: d
                .spec
                .annotations
                .additional_notification_recipients
                .iter()
                .map(|r| RecipientDto {
                    notification_template_type: r.template.clone(),
                    notification_recipient_scope: ScopeDto::review_scope(&r.scope),
                })
                .collect(),
            settings: SettingsDto::new(&d.spec.settings, &d.spec.annotations),
            stage_settings: d
                .spec
                .stage_plan
                .stages()
                .iter()
                .map(|s| StageSettingsDto::new(s, &d.spec.annotations))
                .collect(),
        }
    }
}

/// `accessReviewInstance`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewInstance)]
#[serde(rename_all = "camelCase")]
pub struct InstanceDto {
    id: String,
    start_date_time: String,
    end_date_time: String,
    status: &'static str,
    scope: ScopeDto,
    reviewers: Vec<ScopeDto>,
    fallback_reviewers: Vec<ScopeDto>,
}

/// `accessReviewReviewer`: a contacted reviewer of an instance.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewReviewer)]
#[serde(rename_all = "camelCase")]
pub struct ReviewerDto {
    id: String,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    created_date_time: String,
}

/// The properties `$select` may name on a contacted reviewer.
pub const REVIEWER_PROPERTIES: &[&str] =
    &["id", "displayName", "userPrincipalName", "createdDateTime"];

impl From<&access_reviews_domain::decision::ContactedReviewer> for ReviewerDto {
    fn from(r: &access_reviews_domain::decision::ContactedReviewer) -> Self {
        Self {
            id: r.id.to_string(),
            display_name: r.display_name.clone(),
            user_principal_name: r.user_principal_name.clone(),
            created_date_time: timestamp(r.since),
        }
    }
}

/// The properties `$select` may name on an instance.
pub const INSTANCE_PROPERTIES: &[&str] = &[
    "id",
    "startDateTime",
    "endDateTime",
    "status",
    "scope",
    "reviewers",
    "fallbackReviewers",
];

impl From<&Instance> for InstanceDto {
    fn from(i: &Instance) -> Self {
        Self {
            id: i.id.to_string(),
            start_date_time: timestamp(i.start_date_time),
            end_date_time: timestamp(i.end_date_time),
            status: i.status().as_str(),
            scope: ScopeDto::review_scope(&i.scope),
            reviewers: ScopeDto::reviewers(&i.reviewers),
            fallback_reviewers: ScopeDto::reviewers(&i.fallback_reviewers),
        }
    }
}

/// `accessReviewStage`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewStage)]
#[serde(rename_all = "camelCase")]
pub struct StageDto {
    id: String,
    start_date_time: String,
    end_date_time: String,
    status: &'static str,
    reviewers: Vec<ScopeDto>,
    fallback_reviewers: Vec<ScopeDto>,
}

/// The properties `$select` may name on a stage.
pub const STAGE_PROPERTIES: &[&str] = &[
    "id",
    "startDateTime",
    "endDateTime",
    "status",
    "reviewers",
    "fallbackReviewers",
];

impl From<&Stage> for StageDto {
    fn from(s: &Stage) -> Self {
        Self {
            id: s.id.to_string(),
            start_date_time: timestamp(s.start_date_time),
            end_date_time: timestamp(s.end_date_time),
            status: s.status().as_str(),
            reviewers: ScopeDto::reviewers(&s.reviewers),
            fallback_reviewers: ScopeDto::reviewers(&s.fallback_reviewers),
        }
    }
}

// ----------------------------------------------------------------- input

/// A scope as clients send it. Graph's other fields are accepted and
/// ignored.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct ScopeBody {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    query: Option<String>,
    query_type: Option<String>,
    query_root: Option<String>,
}

/// `accessReviewNotificationRecipientItem` as clients send it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct RecipientBody {
    notification_template_type: Option<String>,
    notification_recipient_scope: Option<ScopeBody>,
}

/// An object known by its `@odata.type` (`applyActions`).
#[derive(Debug, Deserialize)]
struct TypedBody {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
}

/// `accessReviewRecommendationInsightSetting` as clients send it.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct InsightBody {
    #[serde(rename = "@odata.type")]
    odata_type: Option<String>,
    recommendation_look_back_duration: Option<String>,
    sign_in_scope: Option<String>,
}

const LAST_SIGN_IN: &str = "#microsoft.graph.userLastSignInRecommendationInsightSetting";
const PEER_OUTLIER: &str = "#microsoft.graph.groupPeerOutlierRecommendationInsightSettings";

fn look_back(raw: Option<String>, field: &str) -> Result<Option<IsoDuration>, ApiError> {
    raw.map(|d| {
        IsoDuration::parse(&d)
            .map_err(|_| invalid(field, "must be an ISO 8601 duration such as P30D"))
    })
    .transpose()
}

fn insights(body: Option<Vec<InsightBody>>, field: &str) -> Result<Vec<InsightSetting>, ApiError> {
    body.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, b)| {
            let field = format!("{field}[{i}]");
            match b.odata_type.as_deref() {
                Some(t) if t.eq_ignore_ascii_case(LAST_SIGN_IN) => {
                    let scope = b.sign_in_scope;
                    if let Some(other) = scope
                        .as_deref()
                        .filter(|s| !matches!(*s, "tenant" | "application"))
                    {
                        return Err(invalid(
                            &format!("{field}.signInScope"),
                            &format!("'{other}' is neither tenant nor application"),
                        ));
                    }
                    Ok(InsightSetting::UserLastSignIn {
                        look_back: look_back(
                            b.recommendation_look_back_duration,
                            &format!("{field}.recommendationLookBackDuration"),
                        )?,
                        sign_in_scope: scope,
                    })
                }
                Some(t) if t.eq_ignore_ascii_case(PEER_OUTLIER) => {
                    Ok(InsightSetting::GroupPeerOutlier)
                }
                Some(other) => Err(invalid(
                    &format!("{field}.@odata.type"),
                    &format!("'{other}' is not a recommendation insight setting type"),
                )),
                None => Err(missing(&format!("{field}.@odata.type"))),
            }
        })
        .collect()
}

#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
struct StageSettingsBody {
    recommendation_look_back_duration: Option<String>,
    recommendation_insight_settings: Option<Vec<InsightBody>>,
    stage_id: Option<String>,
    depends_on: Option<Vec<String>>,
    duration_in_days: Option<i64>,
    decisions_that_will_move_to_next_stage: Option<Vec<String>>,
    recommendations_enabled: Option<bool>,
    reviewers: Option<Vec<ScopeBody>>,
    fallback_reviewers: Option<Vec<ScopeBody>>,
}

#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct SettingsBody {
    instance_duration_in_days: Option<i64>,
    justification_required_on_approval: Option<bool>,
    decision_histories_for_reviewers_enabled: Option<bool>,
    mail_notifications_enabled: Option<bool>,
    reminder_notifications_enabled: Option<bool>,
    default_decision_enabled: Option<bool>,
    default_decision: Option<String>,
    auto_apply_decisions_enabled: Option<bool>,
    recommendations_enabled: Option<bool>,
    recurrence: Option<RecurrenceBody>,
    apply_actions: Option<Vec<TypedBody>>,
    recommendation_look_back_duration: Option<String>,
    recommendation_insight_settings: Option<Vec<InsightBody>>,
}

/// `recurrencePattern` as clients send it; `month`, `daysOfWeek`,
/// `firstDayOfWeek` and `index` are accepted and have no effect on the
/// patterns access reviews run.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct PatternBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    interval: Option<i64>,
    day_of_month: Option<i64>,
}

/// `recurrenceRange` as clients send it.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RangeBody {
    #[serde(rename = "type")]
    kind: Option<String>,
    start_date: Option<String>,
    end_date: Option<String>,
    number_of_occurrences: Option<i64>,
    recurrence_time_zone: Option<String>,
}

/// `patternedRecurrence` as clients send it.
#[derive(Debug, Deserialize, Default)]
#[serde(rename_all = "camelCase")]
struct RecurrenceBody {
    pattern: Option<PatternBody>,
    range: Option<RangeBody>,
}

/// The body of `POST …/definitions` and of `PUT …/definitions/{id}`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct DefinitionBody {
    display_name: Option<String>,
    description_for_admins: Option<String>,
    description_for_reviewers: Option<String>,
    scope: Option<ScopeBody>,
    reviewers: Option<Vec<ScopeBody>>,
    fallback_reviewers: Option<Vec<ScopeBody>>,
    stage_settings: Option<Vec<StageSettingsBody>>,
    settings: Option<SettingsBody>,
    instance_enumeration_scope: Option<ScopeBody>,
    additional_notification_recipients: Option<Vec<RecipientBody>>,
    backup_reviewers: Option<Vec<ScopeBody>>,
}

impl DefinitionBody {
    /// Whether `stageSettings` was sent (a `PUT` without it keeps them).
    pub fn names_stages(&self) -> bool {
        self.stage_settings.is_some()
    }
}

pub(crate) fn missing(field: &str) -> ApiError {
    ApiError::invalid(
        "missingProperty",
        format!("The property '{field}' is required."),
    )
}

pub(crate) fn invalid(field: &str, why: &str) -> ApiError {
    ApiError::invalid(
        "invalidProperty",
        format!("The property '{field}' is invalid: {why}."),
    )
}

/// Parses a JSON object body, naming the property whose value has the
/// wrong type.
///
/// # Errors
/// 400 `invalidRequest` with `invalidJson` or `invalidProperty`.
pub fn parse_json<T: serde::de::DeserializeOwned>(bytes: &[u8]) -> Result<T, ApiError> {
    let value: serde_json::Value = serde_json::from_slice(bytes)
        .or_else(|_| serde_json::from_slice(&without_trailing_commas(bytes)))
        .map_err(|_| ApiError::invalid("invalidJson", "The request body is not valid JSON."))?;
    if !value.is_object() {
        return Err(ApiError::invalid(
            "invalidJson",
            "The request body must be a JSON object.",
        ));
    }
    if let Some((field, problem)) = bad_text(&value, "", String::new()) {
        return Err(match problem {
            TextProblem::Nul => invalid(&field, "must not contain the NUL character"),
            TextProblem::TooLong(max) => {
                invalid(&field, &format!("must be at most {max} characters long"))
            }
        });
    }
    serde_path_to_error::deserialize(value).map_err(|e| {
        ApiError::invalid(
            "invalidProperty",
            format!("The property '{}' has a value of the wrong type.", e.path()),
        )
    })
}

/// The body without a comma that directly precedes (but for white space)
/// a `}` or `]` outside strings. Graph's own request samples carry such
/// commas (recording a decision, for one), and Graph accepts them; so
/// does this service, and nothing else that is not JSON.
fn without_trailing_commas(bytes: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(bytes.len());
    let (mut in_string, mut escaped) = (false, false);
    for (i, &b) in bytes.iter().enumerate() {
        if in_string {
            match (escaped, b) {
                (true, _) => escaped = false,
                (false, b'\\') => escaped = true,
                (false, b'"') => in_string = false,
                _ => {}
            }
        } else if b == b'"' {
            in_string = true;
        } else if b == b',' {
            let next = bytes[i + 1..].iter().find(|c| !c.is_ascii_whitespace());
            if matches!(next, Some(b'}' | b']')) {
                continue;
            }
        }
        out.push(b);
    }
    out
}

/// Longest text each property may hold, in characters. Graph documents 256
/// for the review descriptions; the others are this service's choice, as
/// long as any real value (README, "Limits").
pub const TEXT_LIMITS: &[(&str, usize)] = &[
    ("descriptionForAdmins", 256),
    ("descriptionForReviewers", 256),
    ("displayName", 256),
    ("stageId", 64),
    ("mailNickname", 64),
    ("userPrincipalName", 256),
    ("mail", 256),
    ("justification", 1024),
    ("query", 1024),
];

/// Longest text of any other property.
pub const DEFAULT_TEXT_LIMIT: usize = 1024;

/// What is wrong with a text of a body.
enum TextProblem {
    /// It holds NUL, which no stored text may hold.
    Nul,
    /// It is longer than its limit.
    TooLong(usize),
}

/// The path (`displayName`, `stageSettings[0].stageId`) of the first text
/// of a body that no stored string may be, and why.
fn bad_text(value: &serde_json::Value, key: &str, path: String) -> Option<(String, TextProblem)> {
    use serde_json::Value;
    match value {
        Value::String(text) => {
            let max = TEXT_LIMITS
                .iter()
                .find(|(name, _)| *name == key)
                .map_or(DEFAULT_TEXT_LIMIT, |(_, max)| *max);
            if text.contains('\0') {
                Some((path, TextProblem::Nul))
            } else if text.chars().count() > max {
                Some((path, TextProblem::TooLong(max)))
            } else {
                None
            }
        }
        Value::Array(items) => items
            .iter()
            .enumerate()
            .find_map(|(i, item)| bad_text(item, key, format!("{path}[{i}]"))),
        Value::Object(map) => map.iter().find_map(|(name, item)| {
            let path = if path.is_empty() {
                name.clone()
            } else {
                format!("{path}.{name}")
            };
            if name.contains('\0') {
                Some((path, TextProblem::Nul))
            } else {
                bad_text(item, name, path)
            }
        }),
        Value::Null | Value::Bool(_) | Value::Number(_) => None,
    }
}

fn review_scope(body: Option<ScopeBody>) -> Result<QueryScope, ApiError> {
    let body = body.ok_or_else(|| missing("scope"))?;
    match body.odata_type.as_deref() {
        None | Some(QUERY_SCOPE_TYPE) => {}
        Some(other) => {
            return Err(invalid(
                "scope.@odata.type",
                &format!("'{other}' is not supported; use '{QUERY_SCOPE_TYPE}'"),
            ));
        }
    }
    query_scope(body, "scope")
}

fn query_scope(body: ScopeBody, field: &str) -> Result<QueryScope, ApiError> {
    let query = body
        .query
        .filter(|q| !q.trim().is_empty())
        .ok_or_else(|| missing(&format!("{field}.query")))?;
    Ok(QueryScope {
        odata_type: body.odata_type,
        query,
        query_type: body.query_type,
        query_root: body.query_root,
    })
}

fn reviewer_scopes(body: Option<Vec<ScopeBody>>, field: &str) -> Result<Vec<QueryScope>, ApiError> {
    body.unwrap_or_default()
        .into_iter()
        .enumerate()
        .map(|(i, scope)| {
            let field = format!("{field}[{i}]");
            match scope.odata_type.as_deref() {
                None | Some(REVIEWER_SCOPE_TYPE) | Some(QUERY_SCOPE_TYPE) => {
                    query_scope(scope, &field)
                }
                Some(other) => Err(invalid(
                    &format!("{field}.@odata.type"),
                    &format!("'{other}' is not a reviewer scope type"),
                )),
            }
        })
        .collect()
}

fn duration(days: i64, field: &str) -> Result<DurationInDays, ApiError> {
    DurationInDays::new(days).map_err(|_| {
        invalid(
            field,
            &format!("must be between 1 and {} days", DurationInDays::MAX),
        )
    })
}

fn stage_settings(index: usize, body: StageSettingsBody) -> Result<StageSettings, ApiError> {
    let field = |name: &str| format!("stageSettings[{index}].{name}");
    let key = |raw: String, name: &str| {
        StageKey::parse(raw).map_err(|_| invalid(name, "must not be blank"))
    };
    let stage_id = key(
        body.stage_id.ok_or_else(|| missing(&field("stageId")))?,
        &field("stageId"),
    )?;
    let depends_on = body
        .depends_on
        .unwrap_or_default()
        .into_iter()
        .map(|d| key(d, &field("dependsOn")))
        .collect::<Result<_, _>>()?;
    let duration_in_days = duration(
        body.duration_in_days
            .ok_or_else(|| missing(&field("durationInDays")))?,
        &field("durationInDays"),
    )?;
    let decisions = body
        .decisions_that_will_move_to_next_stage
        .map(|ds| {
            ds.iter()
                .map(|d| {
                    d.parse::<MoveDecision>().map_err(|_| {
                        invalid(
                            &field("decisionsThatWillMoveToNextStage"),
                            &format!(
                                "'{d}' is not one of Approve, Deny, Recommendation, NotReviewed"
                            ),
                        )
                    })
                })
                .collect::<Result<Vec<_>, _>>()
        })
        .transpose()?;
    Ok(StageSettings {
        stage_id,
        depends_on,
        duration_in_days,
        decisions_that_will_move_to_next_stage: decisions,
        recommendations_enabled: body.recommendations_enabled.unwrap_or(false),
        reviewers: reviewer_scopes(body.reviewers, &field("reviewers"))?,
        fallback_reviewers: reviewer_scopes(body.fallback_reviewers, &field("fallbackReviewers"))?,
    })
}

fn plan_error(error: StagePlanError) -> ApiError {
    match error {
        StagePlanError::TooManyStages { count } => invalid(
            "stageSettings",
            &format!("{count} stages given; at most 3 are supported"),
        ),
        StagePlanError::DuplicateStageId { index, stage_id } => invalid(
            &format!("stageSettings[{index}].stageId"),
            &format!("'{stage_id}' is used by an earlier stage; stage ids must be unique"),
        ),
        StagePlanError::NotSequential { index, expected } => invalid(
            &format!("stageSettings[{index}].dependsOn"),
            &match expected {
                None => "the first stage must not depend on another stage".to_owned(),
                Some(previous) => format!(
                    "only sequential stages are supported; it must be exactly [\"{previous}\"]"
                ),
            },
        ),
    }
}

/// A date as Graph's samples send `startDate` and `endDate`: `2020-09-08`,
/// or a date-time such as `2020-09-08T12:02:30.667Z`, read as its day.
fn date(raw: Option<String>, field: &str) -> Result<Option<NaiveDate>, ApiError> {
    raw.map(|d| {
        NaiveDate::parse_from_str(&d, "%Y-%m-%d")
            .ok()
            .or_else(|| {
                chrono::DateTime::parse_from_rfc3339(&d)
                    .ok()
                    .map(|t| t.date_naive())
            })
            .or_else(|| {
                chrono::NaiveDateTime::parse_from_str(&d, "%Y-%m-%dT%H:%M:%S%.f")
                    .ok()
                    .map(|t| t.date())
            })
            .ok_or_else(|| {
                invalid(
                    field,
                    &format!("'{d}' is not a date such as 2020-09-08 or 2020-09-08T00:00:00Z"),
                )
            })
    })
    .transpose()
}

fn recurrence(body: RecurrenceBody) -> Result<Recurrence, ApiError> {
    const FIELD: &str = "settings.recurrence";
    let pattern = match body.pattern {
        Some(PatternBody {
            kind: Some(kind),
            interval,
            day_of_month,
        }) => Some(Pattern {
            kind: kind.parse().map_err(|_| {
                invalid(
                    &format!("{FIELD}.pattern.type"),
                    &format!(
                        "'{kind}' is not supported; access reviews recur weekly or absoluteMonthly"
                    ),
                )
            })?,
            interval: u16::try_from(interval.unwrap_or(1))
                .ok()
                .filter(|i| (1..=99).contains(i))
                .ok_or_else(|| {
                    invalid(&format!("{FIELD}.pattern.interval"), "must be from 1 to 99")
                })?,
            // Graph answers 0 for "not set".
            day_of_month: match day_of_month {
                None | Some(0) => None,
                Some(day) => Some(
                    u8::try_from(day)
                        .ok()
                        .filter(|d| (1..=31).contains(d))
                        .ok_or_else(|| {
                            invalid(
                                &format!("{FIELD}.pattern.dayOfMonth"),
                                "must be from 1 to 31",
                            )
                        })?,
                ),
            },
        }),
        // No pattern, or one without a type: a one-time review.
        Some(PatternBody { kind: None, .. }) | None => None,
    };
    let range = body.range.unwrap_or_default();
    let kind = match range.kind {
        None => RangeKind::NoEnd,
        Some(kind) => kind.parse().map_err(|_| {
            invalid(
                &format!("{FIELD}.range.type"),
                &format!("'{kind}' is not one of noEnd, endDate, numbered"),
            )
        })?,
    };
    let number_of_occurrences = range
        .number_of_occurrences
        .map(|n| {
            u32::try_from(n).map_err(|_| {
                invalid(
                    &format!("{FIELD}.range.numberOfOccurrences"),
                    "must not be negative",
                )
            })
        })
        .transpose()?;
    let range = Range {
        kind,
        start_date: date(range.start_date, "settings.recurrence.range.startDate")?,
        end_date: date(range.end_date, "settings.recurrence.range.endDate")?,
        number_of_occurrences,
        recurrence_time_zone: range.recurrence_time_zone,
    };
    Recurrence::new(pattern, range).map_err(|e| match e {
        RecurrenceError::Interval => {
            invalid(&format!("{FIELD}.pattern.interval"), "must be from 1 to 99")
        }
        RecurrenceError::DayOfMonth => invalid(
            &format!("{FIELD}.pattern.dayOfMonth"),
            "must be from 1 to 31",
        ),
        RecurrenceError::EndDateMissing => missing(&format!("{FIELD}.range.endDate")),
        RecurrenceError::EndBeforeStart => invalid(
            &format!("{FIELD}.range.endDate"),
            "must not be before the start date",
        ),
        RecurrenceError::Occurrences => invalid(
            &format!("{FIELD}.range.numberOfOccurrences"),
            "a numbered range needs at least one occurrence",
        ),
    })
}

fn settings(body: SettingsBody) -> Result<ScheduleSettings, ApiError> {
    let defaults = ScheduleSettings::default();
    let recurrence = body.recurrence.map(recurrence).transpose()?;
    Ok(ScheduleSettings {
        instance_duration_in_days: body
            .instance_duration_in_days
            .map(|d| duration(d, "settings.instanceDurationInDays"))
            .transpose()?
            .unwrap_or(defaults.instance_duration_in_days),
        justification_required_on_approval: body
            .justification_required_on_approval
            .unwrap_or(false),
        decision_histories_for_reviewers_enabled: body
            .decision_histories_for_reviewers_enabled
            .unwrap_or(false),
        mail_notifications_enabled: body.mail_notifications_enabled.unwrap_or(false),
        reminder_notifications_enabled: body.reminder_notifications_enabled.unwrap_or(false),
        default_decision_enabled: body.default_decision_enabled.unwrap_or(false),
        default_decision: body
            .default_decision
            .map(|raw| {
                raw.parse().map_err(|_| {
                    invalid(
                        "settings.defaultDecision",
                        &format!("'{raw}' is not one of Approve, Deny, Recommendation, None"),
                    )
                })
            })
            .transpose()?,
        auto_apply_decisions_enabled: body.auto_apply_decisions_enabled.unwrap_or(false),
        recommendations_enabled: body.recommendations_enabled.unwrap_or(false),
        recurrence,
    })
}

impl DefinitionBody {
    /// Validates the body into the domain's input, naming the first field
    /// that breaks a rule.
    ///
    /// # Errors
    /// 400 `invalidRequest` with `missingProperty` or `invalidProperty`.
    pub fn into_domain(self) -> Result<NewDefinition, ApiError> {
        let display_name =
            DisplayName::parse(self.display_name.ok_or_else(|| missing("displayName"))?)
                .map_err(|_| invalid("displayName", "must not be blank"))?;
        let mut stage_annotations = Vec::new();
        let stages = self
            .stage_settings
            .unwrap_or_default()
            .into_iter()
            .enumerate()
            .map(|(i, mut s)| {
                let field = format!("stageSettings[{i}]");
                let look = look_back(
                    s.recommendation_look_back_duration.take(),
                    &format!("{field}.recommendationLookBackDuration"),
                )?;
                let insight = insights(
                    s.recommendation_insight_settings.take(),
                    &format!("{field}.recommendationInsightSettings"),
                )?;
                if look.is_some() || !insight.is_empty() {
                    stage_annotations.push(StageAnnotations {
                        stage_id: s.stage_id.clone().unwrap_or_default(),
                        recommendation_look_back_duration: look,
                        recommendation_insight_settings: insight,
                    });
                }
                stage_settings(i, s)
            })
            .collect::<Result<Vec<_>, _>>()?;
        let fallback = reviewer_scopes(self.fallback_reviewers, "fallbackReviewers")?;
        // `backupReviewers` is `fallbackReviewers` under its former name:
        // either may be sent, both only alike.
        let fallback = match self.backup_reviewers {
            None => fallback,
            Some(backup) => {
                let backup = reviewer_scopes(Some(backup), "backupReviewers")?;
                if fallback.is_empty() {
                    backup
                } else if backup == fallback {
                    fallback
                } else {
                    return Err(invalid(
                        "backupReviewers",
                        "must equal fallbackReviewers, which it stands for",
                    ));
                }
            }
        };
        let mut settings_body = self.settings.unwrap_or_default();
        let annotations = Annotations {
            instance_enumeration_scope: self
                .instance_enumeration_scope
                .map(|s| query_scope(s, "instanceEnumerationScope"))
                .transpose()?,
            additional_notification_recipients: self
                .additional_notification_recipients
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, r)| {
                    let field = format!("additionalNotificationRecipients[{i}]");
                    let scope = r
                        .notification_recipient_scope
                        .ok_or_else(|| missing(&format!("{field}.notificationRecipientScope")))?;
                    Ok(NotificationRecipient {
                        template: r.notification_template_type,
                        scope: query_scope(scope, &format!("{field}.notificationRecipientScope"))?,
                    })
                })
                .collect::<Result<_, ApiError>>()?,
            apply_actions: settings_body
                .apply_actions
                .take()
                .unwrap_or_default()
                .into_iter()
                .enumerate()
                .map(|(i, a)| {
                    let field = format!("settings.applyActions[{i}].@odata.type");
                    let kind = a.odata_type.ok_or_else(|| missing(&field))?;
                    ApplyAction::parse(&kind).ok_or_else(|| {
                        invalid(&field, &format!("'{kind}' is not an apply action type"))
                    })
                })
                .collect::<Result<_, _>>()?,
            recommendation_look_back_duration: look_back(
                settings_body.recommendation_look_back_duration.take(),
                "settings.recommendationLookBackDuration",
            )?,
            recommendation_insight_settings: insights(
                settings_body.recommendation_insight_settings.take(),
                "settings.recommendationInsightSettings",
            )?,
            stages: stage_annotations,
        };
        Ok(NewDefinition {
            display_name,
            description_for_admins: self.description_for_admins,
            description_for_reviewers: self.description_for_reviewers,
            scope: review_scope(self.scope)?,
            reviewers: reviewer_scopes(self.reviewers, "reviewers")?,
            fallback_reviewers: fallback,
            stage_plan: StagePlan::new(stages).map_err(plan_error)?,
            settings: settings(settings_body)?,
            annotations,
        })
    }
}

/// The body of `PATCH …/stages/{id}` and `PUT …/instances/{id}`: only
/// the reviewers change.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct ReviewersUpdateBody {
    reviewers: Option<Vec<ScopeBody>>,
    fallback_reviewers: Option<Vec<ScopeBody>>,
}

/// The body's object, refusing a property other than `reviewers`,
/// `fallbackReviewers` and the `ignored` ones (read-only properties a
/// client may send back), naming it and `what` it is sent to.
///
/// # Errors
/// 400 `invalidJson` for a body that is not an object, `invalidProperty`
/// for another property.
pub fn only_reviewers(
    body: &[u8],
    ignored: &[&str],
    what: &str,
) -> Result<serde_json::Map<String, serde_json::Value>, ApiError> {
    let raw: serde_json::Value = serde_json::from_slice(body)
        .map_err(|_| ApiError::invalid("invalidJson", "The request body is not valid JSON."))?;
    let serde_json::Value::Object(object) = raw else {
        return Err(ApiError::invalid(
            "invalidJson",
            "The request body must be a JSON object.",
        ));
    };
    match object.keys().find(|k| {
        !matches!(k.as_str(), "reviewers" | "fallbackReviewers") && !ignored.contains(&k.as_str())
    }) {
        Some(key) => Err(ApiError::invalid(
            "invalidProperty",
            format!(
                "The property '{key}' cannot be updated on {what}; only reviewers and \
                 fallbackReviewers can."
            ),
        )),
        None => Ok(object),
    }
}

/// Reviewers and fallback reviewers, each when given.
pub type ReviewerLists = (Option<Vec<QueryScope>>, Option<Vec<QueryScope>>);

impl ReviewersUpdateBody {
    /// The lists, checked as a definition's are.
    ///
    /// # Errors
    /// 400 naming the offending property.
    pub fn into_domain(self) -> Result<ReviewerLists, ApiError> {
        let reviewers = self
            .reviewers
            .map(|r| reviewer_scopes(Some(r), "reviewers"))
            .transpose()?;
        let fallback = self
            .fallback_reviewers
            .map(|r| reviewer_scopes(Some(r), "fallbackReviewers"))
            .transpose()?;
        Ok((reviewers, fallback))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn trailing_commas_go_and_nothing_else_changes() {
        let cases: [(&str, &str); 5] = [
            (
                "{\n  \"decision\": \"Approve\",\n  \"justification\": \"On my team\",\n}",
                "{\n  \"decision\": \"Approve\",\n  \"justification\": \"On my team\"\n}",
            ),
            ("[1, 2 , ]", "[1, 2  ]"),
            (r#"{"a": ",}", "b": "\",]"}"#, r#"{"a": ",}", "b": "\",]"}"#),
            (
                r#"{"a": [1,], "b": {"c": 2,},}"#,
                r#"{"a": [1], "b": {"c": 2}}"#,
            ),
            (r#"{"a": 1,, }"#, r#"{"a": 1, }"#),
        ];
        for (raw, expected) in cases {
            assert_eq!(
                String::from_utf8(without_trailing_commas(raw.as_bytes())).unwrap(),
                expected,
                "{raw}"
            );
        }
        let parsed: serde_json::Value =
            parse_json(b"{\"decision\": \"Approve\", \"justification\": \"x\",}").unwrap();
        assert_eq!(parsed["decision"], "Approve");
        assert!(parse_json::<serde_json::Value>(br#"{"a": 1,, }"#).is_err());
    }
}
