//! The live Chinook SQLite schema (11 tables, introspected with sample rows), enriched by a data
//! dictionary and rendered under a budget too small for all of it: each question gets the tables
//! it needs, PII sample values stay out, and dictionary entries are retrievable knowledge.
//! Skips with a printed reason when `../shared/data/chinook` is absent.

#![cfg(feature = "sqlite")]
#![allow(clippy::unwrap_used, clippy::expect_used)]

mod common;

use aigis_core::connection::IntrospectOptions;
use aigis_core::dictionary::Dictionary;
use aigis_core::knowledge::{KnowledgeBase, Retriever};
use aigis_core::{RenderOptions, SchemaRenderer, connect};

const TRACK: &str = r#"version: 1
table: Track
title: Songs
description: Every song sold by the store
columns:
  - name: Milliseconds
    description: Song length
    synonyms: [duration, length]
  - name: UnitPrice
    description: Price of one download
"#;

const CUSTOMER: &str = r#"version: 1
table: Customer
title: Clients
description: People who bought music
columns:
  - name: Email
    description: E-mail address
    pii: true
  - name: SupportRepId
    description: The employee who looks after the client
    synonyms: [account manager]
"#;

#[tokio::test]
async fn a_budgeted_prompt_keeps_the_tables_each_question_needs() {
    let Some(dir) = common::chinook_dir() else { return };
    let db = connect(&format!("sqlite://{}", dir.join("Chinook_Sqlite.sqlite").display())).await.unwrap();
    let options = IntrospectOptions { sample_rows: 3, value_truncate: 40, ..Default::default() };
    let schema = db.introspect(&options).await.unwrap();
    assert_eq!(schema.tables.len(), 11);

    let dict_dir = tempfile::tempdir().unwrap();
    std::fs::write(dict_dir.path().join("Track.yml"), TRACK).unwrap();
    std::fs::write(dict_dir.path().join("Customer.yml"), CUSTOMER).unwrap();
    let dict = Dictionary::load_dir(dict_dir.path()).unwrap();
    let (schema, warnings) = dict.merged(schema);
    assert!(warnings.is_empty(), "{warnings:?}");

    let renderer = SchemaRenderer::new(RenderOptions::default().budget_tokens(700));
    let prepared = renderer.prepare(&schema);
    assert!(prepared.full_tokens() > 700, "the budget must force a selection");
    let cases: [(&str, &[&str]); 4] = [
        ("Which genre has the longest average duration?", &["Track", "Genre"]),
        ("Who is the account manager of the most clients?", &["Customer", "Employee"]),
        ("Revenue per billing country", &["Invoice"]),
        ("Tracks in the most playlists", &["Track", "Playlist"]),
    ];
    for (question, needed) in cases {
        let r = prepared.render(question);
        assert!(r.selected && r.tokens <= 700, "{question}: {} tokens", r.tokens);
        for table in needed {
            assert!(r.tables.iter().any(|t| t == table), "{question}: {table} missing from {:?}", r.tables);
        }
        if let Some(start) = r.text.find("TABLE Customer (") {
            let block = &r.text[start..start + r.text[start..].find("\n)\n").unwrap()];
            assert!(block.contains("Email NVARCHAR(60) NOT NULL [PII], -- E-mail address\n"), "{block}");
            assert!(!block.contains('@'), "PII e-mail samples never reach the prompt: {block}");
        }
    }

    let mut kb = KnowledgeBase::new();
    kb.add_dictionary(&dict);
    let hits = kb.retriever().retrieve("longest duration", 1).await.unwrap();
    assert_eq!(hits[0].item.id, "dict:Track");
}
