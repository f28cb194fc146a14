//! `aigis ask`: one question, its events printed as they stream.

use std::io::Write;
use std::process::ExitCode;
use std::sync::Arc;
use std::time::Duration;

use aigis_core::audit::{AuditSink, BufferedSink};
use aigis_core::{AskRequest, Assistant, Event, ProviderConfig, Result, connect};
use futures::StreamExt;

use super::AskArgs;
use super::options::{exec_limits, run_policy};
use super::render::EventPrinter;

/// How long the audit trail may take to drain before the command exits.
const AUDIT_FLUSH: Duration = Duration::from_secs(10);

/// Asks the question; exits 0 on `done`, 1 on `error`, 130 when interrupted.
pub async fn run(args: AskArgs) -> Result<ExitCode> {
    // Without any model configured, `build` fails with a configuration error naming what to set.
    let mut config = ProviderConfig::from_env()?;
    if let Some(model) = &args.model {
        config.model = Some(model.clone());
    }
    let provider = config.build()?;
    let limits = exec_limits(&args.run)?;
    let audit = args.audit.as_deref().map(audit_sink).transpose()?;
    let db = connect(&args.db).await?;
    let mut builder = Assistant::builder(provider, db.clone()).policy(run_policy(&args.run, db.dialect())?).exec_limits(limits);
    if let Some(sink) = &audit {
        builder = builder.audit_sink(sink.clone() as Arc<dyn AuditSink>);
    }
    let assistant = builder.build();
    let request = AskRequest { model: args.model.clone(), ..AskRequest::new(args.question) };

    let mut events = assistant.ask_with(request);
    let mut printer = EventPrinter::default();
    // A stream that ends without a terminal event is a failure too.
    let mut code = ExitCode::from(1);
    loop {
        let next = tokio::select! {
            next = events.next() => next,
            _ = tokio::signal::ctrl_c() => {
                // Dropping the stream cancels the LLM request and the database query.
                drop(events);
                eprintln!("aigis: interrupted");
                code = ExitCode::from(130);
                break;
            }
        };
        let event = match next {
            None => break,
            Some(Ok(event)) => event,
            Some(Err(err)) => Event::from_error(&err),
        };
        let stdout = std::io::stdout();
        let mut out = stdout.lock();
        if args.json {
            writeln!(out, "{}", serde_json::to_string(&event)?)?;
            out.flush()?;
        } else {
            printer.print(&mut out, &event)?;
        }
        match event {
            Event::Done { .. } => code = ExitCode::SUCCESS,
            Event::Error { .. } => code = ExitCode::from(1),
            _ => {}
        }
        if event.is_terminal() {
            break;
        }
    }
    if let Some(sink) = audit {
        finish_audit(&sink).await;
    }
    Ok(code)
}

/// `--audit` takes a path (written as JSON lines) or any `aigis_core::audit::from_spec` spec.
fn audit_sink(arg: &str) -> Result<Arc<BufferedSink>> {
    let is_spec = arg.starts_with("jsonl:") || arg == "tracing" || arg.contains("://") || arg.starts_with("sqlite:");
    if is_spec { aigis_core::audit::from_spec(arg) } else { aigis_core::audit::from_spec(&format!("jsonl:{arg}")) }
}

/// Waits for the audit trail to be written; says so on stderr when records were lost.
async fn finish_audit(sink: &BufferedSink) {
    match tokio::time::timeout(AUDIT_FLUSH, sink.flush()).await {
        Ok(Ok(())) => {}
        Ok(Err(err)) => eprintln!("aigis: audit flush failed: {}", err.user_message()),
        Err(_) => eprintln!("aigis: audit trail still has {} unwritten records after {AUDIT_FLUSH:?}", sink.pending()),
    }
    if sink.dropped() > 0 {
        eprintln!("aigis: {} audit records could not be written (logged as errors)", sink.dropped());
    }
}
