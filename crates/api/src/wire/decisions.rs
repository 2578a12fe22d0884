//! Graph's `accessReviewInstanceDecisionItem` and the decision bodies.

use access_reviews_domain::decision::ApplyResult;
use access_reviews_domain::decision::{Decision, DecisionItem, Identity};
use access_reviews_domain::ids::PrincipalId;
use access_reviews_domain::use_cases::NewReview;
use serde::{Deserialize, Serialize};
use uuid::Uuid;

use crate::error::ApiError;
use crate::odata::ServiceRoot;
use crate::wire::{IdentityDto, invalid, missing, timestamp};

/// `userIdentity` with its type, as decision items show principals.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = identity)]
#[serde(rename_all = "camelCase")]
struct TypedIdentityDto {
    #[serde(rename = "@odata.type")]
    odata_type: &'static str,
    id: String,
    display_name: String,
    user_principal_name: String,
}

/// `accessReviewInstanceDecisionItemResource`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewInstanceDecisionItemResource)]
#[serde(rename_all = "camelCase")]
struct ResourceDto {
    id: String,
    display_name: String,
    #[serde(rename = "type")]
    kind: &'static str,
}

/// `accessReviewInstanceDecisionItem`.
#[derive(Debug, Serialize, utoipa::ToSchema)]
#[schema(as = accessReviewInstanceDecisionItem)]
#[serde(rename_all = "camelCase")]
pub struct DecisionItemDto {
    id: String,
    access_review_id: String,
    reviewed_date_time: Option<String>,
    decision: &'static str,
    justification: Option<String>,
    applied_date_time: Option<String>,
    apply_result: &'static str,
    recommendation: &'static str,
    principal_link: String,
    resource_link: String,
    principal: TypedIdentityDto,
    resource: ResourceDto,
    reviewed_by: IdentityDto,
    applied_by: IdentityDto,
}

/// The properties `$select` may name on a decision item.
pub const DECISION_PROPERTIES: &[&str] = &[
    "id",
    "accessReviewId",
    "reviewedDateTime",
    "decision",
    "justification",
    "appliedDateTime",
    "applyResult",
    "recommendation",
    "principalLink",
    "resourceLink",
    "principal",
    "resource",
    "reviewedBy",
    "appliedBy",
];

/// Graph's "nobody": the all-zero id with empty names.
fn nobody() -> IdentityDto {
    IdentityDto::from_identity(&Identity {
        id: PrincipalId::from_uuid(Uuid::nil()),
        display_name: String::new(),
        user_principal_name: String::new(),
    })
}

impl DecisionItemDto {
    /// The item as Graph shows it; links point at this service.
    pub fn new(item: &DecisionItem, root: &ServiceRoot) -> Self {
        let latest = item.latest.as_ref();
        Self {
            id: item.id.to_string(),
            access_review_id: item.instance_id.to_string(),
            reviewed_date_time: latest.map(|r| timestamp(r.reviewed_date_time)),
            decision: item.decision().as_str(),
            justification: latest.and_then(|r| r.justification.clone()),
            applied_date_time: item.applied.as_ref().map(|a| timestamp(a.at)),
            apply_result: item
                .applied
                .as_ref()
                .map_or(ApplyResult::New, |a| a.result)
                .as_str(),
            recommendation: item.recommendation.as_str(),
            principal_link: root.url(&format!("/v1.0/users/{}", item.principal.id)),
            resource_link: root.url(&format!("/v1.0/groups/{}", item.resource.id)),
            principal: TypedIdentityDto {
                odata_type: "#microsoft.graph.userIdentity",
                id: item.principal.id.to_string(),
                display_name: item.principal.display_name.clone(),
                user_principal_name: item.principal.user_principal_name.clone(),
            },
            resource: ResourceDto {
                id: item.resource.id.to_string(),
                display_name: item.resource.display_name.clone(),
                kind: "group",
            },
            reviewed_by: latest.map_or_else(nobody, |r| IdentityDto::from_identity(&r.reviewed_by)),
            applied_by: item
                .applied
                .as_ref()
                .map_or_else(nobody, |a| IdentityDto::from_identity(&a.by)),
        }
    }
}

fn decision(raw: Option<String>) -> Result<Decision, ApiError> {
    let raw = raw.ok_or_else(|| missing("decision"))?;
    raw.parse().map_err(|_| {
        invalid(
            "decision",
            &format!("'{raw}' is not one of Approve, Deny, NotReviewed, DontKnow"),
        )
    })
}

/// The body of `PATCH …/decisions/{id}`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = decision)]
pub struct RecordBody {
    decision: Option<String>,
    justification: Option<String>,
}

impl RecordBody {
    /// The decision to record.
    ///
    /// # Errors
    /// 400 for a missing or unknown decision.
    pub fn into_domain(self) -> Result<NewReview, ApiError> {
        Ok(NewReview {
            decision: decision(self.decision)?,
            justification: self.justification,
        })
    }
}

/// The body of `POST …/batchRecordDecisions`.
#[derive(Debug, Deserialize, utoipa::ToSchema)]
#[schema(as = batchRecordDecisions)]
#[serde(rename_all = "camelCase")]
pub struct BatchBody {
    decision: Option<String>,
    justification: Option<String>,
    principal_id: Option<String>,
    resource_id: Option<String>,
}

fn optional_guid(raw: Option<String>, field: &str) -> Result<Option<PrincipalId>, ApiError> {
    raw.map(|id| {
        Uuid::parse_str(&id)
            .map(PrincipalId::from_uuid)
            .map_err(|_| invalid(field, &format!("'{id}' is not a valid GUID")))
    })
    .transpose()
}

impl BatchBody {
    /// The decision and the optional principal and resource filters.
    ///
    /// # Errors
    /// 400 for a missing or unknown decision or a malformed id.
    pub fn into_domain(
        self,
    ) -> Result<(NewReview, Option<PrincipalId>, Option<PrincipalId>), ApiError> {
        Ok((
            NewReview {
                decision: decision(self.decision)?,
                justification: self.justification,
            },
            optional_guid(self.principal_id, "principalId")?,
            optional_guid(self.resource_id, "resourceId")?,
        ))
    }
}
