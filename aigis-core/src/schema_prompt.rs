//! Rendering a [`Schema`] as compact DDL-like text for prompts, under a token budget.

use crate::connection::Schema;

/// Renders the schema for a prompt about `question`, in at most about `budget_tokens` tokens.
pub fn render_schema(schema: &Schema, _question: &str, budget_tokens: usize) -> String {
    let budget_chars = budget_tokens.saturating_mul(4);
    let mut out = String::new();
    for table in &schema.tables {
        let mut block = format!("TABLE {} (\n", table.qualified_name());
        let cols: Vec<String> = table
            .columns
            .iter()
            .map(|c| {
                let mut line = format!("  {} {}", c.name, c.data_type);
                if !c.nullable {
                    line.push_str(" NOT NULL");
                }
                if let Some(comment) = &c.comment {
                    line.push_str(&format!(" -- {comment}"));
                }
                line
            })
            .collect();
        block.push_str(&cols.join(",\n"));
        if !table.primary_key.is_empty() {
            block.push_str(&format!(",\n  PRIMARY KEY ({})", table.primary_key.join(", ")));
        }
        for fk in &table.foreign_keys {
            block.push_str(&format!(
                ",\n  FOREIGN KEY ({}) REFERENCES {}({})",
                fk.columns.join(", "),
                fk.referred_table,
                fk.referred_columns.join(", ")
            ));
        }
        block.push_str("\n)\n");
        if out.len() + block.len() > budget_chars {
            break;
        }
        out.push_str(&block);
    }
    out
}
