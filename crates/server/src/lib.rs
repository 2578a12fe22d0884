//! The composition root: reads configuration, builds the adapters, wires
//! them into the use cases and serves the HTTP API. The only crate that
//! names every other one.

pub mod config;
pub mod healthcheck;
pub mod log_writer;
pub mod token;

use std::future::Future;
use std::net::SocketAddr;
use std::sync::{Arc, OnceLock};
use std::time::Duration;

use access_reviews_api::{
    AppState, KeyFile, KeySet, KeyUrl, MetricsExporter, Readiness, RefreshPolicy, Throttle,
    TokenVerifier,
};
use access_reviews_domain::ports::{Claim, Clock, RepositoryError};
use access_reviews_domain::use_cases::{PassReport, Ports, UseCases};
use access_reviews_postgres::{MIGRATOR, PgRepository, PgTestClock};
use anyhow::Context;
use async_trait::async_trait;
use chrono::{DateTime, SubsecRound, Utc};
use metrics_exporter_prometheus::{Matcher, PrometheusBuilder, PrometheusHandle};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use tokio::net::TcpListener;

use crate::config::{AuthConfig, KeySetLocation, Secret, ServeConfig};

/// The wall clock, at millisecond precision as Graph shows times (and so
/// that what is stored reads back identical).
pub struct SystemClock;

#[async_trait]
impl Clock for SystemClock {
    async fn now(&self) -> Result<DateTime<Utc>, RepositoryError> {
        Ok(Utc::now().trunc_subsecs(3))
    }
}

struct DatabaseReadiness(PgRepository);

#[async_trait]
impl Readiness for DatabaseReadiness {
    async fn ready(&self) -> bool {
        self.0.is_reachable().await
    }
}

/// The process-wide Prometheus recorder. The `metrics` facade has one
/// global recorder, so it is installed once, however many servers a
/// process builds (tests build several).
struct Prometheus(PrometheusHandle);

impl MetricsExporter for Prometheus {
    fn render(&self) -> String {
        // Histograms are drained into their buckets on upkeep.
        self.0.run_upkeep();
        self.0.render()
    }
}

fn prometheus() -> anyhow::Result<Arc<Prometheus>> {
    static HANDLE: OnceLock<Result<PrometheusHandle, String>> = OnceLock::new();
    let handle = HANDLE.get_or_init(|| {
        PrometheusBuilder::new()
            .set_buckets_for_metric(
                Matcher::Full("http_request_duration_seconds".into()),
                &[
                    0.001, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0, 10.0,
                ],
            )
            .and_then(PrometheusBuilder::install_recorder)
            .map_err(|e| e.to_string())
    });
    match handle {
        Ok(handle) => Ok(Arc::new(Prometheus(handle.clone()))),
        Err(e) => Err(anyhow::anyhow!("cannot install the metrics recorder: {e}")),
    }
}

/// Opens a pool. Waiting for a connection is bounded so that an exhausted
/// pool answers 503 rather than hanging.
pub async fn connect(database_url: &Secret) -> anyhow::Result<PgPool> {
    let url = std::str::from_utf8(database_url.expose()).context("DATABASE_URL is not UTF-8")?;
    // No ping before each use of a pooled connection: it would be one
    // more round trip per request; a connection found broken fails that
    // request with a 503 and is dropped from the pool.
    PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .connect_with(
            access_reviews_postgres::connect_options(url).context("DATABASE_URL is not valid")?,
        )
        .await
        .context("cannot connect to the database at DATABASE_URL")
}

/// Applies the pending migrations.
pub async fn migrate(pool: &PgPool) -> anyhow::Result<()> {
    MIGRATOR
        .run(pool)
        .await
        .context("cannot apply the database migrations")
}

/// A server that is bound and wired, ready to run.
pub struct Application {
    listener: TcpListener,
    router: axum::Router,
    /// Closed last, with the connections it keeps.
    repo: PgRepository,
    scheduler: Option<Scheduler>,
}

/// Runs the scheduler's pass at a fixed interval. Any number of replicas
/// may: every transition commits once, guarded on its object still being
/// `InProgress`.
struct Scheduler {
    use_cases: Arc<UseCases>,
    every: Duration,
}

/// Counts a pass's transitions (`scheduler_transitions_total` by kind)
/// and logs a pass that did something.
fn record(report: PassReport) {
    let kinds = [
        ("stage_ended", report.stages_ended),
        ("instance_ended", report.instances_ended),
        ("instance_started", report.instances_started),
        ("recurrence_ended", report.recurrences_ended),
        ("lost_race", report.lost_races),
    ];
    for (kind, count) in kinds {
        metrics::counter!("scheduler_transitions_total", "kind" => kind)
            .increment(u64::from(count));
    }
    if report != PassReport::default() {
        tracing::info!(
            stages_ended = report.stages_ended,
            instances_ended = report.instances_ended,
            instances_started = report.instances_started,
            recurrences_ended = report.recurrences_ended,
            lost_races = report.lost_races,
            "scheduler pass"
        );
    }
}

