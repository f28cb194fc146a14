//! Threads and their messages.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, json_col, new_id, now_ms};

/// A thread.
#[derive(Debug, Clone, Serialize)]
pub struct ThreadRow {
    /// Id.
    pub id: String,
    /// Owner.
    #[serde(skip)]
    pub user_id: String,
    /// Sanitised title.
    pub title: String,
    /// Selected model, if any.
    pub model: Option<String>,
    /// Selected connection, if any.
    pub connection_id: Option<String>,
    /// Creation time (ms).
    pub created_at: i64,
    /// Last change (ms).
    pub updated_at: i64,
}

/// One message of a thread, with the events that rendered it.
#[derive(Debug, Clone, Serialize)]
pub struct MessageRow {
    /// Id.
    pub id: String,
    /// Order in the thread.
    pub seq: i64,
    /// `user` or `assistant`.
    pub role: String,
    /// The text.
    pub content: String,
    /// The SQL that answered (assistant messages).
    pub sql: Option<String>,
    /// `ok`, `error` or `cancelled`.
    pub status: String,
    /// The events, in order (rows previews cut to a few rows).
    pub events: serde_json::Value,
    /// Creation time (ms).
    pub created_at: i64,
}

fn thread_of(row: &AnyRow) -> Result<ThreadRow, sqlx::Error> {
    Ok(ThreadRow {
        id: row.try_get("id")?,
        user_id: row.try_get("user_id")?,
        title: row.try_get("title")?,
        model: row.try_get("model")?,
        connection_id: row.try_get("connection_id")?,
        created_at: row.try_get("created_at")?,
        updated_at: row.try_get("updated_at")?,
    })
}

fn message_of(row: &AnyRow) -> Result<MessageRow, sqlx::Error> {
    message_fields(row, json_col(row, "events")?)
}

