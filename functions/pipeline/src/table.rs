//! A small, typed, column-oriented table: what validation produces and publishing writes.
//!
//! Stage: values (pure). Validators build [`Table`]s row by row; `frame` converts them to
//! and from polars; `publish` renders them as CSV and JSON. Keeping this type free of
//! polars keeps polars inside `frame` and `aggregate`.

/// The type of a column.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kind {
    Str,
    F64,
    I64,
    Bool,
}

impl Kind {
    /// The Frictionless field type.
    pub fn frictionless(self) -> &'static str {
        match self {
            Kind::Str => "string",
            Kind::F64 => "number",
            Kind::I64 => "integer",
            Kind::Bool => "boolean",
        }
    }
}

/// One cell.
#[derive(Debug, Clone, PartialEq)]
pub enum Cell {
    Str(Option<String>),
    F64(Option<f64>),
    I64(Option<i64>),
    Bool(Option<bool>),
}

impl From<&str> for Cell {
    fn from(v: &str) -> Self {
        Cell::Str(Some(v.to_string()))
    }
}
impl From<String> for Cell {
    fn from(v: String) -> Self {
        Cell::Str(Some(v))
    }
}
impl From<Option<String>> for Cell {
    fn from(v: Option<String>) -> Self {
        Cell::Str(v)
    }
}
impl From<f64> for Cell {
    fn from(v: f64) -> Self {
        Cell::F64(Some(v))
    }
}
impl From<Option<f64>> for Cell {
    fn from(v: Option<f64>) -> Self {
        Cell::F64(v)
    }
}
impl From<i64> for Cell {
    fn from(v: i64) -> Self {
        Cell::I64(Some(v))
    }
}
impl From<Option<i64>> for Cell {
    fn from(v: Option<i64>) -> Self {
        Cell::I64(v)
    }
}
impl From<bool> for Cell {
    fn from(v: bool) -> Self {
        Cell::Bool(Some(v))
    }
}
impl From<Option<bool>> for Cell {
    fn from(v: Option<bool>) -> Self {
        Cell::Bool(v)
    }
}

/// A column's values.
#[derive(Debug, Clone, PartialEq)]
pub enum Values {
    Str(Vec<Option<String>>),
    F64(Vec<Option<f64>>),
    I64(Vec<Option<i64>>),
    Bool(Vec<Option<bool>>),
}

impl Values {
    pub fn new(kind: Kind) -> Self {
        match kind {
            Kind::Str => Values::Str(Vec::new()),
            Kind::F64 => Values::F64(Vec::new()),
            Kind::I64 => Values::I64(Vec::new()),
            Kind::Bool => Values::Bool(Vec::new()),
        }
    }

