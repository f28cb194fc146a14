//! The HTTP server: options, shared state, the router and `serve`.
//!
//! Routes live in submodules: [`routes`] (health, ask, sql, guard). Every response carries an
//! `x-request-id` header and every log line of a request runs inside a span with that id.

pub mod admin;
pub mod answer;
pub mod auth;
pub mod config;
pub mod connections;
pub mod net;
pub mod openapi;
pub mod routes;
pub mod seal;
pub mod sse;
pub mod state;
pub mod store;
pub mod threads;

use std::net::SocketAddr;
use std::time::Duration;

use aigis_core::ProviderConfig;
use axum::Router;
use axum::extract::DefaultBodyLimit;
use axum::serve::ListenerExt;
use axum::http::{HeaderValue, Method, Request, header};
use tower::ServiceBuilder;
use tower_http::cors::{AllowOrigin, CorsLayer};
use tower_http::request_id::{MakeRequestUuid, PropagateRequestIdLayer, SetRequestIdLayer};
use tower_http::trace::{DefaultOnResponse, TraceLayer};

pub use state::AppState;

/// Default maximum request body (1 MiB): questions and SQL are small.
pub const DEFAULT_BODY_LIMIT: usize = 1024 * 1024;

/// How the server is started. Fields left `None` are read from the environment at start.
#[derive(Clone)]
pub struct ServeOptions {
    /// Address to listen on.
    pub addr: SocketAddr,
    /// Database URL for questions that name no connection (`aigis serve --db`).
    pub default_db: Option<String>,
    /// The server's default LLM; `None` reads `AIGIS_LLM_*` / `OPENAI_*`.
    pub llm: Option<ProviderConfig>,
    /// Largest request body accepted, in bytes.
    pub body_limit: usize,
    /// Origins allowed by CORS (`*` for any); empty: no CORS headers (same origin only).
    /// `None` reads `AIGIS_CORS_ORIGINS` (comma-separated).
    pub cors_origins: Option<Vec<String>>,
    /// How long shutdown waits for open streams before closing them.
    pub shutdown_grace: Duration,
    /// App store URL (`sqlite://…` or `postgres://…`); `None`: `AIGIS_DATABASE_URL`, else the
    /// SQLite file `AIGIS_STORE_PATH` (default `aigis-app.db`).
    pub store_url: Option<String>,
    /// `None`: `AIGIS_ENV=production`.
    pub production: Option<bool>,
    /// `None`: `AIGIS_JWT_SECRET`.
    pub jwt_secret: Option<String>,
    /// 32 bytes, base64; `None`: `AIGIS_MASTER_KEY`.
    pub master_key: Option<String>,
    /// `None`: `ADMIN_USERNAME` (default `admin`).
    pub admin_username: Option<String>,
    /// `None`: `ADMIN_PASSWORD`.
    pub admin_password: Option<String>,
    /// `None`: `AIGIS_ALLOW_REGISTRATION` (default on).
    pub allow_registration: Option<bool>,
    /// Answer `/v1/ask` and `/v1/sql` without a token; `None`: `AIGIS_ALLOW_ANONYMOUS`, else only
    /// on a loopback address outside production.
    pub allow_anonymous: Option<bool>,
    /// Models users may choose per thread besides the default, all served by the default LLM's
    /// endpoint; `None`: `AIGIS_LLM_MODELS` (comma-separated).
    pub models: Option<Vec<String>>,
    /// Named models with their own endpoint, key variable and aliases (the `[models]` table of
    /// an `aigis.toml`); `None`: the file named by `AIGIS_MODELS_FILE`, else none.
    pub model_registry: Option<aigis_core::provider::ModelRegistry>,
    /// Proxies whose `X-Forwarded-For` is believed (addresses or CIDR blocks); `None`:
    /// `AIGIS_TRUSTED_PROXIES` (comma-separated), else none, so the peer address is the client.
    pub trusted_proxies: Option<Vec<String>>,
    /// Token lifetime.
    pub token_ttl: Duration,
    /// Window of the login throttle.
    pub login_window: Duration,
    /// Failed logins per user name per window.
    pub login_max_per_user: u32,
    /// Failed logins per client address per window.
    pub login_max_per_addr: u32,
}

impl std::fmt::Debug for ServeOptions {
    // Secrets (JWT secret, master key, admin password) are never printed.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("ServeOptions")
            .field("addr", &self.addr)
            .field("default_db", &self.default_db.as_ref().map(|_| "<set>"))
            .field("body_limit", &self.body_limit)
            .field("production", &self.production)
            .finish_non_exhaustive()
    }
}

impl ServeOptions {
    /// Options with defaults for everything but the address.
    pub fn new(addr: SocketAddr) -> Self {
        Self {
            addr,
            default_db: None,
            llm: None,
            body_limit: DEFAULT_BODY_LIMIT,
            cors_origins: None,
            shutdown_grace: Duration::from_secs(60),
            store_url: None,
            production: None,
            jwt_secret: None,
            master_key: None,
            admin_username: None,
            admin_password: None,
            allow_registration: None,
            allow_anonymous: None,
            models: None,
            model_registry: None,
            trusted_proxies: None,
            token_ttl: Duration::from_secs(12 * 3600),
            login_window: Duration::from_secs(15 * 60),
            login_max_per_user: 5,
            login_max_per_addr: 20,
        }
    }

