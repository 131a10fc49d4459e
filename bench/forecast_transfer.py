"""Does the selected forecaster transfer?  Nested rolling-origin benchmark per area and crime group.

    python bench/forecast_transfer.py [--areas NAME ...] [--groups G ...] [--test-months 6]

Areas: every London borough of the police.uk API extract
(``$HOTSPOT_SHARED_DATA/policeuk/london_api``, 2017-07..2018-06) holding at
least 1 % of its points, Westminster + Hammersmith & Fulham (bundled
``data/policeuk/neighbours_api``), and the three West Kent districts for 2025
(``$HOTSPOT_SHARED_DATA/policeuk/west_kent/2025-*``; Kent's low 2018-11/12 are
not read).  150 m cells whose centre lies inside the area.  ``HOTSPOT_SHARED_DATA``
defaults to ``../shared/data`` relative to the repository.

For each of the last ``--test-months`` months ``t`` (each trained on all months
before it), :func:`spatial.forecast_select.select_forecaster` runs its own
rolling-origin backtest **on the months before t only** (nested), the choice
forecasts ``t``, and it is scored with hit rate, PAI and PEI at 1/5/10/20 % of
the area against counts over all earlier months and last month's counts; the
oracle ranks cells by month t's own counts.  Prints a markdown table.
"""

from __future__ import annotations

import argparse
import os
import sys
import time
from collections import Counter
from pathlib import Path

import numpy as np
import pandas as pd

ROOT = Path(__file__).resolve().parents[1]
sys.path.insert(0, str(ROOT))

from spatial import schema as S  # noqa: E402
from spatial.backtest import (  # noqa: E402
    cells_of_points,
    groups_from_taxonomy,
    read_policeuk_quick,
    square_grid,
)
from spatial.evaluation import evaluate  # noqa: E402
from spatial.forecast import monthly_counts  # noqa: E402
from spatial.forecast_select import (  # noqa: E402
    FALLBACK,
    _fit_blend,
    _hit,
    _norm,
    guarded_winner,
    one_se_winner,
    predict_choice,
    select_with_table,
)

#: Selection rules compared on the same inner tables (the product's default is "guard").
RULES = ("guard", "one_se", "one_se2", "counts")


def rule_picks(bt, se_factor: float) -> dict[str, str]:
    """What each rule picks from one inner backtest table (counts when the selection fell back)."""
    if bt is None:
        return {r: FALLBACK for r in RULES}
    t = bt.table
    return {"guard": guarded_winner(t, se_factor)[0], "one_se": one_se_winner(t, se_factor),
            "one_se2": one_se_winner(t, 2 * se_factor), "counts": FALLBACK}


def candidate_score(bt, name: str, x_hist: np.ndarray) -> np.ndarray:
    """Scores of candidate ``name`` for the month after ``x_hist`` (blend fitted on the inner origins)."""
    if name == "blend":
        fit = _fit_blend(bt.base_hr, bt.x, list(bt.base_hr.index), bt.memo, bt.k)
        if fit is None:
            return x_hist.sum(axis=1)
        a, b, w = fit
        fa, fb = bt.fns_params[a][0], bt.fns_params[b][0]
        return w * _norm(fa(x_hist)) + (1 - w) * _norm(fb(x_hist))
    return bt.fns_params[name][0](x_hist)

COVS = (0.01, 0.05, 0.10, 0.20)
CELL = 150.0


def shared_dir() -> Path:
    return Path(os.environ.get("HOTSPOT_SHARED_DATA", str(ROOT.parent / "shared" / "data")))


