//! In-memory column copies of the user and device tables.
//!
//! A filtered, sorted page over 50,000 users must cost a few milliseconds, and decoding every
//! stored record for each query costs more than that. So the store keeps the queryable
//! columns of these two tables in memory, column by column (numbers in a `Vec<u64>`, text in
//! one arena per column with 8-byte spans), filters and sorts there, and reads from LMDB only
//! the records of the page.
//!
//! A column is built the first time a query filters or sorts on it (one pass over the
//! records) and kept up to date after every commit from then on: the tables have some 80
//! columns, a UI uses a handful, and every column of 50,000 rows costs about 0.4 MB.

use model::{CompiledFilter, FieldValue, Query, QueryError, Queryable};
use std::borrow::Cow;
use std::collections::{HashMap, HashSet};

/// Garbage in a text arena that triggers its compaction (and at least half of it).
const COMPACT_AFTER: usize = 1 << 20;

#[derive(Debug, Default)]
enum Column {
    /// No row yet.
    #[default]
    Empty,
    Int(Vec<u64>),
    Bool(Vec<bool>),
    Text {
        spans: Vec<(u32, u32)>,
        arena: String,
        garbage: usize,
    },
}

impl Column {
    fn push(&mut self, value: FieldValue<'_>) {
        if matches!(self, Column::Empty) {
            *self = match value {
                FieldValue::Int(_) => Column::Int(Vec::new()),
                FieldValue::Bool(_) => Column::Bool(Vec::new()),
                FieldValue::Text(_) => Column::Text {
                    spans: Vec::new(),
                    arena: String::new(),
                    garbage: 0,
                },
            };
        }
        match (self, value) {
            (Column::Int(v), FieldValue::Int(n)) => v.push(n),
            (Column::Bool(v), FieldValue::Bool(b)) => v.push(b),
            (Column::Text { spans, arena, .. }, FieldValue::Text(t)) => {
                spans.push(append(arena, &t))
            }
            // A column has one kind for every record of a type; anything else is a bug.
            (column, value) => unreachable!("column kind mismatch: {column:?} <- {value:?}"),
        }
    }

    fn set(&mut self, row: usize, value: FieldValue<'_>) {
        match (self, value) {
            (Column::Int(v), FieldValue::Int(n)) => v[row] = n,
            (Column::Bool(v), FieldValue::Bool(b)) => v[row] = b,
            (
                Column::Text {
                    spans,
                    arena,
                    garbage,
                },
                FieldValue::Text(t),
            ) => {
                if text(arena, spans[row]) != t {
                    *garbage += spans[row].1 as usize;
                    spans[row] = append(arena, &t);
                }
            }
            (column, value) => unreachable!("column kind mismatch: {column:?} <- {value:?}"),
        }
    }

    fn swap_remove(&mut self, row: usize) {
        match self {
            Column::Empty => {}
            Column::Int(v) => {
                v.swap_remove(row);
            }
            Column::Bool(v) => {
                v.swap_remove(row);
            }
            Column::Text { spans, garbage, .. } => {
                *garbage += spans.swap_remove(row).1 as usize;
            }
        }
    }

    fn get(&self, row: usize) -> FieldValue<'_> {
        match self {
            Column::Empty => FieldValue::Int(0),
            Column::Int(v) => FieldValue::Int(v[row]),
            Column::Bool(v) => FieldValue::Bool(v[row]),
            Column::Text { spans, arena, .. } => {
                FieldValue::Text(Cow::Borrowed(text(arena, spans[row])))
            }
        }
    }

    fn shrink_to_fit(&mut self) {
        match self {
            Column::Empty => {}
            Column::Int(v) => v.shrink_to_fit(),
            Column::Bool(v) => v.shrink_to_fit(),
            Column::Text { spans, arena, .. } => {
                spans.shrink_to_fit();
                arena.shrink_to_fit();
            }
        }
    }

    fn compact_if_worth_it(&mut self) {
        if let Column::Text {
            spans,
            arena,
            garbage,
        } = self
        {
            if *garbage > COMPACT_AFTER && *garbage * 2 > arena.len() {
                let mut fresh = String::with_capacity(arena.len() - *garbage);
                for span in spans.iter_mut() {
                    let t = text(arena, *span).to_owned();
                    *span = append(&mut fresh, &t);
                }
                *arena = fresh;
                *garbage = 0;
            }
        }
    }
}

