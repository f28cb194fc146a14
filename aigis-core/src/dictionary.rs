//! The data dictionary: human descriptions, synonyms and PII marks for tables and columns,
//! kept as YAML files (one per table) next to the application and merged onto the live schema.
//!
//! File format (seed 004's, `<table>.yml`):
//!
//! ```yaml
//! version: 1
//! table: tickets_jira          # may be schema-qualified: support.tickets_jira
//! title: Tickets Jira
//! description: JIRA incident tickets
//! columns:
//!   - name: ticket_id
//!     description: Unique ticket id
//!     type: integer
//!     synonyms: [id, issue_id]
//!     pii: false
//! ```
//!
//! The live schema wins: entries for tables or columns that no longer exist are dropped with a
//! [`DictionaryWarning`] (also logged with `tracing`), and the `type` field is documentation
//! only. Columns marked `pii: true` are listed by [`Dictionary::pii_columns`] for the guard's
//! PII policy.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};

use serde::{Deserialize, Serialize};

use crate::connection::{Schema, Table};
use crate::knowledge::{KnowledgeItem, KnowledgeKind};
use crate::{Error, Result};

/// One column of a dictionary entry.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct ColumnEntry {
    /// Column name as in the database.
    pub name: String,
    /// What the column means.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// The type as the author wrote it (documentation only; the live schema's type is used).
    #[serde(default, rename = "type", skip_serializing_if = "Option::is_none")]
    pub data_type: Option<String>,
    /// Other names people use for the column.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub synonyms: Vec<String>,
    /// Whether the column holds personal data.
    #[serde(default)]
    pub pii: bool,
    /// Keys the format does not know (typos such as `synonym:`); reported by [`Dictionary::apply`].
    #[serde(flatten, skip_serializing)]
    pub unknown: BTreeMap<String, serde_yaml::Value>,
}

/// The dictionary entry of one table (one YAML file).
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct TableEntry {
    /// Format version (1).
    #[serde(default = "default_version")]
    pub version: u32,
    /// Table name, optionally schema-qualified.
    pub table: String,
    /// Human title.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub title: Option<String>,
    /// What the table holds.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub description: Option<String>,
    /// Described columns (not necessarily all of them).
    #[serde(default)]
    pub columns: Vec<ColumnEntry>,
    /// The file it was read from.
    #[serde(skip)]
    pub source: Option<PathBuf>,
    /// Keys the format does not know (typos such as `descripton:`); reported by [`Dictionary::apply`].
    #[serde(flatten, skip_serializing)]
    pub unknown: BTreeMap<String, serde_yaml::Value>,
}

fn default_version() -> u32 {
    1
}

/// A dictionary entry that did not match the live schema and was dropped.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct DictionaryWarning {
    /// The table named by the entry.
    pub table: String,
    /// The column, when only a column was dropped.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub column: Option<String>,
    /// Why.
    pub message: String,
}

/// A personal-data column: input to the guard's PII policy.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PiiColumn {
    /// Table name as written in the dictionary (optionally schema-qualified).
    pub table: String,
    /// Column name.
    pub column: String,
}

/// A set of table entries.
#[derive(Debug, Clone, PartialEq, Default, Serialize, Deserialize)]
pub struct Dictionary {
    /// Entries, in file-name order when loaded from a directory.
    pub tables: Vec<TableEntry>,
}