def areas(selected: set[str] | None) -> list[tuple[str, pd.DataFrame, object]]:
    """(name, points inside, boundary geometry) for every area of the benchmark."""
    import geopandas as gpd
    import shapely

    out = []
    sd = shared_dir()
    boroughs = gpd.read_file(sd / "boundaries" / "london_boroughs.geojson").to_crs(27700)
    lon = sorted((sd / "policeuk" / "london_api").glob("*.csv.gz"))
    if lon:
        pts = read_policeuk_quick(lon)
        geoms = np.asarray(boroughs.geometry.values, dtype=object)
        tree = shapely.STRtree(geoms)
        pi, ti = tree.query(shapely.points(pts[S.X].to_numpy(), pts[S.Y].to_numpy()), predicate="within")
        share = np.bincount(ti, minlength=len(geoms)) / max(len(pts), 1)
        for j in np.flatnonzero(share >= 0.01):
            name = str(boroughs["name"].iloc[j])
            if selected and name not in selected:
                continue
            out.append((name, pts.iloc[pi[ti == j]].reset_index(drop=True), geoms[j]))
    if not selected or "Westminster + H&F" in selected:
        wh = sorted((ROOT / "data" / "policeuk" / "neighbours_api").glob("*.csv*"))
        if wh:
            pts = read_policeuk_quick(wh)
            b = shapely.union_all(boroughs.loc[boroughs["gss_code"].isin(["E09000033", "E09000013"])].geometry.values)
            inside = shapely.contains_xy(b, pts[S.X].to_numpy(), pts[S.Y].to_numpy())
            out.append(("Westminster + H&F", pts.loc[inside].reset_index(drop=True), b))
    kent = sorted((sd / "policeuk" / "west_kent").glob("2025-*-kent-street-west-kent.csv"))
    if kent:
        pts = read_policeuk_quick(kent)
        districts = gpd.read_file(sd / "boundaries" / "west_kent_districts.geojson").to_crs(27700)
        for _, d in districts.iterrows():
            name = f"{d['name']} (Kent 2025)"
            if selected and name not in selected and str(d["name"]) not in selected:
                continue
            inside = shapely.contains_xy(d.geometry, pts[S.X].to_numpy(), pts[S.Y].to_numpy())
            out.append((name, pts.loc[inside].reset_index(drop=True), d.geometry))
    return out


def run_case(counts: pd.DataFrame, prior: np.ndarray | None, centres, n_test: int,
             se_factor: float = 1.0) -> dict[str, object]:
    x = counts.to_numpy(dtype=float)
    m = x.shape[1]
    k = int(np.floor(0.05 * x.shape[0] * (1 + 1e-12)))
    rows = []
    rule_rows = []
    chosen: Counter[str] = Counter()
    sel_s, fit_s = [], []
    for t in range(m - n_test, m):
        hist = counts.iloc[:, :t]
        t0 = time.perf_counter()
        ch, bt = select_with_table(hist, centres=centres, prior=None if prior is None else prior[:, :t],
                                   se_factor=se_factor)
        t1 = time.perf_counter()
        s = predict_choice(ch, hist, centres=centres, prior=None if prior is None else prior[:, :t])
        t2 = time.perf_counter()
        sel_s.append(t1 - t0)
        fit_s.append(t2 - t1)
        chosen[ch.method if not ch.fallback else f"{ch.method} (fallback)"] += 1
        y = x[:, t]
        if y.sum() <= 0:
            continue
        ev = evaluate(s, y, coverages=COVS).set_index("coverage")
        ca = evaluate(x[:, :t].sum(axis=1), y, coverages=(0.05,)).iloc[0]
        la = evaluate(x[:, t - 1], y, coverages=(0.05,)).iloc[0]
        row = {"auto": ev.loc[0.05, "hit_rate"], "counts": ca["hit_rate"], "last": la["hit_rate"],
               "oracle": ev.loc[0.05, "n_star"] / ev.loc[0.05, "N"]}
        for c in COVS:
            row[f"pai{c:g}"] = ev.loc[c, "pai"]
            row[f"pei{c:g}"] = ev.loc[c, "pei"]
        rows.append(row)
        picks = rule_picks(bt, se_factor)
        assert picks["guard"] == ch.method, (picks, ch.method)
        rr = {}
        for r, name in picks.items():
            sc = s if name == ch.method else (x[:, :t].sum(axis=1) if bt is None else candidate_score(bt, name, x[:, :t]))
            rr[r] = _hit(np.asarray(sc, dtype=float), y, k)
        rule_rows.append(rr)
    df = pd.DataFrame(rows)
    rules = pd.DataFrame(rule_rows).mean()
    p_counts = paired_p(df["auto"].to_numpy(), df["counts"].to_numpy()) if len(df) else float("nan")
    mean = df.mean()
    gap = mean["oracle"] - mean["counts"]
    return {"mean": mean, "chosen": chosen, "sel_s": float(np.mean(sel_s)), "fit_s": float(np.mean(fit_s)),
            "gap_closed": (mean["auto"] - mean["counts"]) / gap if gap > 0 else np.nan, "k": k,
            "tests": len(df), "rules": rules, "p_counts": p_counts}


