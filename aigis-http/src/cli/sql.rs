//! `aigis sql` (guarded SQL, read-only) and `aigis schema` (introspection).

use std::io::Write;
use std::process::ExitCode;

use aigis_core::connection::TableKind;
use aigis_core::{Event, Guard, GuardContext, IntrospectOptions, Result, Schema, connect};

use super::options::{exec_limits, run_policy};
use super::render::{EventPrinter, table};
use super::{SchemaArgs, SqlArgs};

/// Guards the SQL for the database's dialect, then runs it read-only when allowed.
///
/// Output, text or `--json` lines, uses the event shapes of `aigis ask`: a `guard` event, then
/// `rows` or `error`. Exits 1 on a rejection or a database error.
pub async fn run_sql(args: SqlArgs) -> Result<ExitCode> {
    let limits = exec_limits(&args.run)?;
    let db = connect(&args.db).await?;
    let guard = Guard::new(run_policy(&args.run, db.dialect())?);
    let verdict = guard.check(&args.sql, &GuardContext::default());
    let mut out = Output { json: args.json, printer: EventPrinter::default() };
    out.event(&Event::Guard {
        allowed: verdict.allowed,
        sql: verdict.sql.clone().unwrap_or_default(),
        violations: verdict.violations.clone(),
    })?;
    if !args.json {
        for note in &verdict.notes {
            println!("note [{}]: {}", note.code, note.message);
        }
    }
    let Some(guarded) = verdict.guarded() else {
        return Ok(ExitCode::from(1));
    };
    match db.execute(guarded, &limits).await {
        Ok(result) => {
            out.event(&Event::Rows {
                columns: result.column_names(),
                rows: result.rows,
                row_count: result.row_count,
                truncated: result.truncated,
            })?;
            Ok(ExitCode::SUCCESS)
        }
        Err(err) => {
            out.event(&Event::from_error(&err))?;
            Ok(ExitCode::from(1))
        }
    }
}

/// Prints the introspected schema, as text or as the core `Schema` JSON.
pub async fn run_schema(args: SchemaArgs) -> Result<ExitCode> {
    let db = connect(&args.db).await?;
    let schema = db.introspect(&IntrospectOptions::default()).await?;
    if args.json {
        println!("{}", serde_json::to_string_pretty(&schema)?);
    } else {
        print!("{}", describe(&schema));
    }
    Ok(ExitCode::SUCCESS)
}

/// Events as text or JSON lines.
struct Output {
    json: bool,
    printer: EventPrinter,
}

impl Output {
    fn event(&mut self, event: &Event) -> Result<()> {
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if self.json {
            writeln!(out, "{}", serde_json::to_string(event)?)?;
        } else {
            self.printer.print(&mut out, event)?;
        }
        Ok(())
    }
}

/// The schema as text: each table with its columns, then its keys.
fn describe(schema: &Schema) -> String {
    let mut out = format!("{} tables and views ({})\n", schema.tables.len(), schema.dialect);
    for t in &schema.tables {
        let kind = if t.kind == TableKind::View { "view" } else { "table" };
        let estimate = t.row_estimate.map(|n| format!(", ~{n} rows")).unwrap_or_default();
        out.push_str(&format!("\n{} ({kind}{estimate})\n", t.qualified_name()));
        if let Some(comment) = &t.comment {
            out.push_str(&format!("  -- {comment}\n"));
        }
        let rows: Vec<Vec<serde_json::Value>> = t
            .columns
            .iter()
            .map(|c| {
                let mut flags = Vec::new();
                if t.primary_key.iter().any(|k| k == &c.name) {
                    flags.push("PK");
                }
                if !c.nullable {
                    flags.push("NOT NULL");
                }
                vec![c.name.clone().into(), c.data_type.clone().into(), flags.join(" ").into()]
            })
            .collect();
        for line in table(&["column".into(), "type".into(), "".into()], &rows).lines() {
            out.push_str(&format!("  {line}\n"));
        }
        for fk in &t.foreign_keys {
            out.push_str(&format!(
                "  FK ({}) → {}({})\n",
                fk.columns.join(", "),
                fk.referred_table,
                fk.referred_columns.join(", ")
            ));
        }
    }
    out
}
