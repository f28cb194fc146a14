#!/usr/bin/env bash
# Guard benchmark beside a peer: parse + check + rewrite + render per statement (Rust, release)
# and Python sqlglot's parse alone, over the same legitimate analytical corpus, in one run.
# Prints the median microseconds per statement for both and the ratio.
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
GUARD_LINE=$(cargo bench -q -p aigis-benches --bench guard -- --report 2>/dev/null | grep '^guard_median_us=')
echo "$GUARD_LINE"

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

g=$(echo "$GUARD_LINE" | sed -E 's/.*guard_median_us=([0-9.]+).*/\1/')
s=$(echo "$SQLGLOT_LINE" | sed -E 's/.*sqlglot_median_us=([0-9.]+).*/\1/')
python3 - "$g" "$s" <<'PY'
import sys
g, s = float(sys.argv[1]), float(sys.argv[2])
print(f"guard median {g:.2f} us/statement (target <= 20): {'OK' if g <= 20 else 'MISSED'}")
print(f"sqlglot parse median {s:.2f} us/statement")
print(f"ratio sqlglot/guard = {s / g:.1f}x (target >= 10x): {'OK' if s / g >= 10 else 'MISSED'}")
PY