impl Scheduler {
    async fn run(self, mut stop: tokio::sync::watch::Receiver<bool>) {
        let mut ticks = tokio::time::interval(self.every);
        ticks.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                _ = ticks.tick() => {}
                _ = stop.changed() => return,
            }
            // A pass that is cut short by shutdown is harmless: each
            // transition is its own transaction.
            tokio::select! {
                result = self.use_cases.lifecycle.run_due(Claim::Lease) => match result {
                    Ok(report) => record(report),
                    Err(error) => {
                        metrics::counter!("scheduler_pass_failures_total").increment(1);
                        tracing::warn!(
                            error = %error,
                            cause = ?std::error::Error::source(&error),
                            "scheduler pass failed; retrying at the next tick"
                        );
                    }
                },
                _ = stop.changed() => return,
            }
        }
    }
}

/// The token checks `auth` asks for. A key set file must be usable at
/// start-up; a key set URL is fetched now too, but one that cannot be had
/// yet is only logged (tokens are refused until it can).
async fn verifier(auth: &AuthConfig) -> anyhow::Result<TokenVerifier> {
    let mut tokens = TokenVerifier::new(&auth.issuers, &auth.audiences);
    if let Some(secret) = &auth.hs256_secret {
        tokens = tokens
            .with_hs256(secret.expose())
            .context("AUTH_HS256_SECRET is unusable")?;
    }
    match &auth.key_set {
        None => {}
        Some(KeySetLocation::File(path)) => {
            let keys = KeySet::new(Box::new(KeyFile(path.clone())), RefreshPolicy::default());
            let count = keys
                .load()
                .await
                .with_context(|| format!("AUTH_JWKS_FILE {} is unusable", path.display()))?;
            tracing::info!(file = %path.display(), keys = count, "RS256 key set loaded");
            tokens = tokens.with_key_set(keys);
        }
        Some(KeySetLocation::Url(url)) => {
            let source = KeyUrl::new(url).context("AUTH_JWKS_URL is unusable")?;
            let keys = KeySet::new(Box::new(source), RefreshPolicy::default());
            if let Ok(count) = keys.load().await {
                tracing::info!(url = %url, keys = count, "RS256 key set loaded");
            }
            tokens = tokens.with_key_set(keys);
        }
    }
    Ok(tokens)
}

impl Application {
    /// Connects, migrates (when asked), binds `config.listen_addr` and wires
    /// the adapters.
    ///
    /// # Errors
    /// When the database cannot be reached or migrated, or the address
    /// cannot be bound.
    pub async fn build(config: &ServeConfig, run_migrations: bool) -> anyhow::Result<Self> {
        let pool = connect(&config.database_url).await?;
        if run_migrations {
            migrate(&pool).await?;
        }
        let listener = TcpListener::bind(config.listen_addr)
            .await
            .with_context(|| format!("cannot listen on {}", config.listen_addr))?;
        let tokens = verifier(&config.auth).await?;

        // One adapter implements every repository port; the clock is the
        // wall clock, or the test clock that every replica reads from the
        // database.
        let repository = PgRepository::new(pool.clone());
        let repo = Arc::new(repository.clone());
        let ports = if config.clock_control {
            let clock = Arc::new(PgTestClock::new(pool.clone()));
            Ports::from_repository(repo, clock.clone()).with_clock_control(clock)
        } else {
            Ports::from_repository(repo, Arc::new(SystemClock))
        };
        let use_cases = Arc::new(UseCases::new(&ports));
        let readiness = Arc::new(DatabaseReadiness(repository.clone()));
        let mut state = AppState::new(use_cases.clone(), tokens, readiness, prometheus()?);
        if let Some(per_10s) = config.throttle_per_10s {
            state = state.with_throttle(Throttle::new(per_10s));
        }
        Ok(Self {
            listener,
            router: access_reviews_api::router(state),
            repo: repository,
            scheduler: config
                .scheduler_interval
                .map(|every| Scheduler { use_cases, every }),
        })
    }

    /// The address actually bound (useful with port 0).
    ///
    /// # Errors
    /// When the socket cannot say.
    pub fn local_addr(&self) -> std::io::Result<SocketAddr> {
        self.listener.local_addr()
    }

    /// Serves until `shutdown` completes, then finishes the requests in
    /// flight and closes the pool.
    ///
    /// # Errors
    /// When the server fails.
    pub async fn run_until(
        self,
        shutdown: impl Future<Output = ()> + Send + 'static,
    ) -> anyhow::Result<()> {
        tracing::info!(address = %self.listener.local_addr()?, "listening");
        let (stop, stopped) = tokio::sync::watch::channel(false);
        let scheduler = self.scheduler.map(|s| tokio::spawn(s.run(stopped)));
        let served = axum::serve(self.listener, self.router)
            .with_graceful_shutdown(shutdown)
            .await
            .context("the HTTP server failed");
        let _ = stop.send(true);
        if let Some(scheduler) = scheduler {
            let _ = scheduler.await;
        }
        served?;
        self.repo.close().await;
        tracing::info!("stopped");
        Ok(())
    }
}