    pub fn kind(&self) -> Kind {
        match self {
            Values::Str(_) => Kind::Str,
            Values::F64(_) => Kind::F64,
            Values::I64(_) => Kind::I64,
            Values::Bool(_) => Kind::Bool,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Values::Str(v) => v.len(),
            Values::F64(v) => v.len(),
            Values::I64(v) => v.len(),
            Values::Bool(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    pub fn cell(&self, row: usize) -> Cell {
        match self {
            Values::Str(v) => Cell::Str(v[row].clone()),
            Values::F64(v) => Cell::F64(v[row]),
            Values::I64(v) => Cell::I64(v[row]),
            Values::Bool(v) => Cell::Bool(v[row]),
        }
    }
}

/// A table with named, typed columns of equal length.
#[derive(Debug, Clone, PartialEq)]
pub struct Table {
    pub names: Vec<String>,
    pub columns: Vec<Values>,
}

impl Table {
    /// An empty table with the given schema.
    pub fn new(schema: &[(&str, Kind)]) -> Self {
        Self {
            names: schema.iter().map(|(n, _)| n.to_string()).collect(),
            columns: schema.iter().map(|(_, k)| Values::new(*k)).collect(),
        }
    }

    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Values::len)
    }

    /// Appends a row. Panics if the row does not match the schema: that is a programming
    /// error in a validator, never a data error.
    pub fn push(&mut self, row: Vec<Cell>) {
        assert_eq!(
            row.len(),
            self.columns.len(),
            "row width does not match the table"
        );
        for (i, (col, cell)) in self.columns.iter_mut().zip(row).enumerate() {
            match (col, cell) {
                (Values::Str(v), Cell::Str(x)) => v.push(x),
                (Values::F64(v), Cell::F64(x)) => v.push(x),
                (Values::I64(v), Cell::I64(x)) => v.push(x),
                (Values::Bool(v), Cell::Bool(x)) => v.push(x),
                (col, cell) => panic!("column {} is {:?}, got {cell:?}", self.names[i], col.kind()),
            }
        }
    }

    pub fn column(&self, name: &str) -> Option<&Values> {
        self.names
            .iter()
            .position(|n| n == name)
            .map(|i| &self.columns[i])
    }

    pub fn str_column(&self, name: &str) -> &[Option<String>] {
        match self.column(name) {
            Some(Values::Str(v)) => v,
            other => panic!("no string column {name}: {other:?}"),
        }
    }

    pub fn f64_column(&self, name: &str) -> &[Option<f64>] {
        match self.column(name) {
            Some(Values::F64(v)) => v,
            other => panic!("no number column {name}: {other:?}"),
        }
    }

    pub fn i64_column(&self, name: &str) -> &[Option<i64>] {
        match self.column(name) {
            Some(Values::I64(v)) => v,
            other => panic!("no integer column {name}: {other:?}"),
        }
    }

    pub fn schema(&self) -> Vec<(String, Kind)> {
        self.names
            .iter()
            .cloned()
            .zip(self.columns.iter().map(Values::kind))
            .collect()
    }

    /// Appends every row of `other`, which must have the same schema.
    pub fn extend(&mut self, other: Table) {
        assert_eq!(self.schema(), other.schema(), "tables differ in schema");
        for (a, b) in self.columns.iter_mut().zip(other.columns) {
            match (a, b) {
                (Values::Str(a), Values::Str(b)) => a.extend(b),
                (Values::F64(a), Values::F64(b)) => a.extend(b),
                (Values::I64(a), Values::I64(b)) => a.extend(b),
                (Values::Bool(a), Values::Bool(b)) => a.extend(b),
                _ => unreachable!("schemas were compared"),
            }
        }
    }

    /// Keeps the rows for which `keep(row)` is true.
    pub fn filter_rows(&self, keep: impl Fn(usize) -> bool) -> Table {
        let idx: Vec<usize> = (0..self.rows()).filter(|&i| keep(i)).collect();
        self.take(&idx)
    }

    /// The rows at `idx`, in that order.
    pub fn take(&self, idx: &[usize]) -> Table {
        let columns = self
            .columns
            .iter()
            .map(|c| match c {
                Values::Str(v) => Values::Str(idx.iter().map(|&i| v[i].clone()).collect()),
                Values::F64(v) => Values::F64(idx.iter().map(|&i| v[i]).collect()),
                Values::I64(v) => Values::I64(idx.iter().map(|&i| v[i]).collect()),
                Values::Bool(v) => Values::Bool(idx.iter().map(|&i| v[i]).collect()),
            })
            .collect();
        Table {
            names: self.names.clone(),
            columns,
        }
    }
}

/// A string column built without a `String` per cell: each distinct value is kept once and
/// every cell is the code of its value (a categorical column). It holds the same cells as a
/// [`Values::Str`] and is written as one ([`Batch::into_table`], the partition writer).
///
/// Codes are `u32`: a column holds fewer distinct values than cells, and a validator's batch
/// covers one raw file (at most a few million cells, far below 2^32).
#[derive(Debug, Clone, Default)]
pub struct Interned {
    values: Vec<String>,
    index: std::collections::HashMap<String, u32>,
    codes: Vec<Option<u32>>,
}

impl Interned {
    /// The code of `value`, adding it to the dictionary if new (nothing is pushed).
    pub fn code(&mut self, value: &str) -> u32 {
        if let Some(&c) = self.index.get(value) {
            return c;
        }
        let c = u32::try_from(self.values.len()).unwrap_or(u32::MAX);
        self.values.push(value.to_string());
        self.index.insert(value.to_string(), c);
        c
    }

    /// Appends a cell by its code (from [`Interned::code`] of this column).
    pub fn push_code(&mut self, code: Option<u32>) {
        self.codes.push(code);
    }

    /// Appends a cell by value.
    pub fn push(&mut self, value: Option<&str>) {
        let code = value.map(|v| self.code(v));
        self.codes.push(code);
    }

    pub fn len(&self) -> usize {
        self.codes.len()
    }

    pub fn is_empty(&self) -> bool {
        self.codes.is_empty()
    }

    /// The dictionary (by code) and the cells' codes, in order.
    pub fn parts(&self) -> (&[String], &[Option<u32>]) {
        (&self.values, &self.codes)
    }

