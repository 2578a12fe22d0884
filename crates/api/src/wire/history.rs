//! Review history as Graph shapes it: `accessReviewHistoryDefinition`,
//! `accessReviewHistoryInstance`, and the report's CSV.

use access_reviews_domain::decision::{Decision, Recommendation};
use access_reviews_domain::definition::DisplayName;
use access_reviews_domain::history::{
    HistoryDecision, HistoryDefinition, HistoryInstance, HistoryScope, NewHistoryDefinition,
};
use access_reviews_domain::use_cases::Report;
use chrono::{DateTime, Utc};
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use super::{IdentityDto, ScopeBody, ScopeDto, invalid, missing, query_scope, timestamp};
use crate::error::ApiError;

/// Every report is collected when it is created, so both objects are
/// `done` from the start.
const DONE: &str = "done";

/// The body of `POST …/historyDefinitions`.
#[derive(Debug, Deserialize)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDefinitionBody {
    display_name: Option<String>,
    decisions: Option<Vec<String>>,
    review_history_period_start_date_time: Option<String>,
    review_history_period_end_date_time: Option<String>,
    scopes: Option<Vec<ScopeBody>>,
    schedule_settings: Option<serde_json::Value>,
}

fn date_time(raw: Option<String>, field: &str) -> Result<DateTime<Utc>, ApiError> {
    let raw = raw.ok_or_else(|| missing(field))?;
    DateTime::parse_from_rfc3339(&raw)
        .map(|t| t.with_timezone(&Utc))
        .map_err(|_| invalid(field, "not an ISO 8601 date and time with its offset"))
}

impl HistoryDefinitionBody {
    /// Checks the body as Graph documents it, naming the first bad
    /// property.
    ///
    /// # Errors
    /// 400 `invalidRequest`, `missingProperty` or `invalidProperty`.
    pub fn into_domain(self) -> Result<NewHistoryDefinition, ApiError> {
        if self.schedule_settings.is_some_and(|s| !s.is_null()) {
            return Err(invalid(
                "scheduleSettings",
                "recurring history definitions are not supported (Graph: \"Not supported \
                 yet\"); give reviewHistoryPeriodStartDateTime and \
                 reviewHistoryPeriodEndDateTime",
            ));
        }
        let display_name =
            DisplayName::parse(self.display_name.ok_or_else(|| missing("displayName"))?)
                .map_err(|_| invalid("displayName", "it is blank"))?;
        let decisions = match self.decisions {
            None => HistoryDecision::ALL.to_vec(),
            Some(names) => {
                let mut decisions = Vec::new();
                for (i, name) in names.iter().enumerate() {
                    let decision = HistoryDecision::parse(name).ok_or_else(|| {
                        invalid(
                            &format!("decisions[{i}]"),
                            "use approve, deny, dontKnow, notReviewed or notNotified",
                        )
                    })?;
                    if !decisions.contains(&decision) {
                        decisions.push(decision);
                    }
                }
                decisions
            }
        };
        let period_start = date_time(
            self.review_history_period_start_date_time,
            "reviewHistoryPeriodStartDateTime",
        )?;
        let period_end = date_time(
            self.review_history_period_end_date_time,
            "reviewHistoryPeriodEndDateTime",
        )?;
        let scopes = self
            .scopes
            .filter(|s| !s.is_empty())
            .ok_or_else(|| missing("scopes"))?
            .into_iter()
            .enumerate()
            .map(|(i, body)| {
                let field = format!("scopes[{i}]");
                let scope = query_scope(body, &field)?;
                HistoryScope::parse(scope).map_err(|_| {
                    invalid(
                        &format!("{field}.query"),
                        "use /identityGovernance/accessReviews/definitions, optionally with \
                         ?$filter=contains(scope/query, '{object}')",
                    )
                })
            })
            .collect::<Result<_, _>>()?;
        Ok(NewHistoryDefinition {
            display_name,
            decisions,
            period_start,
            period_end,
            scopes,
        })
    }
}

/// `accessReviewHistoryDefinition`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewHistoryDefinition)]
#[serde(rename_all = "camelCase")]
pub struct HistoryDefinitionDto {
    id: String,
    display_name: String,
    review_history_period_start_date_time: String,
    review_history_period_end_date_time: String,
    decisions: Vec<&'static str>,
    status: &'static str,
    created_date_time: String,
    created_by: IdentityDto,
    scopes: Vec<ScopeDto>,
    schedule_settings: Option<()>,
}

impl From<&HistoryDefinition> for HistoryDefinitionDto {
    fn from(d: &HistoryDefinition) -> Self {
        Self {
            id: d.id.to_string(),
            display_name: d.spec.display_name.as_str().to_owned(),
            review_history_period_start_date_time: timestamp(d.spec.period_start),
            review_history_period_end_date_time: timestamp(d.spec.period_end),
            decisions: d.spec.decisions.iter().map(|x| x.as_str()).collect(),
            status: DONE,
            created_date_time: timestamp(d.created_date_time),
            created_by: IdentityDto::from(&d.created_by),
            scopes: d
                .spec
                .scopes
                .iter()
                .map(|s| ScopeDto::review_scope(&s.scope))
                .collect(),
            schedule_settings: None,
        }
    }
}

