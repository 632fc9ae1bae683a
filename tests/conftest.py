"""Fixtures shared by every test group. Group-specific fixtures live in each folder's conftest."""

from __future__ import annotations

import pytest

from tests.helpers import CHROMIUM, CHROMIUM_ARGS, SHARED_SAMPLE


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
