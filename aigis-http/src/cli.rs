//! The `aigis` command line: argument definitions (clap derive) and dispatch.
//!
//! Exit codes, for every command: `0` success; `1` the command ran and failed (an `error`
//! event, a guard rejection, a database error); `2` usage or configuration errors (bad
//! arguments, no LLM configured, an unreadable policy file, an unsupported URL).

mod ask;
mod guard;
mod options;
mod render;
mod serve;
mod sql;

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use aigis_core::{Dialect, Error};
use clap::{Args, Parser, Subcommand};

/// The governed data assistant: guarded NL→SQL over your own database.
#[derive(Debug, Parser)]
#[command(name = "aigis", version, about, long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// The subcommands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Create the demo shop database if it is missing, then serve it over HTTP.
    Demo(DemoArgs),
    /// Serve the HTTP API (`/health`, `/v1/ask` as SSE, `/v1/sql`, `/v1/guard`).
    Serve(ServeArgs),
    /// Ask a question in plain language and print the answer's events as they stream.
    Ask(AskArgs),
    /// Run SQL through the guard, then (when allowed) read-only against the database.
    Sql(SqlArgs),
    /// Print the introspected schema of a database.
    Schema(SchemaArgs),
    /// Check SQL with the guard without running it: one verdict per statement.
    ///
    /// Without SQL on the command line, reads standard input, one statement per line, and
    /// prints exactly one verdict per input line, in order — also for lines that do not
    /// parse, and for blank lines (rejected with code `empty`), so output line N always
    /// belongs to input line N. Exits 0 when every statement is allowed, 1 when any is rejected.
    Guard(GuardArgs),
}

/// Options of `aigis demo`.
#[derive(Debug, Args)]
pub struct DemoArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Where the demo SQLite database lives (created when missing); default `$AIGIS_DEMO_DB`,
    /// else `$XDG_DATA_HOME/aigis/demo.db` (`~/.local/share/aigis/demo.db`).
    #[arg(long)]
    pub path: Option<PathBuf>,
}

/// Options of `aigis serve`.
#[derive(Debug, Args)]
pub struct ServeArgs {
    /// Address to listen on.
    #[arg(long, default_value = "127.0.0.1:8080")]
    pub addr: SocketAddr,
    /// Default database for questions that name none (`sqlite://…`, `postgres://…`, `mysql://…`).
    #[arg(long, env = "AIGIS_DB")]
    pub db: Option<String>,
}

/// Limits and policy shared by the commands that run SQL.
#[derive(Debug, Args, Clone, Default)]
pub struct RunArgs {
    /// Server-side statement timeout in milliseconds.
    #[arg(long, value_name = "N")]
    pub timeout_ms: Option<u64>,
    /// Rows returned at most (the guard adds or clamps LIMIT, and execution stops there).
    #[arg(long, value_name = "N")]
    pub max_rows: Option<u64>,
    /// Guard policy file (TOML, or JSON when the name ends in `.json`).
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
}

/// Options of `aigis ask`.
#[derive(Debug, Args)]
pub struct AskArgs {
    /// Database URL (`sqlite:///abs/path.db`, `sqlite://rel.db`, `postgres://…`, `mysql://…`).
    #[arg(long, env = "AIGIS_DB")]
    pub db: String,
    /// One JSON event per line (the event schema every surface uses) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Model to use instead of `AIGIS_LLM_MODEL`.
    #[arg(long)]
    pub model: Option<String>,
    /// Write the audit trail: a JSON lines file (`FILE.jsonl` or `jsonl:FILE`), or a
    /// `postgres://` / `sqlite:` URL for the audit tables.
    #[arg(long, value_name = "FILE.jsonl")]
    pub audit: Option<String>,
    /// Limits and policy.
    #[command(flatten)]
    pub run: RunArgs,
    /// The question.
    pub question: String,
}

/// Options of `aigis sql`.
#[derive(Debug, Args)]
pub struct SqlArgs {
    /// Database URL.
    #[arg(long, env = "AIGIS_DB")]
    pub db: String,
    /// Print JSON lines (`guard` event, then `rows` or `error` event) instead of text.
    #[arg(long)]
    pub json: bool,
    /// Limits and policy.
    #[command(flatten)]
    pub run: RunArgs,
    /// The SQL to guard and run.
    pub sql: String,
}

