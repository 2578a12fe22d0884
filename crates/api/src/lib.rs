//! The HTTP adapter: Microsoft Graph v1.0 compatible routes for access
//! reviews, over the domain's use cases.
//!
//! It knows axum, JSON and tokens; it does not know SQL or the store. Each
//! handler extracts the request, turns it into domain values, calls one use
//! case and turns the answer into Graph's JSON. Errors of every layer become
//! Graph's error body in one place ([`error`], [`envelope`]).

pub mod auth;
pub mod envelope;
pub mod error;
mod handlers;
pub mod odata;
pub mod wire;

use std::sync::Arc;

use access_reviews_domain::use_cases::{CreateDefinition, ReadReviews, StopStage};
use async_trait::async_trait;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::middleware;
use axum::routing::{get, post};
use tower_http::catch_panic::CatchPanicLayer;
use tower_http::limit::RequestBodyLimitLayer;

pub use auth::TokenVerifier;
use handlers::{DEFINITIONS, definitions, health, instances, stages};

/// Largest request body accepted: 1 MiB.
pub const BODY_LIMIT: usize = 1024 * 1024;

/// Whether the service can do its work (its store answers), for `/readyz`.
#[async_trait]
pub trait Readiness: Send + Sync {
    /// True when requests can be served.
    async fn ready(&self) -> bool;
}

/// The use cases and collaborators the handlers share.
#[derive(Clone)]
pub struct AppState {
    create: Arc<CreateDefinition>,
    stop: Arc<StopStage>,
    read: Arc<ReadReviews>,
    tokens: Arc<TokenVerifier>,
    readiness: Arc<dyn Readiness>,
}

impl AppState {
    /// Bundles what the router needs.
    pub fn new(
        create: CreateDefinition,
        stop: StopStage,
        read: ReadReviews,
        tokens: TokenVerifier,
        readiness: Arc<dyn Readiness>,
    ) -> Self {
        Self {
            create: Arc::new(create),
            stop: Arc::new(stop),
            read: Arc::new(read),
            tokens: Arc::new(tokens),
            readiness,
        }
    }
}

/// The whole HTTP surface.
pub fn router(state: AppState) -> Router {
    let definition = format!("{DEFINITIONS}/{{definition}}");
    let instance = format!("{definition}/instances/{{instance}}");
    let stage = format!("{instance}/stages/{{stage}}");
    Router::new()
        .route(
            DEFINITIONS,
            get(definitions::list_definitions).post(definitions::create_definition),
        )
        .route(&definition, get(definitions::get_definition))
        .route(
            &format!("{definition}/instances"),
            get(instances::list_instances),
        )
        .route(&instance, get(instances::get_instance))
        .route(&format!("{instance}/stages"), get(stages::list_stages))
        .route(&stage, get(stages::get_stage))
        .route(&format!("{stage}/stop"), post(stages::stop_stage))
        .route("/healthz", get(health::healthz))
        .route("/readyz", get(health::readyz))
        .with_state(state)
        .layer(DefaultBodyLimit::max(BODY_LIMIT))
        .layer(RequestBodyLimitLayer::new(BODY_LIMIT))
        .layer(CatchPanicLayer::new())
        .layer(middleware::from_fn(envelope::envelope))
}
