"""Timed council logs: aoristic weights, weekly shift series and next week's time-of-day split (issue 16 item 5).

police.uk gives months only, so its forecasts stay monthly
(:mod:`spatial.forecast_select`).  Warden, parks-police and ASB logs carry a
time, or a span ("between 22:00 and 02:00"): such an incident is spread over
the hours it may have happened in by **aoristic** weights (Ratcliffe 2002): each
hour of the span gets the share of the span that falls in it, so an incident's
weights sum to 1.  Hours are Europe/London wall clock.

From those weights :func:`weekly_profiles` builds an ISO-week x day x hour
series, :func:`shift_weights` the per-incident weights per (ISO week, shift)
(``off`` for hours outside every shift), and :func:`forecast_week_profile`
forecasts next week's day x hour profile: plain averaging over all earlier
weeks (what the plan did before) or an exponentially weighted average with a
half-life chosen by a rolling-origin backtest over the weeks, scored by the
squared error of each week's shift shares; like the monthly selection a
candidate replaces plain averaging only if it beats it by more than one
standard error of the paired per-week difference.  Pure functions.
"""

from __future__ import annotations

import dataclasses
from collections.abc import Mapping, Sequence

import numpy as np
import pandas as pd

from spatial._errors import SchemaError
from spatial.schema import LONDON_TZ, OCCURRED_FROM, OCCURRED_TO

__all__ = ["MAX_SPAN_H", "MIN_WEEKS", "DEFAULT_SHIFTS", "WeekProfileForecast", "aoristic_hours", "shift_weights",
           "weekly_profiles", "forecast_week_profile", "iso_week"]

#: Longest span (hours) spread aoristically; longer records (police.uk months) are left out and counted.
MAX_SPAN_H = 12.0
#: Weeks of timed incidents before the backtest may choose a recency weighting.
MIN_WEEKS = 8
#: The roster's shifts (tasking/data/rbkc_roster.yaml): name -> (start hour, end hour), wall clock.
DEFAULT_SHIFTS: Mapping[str, tuple[float, float]] = {"early": (7.0, 15.0), "late": (15.0, 23.0)}


def _utc(v: pd.Series) -> pd.Series:
    if isinstance(v.dtype, pd.DatetimeTZDtype):
        return v.dt.tz_convert("UTC")
    return pd.to_datetime(v.astype("string").replace("", pd.NA), utc=True, errors="coerce", format="ISO8601")


def iso_week(ts: pd.Series) -> pd.Series:
    """``YYYY-Www`` ISO week labels of wall-clock timestamps."""
    iso = ts.dt.isocalendar()
    return iso["year"].astype(str) + "-W" + iso["week"].astype(int).map("{:02d}".format)


def aoristic_hours(incidents: pd.DataFrame, *, max_span_h: float = MAX_SPAN_H,
                   weights: np.ndarray | pd.Series | None = None) -> pd.DataFrame:
    """One row per (incident, wall-clock hour) it may have happened in: ``incident, hour, weight``.

    ``incident`` is the row position in ``incidents``; ``hour`` the wall-clock
    start of the hour; ``weight`` the share of the incident's span in that hour
    times its weight (default 1), so each incident's weights sum to its weight.
    An instant (``occurred_to`` equal to ``occurred_from``) puts all its weight on
    its hour.  Spans longer than ``max_span_h``, negative or unparsable ones are
    left out; ``attrs`` counts ``n_used`` and ``n_excluded``.
    """
    for c in (OCCURRED_FROM, OCCURRED_TO):
        if c not in incidents.columns:
            msg = f"incidents lack column {c!r}; aoristic weights need occurred_from and occurred_to"
            raise SchemaError(msg)
    if not np.isfinite(max_span_h) or max_span_h <= 0:
        msg = f"max_span_h was {max_span_h!r} but must be a positive number of hours"
        raise SchemaError(msg)
    w = np.ones(len(incidents)) if weights is None else np.asarray(weights, dtype=float)
    if w.shape != (len(incidents),):
        msg = f"weights have shape {w.shape} but there are {len(incidents)} incidents"
        raise SchemaError(msg)
    s_utc, e_utc = _utc(incidents[OCCURRED_FROM].reset_index(drop=True)), _utc(incidents[OCCURRED_TO].reset_index(drop=True))
    dur = (e_utc - s_utc).dt.total_seconds().to_numpy() / 3600.0
    use = np.isfinite(dur) & (dur >= 0) & (dur <= max_span_h + 1e-9)
    idx = np.flatnonzero(use)
    out_cols = ["incident", "hour", "weight"]
    if idx.size == 0:
        out = pd.DataFrame(columns=out_cols)
        out.attrs.update(n_used=0, n_excluded=int(len(incidents)))
        return out
    s = s_utc.iloc[idx].dt.tz_convert(LONDON_TZ).dt.tz_localize(None).to_numpy("datetime64[s]")
    d = dur[idx]
    h0 = s.astype("datetime64[h]")
    off = (s - h0).astype("timedelta64[s]").astype(float) / 3600.0  # position in the first hour
    n_h = np.where(d <= 0, 1, np.ceil(off + d - 1e-9).astype(int)).clip(min=1)
    rep = np.repeat(np.arange(idx.size), n_h)
    k = np.arange(rep.size) - np.repeat(np.cumsum(n_h) - n_h, n_h)  # hour number within the span
    lo = np.maximum(k, off[rep])
    hi = np.minimum(k + 1.0, off[rep] + d[rep])
    share = np.where(d[rep] <= 0, 1.0, (hi - lo) / np.where(d[rep] > 0, d[rep], 1.0))
    out = pd.DataFrame({"incident": idx[rep], "hour": h0[rep] + k.astype("timedelta64[h]"),
                        "weight": share * w[idx[rep]]})
    out = out.loc[out["weight"] > 0].reset_index(drop=True)
    out["hour"] = pd.to_datetime(out["hour"])
    out.attrs.update(n_used=int(idx.size), n_excluded=int(len(incidents) - idx.size))
    return out


