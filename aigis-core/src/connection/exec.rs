//! The streaming loop every backend shares: prepare one statement, stream its rows through a
//! decoder into a [`RowCollector`], and stop reading as soon as a cap is reached.

use futures::TryStreamExt;
use serde_json::Value;
use sqlx::{AssertSqlSafe, Column as _, Executor, SqlSafeStr, Statement as _, TypeInfo as _};

use crate::Result;
use crate::connection::errors::{Phase, map_sqlx_error};
use crate::connection::value::{RowCollector, truncate_value};
use crate::connection::{ColumnInfo, ExecLimits, IntrospectOptions, QueryResult};

/// Prepares `sql` as one statement (extended protocol on PostgreSQL, a binary prepared statement
/// on MySQL) on `conn` and streams its rows within `limits`.
///
/// Rows past a cap are never decoded or kept; the caller ends the transaction afterwards.
pub(crate) async fn stream_query<DB, F>(
    conn: &mut DB::Connection,
    sql: &str,
    limits: &ExecLimits,
    secret: Option<&str>,
    decode: F,
) -> Result<QueryResult>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    F: Fn(&DB::Row) -> Result<Vec<Value>>,
{
    let map = |e| map_sqlx_error(e, Phase::Query, secret);
    let statement = (&mut *conn).prepare(AssertSqlSafe(sql.to_string()).into_sql_str()).await.map_err(map)?;
    let columns: Vec<ColumnInfo> = statement
        .columns()
        .iter()
        .map(|c| ColumnInfo { name: c.name().to_string(), data_type: c.type_info().name().to_string() })
        .collect();
    let mut collector = RowCollector::new(limits);
    {
        let mut rows = statement.query().fetch(&mut *conn);
        while let Some(row) = rows.try_next().await.map_err(map)? {
            if !collector.push(decode(&row)?) {
                break;
            }
        }
    }
    let row_count = collector.rows.len() as u64;
    Ok(QueryResult { columns, rows: collector.rows, row_count, truncated: collector.truncated })
}

/// Up to `options.sample_rows` rows of `quoted_table`, long values cut to `options.value_truncate`.
pub(crate) async fn sample_rows<DB, F>(
    conn: &mut DB::Connection,
    quoted_table: &str,
    options: &IntrospectOptions,
    secret: Option<&str>,
    decode: F,
) -> Result<Vec<Vec<Value>>>
where
    DB: sqlx::Database,
    DB::Arguments: sqlx::IntoArguments<DB>,
    for<'c> &'c mut DB::Connection: Executor<'c, Database = DB>,
    F: Fn(&DB::Row) -> Result<Vec<Value>>,
{
    let sql = format!("SELECT * FROM {quoted_table} LIMIT {}", options.sample_rows);
    let limits = ExecLimits { max_rows: options.sample_rows, ..ExecLimits::default() };
    let result = stream_query::<DB, F>(conn, &sql, &limits, secret, decode).await?;
    Ok(result
        .rows
        .into_iter()
        .map(|row| row.into_iter().map(|v| truncate_value(v, options.value_truncate)).collect())
        .collect())
}

/// Cancels a running statement server-side when dropped while still armed: a consumer that
/// goes away drops the future running the query, and that alone leaves the server working
/// until the statement timeout.
pub(crate) struct CancelOnDrop {
    cancel: Option<futures::future::BoxFuture<'static, std::result::Result<(), sqlx::Error>>>,
}

impl CancelOnDrop {
    /// Arms a guard that runs `cancel` (on a connection of its own, since the pool may be
    /// exhausted exactly when cancelling matters) if dropped before [`CancelOnDrop::disarm`].
    pub(crate) fn new(cancel: impl std::future::Future<Output = std::result::Result<(), sqlx::Error>> + Send + 'static) -> Self {
        Self { cancel: Some(Box::pin(cancel)) }
    }

    /// The statement finished: nothing to cancel.
    pub(crate) fn disarm(mut self) {
        self.cancel = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let (Some(cancel), Ok(runtime)) = (self.cancel.take(), tokio::runtime::Handle::try_current()) else { return };
        runtime.spawn(async move {
            if let Err(err) = cancel.await {
                tracing::warn!(error = %err, "could not cancel an abandoned query");
            }
        });
    }
}

