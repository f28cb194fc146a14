//! `aigis serve` and `aigis demo`: the HTTP server, optionally over the generated demo database.

use std::net::SocketAddr;
use std::process::ExitCode;

use aigis_core::{Error, Result};
use aigis_http::ServeOptions;

use super::{DemoArgs, ServeArgs};

/// Serves the HTTP API until interrupted (Ctrl-C or SIGTERM, then a graceful shutdown).
pub async fn serve(args: ServeArgs) -> Result<ExitCode> {
    start_server(args.addr, args.db).await
}

/// Creates the demo database when missing, then serves it as the default connection.
pub async fn demo(args: DemoArgs) -> Result<ExitCode> {
    let path = args.path.unwrap_or_else(aigis_core::demo::default_demo_path);
    let path = std::path::absolute(&path)?;
    let existed = path.exists();
    aigis_core::demo::ensure_demo_database(&path).await?;
    let verb = if existed { "using" } else { "created" };
    eprintln!("aigis: {verb} the demo database {}", path.display());
    eprintln!(
        "aigis: try  curl -N -X POST http://{}/v1/ask -H 'content-type: application/json' \
         -d '{{\"question\": \"How many orders per store?\"}}'",
        args.addr
    );
    start_server(args.addr, Some(format!("sqlite://{}", path.display()))).await
}

async fn start_server(addr: SocketAddr, default_db: Option<String>) -> Result<ExitCode> {
    let options = ServeOptions { default_db, ..ServeOptions::new(addr) };
    eprintln!("aigis: serving on http://{addr}");
    aigis_http::serve(options).await.map_err(|err| match err.downcast::<Error>() {
        Ok(err) => err,
        // Binding the address or a start-up check failed; the server's message says which.
        Err(err) => Error::Config(format!("{err:#}")),
    })?;
    Ok(ExitCode::SUCCESS)
}
