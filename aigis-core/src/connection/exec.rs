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

/// Decodes every column of a row with `decode_value` (given the raw value and its type name),
/// naming the type and column when one does not decode.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) fn decode_columns<'r, R>(
    row: &'r R,
    decode_value: impl Fn(<R::Database as sqlx::Database>::ValueRef<'r>, &str) -> std::result::Result<Value, sqlx::error::BoxDynError>,
) -> Result<Vec<Value>>
where
    R: sqlx::Row,
    usize: sqlx::ColumnIndex<R>,
{
    use sqlx::ValueRef as _;
    (0..row.len())
        .map(|i| {
            let raw = row.try_get_raw(i).map_err(|e| map_sqlx_error(e, Phase::Query, None))?;
            let type_name = raw.type_info().name().to_string();
            decode_value(raw, &type_name).map_err(|e| {
                crate::Error::database(crate::DbErrorKind::Decode, format!("could not decode a {type_name} value in column {i}: {e}"))
            })
        })
        .collect()
}

/// Runs a server-timed query with a client-side backstop `grace` past the server's timeout:
/// the server cancels the statement itself, so this only catches a stuck network.
#[cfg(any(feature = "postgres", feature = "mysql"))]
pub(crate) async fn with_network_backstop<T>(
    timeout: std::time::Duration,
    grace: std::time::Duration,
    run: impl std::future::Future<Output = Result<T>>,
) -> Result<T> {
    match tokio::time::timeout(timeout + grace, run).await {
        Ok(result) => result,
        Err(_) => Err(crate::Error::database(
            crate::DbErrorKind::Timeout,
            format!("no answer from the server within {} ms", (timeout + grace).as_millis()),
        )),
    }
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

/// One try at cancelling a statement from a fresh connection; `Err` when it did not get through.
pub(crate) type CancelAttempt = Box<dyn Fn() -> futures::future::BoxFuture<'static, std::result::Result<(), sqlx::Error>> + Send + Sync>;

/// Pauses before each retry of a cancel: a busy server or a full connection table must not
/// leave the statement running until its timeout because one connect failed.
const CANCEL_BACKOFF_MS: [u64; 5] = [50, 200, 500, 1_000, 2_000];

/// Cancels a running statement server-side if the future running it is dropped (the caller
/// went away) before [`CancelOnDrop::disarm`]: without this the server would keep working
/// until the statement timeout.
pub(crate) struct CancelOnDrop {
    attempt: Option<CancelAttempt>,
}

impl CancelOnDrop {
    /// Arms `attempt`, which is spawned on the current tokio runtime on drop and retried
    /// (with [`CANCEL_BACKOFF_MS`]) until it succeeds.
    pub(crate) fn new(attempt: CancelAttempt) -> Self {
        Self { attempt: Some(attempt) }
    }

    /// The statement finished: nothing to cancel.
    pub(crate) fn disarm(&mut self) {
        self.attempt = None;
    }
}

impl Drop for CancelOnDrop {
    fn drop(&mut self) {
        let Some(attempt) = self.attempt.take() else { return };
        // The first try starts here, so a cancel that needs no I/O (SQLite's) happens at once.
        let first = attempt();
        match tokio::runtime::Handle::try_current() {
            Ok(runtime) => {
                runtime.spawn(cancel_with_retries(first, attempt));
            }
            Err(_) => tracing::warn!("a query was abandoned outside a tokio runtime; it runs on until its timeout"),
        }
    }
}

async fn cancel_with_retries(
    first: futures::future::BoxFuture<'static, std::result::Result<(), sqlx::Error>>,
    attempt: CancelAttempt,
) {
    let Err(mut last_error) = first.await else { return };
    for pause in CANCEL_BACKOFF_MS {
        tokio::time::sleep(std::time::Duration::from_millis(pause)).await;
        match attempt().await {
            Ok(()) => return,
            Err(e) => last_error = e,
        }
    }
    tracing::warn!(error = %last_error, "could not cancel an abandoned query; it runs on until its timeout");
}
