//! The audit record of every access review write: a middleware around the
//! access review routes that, once a write's answer is known, records who
//! asked, what, on which objects, and how it ended (a refusal with the
//! message the caller was given) through [`AuditLogs`]. Reads are not
//! recorded; neither are requests without a valid token (nobody to name).
//!
//! The record is written before the answer leaves, so a client that sees
//! its answer finds the record. A write whose record cannot be written is
//! still answered (it has happened); the failure is logged and counted
//! (`audit_record_failures_total`). A handler whose use case commits the
//! record with the write itself (a stage's stop, through [`Recorded`])
//! leaves only its refusals to the middleware.
//!
//! [`AuditLogs`]: access_reviews_domain::use_cases::AuditLogs

use std::sync::atomic::{AtomicBool, Ordering};
use std::sync::{Arc, OnceLock};

use access_reviews_domain::actor::Actor;
use access_reviews_domain::audit::{Activity, Target, TargetKind};
use access_reviews_domain::use_cases::{Outcome, RequestRecord};
use axum::extract::{FromRequestParts, MatchedPath, Request, State};
use axum::http::request::Parts;
use axum::http::{HeaderMap, Method, StatusCode, header};
use axum::middleware::Next;
use axum::response::Response;
use uuid::Uuid;

use crate::AppState;
use crate::error::GraphError;

/// What the middleware knows of a write before it runs: where the token
/// check leaves the caller, the request's correlation id and targets, and
/// whether the write recorded itself (see [`Recorded`]).
#[derive(Clone)]
pub(crate) struct RecordSlot(Arc<Slot>);

struct Slot {
    actor: OnceLock<Actor>,
    correlation: Uuid,
    targets: Vec<Target>,
    written: AtomicBool,
}

impl RecordSlot {
    /// Keeps `actor` (the first one set wins).
    pub(crate) fn set(&self, actor: &Actor) {
        let _ = self.0.actor.set(actor.clone());
    }
}

/// For a handler whose use case commits the request's record with the
/// write (a stage's stop): the record of a success, and the mark that it
/// was written, so that the middleware does not write it again. Empty on a
/// route that is not recorded.
pub struct Recorded(Option<RecordSlot>);

impl<S: Send + Sync> FromRequestParts<S> for Recorded {
    type Rejection = std::convert::Infallible;

    async fn from_request_parts(parts: &mut Parts, _: &S) -> Result<Self, Self::Rejection> {
        Ok(Self(parts.extensions.get::<RecordSlot>().cloned()))
    }
}

impl Recorded {
    /// The record of this request answered with `status`, as the
    /// middleware would write it.
    pub(crate) fn success(&self, status: StatusCode) -> Option<RequestRecord> {
        self.0.as_ref().map(|slot| RequestRecord {
            correlation_id: slot.0.correlation,
            targets: slot.0.targets.clone(),
            details: details(status),
        })
    }

    /// The use case wrote the record.
    pub(crate) fn written(&self) {
        if let Some(slot) = &self.0 {
            slot.0.written.store(true, Ordering::Release);
        }
    }
}

/// `additionalDetails` of a request answered with `status`.
fn details(status: StatusCode) -> Vec<(String, String)> {
    vec![("httpStatus".to_owned(), status.as_u16().to_string())]
}

/// The activity a write route performs; `None` for what is not recorded.
fn activity(method: &Method, route: &str) -> Option<Activity> {
    let under_reviews = route.starts_with("/v1.0/identityGovernance/accessReviews/");
    if !under_reviews || *method == Method::GET || *method == Method::HEAD {
        return None;
    }
    let last = route.rsplit('/').next().unwrap_or_default();
    Some(match (method.as_str(), last) {
        ("POST", "definitions") => Activity::CreateDefinition,
        ("POST", "historyDefinitions") => Activity::CreateHistoryDefinition,
        ("POST", "generateDownloadUri") => Activity::GenerateHistoryDownload,
        ("POST", "stop") if route.ends_with("/stages/{stage}/stop") => Activity::StopStage,
        ("POST", "stop") if route.ends_with("/instances/{instance}/stop") => Activity::StopInstance,
        ("POST", "stop") => Activity::StopDefinition,
        ("POST", "applyDecisions") => Activity::ApplyDecisions,
        ("POST", "sendReminder") => Activity::SendReminder,
        ("POST", "batchRecordDecisions") => Activity::BatchRecordDecisions,
        ("POST", "resetDecisions") => Activity::ResetDecisions,
        ("POST", "acceptRecommendations") => Activity::AcceptRecommendations,
        ("PATCH", "{item}") => Activity::RecordDecision,
        ("DELETE", "{definition}") => Activity::DeleteDefinition,
        ("PUT", "{definition}") => Activity::UpdateDefinition,
        ("PATCH", "{stage}") => Activity::UpdateStage,
        ("PUT", "{instance}") => Activity::UpdateInstance,
        _ => return None,
    })
}

/// The objects a path names, outermost first (segments that are not GUIDs,
/// which the request was refused for, are left out).
fn targets(path: &str) -> Vec<Target> {
    let segments: Vec<&str> = path.split('/').collect();
    let history = segments.contains(&"historyDefinitions");
    segments
        .windows(2)
        .filter_map(|pair| {
            let kind = match pair[0] {
                "definitions" => TargetKind::Definition,
                "historyDefinitions" => TargetKind::HistoryDefinition,
                "instances" if history => TargetKind::HistoryInstance,
                "instances" => TargetKind::Instance,
                "stages" => TargetKind::Stage,
                "decisions" => TargetKind::DecisionItem,
                _ => return None,
            };
            Uuid::parse_str(pair[1]).ok().map(|id| Target { id, kind })
        })
        .collect()
}

