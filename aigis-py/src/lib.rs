//! Python bindings (placeholder until the binding work lands).
