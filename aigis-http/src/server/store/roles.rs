//! Roles: a guard policy (allowed tables, row scopes, PII rules) assigned to users by admins.

use serde::Serialize;
use sqlx::Row;
use sqlx::any::AnyRow;

use super::{Store, json_col, new_id, now_ms};

/// A role.
#[derive(Debug, Clone, Serialize)]
pub struct RoleRow {
    /// Id.
    pub id: String,
    /// Unique name.
    pub name: String,
    /// Free text.
    pub description: String,
    /// The guard policy (as `aigis_core::Policy` JSON).
    pub policy: serde_json::Value,
    /// Creation time (ms).
    pub created_at: i64,
}

fn role_of(row: &AnyRow) -> Result<RoleRow, sqlx::Error> {
    Ok(RoleRow {
        id: row.try_get("id")?,
        name: row.try_get("name")?,
        description: row.try_get("description")?,
        policy: json_col(row, "policy")?,
        created_at: row.try_get("created_at")?,
    })
}

impl Store {
    /// Creates a role; `None` when the name is taken.
    pub async fn create_role(&self, name: &str, description: &str, policy: &serde_json::Value) -> Result<Option<RoleRow>, sqlx::Error> {
        let (id, now) = (new_id(), now_ms());
        let res = sqlx::query("INSERT INTO roles (id, name, description, policy, created_at) VALUES ($1, $2, $3, $4, $5)")
            .bind(&id)
            .bind(name)
            .bind(description)
            .bind(policy.to_string())
            .bind(now)
            .execute(self.writer())
            .await;
        match res {
            Ok(_) => self.role(&id).await,
            Err(sqlx::Error::Database(e)) if e.is_unique_violation() => Ok(None),
            Err(e) => Err(e),
        }
    }

    /// A role by id.
    pub async fn role(&self, id: &str) -> Result<Option<RoleRow>, sqlx::Error> {
        sqlx::query("SELECT id, name, description, policy, created_at FROM roles WHERE id = $1")
            .bind(id)
            .fetch_optional(self.pool())
            .await?
            .as_ref()
            .map(role_of)
            .transpose()
    }

    /// Every role.
    pub async fn roles(&self) -> Result<Vec<RoleRow>, sqlx::Error> {
        sqlx::query("SELECT id, name, description, policy, created_at FROM roles ORDER BY name")
            .fetch_all(self.pool())
            .await?
            .iter()
            .map(role_of)
            .collect()
    }

    /// Replaces a role's description and policy.
    pub async fn update_role(&self, id: &str, description: &str, policy: &serde_json::Value) -> Result<bool, sqlx::Error> {
        let res = sqlx::query("UPDATE roles SET description = $1, policy = $2 WHERE id = $3")
            .bind(description)
            .bind(policy.to_string())
            .bind(id)
            .execute(self.writer())
            .await?;
        Ok(res.rows_affected() > 0)
    }

    /// Deletes a role; its users keep no role.
    pub async fn delete_role(&self, id: &str) -> Result<bool, sqlx::Error> {
        let mut tx = self.writer().begin().await?;
        sqlx::query("UPDATE users SET role_id = NULL WHERE role_id = $1").bind(id).execute(&mut *tx).await?;
        let res = sqlx::query("DELETE FROM roles WHERE id = $1").bind(id).execute(&mut *tx).await?;
        tx.commit().await?;
        Ok(res.rows_affected() > 0)
    }
}
