//! Taking the SQL out of a model's reply: fenced (```sql … ```), or bare with prose around it.

/// Returns the SQL in a reply, or `None` when there is none.
///
/// A fenced block wins (a ```sql fence first, then any fence). Otherwise the block from the
/// first line that starts a statement up to the next blank line, cut to its longest prefix of
/// lines that parses, so prose after the SQL is dropped. The guard, not this function, decides
/// whether what comes back is acceptable: several statements are returned as they are so the
/// guard can reject them with a clear reason.
pub fn extract_sql(reply: &str) -> Option<String> {
    if let Some(sql) = fenced(reply) {
        return non_empty(sql);
    }
    let lines: Vec<&str> = reply.lines().collect();
    let start = lines.iter().position(|l| starts_statement(l.trim_start()))?;
    let end = lines[start..].iter().position(|l| l.trim().is_empty()).map_or(lines.len(), |n| start + n);
    let block = &lines[start..end];
    let parses = |n: usize| {
        let text = block[..n].join("\n");
        sqlparser::parser::Parser::parse_sql(&sqlparser::dialect::GenericDialect {}, &text).is_ok()
    };
    // Replies are short, so trying each prefix is cheap; without a parsing prefix the whole
    // block goes to the guard, which explains the problem to the model.
    let keep = (1..=block.len()).rev().find(|n| parses(*n)).unwrap_or(block.len());
    non_empty(&block[..keep].join("\n"))
}

fn fenced(reply: &str) -> Option<&str> {
    let mut first_any: Option<&str> = None;
    let mut rest = reply;
    while let Some(open) = rest.find("```") {
        let after = &rest[open + 3..];
        let (info, body_start) = match after.find('\n') {
            Some(nl) => (after[..nl].trim(), nl + 1),
            None => return first_any,
        };
        let body = &after[body_start..];
        let (content, next) = match body.find("```") {
            Some(close) => (&body[..close], &body[close + 3..]),
            // An unclosed fence (the model stopped early): take what is there.
            None => (body, ""),
        };
        if info.eq_ignore_ascii_case("sql") || info.to_ascii_lowercase().starts_with("sql ") {
            return Some(content);
        }
        if first_any.is_none() && (info.is_empty() || starts_statement(content.trim_start())) {
            first_any = Some(content);
        }
        rest = next;
    }
    first_any
}

fn starts_statement(line: &str) -> bool {
    let head: String = line.chars().take(7).collect::<String>().to_ascii_uppercase();
    // Any statement keyword counts, so a DML reply reaches the guard and is rejected there
    // with a reason the model can act on, rather than being reported as "no SQL".
    ["SELECT", "WITH", "INSERT", "UPDATE", "DELETE", "DROP", "CREATE", "ALTER", "PRAGMA", "EXPLAIN", "VALUES", "(SELECT"]
        .iter()
        .any(|k| head.starts_with(k) && line[k.len().min(line.len())..].chars().next().is_none_or(|c| !c.is_alphanumeric() && c != '_'))
}

fn non_empty(sql: &str) -> Option<String> {
    let trimmed = sql.trim();
    (!trimmed.is_empty()).then(|| trimmed.to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn takes_sql_fence() {
        let r = "Here you go:\n```sql\nSELECT 1;\n```\nHope it helps";
        assert_eq!(extract_sql(r).as_deref(), Some("SELECT 1;"));
    }

    #[test]
    fn takes_bare_sql_after_prose() {
        let r = "Sure! The query is:\nSELECT name\nFROM t";
        assert_eq!(extract_sql(r).as_deref(), Some("SELECT name\nFROM t"));
    }

    #[test]
    fn drops_prose_after_bare_sql() {
        let r = "Here is the query:\nSELECT name\nFROM stores\nThis lists every store.";
        assert_eq!(extract_sql(r).as_deref(), Some("SELECT name\nFROM stores"));
        let stacked = "SELECT 1;\nDROP TABLE t;\nDone.";
        assert_eq!(extract_sql(stacked).as_deref(), Some("SELECT 1;\nDROP TABLE t;"));
    }

    #[test]
    fn prefers_sql_fence_over_other_fences() {
        let r = "```text\nnothing\n```\n```SQL\nWITH a AS (SELECT 1) SELECT * FROM a\n```";
        assert_eq!(extract_sql(r).as_deref(), Some("WITH a AS (SELECT 1) SELECT * FROM a"));
    }

    #[test]
    fn unclosed_fence_and_none() {
        assert_eq!(extract_sql("```sql\nSELECT 2").as_deref(), Some("SELECT 2"));
        assert_eq!(extract_sql("I cannot answer that."), None);
        assert_eq!(extract_sql("Selection criteria are unclear"), None);
    }

    #[test]
    fn dml_reaches_the_guard() {
        assert_eq!(extract_sql("DELETE FROM t").as_deref(), Some("DELETE FROM t"));
    }
}
