//! The audit log: every access review write, who initiated it and how it
//! ended, as Graph's `directoryAudit` shows it. Records are only ever
//! appended.
//!
//! Who initiates records: a request's record is written by the use case
//! the HTTP adapter calls once the request's outcome is known, a refusal
//! included; a transition the scheduler makes records itself in its own
//! transaction (the PostgreSQL adapter derives it from the transition's
//! ledger row).

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::{Actor, SYSTEM_NAME};
use crate::ids::{AuditId, PrincipalId};
use crate::query::PageRequest;

/// `loggedByService` of every record this service writes.
pub const LOGGED_BY: &str = SYSTEM_NAME;

/// What was done: the activity's name, category and operation type, as
/// Microsoft Entra ID's audit log names its access review activities.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Activity {
    /// `POST …/definitions`.
    CreateDefinition,
    /// `POST …/definitions/{id}/stop`.
    StopDefinition,
    /// `PUT …/definitions/{id}`.
    UpdateDefinition,
    /// `DELETE …/definitions/{id}`.
    DeleteDefinition,
    /// `POST …/instances/{id}/stop`.
    StopInstance,
    /// `POST …/stages/{id}/stop`.
    StopStage,
    /// `PATCH …/stages/{id}`: its reviewers.
    UpdateStage,
    /// `PUT …/instances/{id}`: its reviewers.
    UpdateInstance,
    /// `POST …/instances/{id}/applyDecisions`.
    ApplyDecisions,
    /// `POST …/instances/{id}/sendReminder`.
    SendReminder,
    /// `PATCH …/decisions/{id}`.
    RecordDecision,
    /// `POST …/batchRecordDecisions`.
    BatchRecordDecisions,
    /// `POST …/instances/{id}/resetDecisions`.
    ResetDecisions,
    /// `POST …/instances/{id}/acceptRecommendations`.
    AcceptRecommendations,
    /// `POST …/historyDefinitions`.
    CreateHistoryDefinition,
    /// `POST …/historyDefinitions/{id}/instances/{id}/generateDownloadUri`.
    GenerateHistoryDownload,
}

impl Activity {
    /// `activityDisplayName`.
    pub const fn display_name(self) -> &'static str {
        match self {
            Self::CreateDefinition => "Create access review",
            Self::StopDefinition => "Stop access review",
            Self::UpdateDefinition => "Update access review",
            Self::DeleteDefinition => "Delete access review",
            Self::StopInstance => "Stop access review instance",
            Self::StopStage => "Stop access review stage",
            Self::UpdateStage => "Update access review stage reviewers",
            Self::UpdateInstance => "Update access review instance reviewers",
            Self::ApplyDecisions => "Apply access review decisions",
            Self::SendReminder => "Send access review reminder",
            Self::RecordDecision => "Record access review decision",
            Self::BatchRecordDecisions => "Record access review decisions",
            Self::ResetDecisions => "Reset access review decisions",
            Self::AcceptRecommendations => "Accept access review recommendations",
            Self::CreateHistoryDefinition => "Create access review history definition",
            Self::GenerateHistoryDownload => "Generate access review history download link",
        }
    }

    /// `category`: the review's own settings are `Policy`; decisions, which
    /// end in the directory, are `UserManagement`.
    pub const fn category(self) -> &'static str {
        match self {
            Self::CreateDefinition
            | Self::StopDefinition
            | Self::UpdateDefinition
            | Self::DeleteDefinition
            | Self::StopInstance
            | Self::StopStage
            | Self::UpdateStage
            | Self::UpdateInstance
            | Self::SendReminder
            | Self::CreateHistoryDefinition
            | Self::GenerateHistoryDownload => "Policy",
            Self::ApplyDecisions
            | Self::RecordDecision
            | Self::BatchRecordDecisions
            | Self::ResetDecisions
            | Self::AcceptRecommendations => "UserManagement",
        }
    }

    /// `operationType`.
    pub const fn operation_type(self) -> &'static str {
        match self {
            Self::CreateDefinition | Self::CreateHistoryDefinition => "Add",
            Self::DeleteDefinition => "Delete",
            _ => "Update",
        }
    }
}

/// `result`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AuditResult {
    /// The write took effect.
    Success,
    /// It was refused; `resultReason` says why.
    Failure,
}

