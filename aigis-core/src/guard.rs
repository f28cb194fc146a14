//! The SQL guard: parses, checks and rewrites model-written SQL under a [`Policy`].
//!
//! The guard is the only place a [`GuardedSql`] can be made, and connections only execute a
//! `GuardedSql`: so nothing reaches a database without passing here. The text that runs is
//! always re-rendered from the checked AST, never the original input.

mod columns;
mod compiled;
mod dialect;
mod functions;
mod lex;
mod limit;
mod names;
mod plain;
pub mod policy;
mod render;
mod resolve;
mod scope;
mod structure;
mod walk;

use std::collections::{BTreeMap, BTreeSet};

use schemars::JsonSchema;
use serde::{Deserialize, Serialize};
use sqlparser::ast::{Query, Statement, Visit};
use sqlparser::parser::ParserError;
use sqlparser::tokenizer::Token;

pub use policy::{ColumnAction, FunctionPolicy, Limits, ParamType, Policy, TablePolicy};

use crate::dialect::Dialect;
use crate::{Error, Result};
use compiled::Compiled;
use names::QualName;

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

impl Note {
    /// A note with this code and message.
    pub fn new(code: &str, message: impl Into<String>) -> Self {
        Self { code: code.to_string(), message: message.into() }
    }
}

/// Values bound into row scopes, from the caller's context (e.g. the user's store ids).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct GuardContext {
    /// Named parameters for row scopes (`:store_ids` binds `params["store_ids"]`).
    #[serde(default)]
    pub params: BTreeMap<String, serde_json::Value>,
    /// Relations known to be views (e.g. from introspection), for the views-only mode.
    #[serde(default)]
    pub views: BTreeSet<String>,
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
    /// Base tables the query reads (CTE names resolved away).
    pub tables: Vec<String>,
    /// Columns the query references, as written.
    #[serde(default)]
    pub columns: Vec<String>,
    #[serde(skip)]
    #[schemars(skip)]
    guarded: Option<GuardedSql>,
}

impl Verdict {
    fn rejected(violations: Vec<Violation>) -> Self {
        Self {
            allowed: false,
            sql: None,
            violations,
            notes: Vec::new(),
            tables: Vec::new(),
            columns: Vec::new(),
            guarded: None,
        }
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
pub struct Guard {
    policy: Policy,
    compiled: Compiled,
    template: Option<Query>,
    /// The row-scope template is plain (see `plain`), as it is for every dialect today.
    template_plain: bool,
}

impl std::fmt::Debug for Guard {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Guard").field("policy", &self.policy).finish()
    }
}

impl Clone for Guard {
    fn clone(&self) -> Self {
        Self::new(self.policy.clone())
    }
}

impl Guard {
    /// A guard enforcing this policy. Problems in the policy (a row scope that does not parse)
    /// make every check fail with `policy_error`; use [`Guard::try_new`] to see them up front.
    pub fn new(policy: Policy) -> Self {
        let compiled = Compiled::new(&policy);
        let template = scope::template(policy.dialect);
        let template_plain = template.as_ref().is_some_and(plain::is_plain);
        Self { policy, compiled, template, template_plain }
    }

    /// A guard, or [`Error::Config`] when the policy itself is invalid.
    pub fn try_new(policy: Policy) -> Result<Self> {
        let guard = Self::new(policy);
        match guard.compiled.errors.first() {
            Some(e) => Err(Error::Config(format!("invalid guard policy: {e}"))),
            None => Ok(guard),
        }
    }

    /// The policy enforced.
    pub fn policy(&self) -> &Policy {
        &self.policy
    }

    /// Checks one input; never panics, whatever the input.
    pub fn check(&self, sql: &str, ctx: &GuardContext) -> Verdict {
        if let Some(e) = self.compiled.errors.first() {
            return Verdict::rejected(vec![Violation::new("policy_error", format!("the guard policy is invalid: {e}"))]);
        }
        let limits = &self.policy.limits;
        if sql.len() > limits.max_input_bytes {
            return Verdict::rejected(vec![structure::too_complex(format!(
                "it is {} bytes long and the limit is {}",
                sql.len(),
                limits.max_input_bytes
            ))]);
        }
        if let Some(v) = structure::raw_text(sql) {
            return Verdict::rejected(vec![v]);
        }
        let (query, respelled) = match self.parse(sql) {
            Ok(parsed) => parsed,
            Err(v) => return Verdict::rejected(vec![v]),
        };
        self.check_query(query, respelled, sql.len(), ctx)
    }

