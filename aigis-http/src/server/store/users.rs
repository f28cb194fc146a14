//! Users.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, flag, json_col, new_id, now_ms};

/// A user as stored (the hash and sealed key never leave the server).
#[derive(Clone)]
pub struct UserRow {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Email.
    pub email: String,
    /// argon2id PHC string.
    pub password_hash: String,
    /// Admin flag (only the bootstrapped admin).
    pub is_admin: bool,
    /// Disabled users cannot log in and their tokens stop working.
    pub disabled: bool,
    /// Must change the password before a token is issued.
    pub must_reset_password: bool,
    /// Assigned role.
    pub role_id: Option<String>,
    /// Scope parameters bound into the role's row scopes.
    pub scope_params: serde_json::Value,
    /// The user's own LLM settings, sealed.
    pub llm_config_sealed: Option<String>,
    /// Bumped on password change: older tokens stop working.
    pub token_version: i64,
    /// Creation time (ms).
    pub created_at: i64,
}

impl std::fmt::Debug for UserRow {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("UserRow").field("id", &self.id).field("username", &self.username).finish_non_exhaustive()
    }
}

/// A user as the API shows it.
#[derive(Debug, Clone, Serialize)]
pub struct UserView {
    /// Id.
    pub id: String,
    /// Login name.
    pub username: String,
    /// Email.
    pub email: String,
    /// Whether this is the admin.
    pub is_admin: bool,
    /// Whether the account is disabled.
    pub disabled: bool,
    /// Whether a password change is pending.
    pub must_reset_password: bool,
    /// Assigned role.
    pub role_id: Option<String>,
    /// Scope parameters.
    pub scope_params: serde_json::Value,
    /// Whether the user saved their own LLM key.
    pub has_llm_key: bool,
    /// Creation time (ms).
    pub created_at: i64,
}

impl From<&UserRow> for UserView {
    fn from(u: &UserRow) -> Self {
        Self {
            id: u.id.clone(),
            username: u.username.clone(),
            email: u.email.clone(),
            is_admin: u.is_admin,
            disabled: u.disabled,
            must_reset_password: u.must_reset_password,
            role_id: u.role_id.clone(),
            scope_params: u.scope_params.clone(),
            has_llm_key: u.llm_config_sealed.is_some(),
            created_at: u.created_at,
        }
    }
}

fn user_of(row: &AnyRow) -> Result<UserRow, sqlx::Error> {
    Ok(UserRow {
        id: row.try_get("id")?,
        username: row.try_get("username")?,
        email: row.try_get("email")?,
        password_hash: row.try_get("password_hash")?,
        is_admin: flag(row, "is_admin")?,
        disabled: flag(row, "disabled")?,
        must_reset_password: flag(row, "must_reset_password")?,
        role_id: row.try_get("role_id")?,
        scope_params: json_col(row, "scope_params")?,
        llm_config_sealed: row.try_get("llm_config_sealed")?,
        token_version: row.try_get("token_version")?,
        created_at: row.try_get("created_at")?,
    })
}

const COLUMNS: &str = "id, username, email, password_hash, is_admin, disabled, must_reset_password, role_id, \
scope_params, llm_config_sealed, token_version, created_at";

/// A new user.
pub struct NewUser<'a> {
    /// Login name.
    pub username: &'a str,
    /// Email.
    pub email: &'a str,
    /// argon2id hash.
    pub password_hash: &'a str,
    /// Must change the password at first login.
    pub must_reset_password: bool,
}

