#!/usr/bin/env bash
# Exercises the guard's cargo-fuzz target briefly (FUZZ_SECONDS, default 30), seeded with the
# guard corpora. Installs cargo-fuzz when missing. On stable Rust, cargo fuzz runs with
# RUSTC_BOOTSTRAP=1 and --sanitizer none; -a keeps debug assertions on, so the guard also checks
# that every tree it renders without a re-parse (a plain tree) does re-parse to itself. Skips
# with a printed reason only when the fuzzer cannot be installed or built here; a crash or a
# failed property fails the script.
set -euo pipefail
cd "$(dirname "$0")/.."
SECS=${FUZZ_SECONDS:-30}
ROOT=$(pwd)
FUZZ=aigis-core/fuzz
SEEDS=$ROOT/$FUZZ/target/seeds

if ! command -v cargo-fuzz >/dev/null 2>&1; then
  echo "fuzz-guard: installing cargo-fuzz"
  if ! cargo install cargo-fuzz --locked -q; then
    echo "fuzz-guard: SKIPPED: cargo-fuzz could not be installed"
    exit 0
  fi
fi
if ! command -v c++ >/dev/null 2>&1; then
  echo "fuzz-guard: SKIPPED: libFuzzer needs a C++ compiler (apt-get install g++)"
  exit 0
fi

# Seeds: every corpus query, first byte choosing the dialect the way the target does.
mkdir -p "$SEEDS"
python3 - "$ROOT/aigis-core/tests/corpus" "$SEEDS" <<'PY'
import hashlib, os, sys
src, out = sys.argv[1], sys.argv[2]
sel = {"postgres": 0, "mysql": 1, "sqlite": 2}
for name in ("legit.tsv", "attacks-manual.tsv", "attacks-generated.tsv"):
    for line in open(os.path.join(src, name)):
        if line.startswith("#") or not line.strip():
            continue
        parts = line.rstrip("\n").split("\t")
        data = bytes([sel.get(parts[0], 3)]) + parts[-1].encode()
        with open(os.path.join(out, hashlib.sha1(data).hexdigest()[:16]), "wb") as f:
            f.write(data)
PY

cd "$FUZZ"
export RUSTC_BOOTSTRAP=1
if ! cargo fuzz build guard --sanitizer none -O -a >/tmp/fuzz-guard-build.log 2>&1; then
  tail -20 /tmp/fuzz-guard-build.log
  echo "fuzz-guard: SKIPPED: the fuzz target could not be built with this toolchain (log above)"
  exit 0
fi
echo "fuzz-guard: fuzzing the guard for ${SECS}s"
status=0
cargo fuzz run guard --sanitizer none -O -a "$SEEDS" -- -max_total_time="$SECS" -max_len=4096 -rss_limit_mb=2048 \
  -print_final_stats=1 >/tmp/fuzz-guard-run.log 2>&1 || status=$?
grep -E "^(#[0-9]+ +DONE|stat::number_of_executed_units|==[0-9]+==|SUMMARY)|panicked" /tmp/fuzz-guard-run.log || true
if [ "$status" -ne 0 ]; then
  tail -30 /tmp/fuzz-guard-run.log
  echo "fuzz-guard: FAILED (exit $status); reproducer in $FUZZ/artifacts/guard/"
  exit "$status"
fi
echo "fuzz-guard: passed"
