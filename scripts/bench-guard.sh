#!/usr/bin/env bash
# Guard benchmark beside a peer: parse + check + rewrite + render per statement (Rust, release)
# and Python sqlglot's parse alone, over the same legitimate analytical corpus, in one run.
# The guard runs twice: with mimalloc, the allocator the Python and Node packages ship with,
# and with the system allocator, what the aigis binary and a Rust program embedding aigis-core
# use by default. Prints the median microseconds per statement and the ratios.
# Targets: guard median <= 20 us; >= 10x faster than sqlglot's parse.
set -euo pipefail
cd "$(dirname "$0")/.."
CORPUS=aigis-core/tests/corpus/legit.tsv
VENV=target/bench-venv

if [ ! -x "$VENV/bin/python" ]; then
  python3 -m venv "$VENV"
fi
"$VENV/bin/python" -c "import sqlglot" 2>/dev/null || "$VENV/bin/pip" install -q sqlglot

echo "== guard (Rust, release): parse + check + rewrite + render"
cargo bench -q -p aigis-benches --bench guard_mimalloc --bench guard --no-run 2>/dev/null
MIMALLOC_LINE=$(cargo bench -q -p aigis-benches --bench guard_mimalloc -- --report 2>/dev/null | grep '^guard_median_us=')
echo "$MIMALLOC_LINE"
SYSTEM_LINE=$(cargo bench -q -p aigis-benches --bench guard -- --report 2>/dev/null | grep '^guard_median_us=')
echo "$SYSTEM_LINE"

echo "== sqlglot $("$VENV/bin/python" -c 'import sqlglot; print(sqlglot.__version__)'): parse only"
SQLGLOT_LINE=$("$VENV/bin/python" - "$CORPUS" <<'PY'
import statistics, sys, time
import sqlglot
rows = [l.rstrip("\n").split("\t", 1) for l in open(sys.argv[1]) if l.strip() and not l.startswith("#")]
per = []
failed = 0
for dialect, sql in rows:
    try:
        sqlglot.parse_one(sql, read=dialect)
    except Exception:
        failed += 1
        continue
    runs = []
    for _ in range(31):
        t = time.perf_counter_ns()
        sqlglot.parse_one(sql, read=dialect)
        runs.append((time.perf_counter_ns() - t) / 1000)
    per.append(statistics.median(runs))
print(f"sqlglot_median_us={statistics.median(per):.2f} n={len(per)} failed={failed}")
PY
)
echo "$SQLGLOT_LINE"

field() { echo "$1" | sed -E "s/.*$2=([0-9.]+).*/\1/"; }
python3 - "$(field "$MIMALLOC_LINE" guard_median_us)" "$(field "$SYSTEM_LINE" guard_median_us)" \
  "$(field "$SQLGLOT_LINE" sqlglot_median_us)" <<'PY'
import sys
mimalloc, system, s = (float(a) for a in sys.argv[1:])
print(f"guard median {mimalloc:.2f} us/statement with mimalloc, as the Python and Node packages ship (target <= 20): {'OK' if mimalloc <= 20 else 'MISSED'}")
print(f"guard median {system:.2f} us/statement with the system allocator, as the aigis binary and Rust programs by default (target <= 20): {'OK' if system <= 20 else 'MISSED'}")
print(f"sqlglot parse median {s:.2f} us/statement")
print(f"ratio sqlglot/guard = {s / mimalloc:.1f}x with mimalloc, {s / system:.1f}x with the system allocator (target >= 10x): "
      f"{'OK' if s / system >= 10 else 'MISSED'}")
PY