fn append(arena: &mut String, t: &str) -> (u32, u32) {
    let start = u32::try_from(arena.len()).unwrap_or(u32::MAX);
    arena.push_str(t);
    (start, u32::try_from(t.len()).unwrap_or(u32::MAX))
}

fn text(arena: &str, (start, len): (u32, u32)) -> &str {
    &arena[start as usize..start as usize + len as usize]
}

/// The ids of the rows that hold each value of one numeric or yes/no column (1 and 0 for
/// yes and no): an equality filter on it visits only those rows.
type Postings = HashMap<u64, HashSet<u32>>;

/// The key by which [`Postings`] file a value; `None` for text.
fn posting_key(value: &FieldValue<'_>) -> Option<u64> {
    match value {
        FieldValue::Int(n) => Some(*n),
        FieldValue::Bool(b) => Some(u64::from(*b)),
        FieldValue::Text(_) => None,
    }
}

/// Row number `row` as stored in the id → row map.
fn row_number(row: usize) -> u32 {
    // A table's rows are records with `u32` ids, so their count fits.
    u32::try_from(row).unwrap_or(u32::MAX)
}

/// The queryable columns of every record of one table.
#[derive(Debug)]
pub struct ColumnTable {
    names: &'static [&'static str],
    index: HashMap<&'static str, usize>,
    ids: Vec<u32>,
    /// Each id's row (a `u32`: a table holds fewer than 2³² rows, and at 500,000 rows the
    /// map is 8 MB smaller than with `usize`).
    rows: HashMap<u32, u32>,
    /// `None` until a query needs the column.
    columns: Vec<Option<Column>>,
    /// For each column: whether it keeps [`Postings`] (see [`ColumnTable::with_postings`]).
    indexed: Vec<bool>,
    /// The postings of each indexed column, built with the column.
    postings: Vec<Option<Postings>>,
    /// Each column's value in a record left at its defaults: what a joined row without a
    /// partner shows (see [`Join`]).
    defaults: Vec<FieldValue<'static>>,
}

/// A second table joined to each row of a query: the row of `table` whose id is the value of
/// the first table's column `via` (a user's `ppn` → its DECT phone). A query names its
/// columns with `prefix`; a row with no partner shows `table`'s defaults there.
#[derive(Clone, Copy)]
pub struct Join<'a> {
    /// The joined table.
    pub table: &'a ColumnTable,
    /// The column of the first table that holds the partner's id.
    pub via: &'static str,
    /// How a query names the joined table's columns.
    pub prefix: &'static str,
}

/// A filter's column found once per query: its table, its number there, and whether it is
/// the joined table's; `None` for a column no table has.
type Resolved<'a> = (&'a str, Option<(&'a ColumnTable, usize, bool)>);

/// A text filter's test on one text column: its spans and arena, the operator and the
/// lower-cased value.
type TextTest<'a> = (&'a [(u32, u32)], &'a str, model::FilterOp, &'a str);

/// One row seen as a record, for the filters: a row of a table and, in a joined query, the
/// row of its partner.
struct Row<'a> {
    table: &'a ColumnTable,
    row: usize,
    join: Option<(Join<'a>, Option<usize>)>,
    /// The filters' columns, found once for the whole query.
    resolved: &'a [Resolved<'a>],
}

impl<'a> Row<'a> {
    /// The value of `column` (a joined one by its prefix), borrowed from the tables.
    fn value(&self, column: &str) -> Option<FieldValue<'a>> {
        // A filter's column: compared by name with the few filters', not looked up in the
        // index (which hashes the name) for every row.
        for (name, at) in self.resolved {
            if *name == column {
                let (table, c, joined) = (*at)?;
                let row = if joined {
                    self.join.and_then(|(_, partner)| partner)
                } else {
                    Some(self.row)
                };
                return table.value_at(c, row);
            }
        }
        if let Some((join, partner)) = self.join {
            if let Some(column) = column.strip_prefix(join.prefix) {
                return join.table.value(column, partner);
            }
        }
        self.table.value(column, Some(self.row))
    }
}

impl Queryable for Row<'_> {
    const COLUMNS: &'static [&'static str] = &[];
    fn field(&self, column: &str) -> Option<FieldValue<'_>> {
        self.value(column)
    }
}