    /// Tokenizes, pre-scans and parses exactly one query. Also says whether the text used an
    /// operator that the renderer spells differently, with another precedence: MySQL's `&&`
    /// parses as `AND` but binds like a bitwise operator, so its tree must be verified by a
    /// re-parse before it is passed on (see `render`).
    fn parse(&self, sql: &str) -> std::result::Result<(Box<Query>, bool), Violation> {
        let tokens = lex::tokenize(sql, self.policy.dialect.parser_dialect())
            .map_err(|e| Violation::new("parse_error", format!("the SQL does not parse: {e}; write one valid SELECT statement")))?;
        if let Some(v) = structure::prescan(&tokens, &self.policy.limits) {
            return Err(v);
        }
        let respelled = tokens.iter().any(|t| t.token == Token::Overlap);
        let mut statements = dialect::parse(tokens, self.policy.dialect, self.policy.limits.max_nesting)
            .map_err(|e| match e {
                ParserError::RecursionLimitExceeded => {
                    structure::too_complex("it nests subqueries or parentheses too deeply".into())
                }
                e => Violation::new("parse_error", format!("the SQL does not parse: {e}; write one valid SELECT statement")),
            })?;
        match statements.len() {
            0 => return Err(Violation::new("empty", "no SQL statement was given; write one SELECT statement")),
            1 => {}
            n => {
                return Err(Violation::new(
                    "multiple_statements",
                    format!("{n} statements were given; write exactly one SELECT statement with no `;` inside"),
                ));
            }
        }
        match statements.pop() {
            Some(Statement::Query(query)) => Ok((query, respelled)),
            _ => Err(Violation::new(
                "not_a_query",
                "only read-only SELECT queries are allowed; rewrite it as a single SELECT (no DDL, DML, SET, EXPLAIN or transaction control)",
            )),
        }
    }

    fn check_query(&self, mut query: Box<Query>, respelled: bool, input_len: usize, ctx: &GuardContext) -> Verdict {
        let c = &self.compiled;
        let ctx_views: Vec<QualName> = ctx.views.iter().filter_map(|v| QualName::from_config(v, c.dialect)).collect();
        let mut analyzer = walk::Analyzer::new(c, &ctx_views);
        let _ = query.visit(&mut analyzer);
        let mut violations = std::mem::take(&mut analyzer.violations);
        if analyzer.joins > self.policy.limits.max_joins {
            violations.push(structure::too_complex(format!(
                "it has {} joins and the limit is {}",
                analyzer.joins, self.policy.limits.max_joins
            )));
        }
        self.check_cte_names(&analyzer, &mut violations);
        let masked = columns::check(c, &analyzer, &mut violations);
        let mut tables: Vec<String> = analyzer.tables.iter().map(|t| t.name.display()).collect();
        tables.sort();
        tables.dedup();
        let mut cols: Vec<String> = analyzer.columns.iter().map(|c| c.written.clone()).collect();
        cols.sort();
        cols.dedup();

        // Bind the scopes of the tables actually read.
        let mut bound = Vec::new();
        for t in &analyzer.tables {
            if let Some(pred) = c.scope_for(&t.name)
                && !bound.iter().any(|(n, _): &(QualName, _)| *n == t.name)
            {
                match scope::bind(pred, &ctx.params, &self.policy.params) {
                    Ok(expr) => bound.push((t.name.clone(), expr)),
                    Err(v) => violations.push(v),
                }
            }
        }
        let written_plain = analyzer.plain;
        drop(analyzer);
        if !violations.is_empty() {
            dedup_violations(&mut violations);
            let mut v = Verdict::rejected(violations);
            v.tables = tables;
            v.columns = cols;
            return v;
        }

        let mut notes = Vec::new();
        let mask_applied = columns::mask(&mut *query, &masked, c, &mut notes);
        match &self.template {
            Some(template) => scope::apply(&mut *query, &bound, template, c.dialect, &mut notes),
            // Fail closed: a scope that cannot be applied must not let the table through.
            None if !bound.is_empty() => {
                return Verdict::rejected(vec![Violation::new("policy_error", "row scopes cannot be applied for this dialect")]);
            }
            None => {}
        }
        limit::enforce(&mut query, self.policy.max_rows, &mut notes);
        // The walk judged the query as written; the rewrites keep it plain when what they put
        // in is plain. A LIMIT is a number, and a scoped reference becomes the (plain) template
        // around the reference itself, its alias and the bound predicate, which is checked
        // here. A mask puts a CAST where a column was, which a sign before it may not take, so
        // a query where a mask was applied always takes the verifying re-parse. MySQL's `&&`
        // must always be verified (see `parse`).
        let plain = written_plain
            && !respelled
            && !mask_applied
            && (bound.is_empty() || self.template_plain && bound.iter().all(|(_, predicate)| plain::is_plain_expr(predicate)));
        // Scoped references make the text longer than the input.
        let capacity = input_len + input_len / 2 + 64;
        let rendered = match render::render(&query, c.dialect, plain, capacity) {
            Ok(text) => text,
            Err(v) => return Verdict::rejected(vec![v]),
        };
        Verdict {
            allowed: true,
            guarded: Some(GuardedSql { sql: rendered.clone(), dialect: self.policy.dialect }),
            sql: Some(rendered),
            violations: Vec::new(),
            notes,
            tables,
            columns: cols,
        }
    }

