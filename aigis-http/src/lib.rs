//! The Aigis reference server (axum, SSE) and the pieces of the `aigis` command line.
//!
//! [`server::serve`] runs the HTTP API; [`server::router`] builds it for tests and embedding.

pub mod error;
pub mod server;

pub use error::ApiError;
pub use server::{AppState, ServeOptions, router, serve, serve_on};
