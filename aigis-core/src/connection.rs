//! Database connections: the [`Connection`] trait, the schema model and query results.
//!
//! Backends live in `connection/` behind cargo features (`sqlite`, `postgres`, `mysql`). Every
//! backend runs a query only as a [`GuardedSql`] (which only the guard can make), inside a
//! read-only transaction, with a server-side timeout and row/byte caps applied while rows stream.

use std::sync::Arc;
use std::time::Duration;

use async_trait::async_trait;
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dialect::Dialect;
use crate::guard::GuardedSql;
use crate::{Error, Result};

/// Whether a relation is a base table or a view.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum TableKind {
    /// A base table.
    #[default]
    Table,
    /// A view (or materialised view).
    View,
}

/// One column of a table.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Column {
    /// Column name as stored.
    pub name: String,
    /// Database type name (e.g. `integer`, `varchar(40)`).
    pub data_type: String,
    /// Whether NULL is allowed.
    pub nullable: bool,
    /// Default expression, if any.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub default: Option<String>,
    /// Comment or data-dictionary description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Other names people use for this column (data dictionary).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<String>,
    /// Marked as personal data (data dictionary); feeds the guard's PII policy.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub pii: bool,
}

/// A foreign key from this table to another.
#[derive(Debug, Clone, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
pub struct ForeignKey {
    /// Columns of this table.
    pub columns: Vec<String>,
    /// Schema of the referenced table, when not the same.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub referred_schema: Option<String>,
    /// Referenced table.
    pub referred_table: String,
    /// Referenced columns.
    pub referred_columns: Vec<String>,
}

/// A table or view with its columns and keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Table {
    /// Schema (namespace); `None` for SQLite's main database.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub schema: Option<String>,
    /// Table name as stored.
    pub name: String,
    /// Table or view.
    #[serde(default)]
    pub kind: TableKind,
    /// Human title (data dictionary).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// Comment or data-dictionary description.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub comment: Option<String>,
    /// Columns in order.
    pub columns: Vec<Column>,
    /// Primary-key columns.
    #[serde(default)]
    pub primary_key: Vec<String>,
    /// Foreign keys.
    #[serde(default)]
    pub foreign_keys: Vec<ForeignKey>,
    /// Estimated row count, when the engine keeps one.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub row_estimate: Option<i64>,
    /// Sample rows (on request), long values truncated.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub sample_rows: Vec<Vec<serde_json::Value>>,
}

impl Table {
    /// `schema.name`, or `name` when there is no schema.
    pub fn qualified_name(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.name),
            None => self.name.clone(),
        }
    }

    /// The column with this name (case-insensitive).
    pub fn column(&self, name: &str) -> Option<&Column> {
        self.columns.iter().find(|c| c.name.eq_ignore_ascii_case(name))
    }
}

/// A database's tables and views.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct Schema {
    /// Dialect of the database this came from.
    pub dialect: Dialect,
    /// Tables and views.
    pub tables: Vec<Table>,
}

impl Schema {
    /// The table with this (optionally schema-qualified) name, case-insensitive.
    pub fn table(&self, name: &str) -> Option<&Table> {
        let (schema, table) = match name.rsplit_once('.') {
            Some((s, t)) => (Some(s), t),
            None => (None, name),
        };
        self.tables.iter().find(|t| {
            t.name.eq_ignore_ascii_case(table)
                && schema.is_none_or(|s| t.schema.as_deref().is_some_and(|ts| ts.eq_ignore_ascii_case(s)))
        })
    }
}

/// What to introspect beyond names, types and keys.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct IntrospectOptions {
    /// Sample rows to fetch per table (0: none).
    pub sample_rows: usize,
    /// Longer text values in samples are cut to this many characters.
    pub value_truncate: usize,
    /// Only these schemas (empty: the engine's default/user schemas).
    pub schemas: Vec<String>,
}

/// Limits applied to one execution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ExecLimits {
    /// Rows kept at most; more sets `truncated`.
    pub max_rows: usize,
    /// Bytes of JSON values kept at most; more sets `truncated`.
    pub max_bytes: usize,
    /// Server-side statement timeout.
    pub timeout: Duration,
}

impl Default for ExecLimits {
    fn default() -> Self {
        Self { max_rows: 1000, max_bytes: 16 * 1024 * 1024, timeout: Duration::from_secs(30) }
    }
}

/// Name and type of a result column.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct ColumnInfo {
    /// Column name (alias) as returned.
    pub name: String,
    /// Database type name, as the driver reports it.
    pub data_type: String,
}

