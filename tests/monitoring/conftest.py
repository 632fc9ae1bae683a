"""Fixtures of the monitoring tests: a model folder with a reference built from synthetic applicants."""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

import pytest

from monitoring.demo import THRESHOLD, write_model_dir
from monitoring.traffic import Incidents, Traffic, generate, write_log
from scoring.schema import REFERENCE_FILE


@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    """A model folder holding only reference.json and threshold.json (all monitoring needs)."""
    return write_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def reference(model_dir: Path) -> dict:
    return json.loads((model_dir / REFERENCE_FILE).read_text())


START = datetime(2026, 11, 26, 8, 0, tzinfo=UTC)


def simulated_log(path: Path, reference: dict, n: int = 1000, seed: int = 0, **incidents) -> Traffic:
    """Write `n` simulated calls (two hours from START) to `path`; incidents as for `Incidents`."""
    traffic = generate(reference, n, seed=seed, threshold=THRESHOLD, incidents=Incidents(**incidents), start=START)
    write_log(path, traffic.records, append=False)
    return traffic
