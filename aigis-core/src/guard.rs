//! The SQL guard: parses, checks and rewrites model-written SQL under a [`Policy`].
//!
//! The guard is the only place a [`GuardedSql`] can be made, and connections only execute a
//! `GuardedSql`: so nothing reaches a database without passing here. The text that runs is
//! always re-rendered from the checked AST, never the original input.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{Expr, LimitClause, Query, SetExpr, Statement, Value as SqlValue, Visit, Visitor};
use sqlparser::parser::Parser;

use crate::dialect::Dialect;
use crate::{Error, Result};

/// A rule the SQL broke, with a stable code and a message the model can act on.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Violation {
    /// Stable code, e.g. `multiple_statements`, `not_a_query`, `write_in_query`.
    pub code: String,
    /// What is wrong and how to fix it.
    pub message: String,
}

impl Violation {
    /// A violation with this code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into() }
    }
}

/// Something the guard changed without rejecting (e.g. `limit_clamped`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
pub struct Note {
    /// Stable code, e.g. `limit_added`, `limit_clamped`.
    pub code: String,
    /// What was changed.
    pub message: String,
}

/// What the guard enforces.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
#[serde(default, deny_unknown_fields)]
pub struct Policy {
    /// Dialect to parse and render with.
    pub dialect: Dialect,
    /// Maximum rows a query may return: a LIMIT is added or clamped to this.
    pub max_rows: u64,
}

impl Default for Policy {
    fn default() -> Self {
        Self { dialect: Dialect::Generic, max_rows: 1000 }
    }
}

impl Policy {
    /// A default policy for a dialect.
    pub fn for_dialect(dialect: Dialect) -> Self {
        Self { dialect, ..Self::default() }
    }
}

/// Values bound into row scopes, from the caller's context (e.g. the user's store ids).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GuardContext {
    /// Named parameters.
    pub params: BTreeMap<String, serde_json::Value>,
}

/// SQL that passed the guard: the only thing a [`crate::Connection`] will execute.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GuardedSql {
    sql: String,
    dialect: Dialect,
}

impl GuardedSql {
    /// The rewritten SQL text.
    pub fn sql(&self) -> &str {
        &self.sql
    }
    /// The dialect it was checked for.
    pub fn dialect(&self) -> Dialect {
        self.dialect
    }
}

/// The guard's decision about one input.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize, JsonSchema)]
pub struct Verdict {
    /// Whether the SQL may run.
    pub allowed: bool,
    /// The SQL that runs, rendered from the checked AST (`None` when rejected).
    pub sql: Option<String>,
    /// Why it was rejected.
    pub violations: Vec<Violation>,
    /// What was rewritten.
    pub notes: Vec<Note>,
    /// Tables the query reads.
    pub tables: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    guarded: Option<GuardedSql>,
}

impl Verdict {
    fn rejected(violations: Vec<Violation>) -> Self {
        Self { allowed: false, sql: None, violations, notes: Vec::new(), tables: Vec::new(), guarded: None }
    }

    /// The SQL to execute, when allowed.
    pub fn guarded(&self) -> Option<&GuardedSql> {
        self.guarded.as_ref()
    }

    /// The guarded SQL, or [`Error::Rejected`] with the violations.
    pub fn into_result(self) -> Result<GuardedSql> {
        match self.guarded {
            Some(g) => Ok(g),
            None => Err(Error::Rejected { violations: self.violations }),
        }
    }
}

/// Checks SQL against a policy.
///
/// ```
/// use aigis_core::{Guard, Policy, Dialect, GuardContext};
/// let guard = Guard::new(Policy::for_dialect(Dialect::Sqlite));
/// let verdict = guard.check("SELECT name FROM customers", &GuardContext::default());
/// assert!(verdict.allowed);
/// assert_eq!(verdict.sql.as_deref(), Some("SELECT name FROM customers LIMIT 1000"));
/// assert!(!guard.check("DROP TABLE customers", &GuardContext::default()).allowed);
/// ```
#[derive(Debug, Clone)]
pub struct Guard {
    policy: Policy,
}

impl Guard {
    /// A guard enforcing this policy.
    pub fn new(policy: Policy) -> Self {
        Self { policy }
    }

