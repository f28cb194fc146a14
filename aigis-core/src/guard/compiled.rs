//! The policy prepared once per [`super::Guard`]: names folded, predicates parsed, lists hashed.

use std::collections::HashSet;

use sqlparser::ast::Expr;
use sqlparser::parser::Parser;

use super::functions;
use super::names::QualName;
use super::policy::{ColumnAction, Policy};
use crate::dialect::Dialect;

/// A protected column of a table entry.
pub(crate) struct ColumnRule {
    pub column: String,
    pub written: String,
    pub action: ColumnAction,
}

/// The policy in the form the checks use.
pub(crate) struct Compiled {
    pub dialect: Dialect,
    pub allow: Vec<QualName>,
    pub deny: Vec<QualName>,
    pub required_schema: Option<String>,
    pub views_only: bool,
    pub views: Vec<QualName>,
    pub columns: Vec<(QualName, Vec<ColumnRule>)>,
    pub scopes: Vec<(QualName, Expr)>,
    pub fn_deny: HashSet<String>,
    pub fn_allow: Option<HashSet<String>>,
    pub builtin_deny: bool,
    pub allow_recursive: bool,
    pub allow_catalogs: bool,
    pub mask_value: Option<String>,
    /// Problems in the policy itself; every check reports them.
    pub errors: Vec<String>,
}

impl Compiled {
    pub(crate) fn new(policy: &Policy) -> Self {
        let d = policy.dialect;
        let mut errors = Vec::new();
        let mut names = |list: &[String], what: &str| -> Vec<QualName> {
            list.iter()
                .filter_map(|entry| {
                    let name = QualName::from_config(entry, d);
                    if name.is_none() {
                        errors.push(format!("{what} entry `{entry}` is not a table name"));
                    }
                    name
                })
                .collect()
        };
        let allow = names(&policy.tables.allow, "tables.allow");
        let deny = names(&policy.tables.deny, "tables.deny");
        let views = names(&policy.tables.views, "tables.views");
        let mut columns = Vec::new();
        for (table, cols) in &policy.columns {
            let Some(name) = QualName::from_config(table, d) else {
                errors.push(format!("columns entry `{table}` is not a table name"));
                continue;
            };
            let rules = cols
                .iter()
                .map(|(col, action)| ColumnRule {
                    column: QualName::from_config(col, d).map(|q| q.table).unwrap_or_else(|| col.to_lowercase()),
                    written: format!("{table}.{col}"),
                    action: *action,
                })
                .collect();
            columns.push((name, rules));
        }
        let mut scopes = Vec::new();
        let parser_dialect = d.parser_dialect();
        for (table, predicate) in &policy.row_scopes {
            let name = QualName::from_config(table, d);
            let expr = Parser::new(parser_dialect).try_with_sql(predicate).and_then(|mut p| p.parse_expr());
            match (name, expr) {
                (Some(name), Ok(expr)) => scopes.push((name, expr)),
                (None, _) => errors.push(format!("row_scopes entry `{table}` is not a table name")),
                (_, Err(e)) => errors.push(format!("row scope for `{table}` does not parse: {e}")),
            }
        }
        let required_schema =
            policy.tables.required_schema.as_deref().and_then(|s| QualName::from_config(s, d)).map(|q| q.table);
        Self {
            dialect: d,
            allow,
            deny,
            required_schema,
            views_only: policy.tables.views_only,
            views,
            columns,
            scopes,
            fn_deny: policy.functions.deny.iter().map(|f| f.to_lowercase()).collect(),
            fn_allow: policy.functions.allow.as_ref().map(|l| l.iter().map(|f| f.to_lowercase()).collect()),
            builtin_deny: policy.functions.builtin_deny,
            allow_recursive: policy.allow_recursive_cte,
            allow_catalogs: policy.allow_catalogs,
            mask_value: policy.mask_value.clone(),
            errors,
        }
    }

    /// The column rules that apply to a base-table reference.
    pub(crate) fn rules_for<'a>(&'a self, name: &'a QualName) -> impl Iterator<Item = &'a ColumnRule> + 'a {
        self.columns.iter().filter(move |(entry, _)| name.matched_by(entry, true, None)).flat_map(|(_, rules)| rules)
    }

    /// Whether a reference has any protected column.
    pub(crate) fn is_protected(&self, name: &QualName) -> bool {
        self.rules_for(name).next().is_some()
    }

    /// The row scope predicate for a reference.
    pub(crate) fn scope_for(&self, name: &QualName) -> Option<&Expr> {
        self.scopes.iter().find(|(entry, _)| name.matched_by(entry, true, None)).map(|(_, e)| e)
    }

    /// Why a function may not be called, if it may not.
    pub(crate) fn function_denied(&self, name: &str) -> Option<String> {
        if let Some(allow) = &self.fn_allow
            && !allow.contains(name)
        {
            return Some(format!("function `{name}` is not in the allowed list; use only: {}", sorted(allow)));
        }
        if self.fn_deny.contains(name) || (self.builtin_deny && functions::builtin_denied(name)) {
            return Some(format!(
                "function `{name}` is not allowed (it can sleep, touch files or the server, or change state); \
                 compute the result with ordinary SQL expressions instead"
            ));
        }
        None
    }
}

fn sorted(set: &HashSet<String>) -> String {
    let mut v: Vec<&str> = set.iter().map(String::as_str).collect();
    v.sort_unstable();
    v.join(", ")
}
