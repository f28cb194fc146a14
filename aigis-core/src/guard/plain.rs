//! Plain trees: the shapes whose rendering is known to parse back to themselves.
//!
//! Re-parsing the rendered text is the guard's proof that the text that runs is the tree it
//! checked, and it costs a second parse. Most analytical queries are made only of a small set
//! of node kinds whose rendering is fixed keywords, punctuation, plain names and plain literals:
//! no symbolic operator that can re-tokenize with its neighbour, no string or quoted name that
//! could shift a quote boundary, no identifier spelt like a keyword with a meaning of its own
//! (`NOT`, `DATE '…'`), no unary sign before a sign. A tree is plain only when every node is of
//! such a kind; everything else takes the full re-parse.
//!
//! The checks are one function per node kind (`query_ok`, `expr_ok`, …). The guard's walk
//! ([`super::walk`]) applies them to the query as written, in the same pass as its policy
//! checks; the guard then adds what its rewrites put in (see `Guard::check_query`). [`is_plain`]
//! and [`is_plain_expr`] apply them to other trees.
//!
//! The list is an allow-list, so a construct this module does not know is never trusted. In
//! debug builds (tests, the fuzzer) the re-parse runs for plain trees as well and must agree,
//! so the whole test corpus and every fuzz input check this module.

use std::cmp::Ordering;
use std::ops::ControlFlow;

use sqlparser::ast::{
    BinaryOperator, CastKind, DataType, Distinct, Expr, ExtractSyntax, Function, FunctionArg,
    FunctionArgExpr, FunctionArguments, GroupByExpr, Ident, JoinOperator, LimitClause, OrderByKind,
    Query, Select, SelectFlavor, SelectItem, SelectItemQualifiedWildcardKind, SetExpr, TableAlias,
    TableFactor, UnaryOperator, Value, ValueWithSpan, Visit, Visitor, WildcardAdditionalOptions,
    WindowType,
};

/// Keywords that are also common column and function names, and that the parser reads the same
/// way in every position a plain tree puts a name: no prefix meaning (`NOT`, `CASE`, `EXISTS`),
/// no typed literal (`DATE '…'`). Sorted; each one is checked by a test against the parser.
pub(crate) const PLAIN_KEYWORDS: &[&str] = &[
    "AVG",
    "BUCKET",
    "CATEGORY",
    "COUNT",
    "DAY",
    "DENSE_RANK",
    "DOW",
    "HOUR",
    "ID",
    "LAG",
    "LEAD",
    "LOWER",
    "MAX",
    "MIN",
    "MINUTE",
    "MONTH",
    "NAME",
    "NULLIF",
    "QUARTER",
    "RANK",
    "REGION",
    "ROW_NUMBER",
    "SIZE",
    "STATUS",
    "SUM",
    "UPPER",
    "VALUE",
    "WEEK",
    "YEAR",
];

/// Whether every node of the query is of a kind whose rendering re-parses to itself.
pub(crate) fn is_plain(query: &Query) -> bool {
    Visit::visit(query, &mut Plain).is_continue()
}

/// Whether every node of an expression is plain: for expressions put into a checked tree
/// (bound row-scope predicates).
pub(crate) fn is_plain_expr(expr: &Expr) -> bool {
    Visit::visit(expr, &mut Plain).is_continue()
}

/// The plain checks as a visitor of their own, for trees the guard's walk did not see.
struct Plain;

/// `Continue` when the condition holds, else stop: the tree is not plain.
fn require(ok: bool) -> ControlFlow<()> {
    if ok {
        ControlFlow::Continue(())
    } else {
        ControlFlow::Break(())
    }
}

impl Visitor for Plain {
    type Break = ();

    fn pre_visit_query(&mut self, q: &Query) -> ControlFlow<()> {
        require(query_ok(q))
    }

    fn pre_visit_select(&mut self, s: &Select) -> ControlFlow<()> {
        require(select_ok(s))
    }

