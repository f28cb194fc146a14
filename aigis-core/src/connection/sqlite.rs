//! SQLite through sqlx: opened read-only.

use async_trait::async_trait;

use crate::connection::{Connection, ExecLimits, IntrospectOptions, QueryResult, Schema};
use crate::dialect::Dialect;
use crate::guard::GuardedSql;
use crate::{Error, Result};

/// A read-only SQLite database.
pub struct SqliteConnection {
    _url: String,
}

impl SqliteConnection {
    /// Opens the database at a `sqlite://` URL read-only.
    pub async fn open(url: &str) -> Result<Self> {
        // Placeholder until the connections work lands.
        Err(Error::Unsupported(format!("SQLite connection not implemented yet ({} chars)", url.len())))
    }
}

#[async_trait]
impl Connection for SqliteConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Sqlite
    }
    async fn introspect(&self, _options: &IntrospectOptions) -> Result<Schema> {
        Err(Error::Unsupported("introspect".into()))
    }
    async fn execute(&self, _sql: &GuardedSql, _limits: &ExecLimits) -> Result<QueryResult> {
        Err(Error::Unsupported("execute".into()))
    }
    async fn ping(&self) -> Result<()> {
        Err(Error::Unsupported("ping".into()))
    }
}
