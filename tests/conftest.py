"""Fixtures shared by every test group. Group-specific fixtures live in each folder's conftest."""

from __future__ import annotations

import os

# Before anything loads XGBoost's OpenMP (the imports below do): idle threads sleep instead of spinning, as
# train.py sets for itself. The two xdist workers share two cores; a spinning 2-thread fit in one worker
# while the other works ran 4-5x slower than a 1-thread fit (docs/decisions.md, "The test suite's time").
os.environ.setdefault("OMP_WAIT_POLICY", "PASSIVE")

import importlib.util  # noqa: E402
import json  # noqa: E402
import subprocess  # noqa: E402
import sys  # noqa: E402
from collections import Counter  # noqa: E402
from dataclasses import dataclass  # noqa: E402
from pathlib import Path  # noqa: E402

import pytest  # noqa: E402

from scoring import config  # noqa: E402
from scoring.schema import MANIFEST_FILE  # noqa: E402
from serving.predictor import Predictor  # noqa: E402
from tests.fixture_model import TWIN_TRAIN_ARGS, build_model_dir  # noqa: E402
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, PROJECT_ROOT, SHARED_SAMPLE  # noqa: E402

TESTS = Path(__file__).resolve().parent
# Folders whose test files share expensive session fixtures: one xdist group for the whole folder.
SHARED_FOLDERS = ("cluster",)  # a 6,000-applicant twin, its partitioned layout and a LocalCluster
# Files that join another file's group: they read the same session fixture, made once on one worker.
JOINS = {"scoring/store/test_store_commands.py": "scoring/training/test_train_cli.py"}  # trained_twin
# The groups of 20 s and more, longest first (each group's seconds in a full run, 7 Dec 2026: docs/decisions.md,
# "The test suite's time (issue 21)"). xdist hands the groups out in collection order (`--no-loadscope-reorder`,
# pyproject), so these start first and the short groups fill in at the end, instead of a long group started last
# running alone while the other worker waits. The other groups follow, most tests first (xdist's own order).
LONGEST_FIRST = (
    "cluster",
    "scoring/training/test_train_cli.py",
    "container/test_container.py",
    "serving/batch/test_child_spill.py",
    "lifecycle/test_promote.py",
    "monitoring/test_dashboard_widths.py",
    "security/test_flood.py",
    "api/test_adviser_browser.py",
    "api/test_shadow.py",
    "api/test_default_dossier.py",
    "api/test_logger.py",
    "api/test_launched.py",
    "api/test_shadow_worker.py",
    "api/test_form_status_browser.py",
    "serving/batch/test_inference.py",
    "security/test_schemathesis_access.py",
    "container/test_ship.py",
    "api/test_swap.py",
    "security/test_batch_input.py",
    "scoring/data/test_synthetic.py",
    "monitoring/test_dashboard_french.py",
    "scoring/training/test_train_sources.py",
    "monitoring/test_end_to_end.py",
    "monitoring/test_dashboard.py",
    "api/test_surfaces.py",
    "security/test_forwarded_and_gradio_refusals.py",
)


def xdist_group_of(path: Path) -> str | None:
    try:
        parts = Path(str(path)).resolve().relative_to(TESTS).parts
    except ValueError:
        return None
    group = parts[0] if parts[0] in SHARED_FOLDERS else "/".join(parts)
    return JOINS.get(group, group)


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (--dist loadgroup, pyproject addopts)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One xdist group per test file (its module fixtures, e.g. a launched app, are made once), one for
    each folder of `SHARED_FOLDERS`; the groups are shared between the two workers, `LONGEST_FIRST` first."""
    groups = {}
    for item in items:
        group = xdist_group_of(item.path)
        if group is not None:
            item.add_marker(pytest.mark.xdist_group(group))
            groups[item.nodeid] = group
    sizes = Counter(groups.values())
    rank = {group: i for i, group in enumerate(LONGEST_FIRST)}
    # a stable sort on the group alone: each group's tests keep their order (a module's tests stay together)
    items.sort(key=lambda item: (rank.get(groups.get(item.nodeid, ""), len(rank)), -sizes[groups.get(item.nodeid, "")],
                                 groups.get(item.nodeid, "")))


@pytest.fixture(scope="session")
def homecredit_sample():
    """The real Kaggle extract from ../shared (read-only); skipped when absent."""
    if not (SHARED_SAMPLE / "application_train.csv").is_file():
        pytest.skip(f"real Home Credit extract not found at {SHARED_SAMPLE}")
    return SHARED_SAMPLE


@pytest.fixture(scope="session")
def chromium():
    """A headless Debian Chromium driven by Playwright; skipped when not installed."""
    if not CHROMIUM.exists():
        pytest.skip(f"{CHROMIUM} not installed (apt-get install chromium); .ci/run installs it")
    sync_api = pytest.importorskip("playwright.sync_api")
    with sync_api.sync_playwright() as pw:
        browser = pw.chromium.launch(executable_path=str(CHROMIUM), headless=True, args=CHROMIUM_ARGS)
        yield browser
        browser.close()


# The fixture model (a small trained folder) and the committed model, shared by the api, serving,
# lifecycle and security tests.
@pytest.fixture(scope="session")
def model_dir(tmp_path_factory: pytest.TempPathFactory) -> Path:
    return build_model_dir(tmp_path_factory.mktemp("model"))


@pytest.fixture(scope="session")
def predictor(model_dir: Path) -> Predictor:
    return Predictor.from_dir(model_dir)


@pytest.fixture(scope="session")
def committed() -> Predictor:
    """The committed model (models/), for tests that compare with scoring from the twin's tables."""
    if not (config.MODELS_DIR / MANIFEST_FILE).is_file():
        pytest.skip(f"no committed model in {config.MODELS_DIR}")
    return Predictor.from_dir(config.MODELS_DIR)


@dataclass(frozen=True)
class TrainedTwin:
    model_dir: Path  # read-only for the tests: copy it to change anything
    summary: dict  # the JSON summary train.py printed
    stderr: str
    mlflow_uri: str | None  # the SQLite MLflow store the run was recorded in (None: MLflow not installed)


@pytest.fixture(scope="session")
def trained_twin(tmp_path_factory: pytest.TempPathFactory) -> TrainedTwin:
    """One real `python train.py` process (`TWIN_TRAIN_ARGS`, no data file: the twin), recorded in its own MLflow
    store when MLflow is installed; its folder holds the artifacts and the feature store next to them."""
    root = tmp_path_factory.mktemp("trained-twin")
    (root / "no-kaggle").mkdir()
    (root / "mlruns").mkdir()
    uri = f"sqlite:///{root / 'mlruns' / 'mlflow.db'}" if importlib.util.find_spec("mlflow") else None
    env = os.environ | ({"MLFLOW_TRACKING_URI": uri} if uri else {})
    result = subprocess.run([sys.executable, str(PROJECT_ROOT / "train.py"), "--data-dir", str(root / "no-kaggle"),
                             "--model-dir", str(root / "model"), *TWIN_TRAIN_ARGS, *(() if uri else ("--no-mlflow",))],
                            cwd=root, env=env, capture_output=True, text=True, timeout=900)
    assert result.returncode == 0, result.stderr
    summary = json.loads(result.stdout[: result.stdout.rindex("}") + 1])
    return TrainedTwin(root / "model", summary, result.stderr, uri)
