//! The read-only walk: every check that needs only to look at the AST.
//!
//! One [`Visitor`] pass records the base tables (CTE references resolved away), the columns and
//! whole-row values read, and the violations of table, function, catalog, write, lock and
//! variable rules. Column protections are then decided over the whole statement in
//! [`super::columns`]. The same pass decides whether the tree is [`super::plain`], so the
//! renderer knows without a walk of its own whether its output needs verifying.

use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, Expr, FunctionArg, Ident, FunctionArgExpr, FunctionArguments, JoinConstraint, JoinOperator, ObjectName,
    ObjectNamePart, Query, Select, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, Statement, TableFactor,
    TableWithJoins, ValueWithSpan, Visitor,
};

use super::Violation;
use super::compiled::Compiled;
use super::functions;
use super::plain;
use super::names::{QualName, fold, is_catalog};
use super::policy::ColumnAction;
use super::resolve::CteScopes;
use crate::dialect::Dialect;

/// A base table read by the query.
pub(crate) struct BaseRef {
    pub name: QualName,
    /// The name used for it inside the query (alias, else table name), folded.
    pub alias: String,
}

/// A column reference: its folded name and how it was written.
pub(crate) struct ColumnRef {
    pub name: String,
    pub written: String,
}

/// A name that may denote a whole row.
enum RowCandidate {
    /// A bare identifier, kept as the index of its [`ColumnRef`]: most are plain columns, and
    /// this spares a second copy of every one of them.
    Column(usize),
    /// A qualifier (`c` of `c.*`) or `*`, folded.
    Named(String),
}

/// What the walk found.
pub(crate) struct Analyzer<'a> {
    c: &'a Compiled,
    ctx_views: &'a [QualName],
    scopes: CteScopes,
    pub violations: Vec<Violation>,
    pub tables: Vec<BaseRef>,
    pub cte_names: Vec<String>,
    pub columns: Vec<ColumnRef>,
    /// Names that may denote a whole row (`row_to_json(c)`, `c.*` in a function), in the order
    /// met; see [`Analyzer::row_candidates`].
    row_candidates: Vec<RowCandidate>,
    pub joins: usize,
    /// Every node seen so far is plain (see [`super::plain`]).
    pub plain: bool,
}

impl<'a> Analyzer<'a> {
    pub(crate) fn new(c: &'a Compiled, ctx_views: &'a [QualName]) -> Self {
        Self {
            c,
            ctx_views,
            scopes: CteScopes::default(),
            violations: Vec::new(),
            tables: Vec::new(),
            cte_names: Vec::new(),
            columns: Vec::new(),
            row_candidates: Vec::new(),
            joins: 0,
            plain: true,
        }
    }

    fn d(&self) -> Dialect {
        self.c.dialect
    }

    /// Names that may denote a whole row, folded, in the order met.
    pub(crate) fn row_candidates(&self) -> impl Iterator<Item = &str> {
        self.row_candidates.iter().filter_map(|candidate| match candidate {
            RowCandidate::Column(i) => self.columns.get(*i).map(|c| c.name.as_str()),
            RowCandidate::Named(name) => Some(name.as_str()),
        })
    }

    fn violation(&mut self, code: &str, message: impl Into<String>) {
        self.violations.push(Violation::new(code, message));
    }

    /// Resolves a table factor to a base table, `None` for CTEs and non-tables.
    fn base_table(&self, factor: &TableFactor) -> Option<(QualName, String)> {
        let TableFactor::Table { name, alias, args: None, .. } = factor else { return None };
        let q = QualName::from_object_name(name, self.d())?;
        if q.schema.is_none() && self.scopes.is_cte(&q.table) {
            return None;
        }
        let alias = alias.as_ref().map(|a| fold(&a.name, self.d())).unwrap_or_else(|| q.table.clone());
        Some((q, alias))
    }

