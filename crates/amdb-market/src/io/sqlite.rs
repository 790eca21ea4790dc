//! Bars from a table (or view) of a SQLite database, opened read-only.
//!
//! SQLite types values per row, so each value is taken as it comes: times as INTEGER epochs
//! (unit by magnitude), REAL epochs or ISO TEXT; prices as INTEGER, REAL or numeric TEXT.

use std::path::Path;

use rusqlite::types::ValueRef;
use rusqlite::{Connection, OpenFlags};

use super::{check_bar, detect_columns, ColumnMap, ImportError, TimeColumns};
use crate::bar::Bars;
use crate::time::{epoch_f64_to_nanos, parse_date_and_time_bytes, parse_time_bytes, TimeUnit};

/// `name` as an SQL identifier: double-quoted with inner quotes doubled, so any table or
/// column name (spaces, quotes, keywords) is safe to put in a statement.
fn quote_ident(name: &str) -> String {
    format!("\"{}\"", name.replace('"', "\"\""))
}

/// Reads bars from `table` in the table's own order (rowid order for ordinary tables).
/// Errors name rows 0-based in that order. Progress is in file bytes (scaled from rows).
pub fn read_sqlite(
    path: impl AsRef<Path>,
    table: &str,
    map: &ColumnMap,
    progress: &mut dyn FnMut(u64, u64),
) -> Result<Bars, ImportError> {
    let path = path.as_ref();
    let file_err = |m: String| ImportError::file(path, m);
    let sql_err = |e: rusqlite::Error| file_err(e.to_string());
    let total = std::fs::metadata(path)
        .map_err(|e| ImportError::io(path, e))?
        .len();
    progress(0, total);
    let conn = Connection::open_with_flags(
        path,
        OpenFlags::SQLITE_OPEN_READ_ONLY | OpenFlags::SQLITE_OPEN_NO_MUTEX,
    )
    .map_err(sql_err)?;

    let tables = || -> String {
        conn.prepare("SELECT name FROM sqlite_master WHERE type IN ('table','view') ORDER BY name")
            .and_then(|mut s| {
                s.query_map([], |r| r.get::<_, String>(0))?
                    .collect::<Result<Vec<_>, _>>()
            })
            .map(|v| v.join(", "))
            .unwrap_or_default()
    };
    let columns: Vec<String> =
        match conn.prepare(&format!("SELECT * FROM {} LIMIT 0", quote_ident(table))) {
            Ok(stmt) => stmt.column_names().map(String::from).collect(),
            Err(e) => {
                return Err(file_err(format!(
                    "cannot read table {table:?} ({e}); tables: {}",
                    tables()
                )))
            }
        };
    let names: Vec<&str> = columns.iter().map(String::as_str).collect();
    let layout =
        detect_columns(&names, map).map_err(|m| file_err(format!("table {table:?}: {m}")))?;
    let (cols, l) = layout.projected();
    let select: Vec<String> = cols.iter().map(|&c| quote_ident(&columns[c])).collect();
    let quoted_table = quote_ident(table);
    let rows: i64 = conn
        .query_row(&format!("SELECT count(*) FROM {quoted_table}"), [], |r| {
            r.get(0)
        })
        .map_err(sql_err)?;
    let rows = rows.max(0) as u64;
    let mut stmt = conn
        .prepare(&format!("SELECT {} FROM {quoted_table}", select.join(", ")))
        .map_err(sql_err)?;
    let mut q = stmt.query([]).map_err(sql_err)?;

    let mut out = Bars::with_capacity(rows as usize);
    let mut row_no = 0u64;
    while let Some(r) = q.next().map_err(sql_err)? {
        let at = |msg: String| ImportError::Row {
            path: path.to_path_buf(),
            row: row_no,
            msg,
        };
        let get = |i: usize| r.get_ref(i).map_err(|e| at(e.to_string()));
        let ts = match l.time {
            TimeColumns::One(t) => time_value(get(t)?),
            TimeColumns::DateTime(d, t) => match (get(d)?, get(t)?) {
                (ValueRef::Text(d), ValueRef::Text(t)) => parse_date_and_time_bytes(d, t),
                _ => None,
            },
        };
        let ts = ts.ok_or_else(|| {
            let shown = match l.time {
                TimeColumns::One(t) => show(r.get_ref(t).ok()),
                TimeColumns::DateTime(d, t) => {
                    format!("{} {}", show(r.get_ref(d).ok()), show(r.get_ref(t).ok()))
                }
            };
            at(format!("unparsable time {shown}"))
        })?;
        let num = |i: usize, field: &str| -> Result<f64, ImportError> {
            let v = get(i)?;
            number_value(v).ok_or_else(|| at(format!("unparsable {field} {}", show(Some(v)))))
        };
        let bar = l.bar(ts, num)?;
        check_bar(&bar).map_err(at)?;
        out.push(bar);
        row_no += 1;
        if row_no.is_multiple_of(65_536) {
            progress(super::scaled(row_no, rows, total), total);
        }
    }
    progress(total, total);
    Ok(out)
}

fn time_value(v: ValueRef<'_>) -> Option<i64> {
    match v {
        ValueRef::Integer(i) => TimeUnit::Auto.to_nanos(i),
        ValueRef::Real(f) => epoch_f64_to_nanos(f, TimeUnit::Auto),
        ValueRef::Text(t) => parse_time_bytes(t, TimeUnit::Auto),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

fn number_value(v: ValueRef<'_>) -> Option<f64> {
    match v {
        ValueRef::Integer(i) => Some(i as f64),
        ValueRef::Real(f) => Some(f),
        ValueRef::Text(t) => std::str::from_utf8(t).ok()?.trim().parse().ok(),
        ValueRef::Null | ValueRef::Blob(_) => None,
    }
}

/// A value as the error message shows it.
fn show(v: Option<ValueRef<'_>>) -> String {
    match v {
        Some(ValueRef::Integer(i)) => i.to_string(),
        Some(ValueRef::Real(f)) => format!("{f:?}"),
        Some(ValueRef::Text(t)) => format!("{:?}", String::from_utf8_lossy(t)),
        Some(ValueRef::Blob(_)) => "(a blob)".into(),
        Some(ValueRef::Null) | None => "NULL".into(),
    }
}
