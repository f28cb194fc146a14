//! Per-user database connections. The URL (with any password) is stored sealed only.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, new_id, now_ms};

/// A saved connection. `url_sealed` never leaves the server.
#[derive(Clone)]
pub struct ConnectionRow {
    /// Id.
    pub id: String,
    /// Owner.
    pub user_id: String,
    /// Display name.
    pub name: String,
    /// `sqlite`, `postgres` or `mysql`.
    pub db_type: String,
    /// Host, when known.
    pub host: Option<String>,
    /// Port, when known.
    pub port: Option<i64>,
    /// Database user, when known.
    pub username: Option<String>,
    /// Database name or file.
    pub database: Option<String>,
    /// The sealed URL.
    pub url_sealed: String,
    /// Creation time (ms).
    pub created_at: i64,
}

impl std::fmt::Debug for ConnectionRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ConnectionRow").field("id", &self.id).field("name", &self.name).finish_non_exhaustive()
    }
}

/// A connection as the API shows it: no password, no sealed URL.
#[derive(Debug, Clone, Serialize)]
pub struct ConnectionView {
    /// Id.
    pub id: String,
    /// Display name.
    pub name: String,
    /// `sqlite`, `postgres` or `mysql`.
    pub db_type: String,
    /// Host.
    pub host: Option<String>,
    /// Port.
    pub port: Option<i64>,
    /// Database user.
    pub username: Option<String>,
    /// Database name or file.
    pub database: Option<String>,
    /// Creation time (ms).
    pub created_at: i64,
}

impl From<&ConnectionRow> for ConnectionView {
    fn from(c: &ConnectionRow) -> Self {
        Self {
            id: c.id.clone(),
            name: c.name.clone(),
            db_type: c.db_type.clone(),
            host: c.host.clone(),
            port: c.port,
            username: c.username.clone(),
            database: c.database.clone(),
            created_at: c.created_at,
        }
    }
}

fn connection_of(row: &AnyRow) -> Result<ConnectionRow, sqlx::Error> {
    Ok(ConnectionRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        name: row.try_get("name")?,
        db_type: row.try_get("db_type")?,
        host: row.try_get("host")?,
        port: row.try_get("port")?,
        username: row.try_get("username")?,
        database: row.try_get("database_name")?,
        url_sealed: row.try_get("url_sealed")?,
        created_at: row.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, user_id, name, db_type, host, port, username, database_name, url_sealed, created_at";

impl Store {
    /// Saves a new connection (its `id` and `created_at` are set here).
    pub async fn insert_connection(&self, mut c: ConnectionRow) -> Result<ConnectionRow, sqlx::Error> {
        c.id = new_id();
        c.created_at = now_ms();
        sqlx::query(
            "INSERT INTO connections (id, user_id, name, db_type, host, port, username, database_name, url_sealed, \
             created_at, updated_at) VALUES ($1, $2, $3, $4, $5, $6, $7, $8, $9, $10, $10)",
        )
        .bind(&c.id)
        .bind(&c.user_id)
        .bind(&c.name)
        .bind(&c.db_type)
        .bind(&c.host)
        .bind(c.port)
        .bind(&c.username)
        .bind(&c.database)
        .bind(&c.url_sealed)
        .bind(c.created_at)
        .execute(self.writer())
        .await?;
        Ok(c)
    }

    /// Replaces a connection's settings.
    pub async fn update_connection(&self, c: &ConnectionRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE connections SET name = $1, db_type = $2, host = $3, port = $4, username = $5, database_name = $6, \
             url_sealed = $7, updated_at = $8 WHERE id = $9 AND user_id = $10",
        )
        .bind(&c.name)
        .bind(&c.db_type)
        .bind(&c.host)
        .bind(c.port)
        .bind(&c.username)
        .bind(&c.database)
        .bind(&c.url_sealed)
        .bind(now_ms())
        .bind(&c.id)
        .bind(&c.user_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// A user's connection; `None` for another user's.
    pub async fn connection(&self, user_id: &str, id: &str) -> Result<Option<ConnectionRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE id = $1 AND user_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(user_id).fetch_optional(self.pool()).await?.as_ref().map(connection_of).transpose()
    }

    /// A user's connections.
    pub async fn connections(&self, user_id: &str) -> Result<Vec<ConnectionRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM connections WHERE user_id = $1 ORDER BY created_at, name");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(self.pool()).await?.iter().map(connection_of).collect()
    }

    /// Deletes a user's connection; threads using it fall back to the default.
    pub async fn delete_connection(&self, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("UPDATE threads SET connection_id = NULL WHERE connection_id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        let res = sqlx::query("DELETE FROM connections WHERE id = $1 AND user_id = $2")
            .bind(id)
            .bind(user_id)
            .execute(&mut *tx)
            .await?;
        tx.commit().await?;
        Ok(res.rows_affected() > 0)
    }
}