impl AuditResult {
    /// Graph's name.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Success => "success",
            Self::Failure => "failure",
        }
    }
}

/// `initiatedBy`: a user, or an application (the service itself on
/// schedule).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Initiator {
    /// A signed-in user.
    User {
        /// Object id.
        id: PrincipalId,
        /// Display name, when known.
        display_name: Option<String>,
        /// Sign-in name, when known.
        user_principal_name: Option<String>,
    },
    /// An application acting as itself.
    App {
        /// Its service principal's object id.
        service_principal_id: PrincipalId,
        /// Its name, when known.
        display_name: Option<String>,
    },
}

impl From<&Actor> for Initiator {
    fn from(actor: &Actor) -> Self {
        match actor {
            Actor::User {
                id,
                display_name,
                user_principal_name,
                ..
            } => Self::User {
                id: *id,
                display_name: display_name.clone(),
                user_principal_name: user_principal_name.clone(),
            },
            Actor::Application { id, display_name } => Self::App {
                service_principal_id: *id,
                display_name: display_name.clone(),
            },
        }
    }
}

/// What a record is about, outermost first.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TargetKind {
    /// An `accessReviewScheduleDefinition`.
    Definition,
    /// An `accessReviewInstance`.
    Instance,
    /// An `accessReviewStage`.
    Stage,
    /// An `accessReviewInstanceDecisionItem`.
    DecisionItem,
    /// An `accessReviewHistoryDefinition`.
    HistoryDefinition,
    /// An `accessReviewHistoryInstance`.
    HistoryInstance,
}

impl TargetKind {
    /// `targetResources[].type`.
    pub const fn as_str(self) -> &'static str {
        match self {
            Self::Definition => "accessReviewScheduleDefinition",
            Self::Instance => "accessReviewInstance",
            Self::Stage => "accessReviewStage",
            Self::DecisionItem => "accessReviewInstanceDecisionItem",
            Self::HistoryDefinition => "accessReviewHistoryDefinition",
            Self::HistoryInstance => "accessReviewHistoryInstance",
        }
    }

    /// The kind named by [`TargetKind::as_str`].
    pub fn parse(name: &str) -> Option<Self> {
        [
            Self::Definition,
            Self::Instance,
            Self::Stage,
            Self::DecisionItem,
            Self::HistoryDefinition,
            Self::HistoryInstance,
        ]
        .into_iter()
        .find(|k| k.as_str() == name)
    }
}

/// One `targetResources` entry.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Target {
    /// The object's id.
    pub id: Uuid,
    /// Its kind.
    pub kind: TargetKind,
}

/// One record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditEntry {
    /// `id`.
    pub id: AuditId,
    /// `activityDateTime`: review time, from the clock.
    pub at: DateTime<Utc>,
    /// `activityDisplayName`.
    pub activity: String,
    /// `category`.
    pub category: String,
    /// `operationType`.
    pub operation_type: String,
    /// `correlationId`: the request's `client-request-id` or `request-id`.
    pub correlation_id: Uuid,
    /// `result`.
    pub result: AuditResult,
    /// `resultReason`: why a failure failed; empty on success.
    pub result_reason: String,
    /// `initiatedBy`.
    pub initiated_by: Initiator,
    /// `targetResources`.
    pub targets: Vec<Target>,
    /// `additionalDetails`, as key and value.
    pub details: Vec<(String, String)>,
}

/// Which records a list returns.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AuditFilter {
    /// `activityDateTime ge`.
    pub from: Option<DateTime<Utc>>,
    /// `activityDateTime le`.
    pub to: Option<DateTime<Utc>>,
    /// `category eq`.
    pub category: Option<String>,
    /// `activityDisplayName eq`.
    pub activity: Option<String>,
    /// `loggedByService eq`: anything but [`LOGGED_BY`] matches nothing.
    pub logged_by: Option<String>,
    /// `targetResources/any(t: t/id eq '…')`.
    pub target: Option<Uuid>,
}

/// A page of records.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AuditQuery {
    /// Which records.
    pub filter: AuditFilter,
    /// `$orderby=activityDateTime asc`; newest first otherwise (Graph's
    /// default).
    pub oldest_first: bool,
    /// `$top`, `$skip`.
    pub page: PageRequest,
}
