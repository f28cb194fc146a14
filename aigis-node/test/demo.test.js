'use strict'
// demoDatabase(): the demo shop database the CLI and the Python package generate, from Node,
// answered through a wire-level fake model and read back independently with sql.js.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const os = require('node:os')
const path = require('node:path')
const initSqlJs = require('sql.js')
const { Assistant, demoDatabase } = require('..')
const { startFakeLlm, text } = require('./support/fake-llm.js')

test('demoDatabase() writes the shop database once and an Assistant answers over it', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigis-node-demo-'))
  const llm = await startFakeLlm([text('SELECT COUNT(*) AS n FROM orders'), text('There are many orders.')])
  try {
    const file = path.join(dir, 'nested', 'demo.db')
    assert.equal(await demoDatabase(file), file)
    const SQL = await initSqlJs()
    const db = new SQL.Database(fs.readFileSync(file))
    const tables = db.exec("SELECT name FROM sqlite_master WHERE type = 'table'")[0].values.flat()
    for (const t of ['stores', 'customers', 'products', 'orders', 'order_items']) assert.ok(tables.includes(t), t)
    const [[orders]] = db.exec('SELECT COUNT(*) FROM orders')[0].values
    db.close()

    // Kept, not rebuilt: the second call leaves the file as it is.
    const before = fs.statSync(file).mtimeMs
    assert.equal(await demoDatabase(file), file)
    assert.equal(fs.statSync(file).mtimeMs, before)

    const assistant = new Assistant({ db: `sqlite://${file}`, baseUrl: llm.baseUrl, model: llm.model, apiKey: 'sk-test' })
    const answer = await assistant.ask('How many orders are there?')
    assert.deepEqual(answer.rows, [[orders]])
    assert.equal(answer.answer, 'There are many orders.')
  } finally {
    await llm.close()
    fs.rmSync(dir, { recursive: true, force: true })
  }
})

test('demoDatabase() rejects with the core error code when it cannot write', async () => {
  const dir = fs.mkdtempSync(path.join(os.tmpdir(), 'aigis-node-demo-'))
  try {
    const blocker = path.join(dir, 'a-file')
    fs.writeFileSync(blocker, 'not a directory')
    await assert.rejects(demoDatabase(path.join(blocker, 'demo.db')), (e) => e.code === 'io' && e instanceof Error)
    assert.deepEqual(fs.readdirSync(dir), ['a-file']) // nothing half-written beside it
  } finally {
    fs.rmSync(dir, { recursive: true, force: true })
  }
})
