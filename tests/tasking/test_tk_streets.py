"""Street-name labels of the maps (issue 15 "maps you can navigate offline"): tasking.streets.street_labels.

Small hand-made tables for the placing rules, then the real bundled RBKC month
(police.uk API, June 2018) read back from a store: the busiest street by a plain
group-by is labelled on one of its own snap points, and a real street that only
sensitive cases have (Colville Terrace: only violence and sexual offences) is
never named.
"""

from __future__ import annotations

import math
from pathlib import Path

import pandas as pd
import pytest

from hotspot_cli.main import main as cli_main
from spatial.store import connect
from spatial.store.queries import incident_frame
from tasking.access import Viewer, street_label_floor
from tasking.names import GENERIC_LOCATIONS
from tasking.streets import street_labels

REPO = Path(__file__).resolve().parents[2]
JUNE = REPO / "data" / "policeuk" / "rbkc_api_2018-06"
SENSITIVE_ONLY = "Colville Terrace"


def _inc(rows: list[tuple[str, float, float]], *, category: str = "burglary", sensitive: bool = False) -> pd.DataFrame:
    return pd.DataFrame({"location_text": [f"On or near {s}" for s, _, _ in rows], "x": [x for _, x, _ in rows],
                         "y": [y for _, _, y in rows], "category": category, "sensitive": sensitive})


@pytest.fixture(scope="module")
def june(tmp_path_factory: pytest.TempPathFactory) -> pd.DataFrame:
    """Every stored row of the June 2018 RBKC file, sensitive ones included."""
    url = f"sqlite:///{tmp_path_factory.mktemp('streets') / 'hotspot.sqlite'}"
    assert cli_main(["--database", url, "ingest", str(JUNE), "--quiet"]) == 0
    return incident_frame(connect(url), include_sensitive=True)


def _streets(frame: pd.DataFrame) -> pd.Series:
    """The street of each row by hand: the location text without "On or near "."""
    return frame["location_text"].str.replace(r"^On or near ", "", regex=True).str.strip()


# --------------------------------------------------------------------------- placing rules
def test_one_label_per_street_on_its_own_snap_point_nearest_the_median_busiest_first() -> None:
    inc = _inc([("Elm Road", 0, 0), ("Elm Road", 40, 0), ("Elm Road", 40, 0), ("Elm Road", 100, 0),
                ("Ash Street", 500, 500), ("Ash Street", 520, 500), ("Supermarket", 10, 0)])
    out = street_labels(inc)
    assert out.columns.tolist() == ["street", "x", "y", "n"]
    assert out["street"].tolist() == ["Elm Road", "Ash Street"]  # generic snap labels are not streets
    assert out.iloc[0][["x", "y", "n"]].tolist() == [40.0, 0.0, 4]  # median x 40: the snap point at 40
    assert (out.iloc[1]["x"], out.iloc[1]["y"]) in {(500.0, 500.0), (520.0, 500.0)}


def test_the_cap_keeps_the_busiest_streets_and_min_n_drops_the_quiet_ones() -> None:
    rows = [(f"Street {k}", 100.0 * k, 0.0) for k in range(10) for _ in range(k + 1)]
    out = street_labels(_inc(rows), limit=3)
    assert out["street"].tolist() == ["Street 9", "Street 8", "Street 7"]
    assert out["n"].tolist() == [10, 9, 8]
    assert sorted(street_labels(_inc(rows), min_n=8)["street"]) == ["Street 7", "Street 8", "Street 9"]
    with pytest.raises(ValueError, match="limit"):
        street_labels(_inc(rows), limit=0)


def test_a_long_street_gets_labels_spaced_apart_and_a_short_one_only_one() -> None:
    long_road = [("Long Road", float(x), 0.0) for x in range(0, 3001, 100)]
    short = [("Short Row", 5000.0 + x, 0.0) for x in (0, 10, 20)]
    out = street_labels(_inc(long_road + short), per_street=3, spacing_m=700)
    labels = out[out["street"] == "Long Road"]
    assert 2 <= len(labels) <= 3
    xs = sorted(labels["x"])
    assert all(b - a >= 700 for a, b in zip(xs, xs[1:]))
    assert (out["street"] == "Short Row").sum() == 1
    assert (street_labels(_inc(long_road), per_street=1)["street"] == "Long Road").sum() == 1


