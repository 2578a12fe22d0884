//! The HTTP adapter: Microsoft Graph v1.0 compatible routes for access
//! reviews, over the domain's use cases.
//!
//! It knows axum, JSON and tokens; it does not know SQL or the store. Each
//! handler extracts the request, turns it into domain values, calls one use
//! case and turns the answer into Graph's JSON. Errors of every layer become
//! Graph's error body in one place ([`error`], [`envelope`]).

mod audit;
pub mod auth;
mod count;
pub mod envelope;
pub mod error;
mod handlers;
pub mod odata;
pub mod openapi;
pub mod throttle;
pub mod wire;

use std::sync::Arc;

pub use access_reviews_domain::use_cases::UseCases;
use async_trait::async_trait;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::routing::{delete, get, post, put};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

pub use auth::{KeyFile, KeySet, KeySetError, KeySource, KeyUrl, RefreshPolicy, TokenVerifier};
use handlers::{
    DEFINITIONS, audit_logs, decisions, definitions, directory, health, history, instances, stages,
    testing, unknown,
};
pub use throttle::Throttle;

/// Largest request body accepted: 1 MiB.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Whether the service can do its work (its store answers), for `/readyz`.
#[async_trait]
pub trait Readiness: Send + Sync {
    /// True when requests can be served.
    async fn ready(&self) -> bool;
}

/// Renders the process's metrics in Prometheus' text format, for
/// `/metrics`. The composition root owns the recorder.
pub trait MetricsExporter: Send + Sync {
    /// The current metrics.
    fn render(&self) -> String;
}

/// The use cases and collaborators the handlers share.
#[derive(Clone)]
pub struct AppState {
    use_cases: Arc<UseCases>,
    tokens: Arc<TokenVerifier>,
    readiness: Arc<dyn Readiness>,
    metrics: Arc<dyn MetricsExporter>,
    throttle: Option<Arc<Throttle>>,
}

impl AppState {
    /// Bundles what the router needs.
    pub fn new(
        use_cases: Arc<UseCases>,
        tokens: TokenVerifier,
        readiness: Arc<dyn Readiness>,
        metrics: Arc<dyn MetricsExporter>,
    ) -> Self {
        Self {
            use_cases,
            tokens: Arc::new(tokens),
            readiness,
            metrics,
            throttle: None,
        }
    }

    /// Throttles each caller ([`Throttle`]).
    #[must_use]
    pub fn with_throttle(mut self, throttle: Throttle) -> Self {
        self.throttle = Some(Arc::new(throttle));
        self
    }
}

