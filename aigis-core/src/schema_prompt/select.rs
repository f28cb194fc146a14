//! Choosing the tables a question needs when the whole schema does not fit the budget.
//!
//! Each table is a BM25 document whose terms come from its name (weighted most), title,
//! description, column names, column descriptions, synonyms and sample values. Tables matching
//! the question are ranked by score; their foreign-key neighbours (both directions) follow at a
//! fraction of the score of the table that pulled them in, because a question naming orders and
//! customers usually also needs the table that joins them.

use std::collections::HashMap;

use crate::connection::{Schema, Table};
use crate::knowledge::Bm25Index;
use crate::knowledge::text::terms;

/// A neighbour's priority relative to the matched table that pulls it in.
const NEIGHBOUR_FACTOR: f32 = 0.5;
/// Sample values indexed per column: enough to catch "in Lisbon", few enough to stay cheap.
const VALUES_PER_COLUMN: usize = 5;

/// Field weights for a table's BM25 document.
const W_NAME: f32 = 3.0;
const W_TITLE: f32 = 2.0;
const W_COLUMN: f32 = 1.0;
const W_SYNONYM: f32 = 1.5;
const W_DESCRIPTION: f32 = 1.0;
const W_COLUMN_DESCRIPTION: f32 = 0.5;
const W_VALUE: f32 = 0.5;

/// Weighted terms describing one table.
fn table_terms(table: &Table) -> Vec<(String, f32)> {
    let mut out = Vec::new();
    let mut push = |text: &str, weight: f32| out.extend(terms(text).into_iter().map(|t| (t, weight)));
    push(&table.name, W_NAME);
    if let Some(title) = &table.title {
        push(title, W_TITLE);
    }
    if let Some(comment) = &table.comment {
        push(comment, W_DESCRIPTION);
    }
    for (i, column) in table.columns.iter().enumerate() {
        push(&column.name, W_COLUMN);
        for synonym in &column.synonyms {
            push(synonym, W_SYNONYM);
        }
        if let Some(comment) = &column.comment {
            push(comment, W_COLUMN_DESCRIPTION);
        }
        // PII values never feed matching: they would surface in which tables get chosen.
        if column.pii {
            continue;
        }
        let values = table.sample_rows.iter().filter_map(|row| row.get(i)).filter_map(|v| v.as_str());
        for value in values.take(VALUES_PER_COLUMN) {
            push(value, W_VALUE);
        }
    }
    out
}

/// A schema's tables indexed for relevance: built once per schema, queried per question.
#[derive(Debug, Clone, Default)]
pub(super) struct TableIndex {
    index: Bm25Index,
    adjacency: HashMap<usize, Vec<usize>>,
}

impl TableIndex {
    pub(super) fn new(schema: &Schema) -> Self {
        let mut index = Bm25Index::new();
        for table in &schema.tables {
            index.add(table_terms(table));
        }
        Self { index, adjacency: foreign_key_adjacency(schema) }
    }

    /// Table indexes in the order they should be considered for the prompt, with their
    /// priority (> 0); tables unrelated to the question are absent.
    pub(super) fn rank(&self, question: &str, neighbours: bool) -> Vec<(usize, f32)> {
        let query = terms(question);
        if query.is_empty() {
            return Vec::new();
        }
        let mut priority: HashMap<usize, f32> = self.index.search(&query).into_iter().collect();
        if neighbours {
            let matched: Vec<(usize, f32)> = priority.iter().map(|(&i, &s)| (i, s)).collect();
            for (table, score) in matched {
                for &n in self.adjacency.get(&table).into_iter().flatten() {
                    let p = priority.entry(n).or_default();
                    *p = p.max(score * NEIGHBOUR_FACTOR);
                }
            }
        }
        let mut ranked: Vec<(usize, f32)> = priority.into_iter().filter(|(_, p)| *p > 0.0).collect();
        ranked.sort_by(|a, b| b.1.total_cmp(&a.1).then(a.0.cmp(&b.0)));
        ranked
    }
}

/// Table index → indexes of tables it references or that reference it.
fn foreign_key_adjacency(schema: &Schema) -> HashMap<usize, Vec<usize>> {
    let mut position: HashMap<(Option<String>, String), usize> = HashMap::new();
    for (i, t) in schema.tables.iter().enumerate() {
        position.insert((t.schema.as_ref().map(|s| s.to_lowercase()), t.name.to_lowercase()), i);
    }
    let mut adjacency: HashMap<usize, Vec<usize>> = HashMap::new();
    for (i, t) in schema.tables.iter().enumerate() {
        for fk in &t.foreign_keys {
            let target_schema = fk.referred_schema.as_ref().or(t.schema.as_ref()).map(|s| s.to_lowercase());
            let Some(&j) = position.get(&(target_schema, fk.referred_table.to_lowercase())) else { continue };
            if i != j {
                adjacency.entry(i).or_default().push(j);
                adjacency.entry(j).or_default().push(i);
            }
        }
    }
    adjacency
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::connection::{Column, ForeignKey};

    fn rank_tables(schema: &Schema, question: &str, neighbours: bool) -> Vec<(usize, f32)> {
        TableIndex::new(schema).rank(question, neighbours)
    }

    fn table(name: &str, cols: &[&str], fk_to: Option<&str>) -> Table {
        Table {
            name: name.into(),
            columns: cols.iter().map(|c| Column { name: (*c).into(), data_type: "text".into(), ..Default::default() }).collect(),
            foreign_keys: fk_to
                .map(|t| vec![ForeignKey { columns: vec![format!("{t}_id")], referred_table: t.into(), referred_columns: vec!["id".into()], ..Default::default() }])
                .unwrap_or_default(),
            ..Default::default()
        }
    }

    fn schema() -> Schema {
        let mut geo = table("geo_site", &["id", "label"], None);
        geo.sample_rows = vec![vec![serde_json::json!(1), serde_json::json!("Lisbon")]];
        let mut staff = table("hr_emp", &["id", "full_name", "geo_site_id"], Some("geo_site"));
        staff.title = Some("Employees".into());
        staff.columns[1].synonyms = vec!["worker".into()];
        let mut pii = table("contacts", &["id", "email"], None);
        pii.columns[1].pii = true;
        pii.sample_rows = vec![vec![serde_json::json!(1), serde_json::json!("lisbon@example.com")]];
        Schema { tables: vec![geo, staff, table("unrelated", &["id"], None), pii], ..Default::default() }
    }

    #[test]
    fn titles_synonyms_and_values_match_and_neighbours_follow() {
        let s = schema();
        let ranked = rank_tables(&s, "How many employees?", true);
        assert_eq!(ranked.iter().map(|r| r.0).collect::<Vec<_>>(), vec![1, 0]);
        assert!(ranked[1].1 < ranked[0].1);
        assert_eq!(rank_tables(&s, "workers", false).iter().map(|r| r.0).collect::<Vec<_>>(), vec![1]);
        let by_value = rank_tables(&s, "people in Lisbon", false);
        assert_eq!(by_value.iter().map(|r| r.0).collect::<Vec<_>>(), vec![0], "PII values are not indexed");
        assert!(rank_tables(&s, "the", true).is_empty());
    }
}
