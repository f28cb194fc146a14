'use strict'
// The Assistant end to end through the native binding: a wire-level fake OpenAI-compatible
// server (SSE streaming) and a real SQLite database.

const test = require('node:test')
const assert = require('node:assert/strict')
const { Assistant, EventStreamHandle, eventSchema } = require('..')
const { spawn } = require('node:child_process')
const path = require('node:path')
const { startFakeLlm, text, slow, httpError } = require('./support/fake-llm.js')
const { shopDb } = require('./support/shop-db.js')

const GOOD_SQL = '```sql\nSELECT s.name AS store, SUM(o.amount) AS revenue FROM orders o JOIN stores s ON s.id = o.store_id GROUP BY s.name ORDER BY revenue DESC\n```'
const SUMMARY = 'North sold the most (30.0).'

/** Event types in order, status events as `status:<stage>`. */
const kinds = (events) => events.map((e) => (e.type === 'status' ? `status:${e.stage}` : e.type))

/** Like `kinds`, with consecutive deltas as one (the shape the Rust and Python tests check). */
const shape = (events) => kinds(events).filter((k, i, all) => !(k === 'delta' && all[i - 1] === 'delta'))

async function collect(iterable) {
  const events = []
  for await (const event of iterable) events.push(event)
  return events
}

let db
test.before(async () => { db = await shopDb() })
test.after(() => db.remove())

async function withFake(script, fn, { fallback, ...options } = {}) {
  const llm = await startFakeLlm(script, { fallback })
  try {
    const assistant = new Assistant({ db: db.url, baseUrl: llm.baseUrl, model: llm.model, apiKey: 'sk-test-secret', ...options })
    return await fn(assistant, llm)
  } finally {
    await llm.close()
  }
}

test('stream() yields the core event sequence as plain objects', async () => {
  await withFake([text(GOOD_SQL), text(SUMMARY, { chunks: 3 })], async (assistant, llm) => {
    const events = await collect(assistant.stream('Revenue per store?'))
    assert.deepEqual(kinds(events), [
      'meta', 'status:schema', 'status:generate', 'sql', 'guard', 'status:execute', 'rows', 'status:summarize',
      'delta', 'delta', 'delta', 'status:chart', 'chart', 'done',
    ])
    const [meta] = events
    assert.equal(meta.model, llm.model)
    assert.equal(meta.dialect, 'sqlite')
    assert.match(meta.request_id, /^[0-9a-f-]{36}$/)

    const guardEvent = events.find((e) => e.type === 'guard')
    assert.equal(guardEvent.allowed, true)
    assert.deepEqual(guardEvent.violations, [])
    assert.match(guardEvent.sql, /LIMIT 1000$/)

    const rows = events.find((e) => e.type === 'rows')
    assert.deepEqual(rows.columns, ['store', 'revenue'])
    assert.deepEqual(rows.rows, [['North', 30], ['West', 24], ['South', 5.5]])
    assert.equal(rows.row_count, 3)
    assert.equal(rows.truncated, false)

    const deltas = events.filter((e) => e.type === 'delta').map((e) => e.text).join('')
    assert.equal(deltas, SUMMARY)
    assert.equal(events.find((e) => e.type === 'chart').spec.$schema.includes('vega-lite'), true)

    const done = events.at(-1)
    assert.deepEqual(Object.keys(done), ['type', 'answer', 'sql', 'row_count', 'model', 'usage', 'elapsed_ms'])
    assert.equal(done.answer, SUMMARY)
    assert.equal(done.sql, guardEvent.sql)
    assert.equal(done.row_count, 3)
    assert.deepEqual(done.usage, { prompt_tokens: 200, completion_tokens: 20 })

    // The fake saw two streamed chat requests carrying the model and the key.
    assert.equal(llm.requests.length, 2)
    for (const r of llm.requests) {
      assert.equal(r.body.stream, true)
      assert.equal(r.body.model, llm.model)
      assert.equal(r.headers.authorization, 'Bearer sk-test-secret')
    }
    assert.ok(JSON.stringify(llm.requests[0].body.messages).includes('orders'), 'schema in the prompt')
  })
})

test('every streamed event is one of the types eventSchema() publishes', async () => {
  const schemaText = JSON.stringify(eventSchema())
  await withFake([text(GOOD_SQL), text(SUMMARY)], async (assistant) => {
    for await (const event of assistant.stream('Revenue per store?')) {
      assert.ok(schemaText.includes(`"${event.type}"`), event.type)
    }
  })
})

