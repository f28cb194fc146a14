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
