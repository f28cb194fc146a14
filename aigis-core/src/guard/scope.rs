//! Row scopes: every reference to a scoped base table becomes a filtered derived table under
//! the same alias, `(SELECT * FROM orders WHERE store_id IN (1, 2)) AS o`, wherever it appears
//! (joins, subqueries, CTEs, set operations, correlated subqueries). Nothing the model writes
//! around it (`OR 1=1` included) can widen the rows the derived table yields.
//!
//! Parameters come from [`super::GuardContext::params`] and are bound as typed AST literals,
//! never spliced into text; a value of the wrong type is rejected.

use std::collections::BTreeMap;
use std::ops::ControlFlow;

use sqlparser::ast::{
    Expr, Ident, Query, SetExpr, TableAlias, TableFactor, Value as SqlValue, VisitMut, VisitorMut,
};

use super::names::{QualName, folds_to};
use super::policy::ParamType;
use super::resolve::CteScopes;
use super::{Note, Violation};
use crate::dialect::Dialect;

/// Binds the parameters of a scope predicate; errors are violations for the caller.
pub(crate) fn bind(
    predicate: &Expr,
    params: &BTreeMap<String, serde_json::Value>,
    types: &BTreeMap<String, ParamType>,
) -> Result<Expr, Violation> {
    let mut expr = predicate.clone();
    let mut binder = Binder { params, types, error: None };
    let _ = expr.visit(&mut binder);
    match binder.error {
        Some(v) => Err(v),
        None => Ok(expr),
    }
}

struct Binder<'a> {
    params: &'a BTreeMap<String, serde_json::Value>,
    types: &'a BTreeMap<String, ParamType>,
    error: Option<Violation>,
}

impl Binder<'_> {
    fn lookup<'p>(&mut self, placeholder: &'p str) -> Option<(&'p str, serde_json::Value)> {
        let name = placeholder.trim_start_matches([':', '$', '@', '?']);
        let Some(value) = self.params.get(name) else {
            self.error = Some(Violation::new(
                "scope_param_missing",
                format!("the row scope needs parameter `{name}`, which the caller did not provide"),
            ));
            return None;
        };
        if let Some(ty) = self.types.get(name)
            && !type_matches(*ty, value)
        {
            self.error = Some(Violation::new(
                "scope_param_type",
                format!("parameter `{name}` must be {ty:?}, got {}", kind(value)),
            ));
            return None;
        }
        Some((name, value.clone()))
    }

    fn literal(&mut self, name: &str, value: &serde_json::Value) -> Option<Expr> {
        let v = match value {
            serde_json::Value::Number(n) => SqlValue::Number(n.to_string(), false),
            serde_json::Value::String(s) => SqlValue::SingleQuotedString(s.clone()),
            serde_json::Value::Bool(b) => SqlValue::Boolean(*b),
            other => {
                self.error = Some(Violation::new(
                    "scope_param_type",
                    format!("parameter `{name}` must be a number, string or boolean here, got {}", kind(other)),
                ));
                return None;
            }
        };
        Some(Expr::value(v))
    }
}

impl VisitorMut for Binder<'_> {
    type Break = ();

    fn pre_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if self.error.is_some() {
            return ControlFlow::Break(());
        }
        match expr {
            Expr::InList { list, negated, .. } => {
                let mut out = Vec::with_capacity(list.len());
                for item in list.drain(..) {
                    match placeholder(&item) {
                        Some(p) => {
                            let Some((name, value)) = self.lookup(&p) else { return ControlFlow::Break(()) };
                            let name = name.to_string();
                            let values = match value {
                                serde_json::Value::Array(values) => values,
                                scalar => vec![scalar],
                            };
                            for v in &values {
                                let Some(lit) = self.literal(&name, v) else { return ControlFlow::Break(()) };
                                out.push(lit);
                            }
                        }
                        None => out.push(item),
                    }
                }
                if out.is_empty() {
                    // `IN ()` is not SQL: an empty list matches nothing (or everything, negated).
                    let lit = |n: &str| Expr::value(SqlValue::Number(n.into(), false));
                    *expr = Expr::BinaryOp {
                        left: Box::new(lit("1")),
                        op: if *negated { sqlparser::ast::BinaryOperator::Eq } else { sqlparser::ast::BinaryOperator::NotEq },
                        right: Box::new(lit("1")),
                    };
                } else {
                    *list = out;
                }
            }
            other => {
                if let Some(p) = placeholder(other) {
                    let Some((name, value)) = self.lookup(&p) else { return ControlFlow::Break(()) };
                    let name = name.to_string();
                    if value.is_array() {
                        self.error = Some(Violation::new(
                            "scope_param_type",
                            format!("parameter `{name}` is a list and may only be used as IN (:{name})"),
                        ));
                        return ControlFlow::Break(());
                    }
                    let Some(lit) = self.literal(&name, &value) else { return ControlFlow::Break(()) };
                    *other = lit;
                }
            }
        }
        ControlFlow::Continue(())
    }
}