def paired_p(a: np.ndarray, b: np.ndarray) -> float:
    """Two-sided exact sign-flip p of the mean paired difference ``a - b`` over the test months.

    Every one of the 2^n sign patterns of the monthly differences is enumerated (n = 6 gives 64, so the
    smallest p is 2/64 = 0.031: only a difference in the same direction in every month can reach 5 %).
    """
    from scipy.stats import permutation_test

    d = np.asarray(a, float) - np.asarray(b, float)
    if not np.any(np.abs(d) > 1e-12):
        return 1.0
    res = permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided", n_resamples=np.inf)
    return float(res.pvalue)


def main(argv: list[str] | None = None) -> int:
    ap = argparse.ArgumentParser(description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter)
    ap.add_argument("--areas", nargs="*", help="area names (default all)")
    ap.add_argument("--groups", nargs="*", help="groups (default all seven)")
    ap.add_argument("--test-months", type=int, default=6)
    ap.add_argument("--se-factor", type=float, default=1.0, help="selection's standard-error rule (default 1)")
    a = ap.parse_args(argv)
    t_all = time.perf_counter()
    groups = groups_from_taxonomy()
    if a.groups:
        groups = {g: v for g, v in groups.items() if g in set(a.groups)}
    print(f"Nested rolling-origin benchmark, {CELL:g} m cells inside each area, last {a.test_months} months each "
          "trained on all earlier months; selection inside the training months only. HR = hit rate at 5 % of area "
          "(mean over test months); p = exact paired sign-flip p of HR sel - HR counts over the test months; "
          "gap = share of the oracle gap over plain counts closed; PAI/PEI of the "
          "selected forecaster at 1/5/10/20 %; sel = mean seconds per selection, fit = per fit+predict.\n")
    head = ["area", "cells", "months", "group", "incid.", "HR sel", "HR counts", "HR last", "HR oracle",
            "Δ vs counts", "p", "gap", "PAI 1/5/10/20", "PEI 1/5/10/20", "chosen", "sel s", "fit s"]
    print("| " + " | ".join(head) + " |")
    print("|" + "|".join(["---"] * 4 + ["---:"] * 8 + ["---"] * 3 + ["---:"] * 2) + "|")
    summary = []
    for name, pts, boundary in areas(set(a.areas) if a.areas else None):
        grid = square_grid(pts[S.X].to_numpy(), pts[S.Y].to_numpy(), cell_size_m=CELL, boundary=boundary)
        pts = pts.assign(**{S.WARD_CODE: cells_of_points(grid, pts[S.X].to_numpy(), pts[S.Y].to_numpy(), CELL)})
        units = pd.Index(grid["cell_id"].astype(str).to_numpy(dtype=object))
        centres = ((grid["x_min"].to_numpy() + grid["x_max"].to_numpy()) / 2,
                   (grid["y_min"].to_numpy() + grid["y_max"].to_numpy()) / 2)
        allc = monthly_counts(pts, units, exclude_proactive=True)
        for g, cats in groups.items():
            counts = allc if cats is None else monthly_counts(pts, units, categories=cats, exclude_proactive=True,
                                                              months=list(allc.columns))
            prior = None if cats is None else allc.to_numpy(dtype=float)
            r = run_case(counts, prior, centres, a.test_months, se_factor=a.se_factor)
            mn = r["mean"]
            chosen = ", ".join(f"{k}×{v}" for k, v in r["chosen"].most_common())
            print("| " + " | ".join([
                name, str(len(grid)), str(counts.shape[1]), g, str(int(counts.to_numpy().sum())),
                f"{100 * mn['auto']:.1f}", f"{100 * mn['counts']:.1f}", f"{100 * mn['last']:.1f}",
                f"{100 * mn['oracle']:.1f}", f"{100 * (mn['auto'] - mn['counts']):+.1f}",
                f"{r['p_counts']:.2f}",
                f"{100 * r['gap_closed']:.0f} %",
                "/".join(f"{mn[f'pai{c:g}']:.1f}" for c in COVS),
                "/".join(f"{mn[f'pei{c:g}']:.2f}" for c in COVS),
                chosen, f"{r['sel_s']:.2f}", f"{r['fit_s']:.3f}"]) + " |", flush=True)
            summary.append({"area": name, "group": g, "auto": mn["auto"], "counts": mn["counts"],
                            "last": mn["last"], "gap": r["gap_closed"], "p_counts": r["p_counts"],
                            **{f"rule_{k}": v for k, v in r["rules"].items()}})
    s = pd.DataFrame(summary)
    if len(s):
        beat_c = int((s["auto"] >= s["counts"] - 1e-12).sum())
        beat_l = int((s["auto"] >= s["last"] - 1e-12).sum())
        print(f"\n{len(s)} area x group cases: selected >= counts in {beat_c}, >= last month in {beat_l}; "
              f"mean HR selected {100 * s['auto'].mean():.2f} % vs counts {100 * s['counts'].mean():.2f} % vs "
              f"last month {100 * s['last'].mean():.2f} %; median gap closed {100 * s['gap'].median():.0f} %")
        below, above = s["auto"] < s["counts"] - 1e-12, s["auto"] > s["counts"] + 1e-12
        sig = s["p_counts"] <= 0.05
        print(f"Paired over each case's test months (exact sign-flip, two-sided, 5 %): {int((below & sig).sum())} "
              f"of the {int(below.sum())} cases below counts are significantly below; {int((above & sig).sum())} "
              f"of the {int(above.sum())} above are significantly above")
        from scipy.stats import permutation_test

        d = (s["auto"] - s["counts"]).to_numpy()
        pooled = permutation_test((d,), np.mean, permutation_type="samples", alternative="two-sided",
                                  n_resamples=20_000, random_state=np.random.default_rng(16)).pvalue
        print(f"Across the {len(s)} cases (one mean difference each; sign-flip, 20,000 draws, seed 16): mean "
              f"{100 * d.mean():+.2f} points, p = {pooled:.4f}")
        for g, b in s.groupby("group", sort=False):
            print(f"- {g}: selected {100 * b['auto'].mean():.2f} % vs counts {100 * b['counts'].mean():.2f} % "
                  f"({int((b['auto'] >= b['counts'] - 1e-12).sum())}/{len(b)} >= counts)")
        print("\nSelection rules on the same inner tables (hit rate at 5 %, mean over test months; "
              "'guard' is the product's default):")
        for rname in RULES:
            v = s[f"rule_{rname}"]
            print(f"- {rname}: mean {100 * v.mean():.2f} %, >= counts in {int((v >= s['counts'] - 1e-12).sum())}"
                  f"/{len(s)}, >= last month in {int((v >= s['last'] - 1e-12).sum())}/{len(s)}, worst "
                  f"{100 * (v - s['counts']).min():+.2f} points vs counts")
    print(f"\ntotal {time.perf_counter() - t_all:.0f} s")
    return 0


if __name__ == "__main__":
    sys.exit(main())