/// Graph's function for "the ones I review", as clients send it: quoted, or
/// with the quotes percent-encoded.
const MINE: [&str; 2] = [
    "filterByCurrentUser(on='reviewer')",
    "filterByCurrentUser(on=%27reviewer%27)",
];

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let definition = format!("{DEFINITIONS}/{{definition}}");
    let instance = format!("{definition}/instances/{{instance}}");
    let stage = format!("{instance}/stages/{{stage}}");
    let mut router = Router::new();
    for mine in MINE {
        router = router
            .route(
                &format!("{DEFINITIONS}/{mine}"),
                get(definitions::list_definitions),
            )
            .route(
                &format!("{definition}/instances/{mine}"),
                get(instances::list_instances),
            )
            .route(
                &format!("{instance}/stages/{mine}"),
                get(stages::list_stages),
            )
            .route(
                &format!("{instance}/decisions/{mine}"),
                get(decisions::list_instance_decisions),
            )
            .route(
                &format!("{stage}/decisions/{mine}"),
                get(decisions::list_stage_decisions),
            );
    }
    let router = router
        .route(
            DEFINITIONS,
            get(definitions::list_definitions).post(definitions::create_definition),
        )
        .route(
            &definition,
            get(definitions::get_definition)
                .put(definitions::update_definition)
                .delete(definitions::delete_definition),
        )
        .route(
            &format!("{definition}/stop"),
            post(definitions::stop_definition),
        )
        .route(&format!("{instance}/stop"), post(instances::stop_instance))
        .route(
            &format!("{instance}/applyDecisions"),
            post(instances::apply_decisions),
        )
        .route(
            &format!("{instance}/sendReminder"),
            post(instances::send_reminder),
        )
        .route(
            "/testing/clock",
            get(testing::get_clock).post(testing::advance_clock),
        )
        .route(
            &format!("{definition}/instances"),
            get(instances::list_instances),
        )
        .route(
            &instance,
            get(instances::get_instance).put(instances::update_instance),
        )
        .route(
            &format!("{instance}/contactedReviewers"),
            get(instances::contacted_reviewers),
        )
        .route(&format!("{instance}/stages"), get(stages::list_stages))
        .route(&stage, get(stages::get_stage).patch(stages::update_stage))
        .route(&format!("{stage}/stop"), post(stages::stop_stage))
        .route(
            &format!("{instance}/decisions"),
            get(decisions::list_instance_decisions),
        )
        .route(
            &format!("{instance}/decisions/{{item}}"),
            get(decisions::get_instance_decision).patch(decisions::record_instance_decision),
        )
        .route(
            &format!("{instance}/batchRecordDecisions"),
            post(decisions::batch_instance),
        )
        .route(
            &format!("{instance}/resetDecisions"),
            post(decisions::reset),
        )
        .route(
            &format!("{instance}/acceptRecommendations"),
            post(decisions::accept_recommendations),
        )
        .route(
            &format!("{stage}/decisions"),
            get(decisions::list_stage_decisions),
        )
        .route(
            &format!("{stage}/decisions/{{item}}"),
            get(decisions::get_stage_decision).patch(decisions::record_stage_decision),
        )
        .route(
            &format!("{stage}/batchRecordDecisions"),
            post(decisions::batch_stage),
        )
        .route(history::HISTORY, get(history::list).post(history::create))
        .route(
            &format!("{}/{{history}}", history::HISTORY),
            get(history::get),
        )
        .route(
            &format!("{}/{{history}}/instances", history::HISTORY),
            get(history::instances),
        )
        .route(
            &format!(
                "{}/{{history}}/instances/{{instance}}/generateDownloadUri",
                history::HISTORY
            ),
            post(history::generate_download_uri),
        )
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        .route("/v1.0/auditLogs/directoryAudits", get(audit_logs::list))
        .route("/v1.0/auditLogs/directoryAudits/{id}", get(audit_logs::get))
        .route(
            "/v1.0/users",
            get(directory::list_users).post(directory::create_user),
        )
        .route("/v1.0/users/{user}", get(directory::get_user))
        .route("/v1.0/users/{user}/manager", get(directory::get_manager))
        .route(
            "/v1.0/users/{user}/manager/$ref",
            put(directory::set_manager),
        )
        .route(
            "/v1.0/groups",
            get(directory::list_groups).post(directory::create_group),
        )
        .route("/v1.0/groups/{group}", get(directory::get_group))
        .route("/v1.0/groups/{group}/members", get(directory::members))
        .route(
            "/v1.0/groups/{group}/members/$ref",
            post(directory::add_member),
        )
        .route(
            "/v1.0/groups/{group}/members/{member}/$ref",
            delete(directory::remove_member),
        )
        .route("/v1.0/groups/{group}/owners", get(directory::owners))
        .route(
            "/v1.0/groups/{group}/owners/$ref",
            post(directory::add_owner),
        )
        .route(
            "/v1.0/groups/{group}/transitiveMembers",
            get(directory::transitive_members),
        )
        .route(
            &format!("{}/{{file}}", history::REPORTS),
            get(history::download),
        )
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .route("/metrics", get(health::metrics))
        .route("/openapi.json", get(health::openapi))
        .fallback(unknown::unknown_path)
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(CatchPanicLayer::new());
    // `/$count` is answered by asking the collection, so it goes before
    // routing: the enveloped router is the fallback of an empty one.
    let routed = envelope::layers(router);
    let counting = tower::Layer::layer(&axum::middleware::from_fn(count::count_segment), routed);
    Router::new().fallback_service(counting)
}
