//! The yardstick: the thinnest axum + sqlx service doing a stage read's and
//! a stop's minimal database work, with no tokens, no Graph JSON, no
//! domain. A `GET` of a stage, definition, instance or decision item is
//! one select by id; `POST /stages/{id}/stop` is
//! the seven round trips a plain transaction needs: `BEGIN`, lock and
//! check the stage, complete it, insert the next stage, touch the
//! instance, write an audit row, `COMMIT`.
//!
//! `DATABASE_URL` and `LISTEN_ADDR` configure it.

use std::time::Duration;

use axum::Router;
use axum::extract::{Path, State};
use axum::http::StatusCode;
use axum::response::{IntoResponse, Json, Response};
use axum::routing::{get, post};
use chrono::{DateTime, Utc};
use sqlx::PgPool;
use sqlx::postgres::PgPoolOptions;
use uuid::Uuid;

#[derive(serde::Serialize, sqlx::FromRow)]
struct StageRow {
    id: Uuid,
    instance_id: Uuid,
    stage_key: String,
    start_date_time: DateTime<Utc>,
    end_date_time: DateTime<Utc>,
    status: String,
}

async fn get_stage(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> Response {
    let row: Result<Option<StageRow>, _> = sqlx::query_as(
        "SELECT id, instance_id, stage_key, start_date_time, end_date_time, status \
         FROM access_review_stages WHERE id = $1",
    )
    .bind(id)
    .fetch_optional(&pool)
    .await;
    match row {
        Ok(Some(row)) => Json(row).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

/// A row by id, as JSON, by PostgreSQL's own `to_jsonb`: the thin read
/// of a definition, an instance or a decision item.
async fn row(pool: &PgPool, sql: &'static str, id: Uuid) -> Response {
    let row: Result<Option<serde_json::Value>, _> =
        sqlx::query_scalar(sql).bind(id).fetch_optional(pool).await;
    match row {
        Ok(Some(row)) => Json(row).into_response(),
        Ok(None) => StatusCode::NOT_FOUND.into_response(),
        Err(_) => StatusCode::SERVICE_UNAVAILABLE.into_response(),
    }
}

async fn get_definition(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> Response {
    row(
        &pool,
        "SELECT to_jsonb(d) FROM access_review_definitions d WHERE id = $1",
        id,
    )
    .await
}

async fn get_instance(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> Response {
    row(
        &pool,
        "SELECT to_jsonb(i) FROM access_review_instances i WHERE id = $1",
        id,
    )
    .await
}

async fn get_item(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> Response {
    row(
        &pool,
        "SELECT to_jsonb(i) FROM decision_items i WHERE id = $1",
        id,
    )
    .await
}

async fn stop(pool: &PgPool, id: Uuid) -> Result<StatusCode, sqlx::Error> {
    let mut tx = pool.begin().await?;
    let stage: Option<(Uuid, String)> = sqlx::query_as(
        "SELECT instance_id, status FROM access_review_stages WHERE id = $1 FOR UPDATE",
    )
    .bind(id)
    .fetch_optional(&mut *tx)
    .await?;
    let Some((instance, status)) = stage else {
        return Ok(StatusCode::NOT_FOUND);
    };
    if status != "InProgress" {
        return Ok(StatusCode::CONFLICT);
    }
    sqlx::query(
        "UPDATE access_review_stages SET status = 'Completed', end_date_time = now() \
         WHERE id = $1",
    )
    .bind(id)
    .execute(&mut *tx)
    .await?;
    let next = Uuid::new_v4();
    sqlx::query(
        "INSERT INTO access_review_stages (id, instance_id, stage_key, start_date_time, \
         end_date_time, reviewers, fallback_reviewers, status) \
         VALUES ($1, $2, '2', now(), now() + interval '2 days', '[]', '[]', 'InProgress')",
    )
    .bind(next)
    .bind(instance)
    .execute(&mut *tx)
    .await?;
    sqlx::query("UPDATE access_review_instances SET status = 'InProgress' WHERE id = $1")
        .bind(instance)
        .execute(&mut *tx)
        .await?;
    sqlx::query(
        "INSERT INTO access_review_audit (occurred_at, actor_id, action, definition_id, \
         instance_id, stage_id, created_stage_id, instance_completed) \
         SELECT now(), $3, 'stageStopped', definition_id, id, $1, $2, false \
         FROM access_review_instances WHERE id = $4",
    )
    .bind(id)
    .bind(next)
    .bind(Uuid::nil())
    .bind(instance)
    .execute(&mut *tx)
    .await?;
    tx.commit().await?;
    Ok(StatusCode::NO_CONTENT)
}

async fn stop_stage(State(pool): State<PgPool>, Path(id): Path<Uuid>) -> StatusCode {
    stop(&pool, id)
        .await
        .unwrap_or(StatusCode::SERVICE_UNAVAILABLE)
}

#[tokio::main]
async fn main() -> anyhow::Result<()> {
    let url = std::env::var("DATABASE_URL")?;
    let addr = std::env::var("LISTEN_ADDR").unwrap_or_else(|_| "127.0.0.1:8081".into());
    // The same pool and session settings as the service (no JIT).
    let options = std::str::FromStr::from_str(&url)
        .map(|o: sqlx::postgres::PgConnectOptions| o.options([("jit", "off")]))?;
    let pool = PgPoolOptions::new()
        .max_connections(20)
        .acquire_timeout(Duration::from_secs(5))
        .test_before_acquire(false)
        .connect_with(options)
        .await?;
    let app = Router::new()
        .route("/definitions/{id}", get(get_definition))
        .route("/instances/{id}", get(get_instance))
        .route("/items/{id}", get(get_item))
        .route("/stages/{id}", get(get_stage))
        .route("/stages/{id}/stop", post(stop_stage))
        .with_state(pool);
    let listener = tokio::net::TcpListener::bind(&addr).await?;
    axum::serve(listener, app).await?;
    Ok(())
}