impl ColumnTable {
    /// An empty table for records of type `T`.
    #[must_use]
    pub fn new<T: Queryable + Default>() -> Self {
        let empty = T::default();
        Self {
            names: T::COLUMNS,
            index: T::COLUMNS
                .iter()
                .enumerate()
                .map(|(i, n)| (*n, i))
                .collect(),
            ids: Vec::new(),
            rows: HashMap::new(),
            columns: T::COLUMNS.iter().map(|_| None).collect(),
            indexed: vec![false; T::COLUMNS.len()],
            postings: T::COLUMNS.iter().map(|_| None).collect(),
            defaults: T::COLUMNS
                .iter()
                .map(|n| {
                    empty
                        .field(n)
                        .map_or(FieldValue::Int(0), FieldValue::into_owned)
                })
                .collect(),
        }
    }

    /// The same table, keeping [`Postings`] for `columns` once they are built: the numeric
    /// or yes/no columns that services select rows by (a user's OMM), where scanning every
    /// row per lookup would make each OMM's import cost grow with all the others' records.
    #[must_use]
    pub fn with_postings(mut self, columns: &[&str]) -> Self {
        for name in columns {
            if let Some(&c) = self.index.get(name) {
                self.indexed[c] = true;
            }
        }
        self
    }

    /// Files record `id` under `value` in column `c`'s postings, if it keeps any.
    fn post(&mut self, c: usize, id: u32, value: &FieldValue<'_>) {
        if let (Some(postings), Some(key)) = (self.postings[c].as_mut(), posting_key(value)) {
            postings.entry(key).or_default().insert(id);
        }
    }

    /// Takes record `id` out from under `value` in column `c`'s postings, if it keeps any.
    fn unpost(&mut self, c: usize, id: u32, value: &FieldValue<'_>) {
        if let (Some(postings), Some(key)) = (self.postings[c].as_mut(), posting_key(value)) {
            if let Some(ids) = postings.get_mut(&key) {
                ids.remove(&id);
                if ids.is_empty() {
                    postings.remove(&key);
                }
            }
        }
    }

