'use strict'
// guard() through the native binding: verdicts, options, policies (object and JSON text), and
// errors carrying the core's stable codes.

const test = require('node:test')
const assert = require('node:assert/strict')
const { guard } = require('..')

test('allows a query, re-renders it and adds the LIMIT', () => {
  const v = guard('select name from customers', { dialect: 'sqlite' })
  assert.equal(v.allowed, true)
  assert.equal(v.sql, 'SELECT name FROM customers LIMIT 1000')
  assert.deepEqual(v.violations, [])
  assert.deepEqual(v.notes.map((n) => n.code), ['limit_added'])
  assert.ok(Array.isArray(v.tables))
})

test('maxRows clamps a larger LIMIT and keeps a smaller one', () => {
  const clamped = guard('SELECT a FROM t LIMIT 5000', { dialect: 'postgres', maxRows: 10 })
  assert.equal(clamped.sql, 'SELECT a FROM t LIMIT 10')
  assert.deepEqual(clamped.notes.map((n) => n.code), ['limit_clamped'])
  assert.equal(guard('SELECT a FROM t LIMIT 5', { maxRows: 10 }).sql, 'SELECT a FROM t LIMIT 5')
})

test('rejects stacked statements, DML, writable CTEs and SELECT INTO with typed violations', () => {
  const cases = [
    ['SELECT 1; DROP TABLE t', 'multiple_statements'],
    ['DELETE FROM orders', 'not_a_query'],
    ['SELECT * INTO copy FROM orders', 'write_in_query'],
  ]
  for (const [sql, code] of cases) {
    const v = guard(sql, { dialect: 'postgres' })
    assert.equal(v.allowed, false, sql)
    assert.equal(v.sql, null, sql)
    assert.equal(v.violations[0].code, code, sql)
    assert.ok(v.violations[0].message.length > 0)
  }
  const cte = guard('WITH d AS (DELETE FROM t RETURNING *) SELECT * FROM d', { dialect: 'postgres' })
  assert.equal(cte.allowed, false)
  assert.ok(cte.violations.length > 0)
})

test('a policy object and the same policy as JSON text give the same verdicts', () => {
  const policy = { dialect: 'postgres', max_rows: 50 }
  for (const sql of ['SELECT * FROM orders', 'SELECT id FROM orders LIMIT 500', 'UPDATE orders SET amount = 0']) {
    const fromObject = guard(sql, { policy })
    const fromJson = guard(sql, { policy: JSON.stringify(policy) })
    assert.deepEqual(fromObject, fromJson, sql)
  }
  assert.equal(guard('SELECT * FROM orders', { policy }).sql, 'SELECT * FROM orders LIMIT 50')
  // Options override the policy's own dialect and max_rows.
  assert.equal(guard('SELECT * FROM orders', { policy, maxRows: 7 }).sql, 'SELECT * FROM orders LIMIT 7')
})

test('no options means SQLite and 1000 rows, as in Python', () => {
  assert.equal(guard('SELECT 1').sql, 'SELECT 1 LIMIT 1000')
  for (const sql of ['SELECT name FROM sqlite_master', 'SELECT load_extension(\'x\')', 'SELECT "Name" FROM t']) {
    assert.deepEqual(guard(sql), guard(sql, { dialect: 'sqlite' }), sql)
  }
  assert.equal(guard("SELECT load_extension('x')").violations[0].code, 'function_denied')
})

test('bad options throw errors with the stable code', () => {
  const code = (fn) => {
    try {
      fn()
    } catch (err) {
      assert.ok(err instanceof Error)
      assert.ok(err.message.length > 0)
      return err.code
    }
    assert.fail('expected a throw')
  }
  assert.equal(code(() => guard('SELECT 1', { dialect: 'klingon' })), 'invalid_input')
  assert.equal(code(() => guard('SELECT 1', { maxRows: -3 })), 'invalid_input')
  assert.equal(code(() => guard('SELECT 1', { policy: '{"dialect": "postgres"' })), 'config')
  assert.equal(code(() => guard('SELECT 1', { policy: { no_such_rule: true } })), 'config')
})
