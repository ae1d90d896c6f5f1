//! Walking every page of a store listing: the one loop behind start-up
//! counts, the similarity index, learning and reports.

use super::ServiceError;
use crate::store::{Page, PageRequest, StoreError, MAX_PAGE_SIZE};

/// Calls `visit` with the items of every page of a listing, first page
/// first, in pages of the largest size the store allows. Use it instead of
/// [`all_items`] when the listing may be too large to hold at once.
pub(crate) fn for_each_page<T>(
    list: impl Fn(&PageRequest) -> Result<Page<T>, StoreError>,
    mut visit: impl FnMut(Vec<T>),
) -> Result<(), ServiceError> {
    let mut page = PageRequest {
        size: MAX_PAGE_SIZE,
        token: None,
    };
    loop {
        let got = list(&page)?;
        visit(got.items);
        match got.next_token {
            Some(t) => page.token = Some(t),
            None => return Ok(()),
        }
    }
}

/// Every item of a listing, in listing order.
pub(crate) fn all_items<T>(
    list: impl Fn(&PageRequest) -> Result<Page<T>, StoreError>,
) -> Result<Vec<T>, ServiceError> {
    let mut out = Vec::new();
    for_each_page(list, |items| out.extend(items))?;
    Ok(out)
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A listing of 0..n in pages of two, tokens being the next start.
    fn numbers(n: usize) -> impl Fn(&PageRequest) -> Result<Page<usize>, StoreError> {
        move |page| {
            let start: usize = page.token.as_deref().map_or(0, |t| t.parse().unwrap());
            let end = (start + 2).min(n);
            Ok(Page {
                items: (start..end).collect(),
                next_token: (end < n).then(|| end.to_string()),
            })
        }
    }

    #[test]
    fn every_page_is_read_in_order() {
        assert_eq!(all_items(numbers(5)).unwrap(), vec![0, 1, 2, 3, 4]);
        assert_eq!(all_items(numbers(0)).unwrap(), Vec::<usize>::new());
        let mut pages = 0;
        for_each_page(numbers(4), |_| pages += 1).unwrap();
        assert_eq!(pages, 2);
    }

    #[test]
    fn a_failing_page_fails_the_walk() {
        let failing = |page: &PageRequest| match page.token {
            None => Ok(Page {
                items: vec![1],
                next_token: Some("next".into()),
            }),
            Some(_) => Err(StoreError::BadPageToken),
        };
        assert!(matches!(
            all_items(failing),
            Err(ServiceError::Store(StoreError::BadPageToken))
        ));
    }
}
