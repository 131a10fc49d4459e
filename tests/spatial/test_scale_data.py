"""``scripts/make_scale_data.py``: seeded, labelled SYNTHETIC scale-up stores drawn from real rows.

The source store holds the bundled (real) Westminster + Hammersmith & Fulham
API extract, ingested by the ingest code.
"""

from __future__ import annotations

import importlib.util
import sqlite3
from pathlib import Path

import _builders as B  # first: puts the repository root on sys.path
import numpy as np
import pandas as pd
import pytest

from spatial import schema as S
from spatial.config import Settings
from spatial.ingest.pipeline import default_attributor, ingest_paths_parquet
from spatial.store.parquet import ParquetStore, read_store

_spec = importlib.util.spec_from_file_location("make_scale_data", B.REPO / "scripts" / "make_scale_data.py")
msd = importlib.util.module_from_spec(_spec)
_spec.loader.exec_module(msd)

MONTHS = [f"2015-{m:02d}" for m in range(1, 13)] + ["2016-01", "2016-02"]


@pytest.fixture(scope="module")
def source(tmp_path_factory) -> Path:
    root = tmp_path_factory.mktemp("src") / "pq"
    s = Settings(database_url="sqlite:///unused.sqlite", data_dir=B.DATA)
    ingest_paths_parquet(root, [str(B.DATA / "policeuk" / "neighbours_api")], settings=s, now=B.NOW,
                         force="metropolitan", attributor=default_attributor(None, s))
    return root


def test_rows_are_labelled_synthetic_and_seeded(source, tmp_path):
    a = msd.make(source, tmp_path / "a", rows=30_000, months=MONTHS, seed=7, jitter_m=25.0)
    b = msd.make(source, tmp_path / "b", rows=30_000, months=MONTHS, seed=7, jitter_m=25.0)
    c = msd.make(source, tmp_path / "c", rows=30_000, months=MONTHS, seed=8, jitter_m=25.0)
    assert a["rows"] == b["rows"] == c["rows"] == 30_000
    da, db, dc = (read_store(tmp_path / k).sort_values(S.INCIDENT_ID).reset_index(drop=True) for k in "abc")
    assert len(da) == 30_000 and da[S.INCIDENT_ID].is_unique
    assert da[S.INCIDENT_ID].str.startswith("SYNTHETIC-7-").all()
    assert da[S.SOURCE].eq("SYNTHETIC scale-up of police.uk London (seed 7)").all()
    assert da["force"].eq("synthetic-metropolitan").all()
    files = list((tmp_path / "a").glob("force=*/month=*/*.parquet"))
    assert files and all(f.name.endswith("_SYNTHETIC.parquet") for f in files)
    side = sqlite3.connect(tmp_path / "a" / "_ingest.sqlite")
    assert side.execute("SELECT kind, status, stored FROM ingests").fetchall() == [("synthetic", "complete", 30_000)]
    pd.testing.assert_frame_equal(da.drop(columns=["ingest_id"]), db.drop(columns=["ingest_id"]))  # same seed
    assert not np.array_equal(da[S.X].to_numpy(), dc[S.X].to_numpy())  # another seed
    # the store's own recovery keeps them (they are listed, not orphans)
    with ParquetStore.open(tmp_path / "a") as store:
        assert len(store.parts()) == len(files)


def test_places_categories_and_months_follow_the_real_rows(source, tmp_path):
    msd.make(source, tmp_path / "s", rows=60_000, months=MONTHS, seed=11, jitter_m=25.0)
    syn = read_store(tmp_path / "s")
    real = read_store(source)
    assert set(syn[S.MONTH]) == set(MONTHS)
    # categories: shares within 1 point of the real ones
    share = pd.concat([syn[S.CATEGORY].value_counts(normalize=True), real[S.CATEGORY].value_counts(normalize=True)],
                      axis=1, keys=["syn", "real"]).fillna(0)
    assert (share["syn"] - share["real"]).abs().max() < 0.01
    # jitter: points stay within 150 m of a real point (25 m normal jitter: beyond 6 sd is impossible in practice)
    from scipy.spatial import cKDTree

    d, _ = cKDTree(real[[S.X, S.Y]].to_numpy()).query(syn[[S.X, S.Y]].to_numpy())
    assert d.max() < 150 and np.median(d) > 5
    # months in proportion to the real month-of-year profile (January appears twice, 2015 and 2016)
    real_moy = real[S.MONTH].str[5:].value_counts()
    w = np.array([real_moy[m[5:]] for m in MONTHS], float)
    got = syn[S.MONTH].value_counts().reindex(MONTHS).to_numpy(float)
    np.testing.assert_allclose(got / got.sum(), w / w.sum(), atol=0.005)