test('stream() passes per-question options to the engine', async () => {
  await withFake([text(GOOD_SQL)], async (assistant, llm) => {
    const events = await collect(assistant.stream('Revenue per store?', { mode: 'sql_only', model: 'other-model' }))
    assert.deepEqual(shape(events).slice(-2), ['rows', 'done'])
    assert.equal(events.some((e) => e.type === 'delta'), false, 'sql_only writes no answer')
    assert.equal(llm.requests.length, 1)
    assert.equal(llm.requests[0].body.model, 'other-model')
  })
})

test('ask() resolves to the collected answer', async () => {
  await withFake([text(GOOD_SQL), text(SUMMARY)], async (assistant) => {
    const answer = await assistant.ask('Revenue per store?')
    assert.equal(answer.answer, SUMMARY)
    assert.deepEqual(answer.columns, ['store', 'revenue'])
    assert.equal(answer.rows[0][0], 'North')
    assert.equal(answer.row_count, 3)
    assert.match(answer.sql, /^SELECT s\.name AS store/)
    assert.equal(kinds(answer.events).at(-1), 'done')
  })
})

test('a model that only writes DML ends in an error event, and ask() rejects with its code', async () => {
  const dml = () => text('```sql\nDELETE FROM orders\n```')
  await withFake([dml(), text('DELETE FROM orders;'), text('DROP TABLE orders')], async (assistant, llm) => {
    const events = await collect(assistant.stream('Delete every order'))
    assert.deepEqual(shape(events), [
      'meta', 'status:schema', 'status:generate', 'sql', 'guard',
      'status:repair', 'sql', 'guard', 'status:repair', 'sql', 'guard', 'error',
    ])
    assert.deepEqual(events.filter((e) => e.type === 'sql').map((e) => e.attempt), [1, 2, 3])
    for (const v of events.filter((e) => e.type === 'guard')) {
      assert.equal(v.allowed, false)
      assert.equal(v.violations[0].code, 'not_a_query')
    }
    const last = events.at(-1)
    assert.equal(last.code, 'rejected')
    assert.ok(last.message.length > 0)
    assert.equal(llm.requests.length, 3)
    // The violation went back to the model with the repair request.
    assert.match(JSON.stringify(llm.requests[1].body.messages), /SELECT/)
  })
  await withFake([dml(), dml(), dml()], async (assistant) => {
    await assert.rejects(assistant.ask('Delete every order'), (err) => {
      assert.ok(err instanceof Error)
      assert.equal(err.code, 'rejected')
      // The last verdict's violations come with the error, as in Python.
      assert.deepEqual(err.violations.map((v) => v.code), ['not_a_query'])
      return true
    })
  })
})

test('a DML reply is repaired into a SELECT on attempt 2', async () => {
  await withFake([text('DELETE FROM orders'), text('SELECT COUNT(*) AS n FROM orders'), text('There are 6 orders.')],
    async (assistant) => {
      const events = await collect(assistant.stream('How many orders are there?'))
      assert.deepEqual(shape(events), [
        'meta', 'status:schema', 'status:generate', 'sql', 'guard', 'status:repair', 'sql', 'guard',
        'status:execute', 'rows', 'status:summarize', 'delta', 'done',
      ])
      assert.deepEqual(events.find((e) => e.type === 'rows').rows, [[6]])
      assert.equal(events.at(-1).answer, 'There are 6 orders.')
    })
})

test('a reply naming a missing column is repaired with the database error', async () => {
  await withFake([text('SELECT revenue FROM stores'), text('SELECT name FROM stores ORDER BY name'), text('Three stores.')],
    async (assistant) => {
      const events = await collect(assistant.stream('List the stores'))
      assert.deepEqual(shape(events), [
        'meta', 'status:schema', 'status:generate', 'sql', 'guard', 'status:execute',
        'status:repair', 'sql', 'guard', 'status:execute', 'rows', 'status:summarize', 'delta', 'done',
      ])
      assert.match(events.find((e) => e.stage === 'repair').message, /revenue/)
      assert.deepEqual(events.find((e) => e.type === 'rows').rows, [['North'], ['South'], ['West']])
    }, { charts: false })
})

