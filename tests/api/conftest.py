"""Fixtures of the serving tests: a small trained model folder, the predictor, the API client."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
from fastapi.testclient import TestClient

from api.app import gated
from api.logger import PredictionLogger
from api.rest import create_api
from api.scoring_service import ScoringService
from scoring import config
from scoring.store import FeatureStore
from serving.predictor import Predictor
from tests.fixture_model import store_for
from tests.helpers import free_port, launched

STORE_APPLICANTS, STORE_SEED = 300, 11  # a small twin: 300 training and its application_test applicants


@pytest.fixture()
def log_file(tmp_path: Path) -> Path:
    return tmp_path / "logs" / "predictions.log"


@pytest.fixture()
def service(predictor: Predictor, log_file: Path) -> Iterator[ScoringService]:
    svc = ScoringService(predictor, PredictionLogger(log_file))
    yield svc
    svc.logger.close()


@pytest.fixture()
def client(service: ScoringService) -> Iterator[TestClient]:
    with TestClient(gated(create_api(service)), raise_server_exceptions=False) as c:
        yield c


@pytest.fixture(scope="session")
def twin_store_tables():
    """The small twin's tables (training and application_test applicants together), as the store reads them."""
    from scoring.store_build import twin_tables

    return twin_tables(STORE_APPLICANTS, STORE_SEED, progress=False)


@pytest.fixture(scope="session")
def fixture_store(model_dir: Path, twin_store_tables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A store of the small twin for the fixture model (the launched app's dossiers)."""
    return store_for(model_dir, twin_store_tables, tmp_path_factory.mktemp("store") / "feature_store.sqlite")


@pytest.fixture(scope="module")
def app_url(model_dir: Path, fixture_store: Path,
            tmp_path_factory: pytest.TempPathFactory) -> Iterator[tuple[str, Path]]:
    """`python app_gradio.py` launched on a free port with the fixture model and its feature store:
    (url, log path); the server's console is `server.out` beside the log."""
    logs = tmp_path_factory.mktemp("served")
    port = free_port()
    url = f"http://127.0.0.1:{port}"
    env = {"MODEL_DIR": str(model_dir), "LOG_PATH": str(logs / "predictions.log"), "HOST": "127.0.0.1",
           "PORT": str(port), "HF_HUB_OFFLINE": "1", "FEATURE_STORE": str(fixture_store)}
    with launched(["app_gradio.py"], f"{url}/health", env=env, log_file=logs / "server.out"):
        yield url, logs / "predictions.log"


@pytest.fixture(scope="session")
def committed_store(committed: Predictor, twin_store_tables, tmp_path_factory: pytest.TempPathFactory) -> Path:
    """The small twin's store built for the committed model."""
    return store_for(config.MODELS_DIR, twin_store_tables, tmp_path_factory.mktemp("cstore") / "store.sqlite")


@pytest.fixture()
def dossier_service(committed: Predictor, committed_store: Path, tmp_path: Path) -> Iterator[ScoringService]:
    """A service of the committed model with the small twin's store, logging under tmp_path."""
    svc = ScoringService(committed, PredictionLogger(tmp_path / "p.log"), store=FeatureStore.open(committed_store),
                         store_reason="")
    yield svc
    svc.logger.close()
