//! [`AuditTrail`] over PostgreSQL: `directory_audits`, append-only (its
//! triggers refuse any change or removal). The scheduler's records are
//! written by a trigger of the migration, in the transition's transaction.

use access_reviews_domain::audit::{
    AuditEntry, AuditFilter, AuditQuery, AuditResult, Initiator, Target, TargetKind,
};
use access_reviews_domain::ids::{AuditId, PrincipalId};
use access_reviews_domain::ports::{AuditTrail, RepositoryError};
use access_reviews_domain::query::Page;
use async_trait::async_trait;
use chrono::{DateTime, Utc};
use sqlx::types::Json;
use sqlx::{Postgres, QueryBuilder};
use uuid::Uuid;

use crate::PgRepository;
use crate::error::{CorruptRow, map_sqlx};

const COLUMNS: &str = "id, activity_date_time, activity, category, operation_type, \
    correlation_id, result, result_reason, initiator_kind, initiator_id, initiator_name, \
    initiator_upn, target_kinds, target_ids, detail_keys, detail_values";

#[derive(sqlx::FromRow)]
struct AuditRow {
    id: Uuid,
    activity_date_time: DateTime<Utc>,
    activity: String,
    category: String,
    operation_type: String,
    correlation_id: Uuid,
    result: String,
    result_reason: String,
    initiator_kind: String,
    initiator_id: Uuid,
    initiator_name: Option<String>,
    initiator_upn: Option<String>,
    target_kinds: Vec<String>,
    target_ids: Vec<Uuid>,
    detail_keys: Vec<String>,
    detail_values: Vec<String>,
}

impl TryFrom<AuditRow> for AuditEntry {
    type Error = CorruptRow;

    fn try_from(row: AuditRow) -> Result<Self, CorruptRow> {
        let corrupt = |what| CorruptRow { what };
        let result = match row.result.as_str() {
            "success" => AuditResult::Success,
            "failure" => AuditResult::Failure,
            _ => return Err(corrupt("audit result")),
        };
        let id = PrincipalId::from_uuid(row.initiator_id);
        let initiated_by = match row.initiator_kind.as_str() {
            "user" => Initiator::User {
                id,
                display_name: row.initiator_name,
                user_principal_name: row.initiator_upn,
            },
            "app" => Initiator::App {
                service_principal_id: id,
                display_name: row.initiator_name,
            },
            _ => return Err(corrupt("audit initiator")),
        };
        let targets = row
            .target_kinds
            .iter()
            .zip(row.target_ids)
            .map(|(kind, id)| {
                TargetKind::parse(kind)
                    .map(|kind| Target { id, kind })
                    .ok_or(corrupt("audit target"))
            })
            .collect::<Result<_, _>>()?;
        Ok(Self {
            id: AuditId::from_uuid(row.id),
            at: row.activity_date_time,
            activity: row.activity,
            category: row.category,
            operation_type: row.operation_type,
            correlation_id: row.correlation_id,
            result,
            result_reason: row.result_reason,
            initiated_by,
            targets,
            details: row.detail_keys.into_iter().zip(row.detail_values).collect(),
        })
    }
}

/// The `AND …` conditions of `f`.
fn filtered(sql: &mut QueryBuilder<Postgres>, f: &AuditFilter) {
    if let Some(from) = f.from {
        sql.push(" AND activity_date_time >= ").push_bind(from);
    }
    if let Some(to) = f.to {
        sql.push(" AND activity_date_time <= ").push_bind(to);
    }
    if let Some(category) = &f.category {
        sql.push(" AND category = ").push_bind(category.clone());
    }
    if let Some(activity) = &f.activity {
        sql.push(" AND activity = ").push_bind(activity.clone());
    }
    if let Some(target) = f.target {
        sql.push(" AND target_ids @> ARRAY[")
            .push_bind(target)
            .push("]::uuid[]");
    }
}

/// A record as `ar_append_audit` (a migration's function) takes it: one
/// JSON value, so that the stop's function can carry it as one argument
/// and every writer maps an entry to columns here, once.
#[derive(serde::Serialize)]
pub(crate) struct AuditRecord<'a> {
    id: Uuid,
    activity_date_time: DateTime<Utc>,
    activity: &'a str,
    category: &'a str,
    operation_type: &'a str,
    correlation_id: Uuid,
    result: &'static str,
    result_reason: &'a str,
    initiator_kind: &'static str,
    initiator_id: Uuid,
    initiator_name: Option<&'a str>,
    initiator_upn: Option<&'a str>,
    target_kinds: Vec<&'static str>,
    target_ids: Vec<Uuid>,
    detail_keys: Vec<&'a str>,
    detail_values: Vec<&'a str>,
}