def _shift_of_hour(hours: np.ndarray, shifts: Mapping[str, tuple[float, float]]) -> np.ndarray:
    """Shift name of each hour of day (``off`` outside every shift; shifts may cross midnight)."""
    out = np.full(hours.shape, "off", dtype=object)
    mid = hours + 0.5
    for name, (a, b) in shifts.items():
        inside = (mid >= a) & (mid < b) if a < b else (mid >= a) | (mid < b)
        out[inside & (out == "off")] = name
    return out


def shift_weights(incidents: pd.DataFrame, *, shifts: Mapping[str, tuple[float, float]] = DEFAULT_SHIFTS,
                  max_span_h: float = MAX_SPAN_H) -> pd.DataFrame:
    """Aoristic weight of each incident per (ISO week, shift): ``incident, iso_week, shift, weight``.

    Each used incident's weights sum to 1 (``off`` takes the hours outside
    every shift).  A shift crossing midnight keeps its after-midnight hours in
    the week of the hour itself.
    """
    a = aoristic_hours(incidents, max_span_h=max_span_h)
    if a.empty:
        out = pd.DataFrame(columns=["incident", "iso_week", "shift", "weight"])
        out.attrs.update(a.attrs)
        return out
    a = a.assign(iso_week=iso_week(a["hour"]).to_numpy(),
                 shift=_shift_of_hour(a["hour"].dt.hour.to_numpy(float), shifts))
    out = a.groupby(["incident", "iso_week", "shift"], sort=True, as_index=False)["weight"].sum()
    out.attrs.update(a.attrs)
    return out


