//! Mapping sqlx errors onto [`Error::Database`] with a [`DbErrorKind`] and a secret-free message.

use crate::error::{DbErrorKind, Error};

/// What we were doing when the error happened: the same I/O error means "cannot connect" while
/// connecting and "connection lost" while a statement runs.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum Phase {
    /// Opening a connection or pinging.
    Connect,
    /// Running a statement or reading catalogs.
    Query,
}

/// Maps a sqlx error. `secret` (a password) is scrubbed from the message if a driver echoed it.
pub(crate) fn map_sqlx_error(err: sqlx::Error, phase: Phase, secret: Option<&str>) -> Error {
    let (kind, message) = classify(&err, phase);
    let message = match secret {
        Some(s) if !s.is_empty() => message.replace(s, "***").replace(&percent_decode(s), "***"),
        _ => message,
    };
    Error::Database { kind, message }
}

/// The password in a `scheme://user:password@host/…` URL as written (maybe percent-encoded;
/// [`map_sqlx_error`] scrubs both forms); `None` when the URL has none.
pub(crate) fn url_password(url: &str) -> Option<String> {
    let rest = url.split_once("://")?.1;
    let authority = rest.split(['/', '?']).next()?;
    let userinfo = authority.rsplit_once('@')?.0;
    let password = userinfo.split_once(':')?.1;
    (!password.is_empty()).then(|| password.to_string())
}

fn percent_decode(s: &str) -> String {
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while i < bytes.len() {
        let hex = bytes.get(i + 1..i + 3).and_then(|h| std::str::from_utf8(h).ok()).and_then(|h| u8::from_str_radix(h, 16).ok());
        match (bytes[i], hex) {
            (b'%', Some(b)) => {
                out.push(b);
                i += 3;
            }
            (b, _) => {
                out.push(b);
                i += 1;
            }
        }
    }
    String::from_utf8_lossy(&out).into_owned()
}

fn classify(err: &sqlx::Error, phase: Phase) -> (DbErrorKind, String) {
    let lost = if phase == Phase::Connect { DbErrorKind::Connect } else { DbErrorKind::ConnectionLost };
    match err {
        sqlx::Error::Database(db) => {
            let code = mysql_error_number(db.as_ref())
                .map(|n| n.to_string())
                .or_else(|| db.code().map(|c| c.into_owned()))
                .unwrap_or_default();
            let kind = database_kind(&code, db.message());
            let message = match code.as_str() {
                "" => db.message().to_string(),
                c => format!("{} (code {c})", db.message()),
            };
            (kind, message)
        }
        sqlx::Error::Io(io) => (io_kind(io, lost), format!("{io}")),
        sqlx::Error::Tls(e) => (DbErrorKind::Tls, format!("TLS failed: {e}")),
        sqlx::Error::PoolTimedOut => {
            (DbErrorKind::PoolTimeout, "no pooled connection became free in time (pool exhausted or server unreachable)".into())
        }
        sqlx::Error::PoolClosed => (DbErrorKind::ConnectionLost, "the connection pool was closed".into()),
        sqlx::Error::WorkerCrashed => (DbErrorKind::ConnectionLost, "the database worker thread crashed".into()),
        sqlx::Error::Protocol(m) => (lost, format!("protocol error: {m}")),
        sqlx::Error::Configuration(e) => (DbErrorKind::Connect, format!("invalid connection settings: {e}")),
        sqlx::Error::ColumnDecode { index, source } => {
            (DbErrorKind::Decode, format!("could not decode column {index}: {source}"))
        }
        sqlx::Error::Decode(e) => (DbErrorKind::Decode, format!("could not decode a value: {e}")),
        other => (DbErrorKind::Query, other.to_string()),
    }
}

