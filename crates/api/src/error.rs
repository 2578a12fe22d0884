//! The one error type of the HTTP adapter and its mapping to Graph's error
//! body. Every domain error is mapped here, exhaustively, so a new failure
//! mode does not compile until someone decides its status.
//!
//! An [`ApiError`] turns into a response that carries its [`GraphError`] as
//! an extension; the envelope middleware (`crate::envelope`) writes the body,
//! because only it knows the request's ids.

use access_reviews_domain::directory::Relation;
use access_reviews_domain::ports::RepositoryError;
use access_reviews_domain::stage::StageNotInProgress;
use access_reviews_domain::use_cases::{
    AuditError, CreateDefinitionError, DecisionError, DirectoryError, FixedProperty, HistoryError,
    LifecycleError, Missing, ReadError, ReviewerField, StopStageError,
};
use axum::http::{HeaderValue, StatusCode, header};
use axum::response::{IntoResponse, Response};

/// The parts of Graph's error body that depend on the failure.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GraphError {
    /// `error.code`.
    pub code: &'static str,
    /// `error.message`: for people; never internal detail.
    pub message: String,
    /// `error.innerError.code`, when there is a more specific one.
    pub inner_code: Option<&'static str>,
}

/// An error answer: a status, Graph's body, and the headers that go with it.
#[derive(Debug)]
pub struct ApiError {
    status: StatusCode,
    body: GraphError,
    /// `Retry-After`, in seconds, when the caller should come back later.
    retry_after: Option<u64>,
}

impl ApiError {
    fn new(status: StatusCode, code: &'static str, message: impl Into<String>) -> Self {
        Self {
            status,
            body: GraphError {
                code,
                message: message.into(),
                inner_code: None,
            },
            retry_after: None,
        }
    }

    fn with_inner(mut self, inner: &'static str) -> Self {
        self.body.inner_code = Some(inner);
        self
    }

    /// 401: no usable bearer token.
    pub fn unauthenticated(message: impl Into<String>) -> Self {
        Self::new(
            StatusCode::UNAUTHORIZED,
            "InvalidAuthenticationToken",
            message,
        )
    }

    /// 403: the caller lacks a permission.
    pub fn access_denied(message: impl Into<String>) -> Self {
        Self::new(StatusCode::FORBIDDEN, "accessDenied", message)
    }

    /// 400 with a specific inner code; `message` names the offending field
    /// or option.
    pub fn invalid(inner: &'static str, message: impl Into<String>) -> Self {
        Self::new(StatusCode::BAD_REQUEST, "invalidRequest", message).with_inner(inner)
    }

    /// 400: a path segment that must be a GUID is not one.
    pub fn invalid_id(what: &str, raw: &str) -> Self {
        Self::invalid(
            "invalidId",
            format!("The {what} id '{raw}' is not a valid GUID."),
        )
    }

    /// 404 for an object.
    pub fn not_found(message: impl Into<String>) -> Self {
        Self::new(StatusCode::NOT_FOUND, "itemNotFound", message)
    }

    /// 400 `BadRequest` for a path segment no route has, as Graph answers
    /// it.
    pub fn unknown_segment(segment: &str) -> Self {
        Self::new(
            StatusCode::BAD_REQUEST,
            "BadRequest",
            format!("Resource not found for the segment '{segment}'."),
        )
    }

    /// 405.
    pub fn method_not_allowed() -> Self {
        Self::new(
            StatusCode::METHOD_NOT_ALLOWED,
            "methodNotAllowed",
            "The HTTP method is not supported on this resource.",
        )
    }

    /// 413.
    pub fn too_large() -> Self {
        Self::new(
            StatusCode::PAYLOAD_TOO_LARGE,
            "requestTooLarge",
            "The request body exceeds the limit of 1 MiB.",
        )
    }

    /// 503: the store cannot be reached; retry later.
    pub fn unavailable() -> Self {
        let mut error = Self::new(
            StatusCode::SERVICE_UNAVAILABLE,
            "serviceNotAvailable",
            "The service is temporarily unavailable. Retry later.",
        );
        error.retry_after = Some(5);
        error
    }

    /// 429: the caller sent more requests than it may; it may come back
    /// after `wait`.
    pub fn too_many_requests(wait: std::time::Duration) -> Self {
        let seconds = wait.as_secs().max(1);
        let mut error = Self::new(
            StatusCode::TOO_MANY_REQUESTS,
            "TooManyRequests",
            format!("Too many requests. Retry after {seconds} seconds."),
        );
        error.retry_after = Some(seconds);
        error
    }

