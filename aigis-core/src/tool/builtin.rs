//! The built-in tools: `ask_database`, `run_sql`, `describe_schema`, `make_chart`.

use std::sync::Arc;

use async_trait::async_trait;
use futures::StreamExt;
use schemars::JsonSchema;
use serde::Deserialize;
use serde_json::{Value, json};

use super::{Tool, ToolContext, ToolOutput};
use crate::chart::{auto_chart, validate_spec};
use crate::connection::{ColumnInfo, QueryResult};
use crate::engine::{AskMode, AskRequest, ExecutedQuery};
use crate::event::Event;
use crate::schema_prompt::render_schema;
use crate::{Error, Result};

/// Rows handed back to the model at most (the full result goes to the event stream).
const ROWS_FOR_MODEL: usize = 20;

/// All built-in tools.
pub fn builtin_tools() -> Vec<Arc<dyn Tool>> {
    vec![Arc::new(AskDatabase), Arc::new(RunSql), Arc::new(DescribeSchema), Arc::new(MakeChart)]
}

fn schema_of<T: JsonSchema>() -> Value {
    serde_json::to_value(schemars::schema_for!(T)).unwrap_or(Value::Null)
}

fn parse_args<T: for<'de> Deserialize<'de>>(tool: &str, args: Value) -> Result<T> {
    serde_json::from_value(args).map_err(|e| Error::InvalidInput(format!("bad arguments for {tool}: {e}")))
}

fn rows_for_model(columns: &[String], rows: &[Vec<Value>], row_count: u64) -> Value {
    json!({"columns": columns, "rows": rows.iter().take(ROWS_FOR_MODEL).collect::<Vec<_>>(), "row_count": row_count})
}

/// Arguments of `ask_database`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct AskDatabaseArgs {
    /// The question to answer with one SQL query.
    pub question: String,
}

/// Writes SQL for a question (guarded, repaired) and runs it: seed 001's `ask_database`.
pub struct AskDatabase;

#[async_trait]
impl Tool for AskDatabase {
    fn name(&self) -> &str {
        "ask_database"
    }
    fn description(&self) -> &str {
        "Answer a question about the database: writes one read-only SQL query, runs it and returns the rows."
    }
    fn parameters(&self) -> Value {
        schema_of::<AskDatabaseArgs>()
    }
    async fn call(&self, args: Value, ctx: &ToolContext) -> Result<ToolOutput> {
        let args: AskDatabaseArgs = parse_args(self.name(), args)?;
        let request = AskRequest {
            question: args.question,
            model: ctx.model.clone(),
            context: ctx.guard_context.clone(),
            mode: Some(AskMode::SqlOnly),
            ..Default::default()
        };
        let mut stream = ctx.assistant.ask_with(request);
        let mut events = Vec::new();
        while let Some(event) = stream.next().await {
            match event? {
                Event::Error { code, message } => return Err(Error::Answer { code, message }),
                e @ (Event::Sql { .. } | Event::Guard { .. } | Event::Rows { .. }) => events.push(e),
                _ => {}
            }
        }
        let sql = events.iter().rev().find_map(|e| match e {
            Event::Guard { allowed: true, sql, .. } => Some(sql.clone()),
            _ => None,
        });
        let (Some(sql), Some(Event::Rows { columns, rows, row_count, truncated })) =
            (sql, events.iter().rev().find(|e| matches!(e, Event::Rows { .. })).cloned())
        else {
            return Err(Error::Internal("ask_database ended without rows".into()));
        };
        let result = QueryResult {
            columns: columns.iter().map(|c| ColumnInfo { name: c.clone(), data_type: String::new() }).collect(),
            rows: rows.clone(),
            row_count,
            truncated,
        };
        ctx.record_result(ExecutedQuery { sql, result });
        Ok(ToolOutput { content: rows_for_model(&columns, &rows, row_count), events })
    }
}

/// Arguments of `run_sql`.
#[derive(Debug, Deserialize, JsonSchema)]
pub struct RunSqlArgs {
    /// One read-only SELECT statement.
    pub sql: String,
}

/// Runs SQL the model wrote, through the guard.
pub struct RunSql;