/// MySQL's own error number (sqlx's `code()` gives only the coarser SQLSTATE).
#[cfg(feature = "mysql")]
fn mysql_error_number(db: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    db.try_downcast_ref::<sqlx::mysql::MySqlDatabaseError>().map(|e| e.number())
}
#[cfg(not(feature = "mysql"))]
fn mysql_error_number(_db: &dyn sqlx::error::DatabaseError) -> Option<u16> {
    None
}

/// Classifies a server error by SQLSTATE (PostgreSQL), error number (MySQL/MariaDB) or result
/// code (SQLite).
fn database_kind(code: &str, message: &str) -> DbErrorKind {
    match code {
        // PostgreSQL: invalid password / authorization; database missing; statement timeout or
        // cancel; backend terminated by an administrator; too many connections.
        "28P01" | "28000" => DbErrorKind::Auth,
        "3D000" => DbErrorKind::NotFound,
        "57014" => DbErrorKind::Timeout,
        "57P01" | "57P02" | "57P03" => DbErrorKind::ConnectionLost,
        "53300" => DbErrorKind::Connect,
        // MySQL 1045 / MariaDB access denied; 1044 access denied to database; 1049 unknown database;
        // MySQL 3024 and MariaDB 1969 max execution/statement time exceeded; 1317 query interrupted.
        "1045" | "1044" | "1698" => DbErrorKind::Auth,
        "1049" => DbErrorKind::NotFound,
        "3024" | "1969" | "1317" => DbErrorKind::Timeout,
        // SQLite: SQLITE_INTERRUPT (our progress handler stopped the statement), SQLITE_CANTOPEN.
        "9" => DbErrorKind::Timeout,
        "14" => DbErrorKind::NotFound,
        _ if message.contains("SSL") || message.contains("TLS") => DbErrorKind::Tls,
        _ => DbErrorKind::Query,
    }
}

fn io_kind(io: &std::io::Error, lost: DbErrorKind) -> DbErrorKind {
    use std::io::ErrorKind as K;
    match io.kind() {
        K::ConnectionRefused | K::NotFound | K::AddrNotAvailable | K::TimedOut => DbErrorKind::Connect,
        _ => lost,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn io_errors_depend_on_phase_and_secrets_are_scrubbed() {
        let refused = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionRefused, "refused"));
        assert!(matches!(map_sqlx_error(refused, Phase::Query, None), Error::Database { kind: DbErrorKind::Connect, .. }));
        let reset = sqlx::Error::Io(std::io::Error::new(std::io::ErrorKind::ConnectionReset, "reset hunter2"));
        let mapped = map_sqlx_error(reset, Phase::Query, Some("hunter2"));
        assert!(matches!(&mapped, Error::Database { kind: DbErrorKind::ConnectionLost, .. }));
        assert!(!mapped.to_string().contains("hunter2"), "{mapped}");
        assert!(matches!(
            map_sqlx_error(sqlx::Error::PoolTimedOut, Phase::Query, None),
            Error::Database { kind: DbErrorKind::PoolTimeout, .. }
        ));
    }

    #[test]
    fn finds_url_passwords() {
        assert_eq!(url_password("postgres://u:p%40ss@h:5432/db").as_deref(), Some("p%40ss"));
        assert_eq!(url_password("mysql://root@h/db"), None);
        assert_eq!(url_password("postgres://h/db?x=a:b@c"), None);
        assert_eq!(percent_decode("p%40ss"), "p@ss");
        let e = map_sqlx_error(sqlx::Error::Protocol("bad p@ss".into()), Phase::Connect, Some("p%40ss"));
        assert!(!e.to_string().contains("p@ss"), "{e}");
    }

    #[test]
    fn server_codes_classify() {
        assert_eq!(database_kind("28P01", ""), DbErrorKind::Auth);
        assert_eq!(database_kind("57014", ""), DbErrorKind::Timeout);
        assert_eq!(database_kind("1969", ""), DbErrorKind::Timeout);
        assert_eq!(database_kind("42703", "column does not exist"), DbErrorKind::Query);
    }
}
