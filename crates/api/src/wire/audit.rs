//! `directoryAudit`, as Graph's audit log answers it.

use access_reviews_domain::audit::{AuditEntry, Initiator, LOGGED_BY};
use serde::Serialize;

use super::timestamp;

/// One `directoryAudit`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = directoryAudit)]
#[serde(rename_all = "camelCase")]
pub struct DirectoryAuditDto {
    id: String,
    category: String,
    correlation_id: String,
    result: &'static str,
    result_reason: String,
    activity_display_name: String,
    activity_date_time: String,
    logged_by_service: &'static str,
    operation_type: String,
    initiated_by: InitiatorDto,
    target_resources: Vec<TargetDto>,
    additional_details: Vec<KeyValue>,
}

/// `auditActivityInitiator`: exactly one of `user` and `app`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = auditActivityInitiator)]
struct InitiatorDto {
    user: Option<UserIdentity>,
    app: Option<AppIdentity>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = auditUserIdentity)]
#[serde(rename_all = "camelCase")]
struct UserIdentity {
    id: String,
    display_name: Option<String>,
    user_principal_name: Option<String>,
    ip_address: Option<String>,
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = appIdentity)]
#[serde(rename_all = "camelCase")]
struct AppIdentity {
    app_id: Option<String>,
    display_name: Option<String>,
    service_principal_id: String,
    service_principal_name: Option<String>,
}

/// `targetResource`.
#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = targetResource)]
#[serde(rename_all = "camelCase")]
struct TargetDto {
    id: String,
    display_name: Option<String>,
    #[serde(rename = "type")]
    kind: &'static str,
    user_principal_name: Option<String>,
    group_type: Option<String>,
    #[schema(value_type = Vec<String>)]
    modified_properties: [(); 0],
}

#[derive(Serialize, utoipa::ToSchema)]
#[schema(as = keyValue)]
struct KeyValue {
    key: String,
    value: String,
}

impl From<&AuditEntry> for DirectoryAuditDto {
    fn from(entry: &AuditEntry) -> Self {
        let initiated_by = match &entry.initiated_by {
            Initiator::User {
                id,
                display_name,
                user_principal_name,
            } => InitiatorDto {
                user: Some(UserIdentity {
                    id: id.to_string(),
                    display_name: display_name.clone(),
                    user_principal_name: user_principal_name.clone(),
                    ip_address: None,
                }),
                app: None,
            },
            Initiator::App {
                service_principal_id,
                display_name,
            } => InitiatorDto {
                user: None,
                app: Some(AppIdentity {
                    app_id: None,
                    display_name: display_name.clone(),
                    service_principal_id: service_principal_id.to_string(),
                    service_principal_name: None,
                }),
            },
        };
        Self {
            id: entry.id.to_string(),
            category: entry.category.clone(),
            correlation_id: entry.correlation_id.to_string(),
            result: entry.result.as_str(),
            result_reason: entry.result_reason.clone(),
            activity_display_name: entry.activity.clone(),
            activity_date_time: timestamp(entry.at),
            logged_by_service: LOGGED_BY,
            operation_type: entry.operation_type.clone(),
            initiated_by,
            target_resources: entry
                .targets
                .iter()
                .map(|t| TargetDto {
                    id: t.id.to_string(),
                    display_name: None,
                    kind: t.kind.as_str(),
                    user_principal_name: None,
                    group_type: None,
                    modified_properties: [],
                })
                .collect(),
            additional_details: entry
                .details
                .iter()
                .map(|(key, value)| KeyValue {
                    key: key.clone(),
                    value: value.clone(),
                })
                .collect(),
        }
    }
}