#[async_trait]
impl Tool for RunSql {
    fn name(&self) -> &str {
        "run_sql"
    }
    fn description(&self) -> &str {
        "Run one read-only SELECT statement (checked by the guard) and return the rows."
    }
    fn parameters(&self) -> Value {
        schema_of::<RunSqlArgs>()
    }
    async fn call(&self, args: Value, ctx: &ToolContext) -> Result<ToolOutput> {
        let args: RunSqlArgs = parse_args(self.name(), args)?;
        let verdict = ctx.assistant.guard().check(&args.sql, &ctx.guard_context);
        let mut events = vec![Event::Guard {
            allowed: verdict.allowed,
            sql: verdict.sql.clone().unwrap_or_default(),
            violations: verdict.violations.clone(),
        }];
        let guarded = match verdict.into_result() {
            Ok(g) => g,
            Err(Error::Rejected { violations }) => {
                return Ok(ToolOutput { content: json!({"rejected": violations}), events });
            }
            Err(other) => return Err(other),
        };
        let result = ctx.assistant.connection().execute(&guarded, &ctx.assistant.config().exec_limits).await?;
        let columns = result.column_names();
        let content = rows_for_model(&columns, &result.rows, result.row_count);
        events.push(Event::Rows { columns, rows: result.rows.clone(), row_count: result.row_count, truncated: result.truncated });
        ctx.record_result(ExecutedQuery { sql: guarded.sql().to_string(), result });
        Ok(ToolOutput { content, events })
    }
}

/// Arguments of `describe_schema`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct DescribeSchemaArgs {
    /// What the description is for (used to pick relevant tables when the schema is large).
    #[serde(default)]
    pub topic: Option<String>,
}

/// Describes the tables, columns and keys.
pub struct DescribeSchema;

#[async_trait]
impl Tool for DescribeSchema {
    fn name(&self) -> &str {
        "describe_schema"
    }
    fn description(&self) -> &str {
        "Describe the database's tables, columns and keys."
    }
    fn parameters(&self) -> Value {
        schema_of::<DescribeSchemaArgs>()
    }
    async fn call(&self, args: Value, ctx: &ToolContext) -> Result<ToolOutput> {
        let args: DescribeSchemaArgs = if args.is_null() { DescribeSchemaArgs::default() } else { parse_args(self.name(), args)? };
        let schema = ctx.assistant.schema().await?;
        let text = render_schema(&schema, args.topic.as_deref().unwrap_or(""), ctx.assistant.config().schema_token_budget);
        Ok(ToolOutput { content: json!({"schema": text}), events: Vec::new() })
    }
}

/// Arguments of `make_chart`.
#[derive(Debug, Default, Deserialize, JsonSchema)]
pub struct MakeChartArgs {
    /// Optional Vega-Lite spec (mark + encoding over the last result's columns); omitted: chosen from the data.
    #[serde(default)]
    pub spec: Option<Value>,
    /// Optional title.
    #[serde(default)]
    pub title: Option<String>,
}

/// Draws the last result as a Vega-Lite chart (seed 001's `ask_analyst`).
pub struct MakeChart;

#[async_trait]
impl Tool for MakeChart {
    fn name(&self) -> &str {
        "make_chart"
    }
    fn description(&self) -> &str {
        "Draw the last query result as a Vega-Lite chart. Optionally give mark and encoding; fields must be result columns."
    }
    fn parameters(&self) -> Value {
        schema_of::<MakeChartArgs>()
    }
    async fn call(&self, args: Value, ctx: &ToolContext) -> Result<ToolOutput> {
        let args: MakeChartArgs = if args.is_null() { MakeChartArgs::default() } else { parse_args(self.name(), args)? };
        let result = ctx.last_result().ok_or_else(|| Error::InvalidInput("run a query before making a chart".into()))?;
        let spec = match &args.spec {
            Some(proposed) => Some(validate_spec(proposed, &result)?),
            None => auto_chart(&result, args.title.as_deref()),
        };
        match spec {
            Some(spec) => Ok(ToolOutput { content: json!({"chart": "drawn", "mark": spec["mark"]["type"]}), events: vec![Event::Chart { spec }] }),
            None => Ok(ToolOutput { content: json!({"chart": "none", "reason": "the result's shape does not call for a chart"}), events: Vec::new() }),
        }
    }
}
