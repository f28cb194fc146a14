"""Aigis: a governed data assistant.

A person asks a question in plain language, an LLM writes SQL, Aigis guards that SQL in code,
runs it read-only, and streams the answer as one typed event stream (the same events as the
Rust crate, the HTTP server and the Node package).

    >>> import aigis
    >>> aigis.guard("SELECT name FROM customers").sql
    'SELECT name FROM customers LIMIT 1000'
"""

from ._aigis import (
    AigisCancelled,
    AigisError,
    AigisTimeout,
    Answer,
    Assistant,
    AsyncEventStream,
    BudgetExhausted,
    ConfigError,
    DatabaseError,
    EventStream,
    GuardRejected,
    InternalError,
    InvalidInputError,
    LlmError,
    Note,
    NotFoundError,
    UnsupportedError,
    Verdict,
    Violation,
    __version__,
    demo_database,
    event_schema,
    guard,
)

__all__ = [
    "AigisCancelled",
    "AigisError",
    "AigisTimeout",
    "Answer",
    "Assistant",
    "AsyncEventStream",
    "BudgetExhausted",
    "ConfigError",
    "DatabaseError",
    "EventStream",
    "GuardRejected",
    "InternalError",
    "InvalidInputError",
    "LlmError",
    "Note",
    "NotFoundError",
    "UnsupportedError",
    "Verdict",
    "Violation",
    "__version__",
    "demo_database",
    "event_schema",
    "guard",
]
