"""Read queries used by the CLI and the dashboard.

Sensitive categories never leave these functions as points: ``map_incidents``
filters them out in SQL, and aggregate counts of sensitive categories are
suppressed below :data:`SUPPRESS_BELOW` (shown as "fewer than 5").
"""

from __future__ import annotations

import numpy as np
import pandas as pd
from sqlalchemy import Engine, func, select

from spatial import schema as S
from spatial.store import tables as T

__all__ = ["SUPPRESS_BELOW", "suppressed_label", "map_incidents", "ward_category_counts", "status_tables", "quarantine_rows",
           "incident_frame", "months_available", "area_counts", "suppress_small", "source_month_counts",
           "force_month_gaps"]

#: Counts of sensitive categories from 1 to SUPPRESS_BELOW - 1 are suppressed.
SUPPRESS_BELOW = 5

_I = T.incidents


def _where(q, *, ward_codes: list[str] | None = None, months: list[str] | None = None,
           categories: list[str] | None = None):
    """Add the optional ward, month and category filters shared by the queries."""
    if ward_codes:
        q = q.where(_I.c.ward_code.in_(ward_codes))
    if months:
        q = q.where(_I.c.month.in_(months))
    if categories:
        q = q.where(_I.c.category.in_(categories))
    return q


def map_incidents(engine: Engine, *, ward_codes: list[str] | None = None, months: list[str] | None = None,
                  categories: list[str] | None = None, limit: int | None = None) -> pd.DataFrame:
    """Non-sensitive incidents as points for a map (sensitive rows are never returned).

    Columns: ``incident_id, category, month, lon, lat, x, y, ward_code, location_text``.
    """
    q = (select(_I.c.incident_id, _I.c.category, _I.c.month, _I.c.lon, _I.c.lat, _I.c.x, _I.c.y,
                _I.c.ward_code, _I.c.location_text)
         .where(_I.c.sensitive.is_(False)))
    q = _where(q, ward_codes=ward_codes, months=months, categories=categories).order_by(_I.c.month, _I.c.incident_id)
    if limit:
        q = q.limit(limit)
    with engine.connect() as conn:
        return pd.read_sql(q, conn)


def incident_frame(engine: Engine, *, include_sensitive: bool = False, months: list[str] | None = None,
                   include_not_asb: bool = False) -> pd.DataFrame:
    """Canonical incident rows (for analysis), optionally without sensitive rows.

    Reports that are not ASB under the landlord's policy (the ``not-asb``
    taxonomy group, :mod:`spatial.not_asb`) are stored and counted but left out
    here unless ``include_not_asb``: hotspots, forecasts and plans never see them.
    """
    from spatial.not_asb import not_asb_slugs

    q = select(*[_I.c[c] for c in S.INCIDENT_COLUMNS])
    if not include_sensitive:
        q = q.where(_I.c.sensitive.is_(False))
    if not include_not_asb:
        q = q.where(_I.c.category.notin_(sorted(not_asb_slugs())))
    q = _where(q, months=months)
    with engine.connect() as conn:
        return pd.read_sql(q, conn)


def ward_category_counts(engine: Engine, *, ward_codes: list[str] | None = None,
                         months: list[str] | None = None, categories: list[str] | None = None) -> pd.DataFrame:
    """Counts by ward and category with small sensitive counts suppressed.

    Columns ``ward_code, category, sensitive, count, display``; ``count`` is
    ``None`` and ``display`` "fewer than 5" where a sensitive count is 1-4.
    """
    q = (select(_I.c.ward_code, _I.c.category, _I.c.sensitive, func.count().label("count"))
         .group_by(_I.c.ward_code, _I.c.category, _I.c.sensitive))
    q = _where(q, ward_codes=ward_codes, months=months, categories=categories)
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    return suppress_small(df)


def suppressed_label(below: int = SUPPRESS_BELOW) -> str:
    """What a suppressed count reads everywhere, screens and exports alike: "fewer than 5"."""
    return f"fewer than {below}"


