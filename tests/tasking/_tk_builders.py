"""Tiny hand-made tasking instances for the tests (builders in the movingpandas style).

Nothing here is real data: coordinates are invented BNG-like metres, harm values
are made up, and the roster is built in memory with :func:`roster_from_mapping`.
"""

from __future__ import annotations

from dataclasses import dataclass

import geopandas as gpd
import numpy as np
import pandas as pd
import shapely

from tasking.candidates import harm_column
from tasking.resources import Roster, roster_from_mapping

X0, Y0 = 525000.0, 178000.0


def roster_dict(*, wardens: int = 1, parks_officers: int = 0, shifts: tuple[str, ...] = ("early",),
                patrol_minutes: float = 60, contracted_hours: float = 37.5, min_on_duty: int = 0,
                home_radius_m: float | None = None, max_pair_distance_m: float | None = None,
                marginal_values: tuple[float, ...] = (1.0, 0.6, 0.35), cover: float = 0.25,
                cameras: int = 0, min_weeks: int = 4, wards: tuple[str, ...] = ("W_A", "W_B", "W_C")) -> dict:
    all_shifts = {"early": {"start": "07:00", "end": "15:00", "paid_hours": 7.5},
                  "late": {"start": "15:00", "end": "23:00", "paid_hours": 7.5}}
    return {
        "version": 1, "borough_code": "TEST",
        "shifts": all_shifts,
        "service": {"start": "07:00", "end": "23:00", "closed_on_bank_holidays": True, "bank_holidays": []},
        "rules": {"min_rest_hours": 11, "min_wardens_on_duty": min_on_duty},
        "wardens": {"supervisors": 0, "contracted_hours_week": contracted_hours,
                    "patrol_minutes_per_shift": patrol_minutes, "shifts": list(shifts),
                    "jurisdiction": ["street", "estate"], "home_radius_m": home_radius_m,
                    "max_pair_distance_m": max_pair_distance_m,
                    "roster": [{"id": f"W{i + 1}", "home_ward_code": wards[i % len(wards)]} for i in range(wardens)]},
        "parks_police": {"officers": parks_officers, "id_prefix": "PP", "contracted_hours_week": contracted_hours,
                         "patrol_minutes_per_shift": patrol_minutes, "shifts": list(shifts),
                         "jurisdiction": ["park"], "every_day": True},
        "dosage": {"visit_minutes": 15, "travel_minutes_per_visit": 10, "marginal_values": list(marginal_values),
                   "visit_cover_share": cover},
        "deployable_cctv": {"cameras": cameras, "min_deployment_weeks": min_weeks, "lead_time_weeks": 1,
                            "coverage_radius_m": 100, "sites": []},
        "fixed_cctv": {"monitored_start": "15:00", "monitored_end": "01:00", "coverage_radius_m": 100, "cameras": []},
        "planning": {"default_time_split": [{"start": "07:00", "end": "15:00", "share": 0.3},
                                            {"start": "15:00", "end": "23:00", "share": 0.45},
                                            {"start": "23:00", "end": "07:00", "share": 0.25}],
                     "default_day_shares": [1, 1, 1, 1, 1, 1, 1],
                     "trend_multipliers": {"default": 1.0}, "concern_multipliers": {"community_trigger": 1.5}},
    }


def make_roster(**kw) -> Roster:
    return roster_from_mapping(roster_dict(**kw), where="test-roster")


def make_wards(codes: tuple[str, ...] = ("W_A", "W_B", "W_C"), size_m: float = 1000.0) -> gpd.GeoDataFrame:
    """Square wards side by side along x, starting at (X0, Y0)."""
    geoms = [shapely.box(X0 + i * size_m, Y0, X0 + (i + 1) * size_m, Y0 + size_m) for i in range(len(codes))]
    return gpd.GeoDataFrame({"ward_code": list(codes), "ward_name": list(codes)}, geometry=geoms, crs="EPSG:27700")


@dataclass
class Cand:
    """One candidate: harm per week on (day, shift) pairs (everything else 0)."""

    cid: str
    place_type: str = "street"
    ward: str = "W_A"
    dx: float = 500.0
    dy: float = 500.0
    harm: dict | None = None  # {(day, shift): harm}
    priority_mult: float = 1.0


def make_candidates(cands: list[Cand], shifts: tuple[str, ...] = ("early", "late")) -> pd.DataFrame:
    rows = []
    for c in cands:
        row = {"candidate_id": c.cid, "place_type": c.place_type, "ward_code": c.ward, "x": X0 + c.dx,
               "y": Y0 + c.dy, "trend_class": None, "trend_multiplier": 1.0, "concern_multiplier": c.priority_mult,
               "concerns": "", "top_categories": "burglary 100%", "n_incidents": 1}
        total = 0.0
        for s in shifts:
            for d in range(7):
                h = (c.harm or {}).get((d, s), 0.0)
                row[harm_column(d, s)] = h
                total += h
        row["expected_harm_week"] = total
        row["priority"] = total * c.priority_mult
        rows.append(row)
    return pd.DataFrame(rows)


def random_tiny(seed: int, *, n_wardens: int = 2, n_cands: int = 3, with_park: bool = False):
    """Random tiny instance: harm on Monday early only; positions spread over 3 km."""
    rng = np.random.default_rng(seed)
    cands = []
    for i in range(n_cands):
        ptype = "park" if (with_park and i == n_cands - 1) else "street"
        cands.append(Cand(f"C{i}", ptype, ("W_A", "W_B", "W_C")[i % 3], dx=float(rng.uniform(0, 3000)),
                          dy=float(rng.uniform(0, 1000)), harm={(0, "early"): float(rng.uniform(1, 100))}))
    return cands
