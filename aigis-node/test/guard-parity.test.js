'use strict'
// Issue 3: the guard from Node with the same policy gives the same verdicts as the core's corpus
// test and as Python. Runs the repository's corpus (aigis-core/tests/corpus) under its policy
// (policy.toml, passed as TOML text) with the same scope parameters as the Rust test.

const test = require('node:test')
const assert = require('node:assert/strict')
const fs = require('node:fs')
const path = require('node:path')
const { spawnSync } = require('node:child_process')
const { guard } = require('..')

const corpusDir = path.join(__dirname, '..', '..', 'aigis-core', 'tests', 'corpus')
const policy = fs.readFileSync(path.join(corpusDir, 'policy.toml'), 'utf8')
const params = { store_ids: [1, 2] }
const NOTE_CODES = ['scope_applied', 'column_masked', 'limit_clamped', 'limit_added']

const dialects = (name) => (name === 'all' ? ['postgres', 'mysql', 'sqlite'] : [name])

/** TSV lines without comments and blank lines. */
const lines = (file) =>
  fs.readFileSync(path.join(corpusDir, file), 'utf8').split('\n')
    .filter((l) => l.trim() !== '' && !l.startsWith('#'))
    .map((l) => l.split('\t'))

/** Every corpus case: `{ dialect, sql, expected }` (`expected` null for legitimate queries). */
function cases() {
  const all = []
  for (const file of ['attacks-manual.tsv', 'attacks-generated.tsv']) {
    for (const [dialect, expected, sql] of lines(file)) {
      for (const d of dialects(dialect)) all.push({ dialect: d, sql, expected: expected.split('|') })
    }
  }
  for (const [dialect, sql] of lines('legit.tsv')) {
    for (const d of dialects(dialect)) all.push({ dialect: d, sql, expected: null })
  }
  return all
}

const verdict = (c) => guard(c.sql, { policy, dialect: c.dialect, params })

test('every corpus attack is rejected or neutralised and every legitimate query allowed, from Node', () => {
  const all = cases()
  assert.ok(all.filter((c) => c.expected).length >= 150, 'at least 150 attacks')
  assert.ok(all.filter((c) => !c.expected).length >= 300, 'at least 300 legitimate queries')
  const failures = []
  for (const c of all) {
    const v = verdict(c)
    const ok = c.expected === null
      ? v.allowed
      : c.expected.some((code) => NOTE_CODES.includes(code)
        ? v.allowed && v.notes.some((n) => n.code === code)
        : !v.allowed && v.violations.some((x) => x.code === code))
    if (!ok) failures.push({ ...c, verdict: v })
  }
  assert.deepEqual(failures.slice(0, 5), [], `${failures.length} corpus cases disagree`)
})

/** The Python of aigis-py's test venv (scripts/test.sh builds it before the Node tests). */
function python() {
  const candidates = [process.env.AIGIS_PYTHON, path.join(__dirname, '..', '..', 'aigis-py', '.venv', 'bin', 'python')]
  for (const py of candidates.filter(Boolean)) {
    if (!fs.existsSync(py)) continue
    const probe = spawnSync(py, ['-c', 'import aigis'], { env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' } })
    if (probe.status === 0) return py
  }
  return null
}

test('Python gives the same verdict as Node for every corpus case', (t) => {
  const py = python()
  if (!py) {
    const reason = 'no Python with the aigis package (run bash aigis-py/run-tests.sh first, or set AIGIS_PYTHON)'
    console.log(`skipped: ${reason}`)
    t.skip(reason)
    return
  }
  const all = cases()
  const script = [
    'import json, sys, aigis',
    'req = json.load(sys.stdin)',
    'out = [aigis.guard(c["sql"], dialect=c["dialect"], policy=req["policy"], params=req["params"]).to_dict() for c in req["cases"]]',
    'json.dump(out, sys.stdout)',
  ].join('\n')
  const run = spawnSync(py, ['-c', script], {
    input: JSON.stringify({ policy, params, cases: all }),
    env: { ...process.env, PYTHONDONTWRITEBYTECODE: '1' },
    maxBuffer: 256 * 1024 * 1024,
  })
  assert.equal(run.status, 0, String(run.stderr))
  const fromPython = JSON.parse(run.stdout)
  assert.equal(fromPython.length, all.length)
  const differ = all.filter((c, i) => !isDeepStrictEqualJson(verdict(c), fromPython[i]))
  assert.deepEqual(differ.slice(0, 5), [], `${differ.length} of ${all.length} verdicts differ`)
})

function isDeepStrictEqualJson(a, b) {
  return require('node:util').isDeepStrictEqual(JSON.parse(JSON.stringify(a)), b)
}
