#!/usr/bin/env bash
# One command for a new user: install hotspot-tasking into .venv, load the bundled
# data into the default SQLite database, and open the app on http://127.0.0.1:8501
#
#   bash scripts/quickstart.sh
#   bash scripts/quickstart.sh --area west-kent    # the bundled West Kent area instead of RBKC
#   PYTHON=python3.11 bash scripts/quickstart.sh   # pick the interpreter for .venv
#
# Safe to re-run: the venv is reused and the bundled ingest is idempotent.
set -euo pipefail

area=""
while [[ $# -gt 0 ]]; do
    case "$1" in
        --area) area="${2:?--area needs a name, e.g. --area west-kent}"; shift 2 ;;
        --area=*) area="${1#--area=}"; shift ;;
        *) echo "quickstart: unknown option $1 (use --area NAME)" >&2; exit 2 ;;
    esac
done

cd "$(dirname "${BASH_SOURCE[0]}")/.."
venv="$PWD/.venv"

if [[ ! -x "$venv/bin/python" ]]; then
    echo "quickstart: creating $venv with ${PYTHON:-python3}"
    "${PYTHON:-python3}" -m venv "$venv"
else
    echo "quickstart: reusing $venv"
fi

if [[ -z "${HOTSPOT_QUICKSTART_SKIP_INSTALL:-}" ]]; then   # the test of this script reuses the test venv
    echo "quickstart: installing hotspot-tasking (pip install -e .), this takes about a minute the first time"
    "$venv/bin/python" -m pip install -q --disable-pip-version-check -e .
fi

export VIRTUAL_ENV="$venv"
export PATH="$venv/bin:$PATH"

umask 077   # var/hotspot.sqlite, its -wal/-shm and var/first-sign-in.txt: readable by you only
if [[ -n "$area" ]]; then
    hotspot-tasking db upgrade > /dev/null
    echo "quickstart: using the area $area (hotspot-tasking area use $area)"
    hotspot-tasking area use "$area"
fi
echo "quickstart: loading the bundled data of the active area (hotspot-tasking ingest --bundled)"
hotspot-tasking ingest --bundled

# The dashboard needs a signed-in user. On the first run make a chair account with a random
# password, shown once here and kept in var/first-sign-in.txt (readable by you only).
home="${HOTSPOT_HOME:-$PWD/var}"
if hotspot-tasking user list | grep -q "^No accounts yet"; then
    mkdir -p "$home"
    password="$("$venv/bin/python" -c 'import secrets; print(secrets.token_urlsafe(12))')"
    printf '%s\n' "$password" | hotspot-tasking user add chair --role chair --password-stdin
    umask 077
    printf 'user: chair\npassword: %s\nchange it with: hotspot-tasking user password chair\n' "$password" \
        > "$home/first-sign-in.txt"
    echo "quickstart: sign in as 'chair' with password $password (also in $home/first-sign-in.txt)"
    echo "quickstart: add your colleagues with: hotspot-tasking user add NAME --role chair|analyst|cctv|warden|partner"
else
    echo "quickstart: accounts exist (hotspot-tasking user list); sign in with yours"
fi

if [[ -n "${HOTSPOT_QUICKSTART_NO_SERVE:-}" ]]; then   # the test of this script stops here
    exit 0
fi
echo "quickstart: starting the app on http://127.0.0.1:8501 (Ctrl+C to stop)"
exec streamlit run app.py \
    --server.address 127.0.0.1 \
    --server.port 8501 \
    --server.headless true \
    --server.enableStaticServing true
