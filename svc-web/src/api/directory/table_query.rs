//! The table queries of the Users, Devices and Overview views: paging, 3-state sort,
//! filters with operators and a column choice, parsed from the query string; and a record
//! as the API shows it, its secrets redacted.

use crate::audit;
use crate::error::{ApiError, ApiResult};
use model::{Filter, FilterOp, Page, Query, SortDirection, MAX_PAGE};
use serde::Serialize;
use utoipa::ToSchema;

/// Parses a table query: `offset`, `limit` (1 to 1000, default 100), `sort=<column>`,
/// `order=asc|desc|none`, `filter=<column>:<op>:<value>` (repeatable; op one of `eq`, `ne`,
/// `contains`, `starts`, `lt`, `gt`), `columns=a,b,c` (the fields to return).
///
/// # Errors
/// 400 naming the parameter.
pub fn parse_query(
    raw: Option<&str>,
    columns_of: &[&str],
) -> ApiResult<(Query, Option<Vec<String>>)> {
    let mut query = Query {
        limit: 100,
        ..Query::default()
    };
    let mut columns = None;
    for (key, value) in form_urlencoded::parse(raw.unwrap_or("").as_bytes()) {
        match key.as_ref() {
            "offset" => {
                query.offset = value.parse().map_err(|_| {
                    ApiError::bad_request(format!("offset {value:?} is not a number"))
                })?;
            }
            "limit" => {
                query.limit = value
                    .parse()
                    .ok()
                    .filter(|n| (1..=MAX_PAGE).contains(n))
                    .ok_or_else(|| {
                        ApiError::bad_request(format!(
                            "page size {value:?} is not between 1 and {MAX_PAGE}"
                        ))
                    })?;
            }
            "sort" => query.sort_column = value.into_owned(),
            "order" => {
                query.sort = match value.as_ref() {
                    "asc" => SortDirection::Ascending,
                    "desc" => SortDirection::Descending,
                    "none" => SortDirection::None,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "order {other:?} is not asc, desc or none"
                        )))
                    }
                };
            }
            "filter" => {
                let mut parts = value.splitn(3, ':');
                let (Some(column), Some(op), Some(text)) =
                    (parts.next(), parts.next(), parts.next())
                else {
                    return Err(ApiError::bad_request(format!(
                        "filter {value:?} is not column:op:value"
                    )));
                };
                let op = match op {
                    "eq" => FilterOp::Equals,
                    "ne" => FilterOp::NotEquals,
                    "contains" => FilterOp::Contains,
                    "starts" => FilterOp::StartsWith,
                    "lt" => FilterOp::Less,
                    "gt" => FilterOp::Greater,
                    other => {
                        return Err(ApiError::bad_request(format!(
                            "filter operator {other:?} is not eq, ne, contains, starts, lt or gt"
                        )))
                    }
                };
                query.filters.push(Filter {
                    column: column.to_owned(),
                    op,
                    value: text.to_owned(),
                });
            }
            "columns" => {
                let list: Vec<String> = value
                    .split(',')
                    .filter(|c| !c.is_empty())
                    .map(str::to_owned)
                    .collect();
                if let Some(bad) = list.iter().find(|c| !columns_of.contains(&c.as_str())) {
                    return Err(ApiError::bad_request(format!("unknown column {bad:?}")));
                }
                columns = Some(list);
            }
            other => {
                return Err(ApiError::bad_request(format!(
                    "unknown query parameter {other:?}"
                )))
            }
        }
    }
    if query.sort != SortDirection::None && query.sort_column.is_empty() {
        return Err(ApiError::bad_request(
            "order asc or desc needs sort=<column>",
        ));
    }
    Ok((query, columns))
}

/// A page of rows, optionally only some columns of each.
#[derive(Debug, Serialize, ToSchema)]
pub struct Rows {
    /// Rows matching the filters, before paging.
    pub total: u64,
    /// The rows of this page (objects with the chosen columns).
    pub items: Vec<serde_json::Value>,
}

/// A record as the API shows it: its secrets (PIN, SIP and other passwords) are never
/// returned, only whether they are set (as [`audit::REDACTED`]).
pub(super) fn shown<T: Serialize>(record: &T) -> ApiResult<serde_json::Value> {
    serde_json::to_value(record)
        .map(audit::redact)
        .map_err(|e| ApiError::internal(e.to_string()))
}

pub(super) fn rows<T: Serialize>(page: Page<T>, columns: Option<&[String]>) -> ApiResult<Rows> {
    let items = page
        .items
        .iter()
        .map(|item| {
            let mut value = shown(item)?;
            if let (Some(columns), serde_json::Value::Object(map)) = (columns, &mut value) {
                map.retain(|k, _| columns.iter().any(|c| c == k));
            }
            Ok(value)
        })
        .collect::<ApiResult<_>>()?;
    Ok(Rows {
        total: page.total,
        items,
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Queryable, User};

    #[test]
    fn a_table_query_is_parsed_and_bad_parameters_are_named() {
        let (q, cols) = parse_query(
            Some(
                "offset=50&limit=25&sort=num&order=desc&filter=name:contains:a%3Ab&columns=uid,num",
            ),
            User::COLUMNS,
        )
        .unwrap();
        assert_eq!(
            (q.offset, q.limit, q.sort_column.as_str(), q.sort),
            (50, 25, "num", SortDirection::Descending)
        );
        assert_eq!(q.filters[0].value, "a:b");
        assert_eq!(cols.unwrap(), vec!["uid", "num"]);
        for (raw, needle) in [
            ("limit=0", "page size"),
            ("limit=5000", "page size"),
            ("limit=x", "page size"),
            ("order=up", "order"),
            ("order=asc", "sort=<column>"),
            ("filter=name", "column:op:value"),
            ("filter=name:like:x", "operator"),
            ("columns=nope", "unknown column"),
            ("bogus=1", "unknown query parameter"),
        ] {
            let e = parse_query(Some(raw), User::COLUMNS).unwrap_err();
            assert!(e.message.contains(needle), "{raw}: {}", e.message);
        }
    }
}
