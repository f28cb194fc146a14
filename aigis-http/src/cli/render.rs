//! Human-readable output: result tables, verdicts and the events of an answer.

use std::io::Write;

use aigis_core::{Event, Verdict};
use serde_json::Value;

/// Widest a table cell gets before it is cut with `…`.
const MAX_CELL: usize = 40;
/// Rows shown in a table; the rest are counted.
const MAX_TABLE_ROWS: usize = 50;

/// One value as a table cell: text as is, NULL as `NULL`, everything else as JSON.
fn cell(value: &Value) -> String {
    let text = match value {
        Value::Null => "NULL".to_string(),
        Value::String(s) => s.clone(),
        other => other.to_string(),
    };
    // Newlines and tabs would break the grid.
    let flat: String = text.chars().map(|c| if c.is_control() { ' ' } else { c }).collect();
    if flat.chars().count() > MAX_CELL {
        let cut: String = flat.chars().take(MAX_CELL - 1).collect();
        format!("{cut}…")
    } else {
        flat
    }
}

/// Renders rows as an aligned text table with a header rule; numbers are right-aligned.
pub fn table(columns: &[String], rows: &[Vec<Value>]) -> String {
    let shown = &rows[..rows.len().min(MAX_TABLE_ROWS)];
    let cells: Vec<Vec<String>> = shown.iter().map(|r| r.iter().map(cell).collect()).collect();
    let mut widths: Vec<usize> = columns.iter().map(|c| c.chars().count()).collect();
    for row in &cells {
        for (i, c) in row.iter().enumerate() {
            if let Some(w) = widths.get_mut(i) {
                *w = (*w).max(c.chars().count());
            }
        }
    }
    let pad = |text: &str, width: usize, right: bool| {
        let fill = " ".repeat(width.saturating_sub(text.chars().count()));
        if right { format!("{fill}{text}") } else { format!("{text}{fill}") }
    };
    let mut out = String::new();
    let header: Vec<String> = columns.iter().zip(&widths).map(|(c, w)| pad(c, *w, false)).collect();
    out.push_str(header.join(" | ").trim_end());
    out.push('\n');
    let rule: Vec<String> = widths.iter().map(|w| "-".repeat(*w)).collect();
    out.push_str(&rule.join("-+-"));
    out.push('\n');
    for (row, raw) in cells.iter().zip(shown) {
        let line: Vec<String> = row
            .iter()
            .zip(&widths)
            .zip(raw)
            .map(|((c, w), v)| pad(c, *w, v.is_number()))
            .collect();
        out.push_str(line.join(" | ").trim_end());
        out.push('\n');
    }
    if rows.len() > shown.len() {
        out.push_str(&format!("… {} more rows\n", rows.len() - shown.len()));
    }
    out
}

/// `(N rows)` with `, truncated` when a cap cut the result.
pub fn row_count_line(row_count: u64, truncated: bool) -> String {
    let noun = if row_count == 1 { "row" } else { "rows" };
    let cut = if truncated { ", truncated by the row or byte cap" } else { "" };
    format!("({row_count} {noun}{cut})")
}

/// A verdict on one line: `ALLOW\t<sql>` or `REJECT\t[code] message; …`.
pub fn verdict_line(verdict: &Verdict) -> String {
    let one_line = |s: &str| s.split_whitespace().collect::<Vec<_>>().join(" ");
    if verdict.allowed {
        format!("ALLOW\t{}", one_line(verdict.sql.as_deref().unwrap_or_default()))
    } else {
        let reasons: Vec<String> =
            verdict.violations.iter().map(|v| format!("[{}] {}", v.code, one_line(&v.message))).collect();
        format!("REJECT\t{}", reasons.join("; "))
    }
}

/// Prints the events of an answer for a person, answer text as it streams.
#[derive(Debug, Default)]
pub struct EventPrinter {
    /// Whether answer text was printed and not yet ended with a newline.
    in_answer: bool,
}

impl EventPrinter {
    /// Writes one event.
    pub fn print(&mut self, out: &mut impl Write, event: &Event) -> std::io::Result<()> {
        if self.in_answer && !matches!(event, Event::Delta { .. }) {
            writeln!(out)?;
            self.in_answer = false;
        }
        match event {
            Event::Meta { request_id, model, dialect } => {
                writeln!(out, "» request {request_id} · model {model} · {dialect}")?;
            }
            Event::Status { stage, message } => writeln!(out, "· {}: {message}", stage.as_str())?,
            Event::Sql { sql, attempt } => writeln!(out, "SQL (attempt {attempt}):\n  {}", sql.trim())?,
            Event::Guard { allowed: true, sql, .. } => writeln!(out, "guard: allowed → {sql}")?,
            Event::Guard { allowed: false, violations, .. } => {
                let reasons: Vec<String> = violations.iter().map(|v| format!("[{}] {}", v.code, v.message)).collect();
                writeln!(out, "guard: rejected: {}", reasons.join("; "))?;
            }
            Event::Rows { columns, rows, row_count, truncated } => {
                write!(out, "{}", table(columns, rows))?;
                writeln!(out, "{}", row_count_line(*row_count, *truncated))?;
            }
            Event::Delta { text } => {
                if !self.in_answer {
                    writeln!(out)?;
                }
                write!(out, "{text}")?;
                self.in_answer = true;
            }
            Event::Chart { spec } => {
                let mark = spec.get("mark").map(|m| m.get("type").unwrap_or(m).to_string()).unwrap_or_default();
                writeln!(out, "chart: Vega-Lite spec, mark {mark} (use --json for the spec)")?;
            }
            Event::Error { code, message } => writeln!(out, "error [{code}]: {message}")?,
            Event::Done { row_count, model, usage, elapsed_ms, .. } => writeln!(
                out,
                "done · {row_count} rows · {model} · {} + {} tokens · {elapsed_ms:.0} ms",
                usage.prompt_tokens, usage.completion_tokens
            )?,
            // Event is non-exhaustive: show kinds this build does not know as JSON.
            other => writeln!(out, "{}", serde_json::to_string(other).unwrap_or_default())?,
        }
        out.flush()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use serde_json::json;

    #[test]
    fn table_aligns_columns_and_right_aligns_numbers() {
        let t = table(
            &["name".into(), "total".into()],
            &[vec![json!("North"), json!(10.5)], vec![json!("Far West"), json!(7)], vec![json!(null), json!(100)]],
        );
        let lines: Vec<&str> = t.lines().collect();
        assert_eq!(lines[0], "name     | total");
        assert_eq!(lines[1], "---------+------");
        assert_eq!(lines[2], "North    |  10.5");
        assert_eq!(lines[4], "NULL     |   100");
    }

    #[test]
    fn long_and_multiline_cells_stay_on_one_line() {
        let long = "x".repeat(100);
        let t = table(&["a".into()], &[vec![json!(format!("line1\nline2 {long}"))]]);
        let row = t.lines().nth(2).unwrap();
        assert!(row.starts_with("line1 line2"));
        assert_eq!(row.chars().count(), MAX_CELL);
        assert!(row.ends_with('…'));
    }

    #[test]
    fn answer_text_streams_then_ends_with_a_newline() {
        let mut p = EventPrinter::default();
        let mut out = Vec::new();
        for e in [
            Event::Delta { text: "Hel".into() },
            Event::Delta { text: "lo".into() },
            Event::Error { code: "x".into(), message: "m".into() },
        ] {
            p.print(&mut out, &e).unwrap();
        }
        assert_eq!(String::from_utf8(out).unwrap(), "\nHello\nerror [x]: m\n");
    }
}