    fn pre_visit_table_factor(&mut self, f: &TableFactor) -> ControlFlow<()> {
        require(table_factor_ok(f))
    }

    fn pre_visit_expr(&mut self, e: &Expr) -> ControlFlow<()> {
        require(expr_ok(e))
    }

    fn pre_visit_value(&mut self, v: &ValueWithSpan) -> ControlFlow<()> {
        require(value_ok(v))
    }

    fn pre_visit_ident(&mut self, ident: &Ident) -> ControlFlow<()> {
        require(ident_ok(ident))
    }
}

// One check per node kind the walk stops at. Each looks at its node and, where rendering
// depends on it, at its direct children; a tree is plain when every node passes.

pub(crate) fn query_ok(q: &Query) -> bool {
    let with_ok = q.with.as_ref().is_none_or(|w| {
        w.cte_tables
            .iter()
            .all(|c| c.from.is_none() && c.materialized.is_none() && alias_ok(&c.alias))
    });
    let order_ok = q.order_by.as_ref().is_none_or(|o| {
        o.interpolate.is_none() && matches!(&o.kind, OrderByKind::Expressions(items) if items.iter().all(|i| i.with_fill.is_none()))
    });
    let limit_ok = match &q.limit_clause {
        None => true,
        Some(LimitClause::LimitOffset { limit_by, .. }) => limit_by.is_empty(),
        Some(LimitClause::OffsetCommaLimit { .. }) => false,
    };
    let body_ok = matches!(
        q.body.as_ref(),
        SetExpr::Select(_) | SetExpr::Query(_) | SetExpr::SetOperation { .. }
    );
    with_ok
        && order_ok
        && limit_ok
        && body_ok
        && q.fetch.is_none()
        && q.locks.is_empty()
        && q.for_clause.is_none()
        && q.settings.is_none()
        && q.format_clause.is_none()
        && q.pipe_operators.is_empty()
}

pub(crate) fn select_ok(s: &Select) -> bool {
    let joins_ok = s.from.iter().flat_map(|t| &t.joins).all(|j| {
        !j.global
        && matches!(
                j.join_operator,
                JoinOperator::Join(_)
                    | JoinOperator::Inner(_)
                    | JoinOperator::Left(_)
                    | JoinOperator::LeftOuter(_)
                    | JoinOperator::Right(_)
                    | JoinOperator::RightOuter(_)
                    | JoinOperator::FullOuter(_)
                    | JoinOperator::CrossJoin(_)
            )
    });
    let items_ok = s.projection.iter().all(|item| match item {
        SelectItem::UnnamedExpr(_) | SelectItem::ExprWithAlias { .. } => true,
        SelectItem::Wildcard(o) => wildcard_ok(o),
        SelectItem::QualifiedWildcard(SelectItemQualifiedWildcardKind::ObjectName(_), o) => {
            wildcard_ok(o)
        }
        _ => false,
    });
    joins_ok
        && items_ok
        && matches!(
            s.distinct,
            None | Some(Distinct::Distinct) | Some(Distinct::All)
        )
        && matches!(&s.group_by, GroupByExpr::Expressions(_, modifiers) if modifiers.is_empty())
        && matches!(s.flavor, SelectFlavor::Standard)
        && s.optimizer_hints.is_empty()
        && s.select_modifiers.is_none()
        && s.top.is_none()
        && s.exclude.is_none()
        && s.into.is_none()
        && s.lateral_views.is_empty()
        && s.prewhere.is_none()
        && s.connect_by.is_empty()
        && s.cluster_by.is_empty()
        && s.distribute_by.is_empty()
        && s.sort_by.is_empty()
        && s.named_window.is_empty()
        && s.qualify.is_none()
        && s.value_table_mode.is_none()
}

