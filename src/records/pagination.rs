//! Pages of auths, and the pagination block Okra sends with every list
//! (mongoose-paginate-v2's, as Okra's Auth samples show it: `prevPage` and
//! `nextPage` only when those pages exist, `totalPages` at least 1).

use serde::ser::{SerializeMap, Serializer};
use serde::Serialize;

/// The page size when a request names none (Okra's documented default).
pub const DEFAULT_LIMIT: u64 = 10;
/// The largest page served: a bigger `limit` is served as this, and the
/// block echoes the limit actually applied.
pub const MAX_LIMIT: u64 = 100;

/// Which page to read: `page` is 1-based, `limit` at least 1.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PageRequest {
    page: u64,
    limit: u64,
}

impl PageRequest {
    /// Page `page` of `limit` items, the limit capped at [`MAX_LIMIT`];
    /// `None` when `page` or `limit` is 0.
    pub fn new(page: u64, limit: u64) -> Option<PageRequest> {
        if page == 0 || limit == 0 {
            return None;
        }
        Some(PageRequest {
            page,
            limit: limit.min(MAX_LIMIT),
        })
    }

    /// The 1-based page.
    pub fn page(self) -> u64 {
        self.page
    }

    /// Items per page, as applied.
    pub fn limit(self) -> u64 {
        self.limit
    }

    /// Items before this page, saturating (a page far past the end reads
    /// nothing rather than overflowing).
    pub fn offset(self) -> u64 {
        (self.page - 1).saturating_mul(self.limit)
    }
}

impl Default for PageRequest {
    fn default() -> Self {
        PageRequest {
            page: 1,
            limit: DEFAULT_LIMIT,
        }
    }
}

/// The pagination block for `request` over `total_docs` matches.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Pagination {
    /// Matches across all pages.
    pub total_docs: u64,
    /// The page size applied.
    pub limit: u64,
    /// The page served (1-based; may be past the last, then empty).
    pub page: u64,
}

impl Pagination {
    /// The block for `request` over `total_docs` matches.
    pub fn new(request: PageRequest, total_docs: u64) -> Pagination {
        Pagination {
            total_docs,
            limit: request.limit,
            page: request.page,
        }
    }

    /// `ceil(totalDocs / limit)`, at least 1.
    pub fn total_pages(&self) -> u64 {
        self.total_docs.div_ceil(self.limit.max(1)).max(1)
    }

    /// The 1-based position of this page's first item.
    pub fn paging_counter(&self) -> u64 {
        (self.page - 1).saturating_mul(self.limit).saturating_add(1)
    }

    /// `page > 1`.
    pub fn has_prev_page(&self) -> bool {
        self.page > 1
    }

    /// `page < totalPages`.
    pub fn has_next_page(&self) -> bool {
        self.page < self.total_pages()
    }
}

impl Serialize for Pagination {
    /// Okra's key order: `totalDocs, limit, hasPrevPage, hasNextPage, page,
    /// totalPages, pagingCounter`, then `prevPage` and `nextPage` when they
    /// exist (omitted, not `null`).
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        let mut map = serializer.serialize_map(None)?;
        map.serialize_entry("totalDocs", &self.total_docs)?;
        map.serialize_entry("limit", &self.limit)?;
        map.serialize_entry("hasPrevPage", &self.has_prev_page())?;
        map.serialize_entry("hasNextPage", &self.has_next_page())?;
        map.serialize_entry("page", &self.page)?;
        map.serialize_entry("totalPages", &self.total_pages())?;
        map.serialize_entry("pagingCounter", &self.paging_counter())?;
        if self.has_prev_page() {
            map.serialize_entry("prevPage", &(self.page - 1))?;
        }
        if self.has_next_page() {
            map.serialize_entry("nextPage", &(self.page + 1))?;
        }
        map.end()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn block(total: u64, page: u64, limit: u64) -> String {
        let p = Pagination::new(PageRequest::new(page, limit).unwrap(), total);
        serde_json::to_string(&p).unwrap()
    }

    #[test]
    fn okras_worked_values_five_docs_two_per_page() {
        assert_eq!(
            block(5, 1, 2),
            r#"{"totalDocs":5,"limit":2,"hasPrevPage":false,"hasNextPage":true,"page":1,"totalPages":3,"pagingCounter":1,"nextPage":2}"#
        );
        assert_eq!(
            block(5, 2, 2),
            r#"{"totalDocs":5,"limit":2,"hasPrevPage":true,"hasNextPage":true,"page":2,"totalPages":3,"pagingCounter":3,"prevPage":1,"nextPage":3}"#
        );
        assert_eq!(
            block(5, 3, 2),
            r#"{"totalDocs":5,"limit":2,"hasPrevPage":true,"hasNextPage":false,"page":3,"totalPages":3,"pagingCounter":5,"prevPage":2}"#
        );
    }

    #[test]
    fn nothing_found_is_still_one_page_and_limits_are_capped() {
        assert_eq!(
            block(0, 1, 10),
            r#"{"totalDocs":0,"limit":10,"hasPrevPage":false,"hasNextPage":false,"page":1,"totalPages":1,"pagingCounter":1}"#
        );
        assert_eq!(PageRequest::new(1, 1000).unwrap().limit(), MAX_LIMIT);
        assert_eq!(PageRequest::new(0, 10), None);
        assert_eq!(PageRequest::new(1, 0), None);
        assert_eq!(PageRequest::new(u64::MAX, 100).unwrap().offset(), u64::MAX);
    }
}
