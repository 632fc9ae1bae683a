"""Fixtures of the data tests: a small synthetic twin, in memory and as Kaggle-named CSV files."""

from __future__ import annotations

import pytest

from scoring import synthetic

TWIN_APPLICANTS = 400
TWIN_SEED = 5


@pytest.fixture(scope="session")
def twin() -> synthetic.SyntheticData:
    """A small twin (400 training applicants, 50 test applicants)."""
    return synthetic.generate(TWIN_APPLICANTS, TWIN_SEED, progress=False, test_applicants=50)


@pytest.fixture(scope="session")
def twin_dir(twin, tmp_path_factory):
    """The small twin written as CSV files (read-only for the tests: copy before changing)."""
    out = tmp_path_factory.mktemp("twin")
    synthetic.write_tables(twin.tables, out)
    return out
