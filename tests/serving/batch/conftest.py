"""Fixtures of the batch tests: the committed model and a small twin on disk."""

from __future__ import annotations

import pytest

from scoring import config, synthetic
from serving.predictor import Predictor


@pytest.fixture(scope="session")
def predictor():
    return Predictor.from_dir(config.MODELS_DIR)


@pytest.fixture(scope="session")
def twin_dir(tmp_path_factory):
    """A small twin on disk: child tables for 300 + 60 applicants, application_test of 60."""
    out = tmp_path_factory.mktemp("twin")
    twin = synthetic.generate(300, seed=5, progress=False, test_applicants=60)
    synthetic.write_tables(twin.tables, out)
    twin.test_application.to_csv(out / "application_test.csv", index=False)
    return out
