//! The Aigis reference server (axum, SSE) and the pieces of the `aigis` command line.