impl Store {
    /// Creates a user (never an admin); `None` when the name is taken.
    pub async fn create_user(&self, new: NewUser<'_>) -> Result<Option<UserRow>, sqlx::Error> {
        if self.user_by_name(new.username).await?.is_some() {
            return Ok(None);
        }
        let id = new_id();
        let now = now_ms();
        let res = sqlx::query(
            "INSERT INTO users (id, username, email, password_hash, is_admin, disabled, must_reset_password, \
             scope_params, token_version, created_at, updated_at) VALUES ($1, $2, $3, $4, 0, 0, $5, '{}', 0, $6, $6)",
        )
        .bind(&id)
        .bind(new.username)
        .bind(new.email)
        .bind(new.password_hash)
        .bind(i64::from(new.must_reset_password))
        .bind(now)
        .execute(self.writer())
        .await;
        match res {
            Ok(_) => self.user(&id).await,
            // A concurrent registration of the same name lost the race on the UNIQUE constraint.
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A user by id.
    pub async fn user(&self, id: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE id = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(id).fetch_optional(self.pool()).await?.as_ref().map(user_of).transpose()
    }

    /// A user by login name.
    pub async fn user_by_name(&self, username: &str) -> Result<Option<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users WHERE username = $1");
        sqlx::query(sqlx::AssertSqlSafe(sql)).bind(username).fetch_optional(self.pool()).await?.as_ref().map(user_of).transpose()
    }

    /// Every user, oldest first.
    pub async fn users(&self) -> Result<Vec<UserRow>, sqlx::Error> {
        let sql = format!("SELECT {COLUMNS} FROM users ORDER BY created_at, username");
        sqlx::query(sqlx::AssertSqlSafe(sql)).fetch_all(self.pool()).await?.iter().map(user_of).collect()
    }

    /// Sets a new password hash, clears the reset flag and invalidates older tokens.
    pub async fn set_password(&self, id: &str, hash: &str) -> Result<(), sqlx::Error> {
        sqlx::query(
            "UPDATE users SET password_hash = $1, must_reset_password = 0, token_version = token_version + 1, \
             updated_at = $2 WHERE id = $3",
        )
        .bind(hash)
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(())
    }

    /// Updates the email.
    pub async fn set_email(&self, id: &str, email: &str) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET email = $1, updated_at = $2 WHERE id = $3")
            .bind(email)
            .bind(now_ms())
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Saves (or clears) the user's sealed LLM settings.
    pub async fn set_llm_config(&self, id: &str, sealed: Option<&str>) -> Result<(), sqlx::Error> {
        sqlx::query("UPDATE users SET llm_config_sealed = $1, updated_at = $2 WHERE id = $3")
            .bind(sealed)
            .bind(now_ms())
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(())
    }

    /// Disables or enables a user; disabling also invalidates their tokens.
    pub async fn set_disabled(&self, id: &str, disabled: bool) -> Result<bool, sqlx::Error> {
        let res = sqlx::query(
            "UPDATE users SET disabled = $1, token_version = token_version + 1, updated_at = $2 WHERE id = $3",
        )
        .bind(i64::from(disabled))
        .bind(now_ms())
        .bind(id)
        .execute(self.writer())
        .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Assigns a role and scope parameters.
    pub async fn set_role(&self, id: &str, role_id: Option<&str>, params: &serde_json::Value) -> Result<bool, sqlx::Error> {
        let res = sqlx::query("UPDATE users SET role_id = $1, scope_params = $2, updated_at = $3 WHERE id = $4")
            .bind(role_id)
            .bind(params.to_string())
            .bind(now_ms())
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Deletes a user and everything they own.
    pub async fn delete_user(&self, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        // Explicit deletes: SQLite only cascades with foreign keys switched on.
        sqlx::query("DELETE FROM messages WHERE thread_id IN (SELECT id FROM threads WHERE user_id = $1)")
            .bind(id)
            .execute(&mut *tx)
            .await?;
        sqlx::query("DELETE FROM threads WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        sqlx::query("DELETE FROM connections WHERE user_id = $1").bind(id).execute(&mut *tx).await?;
        let res = sqlx::query("DELETE FROM users WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(res.rows_affected() > 0)
    }

    /// Creates or updates the bootstrapped admin; every other account loses the admin flag.
    pub async fn bootstrap_admin(&self, username: &str, hash_if_new: &str, reset_hash: Option<&str>) -> Result<(), sqlx::Error> {
        let now = now_ms();
        match self.user_by_name(username).await? {
            None => {
                sqlx::query(
                    "INSERT INTO users (id, username, email, password_hash, is_admin, disabled, must_reset_password, \
                     scope_params, token_version, created_at, updated_at) VALUES ($1, $2, '', $3, 1, 0, 0, '{}', 0, $4, $4)",
                )
                .bind(new_id())
                .bind(username)
                .bind(hash_if_new)
                .bind(now)
                .execute(self.writer())
                .await?;
            }
            Some(u) => {
                if let Some(hash) = reset_hash {
                    self.set_password(&u.id, hash).await?;
                }
                sqlx::query("UPDATE users SET disabled = 0 WHERE id = $1").bind(&u.id).execute(self.writer()).await?;
            }
        }
        sqlx::query("UPDATE users SET is_admin = CASE WHEN username = $1 THEN 1 ELSE 0 END")
            .bind(username)
            .execute(self.writer())
            .await?;
        Ok(())
    }
}
