#!/usr/bin/env bash
# One command for a new user: install hotspot-tasking into .venv, load the bundled
# data into the default SQLite database, start the dashboard on http://127.0.0.1:8501
# (or the next free port) and open it in your browser when there is a desktop.
#
#   bash scripts/quickstart.sh
#   bash scripts/quickstart.sh --area west-kent    # the bundled West Kent area instead of RBKC
#   bash scripts/quickstart.sh --port 8600         # a port of your choice
#   bash scripts/quickstart.sh --no-browser        # start the server only
#   PYTHON=python3.11 bash scripts/quickstart.sh   # pick the interpreter for .venv
#
# Safe to re-run: the venv is reused and the bundled ingest is idempotent.
set -euo pipefail

area=""
port=""
browser=1
while [[ $# -gt 0 ]]; do
    case "$1" in
        --area) area="${2:?--area needs a name, e.g. --area west-kent}"; shift 2 ;;
        --area=*) area="${1#--area=}"; shift ;;
        --port) port="${2:?--port needs a number, e.g. --port 8600}"; shift 2 ;;
        --port=*) port="${1#--port=}"; shift ;;
        --no-browser) browser=0; shift ;;
        *) echo "quickstart: unknown option $1 (use --area NAME, --port N, --no-browser)" >&2; exit 2 ;;
    esac
done
if [[ -n "$port" && ! "$port" =~ ^[0-9]+$ ]]; then
    echo "quickstart: --port was '$port'; give a number such as 8600" >&2; exit 2
fi

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

# The port: the one asked for (refused if in use), else 8501 or the next free one up to 8599.
port="$("$venv/bin/python" - "$port" <<'PY'
import socket
import sys

def free(p: int) -> bool:
    with socket.socket() as s:
        try:
            s.bind(("127.0.0.1", p))
        except OSError:
            return False
        return True

asked = sys.argv[1]
if asked:
    if not 1 <= int(asked) <= 65535 or not free(int(asked)):
        sys.exit(f"quickstart: port {asked} is in use (or not a port); choose another with --port N")
    print(asked)
else:
    p = next((p for p in range(8501, 8600) if free(p)), None)
    if p is None:
        sys.exit("quickstart: ports 8501-8599 are all in use; choose one with --port N")
    print(p)
PY
)"
url="http://127.0.0.1:$port"
echo "quickstart: the dashboard will be on $url"

umask 077   # var/hotspot.sqlite, its -wal/-shm and var/first-sign-in.txt: readable by you only
if [[ -n "$area" ]]; then
    hotspot-tasking db upgrade > /dev/null
    echo "quickstart: using the area $area (hotspot-tasking area use $area)"
    hotspot-tasking area use "$area"
fi
echo "quickstart: loading the bundled data of the active area (hotspot-tasking ingest --bundled)"
hotspot-tasking ingest --bundled --quiet

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
# Open the browser once the server answers, when there is a desktop to open it on (not over ssh).
if [[ "$browser" == 1 && ( -n "${DISPLAY:-}${WAYLAND_DISPLAY:-}" || "$(uname -s)" == Darwin ) ]]; then
    ( "$venv/bin/python" - "$url" <<'PY'
import sys, time, urllib.request, webbrowser
url = sys.argv[1]
for _ in range(120):
    try:
        urllib.request.urlopen(url + "/_stcore/health", timeout=1)
    except OSError:
        time.sleep(0.5)
    else:
        webbrowser.open(url)
        break
PY
    ) &
    echo "quickstart: starting the dashboard on $url; your browser opens it when it is ready (Ctrl+C to stop)"
else
    echo "quickstart: starting the dashboard; open $url in your browser (Ctrl+C to stop)"
fi
exec streamlit run app.py \
    --server.address 127.0.0.1 \
    --server.port "$port" \
    --server.headless true \
    --server.enableStaticServing true