pub(crate) fn table_factor_ok(f: &TableFactor) -> bool {
    match f {
        TableFactor::Table {
            alias,
            args,
            with_hints,
            version,
            with_ordinality,
            partitions,
            json_path,
            sample,
            index_hints,
            ..
        } => {
            args.is_none()
                && with_hints.is_empty()
                && version.is_none()
                && !with_ordinality
                && partitions.is_empty()
                && json_path.is_none()
                && sample.is_none()
                && index_hints.is_empty()
                && alias.as_ref().is_none_or(alias_ok)
        }
        TableFactor::Derived { alias, sample, .. } => {
            sample.is_none() && alias.as_ref().is_none_or(alias_ok)
        }
        TableFactor::NestedJoin { alias, .. } => alias.as_ref().is_none_or(alias_ok),
        _ => false,
    }
}

pub(crate) fn expr_ok(e: &Expr) -> bool {
    match e {
        Expr::Identifier(_)
        | Expr::CompoundIdentifier(_)
        | Expr::Value(_)
        | Expr::Nested(_)
        | Expr::IsNull(_)
        | Expr::IsNotNull(_)
        | Expr::IsTrue(_)
        | Expr::IsFalse(_)
        | Expr::InList { .. }
        | Expr::InSubquery { .. }
        | Expr::Between { .. }
        | Expr::Subquery(_)
        | Expr::Exists { .. }
        | Expr::Wildcard(_)
        | Expr::QualifiedWildcard(..)
        | Expr::Case { .. } => true,
        Expr::Like {
            any, escape_char, ..
        }
        | Expr::ILike {
            any, escape_char, ..
        } => !any && escape_char.is_none(),
        Expr::BinaryOp { op, .. } => plain_operator(op),
        Expr::UnaryOp {
            op: UnaryOperator::Not,
            ..
        } => true,
        // `-` before anything that could itself start with `-` would render as `--`, a comment.
        Expr::UnaryOp {
            op: UnaryOperator::Minus | UnaryOperator::Plus,
            expr,
        } => match expr.as_ref() {
            Expr::Value(v) => {
                matches!(&v.value, Value::Number(n, _) if n.starts_with(|c: char| c.is_ascii_digit()))
            }
            Expr::Identifier(_)
            | Expr::CompoundIdentifier(_)
            | Expr::Nested(_)
            | Expr::Function(_) => true,
            _ => false,
        },
        Expr::Function(f) => function_ok(f),
        Expr::Cast {
            kind,
            data_type,
            format,
            ..
        } => {
            matches!(kind, CastKind::Cast | CastKind::DoubleColon)
                && format.is_none()
                && type_ok(data_type)
        }
        Expr::Extract { syntax, .. } => matches!(syntax, ExtractSyntax::From),
        Expr::TypedString(t) => !t.uses_odbc_syntax && type_ok(&t.data_type),
        _ => false,
    }
}

pub(crate) fn value_ok(v: &ValueWithSpan) -> bool {
    match &v.value {
        Value::Number(n, _) => {
            let digits = n.strip_prefix('-').unwrap_or(n);
            !digits.is_empty()
                && digits.bytes().all(|b| b.is_ascii_digit() || b == b'.')
                && digits.starts_with(|c: char| c.is_ascii_digit())
        }
        Value::SingleQuotedString(s) => !s.contains(['\'', '"', '\\', '$']),
        Value::Boolean(_) | Value::Null => true,
        _ => false,
    }
}

pub(crate) fn ident_ok(ident: &Ident) -> bool {
    let v = &ident.value;
    match ident.quote_style {
        Some('"' | '`') => !v.is_empty() && !v.contains(['\'', '"', '`', '\\', '[', ']']),
        Some(_) => false,
        None => {
            v.starts_with(|c: char| c.is_ascii_alphabetic() || c == '_')
                && v.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_')
                && (!is_keyword(v) || PLAIN_KEYWORDS.binary_search_by(|k| cmp_upper(k, v)).is_ok())
        }
    }
}

/// Compares a keyword (upper case) with a word, ignoring the word's case, without allocating.
fn cmp_upper(keyword: &str, word: &str) -> Ordering {
    keyword.bytes().cmp(word.bytes().map(|b| b.to_ascii_uppercase()))
}