    fn check_table(&mut self, name: &ObjectName, q: &QualName) {
        if is_catalog(q) && !self.c.allow_catalogs {
            self.violation(
                "catalog_access",
                format!("`{name}` is a system catalog and cannot be queried; use only the application tables in the schema you were given"),
            );
            return;
        }
        if self.c.deny.iter().any(|e| q.matched_by(e, true, None)) {
            self.violation("table_not_allowed", format!("table `{name}` may not be queried; answer without it"));
        }
        let default_schema = self.c.required_schema.as_deref();
        if !self.c.allow.is_empty() && !self.c.allow.iter().any(|e| q.matched_by(e, false, default_schema)) {
            let allowed: Vec<String> = self.c.allow.iter().map(QualName::display).collect();
            self.violation(
                "table_not_allowed",
                format!("table `{name}` is not in the allowed list; use only: {}", allowed.join(", ")),
            );
        }
        if let Some(schema) = &self.c.required_schema
            && q.schema.as_deref() != Some(schema.as_str())
        {
            self.violation(
                "schema_required",
                format!("table `{name}` must be written with its schema, as `{schema}.{}`", q.table),
            );
        }
        if self.c.views_only && !self.c.views.iter().chain(self.ctx_views).any(|v| q.matched_by(v, true, None)) {
            let views: Vec<String> = self.c.views.iter().chain(self.ctx_views).map(QualName::display).collect();
            self.violation(
                "table_not_allowed",
                format!("only views may be queried and `{name}` is not one; use one of: {}", views.join(", ")),
            );
        }
    }

    fn check_function(&mut self, name: &ObjectName) {
        self.check_normalised_function(&functions::normalise(name));
    }

    fn check_normalised_function(&mut self, normalised: &str) {
        if let Some(why) = self.c.function_denied(normalised) {
            self.violation("function_denied", why);
        }
    }

    /// Protected base tables directly in a FROM clause: (alias, strictest action).
    fn protected_in(&self, from: &[TableWithJoins], out: &mut Vec<(String, ColumnAction)>) {
        for twj in from {
            for factor in std::iter::once(&twj.relation).chain(twj.joins.iter().map(|j| &j.relation)) {
                if let TableFactor::NestedJoin { table_with_joins, .. } = factor {
                    self.protected_in(std::slice::from_ref(table_with_joins), out);
                } else if let Some((q, alias)) = self.base_table(factor) {
                    let mut strictest = None;
                    for rule in self.c.rules_for(&q) {
                        if strictest != Some(ColumnAction::Block) {
                            strictest = Some(rule.action);
                        }
                    }
                    if let Some(action) = strictest {
                        out.push((alias, action));
                    }
                }
            }
        }
    }

    fn wildcard_violation(&mut self, alias: &str, action: ColumnAction) {
        let (code, what) = match action {
            ColumnAction::Block => ("column_blocked", "blocked"),
            ColumnAction::Mask => ("masked_wildcard", "masked"),
        };
        self.violation(
            code,
            format!("`*` over `{alias}` would read {what} columns; list the columns you need by name instead of `*`"),
        );
    }

    fn check_select(&mut self, select: &Select) {
        if select.into.is_some() {
            self.violation("write_in_query", "SELECT ... INTO writes a table or variables; remove the INTO clause");
        }
        if !select.optimizer_hints.is_empty() {
            self.violation("optimizer_hint", "optimizer hints are not allowed; remove the hint comment");
        }
        let mut protected = Vec::new();
        self.protected_in(&select.from, &mut protected);
        for item in &select.projection {
            match item {
                SelectItem::Wildcard(_) => {
                    for (alias, action) in protected.clone() {
                        self.wildcard_violation(&alias, action);
                    }
                }
                SelectItem::QualifiedWildcard(kind, _) => {
                    let qualifier = match kind {
                        SelectItemQualifiedWildcardKind::ObjectName(n) => last_folded(n, self.d()),
                        SelectItemQualifiedWildcardKind::Expr(_) => None,
                    };
                    for (alias, action) in protected.clone() {
                        if qualifier.as_deref().is_none_or(|q| q == alias) {
                            self.wildcard_violation(&alias, action);
                        }
                    }
                }
                _ => {}
            }
        }
        self.joins += select.from.len().saturating_sub(1);
        for twj in &select.from {
            self.joins += twj.joins.len();
            for join in &twj.joins {
                match join_constraint(&join.join_operator) {
                    Some(JoinConstraint::Natural) if !protected.is_empty() => self.violation(
                        "column_blocked",
                        "NATURAL JOIN compares every same-named column, including protected ones; join with ON and named columns",
                    ),
                    Some(JoinConstraint::Using(cols)) => {
                        for col in cols {
                            if let Some(name) = last_folded(col, self.d()) {
                                self.columns.push(ColumnRef { name, written: col.to_string() });
                            }
                        }
                    }
                    _ => {}
                }
            }
        }
    }