def test_two_streets_of_one_name_far_apart_are_labelled_each_on_its_own_points() -> None:
    inc = _inc([("High Street", 0, 0), ("High Street", 20, 0), ("High Street", 9000, 0), ("High Street", 9030, 0)])
    out = street_labels(inc, per_street=1)
    assert len(out) == 2 and set(out["street"]) == {"High Street"}
    assert sorted(round(x) for x in out["x"]) in ([0, 9000], [0, 9030], [20, 9000], [20, 9030])


def test_bounds_keep_the_labels_inside_the_maps_extent() -> None:
    inc = _inc([("Elm Road", 0, 0)] * 5 + [("Ash Street", 1000, 1000)] * 2)
    out = street_labels(inc, bounds=(500, 500, 1500, 1500))
    assert out["street"].tolist() == ["Ash Street"] and out["n"].tolist() == [2]
    assert street_labels(inc, bounds=(5000, 5000, 6000, 6000)).empty


def test_sensitive_rows_never_name_a_street_by_category_or_by_flag() -> None:
    safe = _inc([("Elm Road", 0, 0)])
    by_category = _inc([("Refuge Close", 50, 50)] * 9, category="domestic-abuse")
    by_flag = _inc([("Hidden Mews", 80, 80)] * 9, category="burglary", sensitive=True)
    unflagged = _inc([("Unknown Row", 90, 90)] * 9).assign(sensitive=None)  # not known to be safe: dropped
    out = street_labels(pd.concat([safe, by_category, by_flag, unflagged], ignore_index=True), limit=50)
    assert out["street"].tolist() == ["Elm Road"]


def test_a_label_floor_of_five_for_roles_without_incident_points() -> None:
    assert street_label_floor(Viewer("c", "chair")) == 1 and street_label_floor(Viewer("a", "analyst")) == 1
    for role, agent in (("warden", "W01"), ("partner", None), ("cctv", None)):
        assert street_label_floor(Viewer("x", role, agent)) == 5


# --------------------------------------------------------------------------- the real month
def test_the_busiest_real_street_is_labelled_on_its_own_snap_point(june: pd.DataFrame) -> None:
    safe = june[~june["sensitive"].astype(bool)]
    named = safe.assign(street=_streets(safe))
    counts = named[~named["street"].str.lower().isin(GENERIC_LOCATIONS)].groupby("street").size()
    busiest = counts.sort_values(ascending=False).index[0]
    out = street_labels(june, limit=10)
    assert len(out) >= 10 and out["street"].nunique() == 10
    assert out.iloc[0]["street"] == busiest and out.iloc[0]["n"] == counts[busiest]
    own = named[named["street"] == busiest]
    assert any(math.isclose(x, out.iloc[0]["x"]) and math.isclose(y, out.iloc[0]["y"])
               for x, y in zip(own["x"], own["y"], strict=True))
    # each labelled street's count is the hand count, and no quieter street took the place of a busier one
    for street, n in out.drop_duplicates("street")[["street", "n"]].itertuples(index=False):
        assert counts[street] == n, street
    assert out["n"].min() >= counts.sort_values(ascending=False).iloc[10]


def test_a_real_street_only_sensitive_cases_have_is_never_named(june: pd.DataFrame) -> None:
    streets = _streets(june)
    sensitive = june["sensitive"].astype(bool)
    assert (streets[sensitive] == SENSITIVE_ONLY).sum() >= 3  # violence and sexual offences (3 once de-duplicated)
    assert not (streets[~sensitive] == SENSITIVE_ONLY).any()
    there = june[(streets == SENSITIVE_ONLY)]
    # the whole month, no cap to speak of, and a window around that street's own snap points
    window = (there["x"].min() - 150, there["y"].min() - 150, there["x"].max() + 150, there["y"].max() + 150)
    everywhere = street_labels(june, limit=5_000, per_street=3)
    near = street_labels(june, bounds=window, limit=5_000)
    assert len(everywhere) > 100 and len(near) >= 1  # the window holds other, non-sensitive streets
    assert SENSITIVE_ONLY not in set(everywhere["street"]) | set(near["street"])
    assert near["x"].between(window[0], window[2]).all() and near["y"].between(window[1], window[3]).all()
