"""Fixtures of the cluster tests: a partitioned twin, the same twin in memory, a real LocalCluster."""

from __future__ import annotations

import pandas as pd
import pytest

from scoring import synthetic
from scoring.partition import write_twin

APPLICANTS = 6000
TEST_APPLICANTS = 300
SEED = 7
PARTS = 4
# Scores are written with 6 decimals: two scores equal to 1e-6 may print one unit apart when
# they straddle a rounding boundary.
SCORE_TOLERANCE = 1e-6 + 1e-9


@pytest.fixture(scope="session")
def twin():
    return synthetic.generate(APPLICANTS, SEED, progress=False, test_applicants=TEST_APPLICANTS)


@pytest.fixture(scope="session")
def layout(tmp_path_factory):
    """The same twin written by `scoring.partition` (4 parts)."""
    out = tmp_path_factory.mktemp("layout")
    write_twin(out, PARTS, applicants=APPLICANTS, seed=SEED, test_applicants=TEST_APPLICANTS)
    return out


@pytest.fixture(scope="session")
def flat_dir(tmp_path_factory, twin):
    """The twin's child tables as Kaggle-named Parquet files, for the single-process scorer."""
    out = tmp_path_factory.mktemp("flat")
    for name, frame in twin.tables.items():
        if frame is not None:
            frame.to_parquet(out / f"{name}.parquet", index=False)
    return out


@pytest.fixture(scope="session")
def local_cluster():
    """A real LocalCluster as `--cluster local:2x1.5GB` starts it (2 worker processes, 1 thread, no work stealing)."""
    pytest.importorskip("distributed")
    from cluster import local_cluster as start

    with start(2, "1.5GB") as cluster:
        yield cluster.scheduler_address


def read_parts(folder) -> pd.DataFrame:
    """The scored rows of every part of a cluster output, by SK_ID_CURR."""
    parts = sorted(p for p in folder.glob("part-*.csv") if not p.name.endswith(".errors.csv"))
    return pd.concat([pd.read_csv(p) for p in parts]).set_index("SK_ID_CURR").sort_index()
