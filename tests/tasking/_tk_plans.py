"""Hand-made plan dicts for the meeting-record, review and pack tests (not real data).

The plan has the shape ``plan_week`` returns (the parts records, review and
pack read): week, inputs, candidates with ``harm_<shift>`` keys, assignments,
duty, cameras, greedy, notes.  Coordinates are BNG metres inside RBKC.
"""

from __future__ import annotations

import copy
from pathlib import Path
from typing import Any

REPO = Path(__file__).resolve().parents[2]
WEEK = "2026-W48"
BOROUGH = "E09000020"
# cell c3504_1190 of the 150 m lattice: x 525600..525750, y 178500..178650 (inside RBKC)
CELL_X, CELL_Y = 3504, 1190


def _cand(cid: str, place_type: str, x: float, y: float, priority: float, **kw: Any) -> dict[str, Any]:
    return {"candidate_id": cid, "place_type": place_type, "name": kw.pop("name", cid), "ward_code": "E05009395",
            "x": x, "y": y, "source": "test", "cells": kw.pop("cells", ""), "n_incidents": 5,
            "expected_harm_week": priority, "top_categories": "burglary 100%", "trend_class": None, "concerns": "",
            "priority": priority, "harm_early": priority * 0.4, "harm_late": priority * 0.6, **kw}


def _assign(agent: str, cid: str, day: str, date: str, shift: str, visits: int, kind: str = "warden",
            place_type: str = "street") -> dict[str, Any]:
    return {"agent_id": agent, "kind": kind, "candidate_id": cid, "place_type": place_type, "ward_code": "E05009395",
            "day": day, "date": date, "shift": shift, "visits": visits, "minutes": 25.0 * visits,
            "expected_harm_shift": 1.5, "harm_covered": 0.5 * visits, "value": 0.5 * visits,
            "marginal_values": [0.5] * visits, "why": f"priority test; {agent} at {cid} {day} {shift}"}


def make_plan(*, week: str = WEEK, variant: int = 0) -> dict[str, Any]:
    """A small plan: two street patches, a park, a ward presence point; 5 assignments, 1 camera.

    ``variant`` changes one assignment's visits, giving a different plan (and sha256).
    """
    x0, y0 = CELL_X * 150 + 75.0, CELL_Y * 150 + 75.0
    cands = [
        _cand(f"ST-c{CELL_X}_{CELL_Y}", "street", x0, y0, 100.0, cells=f"c{CELL_X}_{CELL_Y},c{CELL_X + 1}_{CELL_Y}"),
        _cand(f"ST-c{CELL_X + 6}_{CELL_Y + 4}", "street", x0 + 900, y0 + 600, 40.0,
              cells=f"c{CELL_X + 6}_{CELL_Y + 4}"),
        _cand("PK-1000353", "park", 527900.0, 178200.0, 2.0, name="ROYAL HOSPITAL"),
        _cand("WP-E05009390", "street", 524500.0, 181000.0, 0.0, name="ward presence point"),
    ]
    st1, st2 = cands[0]["candidate_id"], cands[1]["candidate_id"]
    assignments = [
        _assign("W01", st1, "Mon", "2026-11-23", "early", 2 + variant),
        _assign("W01", st1, "Tue", "2026-11-24", "late", 1),
        _assign("W02", st2, "Mon", "2026-11-23", "late", 3),
        _assign("W02", "WP-E05009390", "Wed", "2026-11-25", "early", 1),
        _assign("PP01", "PK-1000353", "Wed", "2026-11-25", "early", 1, kind="parks_police", place_type="park"),
    ]
    return copy.deepcopy({
        "week": week, "dates": ["2026-11-23", "2026-11-24", "2026-11-25", "2026-11-26", "2026-11-27", "2026-11-28",
                                "2026-11-29"],
        "objective": 12.5 + variant, "dual_bound": 12.6 + variant, "gap": 0.008, "status": "optimal",
        "harm_covered": 12.5, "cctv_objective": 3.0, "objective_units": "test units",
        "timings_s": {"build": 0.01, "solve": 0.02},
        "notes": ["test plan: not real data"],
        "assignments": assignments,
        "duty": [{"agent_id": a["agent_id"], "day": a["day"], "date": a["date"], "shift": a["shift"]}
                 for a in assignments],
        "unassigned": [{"candidate_id": "ST-x", "place_type": "street", "priority": 1.0,
                        "reason": "excluded by the chair"}],
        "cameras": [{"camera_id": "CAM01", "site_id": f"S-{st1}", "x": x0, "y": y0, "status": "new",
                     "site_source": "GENERATED for test"}],
        "greedy": {"objective": 11.0}, "milp_vs_greedy": 0.136, "check": {"ok": True, "violations": []},
        "candidates": cands,
        "inputs": {"borough": BOROUGH, "cell_size_m": 150.0, "harm_index": "cchi", "months": ["2018-06"],
                   "hotspot_method": "kde", "n_incidents": 100, "pins": [], "exclusions": []},
    })