/// Options of `aigis schema`.
#[derive(Debug, Args)]
pub struct SchemaArgs {
    /// Database URL.
    #[arg(long, env = "AIGIS_DB")]
    pub db: String,
    /// Print the schema as JSON (`{"dialect", "tables": [{"name", "columns", "primary_key", "foreign_keys", …}]}`).
    #[arg(long)]
    pub json: bool,
}

/// Options of `aigis guard`.
#[derive(Debug, Args)]
pub struct GuardArgs {
    /// Dialect to parse and render with: postgres, mysql, sqlite or generic (default: the
    /// policy file's, else generic).
    #[arg(long, value_parser = parse_dialect)]
    pub dialect: Option<Dialect>,
    /// Guard policy file (TOML, or JSON when the name ends in `.json`); `--dialect` and
    /// `--max-rows` override it.
    #[arg(long, value_name = "FILE")]
    pub policy: Option<PathBuf>,
    /// Maximum rows: LIMIT is added or clamped to this.
    #[arg(long, value_name = "N")]
    pub max_rows: Option<u64>,
    /// One verdict object per line (`{"allowed", "sql", "violations", "notes", "tables"}`).
    #[arg(long)]
    pub json: bool,
    /// The SQL to check; without it, statements are read from standard input, one per line.
    pub sql: Option<String>,
}

fn parse_dialect(s: &str) -> Result<Dialect, String> {
    s.parse::<Dialect>().map_err(|e| e.to_string())
}

/// Parses the command line, runs the command and returns the process exit code.
pub fn main() -> ExitCode {
    // clap prints usage errors itself and exits with code 2 (help and version with 0).
    let cli = Cli::parse();
    init_tracing();
    let runtime = match tokio::runtime::Builder::new_multi_thread().enable_all().build() {
        Ok(rt) => rt,
        Err(err) => {
            eprintln!("aigis: cannot start the async runtime: {err}");
            return ExitCode::from(1);
        }
    };
    match runtime.block_on(run(cli.command)) {
        Ok(code) => code,
        Err(err) => {
            eprintln!("aigis: {}", err.user_message());
            exit_code_for(&err)
        }
    }
}

async fn run(command: Command) -> aigis_core::Result<ExitCode> {
    match command {
        Command::Demo(args) => serve::demo(args).await,
        Command::Serve(args) => serve::serve(args).await,
        Command::Ask(args) => ask::run(args).await,
        Command::Sql(args) => sql::run_sql(args).await,
        Command::Schema(args) => sql::run_schema(args).await,
        Command::Guard(args) => guard::run(args).await,
    }
}

/// `2` for what the user must fix in the invocation or configuration, `1` otherwise.
fn exit_code_for(err: &Error) -> ExitCode {
    match err {
        Error::Config(_) | Error::InvalidInput(_) | Error::Unsupported(_) => ExitCode::from(2),
        _ => ExitCode::from(1),
    }
}

/// Logs go to stderr, filtered by `RUST_LOG` (default: warnings), so stdout stays parseable.
/// `AIGIS_LOG_FORMAT=json` writes one JSON object per line (with the request span's fields,
/// such as the request id) for log collectors; anything else is human-readable text.
fn init_tracing() {
    let filter = tracing_subscriber::EnvFilter::try_from_default_env()
        .unwrap_or_else(|_| tracing_subscriber::EnvFilter::new("warn"));
    let json = std::env::var("AIGIS_LOG_FORMAT").is_ok_and(|v| v.trim().eq_ignore_ascii_case("json"));
    let builder = tracing_subscriber::fmt().with_env_filter(filter).with_writer(std::io::stderr);
    let _ = if json {
        builder.json().with_current_span(true).with_span_list(false).try_init()
    } else {
        let ansi = std::io::IsTerminal::is_terminal(&std::io::stderr());
        builder.with_ansi(ansi).try_init()
    };
}
