//! MySQL/MariaDB catalog reads from information_schema: one query for relations, one for
//! columns, one for keys, whatever the number of tables.

use std::time::Duration;

use sqlx::mysql::{MySql, MySqlConnection, MySqlRow};
use sqlx::{Decode, Row};

use crate::Result;
use crate::connection::catalog::{ColumnRow, KeyRow, RelationRow, assemble};
use crate::connection::errors::{Phase, map_sqlx_error};
use crate::connection::{Column, Table, TableKind};

/// Deadline for the catalog queries.
pub(crate) const TIMEOUT: Duration = Duration::from_secs(60);

// information_schema columns are cast to CHAR/SIGNED: MySQL 8 reports some of them as binary
// strings or unsigned integers, which would not decode as text or i64.
const RELATIONS: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR) AS sch, CAST(TABLE_NAME AS CHAR) AS name, \
       CAST(TABLE_TYPE AS CHAR) AS kind, CAST(TABLE_COMMENT AS CHAR) AS comment, \
       CAST(TABLE_ROWS AS SIGNED) AS row_estimate \
     FROM information_schema.TABLES WHERE FILTER ORDER BY sch, name";

const COLUMNS: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR) AS sch, CAST(TABLE_NAME AS CHAR) AS tbl, \
       CAST(COLUMN_NAME AS CHAR) AS name, CAST(COLUMN_TYPE AS CHAR) AS data_type, \
       CAST(IS_NULLABLE AS CHAR) AS nullable, CAST(COLUMN_DEFAULT AS CHAR) AS default_value, \
       CAST(COLUMN_COMMENT AS CHAR) AS comment \
     FROM information_schema.COLUMNS WHERE FILTER ORDER BY sch, tbl, ORDINAL_POSITION";

const KEYS: &str = "SELECT CAST(TABLE_SCHEMA AS CHAR) AS sch, CAST(TABLE_NAME AS CHAR) AS tbl, \
       CAST(CONSTRAINT_NAME AS CHAR) AS constraint_name, CAST(COLUMN_NAME AS CHAR) AS column_name, \
       CAST(REFERENCED_TABLE_SCHEMA AS CHAR) AS ref_schema, CAST(REFERENCED_TABLE_NAME AS CHAR) AS ref_table, \
       CAST(REFERENCED_COLUMN_NAME AS CHAR) AS ref_column \
     FROM information_schema.KEY_COLUMN_USAGE \
     WHERE FILTER AND (CONSTRAINT_NAME = 'PRIMARY' OR REFERENCED_TABLE_NAME IS NOT NULL) \
     ORDER BY sch, tbl, constraint_name, ORDINAL_POSITION";

fn get<'r, T: Decode<'r, MySql> + sqlx::Type<MySql>>(row: &'r MySqlRow, column: &str) -> Result<T> {
    row.try_get(column).map_err(|e| map_sqlx_error(e, Phase::Query, None))
}

/// The schema filter: the listed schemas, else the connection's database, else every
/// non-system schema.
fn filter(schemas: &[String]) -> String {
    if schemas.is_empty() {
        "TABLE_SCHEMA = COALESCE(DATABASE(), TABLE_SCHEMA) \
         AND TABLE_SCHEMA NOT IN ('mysql', 'information_schema', 'performance_schema', 'sys')"
            .to_string()
    } else {
        format!("TABLE_SCHEMA IN ({})", vec!["?"; schemas.len()].join(", "))
    }
}

async fn fetch(conn: &mut MySqlConnection, template: &str, schemas: &[String], secret: Option<&str>) -> Result<Vec<MySqlRow>> {
    let sql = template.replace("FILTER", &filter(schemas));
    let mut query = sqlx::query(sqlx::AssertSqlSafe(sql));
    for schema in schemas {
        query = query.bind(schema);
    }
    query.fetch_all(conn).await.map_err(|e| map_sqlx_error(e, Phase::Query, secret))
}

/// Reads the three catalogs and assembles the tables (without sample rows).
pub(crate) async fn read_catalog(conn: &mut MySqlConnection, schemas: &[String], secret: Option<&str>) -> Result<Vec<Table>> {
    let relations = fetch(conn, RELATIONS, schemas, secret)
        .await?
        .iter()
        .map(|r| {
            let kind: String = get(r, "kind")?;
            let is_view = kind.contains("VIEW");
            Ok(RelationRow {
                schema: get(r, "sch")?,
                name: get(r, "name")?,
                kind: if is_view { TableKind::View } else { TableKind::Table },
                // MySQL puts "VIEW" in a view's comment.
                comment: get::<Option<String>>(r, "comment")?.filter(|c| !(is_view && c == "VIEW")),
                row_estimate: if is_view { None } else { get(r, "row_estimate")? },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let columns = fetch(conn, COLUMNS, schemas, secret)
        .await?
        .iter()
        .map(|r| {
            Ok(ColumnRow {
                schema: get(r, "sch")?,
                table: get(r, "tbl")?,
                column: Column {
                    name: get(r, "name")?,
                    data_type: get(r, "data_type")?,
                    nullable: get::<String>(r, "nullable")? == "YES",
                    default: get(r, "default_value")?,
                    comment: get::<Option<String>>(r, "comment")?.filter(|c| !c.is_empty()),
                    ..Column::default()
                },
            })
        })
        .collect::<Result<Vec<_>>>()?;
    let keys = fetch(conn, KEYS, schemas, secret)
        .await?
        .iter()
        .map(|r| {
            let constraint: String = get(r, "constraint_name")?;
            let references = match get::<Option<String>>(r, "ref_table")? {
                Some(table) if constraint != "PRIMARY" => {
                    Some((get::<Option<String>>(r, "ref_schema")?.unwrap_or_default(), table, get(r, "ref_column")?))
                }
                _ => None,
            };
            Ok(KeyRow { schema: get(r, "sch")?, table: get(r, "tbl")?, constraint, references, column: get(r, "column_name")? })
        })
        .collect::<Result<Vec<_>>>()?;
    Ok(assemble(relations, columns, keys))
}
