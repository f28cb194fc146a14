//! The dialects the guard parses with: sqlparser's own, with a fast path for the commonest
//! expression prefixes.
//!
//! For every expression prefix (each column name, number and string), sqlparser first tries to
//! parse a data type, for typed strings such as `DATE '2020-01-01'`. For an ordinary column name
//! that attempt builds an object name and then formats a throw-away error message with its
//! location. Numbers and strings fail the attempt the same way. With callgrind over the
//! legitimate corpus, this speculation was about 15% of a parse.
//!
//! [`Quick`] wraps a sqlparser dialect and handles, through sqlparser's own `parse_prefix` hook,
//! only the prefixes where that attempt cannot succeed and the parser would end in the same
//! place anyway:
//! - a number or a single-quoted string, which sqlparser parses with `parse_value`;
//! - an unquoted non-keyword word or a quoted identifier, with nothing after it (or after its
//!   `.name` parts) that could make it a type or a function: a comma, a closing parenthesis, a
//!   comparison or arithmetic operator, `::`, `||`, the end of the input, or a word other than
//!   `ARRAY` not followed by `->`. It becomes `Expr::Identifier`, as in sqlparser;
//! - a function call `name(`, where `name` is such a word or one of a few keywords that are
//!   common function names (`COUNT`, `SUM`, `MAX`, …) with no prefix syntax of their own: sqlparser
//!   would try it as a data type, fail, and call `parse_function`, which is called here at once.
//!
//! Everything else goes through sqlparser's own path. So the tree is the same one sqlparser would
//! build. Debug builds check this on every parse the guard makes ([`parse`]), and a test below
//! compares both over the corpora.
//!
//! There are two differences, both harmless. sqlparser's attempt also counts against the
//! recursion limit, so at the exact limit a leaf might be accepted here where sqlparser refuses
//! it; the limit only bounds stack depth. And sqlparser memoizes failed prefixes by position, so
//! a call that fails may be reported at another token than sqlparser's message would name; it
//! fails either way.

mod forward;

use sqlparser::ast::{Expr, ObjectName, Statement};
use sqlparser::dialect::{self as sd, Dialect as ParserDialect};
use sqlparser::keywords::Keyword;
use sqlparser::parser::{Parser, ParserError};
use sqlparser::tokenizer::{Token, TokenWithSpan, Word};

use crate::dialect::Dialect;

/// A sqlparser dialect with the fast prefix path; the same in every other respect.
#[derive(Debug)]
pub(crate) struct Quick<D>(D);

static POSTGRES: Quick<sd::PostgreSqlDialect> = Quick(sd::PostgreSqlDialect {});
static MYSQL: Quick<sd::MySqlDialect> = Quick(sd::MySqlDialect {});
static SQLITE: Quick<sd::SQLiteDialect> = Quick(sd::SQLiteDialect {});
static GENERIC: Quick<sd::GenericDialect> = Quick(sd::GenericDialect {});

/// The dialect the guard parses `dialect` with.
pub(crate) fn quick(dialect: Dialect) -> &'static dyn ParserDialect {
    match dialect {
        Dialect::Postgres => &POSTGRES,
        Dialect::Mysql => &MYSQL,
        Dialect::Sqlite => &SQLITE,
        Dialect::Generic => &GENERIC,
    }
}

/// sqlparser's own default recursion limit, for parses that have no policy limit of their own.
pub(crate) const SQLPARSER_RECURSION_LIMIT: usize = 50;

/// Parses `tokens` as `dialect` through [`Quick`], nesting bounded by `limit`.
///
/// Debug builds check that sqlparser's own dialect builds the very same tree. Its path spends
/// one more level of the recursion budget on each leaf, and near the limit a parse can change
/// course, so both are compared with room to spare, and only when the extra room does not
/// change the quick parse itself.
pub(crate) fn parse(tokens: Vec<TokenWithSpan>, dialect: Dialect, limit: usize) -> Result<Vec<Statement>, ParserError> {
    #[cfg(debug_assertions)]
    let copy = tokens.clone();
    let parsed = Parser::new(quick(dialect)).with_recursion_limit(limit).with_tokens_with_locations(tokens).parse_statements();
    #[cfg(debug_assertions)]
    if let Ok(tree) = &parsed {
        let with_room = |d: &dyn ParserDialect| {
            Parser::new(d).with_recursion_limit(limit + 2).with_tokens_with_locations(copy.clone()).parse_statements()
        };
        if with_room(quick(dialect)).as_ref() == Ok(tree) {
            // The SQL is spelled out again only for the message, when the trees differ.
            assert!(
                with_room(dialect.parser_dialect()).as_ref() == Ok(tree),
                "the quick dialect parsed {:?} differently",
                copy.iter().map(|t| t.token.to_string()).collect::<String>()
            );
        }
    }
    parsed
}

