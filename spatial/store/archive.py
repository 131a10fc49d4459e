"""Writes of the police.uk archive's other files, inside the file's one transaction.

* :func:`insert_outcomes` keeps every outcome row (``outcomes``: the history);
  :func:`apply_latest_outcomes` then sets ``incidents.outcome`` of the stored crimes
  of those Crime IDs to the outcome of their latest month (ties: the row ingested last).
* :func:`refresh_outcomes` is for a re-released street month: rows already stored
  take the file's ``Last outcome category`` (the newer release wins).
* :func:`insert_stop_searches` stores stop-and-search rows (their own dataset).

A crime recorded under two categories is stored as ``<Crime ID>`` and
``<Crime ID>/<category>`` (:class:`spatial.ingest.rows.IdAssigner`); both get its outcome.
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Connection, bindparam, select, update

from spatial.store import tables as T
from spatial.store.writer import _insert_ignore

__all__ = ["OUTCOME_ROW_COLUMNS", "STOP_SEARCH_ROW_COLUMNS", "insert_outcomes", "apply_latest_outcomes",
           "refresh_outcomes", "insert_stop_searches"]

OUTCOME_ROW_COLUMNS = ("crime_id", "month", "outcome_type", "reported_by", "falls_within", "lsoa_code")
STOP_SEARCH_ROW_COLUMNS = ("search_id", "force", "searched_at", "month", "search_type", "policing_operation",
                           "x", "y", "lon", "lat", "ward_code", "lsoa_code", "gender", "age_range",
                           "self_defined_ethnicity", "officer_defined_ethnicity", "legislation", "object_of_search",
                           "outcome", "outcome_linked", "outer_clothing_removed")


def _tuples(rows: pd.DataFrame, columns: tuple[str, ...]) -> list[tuple]:
    cols = []
    for c in columns:
        v = rows[c].to_numpy(dtype=object)
        miss = np.asarray(pd.isna(v), dtype=bool)
        if miss.any():
            v = v.copy()
            v[miss] = None
        cols.append(v.tolist())
    return list(zip(*cols))


def insert_outcomes(conn: Connection, rows: pd.DataFrame, ingest_id: int) -> int:
    """Store outcome rows (``crime_id, month, outcome_type, ...``); return how many were new."""
    if rows.empty:
        return 0
    return _insert_ignore(conn, "outcomes", OUTCOME_ROW_COLUMNS, _tuples(rows, OUTCOME_ROW_COLUMNS),
                          constants={"ingest_id": ingest_id}, conflict="(crime_id, month, outcome_type)")


def _set_outcomes(conn: Connection, pairs: list[tuple[str, str | None]]) -> int:
    """Set ``outcome`` of the incidents ``<id>`` and ``<id>/<category>``; return how many rows changed."""
    if not pairs:
        return 0
    i = T.incidents
    exact = (update(i).where(i.c.incident_id == bindparam("cid"), i.c.outcome.is_distinct_from(bindparam("o")))
             .values(outcome=bindparam("o")))
    # "<id>/<category>": the primary-key range from "<id>/" up to "<id>0" ('0' follows '/')
    split = (update(i).where(i.c.incident_id > bindparam("lo"), i.c.incident_id < bindparam("hi"),
                             i.c.outcome.is_distinct_from(bindparam("o")))
             .values(outcome=bindparam("o")))
    params = [{"cid": c, "o": o} for c, o in pairs]
    changed = conn.execute(exact, params).rowcount
    changed += conn.execute(split, [{"lo": c + "/", "hi": c + "0", "o": o} for c, o in pairs]).rowcount
    return int(changed)


def apply_latest_outcomes(conn: Connection, crime_ids: list[str]) -> int:
    """Give the stored crimes of ``crime_ids`` the outcome of their latest month; return incidents changed."""
    if not crime_ids:
        return 0
    o = T.outcomes
    latest: dict[str, tuple[str, int, str]] = {}
    ids = sorted(set(crime_ids))
    for start in range(0, len(ids), 5_000):
        part = ids[start:start + 5_000]
        q = select(o.c.crime_id, o.c.month, o.c.outcome_row_id, o.c.outcome_type).where(o.c.crime_id.in_(part))
        for cid, month, rid, kind in conn.execute(q):
            best = latest.get(cid)
            if best is None or (month, rid) > best[:2]:
                latest[cid] = (month, rid, kind)
    return _set_outcomes(conn, [(cid, v[2]) for cid, v in latest.items()])


def refresh_outcomes(conn: Connection, ids: np.ndarray, outcomes: np.ndarray) -> int:
    """Rows of a re-released street file already stored: take its outcome; return incidents changed."""
    if len(ids) == 0:
        return 0
    i = T.incidents
    stmt = (update(i).where(i.c.incident_id == bindparam("cid"), i.c.outcome.is_distinct_from(bindparam("o")))
            .values(outcome=bindparam("o")))
    params = [{"cid": c, "o": (None if o is None or (isinstance(o, float) and np.isnan(o)) else o)}
              for c, o in zip(ids.tolist(), outcomes.tolist())]
    return int(conn.execute(stmt, params).rowcount)


def insert_stop_searches(conn: Connection, rows: pd.DataFrame, ingest_id: int) -> int:
    """Store stop-and-search rows; return how many were new (the rest were stored before)."""
    if rows.empty:
        return 0
    return _insert_ignore(conn, "stop_searches", STOP_SEARCH_ROW_COLUMNS, _tuples(rows, STOP_SEARCH_ROW_COLUMNS),
                          constants={"ingest_id": ingest_id}, conflict="(search_id)")