    fn check_query(&mut self, query: &Query) {
        if !query.locks.is_empty() {
            self.violation("locking_clause", "locking clauses (FOR UPDATE / FOR SHARE) are not allowed in read-only queries; remove it");
        }
        if query.for_clause.is_some() || !query.pipe_operators.is_empty() || query.settings.is_some() || query.format_clause.is_some() {
            self.violation("unsupported_syntax", "this query uses a clause that is not supported here; write a plain SELECT");
        }
        if let Some(with) = &query.with {
            if with.recursive && !self.c.allow_recursive {
                self.violation("recursive_cte", "recursive CTEs (WITH RECURSIVE) are not allowed; rewrite it without recursion");
            }
            for cte in &with.cte_tables {
                self.cte_names.push(fold(&cte.alias.name, self.d()));
            }
        }
        match query.body.as_ref() {
            SetExpr::Insert(_) | SetExpr::Update(_) | SetExpr::Delete(_) | SetExpr::Merge(_) => self.violation(
                "write_in_query",
                "the query contains INSERT, UPDATE, DELETE or MERGE; only reading is allowed, so remove the data-changing part",
            ),
            SetExpr::Table(_) => {
                self.violation("unsupported_syntax", "`TABLE name` is not supported; write SELECT ... FROM name")
            }
            _ => {}
        }
    }

    fn check_expr(&mut self, expr: &Expr) {
        match expr {
            Expr::Identifier(id) => {
                if id.value.starts_with('@') {
                    self.violation("user_variable", "session and user variables (@name) are not allowed; use literal values");
                }
                self.row_candidates.push(RowCandidate::Column(self.columns.len()));
                self.columns.push(ColumnRef { name: fold(id, self.d()), written: written(std::slice::from_ref(id)) });
            }
            Expr::CompoundIdentifier(parts) => {
                if let Some(last) = parts.last() {
                    self.columns.push(ColumnRef { name: fold(last, self.d()), written: written(parts) });
                }
                if parts.iter().any(|p| p.value.starts_with('@')) {
                    self.violation("user_variable", "session and user variables (@name) are not allowed; use literal values");
                }
            }
            Expr::QualifiedWildcard(name, _) => {
                if let Some(q) = last_folded(name, self.d()) {
                    self.row_candidates.push(RowCandidate::Named(q));
                }
            }
            Expr::Wildcard(_) => self.row_candidates.push(RowCandidate::Named("*".into())),
            Expr::BinaryOp { op: BinaryOperator::Assignment, .. } => {
                self.violation("user_variable", "assigning variables (:=) is not allowed; compute the value in the query instead")
            }
            Expr::Function(f) => {
                let name = functions::normalise(&f.name);
                self.check_normalised_function(&name);
                if let FunctionArguments::List(list) = &f.args {
                    for arg in &list.args {
                        let arg = match arg {
                            FunctionArg::Named { arg, .. } | FunctionArg::ExprNamed { arg, .. } | FunctionArg::Unnamed(arg) => arg,
                        };
                        match arg {
                            FunctionArgExpr::QualifiedWildcard(q) => {
                                if let Some(q) = last_folded(q, self.d()) {
                                    self.row_candidates.push(RowCandidate::Named(q));
                                }
                            }
                            FunctionArgExpr::Wildcard | FunctionArgExpr::WildcardWithOptions(_) if name != "count" => {
                                self.row_candidates.push(RowCandidate::Named("*".into()));
                            }
                            _ => {}
                        }
                    }
                }
            }
            _ => {}
        }
    }
}

