// Compiled (not run) by test/types.test.js: the package's types describe the API as used.
import { Assistant, guard, eventSchema } from '../..'
import type { AigisError, AigisEvent, Answer, Verdict } from '../..'

const verdict: Verdict = guard('SELECT 1', { dialect: 'sqlite', maxRows: 10, policy: { max_rows: 5 }, params: { store_ids: [1] } })
const allowed: boolean = verdict.allowed
const codes: string[] = verdict.violations.map((v) => v.code)
const schema: Record<string, unknown> = eventSchema()
const seen: unknown[] = []

async function run(): Promise<void> {
  const assistant = new Assistant({ db: 'sqlite://demo.db', baseUrl: 'http://127.0.0.1:8089/v1', model: 'm', maxRows: 100 })
  const answer: Answer = await assistant.ask('How many orders?', { user: 'ana', params: { store_ids: [1, 2] } })
  const rows: unknown[][] = answer.rows
  for await (const event of assistant.stream('How many orders?', { mode: 'sql_only', params: { store_ids: [1] } })) {
    const e: AigisEvent = event
    if (e.type === 'delta') seen.push(e.text.toUpperCase())
    if (e.type === 'done') seen.push(e.usage.prompt_tokens + e.row_count)
    if (e.type === 'error') seen.push(e.code)
  }
  try {
    await assistant.ask('x')
  } catch (err) {
    seen.push((err as AigisError).code)
  }
  seen.push(allowed, codes, schema, rows)
}
void run()