/// Whether the parser knows the word as a keyword, in any case.
pub(crate) fn is_keyword(word: &str) -> bool {
    crate::guard::lex::keyword(word).is_some()
}

fn alias_ok(alias: &TableAlias) -> bool {
    alias.at.is_none() && alias.columns.iter().all(|c| c.data_type.is_none())
}

fn wildcard_ok(o: &WildcardAdditionalOptions) -> bool {
    o.opt_ilike.is_none()
        && o.opt_exclude.is_none()
        && o.opt_except.is_none()
        && o.opt_replace.is_none()
        && o.opt_rename.is_none()
        && o.opt_alias.is_none()
}

fn plain_operator(op: &BinaryOperator) -> bool {
    use BinaryOperator as B;
    matches!(
        op,
        B::Plus
            | B::Minus
            | B::Multiply
            | B::Divide
            | B::Modulo
            | B::Eq
            | B::NotEq
            | B::Lt
            | B::LtEq
            | B::Gt
            | B::GtEq
            | B::And
            | B::Or
    )
}

fn function_ok(f: &Function) -> bool {
    let args_ok = match &f.args {
        FunctionArguments::None => true,
        FunctionArguments::List(list) => {
            list.clauses.is_empty()
                && list.args.iter().all(|a| {
                    matches!(
                        a,
                        FunctionArg::Unnamed(
                            FunctionArgExpr::Expr(_)
                                | FunctionArgExpr::Wildcard
                                | FunctionArgExpr::QualifiedWildcard(_)
                        )
                    )
                })
        }
        FunctionArguments::Subquery(_) => false,
    };
    let over_ok = match &f.over {
        None => true,
        Some(WindowType::WindowSpec(spec)) => spec.window_name.is_none(),
        Some(WindowType::NamedWindow(_)) => false,
    };
    args_ok
        && over_ok
        && !f.uses_odbc_syntax
        && matches!(f.parameters, FunctionArguments::None)
        && f.within_group.is_empty()
        && f.null_treatment.is_none()
}

fn type_ok(t: &DataType) -> bool {
    matches!(
        t,
        DataType::Int(_)
            | DataType::Integer(_)
            | DataType::BigInt(_)
            | DataType::SmallInt(_)
            | DataType::Numeric(_)
            | DataType::Decimal(_)
            | DataType::Real
            | DataType::Float(_)
            | DataType::Double(_)
            | DataType::DoublePrecision
            | DataType::Text
            | DataType::Varchar(_)
            | DataType::Char(_)
            | DataType::Date
            | DataType::Timestamp(..)
            | DataType::Boolean
            | DataType::Bool
    )
}

#[cfg(test)]
mod tests {
    use sqlparser::ast::Statement;
    use sqlparser::parser::Parser;

    use super::*;
    use crate::dialect::Dialect;

    const DIALECTS: [Dialect; 4] = [
        Dialect::Postgres,
        Dialect::Mysql,
        Dialect::Sqlite,
        Dialect::Generic,
    ];

    fn query(sql: &str, d: Dialect) -> Option<Box<Query>> {
        match Parser::parse_sql(d.parser_dialect(), sql).ok()?.pop()? {
            Statement::Query(q) => Some(q),
            _ => None,
        }
    }

    fn plain(sql: &str, d: Dialect) -> bool {
        query(sql, d).is_some_and(|q| is_plain(&q))
    }

    #[test]
    fn plain_keywords_are_sorted_keywords() {
        assert!(PLAIN_KEYWORDS.windows(2).all(|w| w[0] < w[1]));
        assert!(is_keyword("select") && is_keyword("Order") && !is_keyword("customer_name"));
        for k in PLAIN_KEYWORDS {
            assert!(is_keyword(k), "{k} is not a keyword; it needs no entry");
        }
    }

