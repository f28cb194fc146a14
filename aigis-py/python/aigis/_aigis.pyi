"""Type stubs of the `aigis._aigis` extension module (re-exported by `aigis`)."""

import os
from typing import Any, Dict, List, Literal, Mapping, Optional, Sequence, TypedDict, Union

__version__: str

JsonValue = Any
Dialect = Literal["postgres", "mysql", "sqlite", "generic"]
Provider = Literal["openai", "anthropic", "gemini"]
Mode = Literal["answer", "plan", "agent", "sql_only"]
Stage = Literal[
    "schema", "retrieve", "generate", "guard", "execute", "repair", "summarize", "chart", "plan", "tool", "done"
]
PolicyLike = Union[Mapping[str, Any], str, "os.PathLike[str]"]

class ViolationDict(TypedDict):
    code: str
    message: str

class UsageDict(TypedDict):
    prompt_tokens: int
    completion_tokens: int

class MetaEvent(TypedDict):
    type: Literal["meta"]
    request_id: str
    model: str
    dialect: str

class StatusEvent(TypedDict):
    type: Literal["status"]
    stage: Stage
    message: str

class SqlEvent(TypedDict):
    type: Literal["sql"]
    sql: str
    attempt: int

class GuardEvent(TypedDict):
    type: Literal["guard"]
    allowed: bool
    sql: str
    violations: List[ViolationDict]

class RowsEvent(TypedDict):
    type: Literal["rows"]
    columns: List[str]
    rows: List[List[JsonValue]]
    row_count: int
    truncated: bool

class DeltaEvent(TypedDict):
    type: Literal["delta"]
    text: str

class ChartEvent(TypedDict):
    type: Literal["chart"]
    spec: Dict[str, Any]

class ErrorEvent(TypedDict):
    type: Literal["error"]
    code: str
    message: str

class DoneEvent(TypedDict):
    type: Literal["done"]
    answer: str
    sql: Optional[str]
    row_count: int
    model: str
    usage: UsageDict
    elapsed_ms: float

Event = Union[MetaEvent, StatusEvent, SqlEvent, GuardEvent, RowsEvent, DeltaEvent, ChartEvent, ErrorEvent, DoneEvent]

class AigisError(Exception):
    """Base class of every Aigis error."""

    code: str
    """Stable machine-readable code (`config`, `rejected`, `db_error`, `llm_timeout`, ...)."""
    message: str
    violations: List[ViolationDict]
    """Guard violations for `GuardRejected` (from the guard, or the last rejected query of `ask`); else empty."""
    retry_after: Optional[float]
    """Seconds the LLM provider asked to wait, when it said so."""

class ConfigError(AigisError): ...
class InvalidInputError(AigisError): ...
class GuardRejected(AigisError): ...
class DatabaseError(AigisError): ...
class LlmError(AigisError): ...
class AigisTimeout(AigisError): ...
class BudgetExhausted(AigisError): ...
class AigisCancelled(AigisError): ...
class NotFoundError(AigisError): ...
class UnsupportedError(AigisError): ...
class InternalError(AigisError): ...

class Violation:
    """A rule the SQL broke."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    def to_dict(self) -> ViolationDict: ...

class Note:
    """Something the guard rewrote without rejecting (e.g. `limit_clamped`)."""

    @property
    def code(self) -> str: ...
    @property
    def message(self) -> str: ...
    def to_dict(self) -> Dict[str, str]: ...

class Verdict:
    """The guard's decision about one SQL input. Truthy when allowed."""

    @property
    def allowed(self) -> bool: ...
    @property
    def sql(self) -> Optional[str]:
        """The rewritten SQL that would run (None when rejected)."""
    @property
    def violations(self) -> List[Violation]: ...
    @property
    def notes(self) -> List[Note]: ...
    @property
    def tables(self) -> List[str]:
        """Base tables the query reads."""
    @property
    def columns(self) -> List[str]:
        """Columns the query references, as written."""
    def to_dict(self) -> Dict[str, Any]:
        """The verdict exactly as the core serialises it (same JSON on every surface)."""
    def to_json(self) -> str: ...
    def __bool__(self) -> bool: ...

def guard(
    sql: str,
    dialect: Optional[Dialect] = None,
    max_rows: Optional[int] = None,
    policy: Optional[PolicyLike] = None,
    params: Optional[Mapping[str, JsonValue]] = None,
    views: Optional[Sequence[str]] = None,
) -> Verdict:
    """Checks one SQL statement and returns the verdict; bad SQL gives a rejected verdict.

    Without a policy the dialect defaults to "sqlite" and max_rows to 1000. `policy` is a dict,
    a JSON or TOML string, or a path to a .json/.toml file; `dialect` and `max_rows`, when given,
    override it. `params` binds the named parameters of the policy's row scopes; `views` names
    relations known to be views (for the policy's views-only mode).
    Raises ConfigError for an invalid policy, InvalidInputError for an unknown dialect.
    """

