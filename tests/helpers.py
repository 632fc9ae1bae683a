"""Small helpers shared by test modules (servers on loopback: `benchmarks/_launch.py`, free ports)."""

from __future__ import annotations

from pathlib import Path

from benchmarks._launch import PROJECT_ROOT, free_port, launched, wait_http  # noqa: F401 - shared with the tests
from scoring.schema import UI_FEATURE_NAMES

SHARED_SAMPLE = PROJECT_ROOT.parent / "shared" / "data" / "homecredit_sample"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]

# A valid applicant of the 11 form features: higher education, man, working, document 3 given.
VALID = dict(zip(UI_FEATURE_NAMES, (0.45, 0.6, 0.55, 1, 0, 2.0, 1, 0, 1, 1, 0.0), strict=True))
