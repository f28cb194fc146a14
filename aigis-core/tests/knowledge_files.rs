//! Knowledge loaded from files (golden queries, Markdown docs, the data dictionary), retrieved
//! per question behind `dyn Retriever` and rendered into a bounded `<data>` prompt section.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;
use std::sync::Arc;

use aigis_core::dictionary::Dictionary;
use aigis_core::knowledge::{KnowledgeBase, KnowledgeKind, Retriever, render_knowledge};
use aigis_core::Error;

const GOLDEN: &str = r#"
- question: Which country spends the most?
  sql: SELECT BillingCountry, SUM(Total) FROM Invoice GROUP BY 1 ORDER BY 2 DESC LIMIT 1
- id: top-genres
  question: Top genres by tracks sold
  sql: SELECT g.Name, COUNT(*) FROM InvoiceLine il JOIN Track t USING (TrackId) JOIN Genre g USING (GenreId) GROUP BY 1
  notes: Count invoice lines, not tracks in the catalogue.
"#;

const DOCS: &str = "# Store handbook\n\nGeneral notes.\n\n## Refunds\n\nRefunded invoices have a negative Total; exclude them when computing revenue.\n\n## Staff\n\nSupport reps are employees; customers have a SupportRepId.\n";

const DICT: &str = "version: 1\ntable: Track\ntitle: Tracks\ndescription: Songs in the catalogue\ncolumns:\n  - name: Milliseconds\n    description: Song length\n    synonyms: [duration]\n";

fn knowledge_base() -> (tempfile::TempDir, KnowledgeBase) {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("golden.yml"), GOLDEN).unwrap();
    fs::create_dir(dir.path().join("docs")).unwrap();
    fs::write(dir.path().join("docs/handbook.md"), DOCS).unwrap();
    fs::write(dir.path().join("docs/notes.txt"), "Playlists are curated by staff.").unwrap();
    fs::write(dir.path().join("docs/image.png"), [0u8, 159, 146, 150]).unwrap();
    fs::create_dir(dir.path().join("dict")).unwrap();
    fs::write(dir.path().join("dict/Track.yml"), DICT).unwrap();

    let mut kb = KnowledgeBase::new();
    assert_eq!(kb.add_golden_file(dir.path().join("golden.yml")).unwrap(), 2);
    assert_eq!(kb.add_docs_dir(dir.path().join("docs")).unwrap(), 4);
    kb.add_dictionary(&Dictionary::load_dir(dir.path().join("dict")).unwrap());
    (dir, kb)
}

#[tokio::test]
async fn questions_retrieve_the_matching_golden_doc_and_dictionary_items() {
    let (_dir, kb) = knowledge_base();
    let ids: Vec<&str> = kb.items().iter().map(|i| i.id.as_str()).collect();
    assert_eq!(
        ids,
        vec!["golden:golden:1", "top-genres", "doc:handbook.md#1", "doc:handbook.md#2", "doc:handbook.md#3", "doc:notes.txt#1", "dict:Track"]
    );
    let retriever: Arc<dyn Retriever> = Arc::new(kb.retriever());

    let hits = retriever.retrieve("What was the revenue after refunds?", 3).await.unwrap();
    assert_eq!(hits[0].item.id, "doc:handbook.md#2");
    assert_eq!(hits[0].item.title, "Store handbook > Refunds");

    let hits = retriever.retrieve("which genres sold best", 2).await.unwrap();
    assert_eq!(hits[0].item.id, "top-genres");
    assert_eq!(hits[0].item.kind, KnowledgeKind::Golden);

    let hits = retriever.retrieve("average song duration", 2).await.unwrap();
    assert_eq!(hits[0].item.id, "dict:Track");

    let hits = retriever.retrieve("How many employees support customers?", 5).await.unwrap();
    let section = render_knowledge(&hits, 400);
    assert!(section.used.contains(&"doc:handbook.md#3".to_string()));
    assert!(section.text.starts_with("<data>\n") && section.text.ends_with("</data>\n"));
    assert!(section.tokens <= 400);
}

#[test]
fn a_golden_file_with_a_bad_entry_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("golden.json");
    fs::write(&path, r#"[{"question": "q", "sql": ""}]"#).unwrap();
    let err = KnowledgeBase::new().add_golden_file(&path).unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("golden.json")), "{err}");
    fs::write(&path, r#"[{"question": "q"}]"#).unwrap();
    let err = KnowledgeBase::new().add_golden_file(&path).unwrap_err();
    assert!(matches!(&err, Error::Config(m) if m.contains("golden.json") && m.contains("sql")), "{err}");
    fs::write(&path, r#"[{"question": "Sales by year", "sql": "SELECT 1"}]"#).unwrap();
    assert_eq!(KnowledgeBase::new().add_golden_file(&path).unwrap(), 1);
}
