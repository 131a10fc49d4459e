"""Benchmark of the tasking pack's PDF build on the bundled RBKC week (issue 15: PDF < 5 s).

Ingests the bundled data (``hotspot-tasking ingest --bundled``) into a
throwaway SQLite store, builds next week's plan as the Tasking page does
(``read_plan_inputs`` + ``plan_week`` + ``finish_plan``, bundled roster), then
times ``export_pack(format="pdf")`` - map, tables, WeasyPrint - ``--repeat``
times and prints the figures, the page count and the machine's load.

Run::

    nice .venv/bin/python bench/pack_speed.py [--repeat 3] [--week 2026-W49]
"""

from __future__ import annotations

import argparse
import datetime as dt
import os
import platform
import statistics
import subprocess
import tempfile
import time
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def main() -> int:
    ap = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    ap.add_argument("--repeat", type=int, default=3)
    ap.add_argument("--week", default="2026-W49")
    args = ap.parse_args()

    from hotspot_cli.main import main as cli
    from spatial.datasets import RBKC
    from spatial.store import connect
    from tasking.pack import build_pack, export_pack, pack_html, pack_pdf, plan_map_png
    from tasking.pipeline import finish_plan, plan_week, read_plan_inputs
    from tasking.resources import load_roster

    tmp = Path(tempfile.mkdtemp(prefix="bench_pack_"))
    url = f"sqlite:///{tmp / 'hotspot.sqlite'}"
    if cli(["--database", url, "ingest", "--bundled", "--quiet"]) != 0:
        raise SystemExit("ingest --bundled failed")
    engine = connect(url)
    inputs = read_plan_inputs(engine, borough=RBKC)
    t = time.perf_counter()
    plan = plan_week(inputs.incidents, roster=load_roster(None), wards=inputs.wards, area=inputs.area, week=args.week,
                     parks=inputs.parks, estates=inputs.estates, time_limit_s=60.0)
    finish_plan(plan, inputs, week=args.week)
    t_plan = time.perf_counter() - t

    runs: list[float] = []
    out = tmp / "pack.pdf"
    for _ in range(args.repeat):
        t = time.perf_counter()
        export_pack(plan, out, format="pdf", user="bench", role="analyst", wards=inputs.wards, area=inputs.area,
                    parks=inputs.parks)
        runs.append(time.perf_counter() - t)
    # where the time goes (one run)
    t = time.perf_counter()
    png = plan_map_png(plan, area=inputs.area, wards=inputs.wards, parks=inputs.parks)
    t_map = time.perf_counter() - t
    t = time.perf_counter()
    text = pack_html(build_pack(plan, map_png=png))
    t_html = time.perf_counter() - t
    t = time.perf_counter()
    pack_pdf(text)
    t_pdf = time.perf_counter() - t
    pages = None
    try:
        import pdfplumber

        with pdfplumber.open(out) as pdf:
            pages = len(pdf.pages)
    except ImportError:
        pass
    load = subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    print(f"# pack PDF on the bundled RBKC week {args.week} ({dt.datetime.now(dt.UTC):%Y-%m-%d %H:%M} UTC)")
    print(f"machine: {platform.processor() or platform.machine()}, {os.cpu_count()} CPUs; uptime: {load}")
    print(f"plan: {len(plan['assignments'])} assignments, {len(plan['candidates'])} candidates, "
          f"{inputs.months} months, built in {t_plan:.1f} s")
    print(f"export_pack(pdf) x{args.repeat}: median {statistics.median(runs):.2f} s, min {min(runs):.2f} s, "
          f"max {max(runs):.2f} s; {out.stat().st_size / 1024:.0f} KiB; pages {pages}")
    print(f"one run split: map {t_map:.2f} s, tables+HTML {t_html:.2f} s, WeasyPrint {t_pdf:.2f} s")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