fn placeholder(expr: &Expr) -> Option<String> {
    match expr {
        Expr::Value(v) => match &v.value {
            SqlValue::Placeholder(p) => Some(p.clone()),
            _ => None,
        },
        _ => None,
    }
}

fn kind(v: &serde_json::Value) -> &'static str {
    match v {
        serde_json::Value::Null => "null",
        serde_json::Value::Bool(_) => "a boolean",
        serde_json::Value::Number(_) => "a number",
        serde_json::Value::String(_) => "a string",
        serde_json::Value::Array(_) => "a list",
        serde_json::Value::Object(_) => "an object",
    }
}

fn type_matches(ty: ParamType, v: &serde_json::Value) -> bool {
    let scalar = |ty: ParamType, v: &serde_json::Value| match ty {
        ParamType::Integer | ParamType::IntegerList => v.as_i64().is_some() || v.as_u64().is_some(),
        ParamType::Number | ParamType::NumberList => v.is_number(),
        ParamType::Text | ParamType::TextList => v.is_string(),
        ParamType::Boolean => v.is_boolean(),
    };
    match ty {
        ParamType::IntegerList | ParamType::NumberList | ParamType::TextList => {
            v.as_array().is_some_and(|items| items.iter().all(|i| scalar(ty, i)))
        }
        _ => scalar(ty, v),
    }
}

/// Rewrites every reference to a scoped base table; notes which tables were scoped.
pub(crate) fn apply<V: VisitMut>(
    node: &mut V,
    bound: &[(QualName, Expr)],
    template: &Query,
    dialect: Dialect,
    notes: &mut Vec<Note>,
) {
    if bound.is_empty() {
        return;
    }
    let mut scoper = Scoper { bound, template, dialect, scopes: CteScopes::default(), applied: Vec::new() };
    let _ = node.visit(&mut scoper);
    scoper.applied.sort();
    scoper.applied.dedup();
    for t in scoper.applied {
        notes.push(Note::new("scope_applied", format!("rows of `{t}` are limited to the caller's scope")));
    }
}

struct Scoper<'a> {
    bound: &'a [(QualName, Expr)],
    template: &'a Query,
    dialect: Dialect,
    scopes: CteScopes,
    applied: Vec<String>,
}

impl VisitorMut for Scoper<'_> {
    type Break = ();

    fn pre_visit_query(&mut self, query: &mut Query) -> ControlFlow<()> {
        self.scopes.enter(query, self.dialect);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &mut Query) -> ControlFlow<()> {
        self.scopes.exit();
        ControlFlow::Continue(())
    }

    // Post-visit, so the derived table put in place is not visited (and scoped) again.
    fn post_visit_table_factor(&mut self, factor: &mut TableFactor) -> ControlFlow<()> {
        let TableFactor::Table { name, alias, args: None, .. } = factor else { return ControlFlow::Continue(()) };
        // Most references are to unscoped tables: rule them out before building a folded name.
        let last = name.0.last().and_then(|p| p.as_ident());
        if !last.is_some_and(|id| self.bound.iter().any(|(entry, _)| folds_to(id, &entry.table, self.dialect))) {
            return ControlFlow::Continue(());
        }
        let Some(q) = QualName::from_object_name(name, self.dialect) else { return ControlFlow::Continue(()) };
        if q.schema.is_none() && self.scopes.is_cte(&q.table) {
            return ControlFlow::Continue(());
        }
        let Some((_, predicate)) = self.bound.iter().find(|(entry, _)| q.matched_by(entry, true, None)) else {
            return ControlFlow::Continue(());
        };
        let outer_alias = alias.take().unwrap_or_else(|| TableAlias {
            explicit: true,
            name: name.0.last().and_then(|p| p.as_ident()).cloned().unwrap_or_else(|| Ident::new(q.table.clone())),
            columns: Vec::new(),
            at: None,
        });
        let mut subquery = Box::new(self.template.clone());
        if let SetExpr::Select(select) = subquery.body.as_mut()
            && let Some(from) = select.from.first_mut()
        {
            // The template's `FROM t` trades places with the reference: no second copy.
            std::mem::swap(&mut from.relation, factor);
            select.selection = Some(predicate.clone());
        }
        *factor = TableFactor::Derived { lateral: false, subquery, alias: Some(outer_alias), sample: None };
        self.applied.push(q.display());
        ControlFlow::Continue(())
    }
}

/// The template a scoped reference becomes, `SELECT * FROM t` (the predicate is set as its
/// WHERE), parsed so every field of the AST has its parser default. It is cloned for every
/// scoped reference, so it is kept as small as it can be.
pub(crate) fn template(dialect: Dialect) -> Option<Query> {
    let d = dialect.parser_dialect();
    match sqlparser::parser::Parser::parse_sql(d, "SELECT * FROM t").ok()?.pop()? {
        // `Scoper` swaps the reference into the first FROM item: only that shape will do.
        sqlparser::ast::Statement::Query(q) if matches!(q.body.as_ref(), SetExpr::Select(s) if s.from.len() == 1) => Some(*q),
        _ => None,
    }
}
