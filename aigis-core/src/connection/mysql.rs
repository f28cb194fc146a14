//! MySQL and MariaDB (and other MySQL-protocol engines) through sqlx.
//!
//! Every query runs as one prepared statement inside `START TRANSACTION READ ONLY` and is rolled
//! back. The statement timeout is the server's session variable (MariaDB `max_statement_time`,
//! MySQL `max_execution_time`), set just before the transaction and reset to its default by the
//! pool's release hook, so a pooled connection never keeps it, whether the call finished, failed
//! or was dropped midway. Engines with neither variable get a client-side timeout instead, and
//! the connection is closed rather than reused. If the caller drops the future mid-query, the
//! statement is stopped with `KILL QUERY` from a new connection.

mod decode;
mod introspect;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::mysql::{MySql, MySqlConnectOptions, MySqlConnection as RawMySqlConnection, MySqlPool, MySqlPoolOptions, MySqlSslMode};
use sqlx::pool::PoolConnection;
use sqlx::{AssertSqlSafe, Connection as _, Executor as _, Row as _};

use crate::connection::errors::{Phase, map_sqlx_error, url_password};
use crate::connection::catalog::fill_sample_rows;
use crate::connection::exec::{CancelOnDrop, sample_rows, stream_query, with_network_backstop};
use crate::connection::{Connection, ConnectionConfig, ExecLimits, IntrospectOptions, QueryResult, Schema, TlsMode};
use crate::dialect::Dialect;
use crate::error::DbErrorKind;
use crate::guard::GuardedSql;
use crate::{Error, Result};

/// How long opening one connection may take (DNS, TCP, TLS, authentication).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// How this server limits a statement's run time.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum TimeoutVar {
    /// MariaDB: `max_statement_time`, in seconds (fractional).
    MariaDb,
    /// MySQL 5.7+: `max_execution_time`, in milliseconds (SELECT only).
    MySql,
    /// Neither: the client times out and drops the connection.
    None,
}

impl TimeoutVar {
    fn set(self, timeout: Duration) -> Option<String> {
        match self {
            TimeoutVar::MariaDb => Some(format!("SET SESSION max_statement_time = {:.3}", timeout.as_secs_f64().max(0.001))),
            TimeoutVar::MySql => Some(format!("SET SESSION max_execution_time = {}", timeout.as_millis().max(1))),
            TimeoutVar::None => None,
        }
    }
}

/// A MySQL or MariaDB database behind a connection pool.
pub struct MysqlConnection {
    pool: MySqlPool,
    options: MySqlConnectOptions,
    /// Kept only to scrub it from driver messages.
    password: Option<String>,
    timeout_var: TimeoutVar,
}

impl std::fmt::Debug for MysqlConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("MysqlConnection")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .field("timeout_var", &self.timeout_var)
            .finish_non_exhaustive()
    }
}

impl MysqlConnection {
    /// Connects with a `mysql://user:password@host:port/database?ssl-mode=…` URL.
    pub async fn open(url: &str) -> Result<Self> {
        let password = url_password(url);
        // `mariadb://` is accepted as an alias.
        let url = url.strip_prefix("mariadb:").map_or_else(|| url.to_string(), |rest| format!("mysql:{rest}"));
        let options = MySqlConnectOptions::from_str(&url)
            .map_err(|e| map_sqlx_error(e, Phase::Connect, password.as_deref()))?;
        Self::open_options(options, password, &ConnectionConfig::default()).await
    }

    /// Connects with a structured config (`schema`, if set, is used as the database).
    pub async fn open_config(config: &ConnectionConfig) -> Result<Self> {
        let mut options = MySqlConnectOptions::new()
            .host(if config.host.is_empty() { "localhost" } else { &config.host })
            .port(config.port.unwrap_or(3306))
            .ssl_mode(ssl_mode(config.tls_mode));
        if let Some(user) = &config.username {
            options = options.username(user);
        }
        if let Some(password) = &config.password {
            options = options.password(password);
        }
        if let Some(database) = config.database.as_ref().or(config.schema.as_ref()) {
            options = options.database(database);
        }
        Self::open_options(options, config.password.clone(), config).await
    }

    async fn open_options(options: MySqlConnectOptions, password: Option<String>, config: &ConnectionConfig) -> Result<Self> {
        let acquire_timeout = config.pool_acquire_timeout();
        let mut conn = Self {
            pool: MySqlPoolOptions::new().connect_lazy_with(options.clone()),
            options,
            password,
            timeout_var: TimeoutVar::None,
        };
        // A direct connection reports why it failed, and tells which timeout variable exists.
        let mut direct = conn.connect_direct().await?;
        conn.timeout_var = detect_timeout_var(&mut direct).await;
        let _ = direct.close().await;
        let reset = match conn.timeout_var {
            TimeoutVar::MariaDb => Some("SET SESSION max_statement_time = DEFAULT"),
            TimeoutVar::MySql => Some("SET SESSION max_execution_time = DEFAULT"),
            TimeoutVar::None => None,
        };
        conn.pool = MySqlPoolOptions::new()
            .max_connections(config.pool_size())
            .min_connections(0)
            .acquire_timeout(acquire_timeout)
            .idle_timeout(Duration::from_secs(300))
            .after_release(move |c, _meta| {
                Box::pin(async move {
                    if let Some(reset) = reset {
                        c.execute(reset).await?;
                    }
                    Ok(true)
                })
            })
            .connect_lazy_with(conn.options.clone());
        Ok(conn)
    }