def demo_database(path: Optional[Union[str, "os.PathLike[str]"]] = None) -> str:
    """Creates the demo shop database (SQLite) at `path` unless it exists; returns the path.

    Without `path`: $AIGIS_DEMO_DB, else ~/.local/share/aigis/demo.db (where `aigis demo` keeps it).
    Use it as `aigis.Assistant(db=f"sqlite://{aigis.demo_database()}", ...)`.
    """

def event_schema() -> Dict[str, Any]:
    """The JSON Schema of the events every surface emits."""

class Answer:
    """A complete answer."""

    @property
    def answer(self) -> str: ...
    @property
    def sql(self) -> Optional[str]: ...
    @property
    def columns(self) -> List[str]: ...
    @property
    def rows(self) -> List[List[JsonValue]]: ...
    @property
    def row_count(self) -> int: ...
    @property
    def chart(self) -> Optional[Dict[str, Any]]: ...
    @property
    def model(self) -> str: ...
    @property
    def usage(self) -> UsageDict: ...
    @property
    def elapsed_ms(self) -> float: ...
    @property
    def events(self) -> List[Event]: ...
    def to_dict(self) -> Dict[str, Any]: ...

class EventStream:
    """Events of one answer; ends after the `done` or `error` event.

    `close()`, leaving a `with` block, or dropping the iterator cancels the request.
    """

    def __iter__(self) -> "EventStream": ...
    def __next__(self) -> Event: ...
    def close(self) -> None: ...
    def __enter__(self) -> "EventStream": ...
    def __exit__(self, *args: object) -> bool: ...

class AsyncEventStream:
    """Events of one answer for `async for`; `aclose()` or dropping it cancels the request."""

    def __aiter__(self) -> "AsyncEventStream": ...
    async def __anext__(self) -> Event: ...
    async def aclose(self) -> None: ...
    async def __aenter__(self) -> "AsyncEventStream": ...
    async def __aexit__(self, *args: object) -> bool: ...

class Assistant:
    """A governed data assistant over one database and one model.

    Options map one-to-one onto the core ProviderConfig (provider, base_url, model, api_key,
    fallback_models; `resilience`: ResilienceConfig timeouts and retries in milliseconds) and
    AssistantConfig (config, policy, max_rows, max_repairs, charts, timeout in seconds, mode). Provider options left unset come from AIGIS_LLM_BASE_URL,
    AIGIS_LLM_MODEL, AIGIS_LLM_API_KEY (or OPENAI_BASE_URL / OPENAI_API_KEY).
    """

    def __new__(
        cls,
        db: str,
        *,
        base_url: Optional[str] = None,
        model: Optional[str] = None,
        api_key: Optional[str] = None,
        provider: Optional[Provider] = None,
        fallback_models: Optional[Sequence[str]] = None,
        max_rows: Optional[int] = None,
        policy: Optional[PolicyLike] = None,
        max_repairs: Optional[int] = None,
        charts: Optional[bool] = None,
        timeout: Optional[float] = None,
        mode: Optional[Mode] = None,
        config: Optional[Mapping[str, Any]] = None,
        resilience: Optional[Mapping[str, int]] = None,
    ) -> "Assistant": ...
    @property
    def dialect(self) -> Dialect: ...
    def ask(
        self,
        question: str,
        *,
        model: Optional[str] = None,
        user: Optional[str] = None,
        params: Optional[Mapping[str, JsonValue]] = None,
        mode: Optional[Mode] = None,
    ) -> Answer:
        """Answers a question; raises the matching AigisError if it ends in an `error` event."""
    async def aask(
        self,
        question: str,
        *,
        model: Optional[str] = None,
        user: Optional[str] = None,
        params: Optional[Mapping[str, JsonValue]] = None,
        mode: Optional[Mode] = None,
    ) -> Answer:
        """Awaitable `ask`; call it from a running event loop (inside a coroutine)."""
    def stream(
        self,
        question: str,
        *,
        model: Optional[str] = None,
        user: Optional[str] = None,
        params: Optional[Mapping[str, JsonValue]] = None,
        mode: Optional[Mode] = None,
    ) -> EventStream:
        """Answers a question as an iterator of event dicts (an `error` event is yielded, not raised)."""
    def astream(
        self,
        question: str,
        *,
        model: Optional[str] = None,
        user: Optional[str] = None,
        params: Optional[Mapping[str, JsonValue]] = None,
        mode: Optional[Mode] = None,
    ) -> AsyncEventStream: ...
    def schema(self) -> Dict[str, Any]: ...
