"""Small helpers shared by test modules (servers on loopback: `benchmarks/_launch.py`, free ports)."""

from __future__ import annotations

from pathlib import Path

from benchmarks._launch import PROJECT_ROOT, free_port, launched, wait_http  # noqa: F401 - shared with the tests

SHARED_SAMPLE = PROJECT_ROOT.parent / "shared" / "data" / "homecredit_sample"
CHROMIUM = Path("/usr/bin/chromium")
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
    "--no-first-run",
]
