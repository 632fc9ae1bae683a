"""Fixtures of the feature-store tests: a small twin with its application_test applicants, and its store
built for the committed model's feature list."""

from __future__ import annotations

import pytest

from scoring import config
from scoring.features import build_features
from scoring.schema import FEATURES_FILE
from scoring.store import FeatureStore
from scoring.store_build import build_store, twin_tables

TWIN_APPLICANTS = 300
TWIN_SEED = 11
VERSION = "test-version"


@pytest.fixture(scope="session")
def model_features() -> list[str]:
    """The committed model's feature list (the store is built in that order)."""
    path = config.MODELS_DIR / FEATURES_FILE
    return [line for line in path.read_text(encoding="utf-8").splitlines() if line]


@pytest.fixture(scope="session")
def store_tables():
    """The twin (300 training + 200 application_test applicants) as one set of tables."""
    return twin_tables(TWIN_APPLICANTS, TWIN_SEED, progress=False)


@pytest.fixture(scope="session")
def store_frame(store_tables):
    return build_features(store_tables, progress=False)


@pytest.fixture(scope="session")
def store_path(store_tables, store_frame, model_features, tmp_path_factory):
    """The store file of the twin (read-only for the tests)."""
    path = tmp_path_factory.mktemp("store") / "feature_store.sqlite"
    return build_store(store_tables, store_frame, model_features, VERSION, path, progress=False)


@pytest.fixture()
def store(store_path, model_features):
    with FeatureStore.open(store_path, features=model_features, model_version=VERSION) as opened:
        yield opened