fn message_fields(row: &AnyRow, events: serde_json::Value) -> Result<MessageRow, sqlx::Error> {
    Ok(MessageRow {
        id: row.try_get("id")?,
        seq: row.try_get("seq")?,
        role: row.try_get("role")?,
        content: row.try_get("content")?,
        sql: row.try_get("sql_text")?,
        status: row.try_get("status")?,
        events,
        created_at: row.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, user_id, title, model, connection_id, created_at, updated_at";

/// An exchange to persist: the question and the answer with its events.
pub struct Exchange<'a> {
    /// The user's text.
    pub question: &'a str,
    /// The answer text.
    pub answer: &'a str,
    /// The SQL that ran.
    pub sql: Option<&'a str>,
    /// `ok`, `error` or `cancelled`.
    pub status: &'a str,
    /// The events (JSON array).
    pub events: &'a serde_json::Value,
}

impl Store {
    /// Creates a thread.
    pub async fn create_thread(&self, user_id: &str, title: &str) -> Result<ThreadRow, sqlx::Error> {
        let (id, now) = (new_id(), now_ms());
        sqlx::query(
            "INSERT INTO threads (id, user_id, title, created_at, updated_at) VALUES ($1, $2, $3, $4, $4)",
        )
        .bind(&id)
        .bind(user_id)
        .bind(title)
        .bind(now)
        .execute(self.writer())
        .await?;
        Ok(ThreadRow { id, user_id: user_id.into(), title: title.into(), model: None, connection_id: None, created_at: now, updated_at: now })
    }

    /// A user's thread; `None` for another user's.
    pub async fn thread(&self, user_id: &str, id: &str) -> Result<Option<ThreadRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM threads WHERE id = $1 AND user_id = $2");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).bind(user_id).fetch_optional(self.pool()).await?.as_ref().map(thread_of).transpose()
    }

    /// A user's threads, most recent first.
    pub async fn threads(&self, user_id: &str) -> Result<Vec<ThreadRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM threads WHERE user_id = $1 ORDER BY updated_at DESC, id");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(user_id).fetch_all(self.pool()).await?.iter().map(thread_of).collect()
    }

    /// Saves title, model and connection of a thread.
    pub async fn update_thread(&self, t: &ThreadRow) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE threads SET title = $1, model = $2, connection_id = $3, updated_at = $4 WHERE id = $5 AND user_id = $6",
        )
        .bind(&t.title)
        .bind(&t.model)
        .bind(&t.connection_id)
        .bind(now_ms())
        .bind(&t.id)
        .bind(&t.user_id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Deletes a thread and its messages.
    pub async fn delete_thread(&self, user_id: &str, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        let res = sqlx::query("DELETE FROM threads WHERE id = $1 AND user_id = $2").bind(id).bind(user_id).execute(&mut *tx).await?;
        if res.rows_affected() > 0 {
            sqlx::query("DELETE FROM messages WHERE thread_id = $1").bind(id).execute(&mut *tx).await?;
        }
        tx.commit().await?;
        Ok(res.rows_affected() > 0)
    }

    /// The messages of a thread, in order.
    pub async fn messages(&self, thread_id: &str) -> Result<Vec<MessageRow>, sqlx::Error> {
        sqlx::query(
            "SELECT id, seq, role, content, sql_text, status, events, created_at FROM messages WHERE thread_id = $1 ORDER BY seq",
        )
        .bind(thread_id)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(message_of)
        .collect()
    }

    /// The last `limit` messages of a thread, oldest first, without their events: what a
    /// follow-up question needs, read without parsing a long thread's stored results.
    pub async fn recent_messages(&self, thread_id: &str, limit: i64) -> Result<Vec<MessageRow>, sqlx::Error> {
        let mut rows = sqlx::query(
            "SELECT id, seq, role, content, sql_text, status, created_at FROM messages WHERE thread_id = $1 \
             ORDER BY seq DESC LIMIT $2",
        )
        .bind(thread_id)
        .bind(limit)
        .fetch_all(self.pool())
        .await?
        .iter()
        .map(|row| message_fields(row, serde_json::Value::Null))
        .collect::<Result<Vec<_>, _>>()?;
        rows.reverse();
        Ok(rows)
    }

    /// One message of a thread.
    pub async fn message(&self, thread_id: &str, id: &str) -> Result<Option<MessageRow>, sqlx::Error> {
        sqlx::query(
            "SELECT id, seq, role, content, sql_text, status, events, created_at FROM messages WHERE thread_id = $1 AND id = $2",
        )
        .bind(thread_id)
        .bind(id)
        .fetch_optional(self.pool())
        .await?
        .as_ref()
        .map(message_of)
        .transpose()
    }

    /// Persists the user message and the assistant message together: both or neither.
    ///
    /// One statement inserts both, numbered after the thread's last message, and a trigger
    /// moves the thread's `updated_at`. On SQLite, whose writes all go through one connection
    /// in order, that statement is the whole save: one round trip to the writer instead of four
    /// (begin, update, insert, commit), which under load is what saves queue on. PostgreSQL
    /// has concurrent writers, so there the thread's row is locked first, in a transaction, so
    /// that two exchanges in one thread cannot take the same `seq`.
    pub async fn save_exchange(&self, thread_id: &str, ex: Exchange<'_>) -> Result<(), sqlx::Error> {
        let now = now_ms();
        let insert = "WITH last AS (SELECT COALESCE(MAX(seq), 0) AS seq FROM messages WHERE thread_id = $2) \
                      INSERT INTO messages (id, thread_id, seq, role, content, sql_text, status, events, created_at) \
                      SELECT $1, $2, last.seq + 1, 'user', $3, NULL, 'ok', '[]', $4 FROM last \
                      UNION ALL SELECT $5, $2, last.seq + 2, 'assistant', $6, $7, $8, $9, $4 FROM last";
        let events = ex.events.to_string();
        let insert = sqlx::query(insert)
            .bind(new_id())
            .bind(thread_id)
            .bind(ex.question)
            .bind(now)
            .bind(new_id())
            .bind(ex.answer)
            .bind(ex.sql)
            .bind(ex.status)
            .bind(events);
        if !self.is_postgres() {
            insert.execute(self.writer()).await?;
            return Ok(());
        }
        let mut tx = self.writer().begin().await?;
        sqlx::query("SELECT id FROM threads WHERE id = $1 FOR UPDATE").bind(thread_id).fetch_optional(&mut *tx).await?;
        insert.execute(&mut *tx).await?;
        tx.commit().await
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use super::*;
    use crate::server::store::test_stores;
    use crate::server::store::users::NewUser;

    /// Exchanges saved at once into one thread each keep their question and answer together,
    /// take distinct consecutive places, and move the thread's `updated_at`.
    async fn concurrent_exchanges_stay_paired(store: &Store) {
        let user = NewUser { username: "pairs", email: "p@example.com", password_hash: "x", must_reset_password: false };
        let user = store.create_user(user).await.unwrap().unwrap();
        let thread = store.create_thread(&user.id, "t").await.unwrap();
        // Long ago, so a save that did not move it would show.
        sqlx::query("UPDATE threads SET updated_at = 1 WHERE id = $1").bind(&thread.id).execute(store.writer()).await.unwrap();
        let events = serde_json::json!([{ "type": "done" }]);
        let saves = (0..24).map(|i| {
            let (question, answer) = (format!("q{i}"), format!("a{i}"));
            let (store, thread_id, events) = (store.clone(), thread.id.clone(), events.clone());
            tokio::spawn(async move {
                let ex = Exchange { question: &question, answer: &answer, sql: Some("SELECT 1"), status: "ok", events: &events };
                store.save_exchange(&thread_id, ex).await
            })
        });
        for save in futures::future::join_all(saves).await {
            save.unwrap().unwrap();
        }
        let messages = store.messages(&thread.id).await.unwrap();
        assert_eq!(messages.iter().map(|m| m.seq).collect::<Vec<_>>(), (1..=48).collect::<Vec<i64>>());
        for pair in messages.chunks(2) {
            let [q, a] = pair else { unreachable!() };
            assert_eq!((q.role.as_str(), a.role.as_str()), ("user", "assistant"));
            assert_eq!(q.content.replace('q', "a"), a.content, "a question and its answer were split");
            assert_eq!((a.sql.as_deref(), &a.events), (Some("SELECT 1"), &events));
        }
        let touched = store.thread(&user.id, &thread.id).await.unwrap().unwrap();
        assert_eq!(touched.updated_at, messages.iter().map(|m| m.created_at).max().unwrap());
    }

    #[tokio::test]
    async fn concurrent_exchanges_stay_paired_on_sqlite() {
        let dir = tempfile::tempdir().unwrap();
        concurrent_exchanges_stay_paired(&test_stores::sqlite(&dir).await).await;
    }

    #[tokio::test]
    async fn concurrent_exchanges_stay_paired_on_postgres() {
        test_stores::with_postgres(concurrent_exchanges_stay_paired).await;
    }
}
