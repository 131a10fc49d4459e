#!/usr/bin/env bash
# One command for a new user: install hotspot-tasking into .venv, load the bundled
# data into the default SQLite database, and open the app on http://127.0.0.1:8501
#
#   bash scripts/quickstart.sh
#   PYTHON=python3.11 bash scripts/quickstart.sh   # pick the interpreter for .venv
#
# Safe to re-run: the venv is reused and the bundled ingest is idempotent.
set -euo pipefail

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="$PWD/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "quickstart: creating $venv with ${PYTHON:-python3}"
    "${PYTHON:-python3}" -m venv "$venv"
else
    echo "quickstart: reusing $venv"
fi

echo "quickstart: installing hotspot-tasking (pip install -e .), this takes about a minute the first time"
"$venv/bin/python" -m pip install -q --disable-pip-version-check -e .

export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"

echo "quickstart: loading the bundled data (hotspot-tasking ingest --bundled)"
hotspot-tasking ingest --bundled

echo "quickstart: starting the app on http://127.0.0.1:8501 (Ctrl+C to stop)"
exec streamlit run app.py \
    --server.address 127.0.0.1 \
    --server.port 8501 \
    --server.headless true \
    --server.enableStaticServing true
