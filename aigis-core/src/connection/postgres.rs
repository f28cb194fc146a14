//! PostgreSQL through sqlx.
//!
//! Every query runs in `BEGIN READ ONLY` with `statement_timeout` set for that transaction only
//! (`set_config(…, true)`, the `SET LOCAL` form), as one prepared statement on the extended
//! protocol, and is always rolled back: the server cancels a runaway statement itself, and the
//! pooled connection keeps no setting, lock or open transaction afterwards. If the caller drops
//! the future mid-query, the statement is cancelled (`pg_cancel_backend`) from a new connection.

mod decode;
mod introspect;

use std::str::FromStr;
use std::time::Duration;

use async_trait::async_trait;
use sqlx::pool::PoolConnection;
use sqlx::postgres::{PgConnectOptions, PgConnection as RawPgConnection, PgPool, PgPoolOptions, PgSslMode, Postgres};
use sqlx::{Connection as _, Executor as _, Row as _};

use crate::connection::errors::{Phase, map_sqlx_error, url_password};
use crate::connection::catalog::fill_sample_rows;
use crate::connection::exec::{CancelOnDrop, sample_rows, stream_query, with_network_backstop};
use crate::connection::{
    Connection, ConnectionConfig, ExecLimits, IntrospectOptions, QueryResult, Schema, TlsMode,
};
use crate::dialect::Dialect;
use crate::error::DbErrorKind;
use crate::guard::GuardedSql;
use crate::{Error, Result};

/// How long opening one connection may take (DNS, TCP, TLS, authentication).
const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// A PostgreSQL database behind a connection pool.
pub struct PostgresConnection {
    pool: PgPool,
    options: PgConnectOptions,
    /// Kept only to scrub it from driver messages.
    password: Option<String>,
    /// The schema named in the config, which introspection is limited to.
    schema: Option<String>,
}

impl std::fmt::Debug for PostgresConnection {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PostgresConnection")
            .field("host", &self.options.get_host())
            .field("database", &self.options.get_database())
            .field("schema", &self.schema)
            .finish_non_exhaustive()
    }
}

impl PostgresConnection {
    /// Connects with a `postgres://user:password@host:port/database?sslmode=…` URL.
    pub async fn open(url: &str) -> Result<Self> {
        let password = url_password(url);
        let options = PgConnectOptions::from_str(url)
            .map_err(|e| map_sqlx_error(e, Phase::Connect, password.as_deref()))?;
        Self::open_options(options, password, None, &ConnectionConfig::default()).await
    }

    /// Connects with a structured config.
    pub async fn open_config(config: &ConnectionConfig) -> Result<Self> {
        let mut options = PgConnectOptions::new_without_pgpass()
            .host(if config.host.is_empty() { "localhost" } else { &config.host })
            .port(config.port.unwrap_or(5432))
            .ssl_mode(ssl_mode(config.tls_mode));
        if let Some(user) = &config.username {
            options = options.username(user);
        }
        if let Some(password) = &config.password {
            options = options.password(password);
        }
        if let Some(database) = &config.database {
            options = options.database(database);
        }
        if let Some(schema) = &config.schema {
            options = options.options([("search_path", schema.as_str())]);
        }
        Self::open_options(options, config.password.clone(), config.schema.clone(), config).await
    }

    async fn open_options(
        options: PgConnectOptions,
        password: Option<String>,
        schema: Option<String>,
        config: &ConnectionConfig,
    ) -> Result<Self> {
        let options = options.application_name("aigis");
        let acquire_timeout = config.pool_acquire_timeout();
        let pool = PgPoolOptions::new()
            .max_connections(config.pool_size())
            .min_connections(0)
            .acquire_timeout(acquire_timeout)
            .idle_timeout(Duration::from_secs(300))
            .connect_lazy_with(options.clone());
        let conn = Self { pool, options, password, schema };
        // A direct connection reports why it failed (the pool would only say it timed out).
        conn.diagnose().await?;
        Ok(conn)
    }

    fn map(&self, err: sqlx::Error, phase: Phase) -> Error {
        map_sqlx_error(err, phase, self.password.as_deref())
    }

    /// Opens and closes one connection outside the pool, mapping the real failure.
    async fn diagnose(&self) -> Result<()> {
        let connect = RawPgConnection::connect_with(&self.options);
        let conn = tokio::time::timeout(CONNECT_TIMEOUT, connect).await.map_err(|_| {
            Error::database(
                DbErrorKind::Connect,
                format!("could not reach {}:{} within {:?}", self.options.get_host(), self.options.get_port(), CONNECT_TIMEOUT),
            )
        })?;
        let conn = conn.map_err(|e| self.map(e, Phase::Connect))?;
        conn.close().await.map_err(|e| self.map(e, Phase::Connect))
    }