    /// Sets the default database URL.
    pub fn default_db(mut self, url: impl Into<String>) -> Self {
        self.default_db = Some(url.into());
        self
    }

    /// Sets the LLM configuration instead of reading the environment.
    pub fn llm(mut self, config: ProviderConfig) -> Self {
        self.llm = Some(config);
        self
    }
}

/// Builds the full router over a state.
pub async fn router(state: AppState) -> Router {
    let body_limit = state.body_limit();
    let cors = cors_layer(state.cors_origins());
    let api = routes::routes()
        .merge(auth::routes())
        .merge(connections::routes())
        .merge(threads::routes())
        .merge(admin::routes())
        .merge(openapi::routes())
        .with_state(state);
    let layers = ServiceBuilder::new()
        .layer(SetRequestIdLayer::x_request_id(MakeRequestUuid))
        .layer(TraceLayer::new_for_http().make_span_with(|req: &Request<_>| {
            let id = req.headers().get("x-request-id").and_then(|v| v.to_str().ok()).unwrap_or("-");
            // Only the path: query strings could carry anything.
            tracing::info_span!("request", request_id = %id, method = %req.method(), path = %req.uri().path())
        })
        // One line per request at INFO: status and latency, inside the span with its id.
        .on_response(DefaultOnResponse::new().level(tracing::Level::INFO)))
        .layer(PropagateRequestIdLayer::x_request_id());
    let mut app = api.layer(DefaultBodyLimit::max(body_limit)).layer(layers);
    if let Some(cors) = cors {
        app = app.layer(cors);
    }
    app
}

fn cors_layer(origins: &[String]) -> Option<CorsLayer> {
    if origins.is_empty() {
        return None;
    }
    let allow = if origins.iter().any(|o| o == "*") {
        AllowOrigin::any()
    } else {
        AllowOrigin::list(origins.iter().filter_map(|o| HeaderValue::from_str(o).ok()))
    };
    Some(
        CorsLayer::new()
            .allow_origin(allow)
            .allow_methods([Method::GET, Method::POST, Method::PUT, Method::PATCH, Method::DELETE])
            .allow_headers([header::AUTHORIZATION, header::CONTENT_TYPE])
            .expose_headers([header::HeaderName::from_static("x-request-id")]),
    )
}

/// Runs the server until Ctrl-C or SIGTERM; open streams may finish within the grace period.
pub async fn serve(options: ServeOptions) -> anyhow::Result<()> {
    let state = AppState::new(&options).await?;
    let listener = tokio::net::TcpListener::bind(options.addr).await?;
    serve_on(listener, state, shutdown_signal(), options.shutdown_grace).await
}

/// Serves on a bound listener until `shutdown` resolves, then stops accepting connections and
/// lets open requests and streams finish for up to `grace`.
pub async fn serve_on(
    listener: tokio::net::TcpListener,
    state: AppState,
    shutdown: impl std::future::Future<Output = ()> + Send + 'static,
    grace: Duration,
) -> anyhow::Result<()> {
    let app = router(state.clone()).await.into_make_service_with_connect_info::<SocketAddr>();
    tracing::info!(addr = %listener.local_addr()?, "aigis server listening");
    let (tx, rx) = tokio::sync::oneshot::channel::<()>();
    // Small SSE events must leave at once: with Nagle's algorithm a write waits for the
    // client's delayed ACK (40 ms on Linux) whenever an earlier segment is still unacknowledged.
    let listener = listener.tap_io(|tcp| {
        if let Err(e) = tcp.set_nodelay(true) {
            tracing::debug!(cause = %e, "TCP_NODELAY not set");
        }
    });
    let server = axum::serve(listener, app).with_graceful_shutdown(async move {
        shutdown.await;
        tracing::info!("shutting down: waiting for open streams");
        let _ = tx.send(());
    });
    let server = std::pin::pin!(server.into_future());
    tokio::select! {
        res = server => res?,
        () = async move {
            if rx.await.is_ok() {
                tokio::time::sleep(grace).await;
            } else {
                std::future::pending::<()>().await;
            }
        } => tracing::warn!("grace period over: closing remaining streams"),
    }
    // The audit trail is written in the background: let it catch up before the process ends.
    state.flush_audit(Duration::from_secs(10)).await;
    Ok(())
}

async fn shutdown_signal() {
    let ctrl_c = async {
        let _ = tokio::signal::ctrl_c().await;
    };
    #[cfg(unix)]
    let term = async {
        match tokio::signal::unix::signal(tokio::signal::unix::SignalKind::terminate()) {
            Ok(mut s) => {
                s.recv().await;
            }
            Err(_) => std::future::pending::<()>().await,
        }
    };
    #[cfg(not(unix))]
    let term = std::future::pending::<()>();
    tokio::select! {
        () = ctrl_c => {},
        () = term => {},
    }
}
