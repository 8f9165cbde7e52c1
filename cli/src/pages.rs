//! Which rows a list shows (`--offset`, `--limit`, `--all`), read a store page at a time.

use crate::client::{store, why};
use ipc::store_client::{Result as Answer, Store};
use model::Query;
use std::future::Future;
use std::path::Path;
use std::pin::Pin;

/// A page the store is asked for.
type PageFuture<'a, T> = Pin<Box<dyn Future<Output = Answer<model::Page<T>>> + Send + 'a>>;

/// Which rows a list shows.
#[derive(Debug, Clone, clap::Args)]
pub struct Pages {
    /// Rows to skip.
    #[arg(long, default_value_t = 0)]
    offset: u32,
    /// Rows to show at most.
    #[arg(long, default_value_t = 100)]
    limit: u32,
    /// Every row from the offset on, page by page (no limit).
    #[arg(long, conflicts_with = "limit")]
    all: bool,
}

/// Reads the rows `pages` asks for, a store page (at most `model::MAX_PAGE`) at a time;
/// returns them with the total the store counts.
pub(crate) async fn paged<T>(
    socket: &Path,
    pages: &Pages,
    query: Query,
    page_of: for<'a> fn(&'a Store, Query) -> PageFuture<'a, T>,
) -> Result<(Vec<T>, u64), String> {
    let store = store(socket).await?;
    let wanted = if pages.all {
        u64::MAX
    } else {
        u64::from(pages.limit)
    };
    let mut out = Vec::new();
    let mut offset = pages.offset;
    loop {
        let left = wanted.saturating_sub(out.len() as u64);
        let limit = u32::try_from(left.min(u64::from(model::MAX_PAGE))).unwrap_or(model::MAX_PAGE);
        if limit == 0 {
            return Ok((out, u64::MAX));
        }
        let q = Query {
            offset,
            limit,
            ..query.clone()
        };
        let page = page_of(&store, q).await.map_err(why)?;
        let got = page.items.len();
        out.extend(page.items);
        offset = offset.saturating_add(u32::try_from(got).unwrap_or(u32::MAX));
        if got == 0 || out.len() as u64 >= wanted || u64::from(offset) >= page.total {
            return Ok((out, page.total));
        }
    }
}