    /// A CTE may not take the name of a base table it would hide: the reader (and a policy
    /// written for the table) would take one for the other.
    fn check_cte_names(&self, a: &walk::Analyzer<'_>, violations: &mut Vec<Violation>) {
        let c = &self.compiled;
        for name in &a.cte_names {
            let as_table = QualName { schema: None, table: name.clone() };
            let named_in_policy = c.allow.iter().chain(&c.deny).chain(c.scopes.iter().map(|(n, _)| n)).chain(c.columns.iter().map(|(n, _)| n))
                .any(|e| as_table.matched_by(e, true, None));
            let read_in_query = a.tables.iter().any(|t| t.name.table == *name);
            if named_in_policy || read_in_query {
                violations.push(Violation::new(
                    "cte_shadows_table",
                    format!("the CTE name `{name}` hides a table of the same name; rename the CTE (e.g. `{name}_cte`)"),
                ));
            }
        }
    }
}

fn dedup_violations(violations: &mut Vec<Violation>) {
    let mut seen = BTreeSet::new();
    violations.retain(|v| seen.insert((v.code.clone(), v.message.clone())));
}

#[cfg(test)]
mod tests {
    use sqlparser::parser::Parser;

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

    /// Near the parser's recursion limit sqlparser's own path and the quick dialect may take
    /// different courses (see `dialect`); checks there end in a verdict, not a debug assertion.
    #[test]
    fn nesting_around_the_recursion_limit_ends_in_a_verdict() {
        for dialect in [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite, Dialect::Generic] {
            let guard = Guard::new(Policy::for_dialect(dialect));
            let limit = guard.policy().limits.max_nesting;
            for depth in limit.saturating_sub(4)..limit + 4 {
                for leaf in ["a", "1", "'s'", "CASE WHEN a THEN b END", "t.a"] {
                    let sql = format!("SELECT {}{leaf}{} FROM t", "(".repeat(depth), ")".repeat(depth));
                    let v = guard.check(&sql, &GuardContext::default());
                    assert!(v.allowed || !v.violations.is_empty(), "{sql}");
                }
            }
        }
    }

    /// MySQL's `&&` is parsed as `AND` but binds tighter, like a bitwise operator, and the
    /// renderer writes `AND`: `a > b && c` was checked as `a > (b AND c)` and would run as
    /// `(a > b) AND c` (found by the fuzzer). Such a query must be verified by a re-parse, so it
    /// is either passed on with the same meaning or rejected, never regrouped.
    #[test]
    fn mysql_double_ampersand_is_never_regrouped() {
        let mysql = Guard::new(Policy::for_dialect(Dialect::Mysql));
        let check = |sql: &str| mysql.check(sql, &GuardContext::default());
        for sql in ["SELECT a > b && c FROM t", "SELECT +e * +A + +N > e && er", "SELECT a FROM t WHERE b IS NULL && c = 1 || d"] {
            let v = check(sql);
            if let Some(out) = &v.sql {
                let checked = Parser::parse_sql(Dialect::Mysql.parser_dialect(), sql).ok();
                let rendered = Parser::parse_sql(Dialect::Mysql.parser_dialect(), out).ok();
                let strip_limit = |s: Option<Vec<Statement>>| match s?.pop()? {
                    Statement::Query(mut q) => {
                        q.limit_clause = None;
                        Some(q)
                    }
                    _ => None,
                };
                assert_eq!(strip_limit(checked), strip_limit(rendered), "{sql} became {out}");
            } else {
                assert_eq!(v.violations[0].code, "unsafe_literal", "{sql}: {v:?}");
            }
        }
        assert_eq!(check("SELECT a > b && c FROM t").violations[0].code, "unsafe_literal");
        // Where the grouping is the same, `&&` passes as `AND`.
        assert_eq!(check("SELECT a FROM t WHERE b && c").sql.as_deref(), Some("SELECT a FROM t WHERE b AND c LIMIT 1000"));
    }
}
