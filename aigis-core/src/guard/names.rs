//! Identifier folding and table-name matching, done the way each dialect does it.
//!
//! PostgreSQL (and generic SQL here) folds unquoted names to lower case and keeps quoted names
//! exact; MySQL and SQLite compare table and column names case-insensitively, quoted or not.

use sqlparser::ast::{Ident, ObjectName, ObjectNamePart};
use sqlparser::parser::Parser;

use crate::dialect::Dialect;

/// Folds one identifier as the dialect compares it.
pub(crate) fn fold(ident: &Ident, dialect: Dialect) -> String {
    match dialect {
        Dialect::Postgres | Dialect::Generic if ident.quote_style.is_some() => ident.value.clone(),
        // The same result for ASCII names, without Unicode case tables: this runs for every
        // column and table of every query.
        _ if ident.value.is_ascii() => ident.value.to_ascii_lowercase(),
        _ => ident.value.to_lowercase(),
    }
}

/// Whether an identifier folds to `folded`, without allocating the folded copy.
pub(crate) fn folds_to(ident: &Ident, folded: &str, dialect: Dialect) -> bool {
    match dialect {
        Dialect::Postgres | Dialect::Generic if ident.quote_style.is_some() => ident.value == folded,
        _ => ident.value.chars().flat_map(char::to_lowercase).eq(folded.chars()),
    }
}

/// A table name reduced to its last two parts, folded.
#[derive(Debug, Clone, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub(crate) struct QualName {
    pub schema: Option<String>,
    pub table: String,
}

impl QualName {
    /// From an AST name; `None` when a part is not a plain identifier (dynamic names).
    pub(crate) fn from_object_name(name: &ObjectName, dialect: Dialect) -> Option<Self> {
        let mut parts = Vec::with_capacity(name.0.len());
        for part in &name.0 {
            match part {
                ObjectNamePart::Identifier(id) => parts.push(fold(id, dialect)),
                ObjectNamePart::Function(_) => return None,
            }
        }
        let table = parts.pop()?;
        Some(Self { schema: parts.pop(), table })
    }

    /// From a policy entry such as `orders`, `files.documents` or `"MixedCase"`.
    pub(crate) fn from_config(entry: &str, dialect: Dialect) -> Option<Self> {
        let parser_dialect = dialect.parser_dialect();
        let name = Parser::new(parser_dialect).try_with_sql(entry).ok()?.parse_object_name(false).ok()?;
        Self::from_object_name(&name, dialect)
    }

    /// Whether a policy entry names this reference. `lenient` (deny-lists, protections) lets an
    /// entry without schema match any schema and an unqualified reference match any entry schema;
    /// strict matching (allow-lists) needs the schemas to agree, `default_schema` standing in for
    /// a missing one.
    pub(crate) fn matched_by(&self, entry: &QualName, lenient: bool, default_schema: Option<&str>) -> bool {
        if self.table != entry.table {
            return false;
        }
        if lenient {
            return match (&self.schema, &entry.schema) {
                (Some(a), Some(b)) => a == b,
                _ => true,
            };
        }
        let mine = self.schema.as_deref().or(default_schema);
        let theirs = entry.schema.as_deref().or(default_schema);
        mine == theirs
    }

    /// `schema.table` or `table`, folded.
    pub(crate) fn display(&self) -> String {
        match &self.schema {
            Some(s) => format!("{s}.{}", self.table),
            None => self.table.clone(),
        }
    }
}

const CATALOG_SCHEMAS: &[&str] = &["pg_catalog", "information_schema", "performance_schema", "mysql", "sys", "pg_toast"];

/// Whether a reference reads a system catalog (any dialect's: a PostgreSQL catalog name is as
/// unwanted in a MySQL query as in its own).
pub(crate) fn is_catalog(name: &QualName) -> bool {
    let schema_is_catalog = name
        .schema
        .as_deref()
        .is_some_and(|s| CATALOG_SCHEMAS.iter().any(|c| s.eq_ignore_ascii_case(c)) || s.to_ascii_lowercase().starts_with("pg_temp"));
    let table = name.table.to_ascii_lowercase();
    schema_is_catalog
        || table.starts_with("pg_")
        || table.starts_with("sqlite_")
        || table.starts_with("pragma_")
        || CATALOG_SCHEMAS.contains(&table.as_str())
}

#[cfg(test)]
mod tests {
    use super::*;

    fn q(s: &str, d: Dialect) -> QualName {
        QualName::from_config(s, d).unwrap_or(QualName { schema: None, table: String::new() })
    }

    #[test]
    fn folding_follows_the_dialect() {
        assert_eq!(q("Orders", Dialect::Postgres).table, "orders");
        assert_eq!(q("\"Orders\"", Dialect::Postgres).table, "Orders");
        assert_eq!(q("`Orders`", Dialect::Mysql).table, "orders");
        assert_eq!(q("\"Orders\"", Dialect::Sqlite).table, "orders");
        assert_eq!(q("files.Documents", Dialect::Postgres), QualName { schema: Some("files".into()), table: "documents".into() });
    }

    #[test]
    fn folds_to_agrees_with_fold() {
        for d in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite, Dialect::Generic] {
            for (value, quote) in [("Orders", None), ("Orders", Some('"')), ("ÉTÉ", None), ("orders", Some('`'))] {
                let id = Ident { value: value.into(), quote_style: quote, span: sqlparser::tokenizer::Span::empty() };
                let folded = fold(&id, d);
                assert!(folds_to(&id, &folded, d), "{d} {value}");
                assert!(!folds_to(&id, &format!("{folded}x"), d) && !folds_to(&id, "", d), "{d} {value}");
            }
        }
    }

    #[test]
    fn matching_is_lenient_for_denials_strict_for_allows() {
        let entry = q("orders", Dialect::Postgres);
        let other = q("other.orders", Dialect::Postgres);
        assert!(other.matched_by(&entry, true, None));
        assert!(!other.matched_by(&entry, false, None));
        assert!(q("orders", Dialect::Postgres).matched_by(&entry, false, None));
    }

    #[test]
    fn catalogs_of_every_dialect_are_recognised() {
        for name in ["pg_catalog.pg_class", "pg_shadow", "information_schema.tables", "mysql.user", "sqlite_master", "main.sqlite_schema", "performance_schema.threads"] {
            assert!(is_catalog(&q(name, Dialect::Generic)), "{name}");
        }
        assert!(!is_catalog(&q("public.orders", Dialect::Generic)));
    }
}
