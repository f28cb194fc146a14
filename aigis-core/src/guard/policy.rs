//! The guard's policy: a plain serde struct, loadable from TOML or JSON, identical in every
//! binding and on the CLI (`aigis guard --policy FILE`).
//!
//! Every field has a default, so a policy file only states what differs. A complete example:
//!
//! ```toml
//! dialect = "postgres"          # postgres | mysql | sqlite | generic
//! max_rows = 500                # LIMIT added when missing, clamped when larger
//! allow_recursive_cte = false   # WITH RECURSIVE only when true
//! allow_catalogs = false        # pg_catalog, information_schema, sqlite_master, mysql.* ...
//! pii_action = "mask"           # what `Policy::with_pii_columns` marks PII columns as
//! mask_value = "***"            # masked columns read as this string (omit: NULL)
//!
//! [tables]
//! allow = ["orders", "customers", "files.documents"]  # empty: every table not denied
//! deny = ["staff_salaries"]
//! required_schema = "files"     # every table must be written as files.<table>
//! views_only = false            # only relations listed in `views` (or the context's views)
//! views = ["v_sales"]
//!
//! [columns.customers]           # per table: column = "block" | "mask"
//! ssn = "block"
//! email = "mask"
//!
//! [row_scopes]                  # per table: a predicate over that table's columns
//! orders = "store_id IN (:store_ids)"
//! invoice = "customer_id IN (SELECT customer_id FROM customer WHERE support_rep_id = :rep_id)"
//!
//! [params]                      # declared parameter types (optional, checked when given)
//! store_ids = "integer_list"    # integer | number | text | boolean | *_list
//! rep_id = "integer"
//!
//! [functions]
//! deny = ["my_costly_udf"]      # added to the built-in per-dialect deny-list
//! # allow = ["count", "sum", "date_trunc"]   # allow-list mode: only these functions
//!
//! [limits]
//! max_input_bytes = 100000
//! max_tokens = 10000
//! max_depth = 600               # estimated expression depth
//! max_nesting = 40              # parser recursion (nested subqueries and parentheses)
//! max_joins = 20
//! ```
//!
//! The same document as JSON (`{"dialect": "postgres", "tables": {"allow": [...]}, ...}`) loads
//! with [`Policy::from_json_str`]; [`Policy::from_file`] chooses by extension.

use std::collections::BTreeMap;
use std::path::Path;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::dialect::Dialect;
use crate::{Error, Result};

/// What happens to a protected column.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "lowercase")]
pub enum ColumnAction {
    /// Any query that reads the column (directly, through `*`, a whole-row value, a filter or a
    /// sort) is rejected with `column_blocked`.
    Block,
    /// The value never leaves the database: every reference is rewritten to the mask value (or
    /// NULL) under the same column name.
    Mask,
}

/// The declared type of a row-scope parameter; values of another type are rejected.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "snake_case")]
pub enum ParamType {
    /// A whole number.
    Integer,
    /// Any number.
    Number,
    /// A string.
    Text,
    /// `true` or `false`.
    Boolean,
    /// A list of whole numbers (for `IN (:p)`).
    IntegerList,
    /// A list of numbers.
    NumberList,
    /// A list of strings.
    TextList,
}

/// Which tables may be read.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct TablePolicy {
    /// When not empty, only these tables (optionally `schema.table`; quote a part to match it
    /// exactly).
    pub allow: Vec<String>,
    /// Never these tables.
    pub deny: Vec<String>,
    /// Every table must be qualified with this schema (e.g. `files`).
    pub required_schema: Option<String>,
    /// Only relations known to be views may be read.
    pub views_only: bool,
    /// Names of views (merged with [`super::GuardContext::views`]).
    pub views: Vec<String>,
}

/// Which functions may be called (scalar, aggregate, window and table functions).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct FunctionPolicy {
    /// Extra names to deny (matched case-insensitively, schema qualification ignored).
    pub deny: Vec<String>,
    /// Allow-list mode: when set, only these functions may be called.
    pub allow: Option<Vec<String>>,
    /// Apply the built-in deny-list (sleep, file access, locks, catalogs...). Default true.
    pub builtin_deny: bool,
}

impl Default for FunctionPolicy {
    fn default() -> Self {
        Self { deny: Vec::new(), allow: None, builtin_deny: true }
    }
}

/// Structural limits: inputs beyond them end in a clean `too_complex` rejection.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Limits {
    /// Maximum input size in bytes.
    pub max_input_bytes: usize,
    /// Maximum number of tokens.
    pub max_tokens: usize,
    /// Maximum estimated expression depth (long `OR` chains count one level per operator).
    pub max_depth: usize,
    /// Parser recursion limit: bounds nested subqueries and parentheses.
    pub max_nesting: usize,
    /// Maximum number of joins in the whole statement.
    pub max_joins: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Self { max_input_bytes: 100_000, max_tokens: 10_000, max_depth: 600, max_nesting: 40, max_joins: 20 }
    }
}

