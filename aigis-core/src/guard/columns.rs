//! Column protections over the whole statement: blocked columns reject, masked columns are
//! rewritten so their values never leave the database.
//!
//! Matching is by column name wherever a protected table is read anywhere in the statement,
//! whatever the qualifier: a subquery, CTE, aggregate, filter or sort cannot reach the column
//! under its own name, and a same-named column of another table in the same query is treated
//! as protected too (the safe side of an ambiguity the guard cannot resolve without a schema).

use std::collections::BTreeSet;
use std::ops::ControlFlow;

use sqlparser::ast::{CastKind, DataType, Expr, Ident, Select, SelectItem, Value as SqlValue, VisitMut, VisitorMut};

use super::compiled::Compiled;
use super::names::fold;
use super::policy::ColumnAction;
use super::walk::Analyzer;
use super::{Note, Violation};
use crate::dialect::Dialect;

/// Decides blocked columns and whole-row reads; returns the masked column names (folded).
pub(crate) fn check(c: &Compiled, a: &Analyzer<'_>, violations: &mut Vec<Violation>) -> BTreeSet<String> {
    let mut blocked = BTreeSet::new();
    let mut masked = BTreeSet::new();
    let mut protected_aliases = BTreeSet::new();
    for table in &a.tables {
        for rule in c.rules_for(&table.name) {
            protected_aliases.insert(table.alias.clone());
            match rule.action {
                ColumnAction::Block => blocked.insert((rule.column.clone(), rule.written.clone())),
                ColumnAction::Mask => masked.insert(rule.column.clone()),
            };
        }
    }
    for col in &a.columns {
        if let Some((_, written)) = blocked.iter().find(|(name, _)| *name == col.name) {
            violations.push(Violation::new(
                "column_blocked",
                format!("column `{written}` may not be read (used as `{}`); remove it from the query", col.written),
            ));
        }
    }
    for candidate in a.row_candidates() {
        if candidate == "*" && !protected_aliases.is_empty() || protected_aliases.contains(candidate) {
            violations.push(Violation::new(
                "column_blocked",
                format!(
                    "`{candidate}` reads whole rows of a table with protected columns (e.g. row_to_json, to_json); select the columns you need by name"
                ),
            ));
        }
    }
    masked.retain(|m| !blocked.iter().any(|(b, _)| b == m));
    masked
}

/// Rewrites every reference to a masked column into the mask value, keeping the output name.
/// Returns whether anything was rewritten.
pub(crate) fn mask<V: VisitMut>(node: &mut V, masked: &BTreeSet<String>, c: &Compiled, notes: &mut Vec<Note>) -> bool {
    if masked.is_empty() {
        return false;
    }
    let mut masker = Masker { masked, dialect: c.dialect, value: c.mask_value.clone(), hit: BTreeSet::new() };
    let _ = node.visit(&mut masker);
    let applied = !masker.hit.is_empty();
    for col in masker.hit {
        notes.push(Note::new("column_masked", format!("column `{col}` is masked: its values are not returned")));
    }
    applied
}

struct Masker<'a> {
    masked: &'a BTreeSet<String>,
    dialect: Dialect,
    value: Option<String>,
    hit: BTreeSet<String>,
}

impl Masker<'_> {
    fn masked_name<'e>(&self, expr: &'e Expr) -> Option<&'e Ident> {
        let id = match expr {
            Expr::Identifier(id) => id,
            Expr::CompoundIdentifier(parts) => parts.last()?,
            _ => return None,
        };
        self.masked.contains(&fold(id, self.dialect)).then_some(id)
    }

    /// A typed text value: PostgreSQL rejects a bare constant in ORDER BY / GROUP BY, and
    /// `CAST` keeps the column's type stable across the rows of a UNION.
    fn replacement(&self) -> Expr {
        let value = match &self.value {
            Some(v) => Expr::value(SqlValue::SingleQuotedString(v.clone())),
            None => Expr::value(SqlValue::Null),
        };
        let data_type = match self.dialect {
            Dialect::Mysql => DataType::Char(None),
            _ => DataType::Text,
        };
        Expr::Cast { kind: CastKind::Cast, expr: Box::new(value), data_type, format: None }
    }
}

impl VisitorMut for Masker<'_> {
    type Break = ();

    fn pre_visit_select(&mut self, select: &mut Select) -> ControlFlow<()> {
        // Keep the column's name in the output: `SELECT email` becomes `SELECT NULL AS email`.
        for item in &mut select.projection {
            if let SelectItem::UnnamedExpr(expr) = item
                && let Some(id) = self.masked_name(expr)
            {
                let alias = id.clone();
                *item = SelectItem::ExprWithAlias { expr: expr.clone(), alias };
            }
        }
        ControlFlow::Continue(())
    }

    fn post_visit_expr(&mut self, expr: &mut Expr) -> ControlFlow<()> {
        if let Some(id) = self.masked_name(expr) {
            self.hit.insert(fold(id, self.dialect));
            *expr = self.replacement();
        }
        ControlFlow::Continue(())
    }
}