    /// 500, with nothing of the cause.
    pub fn internal() -> Self {
        Self::new(
            StatusCode::INTERNAL_SERVER_ERROR,
            "generalException",
            "An unexpected error occurred.",
        )
    }

    /// A Graph error for a response some other layer produced with only a
    /// status (axum's 405, the body limit's 413, a caught panic's 500).
    pub fn for_status(status: StatusCode) -> Self {
        match status {
            StatusCode::METHOD_NOT_ALLOWED => Self::method_not_allowed(),
            StatusCode::PAYLOAD_TOO_LARGE => Self::too_large(),
            StatusCode::NOT_FOUND => Self::not_found("The requested resource does not exist."),
            StatusCode::UNAUTHORIZED => Self::unauthenticated("Authentication failed."),
            StatusCode::SERVICE_UNAVAILABLE => Self::unavailable(),
            s if s.is_client_error() => Self::new(s, "invalidRequest", "The request is invalid."),
            _ => Self::internal(),
        }
    }

    /// The HTTP status.
    pub fn status(&self) -> StatusCode {
        self.status
    }

    /// The body's varying parts.
    pub fn graph_error(&self) -> &GraphError {
        &self.body
    }
}

impl IntoResponse for ApiError {
    fn into_response(self) -> Response {
        let mut response = self.status.into_response();
        let headers = response.headers_mut();
        if self.status == StatusCode::UNAUTHORIZED {
            headers.insert(header::WWW_AUTHENTICATE, HeaderValue::from_static("Bearer"));
        }
        if let Some(seconds) = self.retry_after {
            headers.insert(header::RETRY_AFTER, HeaderValue::from(seconds));
        }
        response.extensions_mut().insert(self.body);
        response
    }
}

fn missing(what: Missing) -> ApiError {
    let message = match what {
        Missing::Definition(id) => format!("The access review definition {id} was not found."),
        Missing::Instance(id) => {
            format!("The access review instance {id} was not found under that definition.")
        }
        Missing::Stage(id) => {
            format!("The access review stage {id} was not found under that instance.")
        }
        Missing::DecisionItem(id) => {
            format!("The decision item {id} was not found under that instance or stage.")
        }
        Missing::User(id) => format!("The user {id} was not found."),
        Missing::Group(id) => format!("The group {id} was not found."),
        Missing::DirectoryObject(id) => format!("The directory object {id} was not found."),
        Missing::Manager(id) => format!("The user {id} has no manager."),
    };
    ApiError::not_found(message)
}

impl From<RepositoryError> for ApiError {
    /// The cause is logged here, inside the request's span, and nowhere
    /// else; the client learns only that it failed.
    fn from(error: RepositoryError) -> Self {
        match error {
            RepositoryError::Unavailable(cause) => {
                tracing::warn!(error = %cause, "store unavailable");
                Self::unavailable()
            }
            RepositoryError::Failed(cause) => {
                tracing::error!(error = %cause, "store failed");
                Self::internal()
            }
        }
    }
}

impl From<StageNotInProgress> for ApiError {
    fn from(error: StageNotInProgress) -> Self {
        Self::new(
            StatusCode::CONFLICT,
            "notAllowed",
            format!(
                "The access review stage is {}; only a stage that is InProgress can be stopped.",
                error.status
            ),
        )
        .with_inner("stageNotInProgress")
    }
}

impl From<StopStageError> for ApiError {
    fn from(error: StopStageError) -> Self {
        match error {
            StopStageError::NotFound(what) => missing(what),
            StopStageError::Forbidden => Self::access_denied(
                "Stopping a stage needs a directory role that may manage access reviews, \
                 or being the review's creator.",
            ),
            StopStageError::NotInProgress(e) => e.into(),
            StopStageError::NextReviewersUnresolvable => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                "The next stage's reviewers name a user or group that no longer exists.",
            )
            .with_inner("reviewersUnresolvable"),
            StopStageError::Repository(e) => e.into(),
        }
    }
}