/// The prefix at the parser's position, when it is one of the plain kinds above; `None` sends
/// it to sqlparser's own path.
fn quick_prefix(parser: &mut Parser) -> Option<Result<Expr, ParserError>> {
    let next = parser.peek_token_ref();
    match &next.token {
        Token::Number(..) | Token::SingleQuotedString(_) => Some(parser.parse_value().map(Expr::Value)),
        // `xml '…'` is a typed string in dialects with XML expressions.
        Token::Word(word)
            if word.keyword == Keyword::NoKeyword && !word.value.eq_ignore_ascii_case("xml") && ends_plainly(parser) =>
        {
            let ident = word.to_ident(next.span);
            parser.advance_token();
            Some(Ok(Expr::Identifier(ident)))
        }
        Token::Word(word) if is_plain_function_name(word) && opens_plain_call(parser) => {
            let name = ObjectName::from(vec![word.to_ident(next.span)]);
            parser.advance_token();
            Some(parser.parse_function(name))
        }
        _ => None,
    }
}

/// Keywords that are also common function names but have no prefix syntax of their own (no
/// `CASE`, `CAST`, `EXTRACT`…) and are not data types, so sqlparser parses `name(` after them as
/// a plain function call, as it does after any non-keyword word.
const PLAIN_FUNCTION_KEYWORDS: &[Keyword] = &[
    Keyword::ABS,
    Keyword::AVG,
    Keyword::COALESCE,
    Keyword::COUNT,
    Keyword::DENSE_RANK,
    Keyword::FIRST_VALUE,
    Keyword::LAG,
    Keyword::LAST_VALUE,
    Keyword::LEAD,
    Keyword::LOWER,
    Keyword::MAX,
    Keyword::MIN,
    Keyword::NTILE,
    Keyword::NULLIF,
    Keyword::PERCENTILE_CONT,
    Keyword::RANK,
    Keyword::ROW_NUMBER,
    Keyword::SUM,
    Keyword::UPPER,
];

/// Whether sqlparser would parse this word, followed by `(`, as a plain function call: a
/// non-keyword word (but `xml`, which can start a typed string) or one of
/// [`PLAIN_FUNCTION_KEYWORDS`]. sqlparser first tries the word as a data type, which for these
/// can only end in its "dummy" error.
fn is_plain_function_name(word: &Word) -> bool {
    match word.keyword {
        Keyword::NoKeyword => !word.value.eq_ignore_ascii_case("xml"),
        keyword => PLAIN_FUNCTION_KEYWORDS.contains(&keyword),
    }
}

/// Whether the word at the parser's position is followed by `(`, and not by Oracle's outer
/// join marker `(+)`, which sqlparser reads differently in the dialects that have it.
fn opens_plain_call(parser: &Parser) -> bool {
    parser.peek_nth_token_ref(1).token == Token::LParen
        && !(parser.peek_nth_token_ref(2).token == Token::Plus && parser.peek_nth_token_ref(3).token == Token::RParen)
}

