//! [`KnowledgeBase`]: knowledge items loaded from files.
//!
//! - Golden queries: a YAML or JSON list of `{question, sql, id?, notes?}` (JSON is valid YAML).
//! - Documentation: Markdown split into one item per heading section (headings inside code
//!   fences do not split), long sections cut at paragraph breaks; `.txt` files split by paragraphs.
//! - The data dictionary: one item per table (see [`crate::dictionary::Dictionary::knowledge_items`]).

use std::path::Path;

use serde::Deserialize;

use super::{Bm25Retriever, KnowledgeItem};
use crate::dictionary::Dictionary;
use crate::{Error, Result};

/// Sections longer than this many characters are split at paragraph breaks.
const MAX_SECTION_CHARS: usize = 1500;

/// A set of knowledge items, built from files or by hand.
#[derive(Debug, Clone, Default)]
pub struct KnowledgeBase {
    items: Vec<KnowledgeItem>,
}

#[derive(Deserialize)]
struct GoldenEntry {
    #[serde(default)]
    id: Option<String>,
    question: String,
    sql: String,
    #[serde(default)]
    notes: Option<String>,
}

impl KnowledgeBase {
    /// An empty knowledge base.
    pub fn new() -> Self {
        Self::default()
    }

    /// The items.
    pub fn items(&self) -> &[KnowledgeItem] {
        &self.items
    }

    /// Adds one item.
    pub fn add(&mut self, item: KnowledgeItem) -> &mut Self {
        self.items.push(item);
        self
    }

    /// Adds golden question → SQL pairs from a YAML or JSON list; returns how many.
    ///
    /// Entries without an `id` get `golden:<file stem>:<n>` (1-based).
    pub fn add_golden_file(&mut self, path: impl AsRef<Path>) -> Result<usize> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        let entries: Vec<GoldenEntry> = serde_yaml::from_str(&text)
            .map_err(|e| Error::Config(format!("golden queries file {}: {e}", path.display())))?;
        let stem = file_stem(path);
        for (n, entry) in entries.iter().enumerate() {
            if entry.question.trim().is_empty() || entry.sql.trim().is_empty() {
                return Err(Error::Config(format!(
                    "golden queries file {}: entry {} has an empty question or sql",
                    path.display(),
                    n + 1
                )));
            }
        }
        let count = entries.len();
        for (n, entry) in entries.into_iter().enumerate() {
            let id = entry.id.unwrap_or_else(|| format!("golden:{stem}:{}", n + 1));
            let mut item = KnowledgeItem::golden(id, entry.question.trim(), entry.sql.trim());
            item.text = entry.notes.unwrap_or_default();
            self.items.push(item.with_source(path.display().to_string()));
        }
        Ok(count)
    }

    /// Adds a Markdown (`.md`, `.markdown`) or plain-text document; returns how many sections.
    ///
    /// Ids are `doc:<file name>#<n>` (1-based section number), stable while the file's
    /// structure does not change.
    pub fn add_doc_file(&mut self, path: impl AsRef<Path>) -> Result<usize> {
        let path = path.as_ref();
        let text = std::fs::read_to_string(path)?;
        let name = path.file_name().map(|n| n.to_string_lossy().into_owned()).unwrap_or_default();
        let markdown = matches!(extension(path).as_str(), "md" | "markdown");
        let sections = if markdown { split_markdown(&text) } else { vec![(file_stem(path), text)] };
        let mut count = 0;
        for (title, body) in sections {
            for chunk in split_long(&body, MAX_SECTION_CHARS) {
                count += 1;
                let item = KnowledgeItem::doc(format!("doc:{name}#{count}"), title.clone(), chunk);
                self.items.push(item.with_source(path.display().to_string()));
            }
        }
        Ok(count)
    }

    /// Adds every `.md`, `.markdown` and `.txt` file of a directory (not recursive), in name
    /// order; returns how many sections.
    pub fn add_docs_dir(&mut self, dir: impl AsRef<Path>) -> Result<usize> {
        let mut paths: Vec<_> = std::fs::read_dir(dir.as_ref())?
            .filter_map(|entry| entry.ok().map(|e| e.path()))
            .filter(|p| p.is_file() && matches!(extension(p).as_str(), "md" | "markdown" | "txt"))
            .collect();
        paths.sort();
        let mut count = 0;
        for path in paths {
            count += self.add_doc_file(&path)?;
        }
        Ok(count)
    }

    /// Adds one item per data-dictionary table.
    pub fn add_dictionary(&mut self, dictionary: &Dictionary) -> &mut Self {
        self.items.extend(dictionary.knowledge_items());
        self
    }

    /// A BM25 retriever over the items.
    pub fn retriever(&self) -> Bm25Retriever {
        Bm25Retriever::new(self.items.clone())
    }
}