impl<'a> From<&'a AuditEntry> for AuditRecord<'a> {
    fn from(entry: &'a AuditEntry) -> Self {
        let (initiator_kind, id, name, upn) = match &entry.initiated_by {
            Initiator::User {
                id,
                display_name,
                user_principal_name,
            } => ("user", id, display_name, user_principal_name.as_deref()),
            Initiator::App {
                service_principal_id,
                display_name,
            } => ("app", service_principal_id, display_name, None),
        };
        let (detail_keys, detail_values) = entry
            .details
            .iter()
            .map(|(k, v)| (k.as_str(), v.as_str()))
            .unzip();
        Self {
            id: entry.id.as_uuid(),
            activity_date_time: entry.at,
            activity: &entry.activity,
            category: &entry.category,
            operation_type: &entry.operation_type,
            correlation_id: entry.correlation_id,
            result: entry.result.as_str(),
            result_reason: &entry.result_reason,
            initiator_kind,
            initiator_id: id.as_uuid(),
            initiator_name: name.as_deref(),
            initiator_upn: upn,
            target_kinds: entry.targets.iter().map(|t| t.kind.as_str()).collect(),
            target_ids: entry.targets.iter().map(|t| t.id).collect(),
            detail_keys,
            detail_values,
        }
    }
}

#[async_trait]
impl AuditTrail for PgRepository {
    async fn record(&self, entry: &AuditEntry) -> Result<(), RepositoryError> {
        // On the request path, after every write's answer: a kept
        // connection, as the reads and the stop use.
        let mut lease = self.lease().await.map_err(map_sqlx)?;
        sqlx::query("SELECT ar_append_audit($1)")
            .bind(Json(AuditRecord::from(entry)))
            .execute(&mut *lease)
            .await
            .map_err(map_sqlx)?;
        lease.finished();
        Ok(())
    }

    async fn audits(&self, query: &AuditQuery) -> Result<Page<AuditEntry>, RepositoryError> {
        let f = &query.filter;
        if f.logged_by
            .as_deref()
            .is_some_and(|l| l != access_reviews_domain::audit::LOGGED_BY)
        {
            return Ok(Page {
                items: Vec::new(),
                has_more: false,
                total: query.page.count().then_some(0),
            });
        }
        let mut sql = QueryBuilder::<Postgres>::new(format!(
            "SELECT {COLUMNS} FROM directory_audits WHERE true"
        ));
        filtered(&mut sql, f);
        sql.push(if query.oldest_first {
            " ORDER BY activity_date_time, seq"
        } else {
            " ORDER BY activity_date_time DESC, seq DESC"
        });
        let top = i64::from(query.page.top());
        sql.push(" LIMIT ")
            .push_bind(top + 1)
            .push(" OFFSET ")
            .push_bind(i64::try_from(query.page.skip()).unwrap_or(i64::MAX));
        let rows: Vec<AuditRow> = sql
            .build_query_as()
            .fetch_all(self.pool())
            .await
            .map_err(map_sqlx)?;
        let has_more = rows.len() > usize::from(query.page.top());
        let items = rows
            .into_iter()
            .take(usize::from(query.page.top()))
            .map(AuditEntry::try_from)
            .collect::<Result<_, _>>()?;
        let total = if query.page.count() {
            let mut count =
                QueryBuilder::<Postgres>::new("SELECT count(*) FROM directory_audits WHERE true");
            filtered(&mut count, f);
            let n: i64 = count
                .build_query_scalar()
                .fetch_one(self.pool())
                .await
                .map_err(map_sqlx)?;
            Some(u64::try_from(n).unwrap_or(0))
        } else {
            None
        };
        Ok(Page {
            items,
            has_more,
            total,
        })
    }

    async fn audit(&self, id: AuditId) -> Result<Option<AuditEntry>, RepositoryError> {
        let row: Option<AuditRow> = sqlx::query_as(sqlx::AssertSqlSafe(format!(
            "SELECT {COLUMNS} FROM directory_audits WHERE id = $1"
        )))
        .bind(id.as_uuid())
        .fetch_optional(self.pool())
        .await
        .map_err(map_sqlx)?;
        Ok(row.map(AuditEntry::try_from).transpose()?)
    }
}
