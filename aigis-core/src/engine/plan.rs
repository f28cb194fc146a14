//! Multi-step plans (seed 004): the model proposes up to K read-only queries; each is guarded
//! and executed as its own step with its own events, and the answer synthesises them all.

use serde::Deserialize;
use serde_json::{Value, json};

use super::prompt;
use super::run::Run;
use crate::engine::extract::extract_sql;
use crate::event::{Event, Stage};
use crate::provider::ChatMessage;
use crate::{Error, Result};

#[derive(Debug, Deserialize)]
struct Plan {
    steps: Vec<PlanStep>,
}

#[derive(Debug, Deserialize)]
struct PlanStep {
    #[serde(default)]
    purpose: String,
    sql: String,
}

/// Plans, then runs each step; returns the audit detail.
pub(super) async fn run_plan(run: &mut Run) -> Result<Value> {
    let max_steps = run.assistant.inner.config.plan_max_queries.max(1);
    let max_repairs = run.assistant.inner.config.max_repairs;
    run.emit(Event::status(Stage::Plan, format!("planning up to {max_steps} queries"))).await?;
    let mut messages = run.messages().to_vec();
    messages.push(ChatMessage::user(format!(
        "Plan how to answer with at most {max_steps} read-only queries. Reply with JSON only: \
         {{\"steps\": [{{\"purpose\": \"what this query finds\", \"sql\": \"SELECT …\"}}]}}"
    )));
    let reply = run.chat(messages.clone(), &[], false).await?.content;
    let steps = parse_plan(&reply, max_steps);
    if steps.is_empty() {
        return Err(Error::Answer { code: "no_sql".into(), message: "the plan contained no SQL query".into() });
    }
    messages.push(ChatMessage::assistant(reply));
    let total = steps.len();
    let mut outcomes = Vec::new();
    for (i, step) in steps.into_iter().enumerate() {
        run.emit(Event::status(Stage::Plan, format!("step {}/{total}: {}", i + 1, step.purpose))).await?;
        let mut sql = step.sql;
        let mut attempt = 1;
        let outcome = loop {
            run.emit(Event::Sql { sql: sql.clone(), attempt }).await?;
            let (guarded, _) = run.guard_sql(&sql).await?;
            let failure = match guarded {
                Ok(g) => match run.execute(&g).await? {
                    Ok(rows) => break json!({"step": i + 1, "sql_executed": g.sql(), "rows": rows}),
                    Err(f) => f,
                },
                Err(f) => f,
            };
            if attempt > max_repairs {
                run.emit(Event::status(Stage::Plan, format!("step {} skipped: {}", i + 1, failure.message))).await?;
                break json!({"step": i + 1, "error": failure.message});
            }
            run.emit(Event::status(Stage::Repair, format!("repairing step {}: {}", i + 1, failure.message))).await?;
            messages.push(prompt::repair_message(&format!("step {} ({sql}): {}", i + 1, failure.message)));
            let reply = run.chat(messages.clone(), &[], false).await?.content;
            messages.push(ChatMessage::assistant(reply.clone()));
            sql = extract_sql(&reply).unwrap_or_default();
            attempt += 1;
        };
        outcomes.push(outcome);
    }
    if run.results().is_empty() {
        return Err(Error::Answer { code: "plan_failed".into(), message: "no step of the plan could be run".into() });
    }
    Ok(json!({"steps": outcomes}))
}

/// Reads the plan leniently: JSON anywhere in the reply, else one SQL query as a single step.
fn parse_plan(reply: &str, max_steps: usize) -> Vec<PlanStep> {
    let json_part = match (reply.find('{'), reply.rfind('}')) {
        (Some(a), Some(b)) if a < b => &reply[a..=b],
        _ => "",
    };
    let mut steps = match serde_json::from_str::<Plan>(json_part) {
        Ok(plan) => plan.steps.into_iter().filter(|s| !s.sql.trim().is_empty()).collect(),
        Err(_) => extract_sql(reply).map(|sql| vec![PlanStep { purpose: "answer the question".into(), sql }]).unwrap_or_default(),
    };
    steps.truncate(max_steps);
    steps
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn parses_json_plans_and_falls_back_to_sql() {
        let reply = "Here:\n{\"steps\": [{\"purpose\": \"a\", \"sql\": \"SELECT 1\"}, {\"purpose\": \"b\", \"sql\": \"SELECT 2\"}, {\"sql\": \"SELECT 3\"}]}";
        let steps = parse_plan(reply, 2);
        assert_eq!(steps.len(), 2);
        assert_eq!(steps[1].sql, "SELECT 2");
        let fallback = parse_plan("```sql\nSELECT 9\n```", 3);
        assert_eq!(fallback[0].sql, "SELECT 9");
        assert!(parse_plan("no idea", 3).is_empty());
    }
}