def weekly_profiles(incidents: pd.DataFrame, *, weights: np.ndarray | pd.Series | None = None,
                    max_span_h: float = MAX_SPAN_H) -> tuple[np.ndarray, list[str]]:
    """ISO weeks x 7 days x 24 hours of aoristic counts, every week from the first to the last present."""
    a = aoristic_hours(incidents, max_span_h=max_span_h, weights=weights)
    if a.empty:
        return np.zeros((0, 7, 24)), []
    monday = (a["hour"].dt.normalize() - pd.to_timedelta(a["hour"].dt.day_of_week, unit="D"))
    weeks = pd.date_range(monday.min(), monday.max(), freq="7D")
    wi = ((monday - weeks[0]).dt.days // 7).to_numpy()
    arr = np.zeros((len(weeks), 7, 24))
    np.add.at(arr, (wi, a["hour"].dt.day_of_week.to_numpy(), a["hour"].dt.hour.to_numpy()), a["weight"].to_numpy())
    labels = iso_week(pd.Series(weeks)).tolist()
    return arr, labels


@dataclasses.dataclass(frozen=True)
class WeekProfileForecast:
    """Next week's 7 x 24 profile (shares summing to 1) and how it was chosen."""

    profile: np.ndarray
    method: str
    weeks: int
    first_week: str | None
    last_week: str | None
    backtest_error: float | None
    baseline_error: float | None
    origins: int
    fallback: str | None
    shift_shares: dict[str, float]

    def describe(self) -> str:
        span = f"{self.weeks} ISO week(s) {self.first_week}..{self.last_week}"
        if self.fallback:
            return f"time of day: average over {span} ({self.fallback})"
        how = "average over all earlier weeks" if self.method == "all_weeks" else \
            f"weeks weighted by recency (half-life {self.method[5:]} weeks)"
        split = ", ".join(f"{k} {100 * v:.0f} %" for k, v in self.shift_shares.items())
        return (f"time of day forecast for next week from {span}: {how}, chosen by a {self.origins}-week "
                f"backtest (shift-share error {self.backtest_error:.4f} vs {self.baseline_error:.4f} for the plain "
                f"average); split {split}")


def _weighted(arr: np.ndarray, half_life: float | None) -> np.ndarray:
    if half_life is None:
        return arr.sum(axis=0)
    age = np.arange(arr.shape[0])[::-1]
    return np.tensordot(0.5 ** (age / half_life), arr, axes=1)


def _shares(profile: np.ndarray, masks: Sequence[np.ndarray]) -> np.ndarray:
    tot = profile.sum()
    return np.array([profile[m].sum() / tot if tot > 0 else 0.0 for m in masks])


def forecast_week_profile(weekly: np.ndarray, labels: Sequence[str], *,
                          shifts: Mapping[str, tuple[float, float]] = DEFAULT_SHIFTS,
                          half_lives: Sequence[float] = (1.0, 2.0, 4.0, 8.0),
                          min_weeks: int = MIN_WEEKS, se_factor: float = 1.0) -> WeekProfileForecast:
    """Next week's day x hour profile from weekly aoristic profiles (see the module notes)."""
    if weekly.ndim != 3 or weekly.shape[1:] != (7, 24):
        msg = f"weekly profiles must be weeks x 7 x 24, got shape {weekly.shape}"
        raise SchemaError(msg)
    n = weekly.shape[0]
    hour_shift = _shift_of_hour(np.arange(24, dtype=float), shifts)
    names = [*shifts, "off"]
    masks = [np.broadcast_to(hour_shift == s, (7, 24)) for s in names]
    first, last = (labels[0], labels[-1]) if len(labels) else (None, None)

    def result(prof: np.ndarray, method: str, err: float | None, base: float | None, origins: int,
               fallback: str | None) -> WeekProfileForecast:
        tot = prof.sum()
        p = prof / tot if tot > 0 else np.full((7, 24), 1 / 168)
        sh = dict(zip(names, (round(float(v), 4) for v in _shares(p, masks))))
        return WeekProfileForecast(p, method, n, first, last, err, base, origins, fallback, sh)

    if n < int(min_weeks):
        return result(_weighted(weekly, None), "all_weeks", None, None, 0,
                      f"only {n} week(s) of timed incidents, recency weighting needs {min_weeks}")
    cands: dict[str, float | None] = {"all_weeks": None, **{f"ewm_h{h:g}": float(h) for h in half_lives}}
    start = max(2, int(min_weeks) // 2)
    errs: dict[str, list[float]] = {c: [] for c in cands}
    for t in range(start, n):
        actual = weekly[t]
        if actual.sum() <= 0:
            continue
        a = _shares(actual, masks)
        for c, h in cands.items():
            errs[c].append(float(np.sum((_shares(_weighted(weekly[:t], h), masks) - a) ** 2)))
    e = pd.DataFrame(errs)
    if len(e) < 3:
        return result(_weighted(weekly, None), "all_weeks", None, None, len(e),
                      f"only {len(e)} week(s) with timed incidents to backtest on")
    diff = e.sub(e["all_weeks"], axis=0)  # negative = better than plain averaging
    se = diff.std(ddof=1) / np.sqrt(len(e))
    ok = [c for c in cands if c == "all_weeks" or -diff[c].mean() > se_factor * se[c] + 1e-15]
    best = min(ok, key=lambda c: (e[c].mean(), list(cands).index(c)))
    return result(_weighted(weekly, cands[best]), best, float(e[best].mean()), float(e["all_weeks"].mean()),
                  len(e), None)
