'use strict'
// The hand-written entry types (index.d.ts) and the generated ones (binding.d.ts) fit together
// and describe the API as it is used: test/types/usage.ts must compile under --strict.

const test = require('node:test')
const assert = require('node:assert/strict')
const path = require('node:path')
const { spawnSync } = require('node:child_process')

test('the TypeScript types compile against a usage example', () => {
  const tsc = require.resolve('typescript/bin/tsc')
  const run = spawnSync(process.execPath, [tsc, '--noEmit', '--strict', '--target', 'es2022', '--module', 'commonjs',
    path.join(__dirname, 'types', 'usage.ts')], { encoding: 'utf8' })
  assert.equal(run.status, 0, run.stdout + run.stderr)
})