    /// The value of `column` in `row`, or its default for no row; `None` for a column the
    /// table does not have or has not built.
    fn value(&self, column: &str, row: Option<usize>) -> Option<FieldValue<'_>> {
        self.value_at(*self.index.get(column)?, row)
    }

    /// As [`ColumnTable::value`], for column number `c`.
    fn value_at(&self, c: usize, row: Option<usize>) -> Option<FieldValue<'_>> {
        let built = self.columns[c].as_ref()?;
        Some(match row {
            Some(row) => built.get(row),
            None => self.defaults[c].clone(),
        })
    }

    /// Whether column `name` is built.
    #[must_use]
    pub fn is_built(&self, name: &str) -> bool {
        self.index
            .get(name)
            .is_some_and(|&c| self.columns[c].is_some())
    }

    /// The row of record `id`, if the table has it.
    fn row_of(&self, id: u32) -> Option<usize> {
        self.rows.get(&id).map(|&row| row as usize)
    }

    /// Number of rows.
    #[must_use]
    pub fn len(&self) -> usize {
        self.ids.len()
    }

    /// Whether the table is empty.
    #[must_use]
    pub fn is_empty(&self) -> bool {
        self.ids.is_empty()
    }

    /// Adds a row for record `id` when no column is built yet (at start, from the keys).
    pub fn add_id(&mut self, id: u32) {
        debug_assert!(self.columns.iter().all(Option::is_none));
        if !self.rows.contains_key(&id) {
            self.rows.insert(id, row_number(self.ids.len()));
            self.ids.push(id);
        }
    }

    /// Adds or replaces the row of record `id`.
    pub fn upsert<T: Queryable>(&mut self, id: u32, record: &T) {
        let names = self.names;
        let row = self.row_of(id);
        if row.is_none() {
            self.rows.insert(id, row_number(self.ids.len()));
            self.ids.push(id);
        }
        for (c, name) in names.iter().enumerate() {
            if self.columns[c].is_none() {
                continue;
            }
            let value = match (row, record.field(name)) {
                (Some(row), Some(value)) => {
                    if self.postings[c].is_some() {
                        let old = self.columns[c].as_ref().map(|column| column.get(row));
                        let moved = old.as_ref().and_then(posting_key) != posting_key(&value);
                        if let (true, Some(old)) = (moved, old.map(FieldValue::into_owned)) {
                            self.unpost(c, id, &old);
                            self.post(c, id, &value);
                        }
                    }
                    value
                }
                (Some(_), None) => continue,
                (None, value) => {
                    let value = value.unwrap_or(FieldValue::Int(0));
                    self.post(c, id, &value);
                    value
                }
            };
            if let Some(column) = self.columns[c].as_mut() {
                match row {
                    Some(row) => column.set(row, value),
                    None => column.push(value),
                }
            }
        }
        self.columns
            .iter_mut()
            .flatten()
            .for_each(Column::compact_if_worth_it);
    }

    /// The columns `query` filters or sorts on that are not built yet (for a joined table,
    /// the names behind `prefix`; "" for the first table).
    #[must_use]
    pub fn missing(&self, query: &Query, prefix: &str) -> Vec<&'static str> {
        let sort = (query.sort != model::SortDirection::None).then_some(query.sort_column.as_str());
        let mut out: Vec<&'static str> = Vec::new();
        let names = query.filters.iter().map(|f| f.column.as_str()).chain(sort);
        for name in names.filter_map(|n| n.strip_prefix(prefix)) {
            if let Some(&c) = self.index.get(name) {
                if self.columns[c].is_none() && !out.contains(&self.names[c]) {
                    out.push(self.names[c]);
                }
            }
        }
        out
    }

    /// Builds columns `names` from the records, fetched by id in row order.
    ///
    /// # Errors
    /// The first error of `fetch`; nothing is built then.
    pub fn build<T: Queryable, E>(
        &mut self,
        names: &[&str],
        mut fetch: impl FnMut(u32) -> Result<T, E>,
    ) -> Result<(), E> {
        let wanted: Vec<usize> = names
            .iter()
            .filter_map(|n| self.index.get(n).copied())
            .filter(|c| self.columns[*c].is_none())
            .collect();
        if wanted.is_empty() {
            return Ok(());
        }
        let mut built: Vec<Column> = wanted.iter().map(|_| Column::Empty).collect();
        for &id in &self.ids {
            let record = fetch(id)?;
            for (column, &c) in built.iter_mut().zip(&wanted) {
                column.push(record.field(self.names[c]).unwrap_or(FieldValue::Int(0)));
            }
        }
        for (mut column, c) in built.into_iter().zip(wanted) {
            column.shrink_to_fit();
            if self.indexed[c] {
                let mut postings = Postings::new();
                for (row, &id) in self.ids.iter().enumerate() {
                    if let Some(key) = posting_key(&column.get(row)) {
                        postings.entry(key).or_default().insert(id);
                    }
                }
                self.postings[c] = Some(postings);
            }
            self.columns[c] = Some(column);
        }
        Ok(())
    }

    /// Removes the row of record `id`, if any.
    pub fn remove(&mut self, id: u32) {
        let Some(row) = self.rows.remove(&id).map(|row| row as usize) else {
            return;
        };
        for c in 0..self.columns.len() {
            if self.postings[c].is_some() {
                if let Some(value) = self.columns[c].as_ref().map(|column| column.get(row)) {
                    let value = value.into_owned();
                    self.unpost(c, id, &value);
                }
            }
        }
        self.ids.swap_remove(row);
        for column in self.columns.iter_mut().flatten() {
            column.swap_remove(row);
        }
        if let Some(moved) = self.ids.get(row) {
            self.rows.insert(*moved, row_number(row));
        }
        self.columns
            .iter_mut()
            .flatten()
            .for_each(Column::compact_if_worth_it);
    }

    /// The rows a query must look at: those its first equality filter on a column with
    /// postings finds (unordered: the query orders its keys), or else every row.
    fn candidates(&self, filters: &[CompiledFilter]) -> Box<dyn Iterator<Item = usize> + '_> {
        for f in filters {
            let found = self.index.get(f.column()).and_then(|&c| {
                let postings = self.postings[c].as_ref()?;
                let flag = matches!(self.columns[c], Some(Column::Bool(_)));
                Some((postings, f.equals_key(flag)?))
            });
            if let Some((postings, key)) = found {
                return Box::new(
                    postings
                        .get(&key)
                        .into_iter()
                        .flatten()
                        .filter_map(|id| self.row_of(*id)),
                );
            }
        }
        Box::new(0..self.ids.len())
    }

    /// Filters, sorts and pages; returns the total of matching rows and the page's ids. The
    /// columns it uses must be built ([`ColumnTable::missing`] is empty, for `join`'s table
    /// too, and `join.via` is built).
    ///
    /// # Errors
    /// [`QueryError`] from the filters.
    pub fn query(
        &self,
        query: &Query,
        filters: &[CompiledFilter],
        join: Option<Join<'_>>,
    ) -> Result<(u64, Vec<u32>), QueryError> {
        let via = join.and_then(|j| Some((j, self.index.get(j.via).copied()?)));
        let joined = |row: usize| {
            via.map(|(j, c)| {
                let partner = match self.columns[c].as_ref().map(|column| column.get(row)) {
                    Some(FieldValue::Int(id)) => {
                        u32::try_from(id).ok().and_then(|id| j.table.row_of(id))
                    }
                    _ => None,
                };
                (j, partner)
            })
        };
        // The sort column, resolved once: a row's key is then one read of a column.
        let sort_by = match query.sort {
            model::SortDirection::None => None,
            _ => match via.and_then(|(j, _)| {
                let name = query.sort_column.strip_prefix(j.prefix)?;
                Some((j.table, *j.table.index.get(name)?))
            }) {
                Some((table, c)) => Some((true, table, c)),
                None => self
                    .index
                    .get(query.sort_column.as_str())
                    .map(|&c| (false, self, c)),
            },
        };
        let resolved: Vec<Resolved<'_>> = query
            .filters
            .iter()
            .map(|f| {
                let name = f.column.as_str();
                let at = match via.and_then(|(j, _)| Some((j, name.strip_prefix(j.prefix)?))) {
                    Some((j, column)) => j.table.index.get(column).map(|&c| (j.table, c, true)),
                    None => self.index.get(name).map(|&c| (self, c, false)),
                };
                (name, at)
            })
            .collect();
        // A text filter (contains, starts with) on a text column of this table tests the
        // column's text itself, not through the row's field lookup: most of a filtered
        // page's time is spent here. The test is the filter's own (`model::text_matches`).
        let text_tests: Vec<Option<TextTest<'_>>> = filters
            .iter()
            .zip(&resolved)
            .map(|(f, (_, at))| {
                let (op, lower) = f.text_test()?;
                match at {
                    Some((table, c, false)) => match table.columns[*c].as_ref()? {
                        Column::Text { spans, arena, .. } => {
                            Some((spans.as_slice(), arena.as_str(), op, lower))
                        }
                        _ => None,
                    },
                    _ => None,
                }
            })
            .collect();
        let mut keys: Vec<(Option<FieldValue<'_>>, u32)> = Vec::new();
        'rows: for row in self.candidates(filters) {
            let view = Row {
                table: self,
                row,
                join: joined(row),
                resolved: &resolved,
            };
            for (f, test) in filters.iter().zip(&text_tests) {
                let passed = match test {
                    Some((spans, arena, op, lower)) => {
                        model::text_matches(*op, text(arena, spans[row]), lower)
                    }
                    None => f.matches(&view)?,
                };
                if !passed {
                    continue 'rows;
                }
            }
            let key = match sort_by {
                None => None,
                Some((false, table, c)) => table.value_at(c, Some(row)),
                Some((true, table, c)) => table.value_at(c, view.join.and_then(|(_, p)| p)),
            };
            keys.push((key, self.ids[row]));
        }
        match query.sort {
            model::SortDirection::None => keys.sort_unstable_by_key(|k| k.1),
            model::SortDirection::Ascending => {
                keys.sort_unstable_by(|a, b| a.0.cmp(&b.0).then(a.1.cmp(&b.1)))
            }
            model::SortDirection::Descending => {
                keys.sort_unstable_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(&b.1)))
            }
        }
        let total = keys.len() as u64;
        let page = keys
            .iter()
            .skip(query.offset as usize)
            .take(query.page_size())
            .map(|k| k.1)
            .collect();
        Ok((total, page))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use model::{Filter, FilterOp, SortDirection, User};

    fn user(uid: u32, name: &str) -> User {
        User {
            uid,
            num: uid.to_string(),
            name: name.into(),
            ..User::default()
        }
    }

    #[test]
    fn agrees_with_the_in_memory_engine_after_updates_and_removals() {
        let mut table = ColumnTable::new::<User>();
        let mut users: Vec<User> = (1..=200)
            .map(|i| user(i, &format!("name{}", (i * 37) % 101)))
            .collect();
        for u in &users {
            table.upsert(u.uid, u);
        }
        for u in users.iter_mut().filter(|u| u.uid % 3 == 0) {
            u.name = format!("renamed{}", u.uid);
            table.upsert(u.uid, u);
        }
        for uid in (1..=200).filter(|i| i % 7 == 0) {
            table.remove(uid);
        }
        users.retain(|u| u.uid % 7 != 0);
        for (op, value, dir) in [
            (FilterOp::Contains, "1", SortDirection::Descending),
            (FilterOp::StartsWith, "REN", SortDirection::Ascending),
            (FilterOp::Greater, "name5", SortDirection::None),
        ] {
            let query = Query {
                filters: vec![Filter {
                    column: "name".into(),
                    op,
                    value: value.into(),
                }],
                sort_column: "name".into(),
                sort: dir,
                offset: 3,
                limit: 20,
            };
            let expected = query.run(users.clone()).unwrap();
            let filters = query.compile::<User>().unwrap();
            let missing = table.missing(&query, "");
            let by_id: HashMap<u32, User> = users.iter().map(|u| (u.uid, u.clone())).collect();
            table
                .build(&missing, |id| by_id.get(&id).cloned().ok_or(()))
                .unwrap();
            assert!(table.missing(&query, "").is_empty());
            let (total, ids) = table.query(&query, &filters, None).unwrap();
            assert_eq!(total, expected.total, "{op:?} {value}");
            assert_eq!(
                ids,
                expected.items.iter().map(|u| u.uid).collect::<Vec<_>>(),
                "{op:?} {value}"
            );
        }
    }

    #[test]
    fn equality_through_postings_agrees_with_a_scan_after_moves_and_removals() {
        // One table keeps postings of `home_omm` and `permanent`, the other scans: the same
        // writes, before and after the columns are built, must give the same answers.
        let mut indexed = ColumnTable::new::<User>().with_postings(&["home_omm", "permanent"]);
        let mut scanned = ColumnTable::new::<User>();
        let mut users: HashMap<u32, User> = HashMap::new();
        fn write(tables: [&mut ColumnTable; 2], users: &mut HashMap<u32, User>, u: User) {
            for t in tables {
                t.upsert(u.uid, &u);
            }
            users.insert(u.uid, u);
        }
        let at = |uid: u32, omm: u32| User {
            home_omm: omm,
            permanent: uid % 10 == 0,
            ..user(uid, &format!("n{uid}"))
        };
        for uid in 1..=60 {
            write([&mut indexed, &mut scanned], &mut users, at(uid, uid % 4));
        }
        let queries: Vec<Query> = [
            "home_omm=1",
            "home_omm=3",
            "home_omm=9",
            "permanent=true",
            "permanent=false",
            "permanent=1",
            "home_omm=x",
        ]
        .iter()
        .map(|q| {
            let (column, value) = q.split_once('=').unwrap();
            Query {
                filters: vec![
                    Filter {
                        column: column.into(),
                        op: FilterOp::Equals,
                        value: value.into(),
                    },
                    Filter {
                        column: "name".into(),
                        op: FilterOp::NotEquals,
                        value: "n7".into(),
                    },
                ],
                sort_column: "name".into(),
                sort: SortDirection::Descending,
                offset: 1,
                limit: 100,
            }
        })
        .collect();
        let check =
            |indexed: &mut ColumnTable, scanned: &mut ColumnTable, users: &HashMap<u32, User>| {
                for query in &queries {
                    for table in [&mut *indexed, &mut *scanned] {
                        let missing = table.missing(query, "");
                        table
                            .build(&missing, |id| users.get(&id).cloned().ok_or(()))
                            .unwrap();
                    }
                    let filters = query.compile::<User>().unwrap();
                    assert_eq!(
                        indexed.query(query, &filters, None),
                        scanned.query(query, &filters, None),
                        "{:?}",
                        query.filters[0]
                    );
                }
                // Each row filed once per column, under its value only (a stale entry would
                // only cost time, as the filters still decide, and memory).
                for postings in indexed.postings.iter().flatten() {
                    let filed: usize = postings.values().map(HashSet::len).sum();
                    assert_eq!(filed, indexed.len());
                }
            };
        check(&mut indexed, &mut scanned, &users);
        assert!(indexed.postings.iter().flatten().count() == 2);
        // Users move between OMMs and flags, new ones come, some go (the last row moves).
        for uid in (1..=60).filter(|u| u % 3 == 0) {
            write([&mut indexed, &mut scanned], &mut users, at(uid + 1000, 0));
            let mut moved = at(uid, 9);
            moved.permanent = !moved.permanent;
            write([&mut indexed, &mut scanned], &mut users, moved);
        }
        for uid in [60, 1, 2, 1003, 33] {
            indexed.remove(uid);
            scanned.remove(uid);
            users.remove(&uid);
        }
        check(&mut indexed, &mut scanned, &users);
    }

    #[test]
    fn a_joined_query_agrees_with_the_in_memory_overview() {
        use model::{Device, Ipei, OverviewRow};
        let mut users = ColumnTable::new::<User>();
        let mut devices = ColumnTable::new::<Device>();
        let mut rows: Vec<OverviewRow> = Vec::new();
        // Every third user has no phone; the phones' IPEIs run against the users' order.
        for uid in 1..=90 {
            let mut u = user(uid, &format!("name{}", (uid * 37) % 101));
            let device = (uid % 3 != 0).then(|| Device {
                ppn: 1000 + uid,
                uid,
                ipei: Ipei::new(77, 500 - uid).unwrap(),
                location: uid % 4,
                ..Device::default()
            });
            if let Some(d) = &device {
                u.ppn = d.ppn;
                devices.upsert(d.ppn, d);
            }
            users.upsert(uid, &u);
            rows.push(OverviewRow { user: u, device });
        }
        // A phone that no user holds is not a row.
        devices.upsert(5000, &Device::default());
        let filter = |column: &str, op, value: &str| Filter {
            column: column.into(),
            op,
            value: value.into(),
        };
        for (filters, sort_column, sort) in [
            (vec![], "device.ipei", SortDirection::Ascending),
            (vec![], "device.location", SortDirection::Descending),
            (
                vec![filter("device.ppn", FilterOp::Equals, "0")],
                "name",
                SortDirection::Ascending,
            ),
            (
                vec![filter("device.ipei", FilterOp::Contains, "00047")],
                "",
                SortDirection::None,
            ),
            (
                vec![
                    filter("device.location", FilterOp::Greater, "1"),
                    filter("name", FilterOp::StartsWith, "NAME1"),
                ],
                "device.ppn",
                SortDirection::Descending,
            ),
        ] {
            let query = Query {
                filters,
                sort_column: sort_column.into(),
                sort,
                offset: 2,
                limit: 25,
            };
            let expected = query.run(rows.clone()).unwrap();
            let compiled = query.compile::<OverviewRow>().unwrap();
            let by_uid: HashMap<u32, User> =
                rows.iter().map(|r| (r.user.uid, r.user.clone())).collect();
            let by_ppn: HashMap<u32, Device> = rows
                .iter()
                .filter_map(|r| r.device.clone())
                .chain(
                    [Device::default()]
                        .into_iter()
                        .map(|d| Device { ppn: 5000, ..d }),
                )
                .map(|d| (d.ppn, d))
                .collect();
            let mut wanted = users.missing(&query, "");
            wanted.push("ppn");
            users
                .build(&wanted, |id| by_uid.get(&id).cloned().ok_or(()))
                .unwrap();
            let wanted = devices.missing(&query, "device.");
            devices
                .build(&wanted, |id| by_ppn.get(&id).cloned().ok_or(()))
                .unwrap();
            let join = Join {
                table: &devices,
                via: "ppn",
                prefix: "device.",
            };
            let (total, ids) = users.query(&query, &compiled, Some(join)).unwrap();
            assert_eq!(total, expected.total, "{query:?}");
            assert_eq!(
                ids,
                expected
                    .items
                    .iter()
                    .map(|r| r.user.uid)
                    .collect::<Vec<_>>(),
                "{query:?}"
            );
            assert!(total > 0, "{query:?} finds something");
        }
    }
}