impl From<LifecycleError> for ApiError {
    fn from(error: LifecycleError) -> Self {
        match error {
            LifecycleError::NotFound(what) => missing(what),
            LifecycleError::Forbidden => Self::access_denied(
                "This action needs a directory role that may manage access reviews, or being \
                 the review's creator.",
            ),
            LifecycleError::InstanceNotInProgress(status) => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                format!(
                    "The access review instance is {status}; only an instance that is \
                     InProgress can be stopped, reminded or given other reviewers."
                ),
            )
            .with_inner("instanceNotInProgress"),
            LifecycleError::InstanceNotCompleted(status) => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                format!(
                    "The access review instance is {status}; decisions can be applied once it \
                     is Completed."
                ),
            )
            .with_inner("instanceNotCompleted"),
            LifecycleError::DefinitionNotInProgress => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                "The access review definition is already Completed.",
            )
            .with_inner("definitionNotInProgress"),
            LifecycleError::ClockControlDisabled => Self::new(
                StatusCode::NOT_FOUND,
                "itemNotFound",
                "The test clock is not enabled on this service (CLOCK_CONTROL).",
            ),
            LifecycleError::ClockNotForward => Self::invalid(
                "clockNotForward",
                "The test clock moves only forward: advanceBy must be a positive duration.",
            ),
            LifecycleError::StageNotInProgress(status) => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                format!(
                    "The access review stage is {status}; only a stage that is InProgress can \
                     change its reviewers."
                ),
            )
            .with_inner("stageNotInProgress"),
            LifecycleError::FallbackReviewerRemoved => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                "Fallback reviewers can be added to a stage but not removed: fallbackReviewers \
                 must keep every existing entry.",
            )
            .with_inner("fallbackReviewerRemoved"),
            LifecycleError::ReviewerNotSupported(field) => {
                CreateDefinitionError::ReviewerNotSupported(field).into()
            }
            LifecycleError::ReviewerNotFound(field) => {
                CreateDefinitionError::ReviewerNotFound(field).into()
            }
            LifecycleError::Repository(e) => e.into(),
        }
    }
}

impl From<ReadError> for ApiError {
    fn from(error: ReadError) -> Self {
        match error {
            ReadError::NotFound(what) => missing(what),
            ReadError::Forbidden => Self::access_denied(
                "Reading this access review needs a directory role that may read access \
                 reviews, or being the review's creator.",
            ),
            ReadError::Repository(e) => e.into(),
        }
    }
}

impl From<HistoryError> for ApiError {
    fn from(error: HistoryError) -> Self {
        match error {
            HistoryError::NotFound => Self::not_found(
                "The access review history definition or instance was not found (history is \
                 kept for 30 days).",
            ),
            HistoryError::Forbidden => Self::access_denied(
                "Review history needs a directory role that may read every access review; \
                 generating a download link, a write role or being the history's creator.",
            ),
            HistoryError::PeriodReversed => Self::invalid(
                "invalidProperty",
                "The property 'reviewHistoryPeriodEndDateTime' is invalid: it lies before \
                 reviewHistoryPeriodStartDateTime.",
            ),
            HistoryError::LinkExpired => {
                Self::not_found("The download link is unknown or has expired.")
            }
            HistoryError::Repository(e) => e.into(),
        }
    }
}

impl From<AuditError> for ApiError {
    fn from(error: AuditError) -> Self {
        match error {
            AuditError::Forbidden => Self::access_denied(
                "Reading audit logs needs a directory role that may read them: Global \
                 Administrator, Security Administrator, Security Reader, Reports Reader or \
                 Global Reader.",
            ),
            AuditError::NotFound => Self::not_found("The audit record was not found."),
            AuditError::Repository(e) => e.into(),
        }
    }
}

impl From<CreateDefinitionError> for ApiError {
    fn from(error: CreateDefinitionError) -> Self {
        match error {
            CreateDefinitionError::Forbidden => Self::access_denied(
                "Creating an access review needs a directory role that may manage access \
                 reviews; changing one, that role or being the review's creator.",
            ),
            CreateDefinitionError::NotFound(what) => missing(what),
            CreateDefinitionError::Fixed(property) => Self::invalid(
                "invalidProperty",
                format!(
                    "The property '{}' cannot be changed once the access review is created.",
                    match property {
                        FixedProperty::Scope => "scope",
                        FixedProperty::InstanceEnumerationScope => "instanceEnumerationScope",
                        FixedProperty::Recurrence => "settings.recurrence",
                    }
                ),
            ),
            CreateDefinitionError::ReviewersNotIndividualUsers => Self::invalid(
                "invalidProperty",
                "The property 'reviewers' can be changed only when individual users \
                 (/users/{id}) are its reviewers, before and after.",
            ),
            CreateDefinitionError::InstanceLongerThanPeriod {
                days,
                period_days,
                staged,
            } => Self::invalid(
                "invalidProperty",
                format!(
                    "The property '{}' is invalid: an instance of {days} days does not fit in \
                     one recurrence period, which can be as short as {period_days} days.",
                    if staged {
                        "stageSettings"
                    } else {
                        "settings.instanceDurationInDays"
                    }
                ),
            ),
            CreateDefinitionError::ScopeNotSupported => Self::invalid(
                "invalidProperty",
                "The property 'scope.query' is invalid: supported scopes are \
                 /groups/{id}/members and /groups/{id}/transitiveMembers.",
            ),
            CreateDefinitionError::ScopeGroupNotFound(group) => Self::invalid(
                "invalidProperty",
                format!("The property 'scope.query' is invalid: the group {group} does not exist."),
            ),
            CreateDefinitionError::ReviewerNotSupported(field) => Self::invalid(
                "invalidProperty",
                format!(
                    "The property '{}' is invalid: supported reviewers are /users/{{id}}, \
                     /groups/{{id}}/owners, /groups/{{id}}/members, \
                     /groups/{{id}}/transitiveMembers and ./manager (queryRoot decisions; \
                     not as a fallback).",
                    reviewer_path(field)
                ),
            ),
            CreateDefinitionError::ReviewerNotFound(field) => Self::invalid(
                "invalidProperty",
                format!(
                    "The property '{}' is invalid: it names a user or group that does not exist.",
                    reviewer_path(field)
                ),
            ),
            CreateDefinitionError::Repository(e) => e.into(),
        }
    }
}