fn extension(path: &Path) -> String {
    path.extension().map(|e| e.to_string_lossy().to_ascii_lowercase()).unwrap_or_default()
}

fn file_stem(path: &Path) -> String {
    path.file_stem().map(|s| s.to_string_lossy().into_owned()).unwrap_or_default()
}

/// `(heading path, body)` per section; text before the first heading is titled by nothing.
/// Sections with an empty body are dropped; the heading path (`Guide > Revenue`) keeps context.
fn split_markdown(text: &str) -> Vec<(String, String)> {
    let mut sections = Vec::new();
    let mut path: Vec<(usize, String)> = Vec::new();
    let mut body = String::new();
    let mut in_fence = false;
    let title = |path: &[(usize, String)]| path.iter().map(|(_, h)| h.as_str()).collect::<Vec<_>>().join(" > ");
    for line in text.lines() {
        let trimmed = line.trim_start();
        if trimmed.starts_with("```") || trimmed.starts_with("~~~") {
            in_fence = !in_fence;
        }
        let level = trimmed.chars().take_while(|c| *c == '#').count();
        let is_heading = !in_fence && (1..=6).contains(&level) && trimmed[level..].starts_with(' ');
        if is_heading {
            if !body.trim().is_empty() {
                sections.push((title(&path), body.trim().to_string()));
            }
            body.clear();
            path.retain(|(l, _)| *l < level);
            path.push((level, trimmed[level..].trim().trim_end_matches('#').trim().to_string()));
        } else {
            body.push_str(line);
            body.push('\n');
        }
    }
    if !body.trim().is_empty() {
        sections.push((title(&path), body.trim().to_string()));
    }
    sections
}

/// Splits text at blank lines into chunks of at most about `max_chars` (a single longer
/// paragraph stays whole rather than being cut mid-sentence).
fn split_long(text: &str, max_chars: usize) -> Vec<String> {
    let mut chunks = Vec::new();
    let mut current = String::new();
    for para in text.split("\n\n").map(str::trim).filter(|p| !p.is_empty()) {
        if !current.is_empty() && current.len() + para.len() + 2 > max_chars {
            chunks.push(std::mem::take(&mut current));
        }
        if !current.is_empty() {
            current.push_str("\n\n");
        }
        current.push_str(para);
    }
    if !current.is_empty() {
        chunks.push(current);
    }
    chunks
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn markdown_splits_by_heading_with_paths_and_ignores_fenced_hashes() {
        let md = "Intro text.\n\n# Sales\nRevenue is net.\n## Refunds\nNegative totals.\n```sh\n# not a heading\n```\n# Empty\n# HR\nStaff.\n";
        let s = split_markdown(md);
        let titles: Vec<&str> = s.iter().map(|(t, _)| t.as_str()).collect();
        assert_eq!(titles, vec!["", "Sales", "Sales > Refunds", "HR"]);
        assert!(s[2].1.contains("# not a heading"));
    }

    #[test]
    fn long_text_splits_at_paragraphs() {
        let text = format!("{}\n\n{}\n\n{}", "a".repeat(60), "b".repeat(60), "c".repeat(10));
        let chunks = split_long(&text, 100);
        assert_eq!(chunks.len(), 2);
        assert!(chunks[1].starts_with('b') && chunks[1].ends_with('c'));
        assert_eq!(split_long("one\n\n\n\n", 100), vec!["one".to_string()]);
    }
}
