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
use axum::routing::get;
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

pub use auth::{KeyFile, KeySet, KeySetError, KeySource, KeyUrl, RefreshPolicy, TokenVerifier};
use handlers::{history, unknown};
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

/// Graph's function for "the ones I review", as the document spells it;
/// clients also send it with the quotes percent-encoded, and both route.
const MINE: &str = "filterByCurrentUser(on='reviewer')";
const MINE_ENCODED: &str = "filterByCurrentUser(on=%27reviewer%27)";

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    // Every operation of the OpenAPI table, its methods merged per path.
    let mut routes: std::collections::BTreeMap<String, axum::routing::MethodRouter<AppState>> =
        std::collections::BTreeMap::new();
    for operation in openapi::operations() {
        let mut paths = vec![operation.path.clone()];
        if operation.path.contains(MINE) {
            paths.push(operation.path.replace(MINE, MINE_ENCODED));
        }
        for path in paths {
            let route = match routes.remove(&path) {
                Some(existing) => existing.merge(operation.route.clone()),
                None => operation.route.clone(),
            };
            routes.insert(path, route);
        }
    }
    let mut router = Router::new();
    for (path, route) in routes {
        router = router.route(&path, route);
    }
    let router = router
        // Records the access review writes; other routes pass through.
        .route_layer(axum::middleware::from_fn_with_state(
            state.clone(),
            audit::record,
        ))
        // Outside the table: its link is its secret, and it needs no token.
        .route(
            &format!("{}/{{file}}", history::REPORTS),
            get(history::download),
        )
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
