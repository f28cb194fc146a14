//! Chinook on all three engines: the 11 tables and their foreign keys are found everywhere, and
//! the same analytical question gets the same answer. Skips with a reason when
//! `../shared/data/chinook` is absent.

#![allow(clippy::unwrap_used, clippy::expect_used)]
#![cfg(all(feature = "postgres", feature = "mysql", feature = "sqlite"))]

mod common;

use std::collections::BTreeSet;

use aigis_core::connection::{Connection, ExecLimits, IntrospectOptions, Schema};
use aigis_core::{Dialect, connect};
use common::*;

/// `InvoiceLine` and `invoice_line` both become `invoiceline`.
fn norm(name: &str) -> String {
    name.replace('_', "").to_lowercase()
}

fn fk_set(schema: &Schema) -> BTreeSet<String> {
    schema
        .tables
        .iter()
        .flat_map(|t| {
            t.foreign_keys.iter().map(move |fk| {
                format!(
                    "{}({})->{}({})",
                    norm(&t.name),
                    fk.columns.iter().map(|c| norm(c)).collect::<Vec<_>>().join(","),
                    norm(&fk.referred_table),
                    fk.referred_columns.iter().map(|c| norm(c)).collect::<Vec<_>>().join(",")
                )
            })
        })
        .collect()
}

async fn engines() -> Result<Option<Vec<(Dialect, std::sync::Arc<dyn Connection>)>>, Box<dyn std::error::Error>> {
    let Some(dir) = chinook_dir() else { return Ok(None) };
    load_chinook_postgres(dir.clone()).await?;
    load_chinook_mysql(dir.clone()).await?;
    let sqlite = format!("sqlite://{}", dir.join("Chinook_Sqlite.sqlite").display());
    Ok(Some(vec![
        (Dialect::Sqlite, connect(&sqlite).await?),
        (Dialect::Postgres, connect(PG_CHINOOK).await?),
        (Dialect::Mysql, connect(MY_CHINOOK).await?),
    ]))
}

#[tokio::test]
async fn all_tables_and_foreign_keys_on_every_engine() -> TestResult {
    let Some(engines) = engines().await? else { return Ok(()) };
    let mut fks_per_engine = Vec::new();
    for (dialect, conn) in &engines {
        let schema = conn.introspect(&IntrospectOptions { sample_rows: 2, value_truncate: 10, ..Default::default() }).await?;
        let names: BTreeSet<String> = schema.tables.iter().map(|t| norm(&t.name)).collect();
        let expected: BTreeSet<String> = [
            "album", "artist", "customer", "employee", "genre", "invoice", "invoiceline", "mediatype", "playlist",
            "playlisttrack", "track",
        ]
        .into_iter()
        .map(String::from)
        .collect();
        assert_eq!(names, expected, "{dialect}");
        let fks = fk_set(&schema);
        assert_eq!(fks.len(), 11, "{dialect}: {fks:#?}");
        let playlist_track = schema.tables.iter().find(|t| norm(&t.name) == "playlisttrack").ok_or("playlist_track")?;
        assert_eq!(playlist_track.primary_key.len(), 2, "{dialect}");
        let track = schema.tables.iter().find(|t| norm(&t.name) == "track").ok_or("track")?;
        assert_eq!(track.sample_rows.len(), 2, "{dialect}");
        if *dialect != Dialect::Sqlite {
            assert!(track.row_estimate.is_some_and(|n| n > 1000), "{dialect}: {:?}", track.row_estimate);
        }
        fks_per_engine.push(fks);
    }
    assert_eq!(fks_per_engine[0], fks_per_engine[1]);
    assert_eq!(fks_per_engine[0], fks_per_engine[2]);
    Ok(())
}

#[tokio::test]
async fn same_question_same_answer_on_every_engine() -> TestResult {
    let Some(engines) = engines().await? else { return Ok(()) };
    // "Which five genres sold the most tracks, and for how much?"
    let mut answers = Vec::new();
    for (dialect, conn) in &engines {
        let sql = match dialect {
            Dialect::Postgres => {
                "SELECT g.name, COUNT(*) AS sold, ROUND(SUM(il.unit_price * il.quantity), 2) AS revenue \
                 FROM invoice_line il JOIN track t ON t.track_id = il.track_id JOIN genre g ON g.genre_id = t.genre_id \
                 GROUP BY g.name ORDER BY sold DESC, g.name LIMIT 5"
            }
            _ => {
                "SELECT g.Name, COUNT(*) AS sold, ROUND(SUM(il.UnitPrice * il.Quantity), 2) AS revenue \
                 FROM InvoiceLine il JOIN Track t ON t.TrackId = il.TrackId JOIN Genre g ON g.GenreId = t.GenreId \
                 GROUP BY g.Name ORDER BY sold DESC, g.Name LIMIT 5"
            }
        };
        let result = conn.execute(&guarded(*dialect, sql)?, &ExecLimits::default()).await?;
        // Exact decimals come back as strings (PostgreSQL, MySQL), SQLite's REAL as a number:
        // compare in cents.
        let rows: Vec<(String, i64, i64)> = result
            .rows
            .iter()
            .map(|r| {
                let revenue = match &r[2] {
                    serde_json::Value::String(s) => s.parse::<f64>().unwrap_or(f64::NAN),
                    v => v.as_f64().unwrap_or(f64::NAN),
                };
                (r[0].as_str().unwrap_or_default().to_string(), r[1].as_i64().unwrap_or(-1), (revenue * 100.0).round() as i64)
            })
            .collect();
        println!("{dialect}: {rows:?}");
        assert!(r_is_exact_decimal(*dialect, &result.rows[0][2]), "{dialect}: {:?}", result.rows[0][2]);
        answers.push(rows);
    }
    assert_eq!(answers[0].len(), 5);
    assert_eq!(answers[0][0].0, "Rock");
    assert_eq!(answers[0], answers[1]);
    assert_eq!(answers[0], answers[2]);
    Ok(())
}

/// PostgreSQL NUMERIC and MySQL DECIMAL keep their exact digits as strings.
fn r_is_exact_decimal(dialect: Dialect, value: &serde_json::Value) -> bool {
    match dialect {
        Dialect::Sqlite => value.is_number(),
        _ => value.as_str().is_some_and(|s| s.split_once('.').is_some_and(|(_, f)| f.len() == 2)),
    }
}
