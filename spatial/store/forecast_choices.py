"""The forecaster chosen per area and crime group, kept with the store (migration 0009, issue 16).

:func:`spatial.forecast_select.select_forecaster` makes a choice from a
rolling-origin backtest on the area's months; this module keeps it so a plan or
a page reads it back instead of re-running the selection on every view.  A row
per (area, crime group) holds the choice's figures as columns (for ``status``
and SQL) and its whole record as JSON.  The row carries the **data version**
(hash of the counts the choice was made on): :func:`load` returns a choice only
when the caller's version matches, so once new months are ingested the stored
choice is stale, the selection runs again and :func:`save` replaces the row.

:class:`DbChoiceStore` adapts this to the ``get``/``put`` interface
:func:`spatial.forecast_select.auto_forecast` takes as ``choice_store``.
"""

from __future__ import annotations

import datetime as dt
import json
from collections.abc import Mapping
from typing import Any

import pandas as pd
from sqlalchemy import Engine, delete, insert, select

from . import tables as T

__all__ = ["DbChoiceStore", "save", "load", "choices", "ALL_GROUPS"]

#: Group name stored for the all-crime (or harm-weighted) target, whose group is ``None``.
ALL_GROUPS = "all"

_COLS = ("method", "hit_rate", "runner_up", "runner_up_hit_rate", "counts_all_hit_rate", "last_month_hit_rate",
         "months", "origins", "first_month", "last_month", "fallback")


def _when(engine: Engine) -> dt.datetime | str:
    now = dt.datetime.now(dt.timezone.utc).replace(microsecond=0)
    return now.isoformat() if engine.dialect.name == "sqlite" else now


def _keys(choice: Mapping[str, Any]) -> tuple[str, str]:
    return str(choice.get("area") or ALL_GROUPS), str(choice.get("group") or ALL_GROUPS)


def save(engine: Engine, choice: Mapping[str, Any]) -> None:
    """Store ``choice`` (a ``ForecastChoice.to_dict()``) for its area and group, replacing the previous one."""
    area, group = _keys(choice)
    values = {c: choice.get(c) for c in _COLS}
    with engine.begin() as conn:
        conn.execute(delete(T.forecast_choices).where(T.forecast_choices.c.area == area,
                                                      T.forecast_choices.c.crime_group == group))
        conn.execute(insert(T.forecast_choices).values(
            area=area, crime_group=group, data_version=str(choice["data_version"]), selected_at=_when(engine),
            choice_json=json.dumps(dict(choice), sort_keys=True), **values))


def load(engine: Engine, *, area: str | None, group: str | None, version: str) -> dict[str, Any] | None:
    """The stored choice of this area and group if it was made on data ``version``, else ``None``."""
    a, g = _keys({"area": area, "group": group})
    with engine.connect() as conn:
        row = conn.execute(select(T.forecast_choices.c.data_version, T.forecast_choices.c.choice_json)
                           .where(T.forecast_choices.c.area == a, T.forecast_choices.c.crime_group == g)).first()
    if row is None or row[0] != version:
        return None
    out: dict[str, Any] = json.loads(row[1])
    return out


def choices(engine: Engine, *, area: str | None = None) -> pd.DataFrame:
    """Every stored choice (optionally of one area) with its figures, for the pages and ``status``."""
    q = select(T.forecast_choices.c.area, T.forecast_choices.c.crime_group, T.forecast_choices.c.data_version,
               *[T.forecast_choices.c[c] for c in _COLS], T.forecast_choices.c.selected_at)
    if area is not None:
        q = q.where(T.forecast_choices.c.area == area)
    with engine.connect() as conn:
        return pd.DataFrame(conn.execute(q.order_by(T.forecast_choices.c.area,
                                                    T.forecast_choices.c.crime_group)).mappings().all(),
                            columns=["area", "crime_group", "data_version", *_COLS, "selected_at"])


class DbChoiceStore:
    """``get``/``put`` over the ``forecast_choices`` table (see :func:`spatial.forecast_select.auto_forecast`)."""

    def __init__(self, engine: Engine) -> None:
        self.engine = engine

    def get(self, *, area: str | None, group: str | None, version: str) -> dict[str, Any] | None:
        return load(self.engine, area=area, group=group, version=version)

    def put(self, choice: Mapping[str, Any]) -> None:
        save(self.engine, choice)