    /// The policy enforced.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks one input; never panics, whatever the input.
    pub fn check(&self, sql: &str, _ctx: &GuardContext) -> Verdict {
        let dialect = self.policy.dialect.parser_dialect();
        let mut statements = match Parser::parse_sql(dialect.as_ref(), sql) {
            Ok(s) => s,
            Err(e) => return Verdict::rejected(vec![Violation::new("parse_error", format!("the SQL does not parse: {e}"))]),
        };
        match statements.len() {
            0 => return Verdict::rejected(vec![Violation::new("empty", "no SQL statement was given")]),
            1 => {}
            n => {
                return Verdict::rejected(vec![Violation::new(
                    "multiple_statements",
                    format!("{n} statements were given; write exactly one SELECT statement"),
                )]);
            }
        }
        let Some(Statement::Query(mut query)) = statements.pop() else {
            return Verdict::rejected(vec![Violation::new(
                "not_a_query",
                "only read-only SELECT queries are allowed; rewrite it as a single SELECT",
            )]);
        };
        let mut finder = WriteFinder::default();
        let _ = query.visit(&mut finder);
        if !finder.violations.is_empty() {
            return Verdict::rejected(finder.violations);
        }
        let mut notes = Vec::new();
        clamp_limit(&mut query, self.policy.max_rows, &mut notes);
        let rendered = query.to_string();
        Verdict {
            allowed: true,
            sql: Some(rendered.clone()),
            violations: Vec::new(),
            notes,
            tables: Vec::new(),
            guarded: Some(GuardedSql { sql: rendered, dialect: self.policy.dialect }),
        }
    }
}

/// Finds statements nested inside a query (writable CTEs) and `SELECT … INTO`.
#[derive(Default)]
struct WriteFinder {
    depth: usize,
    violations: Vec<Violation>,
}

impl Visitor for WriteFinder {
    type Break = ();

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        if !matches!(statement, Statement::Query(_)) {
            self.violations.push(Violation::new("write_in_query", "the query contains a statement that is not a SELECT"));
        }
        self.depth += 1;
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        if let SetExpr::Select(select) = query.body.as_ref()
            && select.into.is_some()
        {
            self.violations.push(Violation::new("write_in_query", "SELECT … INTO writes a table; remove INTO"));
        }
        if matches!(query.body.as_ref(), SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_)) {
            self.violations.push(Violation::new("write_in_query", "the query contains INSERT, UPDATE, DELETE or MERGE"));
        }
        ControlFlow::Continue(())
    }
}

fn clamp_limit(query: &mut Query, max_rows: u64, notes: &mut Vec<Note>) {
    let max_expr = Expr::value(SqlValue::Number(max_rows.to_string(), false));
    let current = match &query.limit_clause {
        Some(LimitClause::LimitOffset { limit: Some(Expr::Value(v)), .. }) => literal_u64(&v.value),
        Some(LimitClause::OffsetCommaLimit { limit: Expr::Value(v), .. }) => literal_u64(&v.value),
        _ => None,
    };
    match (&mut query.limit_clause, current) {
        (_, Some(n)) if n <= max_rows => {}
        (Some(LimitClause::LimitOffset { limit, .. }), _) => {
            let existed = limit.is_some();
            *limit = Some(max_expr);
            notes.push(Note {
                code: if existed { "limit_clamped" } else { "limit_added" }.into(),
                message: format!("LIMIT set to {max_rows}"),
            });
        }
        (Some(LimitClause::OffsetCommaLimit { limit, .. }), _) => {
            *limit = max_expr;
            notes.push(Note { code: "limit_clamped".into(), message: format!("LIMIT set to {max_rows}") });
        }
        (None, _) => {
            query.limit_clause = Some(LimitClause::LimitOffset { limit: Some(max_expr), offset: None, limit_by: Vec::new() });
            notes.push(Note { code: "limit_added".into(), message: format!("LIMIT {max_rows} added") });
        }
    }
}

fn literal_u64(value: &SqlValue) -> Option<u64> {
    match value {
        SqlValue::Number(n, _) => n.parse().ok(),
        _ => None,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn check(sql: &str) -> Verdict {
        Guard::new(Policy::for_dialect(Dialect::Sqlite)).check(sql, &GuardContext::default())
    }

    #[test]
    fn allows_select_and_adds_limit() {
        let v = check("select * from t");
        assert!(v.allowed);
        assert_eq!(v.sql.as_deref(), Some("SELECT * FROM t LIMIT 1000"));
    }

    #[test]
    fn clamps_large_limit_keeps_small() {
        assert_eq!(check("SELECT a FROM t LIMIT 5000").sql.as_deref(), Some("SELECT a FROM t LIMIT 1000"));
        assert_eq!(check("SELECT a FROM t LIMIT 5").sql.as_deref(), Some("SELECT a FROM t LIMIT 5"));
    }

    #[test]
    fn rejects_stacked_and_dml() {
        assert_eq!(check("SELECT 1; DROP TABLE t").violations[0].code, "multiple_statements");
        assert_eq!(check("DELETE FROM t").violations[0].code, "not_a_query");
        assert!(!check("WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d").allowed);
        assert_eq!(check("SELECT * INTO x FROM t").violations[0].code, "write_in_query");
        assert_eq!(check("SELEC 1").violations[0].code, "parse_error");
    }
}