/// `accessReviewHistoryInstance`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewHistoryInstance)]
#[serde(rename_all = "camelCase")]
pub struct HistoryInstanceDto {
    id: String,
    review_history_period_start_date_time: String,
    review_history_period_end_date_time: String,
    status: &'static str,
    run_date_time: String,
    fulfilled_date_time: String,
    download_uri: Option<String>,
    expiration_date_time: String,
}

impl HistoryInstanceDto {
    /// The instance; `download_uri` is the link to its current download,
    /// while that works.
    pub fn new(
        definition: &HistoryDefinition,
        instance: &HistoryInstance,
        download_uri: Option<String>,
    ) -> Self {
        Self {
            id: instance.id.to_string(),
            review_history_period_start_date_time: timestamp(definition.spec.period_start),
            review_history_period_end_date_time: timestamp(definition.spec.period_end),
            status: DONE,
            run_date_time: timestamp(instance.run_date_time),
            fulfilled_date_time: timestamp(instance.run_date_time),
            download_uri,
            expiration_date_time: timestamp(instance.expiration()),
        }
    }
}

/// The report's columns, as Microsoft Entra's downloadable review history
/// names them.
pub const CSV_COLUMNS: [&str; 30] = [
    "AccessReviewId",
    "AccessReviewSeriesId",
    "ReviewType",
    "ResourceDisplayName",
    "ResourceId",
    "ReviewName",
    "CreatedDateTime",
    "ReviewStartDate",
    "ReviewEndDate",
    "ReviewStatus",
    "OwnerId",
    "OwnerName",
    "OwnerUPN",
    "PrincipalId",
    "PrincipalName",
    "PrincipalUPN",
    "PrincipalType",
    "ReviewDate",
    "ReviewResult",
    "Justification",
    "ReviewerId",
    "ReviewerName",
    "ReviewerUPN",
    "ReviewerEmailAddress",
    "AppliedByName",
    "AppliedByUPN",
    "AppliedByEmailAddress",
    "AppliedDate",
    "AccessRecommendation",
    "SubmissionResult",
];

/// One CSV field, quoted when it must be (RFC 4180); a value that a
/// spreadsheet would read as a formula is prefixed with `'`.
fn field(out: &mut String, value: &str) {
    let value = if value.starts_with(['=', '+', '-', '@', '\t', '\r']) {
        format!("'{value}")
    } else {
        value.to_owned()
    };
    if value.contains([',', '"', '\n', '\r']) {
        out.push('"');
        out.push_str(&value.replace('"', "\"\""));
        out.push('"');
    } else {
        out.push_str(&value);
    }
}

/// The report as CSV: a header, then one line per decision item (CRLF).
pub fn csv(report: &Report) -> String {
    let mut out = CSV_COLUMNS.join(",");
    out.push_str("\r\n");
    for row in &report.rows {
        let (definition, instance, item) = (&row.definition, &row.instance, &row.item);
        let series = if definition.spec.settings.recurrence.is_some() {
            definition.id.as_uuid()
        } else {
            Uuid::nil()
        };
        let owner = &definition.created_by;
        let review = item.latest.as_ref();
        let result = match item.decision() {
            Decision::Approve => "Approve",
            Decision::Deny => "Deny",
            Decision::DontKnow => "Don't know",
            Decision::NotReviewed => "Not reviewed",
        };
        let recommendation = match item.recommendation {
            Recommendation::Approve => "Approve",
            Recommendation::Deny => "Deny",
            Recommendation::NoInfoAvailable => "No Info",
        };
        let applied = item.applied.as_ref();
        let values: [String; 30] = [
            instance.id.to_string(),
            series.to_string(),
            "Group".into(),
            item.resource.display_name.clone(),
            item.resource.id.to_string(),
            definition.spec.display_name.as_str().to_owned(),
            timestamp(definition.created_date_time),
            timestamp(instance.start_date_time),
            timestamp(instance.end_date_time),
            instance.status().as_str().to_owned(),
            owner.id.to_string(),
            owner.display_name.clone().unwrap_or_default(),
            owner.user_principal_name.clone().unwrap_or_default(),
            item.principal.id.to_string(),
            item.principal.display_name.clone(),
            item.principal.user_principal_name.clone(),
            "User".into(),
            review
                .map(|r| timestamp(r.reviewed_date_time))
                .unwrap_or_default(),
            result.into(),
            review
                .and_then(|r| r.justification.clone())
                .unwrap_or_default(),
            review
                .map(|r| r.reviewed_by.id.to_string())
                .unwrap_or_default(),
            review
                .map(|r| r.reviewed_by.display_name.clone())
                .unwrap_or_default(),
            review
                .map(|r| r.reviewed_by.user_principal_name.clone())
                .unwrap_or_default(),
            review
                .map(|r| r.reviewed_by.user_principal_name.clone())
                .unwrap_or_default(),
            applied
                .map(|a| a.by.display_name.clone())
                .unwrap_or_default(),
            applied
                .map(|a| a.by.user_principal_name.clone())
                .unwrap_or_default(),
            applied
                .map(|a| a.by.user_principal_name.clone())
                .unwrap_or_default(),
            applied.map(|a| timestamp(a.at)).unwrap_or_default(),
            recommendation.into(),
            if applied.is_some() {
                "Applied"
            } else {
                "Not applied"
            }
            .into(),
        ];
        for (i, value) in values.iter().enumerate() {
            if i > 0 {
                out.push(',');
            }
            field(&mut out, value);
        }
        out.push_str("\r\n");
    }
    out
}
