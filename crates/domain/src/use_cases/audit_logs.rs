//! The audit log: recording the outcome of each access review write, and
//! reading the records (`/auditLogs/directoryAudits`).

use std::sync::Arc;

use chrono::{DateTime, Utc};
use uuid::Uuid;

use crate::actor::Actor;
use crate::audit::{Activity, AuditEntry, AuditQuery, AuditResult, Initiator, Target};
use crate::ids::AuditId;
use crate::ports::{AuditTrail, Clock, RepositoryError};
use crate::query::Page;

use super::Ports;

/// Why the audit log cannot answer.
#[derive(Debug, thiserror::Error)]
pub enum AuditError {
    /// The caller has no role that may read audit logs.
    #[error("the caller may not read audit logs")]
    Forbidden,
    /// No record has this id.
    #[error("no such audit record")]
    NotFound,
    /// The store failed.
    #[error(transparent)]
    Repository(#[from] RepositoryError),
}

/// How a write ended, for its record.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Outcome {
    /// Success or failure.
    pub result: AuditResult,
    /// Why it failed (what the caller was told); empty on success.
    pub reason: String,
}

impl Outcome {
    /// The write took effect.
    pub fn success() -> Self {
        Self {
            result: AuditResult::Success,
            reason: String::new(),
        }
    }

    /// It was refused, for `reason`.
    pub fn failure(reason: impl Into<String>) -> Self {
        Self {
            result: AuditResult::Failure,
            reason: reason.into(),
        }
    }
}

/// What the caller's side knows of a request for its record: the id that
/// correlates it, the objects its path names (outermost first) and the
/// details to keep. A write given one records itself, in its own
/// transaction, when it takes effect.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RequestRecord {
    /// `correlationId`.
    pub correlation_id: Uuid,
    /// `targetResources`.
    pub targets: Vec<Target>,
    /// `additionalDetails`.
    pub details: Vec<(String, String)>,
}

impl RequestRecord {
    /// The record of `actor`'s `activity`, ended with `outcome` at `at`.
    #[must_use]
    pub fn entry(
        self,
        actor: &Actor,
        activity: Activity,
        outcome: Outcome,
        at: DateTime<Utc>,
    ) -> AuditEntry {
        AuditEntry {
            id: AuditId::new_random(),
            at,
            activity: activity.display_name().to_owned(),
            category: activity.category().to_owned(),
            operation_type: activity.operation_type().to_owned(),
            correlation_id: self.correlation_id,
            result: outcome.result,
            result_reason: outcome.reason,
            initiated_by: Initiator::from(actor),
            targets: self.targets,
            details: self.details,
        }
    }
}

/// Records and reads the audit log.
pub struct AuditLogs {
    trail: Arc<dyn AuditTrail>,
    clock: Arc<dyn Clock>,
}

impl AuditLogs {
    /// Wires the use case.
    pub fn new(ports: &Ports) -> Self {
        Self {
            trail: ports.audit.clone(),
            clock: ports.clock.clone(),
        }
    }

    /// Appends the record of `actor`'s `activity` on `targets`, at review
    /// time.
    ///
    /// # Errors
    /// When the clock or the store fails.
    pub async fn record(
        &self,
        actor: &Actor,
        activity: Activity,
        correlation_id: Uuid,
        outcome: Outcome,
        targets: Vec<Target>,
        details: Vec<(String, String)>,
    ) -> Result<AuditEntry, AuditError> {
        let request = RequestRecord {
            correlation_id,
            targets,
            details,
        };
        let entry = request.entry(actor, activity, outcome, self.clock.now().await?);
        self.trail.record(&entry).await?;
        Ok(entry)
    }

    /// A page of records.
    ///
    /// # Errors
    /// [`AuditError::Forbidden`] without a role that reads audit logs.
    pub async fn list(
        &self,
        actor: &Actor,
        query: &AuditQuery,
    ) -> Result<Page<AuditEntry>, AuditError> {
        if !actor.may_read_audit_logs() {
            return Err(AuditError::Forbidden);
        }
        Ok(self.trail.audits(query).await?)
    }

    /// One record.
    ///
    /// # Errors
    /// [`AuditError::Forbidden`], or [`AuditError::NotFound`].
    pub async fn get(&self, actor: &Actor, id: AuditId) -> Result<AuditEntry, AuditError> {
        if !actor.may_read_audit_logs() {
            return Err(AuditError::Forbidden);
        }
        self.trail.audit(id).await?.ok_or(AuditError::NotFound)
    }
}
