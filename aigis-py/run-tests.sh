#!/usr/bin/env bash
# Builds the `aigis` Python package into a virtualenv and runs its pytest suite.
#
#   bash aigis-py/run-tests.sh [pytest args...]
#
# Works on a fresh machine with Python >= 3.9 and pip: creates aigis-py/.venv (or $AIGIS_PY_VENV),
# installs maturin and pytest from PyPI, builds the extension with `maturin develop` (a debug build
# that reuses the workspace's target/), then runs pytest. AIGIS_PY_INSTALL=pip builds it the way
# users do instead: `pip install ./aigis-py` (maturin as the PEP 517 backend, release profile).
set -euo pipefail
here="$(cd "$(dirname "$0")" && pwd)"
venv="${AIGIS_PY_VENV:-$here/.venv}"
python="${PYTHON:-python3}"

if [ ! -x "$venv/bin/python" ]; then
  if ! "$python" -m venv "$venv" 2>/dev/null; then
    # Debian and Ubuntu ship venv (ensurepip) separately.
    rm -rf "$venv"
    if [ "$(id -u)" = 0 ] && command -v apt-get >/dev/null; then
      apt-get update -qq && apt-get install -y -qq python3-venv
      "$python" -m venv "$venv"
    else
      echo "run-tests: '$python -m venv' failed; install python3-venv" >&2
      exit 1
    fi
  fi
fi
py="$venv/bin/python"
"$py" -m pip install -q --disable-pip-version-check --upgrade pip
"$py" -m pip install -q --disable-pip-version-check "maturin>=1.7,<2" "pytest>=7"

if [ "${AIGIS_PY_INSTALL:-develop}" = pip ]; then
  "$py" -m pip install -q --disable-pip-version-check --force-reinstall "$here"
else
  (cd "$here" && VIRTUAL_ENV="$venv" PATH="$venv/bin:$PATH" "$venv/bin/maturin" develop --quiet)
fi

cd "$here"
exec "$py" -m pytest tests -q -rs "$@"
