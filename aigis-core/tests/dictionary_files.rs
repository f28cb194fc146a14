//! The data dictionary read from a directory of YAML files and merged onto a Chinook-shaped
//! schema: descriptions and synonyms reach the prompt, stale entries are reported, PII is listed
//! and its values kept out of the prompt.

#![allow(clippy::unwrap_used, clippy::expect_used)]

use std::fs;

use aigis_core::connection::{Column, ForeignKey, Schema, Table};
use aigis_core::dictionary::{Dictionary, PiiColumn, schema_pii_columns};
use aigis_core::{Error, RenderOptions, SchemaRenderer};
use serde_json::json;

fn col(name: &str, ty: &str) -> Column {
    Column { name: name.into(), data_type: ty.into(), nullable: true, ..Default::default() }
}

fn chinook() -> Schema {
    let fk = |c: &str, t: &str, r: &str| ForeignKey {
        columns: vec![c.into()],
        referred_table: t.into(),
        referred_columns: vec![r.into()],
        ..Default::default()
    };
    let customers = Table {
        name: "Customer".into(),
        columns: vec![col("CustomerId", "INTEGER"), col("FirstName", "NVARCHAR(40)"), col("Email", "NVARCHAR(60)"), col("Country", "NVARCHAR(40)")],
        primary_key: vec!["CustomerId".into()],
        sample_rows: vec![vec![json!(1), json!("Luís"), json!("luisg@embraer.com.br"), json!("Brazil")]],
        ..Default::default()
    };
    let invoices = Table {
        name: "Invoice".into(),
        columns: vec![col("InvoiceId", "INTEGER"), col("CustomerId", "INTEGER"), col("Total", "NUMERIC(10,2)")],
        primary_key: vec!["InvoiceId".into()],
        foreign_keys: vec![fk("CustomerId", "Customer", "CustomerId")],
        ..Default::default()
    };
    Schema { tables: vec![customers, invoices], ..Default::default() }
}

const CUSTOMER_YML: &str = r#"version: 1
table: Customer
title: Customers
description: People who bought music from the store
columns:
  - name: CustomerId
    description: Customer identifier
    type: integer
    synonyms: [client id, buyer id]
    pii: false
  - name: Email
    description: Contact e-mail
    type: text
    pii: true
  - name: Fax
    description: Removed in 2019
"#;

const INVOICE_YML: &str = r#"version: 1
table: Invoice
title: Invoices
description: One row per sale
columns:
  - name: Total
    description: Amount charged, in USD
    synonyms: [revenue, sales amount]
"#;

#[test]
fn a_directory_of_yaml_files_enriches_the_schema_and_reports_stale_entries() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("Customer.yml"), CUSTOMER_YML).unwrap();
    fs::write(dir.path().join("Invoice.yaml"), INVOICE_YML).unwrap();
    fs::write(dir.path().join("Gone.yml"), "version: 1\ntable: Gone\n").unwrap();
    fs::write(dir.path().join("README.md"), "not a dictionary").unwrap();

    let dict = Dictionary::load_dir(dir.path()).unwrap();
    assert_eq!(dict.tables.iter().map(|t| t.table.as_str()).collect::<Vec<_>>(), vec!["Customer", "Gone", "Invoice"]);
    let (schema, warnings) = dict.merged(chinook());

    let mut stale: Vec<String> =
        warnings.iter().map(|w| format!("{}.{}", w.table, w.column.as_deref().unwrap_or("*"))).collect();
    stale.sort();
    assert_eq!(stale, vec!["Customer.Fax", "Gone.*"]);

    assert_eq!(dict.pii_columns(), vec![PiiColumn { table: "Customer".into(), column: "Email".into() }]);
    assert_eq!(schema_pii_columns(&schema), dict.pii_columns());

    let text = SchemaRenderer::new(RenderOptions::default()).render(&schema, "revenue by client").text;
    assert!(text.contains("-- Customers: People who bought music from the store"));
    assert!(text.contains("Total NUMERIC(10,2) -- Amount charged, in USD; also: revenue, sales amount"));
    assert!(text.contains("Email NVARCHAR(60) [PII]"));
    assert!(!text.contains("embraer"), "PII sample values stay out of prompts");
    assert!(text.contains("'Brazil'"), "other sample values are shown");
}

#[test]
fn a_malformed_file_is_a_config_error_naming_it() {
    let dir = tempfile::tempdir().unwrap();
    fs::write(dir.path().join("a_ok.yml"), INVOICE_YML).unwrap();
    fs::write(dir.path().join("b_broken.yml"), "table: Invoice\ncolumns:\n  - name: [unclosed\n").unwrap();
    let err = Dictionary::load_dir(dir.path()).unwrap_err();
    assert!(matches!(err, Error::Config(_)), "{err:?}");
    assert!(err.to_string().contains("b_broken.yml"), "{err}");
    assert_eq!(err.code(), "config");
    assert!(matches!(Dictionary::load_dir(dir.path().join("missing")), Err(Error::Config(m)) if m.contains("missing")));
}