/// The rows a query returned.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
pub struct QueryResult {
    /// Result columns.
    pub columns: Vec<ColumnInfo>,
    /// Rows as JSON values.
    pub rows: Vec<Vec<serde_json::Value>>,
    /// Rows returned (after caps).
    pub row_count: u64,
    /// Whether a cap cut the result.
    pub truncated: bool,
}

impl QueryResult {
    /// Column names.
    pub fn column_names(&self) -> Vec<String> {
        self.columns.iter().map(|c| c.name.clone()).collect()
    }
}

/// A database the assistant may read.
///
/// Object-safe: hold it as `Arc<dyn Connection>`.
#[async_trait]
pub trait Connection: Send + Sync {
    /// The SQL dialect of this database.
    fn dialect(&self) -> Dialect;

    /// Tables, views, columns and keys.
    async fn introspect(&self, options: &IntrospectOptions) -> Result<Schema>;

    /// Runs a guarded query read-only, within the limits.
    async fn execute(&self, sql: &GuardedSql, limits: &ExecLimits) -> Result<QueryResult>;

    /// Checks that the database answers.
    async fn ping(&self) -> Result<()>;
}

/// How to use TLS to the server (PostgreSQL `sslmode` names; MySQL maps them to its `ssl-mode`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "kebab-case")]
pub enum TlsMode {
    /// Never use TLS.
    Disable,
    /// Use TLS when the server offers it.
    #[default]
    Prefer,
    /// Require TLS, without verifying the certificate.
    Require,
    /// Require TLS and a certificate signed by a trusted CA.
    VerifyCa,
    /// Require TLS, a trusted certificate, and a matching host name.
    VerifyFull,
}

/// A connection described field by field instead of by URL (e.g. from a settings form).
///
/// The password never appears in `Debug` output or in error messages.
#[derive(Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct ConnectionConfig {
    /// Which engine: `postgres`, `mysql` or `sqlite`.
    pub db_type: Dialect,
    /// Server host name or address (for SQLite: unused).
    pub host: String,
    /// Server port; the engine's default when absent.
    pub port: Option<u16>,
    /// User name.
    pub username: Option<String>,
    /// Password (kept out of `Debug` and errors; seal it at rest with [`crate::secret::SecretBox`]).
    pub password: Option<String>,
    /// Database name (for SQLite: the file path).
    pub database: Option<String>,
    /// Schema to read and to resolve unqualified names in (PostgreSQL `search_path`).
    pub schema: Option<String>,
    /// TLS mode.
    pub tls_mode: TlsMode,
    /// Most pooled connections (default 5).
    pub max_connections: Option<u32>,
    /// How long to wait for a pooled connection, in milliseconds (default 5000).
    pub acquire_timeout_ms: Option<u64>,
}

impl std::fmt::Debug for ConnectionConfig {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionConfig")
            .field("db_type", &self.db_type)
            .field("host", &self.host)
            .field("port", &self.port)
            .field("username", &self.username)
            .field("password", &self.password.as_ref().map(|_| "***"))
            .field("database", &self.database)
            .field("schema", &self.schema)
            .field("tls_mode", &self.tls_mode)
            .field("max_connections", &self.max_connections)
            .field("acquire_timeout_ms", &self.acquire_timeout_ms)
            .finish()
    }
}

impl ConnectionConfig {
    /// A config for this engine and host, with everything else defaulted.
    pub fn new(db_type: Dialect, host: impl Into<String>) -> Self {
        Self { db_type, host: host.into(), ..Self::default() }
    }

    /// Sets the port.
    pub fn port(mut self, port: u16) -> Self {
        self.port = Some(port);
        self
    }

    /// Sets the user name and password.
    pub fn credentials(mut self, username: impl Into<String>, password: Option<String>) -> Self {
        self.username = Some(username.into());
        self.password = password;
        self
    }

    /// Sets the database name.
    pub fn database(mut self, database: impl Into<String>) -> Self {
        self.database = Some(database.into());
        self
    }

    /// Sets the schema.
    pub fn schema(mut self, schema: impl Into<String>) -> Self {
        self.schema = Some(schema.into());
        self
    }

    /// Sets the TLS mode.
    pub fn tls_mode(mut self, tls_mode: TlsMode) -> Self {
        self.tls_mode = tls_mode;
        self
    }

    /// Sets the pool size.
    pub fn max_connections(mut self, max: u32) -> Self {
        self.max_connections = Some(max);
        self
    }

