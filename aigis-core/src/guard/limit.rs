//! LIMIT enforcement: added when missing, clamped when larger, whatever form the query used
//! (`LIMIT n`, `LIMIT ALL`, `FETCH FIRST n ROWS`, MySQL `LIMIT off, n`, a non-literal limit).

use sqlparser::ast::{Expr, LimitClause, Query, Value as SqlValue};

use super::Note;

/// Makes the query return at most `max_rows` rows.
pub(crate) fn enforce(query: &mut Query, max_rows: u64, notes: &mut Vec<Note>) {
    let max_expr = || Expr::value(SqlValue::Number(max_rows.to_string(), false));
    if let Some(fetch) = &mut query.fetch {
        let within = !fetch.percent && !fetch.with_ties && fetch.quantity.as_ref().and_then(literal_u64).is_some_and(|n| n <= max_rows);
        if !within {
            fetch.quantity = Some(max_expr());
            fetch.percent = false;
            fetch.with_ties = false;
            notes.push(clamped(max_rows));
        }
        // FETCH and LIMIT together do not parse in PostgreSQL; FETCH governs.
        if let Some(LimitClause::LimitOffset { limit, .. }) = &mut query.limit_clause
            && limit.as_ref().and_then(literal_u64).is_none_or(|n| n > max_rows)
        {
            *limit = None;
        }
        return;
    }
    match &mut query.limit_clause {
        Some(LimitClause::LimitOffset { limit, .. }) => match limit.as_ref().map(literal_u64) {
            Some(Some(n)) if n <= max_rows => {}
            None => {
                *limit = Some(max_expr());
                notes.push(Note::new("limit_added", format!("LIMIT {max_rows} added")));
            }
            Some(_) => {
                *limit = Some(max_expr());
                notes.push(clamped(max_rows));
            }
        },
        Some(LimitClause::OffsetCommaLimit { limit, .. }) => {
            if literal_u64(limit).is_none_or(|n| n > max_rows) {
                *limit = max_expr();
                notes.push(clamped(max_rows));
            }
        }
        None => {
            query.limit_clause = Some(LimitClause::LimitOffset { limit: Some(max_expr()), offset: None, limit_by: Vec::new() });
            notes.push(Note::new("limit_added", format!("LIMIT {max_rows} added")));
        }
    }
}

fn clamped(max_rows: u64) -> Note {
    Note::new("limit_clamped", format!("the row limit was lowered to {max_rows}"))
}

fn literal_u64(expr: &Expr) -> Option<u64> {
    match expr {
        Expr::Value(v) => match &v.value {
            SqlValue::Number(n, _) => n.parse().ok(),
            _ => None,
        },
        _ => None,
    }
}
