//! Paging and filtering of collections.

use crate::status::ReviewStatus;

/// One page of a collection: `$top` and `$skip`.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    top: u16,
    skip: u64,
    /// `$count=true`: the page also says how many items the whole
    /// collection holds.
    count: bool,
}

/// `$top` outside 1 to [`PageRequest::MAX_TOP`].
#[derive(Debug, Clone, PartialEq, Eq, thiserror::Error)]
#[error("page size must be between 1 and {max}", max = PageRequest::MAX_TOP)]
pub struct InvalidPageSize;

impl PageRequest {
    /// Page size when the client gives none.
    pub const DEFAULT_TOP: u16 = 100;
    /// Largest page a client may ask for.
    pub const MAX_TOP: u16 = 999;

    /// Checks 1 ≤ `top` ≤ [`Self::MAX_TOP`].
    pub fn new(top: Option<i64>, skip: u64) -> Result<Self, InvalidPageSize> {
        let top = match top {
            None => Self::DEFAULT_TOP,
            Some(top) => u16::try_from(top)
                .ok()
                .filter(|t| (1..=Self::MAX_TOP).contains(t))
                .ok_or(InvalidPageSize)?,
        };
        Ok(Self {
            top,
            skip,
            count: false,
        })
    }

    /// The same page, counting the whole collection too.
    #[must_use]
    pub const fn counted(mut self) -> Self {
        self.count = true;
        self
    }

    /// Whether the whole collection is counted.
    pub const fn count(self) -> bool {
        self.count
    }

    /// Items on the page.
    pub const fn top(self) -> u16 {
        self.top
    }

    /// Items before the page.
    pub const fn skip(self) -> u64 {
        self.skip
    }

    /// The request for the page after this one.
    pub fn next(self) -> Self {
        Self {
            top: self.top,
            skip: self.skip.saturating_add(u64::from(self.top)),
            count: self.count,
        }
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        Self {
            top: Self::DEFAULT_TOP,
            skip: 0,
            count: false,
        }
    }
}

/// What a list asks for: an optional `status eq` filter, an order and a
/// page; for definitions also a text their scope's query contains.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct ListQuery {
    /// Only objects with this status.
    pub status: Option<ReviewStatus>,
    /// Which page.
    pub page: PageRequest,
    /// `$orderby`; creation order when `None`.
    pub order: Option<Order>,
    /// Definitions only: `contains(scope/…/query, '…')`.
    pub scope_contains: Option<String>,
}

/// What a list is sorted by (`$orderby`), ties broken by creation order.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Order {
    /// The property.
    pub key: OrderKey,
    /// `desc`.
    pub descending: bool,
}

/// The properties lists sort by.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum OrderKey {
    /// `displayName` (definitions), case-insensitively.
    DisplayName,
    /// `createdDateTime` (definitions).
    Created,
    /// `reviewedDateTime` (decision items); never-reviewed items last.
    Reviewed,
}

/// One page of results, in a stable order (creation time, then id).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Page<T> {
    /// The items.
    pub items: Vec<T>,
    /// Whether another page follows.
    pub has_more: bool,
    /// How many items the whole collection holds, when the request asked
    /// ([`PageRequest::count`]).
    pub total: Option<u64>,
}

impl<T> Page<T> {
    /// The requested page of items already in memory, in their order.
    pub fn of(items: impl IntoIterator<Item = T>, page: PageRequest) -> Self {
        let skip = usize::try_from(page.skip()).unwrap_or(usize::MAX);
        let top = usize::from(page.top());
        let all: Vec<T> = items.into_iter().collect();
        let total = page.count().then_some(all.len() as u64);
        let mut items: Vec<T> = all.into_iter().skip(skip).take(top + 1).collect();
        let has_more = items.len() > top;
        items.truncate(top);
        Self {
            items,
            has_more,
            total,
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_default_page_is_the_first_hundred() {
        let page = PageRequest::new(None, 0).unwrap();
        assert_eq!((page.top(), page.skip()), (100, 0));
        assert_eq!(page, PageRequest::default());
    }

    #[test]
    fn page_size_must_be_between_1_and_999() {
        for bad in [0, -1, 1000, i64::MAX] {
            assert_eq!(
                PageRequest::new(Some(bad), 0),
                Err(InvalidPageSize),
                "{bad}"
            );
        }
        assert_eq!(PageRequest::new(Some(999), 5).unwrap().top(), 999);
        assert_eq!(PageRequest::new(Some(1), 5).unwrap().skip(), 5);
    }

    #[test]
    fn a_counted_page_says_how_many_the_whole_collection_holds() {
        let counted = PageRequest::new(Some(2), 1).unwrap().counted();
        let page = Page::of(1..=5, counted);
        assert_eq!((page.items, page.total), (vec![2, 3], Some(5)));
        assert!(counted.next().count(), "the next page counts too");
        assert_eq!(Page::of(1..=5, PageRequest::default()).total, None);
    }

    #[test]
    fn a_page_of_items_in_memory_says_whether_more_follow() {
        let page = |top, skip| Page::of(1..=5, PageRequest::new(Some(top), skip).unwrap());
        assert_eq!(
            page(2, 0),
            Page {
                items: vec![1, 2],
                has_more: true,
                total: None
            }
        );
        assert_eq!(
            page(2, 3),
            Page {
                items: vec![4, 5],
                has_more: false,
                total: None
            }
        );
        assert_eq!(
            page(2, 9),
            Page {
                items: vec![],
                has_more: false,
                total: None
            }
        );
    }

    #[test]
    fn the_next_page_skips_the_current_one() {
        let next = PageRequest::new(Some(10), 20).unwrap().next();
        assert_eq!((next.top(), next.skip()), (10, 30));
    }
}
