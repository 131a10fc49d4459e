"""``hotspot-tasking dashboard [--port N]``: start the Streamlit dashboard of this install.

Finds ``app.py`` (and its ``ui/pages/`` and ``static/``) in the clone or, from an
installed wheel, in the ``hotspot_assets`` package (:func:`spatial.config.bundle_root`),
so it works from any folder.  The store is ``--database`` / ``DATABASE_URL`` as for
every command; the dashboard serves ``static/`` for the offline map.
"""

from __future__ import annotations

import argparse
import os
import subprocess
import sys

from spatial._errors import HotspotError

__all__ = ["add_parser", "cmd_dashboard", "streamlit_command"]


def streamlit_command(app: str, *, port: int, address: str) -> list[str]:
    """The ``python -m streamlit run`` command line of the dashboard."""
    return [sys.executable, "-m", "streamlit", "run", app, "--server.address", address,
            "--server.port", str(port), "--server.headless", "true", "--server.enableStaticServing", "true",
            "--browser.gatherUsageStats", "false", "--client.toolbarMode", "minimal"]


def cmd_dashboard(args: argparse.Namespace) -> int:
    from spatial.config import bundle_root, settings_from_args

    settings = settings_from_args(args)
    root = bundle_root()
    app = root / "app.py"
    if not app.is_file() or not (root / "ui" / "pages").is_dir():
        msg = (f"the dashboard files are not installed ({app} is missing); reinstall hotspot-tasking from a wheel "
               "built with `python -m build --wheel`, or run from a clone")
        raise HotspotError(msg)
    if not 0 < args.port < 65536:
        msg = f"--port was {args.port}; give a TCP port from 1 to 65535"
        raise HotspotError(msg)
    env = {**os.environ, "DATABASE_URL": settings.database_url, "HOTSPOT_DATA_DIR": str(settings.data_dir)}
    cmd = streamlit_command(str(app), port=args.port, address=args.address)
    print(f"hotspot-tasking dashboard: http://{args.address}:{args.port} (Ctrl+C to stop); app {app}", flush=True)
    if os.name == "posix":
        # become the server: a stop signal (systemd, a terminal, a test) reaches Streamlit itself, so stopping the
        # command stops the dashboard (as a child process it was left running, holding its port)
        os.execve(cmd[0], cmd, env)
    try:
        return subprocess.call(cmd, env=env)
    except KeyboardInterrupt:
        return 0


def add_parser(sub: argparse._SubParsersAction) -> None:
    p = sub.add_parser("dashboard", help="start the dashboard (Streamlit) on this machine")
    p.add_argument("--port", type=int, default=8501, help="TCP port (default 8501)")
    p.add_argument("--address", default="127.0.0.1", help="address to listen on (default 127.0.0.1; 0.0.0.0 for all)")
    p.set_defaults(func=cmd_dashboard)
