//! Structural checks on the raw token stream, before any AST exists.
//!
//! Pathological inputs must end in a clean rejection, never a stack overflow: the parser's own
//! recursion limit bounds nesting, but a 50,000-term `OR` chain parses into a left-deep tree
//! without recursion and only overflows later, when it is visited, rendered or dropped. So the
//! depth of operator chains is estimated here, from tokens, and bounded before parsing.
//! Executable comments (`/*! ... */`) and optimizer hints (`/*+ ... */`) are only visible here.

use sqlparser::keywords::Keyword;
use sqlparser::tokenizer::{Token, TokenWithSpan, Whitespace};

use super::Violation;
use super::policy::Limits;

/// Checks the raw text for MySQL executable comments. The MySQL tokenizer already turns
/// `/*! ... */` into ordinary tokens, so the comment is only visible in the text; a string
/// literal containing `/*!` is rejected too, which no analytical query needs.
pub(crate) fn raw_text(sql: &str) -> Option<Violation> {
    sql.contains("/*!").then(|| {
        Violation::new(
            "executable_comment",
            "MySQL executable comments (/*! ... */) are not allowed; write plain SQL without comments",
        )
    })
}

/// Checks size, comments and estimated depth; returns the first violation found.
pub(crate) fn prescan(tokens: &[TokenWithSpan], limits: &Limits) -> Option<Violation> {
    let mut count = 0usize;
    // One frame per open parenthesis: (operators in the current comma-separated segment,
    // largest segment so far, deepest child group).
    let mut frames: Vec<(usize, usize, usize)> = vec![(0, 0, 0)];
    for t in tokens {
        // Only parentheses and operators change the depth estimate.
        let depth_may_grow = match &t.token {
            Token::Whitespace(Whitespace::MultiLineComment(c)) => {
                if c.starts_with('!') {
                    return Some(Violation::new(
                        "executable_comment",
                        "MySQL executable comments (/*! ... */) are not allowed; write plain SQL without comments",
                    ));
                }
                if c.starts_with('+') {
                    return Some(Violation::new(
                        "optimizer_hint",
                        "optimizer hints (/*+ ... */) are not allowed; remove the hint comment",
                    ));
                }
                continue;
            }
            Token::Whitespace(_) | Token::EOF => continue,
            Token::LParen => {
                frames.push((0, 0, 0));
                true
            }
            Token::RParen => {
                if frames.len() > 1
                    && let Some((cur, widest, child)) = frames.pop()
                    && let Some(parent) = frames.last_mut()
                {
                    parent.2 = parent.2.max(1 + cur.max(widest) + child);
                }
                true
            }
            Token::Comma => {
                if let Some(top) = frames.last_mut() {
                    top.1 = top.1.max(top.0);
                    top.0 = 0;
                }
                false
            }
            tok if is_operator(tok) => {
                if let Some(top) = frames.last_mut() {
                    top.0 += 1;
                }
                true
            }
            _ => false,
        };
        count += 1;
        if count > limits.max_tokens {
            return Some(too_complex(format!("the query has more than {} tokens", limits.max_tokens)));
        }
        if !depth_may_grow {
            continue;
        }
        let depth: usize = frames.iter().map(|(cur, widest, child)| 1 + (*cur).max(*widest) + child).max().unwrap_or(0)
            + frames.len();
        if depth > limits.max_depth {
            return Some(too_complex(format!(
                "its expressions nest deeper than {} levels (long chains of AND/OR or operators count one level each)",
                limits.max_depth
            )));
        }
    }
    None
}

/// A `too_complex` violation with a repair hint.
pub(crate) fn too_complex(why: String) -> Violation {
    Violation::new(
        "too_complex",
        format!("the query is too complex: {why}; simplify it (use IN (...) lists, fewer nested subqueries, or a CTE)"),
    )
}

fn is_operator(token: &Token) -> bool {
    match token {
        Token::Word(w) => matches!(
            w.keyword,
            Keyword::AND | Keyword::OR | Keyword::NOT | Keyword::XOR | Keyword::IS | Keyword::LIKE | Keyword::ILIKE
                | Keyword::BETWEEN | Keyword::IN | Keyword::COLLATE | Keyword::REGEXP | Keyword::RLIKE | Keyword::DIV
        ),
        Token::Number(..)
        | Token::SingleQuotedString(_)
        | Token::DoubleQuotedString(_)
        | Token::NationalStringLiteral(_)
        | Token::EscapedStringLiteral(_)
        | Token::HexStringLiteral(_)
        | Token::DollarQuotedString(_)
        | Token::Period
        | Token::SemiColon
        | Token::Colon
        | Token::LBracket
        | Token::RBracket
        | Token::Placeholder(_) => false,
        _ => true,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use sqlparser::dialect::GenericDialect;
    use sqlparser::tokenizer::Tokenizer;

    fn scan(sql: &str) -> Option<String> {
        let tokens = Tokenizer::new(&GenericDialect {}, sql).tokenize_with_location().unwrap_or_default();
        raw_text(sql).or_else(|| prescan(&tokens, &Limits::default())).map(|v| v.code)
    }

    #[test]
    fn long_chains_are_too_complex_but_ordinary_queries_pass() {
        let chain = format!("SELECT 1 FROM t WHERE {}", vec!["a = 1"; 400].join(" OR "));
        assert_eq!(scan(&chain).as_deref(), Some("too_complex"));
        let list = format!("SELECT 1 FROM t WHERE a IN ({})", vec!["1"; 3000].join(", "));
        assert_eq!(scan(&list), None);
        assert_eq!(scan("SELECT a, b + c * 2 FROM t WHERE x = 1 AND (y > 2 OR z < 3)"), None);
    }

    #[test]
    fn executable_comments_and_hints_are_seen() {
        assert_eq!(scan("SELECT /*!50000 sleep(1) */ 1").as_deref(), Some("executable_comment"));
        assert_eq!(scan("SELECT /*+ NO_INDEX(t) */ a FROM t").as_deref(), Some("optimizer_hint"));
        assert_eq!(scan("SELECT /* plain */ a FROM t"), None);
    }
}
