//! Pages of rows: one query per page, asking one row more than the page
//! holds to learn whether another follows.

use access_reviews_domain::ports::RepositoryError;
use access_reviews_domain::query::{Page, PageRequest};

use crate::error::CorruptRow;

/// `LIMIT` and `OFFSET` for a page: one more than asked, to learn whether
/// more follow.
pub(crate) fn limits(page: PageRequest) -> (i64, i64) {
    (
        i64::from(page.top()) + 1,
        i64::try_from(page.skip()).unwrap_or(i64::MAX),
    )
}

/// The page of rows fetched with [`limits`], converted.
pub(crate) fn paged<R, T>(
    rows: Vec<R>,
    page: PageRequest,
    convert: impl Fn(R) -> Result<T, CorruptRow>,
) -> Result<Page<T>, RepositoryError> {
    let top = usize::from(page.top());
    let has_more = rows.len() > top;
    let items = rows
        .into_iter()
        .take(top)
        .map(convert)
        .collect::<Result<_, _>>()?;
    Ok(Page {
        items,
        has_more,
        total: None,
    })
}

/// How many rows `sql`, a page's statement that ends in
/// `LIMIT $n OFFSET $m`, selects without its page: the statement without
/// that end, counted, with the same arguments (the page's two stay bound,
/// unused).
pub(crate) async fn total(
    pool: &sqlx::PgPool,
    sql: &str,
    args: sqlx::postgres::PgArguments,
) -> Result<u64, RepositoryError> {
    let body = sql.rfind(" LIMIT $").map_or(sql, |at| &sql[..at]);
    let count = format!("SELECT count(*) FROM ({body}) counted");
    let n: i64 = sqlx::query_scalar_with(sqlx::AssertSqlSafe(count), args)
        .fetch_one(pool)
        .await
        .map_err(crate::error::map_sqlx)?;
    Ok(u64::try_from(n).unwrap_or(0))
}

/// Binds `value` to `args`.
pub(crate) fn bind<'q, T>(
    args: &mut sqlx::postgres::PgArguments,
    value: T,
) -> Result<(), RepositoryError>
where
    T: 'q + sqlx::Encode<'q, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>,
{
    use sqlx::Arguments as _;
    args.add(value).map_err(RepositoryError::Failed)
}

/// A page of what `sql` (ending in `LIMIT $n OFFSET $m`) selects with
/// `args` (the page's limit and offset among them, from [`limits`]),
/// converted; counted too when the page asks.
pub(crate) async fn fetch_page<R, T>(
    pool: &sqlx::PgPool,
    sql: String,
    args: sqlx::postgres::PgArguments,
    page: PageRequest,
    convert: impl Fn(R) -> Result<T, CorruptRow>,
) -> Result<Page<T>, RepositoryError>
where
    R: for<'r> sqlx::FromRow<'r, sqlx::postgres::PgRow> + Send + Unpin,
{
    let rows: Vec<R> = sqlx::query_as_with(sqlx::AssertSqlSafe(sql.clone()), args.clone())
        .fetch_all(pool)
        .await
        .map_err(crate::error::map_sqlx)?;
    let mut found = paged(rows, page, convert)?;
    if page.count() {
        found.total = Some(total(pool, &sql, args).await?);
    }
    Ok(found)
}
