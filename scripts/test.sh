#!/usr/bin/env bash
# Runs every test of Aigis: Rust (core, CLI, server), the guard fuzz smoke run, Python and Node.
# Installs what it needs on a fresh machine (npm packages, a Python venv with maturin and pytest),
# and makes sure the PostgreSQL and MariaDB test servers and the local model are running.
set -euo pipefail
cd "$(dirname "$0")/.."

bash scripts/services.sh

# The real local model (tests that need it skip with a printed reason when ../shared is absent).
if [ -x ../shared/scripts/local-llm.sh ]; then
  ../shared/scripts/local-llm.sh start >/dev/null || echo "test: the local model did not start; tests that need it will skip"
fi

echo "== npm: vega-lite compiler for the chart test"
(cd aigis-core/tests/vegalite && npm ci --no-audit --no-fund --loglevel=error)

# Build the Rust tests (and with them target/debug/aigis) first: the Python tests compare their
# verdicts with `aigis guard --policy`. The same flags as the run below, so nothing builds twice.
echo "== Rust build"
cargo test --workspace --exclude aigis-py --exclude aigis-node --all-features --no-run

# Python and Node first: they build the packages that the Rust cross-surface test drives.
if [ -f aigis-py/run-tests.sh ]; then
  echo "== Python"
  bash aigis-py/run-tests.sh
fi

if [ -f aigis-node/package.json ]; then
  echo "== Node"
  (cd aigis-node && npm install --no-audit --no-fund --loglevel=error && npm run build:debug && npm test)
fi
echo "== Rust"
cargo test --workspace --exclude aigis-py --exclude aigis-node --all-features

if [ -f scripts/fuzz-guard.sh ]; then
  echo "== guard fuzz smoke run"
  bash scripts/fuzz-guard.sh
fi

echo "== all tests passed"