    /// Each plain keyword reads as a plain name in every position a plain tree renders a name,
    /// whatever follows it, and never as a typed literal or a keyword construct.
    #[test]
    fn plain_keywords_parse_as_names_everywhere() {
        for k in PLAIN_KEYWORDS {
            let k = k.to_lowercase();
            for d in DIALECTS {
                for sql in [
                    format!("SELECT {k} FROM t"),
                    format!("SELECT {k}"),
                    format!("SELECT {k} LIMIT 5"),
                    format!("SELECT a AND {k} LIMIT 5"),
                    format!(
                        "SELECT t.{k}, {k}(a), {k}(*) AS {k} FROM t AS {k} WHERE {k} = 1 AND NOT {k} ORDER BY {k} LIMIT 5"
                    ),
                    format!("SELECT a FROM t GROUP BY {k} HAVING {k} > 1 LIMIT 5"),
                    format!("SELECT -{k} FROM t"),
                ] {
                    let q = query(&sql, d).unwrap_or_else(|| panic!("{d}: {sql} does not parse"));
                    let rendered = q.to_string();
                    let again = query(&rendered, d)
                        .unwrap_or_else(|| panic!("{d}: {rendered} does not parse again"));
                    assert_eq!(q, again, "{d}: {sql}");
                }
                // Not a type name: followed by a string it is a name with an alias or an error,
                // never a typed literal.
                if let Some(q) = query(&format!("SELECT {k} 'x'"), d) {
                    assert!(
                        !q.to_string().contains(&format!("{} 'x'", k.to_uppercase())),
                        "{d}: {k} reads as a type"
                    );
                }
            }
        }
    }

    #[test]
    fn everyday_analytics_is_plain() {
        for sql in [
            "SELECT s.name, COUNT(*) AS orders, SUM(o.total) FROM orders AS o JOIN stores AS s ON s.id = o.store_id \
             WHERE o.status = 'paid' AND o.total > -5 GROUP BY s.name HAVING COUNT(*) > 1 ORDER BY orders DESC LIMIT 10",
            "WITH m AS (SELECT id, CAST(total AS DECIMAL(10,2)) AS t FROM orders) SELECT * FROM m WHERE t BETWEEN 1 AND 2",
            "SELECT id, RANK() OVER (PARTITION BY region ORDER BY total DESC) FROM orders UNION ALL SELECT 1, 2",
            "SELECT name FROM customers WHERE id IN (SELECT customer_id FROM orders) AND name LIKE 'A%' LIMIT 5",
        ] {
            for d in [Dialect::Postgres, Dialect::Sqlite] {
                assert!(plain(sql, d), "{d}: {sql}");
            }
        }
    }

    #[test]
    fn risky_shapes_are_not_plain() {
        for (sql, d) in [
            ("SELECT id AND NOT", Dialect::Postgres),
            ("SELECT - -1 FROM t", Dialect::Postgres),
            ("SELECT a FROM t WHERE tags @> ARRAY[1]", Dialect::Postgres),
            ("SELECT a FROM t WHERE name ~ '^x'", Dialect::Postgres),
            ("SELECT 'it''s' FROM t", Dialect::Postgres),
            (r"SELECT 'a\\b' FROM t", Dialect::Mysql),
            ("SELECT \"we\"\"ird\" FROM t", Dialect::Postgres),
            ("SELECT date FROM t", Dialect::Postgres),
            (
                "SELECT DATE '2024-01-01' + INTERVAL '1 day'",
                Dialect::Postgres,
            ),
            ("SELECT a FROM t FOR UPDATE", Dialect::Postgres),
            ("SELECT a FROM t LIMIT 1, 2", Dialect::Mysql),
            (
                "SELECT a FROM t WHERE a LIKE 'x!%' ESCAPE '!'",
                Dialect::Postgres,
            ),
            ("SELECT 1e5", Dialect::Postgres),
            ("SELECT $1", Dialect::Postgres),
            ("SELECT a::my_type FROM t", Dialect::Postgres),
        ] {
            assert!(!plain(sql, d), "{d}: {sql}");
        }
    }
}
