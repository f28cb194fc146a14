//! Tokens for the parser: a fast path for the plain SQL that models nearly always write, and
//! sqlparser's own tokenizer for everything else.
//!
//! sqlparser's tokenizer takes about a third of a parse (measured with callgrind over the
//! legitimate corpus): it walks `char`s through a peekable iterator, tracks the location one
//! character at a time and finds keywords by binary search. The fast path reads ASCII bytes and
//! handles only words, numbers, single-quoted strings, quoted identifiers, spaces, tabs,
//! newlines and the common punctuation and operators, each only where no dialect gives the
//! following character a meaning of its own (`--`, `->`, `<=>`, a lone `:`, custom
//! PostgreSQL operators, `N'…'` and other prefixed strings, backslashes, comments, non-ASCII).
//! On anything else it gives up, and the whole input is tokenized by sqlparser. So the tokens
//! are always exactly sqlparser's: debug builds (every test, the fuzz target) check that on
//! every input, and a test compares both over the corpora and generated inputs.

use std::sync::OnceLock;

use sqlparser::dialect::Dialect as ParserDialect;
use sqlparser::keywords::{ALL_KEYWORDS, ALL_KEYWORDS_INDEX, Keyword};
use sqlparser::tokenizer::{Location, Span, Token, TokenWithSpan, Tokenizer, TokenizerError, Whitespace, Word};

/// The tokens of `sql` with their locations, exactly as sqlparser's tokenizer gives them.
pub(crate) fn tokenize(sql: &str, dialect: &dyn ParserDialect) -> Result<Vec<TokenWithSpan>, TokenizerError> {
    match fast(sql, dialect) {
        Some(tokens) => {
            // The fast path must never change what the parser sees.
            #[cfg(debug_assertions)]
            assert_eq!(
                Some(&tokens),
                Tokenizer::new(dialect, sql).tokenize_with_location().ok().as_ref(),
                "fast tokens differ from sqlparser's for {sql:?}"
            );
            Ok(tokens)
        }
        None => Tokenizer::new(dialect, sql).tokenize_with_location(),
    }
}

/// The keyword a word spells, in any case, as sqlparser's tokenizer finds it.
///
/// This runs for every word of every query, so instead of a binary search over the ~1,000
/// keywords it probes a hash table built once: a few instructions per byte of the word.
pub(crate) fn keyword(word: &str) -> Option<Keyword> {
    static TABLE: OnceLock<Vec<u16>> = OnceLock::new();
    let table = TABLE.get_or_init(|| {
        let mut slots = vec![0u16; KEYWORD_SLOTS];
        for (i, k) in ALL_KEYWORDS.iter().enumerate() {
            let mut at = keyword_hash(k) & (KEYWORD_SLOTS - 1);
            while slots[at] != 0 {
                at = (at + 1) & (KEYWORD_SLOTS - 1);
            }
            // Slot values are indexes plus one, so 0 means empty; 1,000 keywords fit a u16.
            slots[at] = u16::try_from(i + 1).unwrap_or(0);
        }
        slots
    });
    let mut at = keyword_hash(word) & (KEYWORD_SLOTS - 1);
    loop {
        let i = usize::from(table.get(at).copied().unwrap_or(0)).checked_sub(1)?;
        if ALL_KEYWORDS.get(i).is_some_and(|k| k.eq_ignore_ascii_case(word)) {
            return ALL_KEYWORDS_INDEX.get(i).copied();
        }
        at = (at + 1) & (KEYWORD_SLOTS - 1);
    }
}

/// A power of two, about four times the number of keywords, so probe runs stay short.
const KEYWORD_SLOTS: usize = 4096;

/// FNV-1a over the ASCII-uppercased bytes: the same for a word in any case.
fn keyword_hash(word: &str) -> usize {
    let mut h: u32 = 0x811c_9dc5;
    for b in word.bytes() {
        h = (h ^ u32::from(b.to_ascii_uppercase())).wrapping_mul(0x0100_0193);
    }
    h as usize
}

