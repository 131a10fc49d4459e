#!/usr/bin/env bash
# Install hotspot-tasking with its test extras into .venv and run the whole test suite.
#
#   bash scripts/test.sh                 # everything
#   bash scripts/test.sh -k pgserver -v  # extra arguments go to pytest
#   HOTSPOT_TEST_WORKERS=0 bash scripts/test.sh -x  # in one process (pytest-xdist off)
#
# Runs from any directory: it works in the repository root, so test paths given
# as arguments are relative to the root (e.g. tests/test_pgserver.py).
# PYTHON picks the interpreter used to create .venv (default: python3, 3.11+).
# PostgreSQL/Chromium tests skip when those are missing, but fail when CI is set.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
root="$PWD"
venv="$root/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "test.sh: creating $venv with ${PYTHON:-python3}"
    "${PYTHON:-python3}" -m venv "$venv"
fi

echo "test.sh: installing hotspot-tasking[test] into .venv (pip -q)"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e ".[test]"
# pyehsa, the independent EHSA of tests/spatial/hotspots/test_hs_ehsa_reference.py, without its
# declared numba (never imported by pyehsa; with numba, esda's permutations take another path):
# its imports are in the test extra
"$venv/bin/python" -m pip install -q --disable-pip-version-check --no-deps "pyehsa>=0.1.2"

# Tests may start the console script or streamlit in a subprocess: use the venv's.
export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"

# The suite runs on every core by default (pytest-xdist; --dist loadfile keeps each module's
# fixtures in one worker): about 7-8 min on 2 idle cores against about 60 min serially (bench/RESULTS.md).
# --no-loadscope-reorder hands the modules out in collection order, which tests/conftest.py starts with
# the slow ones (xdist's default order, most tests first, left a one-test 30 s browser module to the end).
# HOTSPOT_TEST_WORKERS=0 runs it in one process; an explicit -n in the arguments wins.
workers="${HOTSPOT_TEST_WORKERS:-auto}"
parallel=()
if [[ " $* " != *" -n "* && " $* " != *" -n"[0-9]* && " $* " != *"--numprocesses"* ]]; then
    parallel=(-n "$workers" --dist loadfile --no-loadscope-reorder)
fi

echo "test.sh: python -m pytest ${parallel[*]} $*"
exec "$venv/bin/python" -m pytest "${parallel[@]}" "$@"
