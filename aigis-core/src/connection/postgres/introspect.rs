//! PostgreSQL catalog reads: one query for relations, one for columns, one for keys, whatever
//! the number of tables (pg_catalog directly; information_schema is much slower).

use std::time::Duration;

use sqlx::postgres::{PgConnection, PgRow};
use sqlx::{Decode, Row};

use crate::Result;
use crate::connection::catalog::{ColumnRow, KeyRow, RelationRow, assemble};
use crate::connection::errors::{Phase, map_sqlx_error};
use crate::connection::{Column, IntrospectOptions, Table, TableKind};

/// Deadline for the catalog queries.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

/// `$1` is the schema list; empty means every schema but the system ones.
const SCHEMA_FILTER: &str = "((cardinality($1::text[]) = 0 AND n.nspname NOT IN ('pg_catalog', 'information_schema') \
     AND n.nspname NOT LIKE 'pg\\_%') OR n.nspname = ANY($1::text[]))";

/// Tables, views, materialised views and foreign tables the user may read (partitions are
/// reached through their parent).
const RELATIONS: &str = "SELECT n.nspname::text AS schema, c.relname::text AS name, c.relkind::text AS kind, \
       d.description AS comment, c.reltuples::float8 AS reltuples \
     FROM pg_class c JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = 0 \
     WHERE c.relkind IN ('r', 'p', 'v', 'm', 'f') AND NOT c.relispartition AND FILTER \
       AND has_table_privilege(c.oid, 'SELECT') \
     ORDER BY 1, 2";

const COLUMNS: &str = "SELECT n.nspname::text AS schema, c.relname::text AS tbl, a.attname::text AS name, \
       format_type(a.atttypid, a.atttypmod) AS data_type, NOT a.attnotnull AS nullable, \
       pg_get_expr(ad.adbin, ad.adrelid) AS default_value, d.description AS comment \
     FROM pg_attribute a JOIN pg_class c ON c.oid = a.attrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     LEFT JOIN pg_attrdef ad ON ad.adrelid = a.attrelid AND ad.adnum = a.attnum \
     LEFT JOIN pg_description d ON d.objoid = c.oid AND d.classoid = 'pg_class'::regclass AND d.objsubid = a.attnum \
     WHERE a.attnum > 0 AND NOT a.attisdropped AND c.relkind IN ('r', 'p', 'v', 'm', 'f') \
       AND NOT c.relispartition AND FILTER \
     ORDER BY 1, 2, a.attnum";

/// Primary and foreign keys, one row per key column, in key order.
const KEYS: &str = "SELECT n.nspname::text AS schema, c.relname::text AS tbl, con.conname::text AS constraint_name, \
       con.contype::text AS kind, a.attname::text AS column_name, \
       fn.nspname::text AS ref_schema, fc.relname::text AS ref_table, fa.attname::text AS ref_column \
     FROM pg_constraint con \
     JOIN pg_class c ON c.oid = con.conrelid JOIN pg_namespace n ON n.oid = c.relnamespace \
     CROSS JOIN LATERAL unnest(con.conkey) WITH ORDINALITY AS k(attnum, ord) \
     JOIN pg_attribute a ON a.attrelid = con.conrelid AND a.attnum = k.attnum \
     LEFT JOIN pg_class fc ON fc.oid = con.confrelid LEFT JOIN pg_namespace fn ON fn.oid = fc.relnamespace \
     LEFT JOIN pg_attribute fa ON fa.attrelid = con.confrelid AND fa.attnum = con.confkey[k.ord] \
     WHERE con.contype IN ('p', 'f') AND FILTER \
     ORDER BY 1, 2, 3, k.ord";

fn get<'r, T: Decode<'r, sqlx::Postgres> + sqlx::Type<sqlx::Postgres>>(row: &'r PgRow, column: &str) -> Result<T> {
    row.try_get(column).map_err(|e| map_sqlx_error(e, Phase::Query, None))
}

async fn fetch(conn: &mut PgConnection, template: &str, schemas: &[String], secret: Option<&str>) -> Result<Vec<PgRow>> {
    let sql = template.replace("FILTER", SCHEMA_FILTER);
    sqlx::query(sqlx::AssertSqlSafe(sql))
        .bind(schemas)
        .fetch_all(conn)
        .await
        .map_err(|e| map_sqlx_error(e, Phase::Query, secret))
}

/// Reads the three catalogs and assembles the tables (without sample rows).
pub(crate) async fn read_catalog(
    conn: &mut PgConnection,
    schemas: &[String],
    _options: &IntrospectOptions,
    secret: Option<&str>,
) -> Result<Vec<Table>> {
    let relations = fetch(conn, RELATIONS, schemas, secret)
        .await?
        .iter()
        .map(|r| {
            let reltuples: f64 = get(r, "reltuples")?;
            Ok(RelationRow {
                schema: get(r, "schema")?,
                name: get(r, "name")?,
                kind: if matches!(get::<String>(r, "kind")?.as_str(), "v" | "m") { TableKind::View } else { TableKind::Table },
                comment: get(r, "comment")?,
                // -1 means "never analysed" (PostgreSQL 14+).
                row_estimate: (reltuples >= 0.0).then_some(reltuples as i64),
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let columns = fetch(conn, COLUMNS, schemas, secret)
        .await?
        .iter()
        .map(|r| {
            Ok(ColumnRow {
                schema: get(r, "schema")?,
                table: get(r, "tbl")?,
                column: Column {
                    name: get(r, "name")?,
                    data_type: get(r, "data_type")?,
                    nullable: get(r, "nullable")?,
                    default: get(r, "default_value")?,
                    comment: get(r, "comment")?,
                    ..Column::default()
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let keys = fetch(conn, KEYS, schemas, secret)
        .await?
        .iter()
        .map(|r| {
            let references = if get::<String>(r, "kind")? == "f" {
                Some((get(r, "ref_schema")?, get(r, "ref_table")?, get(r, "ref_column")?))
            } else {
                None
            };
            Ok(KeyRow {
                schema: get(r, "schema")?,
                table: get(r, "tbl")?,
                constraint: get(r, "constraint_name")?,
                references,
                column: get(r, "column_name")?,
            })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(assemble(relations, columns, keys))
}