/// `correlationId`: the client's `client-request-id` when it is a GUID,
/// as Graph's SDKs send; otherwise this request's `request-id`.
fn correlation_id(headers: &HeaderMap) -> Uuid {
    let guid = |name: &str| {
        headers
            .get(name)
            .and_then(|v| v.to_str().ok())
            .and_then(|v| Uuid::parse_str(v).ok())
    };
    guid("client-request-id")
        .or_else(|| guid("request-id"))
        .unwrap_or_else(Uuid::new_v4)
}

/// See the module documentation.
pub(crate) async fn record(
    State(state): State<AppState>,
    mut request: Request,
    next: Next,
) -> Response {
    let route = request
        .extensions()
        .get::<MatchedPath>()
        .map(|m| m.as_str().to_owned())
        .unwrap_or_default();
    let Some(activity) = activity(request.method(), &route) else {
        return next.run(request).await;
    };
    let slot = RecordSlot(Arc::new(Slot {
        actor: OnceLock::new(),
        correlation: correlation_id(request.headers()),
        targets: targets(request.uri().path()),
        written: AtomicBool::new(false),
    }));
    request.extensions_mut().insert(slot.clone());

    let response = next.run(request).await;

    let Some(actor) = slot.0.actor.get() else {
        return response;
    };
    if slot.0.written.load(Ordering::Acquire) {
        return response;
    }
    let mut targets = slot.0.targets.clone();
    let outcome = if response.status().is_success() {
        Outcome::success()
    } else {
        let reason = response
            .extensions()
            .get::<GraphError>()
            .map_or_else(|| response.status().to_string(), |e| e.message.clone());
        Outcome::failure(reason)
    };
    let created = match activity {
        Activity::CreateDefinition => Some(TargetKind::Definition),
        Activity::CreateHistoryDefinition => Some(TargetKind::HistoryDefinition),
        _ => None,
    };
    if let Some(kind) = created
        && let Some(id) = response
            .headers()
            .get(header::LOCATION)
            .and_then(|l| l.to_str().ok())
            .and_then(|l| l.rsplit('/').next())
            .and_then(|id| Uuid::parse_str(id).ok())
    {
        targets.push(Target { id, kind });
    }
    let correlation = slot.0.correlation;
    let details = details(response.status());
    if let Err(error) = state
        .use_cases
        .audit
        .record(actor, activity, correlation, outcome, targets, details)
        .await
    {
        metrics::counter!("audit_record_failures_total").increment(1);
        tracing::error!(error = %error, cause = ?std::error::Error::source(&error), "the audit record could not be written");
    }
    response
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn each_access_review_write_route_is_an_activity_and_reads_are_none() {
        let d = "/v1.0/identityGovernance/accessReviews/definitions";
        let i = format!("{d}/{{definition}}/instances/{{instance}}");
        let s = format!("{i}/stages/{{stage}}");
        let cases = [
            ("POST", d.to_owned(), Some(Activity::CreateDefinition)),
            ("GET", d.to_owned(), None),
            (
                "POST",
                format!("{d}/{{definition}}/stop"),
                Some(Activity::StopDefinition),
            ),
            ("POST", format!("{i}/stop"), Some(Activity::StopInstance)),
            ("POST", format!("{s}/stop"), Some(Activity::StopStage)),
            (
                "POST",
                format!("{i}/applyDecisions"),
                Some(Activity::ApplyDecisions),
            ),
            (
                "POST",
                format!("{i}/sendReminder"),
                Some(Activity::SendReminder),
            ),
            (
                "POST",
                format!("{i}/resetDecisions"),
                Some(Activity::ResetDecisions),
            ),
            (
                "POST",
                format!("{i}/batchRecordDecisions"),
                Some(Activity::BatchRecordDecisions),
            ),
            (
                "POST",
                format!("{s}/batchRecordDecisions"),
                Some(Activity::BatchRecordDecisions),
            ),
            (
                "PATCH",
                format!("{i}/decisions/{{item}}"),
                Some(Activity::RecordDecision),
            ),
            (
                "PATCH",
                format!("{s}/decisions/{{item}}"),
                Some(Activity::RecordDecision),
            ),
            ("GET", format!("{s}/decisions/{{item}}"), None),
            (
                "DELETE",
                format!("{d}/{{definition}}"),
                Some(Activity::DeleteDefinition),
            ),
            (
                "PUT",
                format!("{d}/{{definition}}"),
                Some(Activity::UpdateDefinition),
            ),
            ("POST", "/v1.0/groups".to_owned(), None),
            ("POST", "/testing/clock".to_owned(), None),
        ];
        for (method, route, expected) in cases {
            let method = Method::from_bytes(method.as_bytes()).unwrap();
            assert_eq!(activity(&method, &route), expected, "{method} {route}");
        }
    }

    #[test]
    fn targets_are_the_guids_of_the_path_outermost_first() {
        let (d, i, s) = (Uuid::new_v4(), Uuid::new_v4(), Uuid::new_v4());
        let path = format!(
            "/v1.0/identityGovernance/accessReviews/definitions/{d}/instances/{i}/stages/{s}/stop"
        );
        assert_eq!(
            targets(&path),
            [
                Target {
                    id: d,
                    kind: TargetKind::Definition
                },
                Target {
                    id: i,
                    kind: TargetKind::Instance
                },
                Target {
                    id: s,
                    kind: TargetKind::Stage
                },
            ]
        );
        let malformed =
            format!("/v1.0/identityGovernance/accessReviews/definitions/{d}/instances/nope/stop");
        assert_eq!(targets(&malformed).len(), 1);
    }
}