impl Dictionary {
    /// Reads every `*.yml` / `*.yaml` file of `dir` (not recursive), in file-name order.
    ///
    /// A malformed file is an [`Error::Config`] naming the file.
    pub fn load_dir(dir: impl AsRef<Path>) -> Result<Self> {
        let dir = dir.as_ref();
        let entries = std::fs::read_dir(dir)
            .map_err(|e| Error::Config(format!("data dictionary directory {}: {e}", dir.display())))?;
        let mut paths: Vec<PathBuf> = entries
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| {
                p.is_file()
                    && p.extension()
                        .is_some_and(|e| e.eq_ignore_ascii_case("yml") || e.eq_ignore_ascii_case("yaml"))
            })
            .collect();
        paths.sort();
        let tables = paths.iter().map(Self::load_file).collect::<Result<Vec<_>>>()?;
        Ok(Self { tables })
    }

    /// Reads one table entry from a YAML file.
    pub fn load_file(path: impl AsRef<Path>) -> Result<TableEntry> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)
            .map_err(|e| Error::Config(format!("data dictionary file {}: {e}", path.display())))?;
        let mut entry = Self::parse(&text, &path.display().to_string())?;
        entry.source = Some(path.to_path_buf());
        Ok(entry)
    }

    /// Parses one table entry; `origin` names the text in errors (a file path).
    pub fn parse(text: &str, origin: &str) -> Result<TableEntry> {
        let entry: TableEntry = serde_yaml::from_str(text)
            .map_err(|e| Error::Config(format!("data dictionary file {origin}: {e}")))?;
        if entry.table.trim().is_empty() {
            return Err(Error::Config(format!("data dictionary file {origin}: `table` is empty")));
        }
        if let Some(col) = entry.columns.iter().find(|c| c.name.trim().is_empty()) {
            return Err(Error::Config(format!(
                "data dictionary file {origin}: a column of `{}` has an empty name{}",
                entry.table,
                col.description.as_deref().map(|d| format!(" (described as `{d}`)")).unwrap_or_default()
            )));
        }
        if entry.version != 1 {
            return Err(Error::Config(format!(
                "data dictionary file {origin}: unsupported version {} (expected 1)",
                entry.version
            )));
        }
        Ok(entry)
    }

    /// Fills titles, descriptions, synonyms and PII marks of `schema` from the dictionary.
    ///
    /// Returns one warning per table or column entry that matches nothing (each also logged at
    /// `warn`). A later entry for the same table or column overrides an earlier one's fields.
    pub fn apply(&self, schema: &mut Schema) -> Vec<DictionaryWarning> {
        let mut warnings = Vec::new();
        for entry in &self.tables {
            let unknown = entry.unknown.keys().map(|k| (None, k));
            let unknown = unknown.chain(entry.columns.iter().flat_map(|c| c.unknown.keys().map(|k| (Some(&c.name), k))));
            for (column, key) in unknown {
                warnings.push(DictionaryWarning {
                    table: entry.table.clone(),
                    column: column.cloned(),
                    message: format!("unknown key `{key}` in the dictionary entry of `{}` was ignored", entry.table),
                });
            }
            let Some(table) = find_table_mut(schema, &entry.table) else {
                warnings.push(DictionaryWarning {
                    table: entry.table.clone(),
                    column: None,
                    message: format!("table `{}` is not in the database; its dictionary entry was dropped", entry.table),
                });
                continue;
            };
            if entry.title.is_some() {
                table.title.clone_from(&entry.title);
            }
            if entry.description.is_some() {
                table.comment.clone_from(&entry.description);
            }
            for col_entry in &entry.columns {
                let Some(column) = table.columns.iter_mut().find(|c| c.name.eq_ignore_ascii_case(&col_entry.name))
                else {
                    warnings.push(DictionaryWarning {
                        table: entry.table.clone(),
                        column: Some(col_entry.name.clone()),
                        message: format!(
                            "column `{}.{}` is not in the database; its dictionary entry was dropped",
                            entry.table, col_entry.name
                        ),
                    });
                    continue;
                };
                if col_entry.description.is_some() {
                    column.comment.clone_from(&col_entry.description);
                }
                for synonym in &col_entry.synonyms {
                    if !column.synonyms.iter().any(|s| s.eq_ignore_ascii_case(synonym)) {
                        column.synonyms.push(synonym.clone());
                    }
                }
                // PII only ever widens: a dictionary cannot clear a mark another source set.
                column.pii |= col_entry.pii;
            }
        }
        for w in &warnings {
            tracing::warn!(table = %w.table, column = ?w.column, "{}", w.message);
        }
        warnings
    }

    /// `schema` with the dictionary applied, and the warnings.
    pub fn merged(&self, mut schema: Schema) -> (Schema, Vec<DictionaryWarning>) {
        let warnings = self.apply(&mut schema);
        (schema, warnings)
    }

    /// Every column marked `pii: true`, sorted and without duplicates.
    pub fn pii_columns(&self) -> Vec<PiiColumn> {
        let mut out: Vec<PiiColumn> = self
            .tables
            .iter()
            .flat_map(|t| {
                t.columns.iter().filter(|c| c.pii).map(|c| PiiColumn { table: t.table.clone(), column: c.name.clone() })
            })
            .collect();
        out.sort();
        out.dedup();
        out
    }

    /// One knowledge item per table entry (id `dict:<table>`), for retrieval.
    pub fn knowledge_items(&self) -> Vec<KnowledgeItem> {
        self.tables
            .iter()
            .map(|t| {
                let title = match &t.title {
                    Some(title) => format!("{} ({title})", t.table),
                    None => t.table.clone(),
                };
                let mut text = t.description.clone().unwrap_or_default();
                for c in &t.columns {
                    text.push_str(&format!("\n- {}", c.name));
                    if let Some(d) = &c.description {
                        text.push_str(&format!(": {d}"));
                    }
                    if !c.synonyms.is_empty() {
                        text.push_str(&format!(" (also: {})", c.synonyms.join(", ")));
                    }
                }
                KnowledgeItem {
                    id: format!("dict:{}", t.table),
                    kind: KnowledgeKind::Dictionary,
                    title,
                    text: text.trim().to_string(),
                    sql: None,
                    source: t.source.as_ref().map(|p| p.display().to_string()),
                }
            })
            .collect()
    }
}

/// Every column of `schema` marked as personal data (from any source), as `(qualified table, column)`.
pub fn schema_pii_columns(schema: &Schema) -> Vec<PiiColumn> {
    schema
        .tables
        .iter()
        .flat_map(|t| {
            t.columns.iter().filter(|c| c.pii).map(|c| PiiColumn { table: t.qualified_name(), column: c.name.clone() })
        })
        .collect()
}