/// Whether the word at the parser's position, with any `.name` parts after it, is followed by a
/// token that cannot continue a data type, a function call, a string introducer or a lambda.
fn ends_plainly(parser: &Parser) -> bool {
    let mut n = 1;
    while parser.peek_nth_token_ref(n).token == Token::Period && matches!(parser.peek_nth_token_ref(n + 1).token, Token::Word(_)) {
        n += 2;
    }
    match &parser.peek_nth_token_ref(n).token {
        Token::Comma
        | Token::RParen
        | Token::EOF
        | Token::SemiColon
        | Token::Eq
        | Token::Neq
        | Token::Lt
        | Token::Gt
        | Token::LtEq
        | Token::GtEq
        | Token::Plus
        | Token::Minus
        | Token::Mul
        | Token::Div
        | Token::Mod
        | Token::StringConcat
        | Token::DoubleColon => true,
        // An alias or a keyword (FROM, AS, AND…); `ARRAY` would make a data type, and a word
        // before `->` a typed lambda parameter.
        Token::Word(w) => w.keyword != Keyword::ARRAY && parser.peek_nth_token_ref(n + 1).token != Token::Arrow,
        _ => false,
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    /// Parses with the quick dialect and with sqlparser's own: the same tree, or both fail the
    /// same way. (The message may name another token: sqlparser memoizes failed prefixes by
    /// position and, asked again, reports the cached failure at the prefix's first token; a
    /// call that fails on the quick path is not memoized.)
    fn same_as_sqlparser(sql: &str, dialect: Dialect) {
        let quick = Parser::parse_sql(quick(dialect), sql);
        let plain = Parser::parse_sql(dialect.parser_dialect(), sql);
        match (&quick, &plain) {
            (Err(q), Err(p)) => assert_eq!(
                matches!(q, ParserError::RecursionLimitExceeded),
                matches!(p, ParserError::RecursionLimitExceeded),
                "{dialect}: {sql}: {q} / {p}"
            ),
            _ => assert_eq!(quick, plain, "{dialect}: {sql}"),
        }
    }

    const ALL: [Dialect; 4] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite, Dialect::Generic];

    #[test]
    fn trees_match_sqlparser_on_the_corpora() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut n = 0;
        for file in ["legit.tsv", "attacks-manual.tsv", "attacks-generated.tsv"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap();
            for line in text.lines().filter(|l| !l.starts_with('#') && !l.trim().is_empty()) {
                let fields: Vec<&str> = line.split('\t').collect();
                let (d, sql) = (fields[0], fields[fields.len() - 1]);
                let dialects = if d == "all" { ALL.to_vec() } else { vec![d.parse::<Dialect>().unwrap()] };
                for dialect in dialects {
                    same_as_sqlparser(sql, dialect);
                    n += 1;
                }
            }
        }
        assert!(n >= 450, "only {n} queries read");
    }

    #[test]
    fn prefixes_that_could_be_types_or_calls_take_sqlparsers_path() {
        let cases = [
            "SELECT xml '<a/>'",
            "SELECT DATE '2020-01-01', TIMESTAMP '2020-01-01 00:00:00', INTERVAL '1' DAY",
            "SELECT _utf8'abc', _latin1 X'41'",
            "SELECT a[1], a[1:2], t.b[2] FROM t",
            "SELECT a ARRAY, a ARRAY[3] FROM t",
            // Typed strings of array types: `a[]` and `a ARRAY` are types here.
            "SELECT a[] '{1}', a[2] 'x', t.a[] '{1}', a ARRAY '{1}' FROM t",
            "SELECT f(x), s.f(x), s.t.f(x) FROM t",
            "SELECT a FROM t, u WHERE t.a = u.a(+)",
            "SELECT x -> x + 1, x INT -> x FROM t",
            "SELECT t.*, a.b.c, \"Quoted\".\"Col\", `q`.c FROM t",
            "SELECT a b, a AS b, a::text, a || 'x', -a, a - 1, a % 2, a / b, a * b FROM t WHERE a <> 1 AND b >= 2",
            "SELECT 1, 1.5e3, .5, 'a' 'b', 'it''s', N'x', E'\\n', $$d$$, B'01', X'ff' FROM t",
            "SELECT CASE WHEN a THEN b ELSE c END, NOT a, EXISTS (SELECT 1), CAST(a AS INT) FROM t",
            "SELECT a FROM t WHERE b IN (1, 2) AND c BETWEEN 1 AND 2 AND d LIKE 'x%' AND e IS NULL",
            "SELECT a, b, FROM t",
            "SELECT a FROM",
            "SELECT (a, b) FROM t",
            // Calls: plain names and keyword-named functions take the quick path, the rest not.
            "SELECT count(*), COUNT(DISTINCT a), sum(a) FILTER (WHERE b > 0), max(a) OVER (PARTITION BY b) FROM t",
            "SELECT rank() OVER w, ROW_NUMBER() OVER (ORDER BY a), lag(a, 1) OVER w, coalesce(a, 0), nullif(a, 0) FROM t",
            "SELECT f(), f(a => 1), f(a, b), \"Q\"(a), `q`(a), xml(a), f(a)(b), f((a)), upper(lower(a)) FROM t",
            "SELECT percentile_cont(0.5) WITHIN GROUP (ORDER BY a), string_agg(a, ',' ORDER BY a) FROM t",
            "SELECT max(a) 'x', count(a) b, f(+), f(+) FROM t",
            "SELECT YEAR(a), DATE(a), CHAR(65), BINARY(a), numeric(10) '1', ARRAY(SELECT 1), ENUM('a') FROM t",
            "SELECT count(, max(a, f(a",
        ];
        for sql in cases {
            for dialect in ALL {
                same_as_sqlparser(sql, dialect);
            }
        }
    }

    #[test]
    fn dialect_checks_still_see_the_wrapped_dialect() {
        assert!(quick(Dialect::Postgres).is::<sd::PostgreSqlDialect>());
        assert!(quick(Dialect::Mysql).is::<sd::MySqlDialect>());
        assert!(quick(Dialect::Sqlite).is::<sd::SQLiteDialect>());
        assert!(quick(Dialect::Generic).is::<sd::GenericDialect>());
    }

    proptest::proptest! {
        /// Whatever the input, both dialects give the same tree or both fail.
        #[test]
        fn token_soup_parses_the_same(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "SELECT ", "FROM ", "WHERE ", "a", "t.b", "x9", "xml", "_utf8", "ARRAY", "DATE", "INT", "AS", "1",
                "2.5", "'s'", "\"q\"", " ", ",", "(", ")", "[", "]", ".", "*", "=", "<", "-", "+", "->", "::",
                "||", "(+)", ";", "CASE", "WHEN", "THEN", "END", "NOT", "IN", "f(", "%", "count(", "MAX(",
                "xml(", "\"q\"(", "OVER", "DISTINCT", "=>", "FILTER",
            ]),
            0..20,
        ), d in 0usize..4) {
            // Always in an expression context, where prefixes are parsed.
            same_as_sqlparser(&format!("SELECT {}", parts.concat()), ALL[d]);
        }
    }
}