/// What the guard enforces. See the [module documentation](self) for the file format.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Dialect to parse, fold identifiers and render with.
    pub dialect: Dialect,
    /// Maximum rows a query may return: a LIMIT is added or clamped to this.
    pub max_rows: u64,
    /// Table allow/deny lists, schema prefix, views-only mode.
    pub tables: TablePolicy,
    /// Protected columns: table → column → action.
    pub columns: BTreeMap<String, BTreeMap<String, ColumnAction>>,
    /// The action [`Policy::with_pii_columns`] gives PII columns.
    pub pii_action: ColumnAction,
    /// The string masked columns read as; NULL when unset.
    pub mask_value: Option<String>,
    /// Row scopes: table → predicate with `:name` parameters.
    pub row_scopes: BTreeMap<String, String>,
    /// Declared parameter types.
    pub params: BTreeMap<String, ParamType>,
    /// Function deny/allow lists.
    pub functions: FunctionPolicy,
    /// Allow system catalogs (`pg_catalog`, `information_schema`, `sqlite_master`, ...).
    pub allow_catalogs: bool,
    /// Allow `WITH RECURSIVE`.
    pub allow_recursive_cte: bool,
    /// Structural limits.
    pub limits: Limits,
}

impl Default for Policy {
    fn default() -> Self {
        Self {
            dialect: Dialect::Generic,
            max_rows: 1000,
            tables: TablePolicy::default(),
            columns: BTreeMap::new(),
            pii_action: ColumnAction::Mask,
            mask_value: None,
            row_scopes: BTreeMap::new(),
            params: BTreeMap::new(),
            functions: FunctionPolicy::default(),
            allow_catalogs: false,
            allow_recursive_cte: false,
            limits: Limits::default(),
        }
    }
}

impl Policy {
    /// A default policy for a dialect.
    pub fn for_dialect(dialect: Dialect) -> Self {
        Self { dialect, ..Self::default() }
    }

    /// Parses a policy from TOML.
    pub fn from_toml_str(text: &str) -> Result<Self> {
        toml::from_str(text).map_err(|e| Error::Config(format!("invalid guard policy (TOML): {e}")))
    }

    /// Parses a policy from JSON.
    pub fn from_json_str(text: &str) -> Result<Self> {
        serde_json::from_str(text).map_err(|e| Error::Config(format!("invalid guard policy (JSON): {e}")))
    }

    /// Reads a policy file: `.json` as JSON, anything else as TOML.
    pub fn from_file(path: impl AsRef<Path>) -> Result<Self> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("cannot read guard policy {}: {e}", path.display())))?;
        match path.extension().and_then(|e| e.to_str()).map(str::to_ascii_lowercase).as_deref() {
            Some("json") => Self::from_json_str(&text),
            _ => Self::from_toml_str(&text),
        }
    }

    /// Marks PII columns (e.g. from the data dictionary) with [`Policy::pii_action`]; a column
    /// already listed keeps the stricter action.
    pub fn with_pii_columns<T, C>(mut self, columns: impl IntoIterator<Item = (T, C)>) -> Self
    where
        T: Into<String>,
        C: Into<String>,
    {
        let action = self.pii_action;
        for (table, column) in columns {
            let slot = self.columns.entry(table.into()).or_default().entry(column.into()).or_insert(action);
            if action == ColumnAction::Block {
                *slot = ColumnAction::Block;
            }
        }
        self
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn toml_and_json_load_the_same_policy() {
        let toml = r#"
            dialect = "postgres"
            max_rows = 50
            [tables]
            allow = ["orders"]
            [columns.customers]
            ssn = "block"
            [row_scopes]
            orders = "store_id IN (:store_ids)"
            [params]
            store_ids = "integer_list"
        "#;
        let json = r#"{"dialect":"postgres","max_rows":50,"tables":{"allow":["orders"]},
            "columns":{"customers":{"ssn":"block"}},"row_scopes":{"orders":"store_id IN (:store_ids)"},
            "params":{"store_ids":"integer_list"}}"#;
        let a = Policy::from_toml_str(toml).ok();
        let b = Policy::from_json_str(json).ok();
        assert!(a.is_some());
        assert_eq!(a, b);
    }

    #[test]
    fn unknown_fields_are_errors() {
        assert!(Policy::from_toml_str("max_row = 5").is_err());
        assert!(Policy::from_json_str(r#"{"tables":{"alow":[]}}"#).is_err());
    }

    #[test]
    fn pii_columns_take_the_default_action_and_keep_blocks() {
        let mut p = Policy::default();
        p.columns.entry("c".into()).or_default().insert("ssn".into(), ColumnAction::Block);
        let p = p.with_pii_columns([("c", "ssn"), ("c", "email")]);
        assert_eq!(p.columns["c"]["ssn"], ColumnAction::Block);
        assert_eq!(p.columns["c"]["email"], ColumnAction::Mask);
    }
}