/// Like [`Schema::table`], mutable.
fn find_table_mut<'a>(schema: &'a mut Schema, name: &str) -> Option<&'a mut Table> {
    let (want_schema, want_table) = match name.rsplit_once('.') {
        Some((s, t)) => (Some(s), t),
        None => (None, name),
    };
    schema.tables.iter_mut().find(|t| {
        t.name.eq_ignore_ascii_case(want_table)
            && want_schema.is_none_or(|s| t.schema.as_deref().is_some_and(|ts| ts.eq_ignore_ascii_case(s)))
    })
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::Column;

    fn schema() -> Schema {
        let col = |name: &str| Column { name: name.into(), data_type: "integer".into(), ..Default::default() };
        Schema {
            tables: vec![Table {
                schema: Some("support".into()),
                name: "tickets_jira".into(),
                columns: vec![col("ticket_id"), col("created_at"), col("reporter_email")],
                ..Default::default()
            }],
            ..Default::default()
        }
    }

    const TICKETS: &str = r#"version: 1
table: tickets_jira
title: Tickets Jira
description: JIRA incident tickets
columns:
  - name: ticket_id
    description: Unique ticket id
    type: integer
    synonyms: [id, issue_id]
    pii: false
  - name: reporter_email
    description: Who reported it
    pii: true
  - name: legacy_code
    description: gone
"#;

    #[test]
    fn seed_format_merges_and_drops_stale_columns() -> Result<()> {
        let dict = Dictionary { tables: vec![Dictionary::parse(TICKETS, "tickets_jira.yml")?] };
        let (merged, warnings) = dict.merged(schema());
        let t = &merged.tables[0];
        assert_eq!(t.title.as_deref(), Some("Tickets Jira"));
        assert_eq!(t.comment.as_deref(), Some("JIRA incident tickets"));
        let id = t.column("ticket_id").cloned().unwrap_or_default();
        assert_eq!(id.synonyms, vec!["id", "issue_id"]);
        assert_eq!(id.comment.as_deref(), Some("Unique ticket id"));
        assert!(t.column("reporter_email").is_some_and(|c| c.pii));
        assert!(t.column("created_at").is_some_and(|c| c.comment.is_none() && !c.pii));
        assert_eq!(warnings.len(), 1);
        assert_eq!(warnings[0].column.as_deref(), Some("legacy_code"));
        assert_eq!(
            dict.pii_columns(),
            vec![PiiColumn { table: "tickets_jira".into(), column: "reporter_email".into() }]
        );
        assert_eq!(schema_pii_columns(&merged)[0].table, "support.tickets_jira");
        Ok(())
    }

    #[test]
    fn qualified_names_must_match_the_schema() -> Result<()> {
        let other = TICKETS.replace("table: tickets_jira", "table: sales.tickets_jira");
        let dict = Dictionary { tables: vec![Dictionary::parse(&other, "x.yml")?] };
        let (merged, warnings) = dict.merged(schema());
        assert!(merged.tables[0].title.is_none());
        assert_eq!(warnings.len(), 1);
        assert!(warnings[0].column.is_none());
        let same = TICKETS.replace("table: tickets_jira", "table: SUPPORT.Tickets_Jira");
        let dict = Dictionary { tables: vec![Dictionary::parse(&same, "x.yml")?] };
        assert!(dict.merged(schema()).0.tables[0].title.is_some());
        Ok(())
    }

    #[test]
    fn unknown_keys_are_reported_not_fatal() -> Result<()> {
        let typo = TICKETS.replace("    synonyms: [id, issue_id]", "    synonym: [id, issue_id]").replace("title:", "titel:");
        let dict = Dictionary { tables: vec![Dictionary::parse(&typo, "t.yml")?] };
        let warnings = dict.apply(&mut schema());
        let messages: Vec<&str> = warnings.iter().map(|w| w.message.as_str()).collect();
        assert!(messages.iter().any(|m| m.contains("unknown key `titel`")), "{messages:?}");
        assert!(warnings.iter().any(|w| w.column.as_deref() == Some("ticket_id") && w.message.contains("`synonym`")));
        Ok(())
    }

    #[test]
    fn bad_entries_are_errors_naming_the_origin() {
        for bad in ["table: [unclosed", "title: no table here", "table: ''", "version: 2\ntable: t", "table: t\ncolumns:\n  - description: x"] {
            let err = Dictionary::parse(bad, "dict/bad.yml").err();
            assert!(matches!(&err, Some(Error::Config(msg)) if msg.contains("dict/bad.yml")), "{bad:?} gave {err:?}");
        }
    }

    #[test]
    fn dictionary_becomes_knowledge() -> Result<()> {
        let dict = Dictionary { tables: vec![Dictionary::parse(TICKETS, "t.yml")?] };
        let items = dict.knowledge_items();
        assert_eq!(items[0].id, "dict:tickets_jira");
        assert!(items[0].text.contains("ticket_id: Unique ticket id (also: id, issue_id)"));
        Ok(())
    }
}