impl Visitor for Analyzer<'_> {
    type Break = ();

    fn pre_visit_statement(&mut self, statement: &Statement) -> ControlFlow<()> {
        if !matches!(statement, Statement::Query(_)) {
            self.violation("write_in_query", "the query contains a statement that is not a SELECT; write one read-only SELECT");
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_query(&mut self, query: &Query) -> ControlFlow<()> {
        self.scopes.enter(query, self.d());
        self.check_query(query);
        self.plain = self.plain && plain::query_ok(query);
        ControlFlow::Continue(())
    }

    fn post_visit_query(&mut self, _query: &Query) -> ControlFlow<()> {
        self.scopes.exit();
        ControlFlow::Continue(())
    }

    fn pre_visit_select(&mut self, select: &Select) -> ControlFlow<()> {
        self.check_select(select);
        self.plain = self.plain && plain::select_ok(select);
        ControlFlow::Continue(())
    }

    fn pre_visit_table_factor(&mut self, factor: &TableFactor) -> ControlFlow<()> {
        self.plain = self.plain && plain::table_factor_ok(factor);
        match factor {
            TableFactor::Table { name, args: Some(_), .. } | TableFactor::Function { name, .. } => self.check_function(name),
            TableFactor::Table { name, alias, .. } => {
                if name.0.iter().any(|p| matches!(p, ObjectNamePart::Function(_))) {
                    self.violation("unsupported_syntax", "computed table names are not allowed; name the table directly");
                } else if let Some((q, alias_name)) = self.base_table(factor) {
                    self.check_table(name, &q);
                    if alias.as_ref().is_some_and(|a| !a.columns.is_empty()) && self.c.is_protected(&q) {
                        self.violation(
                            "column_blocked",
                            format!("`{name}` has protected columns and cannot be given column aliases; select its columns by name"),
                        );
                    }
                    self.tables.push(BaseRef { name: q, alias: alias_name });
                }
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }

    fn pre_visit_expr(&mut self, expr: &Expr) -> ControlFlow<()> {
        self.check_expr(expr);
        self.plain = self.plain && plain::expr_ok(expr);
        ControlFlow::Continue(())
    }

    fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
        self.plain = self.plain && plain::value_ok(value);
        ControlFlow::Continue(())
    }

    fn pre_visit_ident(&mut self, ident: &Ident) -> ControlFlow<()> {
        self.plain = self.plain && plain::ident_ok(ident);
        ControlFlow::Continue(())
    }
}

/// A column reference as written (`o.total`), without the formatting machinery for the common
/// unquoted case: this runs for every column of every query.
fn written(parts: &[Ident]) -> String {
    if parts.iter().any(|p| p.quote_style.is_some()) {
        return parts.iter().map(Ident::to_string).collect::<Vec<_>>().join(".");
    }
    let mut out = String::with_capacity(parts.iter().map(|p| p.value.len() + 1).sum());
    for (i, p) in parts.iter().enumerate() {
        if i > 0 {
            out.push('.');
        }
        out.push_str(&p.value);
    }
    out
}

fn last_folded(name: &ObjectName, dialect: Dialect) -> Option<String> {
    match name.0.last() {
        Some(ObjectNamePart::Identifier(id)) => Some(fold(id, dialect)),
        _ => None,
    }
}

fn join_constraint(op: &JoinOperator) -> Option<&JoinConstraint> {
    match op {
        JoinOperator::Join(c)
        | JoinOperator::Inner(c)
        | JoinOperator::Left(c)
        | JoinOperator::LeftOuter(c)
        | JoinOperator::Right(c)
        | JoinOperator::RightOuter(c)
        | JoinOperator::FullOuter(c)
        | JoinOperator::CrossJoin(c)
        | JoinOperator::Semi(c)
        | JoinOperator::LeftSemi(c)
        | JoinOperator::RightSemi(c)
        | JoinOperator::Anti(c)
        | JoinOperator::LeftAnti(c)
        | JoinOperator::RightAnti(c)
        | JoinOperator::StraightJoin(c)
        | JoinOperator::AsOf { constraint: c, .. } => Some(c),
        JoinOperator::CrossApply
        | JoinOperator::OuterApply
        | JoinOperator::ArrayJoin
        | JoinOperator::LeftArrayJoin
        | JoinOperator::InnerArrayJoin => None,
    }
}
