//! SQL dialects Aigis speaks.

use std::fmt;
use std::str::FromStr;

use crate::{Error, Result};

/// A SQL dialect: decides how the guard parses, folds identifiers and renders.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Default, serde::Serialize, serde::Deserialize, schemars::JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum Dialect {
    /// PostgreSQL.
    Postgres,
    /// MySQL and MariaDB (and other MySQL-protocol engines).
    Mysql,
    /// SQLite.
    Sqlite,
    /// ANSI-ish generic SQL.
    #[default]
    Generic,
}

impl Dialect {
    /// The lowercase name used in configuration and events.
    pub fn as_str(self) -> &'static str {
        match self {
            Dialect::Postgres => "postgres",
            Dialect::Mysql => "mysql",
            Dialect::Sqlite => "sqlite",
            Dialect::Generic => "generic",
        }
    }

    /// The sqlparser dialect that parses this one (a static: nothing is allocated per parse).
    pub fn parser_dialect(self) -> &'static dyn sqlparser::dialect::Dialect {
        use sqlparser::dialect as d;
        match self {
            Dialect::Postgres => &d::PostgreSqlDialect {},
            Dialect::Mysql => &d::MySqlDialect {},
            Dialect::Sqlite => &d::SQLiteDialect {},
            Dialect::Generic => &d::GenericDialect {},
        }
    }
}

impl fmt::Display for Dialect {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

impl FromStr for Dialect {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        match s.trim().to_ascii_lowercase().as_str() {
            "postgres" | "postgresql" | "pg" => Ok(Dialect::Postgres),
            "mysql" | "mariadb" => Ok(Dialect::Mysql),
            "sqlite" | "sqlite3" => Ok(Dialect::Sqlite),
            "generic" | "ansi" => Ok(Dialect::Generic),
            other => Err(Error::InvalidInput(format!(
                "unknown dialect `{other}` (expected postgres, mysql, sqlite or generic)"
            ))),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_names_and_aliases() {
        assert_eq!("PostgreSQL".parse::<Dialect>().ok(), Some(Dialect::Postgres));
        assert_eq!("mariadb".parse::<Dialect>().ok(), Some(Dialect::Mysql));
        assert!("oracle".parse::<Dialect>().is_err());
    }
}