/// `stageSettings[1].fallbackReviewers[0].query` and the like.
fn reviewer_path(field: ReviewerField) -> String {
    let list = if field.fallback {
        "fallbackReviewers"
    } else {
        "reviewers"
    };
    match field.stage {
        Some(stage) => format!("stageSettings[{stage}].{list}[{}].query", field.index),
        None => format!("{list}[{}].query", field.index),
    }
}

impl From<DecisionError> for ApiError {
    fn from(error: DecisionError) -> Self {
        match error {
            DecisionError::NotFound(what) => missing(what),
            DecisionError::Forbidden => Self::access_denied(
                "Only a reviewer of the item in that stage may record its decision; reading \
                 needs a directory role, being the review's creator, or being one of its \
                 reviewers; resetting needs a role that may manage access reviews, or being \
                 the review's creator.",
            ),
            DecisionError::ApplicationCannotDecide => Self::access_denied(
                "Decisions are recorded by signed-in reviewers; application tokens cannot \
                 record them.",
            ),
            DecisionError::NotInProgress(e) => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                format!(
                    "The access review stage is {}; its reviewers can no longer record decisions.",
                    e.status
                ),
            )
            .with_inner("stageNotInProgress"),
            DecisionError::InstanceNotInProgress(status) => Self::new(
                StatusCode::CONFLICT,
                "notAllowed",
                format!("The access review instance is {status}; only an instance in progress can be reset."),
            )
            .with_inner("instanceNotInProgress"),
            DecisionError::JustificationRequired => Self::invalid(
                "justificationRequired",
                "The property 'justification' is required to approve in this access review.",
            ),
            DecisionError::Repository(e) => e.into(),
        }
    }
}

impl From<DirectoryError> for ApiError {
    fn from(error: DirectoryError) -> Self {
        match error {
            DirectoryError::Forbidden => Self::access_denied(
                "Changing users needs the Global Administrator or User Administrator role; \
                 changing groups needs Global Administrator or Groups Administrator.",
            ),
            DirectoryError::NotFound(what) => missing(what),
            DirectoryError::DuplicateUserPrincipalName => Self::invalid(
                "objectConflict",
                "Another object with the same value for property userPrincipalName already exists.",
            ),
            DirectoryError::MalformedUserPrincipalName => Self::invalid(
                "invalidProperty",
                "The property 'userPrincipalName' is invalid: it must have the form alias@domain.",
            ),
            DirectoryError::AlreadyRelated(relation) => Self::invalid(
                "objectConflict",
                format!(
                    "One or more added object references already exist for the {} of the group.",
                    match relation {
                        Relation::Members => "members",
                        Relation::Owners => "owners",
                    }
                ),
            ),
            DirectoryError::OwnerMustBeUser => Self::invalid(
                "invalidProperty",
                "The property '@odata.id' is invalid: only users can own groups.",
            ),
            DirectoryError::OwnManager => Self::invalid(
                "invalidProperty",
                "The property '@odata.id' is invalid: a user cannot be their own manager.",
            ),
            DirectoryError::OwnMember => Self::invalid(
                "invalidProperty",
                "The property '@odata.id' is invalid: a group cannot be its own member.",
            ),
            DirectoryError::Repository(e) => e.into(),
        }
    }
}