def suppress_small(df: pd.DataFrame) -> pd.DataFrame:
    """Add ``display`` to a frame of ``sensitive, count`` rows; sensitive counts 1-4 become "fewer than 5".

    ``count`` is set to ``None`` where it is suppressed, so the number never
    leaves the query.  Used by every aggregate query that can hold sensitive rows.

    Secondary suppression (:func:`spatial.disclosure.protect_table`): when the
    frame has two key columns (``ward_code, category``; ``source, month``) the
    sensitive counts form a table whose row and column totals a reader may know
    (the Overview's borough totals), so the next-smallest sensitive counts are
    withheld too (``display`` "withheld", ``count`` None) until no "fewer than 5"
    can be worked out by subtraction.
    """
    from spatial.disclosure import WITHHELD, protect_table

    df = df.copy().reset_index(drop=True)
    df["sensitive"] = df["sensitive"].astype(bool)
    small = df["sensitive"] & (df["count"] < SUPPRESS_BELOW) & (df["count"] > 0)
    withheld = pd.Series(False, index=df.index)
    keys = [c for c in df.columns if c not in ("sensitive", "count", "display")]
    sens = df[df["sensitive"]]
    if len(keys) == 2 and small.any():
        table = sens.pivot_table(index=keys[0], columns=keys[1], values="count", aggfunc="sum", fill_value=0)
        p = protect_table(table.to_numpy(dtype="int64"), np.ones(table.shape[1], dtype=bool), below=SUPPRESS_BELOW)
        hidden = {(r, c) for i, r in enumerate(table.index) for j, c in enumerate(table.columns) if p.secondary[i, j]}
        withheld = df["sensitive"] & pd.Series([(a, b) in hidden for a, b in zip(df[keys[0]], df[keys[1]], strict=True)],
                                               index=df.index)
    elif small.any() and len(sens) > 1:
        # one key: the column total is known; protect the single column
        p = protect_table(sens[["count"]].to_numpy(dtype="int64"), np.ones(1, dtype=bool), below=SUPPRESS_BELOW, row_totals=False)
        withheld.loc[sens.index[p.secondary[:, 0]]] = True
    df["display"] = df["count"].astype(str)
    df.loc[withheld, "display"] = WITHHELD
    df.loc[small, "display"] = suppressed_label()
    df["count"] = df["count"].astype(object)
    df.loc[small | withheld, "count"] = None
    return df


def source_month_counts(engine: Engine) -> pd.DataFrame:
    """Incidents by source, month and sensitivity, with small sensitive counts suppressed (:func:`suppress_small`).

    Columns ``source, month, sensitive, count, display``.
    """
    q = (select(_I.c.source, _I.c.month, _I.c.sensitive, func.count().label("count"))
         .group_by(_I.c.source, _I.c.month, _I.c.sensitive).order_by(_I.c.source, _I.c.month))
    with engine.connect() as conn:
        df = pd.read_sql(q, conn)
    return suppress_small(df)


def months_available(engine: Engine, *, include_sensitive: bool = True,
                     ward_codes: list[str] | None = None) -> list[str]:
    """Months that hold incidents (only mappable, non-sensitive ones if ``include_sensitive`` is false)."""
    q = select(_I.c.month).distinct().order_by(_I.c.month)
    if not include_sensitive:
        q = q.where(_I.c.sensitive.is_(False))
    q = _where(q, ward_codes=ward_codes)
    with engine.connect() as conn:
        return [r[0] for r in conn.execute(q)]


