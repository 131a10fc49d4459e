"""Retention: remove incidents and quarantined rows older than the council's retention period.

UK GDPR's storage-limitation principle: personal data are kept no longer than
needed.  A council sets its period in whole months (``--months`` or
``HOTSPOT_RETENTION_MONTHS``); the current month and the ``months`` months
before it are kept (:func:`spatial.config.retention_cutoff`).

What goes:

* incidents whose month is before the cutoff (by the month they happened);
* quarantined rows of files ingested before the cutoff's first day (a
  rejected row may have no valid date, so its age is the file's arrival).

What stays: the ``ingests`` records (file names, hashes and counts, no
personal data), the MPS aggregate series (counts by area), meeting records,
and the audit log (append-only; the purge itself is recorded there with what
it removed).  Rows older than the period are also refused at ingest while the
setting is on, so a re-ingested archive cannot bring them back.

Everything is removed in one transaction with the audit row; ``dry_run``
reports what would go and changes nothing.
"""

from __future__ import annotations

from dataclasses import dataclass

import pandas as pd
from sqlalchemy import Engine, delete, func, select

from spatial._errors import HotspotError
from spatial.config import retention_cutoff

from . import audit
from . import tables as T

__all__ = ["PurgeReport", "purge"]


@dataclass(frozen=True)
class PurgeReport:
    """What a purge removed (or, for a dry run, would remove)."""

    months: int
    cutoff: str  # first month kept, YYYY-MM
    dry_run: bool
    #: rows per source and month: columns source, month, rows
    incidents: pd.DataFrame
    #: rows per file: columns path, ingested, rows
    quarantine: pd.DataFrame

    @property
    def n_incidents(self) -> int:
        return int(self.incidents["rows"].sum()) if len(self.incidents) else 0

    @property
    def n_quarantine(self) -> int:
        return int(self.quarantine["rows"].sum()) if len(self.quarantine) else 0


def _first_instant(cutoff: str) -> pd.Timestamp:
    return pd.Timestamp(f"{cutoff}-01", tz="Europe/London").tz_convert("UTC")


def purge(engine: Engine, *, months: int, now: pd.Timestamp | None = None, actor: str, role: str = "operator",
          dry_run: bool = False) -> PurgeReport:
    """Remove incidents and quarantine rows older than ``months`` whole months; return the report.

    Raises
    ------
    HotspotError
        If ``months`` is not a whole number from 1 to 1,200.
    """
    if isinstance(months, bool) or not isinstance(months, int) or not 1 <= months <= 1_200:
        msg = f"months was {months!r}; give the retention period as a whole number of months from 1 to 1200"
        raise HotspotError(msg)
    now = pd.Timestamp.now(tz="Europe/London") if now is None else pd.Timestamp(now)
    if now.tzinfo is None:
        msg = f"now was {now!r}; give a timezone-aware time"
        raise HotspotError(msg)
    cutoff = retention_cutoff(months, now.tz_convert("Europe/London"))
    first = _first_instant(cutoff)
    i, q, g = T.incidents.c, T.quarantine.c, T.ingests.c
    with engine.begin() as conn:
        inc = pd.DataFrame(conn.execute(
            select(i.source, i.month, func.count().label("rows")).where(i.month < cutoff)
            .group_by(i.source, i.month).order_by(i.month, i.source)).all(), columns=["source", "month", "rows"])
        ingests = pd.DataFrame(conn.execute(select(g.ingest_id, g.path, g.started_at)).all(),
                               columns=["ingest_id", "path", "started_at"])
        ingests["started_at"] = pd.to_datetime(ingests["started_at"], utc=True, format="ISO8601")
        old = ingests[ingests["started_at"] < first]
        old_ids = [int(x) for x in old["ingest_id"]]
        quar = pd.DataFrame(columns=["path", "ingested", "rows"])
        if old_ids:
            counts = pd.DataFrame(conn.execute(
                select(q.ingest_id, func.count().label("rows")).where(q.ingest_id.in_(old_ids))
                .group_by(q.ingest_id)).all(), columns=["ingest_id", "rows"])
            quar = (counts.merge(old, on="ingest_id").rename(columns={"started_at": "ingested"})
                    [["path", "ingested", "rows"]].sort_values("ingested", ignore_index=True))
        report = PurgeReport(months=months, cutoff=cutoff, dry_run=dry_run, incidents=inc, quarantine=quar)
        if dry_run:
            return report
        deleted_i = conn.execute(delete(T.incidents).where(i.month < cutoff)).rowcount
        deleted_q = conn.execute(delete(T.quarantine).where(q.ingest_id.in_(old_ids))).rowcount if old_ids else 0
        if deleted_i != report.n_incidents or deleted_q != report.n_quarantine:  # a concurrent writer: start again
            msg = (f"purge counted {report.n_incidents} incidents and {report.n_quarantine} quarantine rows but "
                   f"deleted {deleted_i} and {deleted_q}; nothing was removed, run it again")
            raise HotspotError(msg)
        audit.record(conn, actor=actor, role=role, action="purge", target=f"before {cutoff}",
                     detail={"months": months, "cutoff": cutoff, "incidents": report.n_incidents,
                             "quarantine": report.n_quarantine,
                             "incident_months": sorted(set(inc["month"])) if len(inc) else []},
                     now=now.to_pydatetime() if isinstance(now, pd.Timestamp) else now)
    return report
