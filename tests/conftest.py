"""Fixtures shared by every test group. Group-specific fixtures live in each folder's conftest."""

from __future__ import annotations

from pathlib import Path

import pytest

from scoring import config
from scoring.schema import MANIFEST_FILE
from serving.predictor import Predictor
from tests.fixture_model import build_model_dir
from tests.helpers import CHROMIUM, CHROMIUM_ARGS, SHARED_SAMPLE

TESTS = Path(__file__).resolve().parent
# Folders whose test files share expensive session fixtures: one xdist group for the whole folder.
SHARED_FOLDERS = ("cluster",)  # a 6,000-applicant twin, its partitioned layout and a LocalCluster


@pytest.hookimpl(tryfirst=True)  # before pytest-xdist reads the groups (--dist loadgroup, pyproject addopts)
def pytest_collection_modifyitems(config: pytest.Config, items: list[pytest.Item]) -> None:
    """One xdist group per test file (its module fixtures, e.g. a launched app, are made once), one for
    each folder of `SHARED_FOLDERS`; the groups are shared between the two workers."""
    for item in items:
        try:
            parts = Path(str(item.path)).resolve().relative_to(TESTS).parts
        except ValueError:
            continue
        group = parts[0] if parts[0] in SHARED_FOLDERS else "/".join(parts)
        item.add_marker(pytest.mark.xdist_group(group))


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