    /// The cells, in order.
    pub fn iter(&self) -> impl Iterator<Item = Option<&str>> + '_ {
        self.codes.iter().map(|c| {
            c.and_then(|c| self.values.get(c as usize))
                .map(String::as_str)
        })
    }
}

/// One column of a [`Batch`].
#[derive(Debug, Clone)]
pub enum Column {
    /// Plain values, as in a [`Table`].
    Plain(Values),
    /// Strings by dictionary code.
    Interned(Interned),
}

impl Column {
    pub fn kind(&self) -> Kind {
        match self {
            Column::Plain(v) => v.kind(),
            Column::Interned(_) => Kind::Str,
        }
    }

    pub fn len(&self) -> usize {
        match self {
            Column::Plain(v) => v.len(),
            Column::Interned(v) => v.len(),
        }
    }

    pub fn is_empty(&self) -> bool {
        self.len() == 0
    }

    fn into_values(self) -> Values {
        match self {
            Column::Plain(v) => v,
            Column::Interned(v) => Values::Str(v.iter().map(|x| x.map(str::to_string)).collect()),
        }
    }
}

/// A typed columnar batch: what a validator emits for one raw file. Its columns have the
/// types and names of the source's [`Table`] schema, so it converts to the same table
/// ([`Batch::into_table`]) and is written as the same Parquet; string columns may be
/// [`Interned`], so that building it allocates no `String` per cell.
#[derive(Debug, Clone)]
pub struct Batch {
    pub names: Vec<String>,
    pub columns: Vec<Column>,
}

impl Batch {
    pub fn rows(&self) -> usize {
        self.columns.first().map_or(0, Column::len)
    }

    pub fn schema(&self) -> Vec<(String, Kind)> {
        self.names
            .iter()
            .cloned()
            .zip(self.columns.iter().map(Column::kind))
            .collect()
    }

    /// The same cells as a [`Table`] (one `String` per string cell).
    pub fn into_table(self) -> Table {
        Table {
            names: self.names,
            columns: self.columns.into_iter().map(Column::into_values).collect(),
        }
    }
}

impl From<Table> for Batch {
    fn from(t: Table) -> Self {
        Batch {
            names: t.names,
            columns: t.columns.into_iter().map(Column::Plain).collect(),
        }
    }
}

/// Rounds to `digits` decimals, for published derived values (means, rates), so that
/// floating-point noise never reaches a dataset.
pub fn round(v: f64, digits: i32) -> f64 {
    let f = 10f64.powi(digits);
    let r = (v * f).round() / f;
    if r == 0.0 { 0.0 } else { r }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn push_extend_filter() {
        let mut t = Table::new(&[("a", Kind::Str), ("b", Kind::F64)]);
        t.push(vec!["x".into(), 1.5.into()]);
        t.push(vec![Cell::Str(None), Cell::F64(None)]);
        let mut u = t.clone();
        u.extend(t.clone());
        assert_eq!(u.rows(), 4);
        let f = u.filter_rows(|i| u.str_column("a")[i].is_some());
        assert_eq!(f.rows(), 2);
        assert_eq!(f.f64_column("b"), &[Some(1.5), Some(1.5)]);
    }

    #[test]
    fn an_interned_column_becomes_the_plain_one() {
        let mut c = Interned::default();
        c.push(Some("北京"));
        c.push(None);
        let code = c.code("x");
        c.push_code(Some(code));
        c.push(Some("北京"));
        let b = Batch {
            names: vec!["s".into(), "n".into()],
            columns: vec![
                Column::Interned(c),
                Column::Plain(Values::I64(vec![Some(1), None, Some(3), Some(4)])),
            ],
        };
        assert_eq!(b.rows(), 4);
        assert_eq!(
            b.schema(),
            vec![("s".into(), Kind::Str), ("n".into(), Kind::I64)]
        );
        let mut want = Table::new(&[("s", Kind::Str), ("n", Kind::I64)]);
        want.push(vec!["北京".into(), 1i64.into()]);
        want.push(vec![Cell::Str(None), Cell::I64(None)]);
        want.push(vec!["x".into(), 3i64.into()]);
        want.push(vec!["北京".into(), 4i64.into()]);
        assert_eq!(b.into_table(), want);
    }

    #[test]
    fn rounding_removes_noise_and_negative_zero() {
        assert_eq!(round(0.1 + 0.2, 6), 0.3);
        assert_eq!(round(-0.0000001, 4).to_string(), "0");
    }
}
