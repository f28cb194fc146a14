//! `POST /v1/threads/{id}/messages`: one question (or `/sql …`) answered as SSE and persisted.
//!
//! The answer runs in its own task that forwards events to the response. When the answer ends,
//! or the client disconnects (a send fails), the task stops the engine and saves both messages in
//! one transaction before the response stream closes, so the thread is never half-written and
//! graceful shutdown waits for the save.

use std::time::Instant;

use aigis_core::{Event, Turn, Usage};
use axum::extract::{Path, State};
use axum::response::Response;
use futures::StreamExt;
use serde::Deserialize;
use tokio::sync::mpsc;

use super::owned;
use crate::error::ApiError;
use crate::server::AppState;
use crate::server::answer::{assistant_for, keyed_connection_for, policy_for};
use crate::server::auth::AuthUser;
use crate::server::routes::{ApiJson, run_sql};
use crate::server::sse::{events_of, sse_response};
use crate::server::store::threads::Exchange;
use crate::server::store::users::UserRow;

/// Rows kept per `rows` event in the stored thread.
pub const ROWS_PREVIEW: usize = 50;
/// Earlier exchanges given to the model as context.
const HISTORY_TURNS: usize = 5;
/// Longest message accepted, in characters.
const MAX_TEXT: usize = 8000;

/// Body of a message.
#[derive(Deserialize)]
#[serde(deny_unknown_fields)]
pub struct MessageBody {
    text: String,
    connection_id: Option<String>,
}

pub(super) async fn post_message(
    State(state): State<AppState>,
    AuthUser(user): AuthUser,
    Path(id): Path<String>,
    ApiJson(body): ApiJson<MessageBody>,
) -> Result<Response, ApiError> {
    let text = body.text.trim().to_string();
    if text.is_empty() || text.chars().count() > MAX_TEXT {
        return Err(ApiError::bad_request(format!("`text` must have 1 to {MAX_TEXT} characters")));
    }
    let direct = text.strip_prefix("/sql ").map(str::trim);
    // The earlier turns are read beside the ownership check (and dropped if it fails): one
    // store round trip less before the stream starts.
    let (thread, turns) = match direct {
        Some(_) => (owned(&state, &user.id, &id).await?, Vec::new()),
        None => tokio::try_join!(owned(&state, &user.id, &id), history(&state, &id))?,
    };
    let connection_id = body.connection_id.or(thread.connection_id.clone());
    let (conn_key, conn) = keyed_connection_for(&state, Some(&user), connection_id.as_deref()).await?;
    tracing::info!(thread_id = %thread.id, preview = %preview(&text), "message");

    let events: aigis_core::EventStream = if let Some(sql) = direct {
        let answer = direct_sql(&state, &user, conn.as_ref(), sql).await;
        Box::pin(futures::stream::iter(answer.into_iter().map(Ok)))
    } else {
        let (assistant, mut request) = assistant_for(&state, Some(&user), &conn_key, conn, text.clone(), thread.model.clone()).await?;
        request.history = turns;
        assistant.ask_with(request)
    };

    let (tx, rx) = mpsc::channel::<Event>(32);
    let store = state.store().clone();
    let thread_id = thread.id.clone();
    tokio::spawn(async move {
        let mut recorded = Vec::new();
        let mut events = Box::pin(events_of(events));
        let mut disconnected = false;
        while let Some(event) = events.next().await {
            record(&mut recorded, &event);
            if tx.send(event).await.is_err() {
                // The client went away: dropping `events` below stops the model and the query.
                disconnected = true;
                break;
            }
        }
        drop(events);
        let (answer, sql, status) = summary(&recorded, disconnected);
        let stored = serde_json::Value::Array(recorded.iter().filter_map(|e| serde_json::to_value(e).ok()).collect());
        let ex = Exchange { question: &text, answer: &answer, sql: sql.as_deref(), status, events: &stored };
        if let Err(e) = store.save_exchange(&thread_id, ex).await {
            tracing::error!(thread_id = %thread_id, cause = %e, "saving the exchange failed");
        }
        // `tx` drops here: only now does the response stream end.
    });
    let stream = futures::stream::unfold(rx, |mut rx| async move { rx.recv().await.map(|e| (e, rx)) });
    Ok(sse_response(stream))
}

