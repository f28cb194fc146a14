//! Node bindings (placeholder until the binding work lands).