    /// Sets how long to wait for a pooled connection.
    pub fn acquire_timeout(mut self, timeout: Duration) -> Self {
        self.acquire_timeout_ms = Some(u64::try_from(timeout.as_millis()).unwrap_or(u64::MAX));
        self
    }

    /// The pool size to use.
    pub(crate) fn pool_size(&self) -> u32 {
        self.max_connections.unwrap_or(5).max(1)
    }

    /// The acquire timeout to use.
    pub(crate) fn pool_acquire_timeout(&self) -> Duration {
        Duration::from_millis(self.acquire_timeout_ms.unwrap_or(5000))
    }
}

/// Opens a connection from a structured config.
pub async fn connect_config(config: &ConnectionConfig) -> Result<Arc<dyn Connection>> {
    match config.db_type {
        Dialect::Sqlite => {
            let path = config.database.as_deref().unwrap_or_default();
            connect_sqlite(&format!("sqlite://{path}")).await
        }
        Dialect::Postgres => connect_postgres_config(config).await,
        Dialect::Mysql => connect_mysql_config(config).await,
        Dialect::Generic => Err(Error::Config("db_type must be postgres, mysql or sqlite".into())),
    }
}

/// Opens a connection from a sqlx-style URL (`sqlite://…`, `postgres://…`, `mysql://…`).
pub async fn connect(url: &str) -> Result<Arc<dyn Connection>> {
    let scheme = url.split(':').next().unwrap_or_default().to_ascii_lowercase();
    match scheme.as_str() {
        "sqlite" => connect_sqlite(url).await,
        "postgres" | "postgresql" => connect_postgres(url).await,
        "mysql" | "mariadb" => connect_mysql(url).await,
        _ => Err(Error::Config(format!(
            "unsupported database URL scheme `{scheme}` (expected sqlite:, postgres: or mysql:)"
        ))),
    }
}

#[cfg(feature = "sqlite")]
async fn connect_sqlite(url: &str) -> Result<Arc<dyn Connection>> {
    Ok(Arc::new(sqlite::SqliteConnection::open(url).await?))
}
#[cfg(not(feature = "sqlite"))]
async fn connect_sqlite(_url: &str) -> Result<Arc<dyn Connection>> {
    Err(Error::Unsupported("aigis-core was built without the `sqlite` feature".into()))
}

#[cfg(feature = "postgres")]
async fn connect_postgres(url: &str) -> Result<Arc<dyn Connection>> {
    Ok(Arc::new(postgres::PostgresConnection::open(url).await?))
}
#[cfg(feature = "postgres")]
async fn connect_postgres_config(config: &ConnectionConfig) -> Result<Arc<dyn Connection>> {
    Ok(Arc::new(postgres::PostgresConnection::open_config(config).await?))
}
#[cfg(not(feature = "postgres"))]
async fn connect_postgres(_url: &str) -> Result<Arc<dyn Connection>> {
    Err(Error::Unsupported("aigis-core was built without the `postgres` feature".into()))
}
#[cfg(not(feature = "postgres"))]
async fn connect_postgres_config(_config: &ConnectionConfig) -> Result<Arc<dyn Connection>> {
    Err(Error::Unsupported("aigis-core was built without the `postgres` feature".into()))
}

#[cfg(feature = "mysql")]
async fn connect_mysql(url: &str) -> Result<Arc<dyn Connection>> {
    Ok(Arc::new(mysql::MysqlConnection::open(url).await?))
}
#[cfg(feature = "mysql")]
async fn connect_mysql_config(config: &ConnectionConfig) -> Result<Arc<dyn Connection>> {
    Ok(Arc::new(mysql::MysqlConnection::open_config(config).await?))
}
#[cfg(not(feature = "mysql"))]
async fn connect_mysql(_url: &str) -> Result<Arc<dyn Connection>> {
    Err(Error::Unsupported("aigis-core was built without the `mysql` feature".into()))
}
#[cfg(not(feature = "mysql"))]
async fn connect_mysql_config(_config: &ConnectionConfig) -> Result<Arc<dyn Connection>> {
    Err(Error::Unsupported("aigis-core was built without the `mysql` feature".into()))
}

mod catalog;
pub(crate) mod errors;
mod exec;
mod value;

#[cfg(feature = "sqlite")]
pub mod sqlite;
#[cfg(feature = "postgres")]
pub mod postgres;
#[cfg(feature = "mysql")]
pub mod mysql;