/// Characters that may extend an operator in some dialect (PostgreSQL custom operators, `<=>`,
/// `->>`, `||/`, `=>`, comments…). After an operator, any of them sends the input to sqlparser.
const OPERATOR_CHARS: &[u8] = b"!#$%&*+-/:<=>?@\\^`|~[]{}";

/// Characters after which a word or number certainly ends, in every dialect.
const ENDS_WORD: &[u8] = b" \t\n(),;=<>+-*/|:!%";

/// The tokens of plain ASCII SQL, or `None` where sqlparser's tokenizer must decide.
fn fast(sql: &str, dialect: &dyn ParserDialect) -> Option<Vec<TokenWithSpan>> {
    if !sql.is_ascii() || dialect.supports_triple_quoted_string() {
        return None;
    }
    let mut lexer = Lexer { sql, at: 0, line: 1, line_start: 0 };
    let mut tokens = Vec::with_capacity(sql.len() / 3);
    while let Some(b) = lexer.peek(0) {
        let start = lexer.location();
        let token = match b {
            b' ' => lexer.single(Token::Whitespace(Whitespace::Space)),
            b'\t' => lexer.single(Token::Whitespace(Whitespace::Tab)),
            b'\n' => {
                lexer.newline();
                Token::Whitespace(Whitespace::Newline)
            }
            b'A'..=b'Z' | b'a'..=b'z' | b'_' => lexer.word()?,
            b'0'..=b'9' => lexer.number()?,
            b'\'' => Token::SingleQuotedString(lexer.quoted(b'\'')?),
            b'"' | b'`' if dialect.is_delimited_identifier_start(char::from(b)) => {
                let value = lexer.quoted(b)?;
                Token::Word(Word { value, quote_style: Some(char::from(b)), keyword: Keyword::NoKeyword })
            }
            b'(' => lexer.single(Token::LParen),
            b')' => lexer.single(Token::RParen),
            b',' => lexer.single(Token::Comma),
            b';' => lexer.single(Token::SemiColon),
            b'+' => lexer.single(Token::Plus),
            b'*' => lexer.single(Token::Mul),
            b'.' if !matches!(lexer.peek(1), Some(b'0'..=b'9' | b'_')) => lexer.single(Token::Period),
            b'%' if matches!(lexer.peek(1), Some(b' ' | b'\t' | b'\n')) => lexer.single(Token::Mod),
            _ => lexer.operator()?,
        };
        tokens.push(TokenWithSpan::new(token, Span::new(start, lexer.location())));
    }
    Some(tokens)
}

/// A position in ASCII input; columns count bytes, which for ASCII are sqlparser's characters.
struct Lexer<'a> {
    sql: &'a str,
    at: usize,
    line: u64,
    line_start: usize,
}