test('a provider that refuses the key ends in an llm_auth error event, without the key', async () => {
  const refused = httpError(401, 'invalid api key sk-test-secret')
  await withFake([], async (assistant) => {
    const events = await collect(assistant.stream('Revenue per store?'))
    assert.deepEqual(kinds(events).slice(0, 3), ['meta', 'status:schema', 'status:generate'])
    const last = events.at(-1)
    assert.equal(last.type, 'error')
    assert.equal(last.code, 'llm_auth')
    assert.equal(last.message.includes('sk-test-secret'), false)
    await assert.rejects(assistant.ask('Revenue per store?'), (err) => err.code === 'llm_auth' && !err.message.includes('sk-test-secret'))
  }, { fallback: refused })
})

test('a bad database URL fails with the stable code', async () => {
  await withFake([], async (_assistant, llm) => {
    const assistant = new Assistant({ db: 'oracle://nowhere', baseUrl: llm.baseUrl, model: llm.model })
    await assert.rejects(collect(assistant.stream('anything')), (err) => err.code === 'config')
    await assert.rejects(assistant.ask('anything'), (err) => err.code === 'config')
    await assert.rejects(assistant.schema(), (err) => err.code === 'config')
  })
})

test('schema() gives the introspected tables and columns the model is shown, without asking it', async () => {
  await withFake([], async (assistant, llm) => {
    const schema = await assistant.schema()
    const byName = Object.fromEntries(schema.tables.map((t) => [t.name, t]))
    assert.deepEqual(Object.keys(byName).sort(), ['orders', 'stores'])
    assert.deepEqual(byName.stores.columns.map((c) => c.name), ['id', 'name', 'country'])
    assert.equal(llm.requests.length, 0)
  })
})

test('bad constructor options throw with the stable code', () => {
  assert.throws(() => new Assistant({ db: db.url, baseUrl: 'http://127.0.0.1:9/v1', provider: 'nope' }),
    (err) => err.code === 'config')
  assert.throws(() => new Assistant({ db: db.url, baseUrl: 'http://127.0.0.1:9/v1', policy: '{oops' }),
    (err) => err.code === 'config')
})

test('breaking out of the loop closes the stream and cancels the model request', async () => {
  await withFake([text(GOOD_SQL), slow('word ', { count: 500, everyMs: 10 })], async (assistant, llm) => {
    let deltas = 0
    for await (const event of assistant.stream('Revenue per store?')) {
      if (event.type === 'delta') {
        deltas += 1
        break
      }
    }
    assert.equal(deltas, 1)
    const [summary] = llm.slowStreams
    await summary.closed
    assert.equal(summary.closedEarly, true, 'the client hung up before the reply ended')
    assert.ok(summary.sent < 500, `only ${summary.sent} of 500 chunks were sent`)
  })
})

test('the native handle: next() gives events, close() ends the stream with null', async () => {
  await withFake([text(GOOD_SQL), slow('word ', { count: 500, everyMs: 10 })], async (assistant, llm) => {
    const handle = assistant.openStream('Revenue per store?')
    assert.ok(handle instanceof EventStreamHandle)
    assert.equal((await handle.next()).type, 'meta')
    // A pending next() is released by close().
    let event
    do event = await handle.next(); while (event.type !== 'delta')
    const pending = handle.next()
    handle.close()
    const after = await pending
    assert.ok(after === null || after.type === 'delta')
    assert.equal(await handle.next(), null)
    await llm.slowStreams[0].closed
    assert.equal(llm.slowStreams[0].closedEarly, true)
  })
})

test('a stream abandoned mid-answer is cleaned up when Node exits, without a crash', async () => {
  await withFake([text(GOOD_SQL), slow('word ', { count: 500, everyMs: 10 })], async (_assistant, llm) => {
    // The child reads up to the first delta, then lets go of the stream without closing it.
    const child = spawn(process.execPath, ['-e', `
      const { Assistant } = require(${JSON.stringify(path.join(__dirname, '..'))})
      const assistant = new Assistant({ db: ${JSON.stringify(db.url)}, baseUrl: ${JSON.stringify(llm.baseUrl)}, model: 'm' })
      ;(async () => {
        const events = assistant.stream('Revenue per store?')
        for (;;) { const { value } = await events.next(); if (value.type === 'delta') break }
        console.log('abandoned')
      })()
    `], { stdio: ['ignore', 'pipe', 'pipe'] })
    let out = ''
    child.stdout.on('data', (d) => { out += d })
    child.stderr.on('data', (d) => { out += d })
    const [code, signal] = await new Promise((resolve) => child.on('exit', (c, s) => resolve([c, s])))
    assert.equal(signal, null, out)
    assert.equal(code, 0, out)
    assert.match(out, /abandoned/)
    await llm.slowStreams[0].closed
    assert.equal(llm.slowStreams[0].closedEarly, true)
  })
})
