//! Rendering the checked AST: the only text that ever runs.
//!
//! sqlparser's renderer is not a faithful inverse of its parser for every string: it leaves a
//! quote preceded by a backslash, or followed by another quote, undoubled, so the value `\'`
//! renders as `'\''`, which PostgreSQL and SQLite read with different string boundaries than the
//! guard checked (`'\''' OR x = ' UNION SELECT ssn ...'` would turn the UNION into code).
//! MySQL also treats backslashes as escapes, which the renderer ignores.
//!
//! Symbolic operators have the same problem: PostgreSQL's `@`, `@@`, `@@@`, `#`, `~`… render with
//! spaces that can re-tokenize into different operators (`@@ @@@` came back as `@@@ @@`; found by
//! the fuzzer).
//!
//! Identifiers named like keywords (`NOT`) render unquoted and re-parse as keywords. Chasing each
//! case is the wrong depth, so: for MySQL, backslashes in string values are doubled, and the
//! rendered text is always parsed again and must yield the very AST that was checked, else the
//! query is rejected. That second parse would double the guard's cost, so it is skipped for
//! [`super::plain`] trees: those made only of node kinds whose rendering is known to parse back
//! to itself (an allow-list, checked against the parser by tests and, in debug builds, by
//! running the re-parse anyway on every plain tree the tests and the fuzzer produce).

use std::fmt::Write;
use std::ops::ControlFlow;

use sqlparser::ast::{Query, Statement, Value as SqlValue, ValueWithSpan, Visit, VisitMut, Visitor, VisitorMut};

use super::Violation;
use crate::dialect::Dialect;

/// Renders the query for the dialect, or explains why it cannot be rendered faithfully.
/// `plain`: the caller found every node of the tree plain (see [`super::plain`]), so its
/// rendering re-parses to itself and the re-parse is skipped; debug builds check that claim
/// every time. `capacity`: a guess at the rendered length, to size the text once.
pub(crate) fn render(query: &Query, dialect: Dialect, plain: bool, capacity: usize) -> Result<String, Violation> {
    // MySQL reads backslashes in strings as escapes, which the renderer does not write: double
    // them in a copy, and compare the re-parse against the unescaped tree that was checked.
    // (A plain tree has no backslash in any string, so it never needs this.)
    let escaped = (!plain && dialect == Dialect::Mysql && needs_mysql_escaping(query)).then(|| {
        let mut copy = query.clone();
        let _ = VisitMut::visit(&mut copy, &mut MysqlEscaper);
        copy
    });
    let mut text = String::with_capacity(capacity);
    // Writing into a String cannot fail; an error could only come from a Display impl, and
    // then the text is incomplete: refuse it rather than run it.
    if write!(text, "{}", escaped.as_ref().unwrap_or(query)).is_err() {
        return Err(Violation::new("unsafe_literal", "the query could not be rendered; write a plain SELECT"));
    }
    if plain && !cfg!(debug_assertions) {
        return Ok(text);
    }
    let reparsed = super::lex::tokenize(&text, dialect.parser_dialect())
        .map_err(sqlparser::parser::ParserError::from)
        .and_then(|tokens| super::dialect::parse(tokens, dialect, super::dialect::SQLPARSER_RECURSION_LIMIT));
    let same = match reparsed {
        Ok(statements) => matches!(statements.as_slice(), [Statement::Query(q)] if **q == *query),
        Err(_) => false,
    };
    debug_assert!(same || !plain, "a plain tree rendered unfaithfully: {text}");
    if same {
        Ok(text)
    } else {
        Err(Violation::new(
            "unsafe_literal",
            "a string, quoted name or symbolic operator cannot be passed on unambiguously; write strings \
             without backslashes next to quotes and use plain operators or functions",
        ))
    }
}

/// Whether any string value holds a backslash.
fn needs_mysql_escaping(query: &Query) -> bool {
    struct Backslash;
    impl Visitor for Backslash {
        type Break = ();
        fn pre_visit_value(&mut self, value: &ValueWithSpan) -> ControlFlow<()> {
            match &value.value {
                SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) | SqlValue::NationalStringLiteral(s)
                    if s.contains('\\') =>
                {
                    ControlFlow::Break(())
                }
                _ => ControlFlow::Continue(()),
            }
        }
    }
    Visit::visit(query, &mut Backslash).is_break()
}

struct MysqlEscaper;

impl VisitorMut for MysqlEscaper {
    type Break = ();

    fn pre_visit_value(&mut self, value: &mut ValueWithSpan) -> ControlFlow<()> {
        match &mut value.value {
            SqlValue::SingleQuotedString(s) | SqlValue::DoubleQuotedString(s) | SqlValue::NationalStringLiteral(s)
                if s.contains('\\') =>
            {
                *s = s.replace('\\', "\\\\");
            }
            _ => {}
        }
        ControlFlow::Continue(())
    }
}

#[cfg(test)]
mod tests {
    use sqlparser::parser::Parser;

    use super::*;

    fn guarded(sql: &str, d: Dialect) -> Result<String, String> {
        let pd = d.parser_dialect();
        let mut st = Parser::parse_sql(pd, sql).map_err(|e| e.to_string())?;
        match st.pop() {
            Some(Statement::Query(q)) => render(&q, d, crate::guard::plain::is_plain(&q), 0).map_err(|v| v.code),
            _ => Err("not a query".into()),
        }
    }

    #[test]
    fn backslash_quote_cannot_shift_string_boundaries() {
        let attack = r"SELECT name FROM t WHERE name = '\''' OR name = ' UNION SELECT ssn FROM customers --'";
        for d in [Dialect::Postgres, Dialect::Sqlite, Dialect::Generic] {
            assert_eq!(guarded(attack, d), Err("unsafe_literal".into()), "{d}");
        }
        assert_eq!(guarded(r"SELECT 'a\\', ' OR 1=1 -- '", Dialect::Mysql).as_deref(), Ok(r"SELECT 'a\\', ' OR 1=1 -- '"));
        assert_eq!(guarded("SELECT 'it''s'", Dialect::Postgres).as_deref(), Ok("SELECT 'it''s'"));
        assert_eq!(guarded(r"SELECT 'C:\dir'", Dialect::Sqlite).as_deref(), Ok(r"SELECT 'C:\dir'"));
    }

    #[test]
    fn operators_that_re_tokenize_differently_are_rejected() {
        // Found by the fuzzer: `@@ @@@` rendered back as `@@@ @@`, a different query.
        let fuzzed = "SELECT DISTINCT O@@@E* @\u{c}@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@@s";
        assert_eq!(guarded(fuzzed, Dialect::Postgres), Err("unsafe_literal".into()));
        // Found by the fuzzer: an identifier named NOT came back as the keyword once LIMIT
        // followed. Whatever the guard lets through must check again to the same text.
        let guard = crate::guard::Guard::new(crate::guard::Policy::for_dialect(Dialect::Postgres));
        let ctx = crate::guard::GuardContext::default();
        for input in ["SELECT id  AND NOT", "SELECT DISTINCT O@@@E* @@@@@@@@ s"] {
            if let Some(out) = guard.check(input, &ctx).sql {
                assert_eq!(guard.check(&out, &ctx).sql.as_deref(), Some(out.as_str()), "{input}");
            }
        }
        // Operators that render faithfully still pass the re-parse check.
        for ok in ["SELECT a FROM t WHERE tags @> ARRAY[1]", "SELECT a FROM t WHERE name ~ '^x'"] {
            assert!(guarded(ok, Dialect::Postgres).is_ok(), "{ok}");
        }
    }
}