impl Lexer<'_> {
    fn location(&self) -> Location {
        Location::new(self.line, (self.at - self.line_start + 1) as u64)
    }

    fn peek(&self, ahead: usize) -> Option<u8> {
        self.sql.as_bytes().get(self.at + ahead).copied()
    }

    fn advance(&mut self, n: usize) {
        self.at += n;
    }

    /// Steps over a one-byte token (never a newline: see [`Lexer::newline`]).
    fn single(&mut self, token: Token) -> Token {
        self.advance(1);
        token
    }

    /// Steps over a newline, inside or between tokens: the next line starts after it.
    fn newline(&mut self) {
        self.advance(1);
        self.line += 1;
        self.line_start = self.at;
    }

    fn take_while(&mut self, f: impl Fn(u8) -> bool) {
        while self.peek(0).is_some_and(&f) {
            self.advance(1);
        }
    }

    /// Whether the next byte (or the end) certainly ends a word or number.
    fn at_word_end(&self) -> bool {
        self.peek(0).is_none_or(|b| ENDS_WORD.contains(&b))
    }

    fn word(&mut self) -> Option<Token> {
        let start = self.at;
        self.take_while(|b| b.is_ascii_alphanumeric() || b == b'_');
        // A quote after a word makes a prefixed string (N'…', X'…', E'…'), and `$`, `@`, `#`
        // continue a word in some dialects.
        if !(self.at_word_end() || self.peek(0) == Some(b'.')) {
            return None;
        }
        let value = self.sql.get(start..self.at)?;
        Some(Token::Word(Word {
            keyword: keyword(value).unwrap_or(Keyword::NoKeyword),
            value: value.to_string(),
            quote_style: None,
        }))
    }

    fn number(&mut self) -> Option<Token> {
        let start = self.at;
        self.take_while(|b| b.is_ascii_digit());
        if self.peek(0) == Some(b'.') {
            self.advance(1);
            self.take_while(|b| b.is_ascii_digit());
        }
        // Exponents, hex, `L` suffixes, underscores, MySQL's digit-led names: sqlparser's.
        if !self.at_word_end() {
            return None;
        }
        Some(Token::Number(self.sql.get(start..self.at)?.to_string(), false))
    }

    /// A quoted string or identifier; a doubled quote stands for one. Backslashes (escapes in
    /// some dialects) and a missing closing quote (an error) are left to sqlparser.
    fn quoted(&mut self, quote: u8) -> Option<String> {
        self.advance(1);
        let mut value = Vec::new();
        loop {
            let b = self.peek(0)?;
            match b {
                b'\\' => return None,
                b'\n' => self.newline(),
                _ => self.advance(1),
            }
            if b == quote {
                if self.peek(0) != Some(quote) {
                    return String::from_utf8(value).ok();
                }
                self.advance(1);
            }
            value.push(b);
        }
    }

    /// The operators whose meaning never depends on the dialect when no operator character
    /// follows them.
    fn operator(&mut self) -> Option<Token> {
        let (token, len) = match (self.peek(0)?, self.peek(1)) {
            (b'=', _) => (Token::Eq, 1),
            (b'<', Some(b'=')) => (Token::LtEq, 2),
            (b'<', Some(b'>')) => (Token::Neq, 2),
            (b'<', _) => (Token::Lt, 1),
            (b'>', Some(b'=')) => (Token::GtEq, 2),
            (b'>', _) => (Token::Gt, 1),
            (b'!', Some(b'=')) => (Token::Neq, 2),
            (b'-', _) => (Token::Minus, 1),
            (b'/', _) => (Token::Div, 1),
            (b'|', Some(b'|')) => (Token::StringConcat, 2),
            (b':', Some(b':')) => (Token::DoubleColon, 2),
            _ => return None,
        };
        if self.peek(len).is_some_and(|b| OPERATOR_CHARS.contains(&b)) {
            return None;
        }
        self.advance(len);
        Some(token)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::dialect::Dialect;

    const DIALECTS: [Dialect; 4] = [Dialect::Postgres, Dialect::Mysql, Dialect::Sqlite, Dialect::Generic];

    fn same_as_sqlparser(sql: &str) {
        for d in DIALECTS {
            let dialect = d.parser_dialect();
            if let Some(tokens) = fast(sql, dialect) {
                assert_eq!(
                    Some(tokens),
                    Tokenizer::new(dialect, sql).tokenize_with_location().ok(),
                    "{d:?}: {sql:?}"
                );
            }
        }
    }

    #[test]
    fn keywords_are_found_in_any_case() {
        assert!(ALL_KEYWORDS.len() < KEYWORD_SLOTS / 2 && ALL_KEYWORDS.len() < usize::from(u16::MAX));
        for (k, kw) in ALL_KEYWORDS.iter().zip(ALL_KEYWORDS_INDEX) {
            assert_eq!(keyword(k), Some(*kw), "{k}");
            assert_eq!(keyword(&k.to_lowercase()), Some(*kw), "{k}");
        }
        assert_eq!(keyword("Select"), Some(Keyword::SELECT));
        assert_eq!(keyword("customer_name"), None);
        assert_eq!(keyword(""), None);
    }

    #[test]
    fn plain_sql_takes_the_fast_path_with_sqlparsers_tokens() {
        let sql = "SELECT c.name, SUM(o.total) AS \"Total\", 'it''s', 1.5, 2 FROM customers c\n\tJOIN orders o ON o.cid = c.id WHERE o.total >= 10 AND c.name <> 'x' OR a != b || 'y' GROUP BY 1 ORDER BY 2 DESC;";
        for d in [Dialect::Postgres, Dialect::Sqlite, Dialect::Generic] {
            assert!(fast(sql, d.parser_dialect()).is_some(), "{d:?}");
        }
        same_as_sqlparser(sql);
        same_as_sqlparser("SELECT `a b`, x::date, \"multi\nline\" FROM t WHERE a % 2 = 0 AND b / 2 < 3 - 1");
    }

    #[test]
    fn anything_dialect_specific_goes_to_sqlparser() {
        for sql in [
            "SELECT N'x'",
            "SELECT E'a\\nb'",
            "SELECT 'a\\'b'",
            "SELECT 1e5, 0x1F, 1_000",
            "SELECT a -- comment",
            "SELECT /* c */ 1",
            "SELECT a->>'b' FROM t",
            "SELECT a <=> b",
            "SELECT @v, $1, ?",
            "SELECT 'é'",
            "SELECT 'open",
            "SELECT t._c, t.1",
            "SELECT a\r\nFROM t",
            "SELECT a=-1",
        ] {
            assert!(fast(sql, Dialect::Postgres.parser_dialect()).is_none(), "{sql}");
            same_as_sqlparser(sql);
        }
    }

    /// Every statement of the corpora gives sqlparser's tokens, and most legitimate analytical
    /// queries take the fast path (otherwise the fast path has stopped paying for itself).
    #[test]
    fn corpora_agree_and_mostly_take_the_fast_path() {
        let dir = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/corpus");
        let mut legit = (0, 0);
        for file in ["legit.tsv", "attacks-manual.tsv", "attacks-generated.tsv"] {
            let text = std::fs::read_to_string(dir.join(file)).unwrap_or_default();
            for (d, sql) in text.lines().filter(|l| !l.starts_with('#')).filter_map(|l| l.split_once('\t')) {
                same_as_sqlparser(sql);
                if file == "legit.tsv" && let Ok(d) = d.parse::<Dialect>() {
                    legit.0 += 1;
                    legit.1 += usize::from(fast(sql, d.parser_dialect()).is_some());
                }
            }
        }
        assert!(legit.0 >= 300, "the legitimate corpus was not read");
        println!("fast path: {} of {} legitimate queries", legit.1, legit.0);
        assert!(legit.1 * 10 >= legit.0 * 8, "only {} of {} legitimate queries take the fast path", legit.1, legit.0);
    }

    proptest::proptest! {
        /// Whatever the input, the fast path either gives up or gives sqlparser's tokens.
        #[test]
        fn fast_path_agrees_with_sqlparser(parts in proptest::collection::vec(
            proptest::sample::select(vec![
                "SELECT", "a", "Tb_1", "x9", "n", "E", "u", "b", "1", "2.5", "3.", "0", " ", "\t", "\n", "\r",
                "'", "''", "\"", "`", "[", "(", ")", ",", ";", ".", "_", "=", "<", ">", "!", "-", "+", "*",
                "/", "%", "|", ":", "&", "@", "$", "#", "?", "\\", "e", "x", "é", "~", "^",
            ]),
            0..24,
        )) {
            same_as_sqlparser(&parts.concat());
        }
    }
}