/// Keeps an event for the stored thread: deltas merged, rows cut to a preview.
fn record(recorded: &mut Vec<Event>, event: &Event) {
    match event {
        Event::Delta { text } => {
            if let Some(Event::Delta { text: prev }) = recorded.last_mut() {
                prev.push_str(text);
            } else {
                recorded.push(event.clone());
            }
        }
        Event::Rows { columns, rows, row_count, truncated } => recorded.push(Event::Rows {
            columns: columns.clone(),
            rows: rows.iter().take(ROWS_PREVIEW).cloned().collect(),
            row_count: *row_count,
            truncated: *truncated || rows.len() > ROWS_PREVIEW,
        }),
        other => recorded.push(other.clone()),
    }
}

/// Answer text, SQL and status of a recorded exchange.
fn summary(recorded: &[Event], disconnected: bool) -> (String, Option<String>, &'static str) {
    let mut answer = String::new();
    let mut sql = None;
    let mut status = if disconnected { "cancelled" } else { "error" };
    for e in recorded {
        match e {
            Event::Delta { text } => answer.push_str(text),
            Event::Guard { allowed: true, sql: s, .. } => sql = Some(s.clone()),
            Event::Done { answer: a, sql: s, .. } => {
                answer = a.clone();
                sql = s.clone().or(sql.take());
                status = "ok";
            }
            Event::Error { message, .. } if answer.is_empty() => answer = message.clone(),
            _ => {}
        }
    }
    (answer, sql, status)
}

/// The last exchanges of a thread as turns for the model.
async fn history(state: &AppState, thread_id: &str) -> Result<Vec<Turn>, ApiError> {
    // Two messages per exchange; one more so a stray unpaired message cannot shift the pairs.
    let mut messages = state.store().recent_messages(thread_id, 2 * HISTORY_TURNS as i64 + 1).await?;
    if messages.first().is_some_and(|m| m.role != "user") {
        messages.remove(0);
    }
    let mut turns = Vec::new();
    for pair in messages.chunks(2) {
        if let [q, a] = pair
            && q.role == "user"
            && a.role == "assistant"
            && a.status == "ok"
        {
            turns.push(Turn { question: q.content.clone(), sql: a.sql.clone(), answer: a.content.clone(), result_summary: None });
        }
    }
    let skip = turns.len().saturating_sub(HISTORY_TURNS);
    Ok(turns.split_off(skip))
}

/// Runs `/sql …` directly through the guard as the same events a question produces.
async fn direct_sql(state: &AppState, user: &UserRow, conn: &dyn aigis_core::Connection, sql: &str) -> Vec<Event> {
    let started = Instant::now();
    let mut events = vec![Event::Sql { sql: sql.to_string(), attempt: 1 }];
    let outcome = match policy_for(state, Some(user)).await {
        Ok((policy, ctx)) => run_sql(state, conn, sql, None, policy, &ctx).await,
        Err(e) => Err(e),
    };
    match outcome {
        Ok(a) => {
            events.push(Event::Guard { allowed: true, sql: a.sql.clone(), violations: Vec::new() });
            events.push(Event::Rows { columns: a.columns, rows: a.rows, row_count: a.row_count, truncated: a.truncated });
            events.push(Event::Done {
                answer: format!("{} rows", a.row_count),
                sql: Some(a.sql),
                row_count: a.row_count,
                model: String::new(),
                usage: Usage::default(),
                elapsed_ms: aigis_core::event::elapsed_ms(started),
            });
        }
        Err(e) => events.push(Event::Error { code: e.code().to_string(), message: e.public_message().to_string() }),
    }
    events
}

/// The first characters of a message, for logs.
fn preview(text: &str) -> String {
    let mut p: String = text.chars().take(60).collect();
    if text.chars().count() > 60 {
        p.push('…');
    }
    p
}