def status_tables(engine: Engine) -> dict[str, pd.DataFrame]:
    """What is stored: by source, month, category and ward; quarantine, rows outside the area (per file,
    counted at ingest, no text kept) and recent ingests."""
    with engine.connect() as conn:
        by = {}
        for name, col in (("source", _I.c.source), ("month", _I.c.month), ("category", _I.c.category),
                          ("ward", _I.c.ward_code)):
            by[name] = pd.read_sql(select(col.label(name), func.count().label("incidents"))
                                   .group_by(col).order_by(col), conn)
        by["quarantine"] = pd.read_sql(
            select(T.quarantine.c.path, func.count().label("rows")).group_by(T.quarantine.c.path)
            .order_by(T.quarantine.c.path), conn)
        by["outside"] = pd.read_sql(
            select(T.ingests.c.path, func.sum(T.ingests.c.outside).label("rows")).where(T.ingests.c.outside > 0)
            .group_by(T.ingests.c.path).order_by(T.ingests.c.path), conn)
        by["ingests"] = pd.read_sql(
            select(T.ingests.c.ingest_id, T.ingests.c.path, T.ingests.c.kind, T.ingests.c.status,
                   T.ingests.c.rows_read, T.ingests.c.stored, T.ingests.c.duplicates, T.ingests.c.quarantined, T.ingests.c.outside)
            .order_by(T.ingests.c.ingest_id.desc()).limit(50), conn)
        by["area_counts"] = pd.read_sql(
            select(T.area_counts.c.dataset, T.area_counts.c.area_type, func.count().label("values"),
                   func.min(T.area_counts.c.month).label("first_month"),
                   func.max(T.area_counts.c.month).label("last_month"))
            .group_by(T.area_counts.c.dataset, T.area_counts.c.area_type), conn)
        held = pd.read_sql(select(_I.c.reported_by.label("force"), _I.c.month).where(_I.c.reported_by.is_not(None))
                           .group_by(_I.c.reported_by, _I.c.month), conn)
        by["force_months"] = force_month_gaps(held)
        ss = T.stop_searches.c
        by["stop_search"] = pd.read_sql(
            select(ss.force, func.count().label("searches"), func.min(ss.month).label("first_month"),
                   func.max(ss.month).label("last_month")).group_by(ss.force).order_by(ss.force), conn)
        by["outcomes"] = pd.read_sql(
            select(func.count().label("outcome_rows"), func.count(T.outcomes.c.crime_id.distinct()).label("crimes"),
                   func.max(T.outcomes.c.month).label("latest_month")), conn)
    return by


def force_month_gaps(held: pd.DataFrame) -> pd.DataFrame:
    """Per force: first and last month held, months held, and the months missing between them.

    ``held`` has one row per ``force, month`` stored (police.uk's ``Reported by``).

    Examples
    --------
    >>> force_month_gaps(pd.DataFrame({"force": ["Kent Police"] * 3, "month": ["2024-01", "2024-02", "2024-05"]}))
             force first_month last_month  months_held    missing_months
    0  Kent Police     2024-01    2024-05            3  2024-03, 2024-04
    """
    rows = []
    for force, g in held.groupby("force", sort=True):
        months = sorted(set(g["month"]))
        span = pd.period_range(months[0], months[-1], freq="M").strftime("%Y-%m").tolist()
        missing = [m for m in span if m not in set(months)]
        rows.append({"force": force, "first_month": months[0], "last_month": months[-1], "months_held": len(months),
                     "missing_months": ", ".join(missing) if missing else "none"})
    return pd.DataFrame(rows, columns=["force", "first_month", "last_month", "months_held", "missing_months"])


def quarantine_rows(engine: Engine, *, path_contains: str | None = None, limit: int = 100) -> pd.DataFrame:
    """Rejected rows with file, row number, field and reason (newest first)."""
    q = select(T.quarantine.c.path, T.quarantine.c.row_number, T.quarantine.c.field, T.quarantine.c.reason,
               T.quarantine.c.raw).order_by(T.quarantine.c.quarantine_id.desc()).limit(limit)
    if path_contains:
        q = q.where(T.quarantine.c.path.contains(path_contains))
    with engine.connect() as conn:
        return pd.read_sql(q, conn)


def area_counts(engine: Engine, *, area_type: str | None = None, datasets: list[str] | None = None) -> pd.DataFrame:
    """Stored MPS monthly counts: ``dataset, area_type, area_code, area_name, major, minor, month, count``."""
    c = T.area_counts.c
    q = select(c.dataset, c.area_type, c.area_code, c.area_name, c.major, c.minor, c.month, c["count"])
    if area_type:
        q = q.where(c.area_type == area_type)
    if datasets:
        q = q.where(c.dataset.in_(datasets))
    with engine.connect() as conn:
        return pd.read_sql(q, conn)


def month_category_counts(engine: Engine, *, ward_codes: list[str] | None = None) -> pd.DataFrame:
    """Stored incidents per month and category (months x categories, zeros filled), optionally only those
    attributed to ``ward_codes`` (an area's wards).  The input of :func:`spatial.trends.low_months`."""
    q = select(_I.c.month, _I.c.category, func.count().label("n")).group_by(_I.c.month, _I.c.category)
    if ward_codes is not None:
        q = q.where(_I.c.ward_code.in_(list(ward_codes)))
    with engine.connect() as conn:
        long = pd.read_sql(q, conn)
    if long.empty:
        return pd.DataFrame()
    return long.pivot_table(index="month", columns="category", values="n", aggfunc="sum", fill_value=0).sort_index()
