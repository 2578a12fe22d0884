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
    Ok(Page { items, has_more })
}