    async fn acquire(&self) -> Result<PoolConnection<Postgres>> {
        match self.pool.acquire().await {
            Ok(conn) => Ok(conn),
            // Refused connections are retried by the pool until the timeout; say why.
            Err(sqlx::Error::PoolTimedOut) if self.pool.size() == 0 => {
                self.diagnose().await?;
                Err(self.map(sqlx::Error::PoolTimedOut, Phase::Connect))
            }
            Err(e) => Err(self.map(e, Phase::Connect)),
        }
    }

    /// Runs `work` inside a read-only transaction with a statement timeout, then rolls back.
    async fn read_only<T>(
        &self,
        timeout: Duration,
        work: impl for<'c> AsyncFnOnce(&'c mut RawPgConnection) -> Result<T>,
    ) -> Result<T> {
        let mut conn = self.acquire().await?;
        let outcome = async {
            let mut tx = conn.begin_with("BEGIN READ ONLY").await.map_err(|e| self.map(e, Phase::Query))?;
            let ms = timeout.as_millis().clamp(1, i32::MAX as u128);
            let pid: i32 = sqlx::query("SELECT set_config('statement_timeout', $1, true), pg_backend_pid()")
                .bind(format!("{ms}ms"))
                .fetch_one(&mut *tx)
                .await
                .and_then(|row| row.try_get(1))
                .map_err(|e| self.map(e, Phase::Query))?;
            let options = self.options.clone();
            let mut cancel = CancelOnDrop::new(Box::new(move || {
                let options = options.clone();
                Box::pin(async move {
                    let mut c = RawPgConnection::connect_with(&options).await?;
                    sqlx::query("SELECT pg_cancel_backend($1)").bind(pid).execute(&mut c).await?;
                    c.close().await
                })
            }));
            let result = work(&mut tx).await;
            cancel.disarm();
            let rollback = tx.rollback().await.map_err(|e| self.map(e, Phase::Query));
            let value = result?;
            rollback?;
            Ok(value)
        }
        .await;
        if let Err(Error::Database { kind: DbErrorKind::ConnectionLost, .. }) = &outcome {
            conn.close_on_drop();
        }
        outcome
    }
}

fn ssl_mode(mode: TlsMode) -> PgSslMode {
    match mode {
        TlsMode::Disable => PgSslMode::Disable,
        TlsMode::Prefer => PgSslMode::Prefer,
        TlsMode::Require => PgSslMode::Require,
        TlsMode::VerifyCa => PgSslMode::VerifyCa,
        TlsMode::VerifyFull => PgSslMode::VerifyFull,
    }
}

#[async_trait]
impl Connection for PostgresConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Postgres
    }

    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema> {
        let schemas: Vec<String> = match (&self.schema, options.schemas.is_empty()) {
            (_, false) => options.schemas.clone(),
            (Some(s), true) => vec![s.clone()],
            (None, true) => Vec::new(),
        };
        let secret = self.password.as_deref();
        let mut tables = self
            .read_only(introspect::TIMEOUT, async |conn| introspect::read_catalog(conn, &schemas, options, secret).await)
            .await?;
        if options.sample_rows > 0 {
            // One transaction per table: a view that fails to run costs only its samples.
            fill_sample_rows(&mut tables, '"', move |quoted| async move {
                self.read_only(introspect::TIMEOUT, async |conn| {
                    sample_rows::<Postgres, _>(conn, &quoted, options, secret, decode::decode_row).await
                })
                .await
            })
            .await;
        }
        Ok(Schema { dialect: Dialect::Postgres, tables })
    }

    async fn execute(&self, sql: &GuardedSql, limits: &ExecLimits) -> Result<QueryResult> {
        let secret = self.password.as_deref();
        let run = self.read_only(limits.timeout, async |conn| {
            stream_query::<Postgres, _>(conn, sql.sql(), limits, secret, decode::decode_row).await
        });
        with_network_backstop(limits.timeout, Duration::from_secs(2), run).await
    }

    async fn ping(&self) -> Result<()> {
        let mut conn = self.acquire().await?;
        conn.execute("SELECT 1").await.map_err(|e| self.map(e, Phase::Connect))?;
        Ok(())
    }
}
