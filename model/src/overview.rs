//! The Overview of "Users / DECT phones": each user beside the DECT phone bound to it, one
//! row each, filtered and sorted on the columns of both.
//!
//! A query names a user's column as it is (`num`) and a DECT phone's column with
//! [`DEVICE_PREFIX`] (`device.ipei`). A user without a DECT phone has, in the phone's columns,
//! the values of a phone record left at its defaults (Device ID 0, no text, IPEI
//! `00000 0000000 0`): a filter `device.ppn:eq:0` finds the users without one, and they sort
//! first.

use crate::query::{FieldValue, Queryable};
use crate::{Device, User};
use serde::{Deserialize, Serialize};

/// The prefix of a DECT phone's column in an Overview query.
pub const DEVICE_PREFIX: &str = "device.";

/// One row of the Overview.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize)]
pub struct OverviewRow {
    /// The user.
    pub user: User,
    /// The DECT phone bound to it, if any.
    pub device: Option<Device>,
}

impl Queryable for OverviewRow {
    /// The user's columns; a phone's are these of [`Device`] behind [`DEVICE_PREFIX`]
    /// ([`OverviewRow::knows`] accepts both).
    const COLUMNS: &'static [&'static str] = User::COLUMNS;

    fn field(&self, column: &str) -> Option<FieldValue<'_>> {
        match column.strip_prefix(DEVICE_PREFIX) {
            Some(column) => match &self.device {
                Some(device) => device.field(column),
                None => Device::default().field(column).map(FieldValue::into_owned),
            },
            None => self.user.field(column),
        }
    }

    fn knows(column: &str) -> bool {
        match column.strip_prefix(DEVICE_PREFIX) {
            Some(column) => Device::COLUMNS.contains(&column),
            None => User::COLUMNS.contains(&column),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::query::{Filter, FilterOp, Query, QueryError, SortDirection};

    fn row(uid: u32, ipei: Option<(u32, u32)>) -> OverviewRow {
        OverviewRow {
            user: User {
                uid,
                num: format!("{}", 100 + uid),
                ppn: if ipei.is_some() { uid } else { 0 },
                ..User::default()
            },
            device: ipei.map(|ipei| Device {
                ppn: uid,
                uid,
                ipei: crate::Ipei::new(ipei.0, ipei.1).expect("a valid IPEI"),
                ..Device::default()
            }),
        }
    }

    fn uids(query: &Query, rows: &[OverviewRow]) -> Vec<u32> {
        let page = query.run(rows.iter().cloned()).expect("a good query");
        page.items.iter().map(|r| r.user.uid).collect()
    }

    #[test]
    fn filters_and_sorts_on_the_phone_and_the_user_and_unbound_users_have_an_empty_phone() {
        let rows = [
            row(1, Some((77, 12345))),
            row(2, None),
            row(3, Some((13, 1))),
        ];
        let by_ipei = |sort| Query {
            sort_column: "device.ipei".into(),
            sort,
            limit: 10,
            ..Query::default()
        };
        assert_eq!(uids(&by_ipei(SortDirection::Ascending), &rows), [2, 3, 1]);
        assert_eq!(uids(&by_ipei(SortDirection::Descending), &rows), [1, 3, 2]);
        let filtered = |column: &str, op, value: &str| Query {
            filters: vec![Filter {
                column: column.into(),
                op,
                value: value.into(),
            }],
            limit: 10,
            ..Query::default()
        };
        assert_eq!(
            uids(
                &filtered("device.ipei", FilterOp::Contains, "0012345"),
                &rows
            ),
            [1]
        );
        assert_eq!(
            uids(&filtered("device.ppn", FilterOp::Equals, "0"), &rows),
            [2]
        );
        assert_eq!(
            uids(&filtered("device.ppn", FilterOp::Greater, "0"), &rows),
            [1, 3]
        );
        assert_eq!(uids(&filtered("num", FilterOp::Equals, "102"), &rows), [2]);
    }

    #[test]
    fn names_outside_both_records_are_refused() {
        for column in ["device.", "device.name", "ipei", "user.num", "devices.ipei"] {
            let query = Query {
                sort_column: column.into(),
                sort: SortDirection::Ascending,
                ..Query::default()
            };
            assert_eq!(
                query.compile::<OverviewRow>().unwrap_err(),
                QueryError::UnknownColumn(column.into()),
                "{column}"
            );
        }
    }
}
