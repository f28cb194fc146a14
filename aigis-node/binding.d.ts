/* Data types of Aigis: plain objects in the core's JSON shape (the same on every surface). */

/** A guard policy as the CLI and Python read it (JSON/TOML keys, snake_case), e.g. `{ dialect: 'sqlite', max_rows: 100 }`. */
export type Policy = { dialect?: 'postgres' | 'mysql' | 'sqlite' | 'generic'; max_rows?: number } & Record<string, unknown>

/** A rule the SQL broke. */
export interface Violation {
  /** Stable code, e.g. `multiple_statements`, `not_a_query`, `write_in_query`. */
  code: string
  /** What is wrong and how to fix it. */
  message: string
}

/** Something the guard rewrote without rejecting, e.g. `limit_added`, `limit_clamped`. */
export interface Note {
  code: string
  message: string
}

/** The guard's decision about one statement. */
export interface Verdict {
  allowed: boolean
  /** The SQL that runs, rendered from the checked AST (`null` when rejected). */
  sql: string | null
  violations: Violation[]
  notes: Note[]
  /** Tables the query reads. */
  tables: string[]
  [key: string]: unknown
}

/** Tokens used, summed over every LLM call of one answer. */
export interface Usage {
  prompt_tokens: number
  completion_tokens: number
}

/** Where in answering a question the assistant is. */
export type Stage =
  | 'schema' | 'retrieve' | 'generate' | 'guard' | 'execute' | 'repair' | 'summarize' | 'chart' | 'plan' | 'tool' | 'done'

/** One step of answering a question; a stream ends with exactly one `done` or `error`. */
export type AigisEvent =
  | { type: 'meta'; request_id: string; model: string; dialect: string }
  | { type: 'status'; stage: Stage; message: string }
  | { type: 'sql'; sql: string; attempt: number }
  | { type: 'guard'; allowed: boolean; sql: string; violations: Violation[] }
  | { type: 'rows'; columns: string[]; rows: unknown[][]; row_count: number; truncated: boolean }
  | { type: 'delta'; text: string }
  | { type: 'chart'; spec: Record<string, unknown> }
  | { type: 'error'; code: string; message: string }
  | { type: 'done'; answer: string; sql: string | null; row_count: number; model: string; usage: Usage; elapsed_ms: number }

/** A complete answer, collected from the event stream. */
export interface Answer {
  answer: string
  sql: string | null
  columns: string[]
  rows: unknown[][]
  row_count: number
  chart: Record<string, unknown> | null
  model: string
  usage: Usage
  elapsed_ms: number
  /** Every event, in order. */
  events: AigisEvent[]
}

/** Errors thrown or rejected by Aigis carry the core's stable code (`config`, `db_connect`, `llm_auth`, `rejected`…). */
export interface AigisError extends Error {
  code: string
  /** The guard's violations when `code` is `rejected`, from `guard` or the last query `ask` tried. */
  violations?: Violation[]
}

/**
 * Which binding artifact the generated loader actually loaded: `'native'` for
 * a native addon, otherwise the `platformArchABI` of the WASI flavor. Every
 * flavor napi-rs can build is listed, because `NAPI_RS_NATIVE_LIBRARY_PATH`
 * can point the loader at a WASI artifact this package does not build itself.
 */
export declare const __napiBindingTarget: 'native' | 'wasm32-wasi' | 'wasm32-wasip1'

/** A governed data assistant over one database and one model. */
export declare class Assistant {
  /** Checks the options and builds the model client; the database opens on the first question. */
  constructor(options: AssistantOptions)
  /** Answers a question; rejects with the `error` event's code when it cannot be answered. */
  ask(question: string, options?: AskOptions | undefined | null): Promise<Answer>
  /**
   * The database schema the model is shown (tables, columns, keys, sample rows), as
   * Python's `schema()` gives it; opens the database if no question has yet.
   */
  schema(): Promise<Record<string, unknown>>
  /** Starts answering a question; the package entry's `stream()` iterates it. */
  openStream(question: string, options?: AskOptions | undefined | null): EventStreamHandle
}

/** A running answer: pull events with `next()`, stop it with `close()`. */
export declare class EventStreamHandle {
  /** The next event, or `null` once the stream has ended or was closed. */
  next(): Promise<AigisEvent | null>
  /** Stops the answer: cancels the LLM request and the database query; `next()` then gives `null`. */
  close(): void
}

/** Per-question options of `ask()` and `stream()`. */
export interface AskOptions {
  /** Model to use instead of the default. */
  model?: string
  /** Who asks (for the audit trail). */
  user?: string
  /** Named parameters bound into the policy's row scopes (e.g. `{ store_ids: [1, 2] }`). */
  params?: Record<string, unknown>
  /** Answering mode for this question. */
  mode?: 'answer' | 'plan' | 'agent' | 'sql_only'
}

/**
 * Options of `new Assistant()`; unset model settings come from the environment
 * (`AIGIS_LLM_BASE_URL`, `AIGIS_LLM_MODEL`, `AIGIS_LLM_API_KEY`, `OPENAI_*`).
 */
export interface AssistantOptions {
  /** Database URL as sqlx reads it (`sqlite:///abs/path.db`, `postgres://…`, `mysql://…`). */
  db: string
  /** Base URL of the model API (e.g. `http://127.0.0.1:8089/v1`). */
  baseUrl?: string
  /** Model id. */
  model?: string
  /** API key (never logged, never in errors). */
  apiKey?: string
  /** `openai` (any OpenAI-compatible API, the default), `anthropic` or `gemini`. */
  provider?: string
  /** Models tried in order when the first fails with a retryable error. */
  fallbackModels?: Array<string>
  /** Maximum rows a query may return; overrides the policy's `max_rows`. */
  maxRows?: number
  /** The guard policy: an object with the CLI's and Python's (snake_case) keys, or its JSON or TOML text. */
  policy?: Policy | string
  /** Times the model may repair a rejected or failing query (default 2). */
  maxRepairs?: number
  /** Whether to build a chart (default true). */
  charts?: boolean
  /** Statement timeout in seconds. */
  timeout?: number
  /** Default answering mode. */
  mode?: 'answer' | 'plan' | 'agent' | 'sql_only'
}

/**
 * Creates the demo shop database (SQLite) at `path` unless it exists, and resolves to its path;
 * without `path`, at the same place `aigis demo` uses.
 */
export declare function demoDatabase(path?: string | undefined | null): Promise<string>

/** The JSON Schema of the events every surface emits. */
export declare function eventSchema(): Record<string, unknown>

/** Checks one SQL statement against a policy and returns the verdict. */
export declare function guard(sql: string, options?: GuardOptions | undefined | null): Verdict

/** Options of `guard()`. */
export interface GuardOptions {
  /**
   * `postgres`, `mysql`, `sqlite` or `generic`; overrides the policy's dialect (default `sqlite`
   * when no policy is given).
   */
  dialect?: string
  /** Maximum rows (LIMIT added or clamped); overrides the policy's `max_rows`. */
  maxRows?: number
  /** The guard policy: an object with the CLI's and Python's (snake_case) keys, or its JSON or TOML text. */
  policy?: Policy | string
  /** Named parameters bound into the policy's row scopes (e.g. `{ store_ids: [1, 2] }`). */
  params?: Record<string, unknown>
}