    fn map(&self, err: sqlx::Error, phase: Phase) -> Error {
        map_sqlx_error(err, phase, self.password.as_deref())
    }

    async fn connect_direct(&self) -> Result<RawMySqlConnection> {
        let connect = RawMySqlConnection::connect_with(&self.options);
        tokio::time::timeout(CONNECT_TIMEOUT, connect)
            .await
            .map_err(|_| {
                Error::database(
                    DbErrorKind::Connect,
                    format!("could not reach {}:{} within {:?}", self.options.get_host(), self.options.get_port(), CONNECT_TIMEOUT),
                )
            })?
            .map_err(|e| self.map(e, Phase::Connect))
    }

    async fn acquire(&self) -> Result<PoolConnection<MySql>> {
        match self.pool.acquire().await {
            Ok(conn) => Ok(conn),
            // Refused connections are retried by the pool until the timeout; say why.
            Err(sqlx::Error::PoolTimedOut) if self.pool.size() == 0 => {
                let _ = self.connect_direct().await?.close().await;
                Err(self.map(sqlx::Error::PoolTimedOut, Phase::Connect))
            }
            Err(e) => Err(self.map(e, Phase::Connect)),
        }
    }

    /// Runs `work` inside a read-only transaction under the statement timeout, then rolls back.
    async fn read_only<T>(
        &self,
        timeout: Duration,
        work: impl for<'c> AsyncFnOnce(&'c mut RawMySqlConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.acquire().await?;
        let outcome = async {
            if let Some(set) = self.timeout_var.set(timeout) {
                conn.execute(AssertSqlSafe(set)).await.map_err(|e| self.map(e, Phase::Query))?;
            }
            let id: u64 = conn
                .fetch_one("SELECT CONNECTION_ID()")
                .await
                .and_then(|row| row.try_get(0))
                .map_err(|e| self.map(e, Phase::Query))?;
            let options = self.options.clone();
            let mut cancel = CancelOnDrop::new(Box::new(move || {
                let options = options.clone();
                Box::pin(async move {
                    let mut c = RawMySqlConnection::connect_with(&options).await?;
                    c.execute(AssertSqlSafe(format!("KILL QUERY {id}"))).await?;
                    c.close().await
                })
            }));
            let mut tx = conn.begin_with("START TRANSACTION READ ONLY").await.map_err(|e| self.map(e, Phase::Query))?;
            let result = work(&mut tx).await;
            cancel.disarm();
            let rollback = tx.rollback().await.map_err(|e| self.map(e, Phase::Query));
            let value = result?;
            rollback?;
            Ok(value)
        };
        let outcome = match self.timeout_var {
            TimeoutVar::None => tokio::time::timeout(timeout, outcome).await.unwrap_or_else(|_| {
                Err(Error::database(DbErrorKind::Timeout, format!("the query ran past the {} ms timeout", timeout.as_millis())))
            }),
            _ => outcome.await,
        };
        if matches!(&outcome, Err(Error::Database { kind: DbErrorKind::ConnectionLost | DbErrorKind::Timeout, .. }))
            && self.timeout_var == TimeoutVar::None
        {
            conn.close_on_drop();
        } else if let Err(Error::Database { kind: DbErrorKind::ConnectionLost, .. }) = &outcome {
            conn.close_on_drop();
        }
        outcome
    }
}

/// Which timeout variable the server has (MariaDB's wins when both exist).
async fn detect_timeout_var(conn: &mut RawMySqlConnection) -> TimeoutVar {
    for (var, sql) in [
        (TimeoutVar::MariaDb, "SELECT @@max_statement_time"),
        (TimeoutVar::MySql, "SELECT @@max_execution_time"),
    ] {
        if conn.fetch_one(sql).await.is_ok_and(|row| row.len() == 1) {
            return var;
        }
    }
    TimeoutVar::None
}

fn ssl_mode(mode: TlsMode) -> MySqlSslMode {
    match mode {
        TlsMode::Disable => MySqlSslMode::Disabled,
        TlsMode::Prefer => MySqlSslMode::Preferred,
        TlsMode::Require => MySqlSslMode::Required,
        TlsMode::VerifyCa => MySqlSslMode::VerifyCa,
        TlsMode::VerifyFull => MySqlSslMode::VerifyIdentity,
    }
}

#[async_trait]
impl Connection for MysqlConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
    }

    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema> {
        let secret = self.password.as_deref();
        let mut tables = self
            .read_only(introspect::TIMEOUT, async |conn| introspect::read_catalog(conn, &options.schemas, secret).await)
            .await?;
        if options.sample_rows > 0 {
            fill_sample_rows(&mut tables, '`', move |quoted| async move {
                self.read_only(introspect::TIMEOUT, async |conn| {
                    sample_rows::<MySql, _>(conn, &quoted, options, secret, decode::decode_row).await
                })
                .await
            })
            .await;
        }
        Ok(Schema { dialect: Dialect::Mysql, tables })
    }

    async fn execute(&self, sql: &GuardedSql, limits: &ExecLimits) -> Result<QueryResult> {
        let secret = self.password.as_deref();
        let run = self.read_only(limits.timeout, async |conn| {
            stream_query::<MySql, _>(conn, sql.sql(), limits, secret, decode::decode_row).await
        });
        with_network_backstop(limits.timeout, Duration::from_secs(2), run).await
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.acquire().await?;
        conn.execute("SELECT 1").await.map_err(|e| self.map(e, Phase::Connect))?;
        Ok(())
    }
}
