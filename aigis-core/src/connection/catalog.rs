//! Assembling a [`Schema`] from the flat rows of the catalog queries (one query per kind:
//! relations, columns, keys), shared by the PostgreSQL and MySQL backends.

// Only the server backends assemble catalogs; SQLite uses `quoted_name` alone.
#![cfg_attr(not(any(feature = "postgres", feature = "mysql")), allow(dead_code))]

use std::collections::BTreeMap;

use crate::connection::{Column, ForeignKey, Table, TableKind};

/// One table or view from the relations query.
#[derive(Debug, Clone)]
pub(crate) struct RelationRow {
    pub(crate) schema: String,
    pub(crate) name: String,
    pub(crate) kind: TableKind,
    pub(crate) comment: Option<String>,
    pub(crate) row_estimate: Option<i64>,
}

/// One column from the columns query, in ordinal order within its table.
#[derive(Debug, Clone)]
pub(crate) struct ColumnRow {
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) column: Column,
}

/// One column of a key constraint, in key order within its constraint.
#[derive(Debug, Clone)]
pub(crate) struct KeyRow {
    pub(crate) schema: String,
    pub(crate) table: String,
    pub(crate) constraint: String,
    /// `None` for a primary key; the referenced `(schema, table, column)` for a foreign key.
    pub(crate) references: Option<(String, String, String)>,
    pub(crate) column: String,
}

/// Builds tables in (schema, name) order. Columns and keys of relations not listed (e.g. not
/// readable by this user) are ignored. `default_schema` is left out of `referred_schema` when
/// a foreign key stays inside it.
pub(crate) fn assemble(relations: Vec<RelationRow>, columns: Vec<ColumnRow>, keys: Vec<KeyRow>) -> Vec<Table> {
    let mut tables: BTreeMap<(String, String), Table> = BTreeMap::new();
    for r in relations {
        let table = Table {
            schema: Some(r.schema.clone()),
            name: r.name.clone(),
            kind: r.kind,
            comment: r.comment.filter(|c| !c.is_empty()),
            row_estimate: r.row_estimate.filter(|n| *n >= 0),
            ..Table::default()
        };
        tables.insert((r.schema, r.name), table);
    }
    for c in columns {
        if let Some(table) = tables.get_mut(&(c.schema, c.table)) {
            table.columns.push(c.column);
        }
    }
    let mut foreign: BTreeMap<(String, String, String), ForeignKey> = BTreeMap::new();
    for k in keys {
        let id = (k.schema.clone(), k.table.clone());
        match k.references {
            None => {
                if let Some(table) = tables.get_mut(&id) {
                    table.primary_key.push(k.column);
                }
            }
            Some((ref_schema, ref_table, ref_column)) => {
                let fk = foreign.entry((k.schema.clone(), k.table, k.constraint)).or_insert_with(|| ForeignKey {
                    referred_schema: (ref_schema != k.schema).then_some(ref_schema),
                    referred_table: ref_table,
                    ..ForeignKey::default()
                });
                fk.columns.push(k.column);
                fk.referred_columns.push(ref_column);
            }
        }
    }
    for ((schema, table, _), fk) in foreign {
        if let Some(t) = tables.get_mut(&(schema, table)) {
            t.foreign_keys.push(fk);
        }
    }
    tables.into_values().collect()
}

/// `schema.table` with each part quoted by `quote` (doubled inside), e.g. `"` or `` ` ``.
pub(crate) fn quoted_name(table: &Table, quote: char) -> String {
    let q = |s: &str| format!("{quote}{}{quote}", s.replace(quote, &format!("{quote}{quote}")));
    match &table.schema {
        Some(schema) => format!("{}.{}", q(schema), q(&table.name)),
        None => q(&table.name),
    }
}

/// Fills each table's sample rows with `read` (given the table's quoted name), one read per
/// table: a table whose read fails (a view that does not run) keeps none and the others go on.
pub(crate) async fn fill_sample_rows<Fut>(tables: &mut [Table], quote: char, mut read: impl FnMut(String) -> Fut)
where
    Fut: std::future::Future<Output = crate::Result<Vec<Vec<serde_json::Value>>>>,
{
    for table in tables {
        let quoted = quoted_name(table, quote);
        match read(quoted.clone()).await {
            Ok(rows) => table.sample_rows = rows,
            Err(e) => tracing::warn!(table = %quoted, error = %e, "no sample rows"),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn groups_keys_by_constraint_in_order() {
        let rel = |name: &str| RelationRow {
            schema: "s".into(),
            name: name.into(),
            kind: TableKind::Table,
            comment: Some(String::new()),
            row_estimate: Some(-1),
        };
        let col = |table: &str, name: &str| ColumnRow {
            schema: "s".into(),
            table: table.into(),
            column: Column { name: name.into(), ..Column::default() },
        };
        let key = |table: &str, constraint: &str, column: &str, r: Option<(&str, &str, &str)>| KeyRow {
            schema: "s".into(),
            table: table.into(),
            constraint: constraint.into(),
            references: r.map(|(a, b, c)| (a.into(), b.into(), c.into())),
            column: column.into(),
        };
        let tables = assemble(
            vec![rel("b"), rel("a")],
            vec![col("a", "x"), col("a", "y"), col("b", "ax"), col("b", "ay"), col("zz", "q")],
            vec![
                key("a", "pk", "x", None),
                key("a", "pk", "y", None),
                key("b", "fk", "ax", Some(("s", "a", "x"))),
                key("b", "fk", "ay", Some(("s", "a", "y"))),
            ],
        );
        assert_eq!(tables.iter().map(|t| t.name.as_str()).collect::<Vec<_>>(), ["a", "b"]);
        assert_eq!(tables[0].primary_key, ["x", "y"]);
        assert_eq!((tables[0].comment.clone(), tables[0].row_estimate), (None, None));
        let fk = &tables[1].foreign_keys[0];
        assert_eq!((fk.columns.clone(), fk.referred_columns.clone()), (vec!["ax".into(), "ay".into()], vec!["x".into(), "y".into()]));
        assert_eq!(fk.referred_schema, None);
    }
}
