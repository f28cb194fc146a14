//! Mysql through sqlx.

use async_trait::async_trait;

use crate::connection::{Connection, ExecLimits, IntrospectOptions, QueryResult, Schema};
use crate::dialect::Dialect;
use crate::guard::GuardedSql;
use crate::{Error, Result};

/// A Mysql database.
pub struct MysqlConnection {
    _url: String,
}

impl MysqlConnection {
    /// Opens the database from a URL.
    pub async fn open(url: &str) -> Result<Self> {
        // Placeholder until the connections work lands.
        Err(Error::Unsupported(format!("Mysql connection not implemented yet ({} chars)", url.len())))
    }
}

#[async_trait]
impl Connection for MysqlConnection {
    fn dialect(&self) -> Dialect {
        Dialect::Mysql
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
